//! The two atomics a waker on any thread shares with the executor, and the protocols built on
//! them. Nothing else in the core touches them, so the `loom` model (`tests/loom_waker.rs`, built
//! with `RUSTFLAGS="--cfg loom"`) checks these very functions, compiled with loom's atomics.
//!
//! ## 1. A task is queued once per burst of wakes: [`Scheduled`]
//! The flag is set from the moment a wake puts the task on a ready queue until the executor is
//! about to poll it. A wake that sets it queues the task; a wake that finds it set does nothing
//! more. The executor clears it just before the poll, so a wake during the poll queues it again.
//!
//! ## 2. A wake from another thread always ends the executor's sleep: [`Parking`]
//! ```text
//!   executor                            remote waker
//!   sleeping = true                     send id into the channel; sent += 1
//!   fence(SeqCst)                       fence(SeqCst)
//!   channel empty? then sleep           sleeping? then swap it false and unpark
//! ```
//! The two fences are ordered one way or the other: either the executor's check comes after the
//! send (it sees the id and does not sleep), or the waker's check comes after the announcement
//! (it sees `sleeping` and unparks). Never neither. A busy executor has `sleeping` false, so the
//! waker pays no system call. The count `sent` lets the executor skip the channel when nobody
//! sent anything.

#[cfg(loom)]
use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};

/// Whether a task is on a ready queue (or about to be put there by the wake that set it).
#[derive(Debug)]
pub struct Scheduled(AtomicBool);

impl Scheduled {
    /// A task's flag; `queued`: it starts out on a ready queue (a spawned task does).
    pub fn new(queued: bool) -> Scheduled {
        Scheduled(AtomicBool::new(queued))
    }

    /// Sets the flag. `true`: this wake set it, so the caller must queue the task. AcqRel: the
    /// release hands what the waking thread wrote to the poll (`clear` acquires it).
    pub fn set(&self) -> bool {
        !self.0.swap(true, Ordering::AcqRel)
    }

    /// Clears the flag just before the task is polled.
    pub fn clear(&self) {
        self.0.swap(false, Ordering::AcqRel);
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// The executor's `sleeping` flag and the count of ids other threads sent (module docs).
#[derive(Debug, Default)]
pub struct Parking {
    sleeping: AtomicBool,
    sent: AtomicU64,
}

impl Parking {
    /// The waker's half, right after it sent an id. `true`: the executor is (about to be) asleep
    /// and the caller must unpark it; the flag is cleared, so of many wakers only one unparks.
    pub fn sent_one(&self) -> bool {
        // Release: whoever sees the new count also sees our id in the channel.
        self.sent.fetch_add(1, Ordering::Release);
        fence(Ordering::SeqCst);
        self.sleeping.load(Ordering::Relaxed) && self.sleeping.swap(false, Ordering::Relaxed)
    }

    /// The executor's half: announces the sleep. The caller then looks at the channel once
    /// more, and sleeps only if it is still empty.
    pub fn announce_sleep(&self) {
        self.sleeping.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
    }

    /// The executor is awake again (or decided not to sleep).
    pub fn awake(&self) {
        self.sleeping.store(false, Ordering::Relaxed);
    }

    /// `Some(count)` when ids were sent since the executor saw `seen` (they are then in the
    /// channel): one load, cheaper than asking the channel.
    pub fn sent_since(&self, seen: u64) -> Option<u64> {
        let sent = self.sent.load(Ordering::Acquire);
        (sent != seen).then_some(sent)
    }

    /// How many ids other threads have sent so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}
