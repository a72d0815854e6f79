//! The lost-waker warning: a task that returned `Pending` while no clone of its waker is left
//! can never run again. The count is `WakerData::wakers`, every `Waker` of the task: at one, only
//! the task's own is left, and nobody else can wake it.
//! Noticed right after a poll (`Runtime::poll_task`), or when the last stored clone is dropped
//! (`drop_waker`, on any thread; answered here, on the executor's).

use std::sync::Arc;
use std::sync::atomic::{Ordering, fence};

use super::{Runtime, with_own_runtime};
use crate::task::TaskHeader;
use crate::trace::{self, Lost};
use crate::waker::{Shared, TaskId};

/// The last clone of task `id`'s waker that anyone kept has just been dropped (`drop_waker`):
/// checks at once on the executor's thread, or asks it to check from any other.
pub(crate) fn last_waker_dropped(shared: &Arc<Shared>, id: TaskId) {
    if with_own_runtime(shared, |rt| rt.check_lost(id)).is_none() {
        crate::waker::send_lost_check(shared, id);
    }
}

impl Runtime {
    /// Answers "has task `id` lost its last waker?" on the executor's thread.
    pub(super) fn check_lost(&self, id: TaskId) {
        if self.closing.get() || self.polling.get() == id.seq {
            return; // Shutting down, or it is running: its poll's end will check.
        }
        if id == TaskId::MAIN {
            return self.warn_if_lost(&self.main, Lost::LastCloneDropped);
        }
        let task = match self
            .tasks
            .try_borrow()
            .ok()
            .and_then(|t| t.get(id.index).cloned())
        {
            Some((seq, task)) if seq == id.seq => task,
            _ => return, // It has finished: nobody needs to wake it.
        };
        self.warn_if_lost(task.header(), Lost::LastCloneDropped);
    }

    /// Warns, once per wait, if nothing can wake the task of `header` any more: only the task's
    /// own counts of its waker remain, and it is not queued.
    #[inline(never)]
    pub(super) fn warn_if_lost(&self, header: &TaskHeader, when: Lost) {
        let data = &header.data;
        // "Once per wait": a wait ends with a poll, so remember which poll's wait was reported.
        if !data.wakers.only_one() || header.lost_warned.get() == header.polls.get() {
            return;
        }
        // The count was read relaxed; a waker that woke the task before dropping its clone
        // (Release) must be seen to have set SCHEDULED.
        fence(Ordering::Acquire);
        if !data.state.is_scheduled() && !header.abort_requested.get() {
            header.lost_warned.set(header.polls.get());
            trace::lost_waker(header, when);
        }
    }
}
