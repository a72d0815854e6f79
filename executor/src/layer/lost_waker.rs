//! The lost-waker warning: a task that returned `Pending` while no clone of its waker is left can
//! never run again.
//!
//! While the check is on (a `tracing` subscriber listens to `glass::executor` warnings), tasks
//! spawned get wakers with a second table of functions, `Counted`: the same four as the core's
//! (`waker.rs`), each also keeping the count of clones (`clones.rs`). The waker a poll lends the
//! task is not counted, so at 0 nobody has kept a way to wake it. That is checked right after a
//! poll that returned `Pending`, and when a drop leaves 0 without having woken the task: at once
//! on the executor's thread, or, from another thread, by the executor's next turn (the drop
//! unparks it).

use std::sync::Arc;
use std::sync::atomic::{Ordering, fence};
use std::task::{RawWaker, RawWakerVTable};

use super::trace::{self, Lost};
use super::{WakeWatch, find, is_running};
use crate::runtime::{Runtime, try_with_current};
use crate::task::Runnable;
use crate::waker::{self, Header, TaskId, VTABLE};

/// The waker functions for a task spawned with `watch`: counted while the check is on.
pub(crate) fn vtable(watch: &WakeWatch) -> &'static RawWakerVTable {
    if watch.counted { &COUNTED } else { &VTABLE }
}

/// The core's four functions (`waker.rs`), each also keeping the count of clones.
static COUNTED: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

// In each, `ptr` is as `waker::header` says: valid while this waker lives.

unsafe fn clone(ptr: *const ()) -> RawWaker {
    // SAFETY: see above; the new waker owns the count added here.
    let header = unsafe { waker::header(ptr) };
    header.watch.clones.cloned();
    // SAFETY: see above.
    unsafe { (header.refs.clone)(ptr) };
    RawWaker::new(ptr, &COUNTED)
}

unsafe fn wake(ptr: *const ()) {
    // SAFETY: this waker is alive until `drop_waker`, which consumes it.
    unsafe {
        waker::header(ptr).wake();
        drop_waker(ptr);
    }
}

unsafe fn wake_by_ref(ptr: *const ()) {
    // SAFETY: see above.
    unsafe { waker::header(ptr) }.wake();
}

unsafe fn drop_waker(ptr: *const ()) {
    // SAFETY: see above; this waker's count is given up only at the end.
    let header = unsafe { waker::header(ptr) };
    if header.watch.clones.dropped() == 0 && !header.scheduled.is_set() {
        last_clone_dropped(header);
    }
    // SAFETY: see above.
    unsafe { (header.refs.drop)(ptr) };
}

/// The last clone of `header`'s task was dropped without waking it: check now on the executor's
/// thread, or ask it to.
fn last_clone_dropped(header: &Header) {
    let here = try_with_current(|rt| {
        let own = Arc::ptr_eq(&rt.shared, &header.shared);
        if own {
            check(rt, header.id, Lost::LastCloneDropped);
        }
        own
    });
    if here != Some(true) {
        let shared = &header.shared;
        if let Ok(mut lost) = shared.watch.lost.lock() {
            lost.push(header.id);
        }
        shared.watch.lost_pending.store(true, Ordering::Release);
        shared.unparker.unpark();
    }
}

/// The checks other threads sent, answered on the executor's thread (`on_turn`).
pub(super) fn answer_remote_checks(rt: &Runtime) {
    rt.shared.watch.lost_pending.store(false, Ordering::Relaxed);
    let ids = match rt.shared.watch.lost.lock() {
        Ok(mut lost) => std::mem::take(&mut *lost),
        Err(_) => return,
    };
    for id in ids {
        check(rt, id, Lost::LastCloneDropped);
    }
}

/// Right after a poll of a counted task that returned `Pending`.
pub(super) fn check_after_poll(rt: &Runtime, task: &dyn Runnable) {
    let header = task.header();
    if header.watch.clones.get() == 0 && !header.scheduled.is_set() {
        warn_if_lost(rt, task, Lost::AfterPoll);
    }
}

/// Answers "has task `id` lost its last waker?" on the executor's thread.
fn check(rt: &Runtime, id: TaskId, when: Lost) {
    if rt.watch.closing.get() || is_running(rt, id) {
        return; // Shutting down, or it is running: its poll's end will check.
    }
    if let Some(task) = find(rt, id) {
        warn_if_lost(rt, &*task, when);
    }
}

/// Warns, once per wait, if nothing can wake the task any more.
fn warn_if_lost(_rt: &Runtime, task: &dyn Runnable, when: Lost) {
    let header = task.header();
    let polls = task.watch().polls.get();
    if header.watch.clones.get() != 0 || task.watch().lost_warned.get() == polls {
        return;
    }
    // A waker that woke the task before it dropped its clone must be seen to have set the flag.
    fence(Ordering::Acquire);
    if !header.scheduled.is_set() && !task.abort_requested() {
        task.watch().lost_warned.set(polls);
        trace::lost_waker(task, when);
    }
}
