//! The count of a task's stored wakers, for the lost-waker check (`lost_waker.rs`). Under
//! `cfg(loom)` it is public and built on loom's atomics, so the model (`tests/loom_waker.rs`)
//! checks this very code.

#[cfg(loom)]
use loom::sync::atomic::{AtomicUsize, Ordering};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many clones of a task's waker exist. The waker a poll lends the task (`Task::waker_ref`)
/// is not one of them: at 0, nobody has kept a way to wake the task.
#[derive(Debug, Default)]
pub struct Clones(AtomicUsize);

impl Clones {
    /// Counts a clone. Relaxed, as `Arc::clone`: it is made from a waker that is alive.
    pub fn cloned(&self) {
        // As `Arc`: a count driven towards overflow (clones leaked in a loop) must not wrap.
        if self.0.fetch_add(1, Ordering::Relaxed) > isize::MAX as usize {
            std::process::abort();
        }
    }

    /// Counts a drop; returns how many clones are left. The count is exact: of two clones
    /// dropped at once on two threads, exactly one is told it left none. AcqRel: a wake made
    /// before the drop (its `Scheduled` flag) is seen by whoever sees the count it left.
    pub fn dropped(&self) -> usize {
        self.0.fetch_sub(1, Ordering::AcqRel) - 1
    }

    /// How many clones exist now.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}
