//! [`RuntimeMetrics`]: what the executor has done, cheap enough to count always.

use std::time::Duration;

/// A snapshot of the executor's counters, from [`crate::metrics`]. Counting costs a cell update per
/// event on the executor's thread, and one atomic add (and a fence) per wake from another thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuntimeMetrics {
    /// Tasks spawned (the future given to `block_on` not included).
    pub tasks_spawned: u64,
    /// Tasks that completed, panicked or were aborted.
    pub tasks_finished: u64,
    /// Polls of any task, the main future included.
    pub polls: u64,
    /// Wakes that queued a task from the executor's own thread (wakes of an already queued task
    /// are not counted: they do nothing).
    pub local_wakes: u64,
    /// Wakes that queued a task from another thread.
    pub remote_wakes: u64,
    /// Times the executor handed control to the reactor (`epoll_wait`, sleeping or not).
    pub parks: u64,
    /// Wall time asleep in `epoll_wait` (the reactor's own measure, since `block_on` started; the
    /// quick zero-timeout looks between batches of polls are too short to be timed).
    pub time_parked: Duration,
    /// Wall time since `block_on` started, less `time_parked`: running tasks.
    pub time_running: Duration,
}
