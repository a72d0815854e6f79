//! Timers: [`sleep`], [`sleep_until`], [`timeout`] and [`interval`].
//!
//! ## How timers work
//! A pending sleep is an entry in a slab (its deadline and the waker of the task that awaits it),
//! filed in a *bucket*: the millisecond, counted from the reactor's start, that its deadline falls
//! in, rounded up. Bucket `t` holds the deadlines in `(t - 1 ms, t ms]`, so once the clock reads
//! `t ms` every entry in it is due, and none in a later bucket is. The buckets are the keys of an
//! ordered map; each holds the slab slots of its entries, and each entry knows its place there.
//!
//! - **Arming** a sleep finds or makes its bucket (a map of a few keys: timers due at once share
//!   one) and pushes a slot: no search among the other timers.
//! - **Cancelling** one (dropping a sleep, or a `timeout` whose future finished first) removes its
//!   slot from the bucket by swapping the last slot into its place: O(1), the common fate of a
//!   timeout.
//! - **Firing**: before the reactor calls `epoll_wait` it takes the earliest bucket's end as the
//!   time to wake, in whole milliseconds from now, rounded *up*. epoll counts in milliseconds,
//!   and mio already rounds a timeout up to the next one (its `Selector::select`), so a
//!   sub-millisecond remainder would never become a zero timeout that spins; rounding here as
//!   well changes nothing for epoll, and makes the `epoll_wait` trace event show the timeout
//!   epoll is really given. After
//!   `epoll_wait` returns, every bucket whose end has passed is emptied and its wakers woken, in
//!   deadline order (a bucket's entries are sorted when it fires; ties in the order they were
//!   armed).
//!
//! So a timer fires at most a millisecond after its deadline when the reactor is busy, and about
//! two when it sleeps until it (its bucket's end, then epoll's rounding); never before. A sleep never
//! finishes early in any case because it only ever finishes in its own `poll`, and only once
//! `Instant::now()` has reached its deadline; the reactor's wake-up is merely the hint to look.
//! A sleep is not `Send`: its entry is in the reactor of the thread that polled it.
//!
//! This is the first level of a timing wheel (tokio's has six, of 64 slots each, so that even
//! finding the next bucket is O(1)); the ordered map of buckets stands in for the upper levels,
//! and holds few keys because timers armed together tend to fall due together (a map of
//! `(deadline, id)` to waker would search the whole map for every timeout armed and again for
//! every one cancelled; `benches/README.md` has what the buckets saved).

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use slab::Slab;

use crate::driver::{try_with_reactor, with_reactor};

/// Which pending timer: its slab slot, and an id that tells it from the slot's later occupants
/// (ids are never reused, so a stale key finds nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    slot: usize,
    id: u64,
}

/// One pending timer.
struct Entry {
    /// The `TimerKey::id` this entry answers to.
    id: u64,
    deadline: Instant,
    /// Its bucket (milliseconds since `Timers::origin`, rounded up) ...
    tick: u64,
    /// ... and its index in that bucket's slots, kept true when another slot is swapped into a
    /// removed one's place.
    pos: usize,
    waker: Waker,
}

/// The reactor's pending timers, bucketed by the millisecond they are due in (module docs).
pub(crate) struct Timers {
    /// Every pending timer.
    entries: Slab<Entry>,
    /// Bucket tick → the slots of its entries, in no particular order. No bucket is empty.
    buckets: BTreeMap<u64, Vec<usize>>,
    /// Tick 0: the reactor's start. Deadlines before it fall in bucket 0.
    origin: Instant,
    /// The id of the next timer armed.
    next_id: u64,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            entries: Slab::new(),
            buckets: BTreeMap::new(),
            origin: Instant::now(),
            next_id: 0,
        }
    }
}

impl Timers {
    /// The bucket of `deadline`: whole milliseconds since `origin`, rounded up.
    fn tick_of(&self, deadline: Instant) -> u64 {
        let since = deadline.saturating_duration_since(self.origin);
        since
            .as_nanos()
            .div_ceil(1_000_000)
            .try_into()
            .unwrap_or(u64::MAX)
    }

    /// Arms a timer for `deadline` that wakes `waker`.
    pub(crate) fn insert(&mut self, deadline: Instant, waker: Waker) -> TimerKey {
        let tick = self.tick_of(deadline);
        let id = self.next_id;
        self.next_id += 1;
        let slot = self.entries.vacant_key();
        let bucket = self.buckets.entry(tick).or_default();
        let pos = bucket.len();
        bucket.push(slot);
        self.entries.insert(Entry {
            id,
            deadline,
            tick,
            pos,
            waker,
        });
        TimerKey { slot, id }
    }

    /// The waker of a pending timer; `None` once it has fired or been removed.
    pub(crate) fn get_mut(&mut self, key: TimerKey) -> Option<&mut Waker> {
        match self.entries.get_mut(key.slot) {
            Some(entry) if entry.id == key.id => Some(&mut entry.waker),
            _ => None,
        }
    }

    /// Cancels a pending timer and returns its waker; `None` if it has fired or been removed.
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<Waker> {
        if self.entries.get(key.slot)?.id != key.id {
            return None;
        }
        let entry = self.entries.remove(key.slot);
        let std::collections::btree_map::Entry::Occupied(mut bucket) =
            self.buckets.entry(entry.tick)
        else {
            unreachable!("a pending timer's bucket exists");
        };
        let slots = bucket.get_mut();
        slots.swap_remove(entry.pos);
        if let Some(&moved) = slots.get(entry.pos) {
            self.entries[moved].pos = entry.pos;
        }
        if slots.is_empty() {
            bucket.remove();
        }
        Some(entry.waker)
    }

    /// Every pending timer's deadline and waker.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Instant, &Waker)> {
        self.entries.iter().map(|(_, e)| (e.deadline, &e.waker))
    }

    /// How long `epoll_wait` may sleep before the earliest bucket is due, rounded up to whole
    /// milliseconds (as mio would round it anyway); `None` when no timer is pending.
    /// (Inline, with the arithmetic out of line: the reactor asks on every turn, and most turns of
    /// a program without timers should cost only the look at an empty map.)
    #[inline]
    pub(crate) fn time_until_next(&self) -> Option<Duration> {
        let (&tick, _) = self.buckets.first_key_value()?;
        Some(self.time_until_end_of(tick))
    }

    /// How long until bucket `tick` is wholly due, rounded up to whole milliseconds.
    fn time_until_end_of(&self, tick: u64) -> Duration {
        let left = match self.origin.checked_add(Duration::from_millis(tick)) {
            Some(due) => due.saturating_duration_since(Instant::now()),
            None => Duration::MAX, // Beyond what an `Instant` can hold: never, in practice.
        };
        let millis = left.as_nanos().div_ceil(1_000_000);
        Duration::from_millis(millis.try_into().unwrap_or(u64::MAX))
    }

    /// Removes and returns the wakers of every timer in a bucket whose end has passed (so every
    /// one of them is due), in deadline order.
    pub(crate) fn take_expired(&mut self) -> Vec<Waker> {
        let mut expired = Vec::new();
        if self.buckets.is_empty() {
            return expired; // No need to read the clock.
        }
        // Bucket `t` is wholly due once `t ms` has passed: rounded down, unlike `tick_of`.
        let since = Instant::now().saturating_duration_since(self.origin);
        let now_tick = u64::try_from(since.as_millis()).unwrap_or(u64::MAX);
        while let Some(bucket) = self.buckets.first_entry() {
            if *bucket.key() > now_tick {
                break;
            }
            let mut fired: Vec<Entry> = bucket
                .remove()
                .into_iter()
                .map(|slot| self.entries.remove(slot))
                .collect();
            // Usually sorted already (timers of one duration armed one after another).
            fired.sort_unstable_by_key(|e| (e.deadline, e.id));
            expired.extend(fired.into_iter().map(|e| e.waker));
        }
        expired
    }
}

/// Waits until `duration` has passed. The task sleeps; the thread goes on running other tasks.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// executor::block_on(async {
///     let start = Instant::now();
///     reactor::time::sleep(Duration::from_millis(20)).await;
///     assert!(start.elapsed() >= Duration::from_millis(20)); // never early
/// });
/// ```
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
    key: Option<TimerKey>,
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
            let _ = try_with_reactor(|r| r.timers.borrow_mut().remove(key));
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
            if let Some(waker) = this.key.and_then(|key| timers.get_mut(key)) {
                if !waker.will_wake(cx.waker()) {
                    return Some(std::mem::replace(waker, cx.waker().clone()));
                }
            } else {
                // First poll, or first since `reset`. (A fired entry is never missing here: it
                // fires only once its deadline has passed, and then we returned `Ready` above.)
                this.key = Some(timers.insert(this.deadline, cx.waker().clone()));
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
///
/// ```
/// use std::time::Duration;
/// use reactor::time::{sleep, timeout};
///
/// executor::block_on(async {
///     assert_eq!(timeout(Duration::from_secs(5), async { 1 }).await, Ok(1));
///     // The 60 s sleep is dropped after 10 ms, and its timer with it.
///     let late = timeout(Duration::from_millis(10), sleep(Duration::from_secs(60))).await;
///     assert!(late.is_err());
/// });
/// ```
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
/// ```
/// use std::time::Duration;
///
/// executor::block_on(async {
///     let mut ticks = reactor::time::interval(Duration::from_millis(10));
///     let first = ticks.tick().await; // at once
///     let second = ticks.tick().await; // 10 ms after the first was due
///     assert_eq!(second - first, Duration::from_millis(10));
/// });
/// ```
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_a_timer_keeps_the_others_of_its_bucket_removable() {
        let mut timers = Timers::default();
        let at = timers.origin + Duration::from_micros(5_300);
        // Three timers in one bucket; removing the first swaps the last into its place.
        let keys: Vec<TimerKey> = (0..3)
            .map(|i| timers.insert(at + Duration::from_micros(i), Waker::noop().clone()))
            .collect();
        assert_eq!(timers.buckets.len(), 1);
        assert!(timers.remove(keys[0]).is_some());
        assert!(
            timers.remove(keys[0]).is_none(),
            "a stale key finds nothing"
        );
        assert!(
            timers.remove(keys[2]).is_some(),
            "the moved timer is still found"
        );
        assert!(timers.get_mut(keys[1]).is_some());
        assert!(timers.remove(keys[1]).is_some());
        assert!(timers.buckets.is_empty() && timers.entries.is_empty());
        // A new timer in the freed slot does not answer to an old key.
        let fresh = timers.insert(at, Waker::noop().clone());
        assert!(
            keys.iter().any(|old| old.slot == fresh.slot),
            "a slot is reused"
        );
        assert!(keys.iter().all(|&old| timers.get_mut(old).is_none()));
    }

    #[test]
    fn a_bucket_fires_only_once_its_millisecond_has_passed() {
        let mut timers = Timers::default();
        let now = Instant::now();
        timers.insert(now - Duration::from_millis(1), Waker::noop().clone());
        timers.insert(now + Duration::from_secs(60), Waker::noop().clone());
        assert_eq!(timers.take_expired().len(), 1);
        assert_eq!(timers.buckets.len(), 1, "the 60 s timer is still pending");
        let left = timers.time_until_next().unwrap();
        assert!(left >= Duration::from_secs(59) && left <= Duration::from_secs(61));
    }
}
