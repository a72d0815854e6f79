//! Everything the executor tells a `tracing` subscriber: the trace events (`spawn`, `wake`,
//! `poll`) and the two warnings (a slow poll, a lost waker). The field names are documented in the
//! crate docs ("Trace events and warnings"); tools such as the demo's Chrome trace rely on them.
//!
//! Every event here has target `glass::executor`. The trace events cost nothing measurable while
//! no subscriber enables them: each macro first checks a cached per-callsite interest.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tracing::Level;

use super::{NOT_RUNNING, label};
use crate::runtime::Runtime;
use crate::task::Runnable;
use crate::waker::Header;

pub(super) const TARGET: &str = "glass::executor";

/// Whether the trace events are wanted. Checked before the work of building one (a wake id, a
/// thread name).
pub(super) fn enabled() -> bool {
    tracing::enabled!(target: TARGET, Level::TRACE)
}

/// Why a task was woken: the `cause` field of a `wake` event.
#[derive(Clone, Copy, Debug)]
pub(super) enum Cause {
    /// The reactor dispatched a readiness event or an expired timer (`reactor::dispatching`).
    Reactor(reactor::Dispatch),
    /// Another task's poll woke it (a channel send, a finished `JoinHandle`...): that task's id.
    Task(u64),
    /// Its own poll woke it (`yield_now`, the I/O budget).
    SelfWake,
    /// Another thread woke it.
    Thread,
    /// It was spawned (a new task is queued without a wake).
    Spawn,
    /// Code on the executor's thread outside any poll and outside the reactor's dispatch (none
    /// of glass's own code does this).
    Other,
}

impl Cause {
    fn name(self) -> &'static str {
        match self {
            Cause::Reactor(reactor::Dispatch::Io { .. }) => "io",
            Cause::Reactor(reactor::Dispatch::Timer) => "timer",
            Cause::Task(_) => "task",
            Cause::SelfWake => "self",
            Cause::Thread => "thread",
            Cause::Spawn => "spawn",
            Cause::Other => "other",
        }
    }
}

/// Why a task is being woken on the executor's thread right now.
pub(super) fn cause(rt: &Runtime, by_itself: bool) -> Cause {
    match (by_itself, rt.watch.running.get(), reactor::dispatching()) {
        (true, _, _) => Cause::SelfWake,
        (false, NOT_RUNNING, Some(dispatch)) => Cause::Reactor(dispatch),
        (false, NOT_RUNNING, None) => Cause::Other,
        (false, waker, _) => Cause::Task(waker),
    }
}

/// A `wake` event for a wake that queued the task (`queued`: tasks now in the run queue, when
/// known). Gives the wake a `wake_id`, which the poll it causes reports as `woken_by`.
pub(super) fn wake(header: &Header, cause: Cause, queued: Option<usize>) {
    if !enabled() {
        return;
    }
    let wake_id = header
        .shared
        .watch
        .next_wake_id
        .fetch_add(1, Ordering::Relaxed)
        + 1;
    header.watch.wake_id.store(wake_id, Ordering::Relaxed);
    let (fd, direction) = match cause {
        Cause::Reactor(reactor::Dispatch::Io { fd, direction }) => (Some(fd), Some(direction)),
        _ => (None, None),
    };
    let by = match cause {
        Cause::Task(seq) => Some(seq),
        _ => None,
    };
    let thread = matches!(cause, Cause::Thread).then(std::thread::current);
    tracing::trace!(
        target: TARGET,
        task = header.id.seq,
        cause = cause.name(),
        fd,
        direction = direction.map(tracing::field::display),
        by,
        thread = thread.as_ref().map(|t| tracing::field::display(t.name().unwrap_or("unnamed"))),
        wake_id,
        queued,
        "wake"
    );
}

/// A `spawn` event, then the `wake` (cause `spawn`) that queued the new task.
pub(super) fn spawn(rt: &Runtime, task: &dyn Runnable, queued: usize) {
    if !rt.watch.traced.get() {
        return;
    }
    let name = task.watch().name().map(|n| &**n);
    tracing::trace!(target: TARGET, task = task.header().id.seq, name, "spawn");
    wake(task.header(), Cause::Spawn, Some(queued));
}

/// A `poll` event; `woken_by`: the `wake_id` of the wake that queued this poll.
pub(super) fn poll(
    task: &dyn Runnable,
    ready: bool,
    took: Option<Duration>,
    woken_by: u64,
    queued: usize,
) {
    tracing::trace!(
        target: TARGET,
        task = task.header().id.seq,
        name = task.watch().name().map(|n| &**n),
        ready,
        took = took.map(tracing::field::debug),
        woken_by = (woken_by != 0).then_some(woken_by),
        queued,
        "poll"
    );
}

/// The slow-poll warning.
pub(super) fn slow_poll(task: &dyn Runnable, took: Duration) {
    let millis = took.as_millis();
    tracing::warn!(
        target: TARGET,
        task = task.header().id.seq,
        name = task.watch().name().map(|n| &**n),
        took = ?took,
        "task {} held the thread for {millis} ms in one poll; nothing else ran meanwhile. \
         Move blocking or CPU-heavy work into `spawn_blocking`.",
        label(task)
    );
}

/// When a lost waker was noticed.
#[derive(Clone, Copy, Debug)]
pub(super) enum Lost {
    /// Right after a poll that returned `Pending` and kept no clone of the waker.
    AfterPoll,
    /// When the last clone anyone had kept was dropped, without waking the task.
    LastCloneDropped,
}

/// The lost-waker warning.
pub(super) fn lost_waker(task: &dyn Runnable, when: Lost) {
    let what = match when {
        Lost::AfterPoll => "returned `Pending` but kept no clone of its waker",
        Lost::LastCloneDropped => {
            "is waiting, and the last clone of its waker was just dropped without waking it"
        }
    };
    tracing::warn!(
        target: TARGET,
        task = task.header().id.seq,
        name = task.watch().name().map(|n| &**n),
        "task {} {what}, so nothing can ever wake it: it will never run again. A future that \
         returns `Pending` must store `cx.waker().clone()` where the event it waits for will \
         find it, and call `wake` on it then.",
        label(task)
    );
}

/// A detached task's output panicked when dropped; nobody is left to report it to.
pub(super) fn output_panicked(task: &dyn Runnable) {
    tracing::warn!(target: TARGET, task = task.header().id.seq, "a detached task's output panicked when dropped");
}
