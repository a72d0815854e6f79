//! Cancellation made visible: a task dropped while it waits is a `dropped` trace event (target
//! `glass::executor`) naming the task, why (`aborted`, or `block_on returned` with it still
//! pending) and what it was waiting on. The reactor reports its own futures dropped while
//! pending (a sleep, a socket read) the same way, naming the task this layer says is
//! running (`reactor::set_current_task`). Only while the trace events are on.

use super::dump::{WaitingOn, join, waits};
use super::trace::TARGET;
use crate::runtime::Runtime;
use crate::task::Runnable;

/// `task`'s future is about to be dropped unfinished.
#[inline(never)]
pub(super) fn dropping(rt: &Runtime, task: &dyn Runnable) {
    let id = task.header().id.seq;
    reactor::set_current_task(Some(id));
    let why = if rt.watch.closing.get() {
        "block_on returned"
    } else {
        "aborted"
    };
    let waiting_on = if task.watch().polls.get() == 0 {
        "nothing yet (never polled)".to_owned()
    } else {
        let mut on = waits(rt, true, Some(id)).remove(&id).unwrap_or_default();
        // While `block_on` tears down, the task is out of the table `waits` looks at.
        if task.watch().blocking {
            on = vec![WaitingOn::BlockingJob];
        } else if on.is_empty() {
            on.push(WaitingOn::Elsewhere);
        }
        join(&on)
    };
    tracing::trace!(
        target: TARGET,
        task = id,
        name = task.watch().name().map(|n| &**n),
        why,
        waiting_on,
        "dropped"
    );
}
