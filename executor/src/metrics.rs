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

/// One task's figures, from [`JoinHandle::metrics`](crate::JoinHandle::metrics) or
/// [`tasks`](crate::tasks). The names and meanings are tokio-console's (its task list's `Polls`,
/// `Busy`, `Sched`, `Idle` columns) and tokio-metrics' (`first_poll_delay`, slow polls), so what a
/// reader learns here carries over.
///
/// The counters are always kept. The durations are kept only while task timing is on (see
/// [`set_task_timing`](crate::set_task_timing)); otherwise they stay zero (`None` for
/// `first_poll_delay`). A snapshot counts the interval in progress: a task idle for ten seconds
/// shows those ten seconds in `idle` before anything wakes it.
///
/// While timing is on, `busy + scheduled + idle` is the task's age (from its spawn to now), up to
/// the few nanoseconds between one poll's end and the next one's start that belong to nobody.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskMetrics {
    /// Times the executor polled the task.
    pub polls: u64,
    /// Times the task's waker was called, from any thread, wakes that found it already queued
    /// included; the spawn counts as the first.
    pub wakes: u64,
    /// Of `wakes`, those made during the task's own poll (`yield_now`, the I/O budget, a future
    /// that wakes itself). A task that mostly wakes itself is busy-looping through the executor.
    pub self_wakes: u64,
    /// Of `wakes`, those made from a thread other than the executor's (the blocking pool, a
    /// channel fed by a thread).
    pub remote_wakes: u64,
    /// Total time inside the task's `poll`.
    pub busy: Duration,
    /// Total time from a wake to the start of the poll it caused: ready, waiting for the thread.
    /// The wake's time is when `wake` was called (on whatever thread), not when the executor
    /// noticed; for a wake made during the task's own poll, the wait starts when that poll ends.
    pub scheduled: Duration,
    /// Total time from the end of a poll to the next wake: waiting for an event (I/O, a timer,
    /// another task).
    pub idle: Duration,
    /// From the spawn to the start of the first poll (tokio-metrics' `first_poll_delay`); `None`
    /// until the task is first polled, or if it was spawned while timing was off.
    pub first_poll_delay: Option<Duration>,
    /// The longest single poll.
    pub max_poll: Duration,
    /// Polls that took longer than the slow-poll threshold
    /// ([`slow_poll_threshold`](crate::slow_poll_threshold), 20 ms by default); each was also
    /// reported as a WARN event.
    pub slow_polls: u64,
}
