//! [`sleep`] and [`interval`]: glass's reactor timers.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use reactor::time::Sleep;

/// Waits until `duration` has passed: the task sleeps (its waker filed under the deadline in the
/// reactor's timers), and the thread runs other tasks, or waits in `epoll_wait` with the earliest
/// deadline as its timeout.
///
/// Like tokio's, this sleep counts in whole milliseconds: `duration` is rounded up to the next
/// one. So even `sleep(Duration::from_nanos(1))` hands the thread over for about a millisecond,
/// which is what the book measures against `yield_now` (which hands it over and comes straight
/// back). Without the rounding, a sleep that short would be over before its first poll and would
/// not hand over the thread at all.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// trpl::block_on(async {
///     let start = Instant::now();
///     trpl::sleep(Duration::from_millis(10)).await;
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    let millis = duration.as_nanos().div_ceil(1_000_000);
    reactor::time::sleep(Duration::from_millis(millis.try_into().unwrap_or(u64::MAX)))
}

/// A ticker: the first tick completes at once, then one every `period`. A tick that comes late
/// (the task was busy) completes at once and the next ones catch up, as tokio's default does.
///
/// ```
/// use std::time::Duration;
///
/// trpl::block_on(async {
///     let mut ticks = trpl::interval(Duration::from_millis(5));
///     let first = ticks.tick().await;
///     let second = ticks.tick().await;
///     assert_eq!(second - first, Duration::from_millis(5));
/// });
/// ```
///
/// # Panics
/// If `period` is zero.
pub fn interval(period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "trpl::interval: the period must be non-zero"
    );
    Interval {
        period,
        next: reactor::time::sleep_until(Instant::now()),
    }
}

/// The ticker [`interval`] returns: one reactor [`Sleep`] whose deadline moves one period on at
/// each tick. (`reactor::time::Interval` is the same idea, but offers only `tick().await`; a
/// stream needs [`poll_tick`](Interval::poll_tick).)
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    /// Sleeps until the next tick is due.
    next: Sleep,
}

impl Interval {
    /// Waits for the next tick and returns when it was due.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// `tick` as a poll: `Ready(when it was due)` once the next tick is due, otherwise `Pending`
    /// with `cx`'s waker filed in the reactor's timers.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.next).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let due = self.next.deadline();
        self.next.reset(due + self.period);
        Poll::Ready(due)
    }

    /// Starts the ticks over: the next one is due a whole period from now.
    pub fn reset(&mut self) {
        self.next.reset(Instant::now() + self.period);
    }

    /// The time between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }
}
