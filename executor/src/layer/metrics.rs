//! [`RuntimeMetrics`] and [`TaskMetrics`]: what the executor has done, and [`metrics`].

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::TaskWatch;
use crate::runtime::{Runtime, try_with_current, with_current};
use crate::waker::Header;

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
/// `first_poll_delay`); `slow_polls` is kept while timing is on or a subscriber listens to the
/// warnings. A snapshot counts the interval in progress: a task idle for ten seconds
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

/// The runtime's counters so far.
///
/// # Panics
/// If called outside `block_on`.
pub fn metrics() -> RuntimeMetrics {
    with_current("executor::metrics", |rt| {
        let watch = &rt.watch;
        let elapsed = watch.started.elapsed();
        let reactor = reactor::metrics();
        let time_parked = reactor.time_asleep - watch.reactor_at_start.time_asleep;
        RuntimeMetrics {
            tasks_spawned: watch.spawned.get(),
            tasks_finished: watch.finished.get(),
            polls: watch.polls.get(),
            local_wakes: watch.local_wakes.get(),
            remote_wakes: rt.shared.parking.sent(),
            parks: reactor.epoll_waits - watch.reactor_at_start.epoll_waits,
            time_parked,
            time_running: elapsed.saturating_sub(time_parked),
        }
    })
}

/// A task's figures; `now`: the clock, to count the interval in progress (`None`: untimed, or
/// the task has finished).
pub(super) fn figures(header: &Header, watch: &TaskWatch, now: Option<Now>) -> TaskMetrics {
    let wakes = &header.watch;
    let woken_at = wakes.woken_at.load(Ordering::Relaxed);
    let (at, poll_started) = now.map_or((0, 0), |now| (now.at, now.poll_started));
    let times = watch
        .times
        .at(at, poll_started, header.scheduled.is_set(), woken_at);
    let clock = header.shared.watch.clock.get();
    let duration = |ticks| clock.map_or(Duration::ZERO, |clock| clock.duration(ticks));
    let local = wakes.local_wakes.load(Ordering::Relaxed);
    let remote = wakes.remote_wakes.load(Ordering::Relaxed);
    TaskMetrics {
        polls: watch.polls.get(),
        wakes: 1 + local + remote,
        self_wakes: wakes.self_wakes.load(Ordering::Relaxed),
        remote_wakes: remote,
        busy: duration(times.busy),
        scheduled: duration(times.scheduled),
        idle: duration(times.idle),
        first_poll_delay: times.first_poll_delay.map(duration),
        max_poll: duration(times.max_poll),
        slow_polls: times.slow_polls,
    }
}

/// `JoinHandle::metrics`: with the interval in progress if timing is on and it has not finished.
pub(crate) fn task_metrics(header: &Header, watch: &TaskWatch, finished: bool) -> TaskMetrics {
    let now = try_with_current(|rt| {
        let own = std::sync::Arc::ptr_eq(&rt.shared, &header.shared);
        (own && !finished).then(|| Now::of(rt, header)).flatten()
    });
    figures(header, watch, now.flatten())
}

/// Where a reader counts the interval in progress to: the clock now, and when the task's poll
/// started if it is the one running (0 if not).
pub(super) struct Now {
    at: u64,
    poll_started: u64,
}

impl Now {
    /// For a task of `rt`; `None` while timing is off.
    pub(super) fn of(rt: &Runtime, header: &Header) -> Option<Now> {
        let watch = &rt.watch;
        let running = watch.running.get() == header.id.seq;
        watch.timing.get().then(|| Now {
            at: rt.shared.watch.now(),
            poll_started: if running { watch.poll_start.get() } else { 0 },
        })
    }
}
