//! The hooks around a poll: the counters, and while timing or the warnings are on, the one clock
//! read per poll that ends it and starts whatever comes next (`Watch::clock`). The timed part is
//! inline in the executor's loop; the trace events, the lost-waker check and the slow-poll
//! warning are out of line.

use std::sync::atomic::Ordering;

use super::{NOT_RUNNING, add, lost_waker, timing, trace};
use crate::runtime::Runtime;
use crate::task::Runnable;

/// Before a poll; returns the `wake_id` that caused it (0 untraced).
#[inline]
pub(crate) fn before_poll(rt: &Runtime, task: &dyn Runnable) -> u64 {
    let watch = &rt.watch;
    watch.running.set(task.header().id.seq);
    add(&task.watch().polls);
    add(&watch.polls);
    if watch.on.get() {
        poll_starts(rt, task)
    } else {
        0
    }
}

#[inline]
fn poll_starts(rt: &Runtime, task: &dyn Runnable) -> u64 {
    let watch = &rt.watch;
    if watch.timing.get() || watch.slow.get() {
        let start = match watch.clock.replace(0) {
            0 => rt.shared.watch.now(),
            at_hand => at_hand,
        };
        watch.poll_start.set(start);
        if watch.timing.get() {
            let woken_at = task.header().watch.woken_at.load(Ordering::Relaxed);
            let first = task.watch().polls.get() == 1;
            task.watch().times.poll_starts(start, woken_at, first);
        }
    }
    if watch.traced.get() {
        trace_poll_starts(task)
    } else {
        0
    }
}

#[cold]
fn trace_poll_starts(task: &dyn Runnable) -> u64 {
    let header = task.header();
    // So that the reactor's `dropped` events can name the task.
    reactor::set_current_task(Some(header.id.seq));
    header.watch.wake_id.load(Ordering::Relaxed)
}

/// After a poll; `woken_by`: what `before_poll` returned.
#[inline]
pub(crate) fn after_poll(rt: &Runtime, task: &dyn Runnable, woken_by: u64, ready: bool) {
    rt.watch.running.set(NOT_RUNNING);
    task.watch().since.set(rt.watch.awake_since.get());
    if rt.watch.on.get() {
        poll_ends(rt, task, woken_by, ready);
    }
}

/// The poll's second clock read ends it, and starts whatever comes next (`Watch::clock`).
#[inline]
fn poll_ends(rt: &Runtime, task: &dyn Runnable, woken_by: u64, ready: bool) {
    let watch = &rt.watch;
    let start = watch.poll_start.replace(0);
    let mut took = 0;
    if start != 0 {
        let end = rt.shared.watch.now();
        watch.clock.set(end);
        took = end.saturating_sub(start);
        if watch.timing.get() {
            task.watch().times.poll_ends(end, took);
        }
        if took > watch.slow_ticks.get() {
            slow_poll(rt, task, took);
        }
    }
    if watch.traced.get() || (!ready && task.header().watch.counted) {
        poll_ended(rt, task, woken_by, ready, took);
    }
}

/// The rest of `poll_ends`: the trace event, the lost-waker check. `took`: the poll's ticks (0:
/// untimed).
#[cold]
fn poll_ended(rt: &Runtime, task: &dyn Runnable, woken_by: u64, ready: bool, took: u64) {
    if rt.watch.traced.get() {
        reactor::set_current_task(None);
        let queued = rt.local.borrow().len();
        let clock = rt.shared.watch.clock.get().filter(|_| took != 0);
        let took = clock.map(|clock| clock.duration(took));
        trace::poll(task, ready, took, woken_by, queued);
    }
    if !ready && task.header().watch.counted {
        lost_waker::check_after_poll(rt, task);
    }
}

/// A poll took longer than the threshold: counted, and warned of if a subscriber listens.
#[cold]
fn slow_poll(rt: &Runtime, task: &dyn Runnable, ticks: u64) {
    let Some(clock) = rt.shared.watch.clock.get() else {
        return;
    };
    // The threshold in ticks is converted once a turn; a raise during this turn counts at once.
    let took = clock.duration(ticks);
    if took.as_nanos() <= u128::from(timing::slow_poll_nanos()) {
        return;
    }
    task.watch().times.slow_poll();
    if rt.watch.slow.get() {
        trace::slow_poll(task, took);
    }
}
