//! The atomics that wakers on any thread share with the executor, and the three protocols built
//! on them. Nothing else in the crate touches these atomics directly, so that the `loom` model
//! (`tests/loom_waker.rs`, built with `RUSTFLAGS="--cfg loom"`) checks these very functions: under
//! `cfg(loom)` they are compiled with loom's atomics and fences instead of std's.
//!
//! ## 1. A task is queued once per burst of wakes: [`WakeState`]
//! One word per task: bit 0 is `SCHEDULED`, the bits above count wakes.
//! - `SCHEDULED` is set from the moment the task is put on a ready queue until the executor is
//!   about to poll it. A wake that sets it queues the task; a wake that finds it set does nothing
//!   more. However often a task is woken between two polls, it is queued, and so polled, once.
//! - The executor clears it just before the poll, so a wake during the poll queues the task again.
//!
//! ## 2. A wake from another thread always ends the executor's sleep: [`Parking`]
//! The executor is about to sleep in `epoll_wait`; another thread sends a task id through the
//! channel. Each side writes, fences, then reads what the other wrote:
//! ```text
//!   executor                            remote waker
//!   sleeping = true                     send id into the channel; sent += 1
//!   fence(SeqCst)                       fence(SeqCst)
//!   channel empty? then sleep           sleeping? then swap it false and unpark
//! ```
//! The two SeqCst fences are ordered one way or the other: either the executor's check comes
//! after the send (it sees the id and does not sleep), or the waker's check comes after the
//! announcement (it sees `sleeping` and unparks). Never neither. A busy executor has `sleeping`
//! false, so the waker pays no system call.
//!
//! The remote-send counter `sent` lets the executor skip the channel when nobody sent anything:
//! a waker bumps it (Release) after its send, so an executor that sees a new count (Acquire) also
//! finds the ids in the channel.
//!
//! ## 3. Exactly one drop is told it left only the task's own waker: [`WakerCount`]
//! The count of a task's `Waker`s, changed only by compare-and-swap, so each drop knows the count
//! it leaves: of two clones dropped at once on two threads, exactly one leaves one, and asks for
//! the lost-waker check. (Deciding from a count read before the decrement, both could see one
//! more left and neither ask: review finding 5.)

#[cfg(loom)]
use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};

/// `WakeState`'s flag bit: the task is on a ready queue.
const SCHEDULED: u64 = 1;
/// `WakeState`'s unit for counting wakes, above the flag bit.
const ONE_WAKE: u64 = 2;

/// A task's `SCHEDULED` flag and wake count, in one word so that a wake costs one atomic
/// instruction rather than two.
#[derive(Debug)]
pub struct WakeState(AtomicU64);

impl WakeState {
    /// A new task's state; `queued`: it starts out on a ready queue (a spawned task), which counts
    /// as its first wake.
    pub fn new(queued: bool) -> WakeState {
        WakeState(AtomicU64::new(if queued {
            ONE_WAKE | SCHEDULED
        } else {
            0
        }))
    }

    /// Counts a wake and sets `SCHEDULED`. `true`: this wake set the flag, so the caller must put
    /// the task on a ready queue; `false`: it was already queued, and one poll will see every wake
    /// since the last.
    ///
    /// AcqRel: the release makes what the waking thread did visible to the poll that follows (the
    /// executor's `clear_scheduled` acquires); the acquire orders this wake after that clear.
    pub fn wake(&self) -> bool {
        // One compare-and-swap; a loop only when another thread changed the word in between.
        let mut state = self.0.load(Ordering::Relaxed);
        while let Err(actual) = self.0.compare_exchange_weak(
            state,
            (state + ONE_WAKE) | SCHEDULED,
            Ordering::AcqRel,
            Ordering::Relaxed,
        ) {
            state = actual;
        }
        state & SCHEDULED == 0
    }

    /// Clears `SCHEDULED` just before the task is polled, so that a wake during the poll queues
    /// it again. Acquire pairs with the waker's release: the poll sees what the waker's thread did.
    pub fn clear_scheduled(&self) {
        self.0.fetch_and(!SCHEDULED, Ordering::AcqRel);
    }

    /// Whether the task is on a ready queue (or about to be put there by the wake that set it).
    pub fn is_scheduled(&self) -> bool {
        self.0.load(Ordering::Acquire) & SCHEDULED != 0
    }

    /// How many times the task was woken (the spawn included), whether or not the wake queued it.
    pub fn wakes(&self) -> u64 {
        self.0.load(Ordering::Relaxed) / ONE_WAKE
    }
}

/// The executor's `sleeping` flag and the counter of task ids sent through the channel by other
/// threads: the two halves of the protocol that lets a remote wake end a sleep (module docs).
#[derive(Debug)]
pub struct Parking {
    /// True while the executor is (about to be) asleep in `epoll_wait`. A remote waker that finds
    /// it set must unpark the reactor, or its task would sit in the channel unseen.
    sleeping: AtomicBool,
    /// Task ids (and lost-waker checks) sent through the channel so far; bumped after each send.
    sent: AtomicU64,
}

impl Default for Parking {
    fn default() -> Self {
        Parking {
            sleeping: AtomicBool::new(false),
            sent: AtomicU64::new(0),
        }
    }
}

impl Parking {
    /// The waker's half, called right after it sent an id through the channel. `true`: the
    /// executor is asleep (or about to be) and the caller must unpark it; this call has cleared
    /// the flag, so of many concurrent wakers only one pays for the unpark.
    pub fn sent_one(&self) -> bool {
        // Release: whoever sees the new count also sees our id in the channel.
        self.sent.fetch_add(1, Ordering::Release);
        // Pairs with the fence in `announce_sleep`: either the executor sees our id in the queue
        // before it sleeps, or we see its `sleeping` flag here. Never neither.
        fence(Ordering::SeqCst);
        // The plain load first: while the executor is awake (the common case under load) the
        // flag is false, and a locked swap would only fight over its cache line.
        self.sleeping.load(Ordering::Relaxed) && self.sleeping.swap(false, Ordering::Relaxed)
    }

    /// The executor's half, before it sleeps: announces the sleep. The caller must then look at
    /// the channel once more, and sleep only if it is still empty.
    pub fn announce_sleep(&self) {
        self.sleeping.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
    }

    /// The executor is awake again (or decided not to sleep).
    pub fn awake(&self) {
        self.sleeping.store(false, Ordering::Relaxed);
    }

    /// The executor's check before it empties the channel: `Some(count)` when ids were sent
    /// since it last saw `seen` (and they are then in the channel), `None` otherwise. One load of
    /// a rarely written word, cheaper than asking the channel whether it is empty.
    pub fn sent_since(&self, seen: u64) -> Option<u64> {
        let sent = self.sent.load(Ordering::Acquire);
        (sent != seen).then_some(sent)
    }

    /// How many ids other threads have sent so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

/// How many `Waker`s of one task exist: the task's own, made at spawn, and every clone of it.
/// Together they hold one strong count of the task's `WakerData`, so a clone or a drop is one
/// atomic instruction (as an `Arc`'s would be), and each drop learns the exact count it leaves:
/// the drop that leaves a single waker is the one that may have lost the task (`drop_waker`).
///
/// Only one waker left means, while the task lives, only its own: nobody else can wake it. (Once
/// the task has finished and dropped its own, the one left may be a stored clone; a check then
/// finds the task gone and says nothing.)
#[derive(Debug)]
pub struct WakerCount(AtomicUsize);

/// What a drop of a waker left behind ([`WakerCount::release`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Released {
    /// No waker is left: the drop must give up the wakers' strong count.
    Last,
    /// A single waker is left (the task's own, while it lives).
    OneLeft,
    /// Two or more are left.
    More,
}

impl Released {
    /// What a drop from `count` wakers leaves.
    fn after(count: usize) -> Released {
        match count {
            1 => Released::Last,
            2 => Released::OneLeft,
            _ => Released::More,
        }
    }
}

impl Default for WakerCount {
    /// The count of a new task: its own waker.
    fn default() -> Self {
        WakerCount(AtomicUsize::new(1))
    }
}

impl WakerCount {
    /// Counts a clone. Relaxed, as `Arc::clone`: the clone is made from a waker that is alive,
    /// so the count cannot reach 0 meanwhile.
    pub fn cloned(&self) {
        // As `Arc`: a count driven towards overflow (clones leaked in a loop) would wrap to 0 and
        // free the data under live wakers; abort first.
        if self.0.fetch_add(1, Ordering::Relaxed) > isize::MAX as usize {
            std::process::abort();
        }
    }

    /// The usual drop, in one compare-and-swap: `Some` if it is done, `None` if nothing changed
    /// and the caller must take the slow way, [`release`](WakerCount::release). That is when
    /// the swap fails (another thread changed the count), or when it would leave a single waker
    /// and `queued()`, read while this waker still counts, says the task is not queued: the
    /// caller must then take what a lost-waker check needs before it lets go.
    #[inline]
    pub fn release_quietly(&self, queued: impl FnOnce() -> bool) -> Option<Released> {
        let count = self.0.load(Ordering::Relaxed);
        if count == 2 && !queued() {
            return None;
        }
        self.0
            .compare_exchange(count, count - 1, Ordering::AcqRel, Ordering::Relaxed)
            .ok()?;
        Some(Released::after(count))
    }

    /// Counts a drop, with one compare-and-swap so that the caller can look at the task's data
    /// first: `before_one_left` runs (perhaps more than once, if another thread changes the count
    /// meanwhile) just before a swap that would leave a single waker, while this waker still
    /// counts. After the swap the data may be freed at any moment (the waker left may be dropped
    /// on another thread), so whatever the caller needs must be taken then.
    ///
    /// AcqRel: the release orders what this thread did with its waker (a wake's `SCHEDULED`)
    /// before the count it leaves; the acquire makes the `Last` drop see every other waker's.
    pub fn release(&self, mut before_one_left: impl FnMut()) -> Released {
        let mut count = self.0.load(Ordering::Relaxed);
        loop {
            if count == 2 {
                before_one_left();
            }
            match self.0.compare_exchange_weak(
                count,
                count - 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => count = actual,
            }
        }
        Released::after(count)
    }

    /// Whether only one waker is left: for a live task, its own; nobody else can wake it.
    pub fn only_one(&self) -> bool {
        self.0.load(Ordering::Relaxed) == 1
    }
}
