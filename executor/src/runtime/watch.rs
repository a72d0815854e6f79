//! What the runtime tells a reader: the timing and trace around polls and wakes (behind the one
//! `watched` flag the hot paths test), and the task list. See `crate::timing` for the split,
//! `crate::trace` for the events.

use std::cell::Cell;
use std::sync::atomic::Ordering;

use super::{NOT_POLLING, Runtime, with_own_runtime};
use crate::metrics::TaskMetrics;
use crate::task::TaskHeader;
use crate::task_list::{TaskInfo, TaskState};
use crate::timing;
use crate::trace::{self, Cause};
use crate::waker::WakerData;

/// A task's figures, with the interval in progress if timing is on and it has not finished.
pub(crate) fn task_metrics(header: &TaskHeader, finished: bool) -> TaskMetrics {
    let now = with_own_runtime(&header.data.shared, |rt| {
        (rt.timing.get() && !finished).then(|| rt.shared.now())
    });
    header.metrics(now.flatten())
}

/// Applies `f` to the value in `cell`.
fn update<T: Copy, R>(cell: &Cell<T>, f: impl FnOnce(&mut T) -> R) -> R {
    let mut value = cell.get();
    let result = f(&mut value);
    cell.set(value);
    result
}

impl Runtime {
    /// Reads the timing switch and the trace's interest once per turn; wakers on other threads
    /// see the timing switch through `shared`.
    pub(super) fn refresh_watch(&self) {
        let timing = timing::wanted(self.reader_present.get());
        if timing != self.timing.get() {
            self.timing.set(timing);
            self.shared.timing.store(timing, Ordering::Relaxed);
        }
        let traced = trace::enabled();
        self.traced.set(traced);
        self.watched.set(timing || traced);
    }

    /// The timing and the `wake` event of a wake on this thread, out of line: the wake is a hot
    /// path. (The task is on the queue already, but nothing reads `woken_at` before its poll.)
    #[inline(never)]
    pub(super) fn observe_wake(&self, data: &WakerData, by_itself: bool) {
        if self.timing.get() {
            // A wake during the task's own poll needs no clock: its wait starts when the poll
            // ends. (Untimed, a stale `woken_at` is harmless: `TaskTimes` clamps it to the wait.)
            let woken_at = if by_itself { 0 } else { self.shared.now() };
            data.woken_at.store(woken_at, Ordering::Relaxed);
        }
        if self.traced.get() {
            let queued = self.local.borrow().len();
            trace::wake(data, self.cause(by_itself), Some(queued));
        }
    }

    /// Why a task is being woken on this thread right now.
    pub(super) fn cause(&self, by_itself: bool) -> Cause {
        match (by_itself, self.polling.get(), reactor::dispatching()) {
            (true, _, _) => Cause::SelfWake,
            (false, NOT_POLLING, Some(dispatch)) => Cause::Reactor(dispatch),
            (false, NOT_POLLING, None) => Cause::Other,
            (false, waker, _) => Cause::Task(waker),
        }
    }

    /// The start of an observed poll: starts its timing; returns the `wake_id` that caused it.
    #[inline(never)]
    pub(super) fn poll_starts(&self, header: &TaskHeader) -> u64 {
        let data = &header.data;
        if self.timing.get() {
            let woken_at = data.woken_at.load(Ordering::Relaxed);
            let start = match self.clock.replace(0) {
                0 => self.shared.now(),
                start => start,
            };
            update(header.times(), |t| t.poll_starts(start, woken_at));
        }
        if self.traced.get() {
            data.wake_id.load(Ordering::Relaxed)
        } else {
            0
        }
    }

    /// The end of an observed poll: its timing, the slow-poll warning, the `poll` event.
    #[inline(never)]
    pub(super) fn poll_ends(&self, header: &TaskHeader, ready: bool, by: u64) {
        let took = self.timing.get().then(|| {
            let end = self.shared.now();
            self.clock.set(end);
            let (took, slow) = update(header.times(), |t| t.poll_ends(end));
            if slow {
                trace::slow_poll(header, took);
            }
            took
        });
        if self.traced.get() {
            let queued = self.local.borrow().len();
            trace::poll(header, ready, took, by, queued);
        }
    }

    /// Every live task, as `tasks()` returns them.
    pub(super) fn tasks(&self) -> Vec<TaskInfo> {
        // Someone reads the figures: time from now on.
        self.reader_present.set(true);
        self.refresh_watch();
        let now = self.timing.get().then(|| self.shared.now());
        let polling = self.polling.get();
        let tasks = self.tasks.borrow();
        tasks
            .iter()
            .map(|(_, (seq, task))| {
                let header = task.header();
                let state = if polling == header.data.id.seq {
                    TaskState::Running
                } else if header.data.state.is_scheduled() {
                    TaskState::Scheduled
                } else {
                    TaskState::Idle
                };
                TaskInfo {
                    id: *seq,
                    name: header.name().cloned(),
                    state,
                    metrics: header.metrics(now),
                }
            })
            .collect()
    }
}
