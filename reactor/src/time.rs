//! Timers: [`sleep`], [`sleep_until`], [`timeout`] and [`interval`].
//!
//! ## How timers work
//! A pending sleep is an entry in an ordered map from `(deadline, id)` to the waker of the task that
//! awaits it. Before the reactor calls `epoll_wait` it looks at the earliest deadline and uses the
//! time left as the timeout, rounded *up* to the next millisecond (epoll's resolution): rounding down
//! would wake a little early, find nothing due, and spin on the sub-millisecond remainder. After
//! `epoll_wait` returns, every entry whose deadline has passed is removed and its waker woken.
//!
//! A sleep never finishes early because it only ever finishes in its own `poll`, and only once
//! `Instant::now()` has reached its deadline; the reactor's wake-up is merely the hint to look.
//! Dropping a sleep removes its entry, so a cancelled timeout leaves nothing behind. A sleep is not
//! `Send`: its entry is in the reactor of the thread that polled it.
//!
//! An ordered map keeps this short and obviously correct; a hashed timing wheel (what tokio uses)
//! makes insertion O(1) rather than O(log n), which matters only with very many timers.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::driver::{try_with_reactor, with_reactor};

/// The reactor's pending timers. The `u64` in the key tells apart timers with equal deadlines.
#[derive(Default)]
pub(crate) struct Timers {
    pending: BTreeMap<(Instant, u64), Waker>,
    next_id: u64,
}

impl Timers {
    /// How long `epoll_wait` may sleep before the earliest timer is due, rounded up to whole
    /// milliseconds; `None` when no timer is pending.
    pub(crate) fn time_until_next(&self) -> Option<Duration> {
        let (&(deadline, _), _) = self.pending.first_key_value()?;
        let left = deadline.saturating_duration_since(Instant::now());
        let millis = left.as_nanos().div_ceil(1_000_000);
        Some(Duration::from_millis(millis.try_into().unwrap_or(u64::MAX)))
    }

    /// Removes and returns the wakers of every timer whose deadline has passed.
    pub(crate) fn take_expired(&mut self) -> Vec<Waker> {
        let mut expired = Vec::new();
        if self.pending.is_empty() {
            return expired; // No need to read the clock.
        }
        let now = Instant::now();
        while let Some(entry) = self.pending.first_entry() {
            if entry.key().0 > now {
                break;
            }
            expired.push(entry.remove());
        }
        expired
    }
}

/// Waits until `duration` has passed. The task sleeps; the thread goes on running other tasks.
pub fn sleep(duration: Duration) -> Sleep {
    // A duration too long to add to `now` is, for any practical purpose, forever.
    let deadline = Instant::now()
        .checked_add(duration)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(60 * 60 * 24 * 365 * 30));
    sleep_until(deadline)
}

/// Waits until `deadline`.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        key: None,
        _not_send: PhantomData,
    }
}

/// The future returned by [`sleep`] and [`sleep_until`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    deadline: Instant,
    /// The key of this sleep's entry in the reactor's timers, once it has been polled.
    key: Option<(Instant, u64)>,
    /// The entry lives in this thread's reactor, so the sleep must stay on this thread: dropped
    /// elsewhere, it would look for its entry in the wrong reactor and leave it behind.
    _not_send: PhantomData<*const ()>,
}

impl Sleep {
    /// When this sleep ends.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Moves the deadline, keeping the same future (as `Interval` does for every tick).
    pub fn reset(&mut self, deadline: Instant) {
        self.unregister();
        self.deadline = deadline;
    }

    fn unregister(&mut self) {
        if let Some(key) = self.key.take() {
            // During thread teardown the reactor may already be gone, and its timers with it.
            let _ = try_with_reactor(|r| r.timers.borrow_mut().pending.remove(&key));
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if Instant::now() >= this.deadline {
            this.unregister();
            return Poll::Ready(());
        }
        let replaced = with_reactor(|r| {
            let mut timers = r.timers.borrow_mut();
            if let Some(waker) = this.key.and_then(|key| timers.pending.get_mut(&key)) {
                if !waker.will_wake(cx.waker()) {
                    return Some(std::mem::replace(waker, cx.waker().clone()));
                }
            } else {
                // First poll, or first since `reset`. (A fired entry is never missing here: it
                // fires only once its deadline has passed, and then we returned `Ready` above.)
                let key = (this.deadline, timers.next_id);
                timers.next_id += 1;
                timers.pending.insert(key, cx.waker().clone());
                this.key = Some(key);
            }
            None
        });
        // Dropped only now that the timers are no longer borrowed: a waker's drop may run code.
        drop(replaced);
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.unregister();
    }
}

/// The error of a [`timeout`] whose time ran out before its future finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// Runs `future`, giving up after `duration`. When time runs out the result is `Err(Elapsed)`, and
/// the future is cancelled: it is dropped along with the `Timeout`, without being polled again.
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

/// The future returned by [`timeout`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Timeout<F> {
    future: F,
    sleep: Sleep,
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self` and `Timeout`
        // has no `Drop` impl or `Unpin` impl that could move it. `sleep` is `Unpin`.
        let (future, sleep) = unsafe {
            let this = self.get_unchecked_mut();
            (Pin::new_unchecked(&mut this.future), &mut this.sleep)
        };
        // The future goes first: if it is ready at the very deadline, its result wins.
        if let Poll::Ready(output) = future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A stream of evenly spaced instants: the first `tick` completes at once, then one every `period`.
/// A tick that is late (the task was busy) completes at once, and the following ticks catch up
/// (tokio's default, `MissedTickBehavior::Burst`).
///
/// # Panics
/// If `period` is zero.
pub fn interval(period: Duration) -> Interval {
    assert!(!period.is_zero(), "interval: the period must be non-zero");
    Interval {
        period,
        sleep: sleep_until(Instant::now()),
    }
}

/// The ticker returned by [`interval`].
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    sleep: Sleep,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant.
    pub async fn tick(&mut self) -> Instant {
        (&mut self.sleep).await;
        let scheduled = self.sleep.deadline();
        self.sleep.reset(scheduled + self.period);
        scheduled
    }

    /// The time between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }
}
