//! Everything the executor tells a `tracing` subscriber: the trace events (`spawn`, `wake`,
//! `poll`) and the two warnings (a slow poll, a lost waker). The field names are documented in the
//! crate docs ("Trace events and warnings"); tools such as the demo's Chrome trace rely on them.
//!
//! Every event here has target `glass::executor`. The trace events cost nothing measurable while
//! no subscriber enables them: each macro first checks a cached per-callsite interest.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tracing::Level;

use crate::task::TaskHeader;
use crate::waker::{TaskId, WakerData};

const TARGET: &str = "glass::executor";

/// Whether the trace events are wanted. Checked before the work of building one (a wake id, a
/// thread name).
pub(crate) fn enabled() -> bool {
    tracing::enabled!(target: TARGET, Level::TRACE)
}

/// Why a task was woken: the `cause` field of a `wake` event.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Cause {
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

/// The task as the warnings name it: its name in backquotes, else `#id`.
pub(crate) fn label(header: &TaskHeader) -> String {
    match (header.name(), header.data.id) {
        (Some(name), _) => format!("`{name}`"),
        (None, TaskId::MAIN) => "`block_on`'s future".to_owned(),
        (None, id) => format!("#{}", id.seq),
    }
}

/// A `wake` event for a wake that queued the task (`queued`: tasks now in the run queue, when
/// known). Gives the wake a `wake_id`, which the poll it causes reports as `woken_by`.
pub(crate) fn wake(data: &WakerData, cause: Cause, queued: Option<usize>) {
    if !enabled() {
        return;
    }
    let wake_id = data.shared.next_wake_id.fetch_add(1, Ordering::Relaxed) + 1;
    data.wake_id.store(wake_id, Ordering::Relaxed);
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
        task = data.id.seq,
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

/// A wake from another thread (the number of queued tasks is not known there).
pub(crate) fn remote_wake(data: &WakerData) {
    wake(data, Cause::Thread, None);
}

/// A `spawn` event, then the `wake` (cause `spawn`) that queued the new task.
pub(crate) fn spawn(header: &TaskHeader, queued: usize) {
    if !enabled() {
        return;
    }
    let name = header.name().map(|n| &**n);
    tracing::trace!(target: TARGET, task = header.data.id.seq, name, "spawn");
    wake(&header.data, Cause::Spawn, Some(queued));
}

/// A `poll` event; `woken_by`: the `wake_id` of the wake that queued this poll.
pub(crate) fn poll(
    header: &TaskHeader,
    ready: bool,
    took: Option<Duration>,
    woken_by: u64,
    queued: usize,
) {
    tracing::trace!(
        target: TARGET,
        task = header.data.id.seq,
        name = header.name().map(|n| &**n),
        ready,
        took = took.map(tracing::field::debug),
        woken_by = (woken_by != 0).then_some(woken_by),
        queued,
        "poll"
    );
}

/// The slow-poll warning.
pub(crate) fn slow_poll(header: &TaskHeader, took: Duration) {
    let millis = took.as_millis();
    tracing::warn!(
        target: TARGET,
        task = header.data.id.seq,
        name = header.name().map(|n| &**n),
        took = ?took,
        "task {} held the thread for {millis} ms in one poll; nothing else ran meanwhile. \
         Move blocking or CPU-heavy work into `spawn_blocking`.",
        label(header)
    );
}

/// When a lost waker was noticed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Lost {
    /// Right after a poll that returned `Pending` and kept no clone of the waker.
    AfterPoll,
    /// When the last clone anyone had kept was dropped, without waking the task.
    LastCloneDropped,
}

/// The lost-waker warning.
pub(crate) fn lost_waker(header: &TaskHeader, when: Lost) {
    let what = match when {
        Lost::AfterPoll => "returned `Pending` but kept no clone of its waker",
        Lost::LastCloneDropped => {
            "is waiting, and the last clone of its waker was just dropped without waking it"
        }
    };
    tracing::warn!(
        target: TARGET,
        task = header.data.id.seq,
        name = header.name().map(|n| &**n),
        "task {} {what}, so nothing can ever wake it: it will never run again. A future that \
         returns `Pending` must store `cx.waker().clone()` where the event it waits for will \
         find it, and call `wake` on it then.",
        label(header)
    );
}
