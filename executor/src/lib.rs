//! # executor: which task runs next
//!
//! glass's executor runs futures on one thread. [`block_on`] drives a future to completion, along
//! with every task [`spawn`]ed meanwhile; a [`JoinHandle`] awaits a task's result. When no task can
//! make progress, the executor asks the `reactor` crate to sleep in `epoll_wait`; the executor
//! itself knows nothing of sockets or timers.
//!
//! ## The life of a task
//! ```text
//!  spawn(fut) ──► queued ──► polled ──► Pending ──► (waits: its Waker is stored by a socket,
//!                   ▲                                a timer, a channel...)
//!                   │                                     │
//!                   └──────────── woken: waker.wake() ◄───┘
//!                                  (any thread; queued once however often it is woken)
//!
//!                   polled ──► Ready(v) ──► stored in the task ──► JoinHandle.await == Ok(v)
//! ```
//!
//! ## What is here
//! - [`block_on`], [`spawn`], [`JoinHandle`], [`JoinError`], [`yield_now`], [`spawn_blocking`].
//! - [`Builder`]: spawn a named task. [`tasks`]: every live task, its [`TaskState`] and
//!   [`TaskMetrics`] (tokio-console's task list, inside the program).
//! - [`metrics`]: counters that are always on (polls, wakes, time parked).
//! - [`set_task_timing`], [`set_slow_poll_threshold`]: the time split and the slow-poll warning.
//!
//! ## Reading order
//! The minimal core first: `waker.rs` (the hand-written `Waker`), `state.rs` (the flag that
//! queues a task once per burst of wakes, and the sleep protocol), `task.rs` (a task in one
//! allocation), `runtime.rs` (the loop). Then `join_handle.rs`, and the instrumentation layer
//! beside the core, `layer/` (its `mod.rs` lists the hooks the core calls). `yield_now.rs` is the
//! simplest future there is, a good first read.
//!
//! ## Trace events and warnings
//! Every event has target `glass::executor`. A task is named by `task` (its id, [`TaskInfo::id`];
//! 0 is the future given to `block_on`) and, on the events that have the task at hand (`spawn`,
//! `poll`, the warnings), `name` when it has one; a `wake` event names only the id (a wake on
//! another thread cannot reach the task's name), which its `spawn` event maps to the name.
//!
//! | event | level | fields |
//! |---|---|---|
//! | `spawn` | TRACE | `task`, `name` |
//! | `wake` | TRACE | `task`, `cause`, `wake_id`, `queued`, and by cause: `fd` and `direction` (`io`), `by` (`task`), `thread` (`thread`) |
//! | `poll` | TRACE | `task`, `name`, `ready`, `took`, `woken_by`, `queued` |
//! | slow poll | WARN | `task`, `name`, `took`; the message says what to do |
//! | lost waker | WARN | `task`, `name`; the message says what to do |
//!
//! - `cause`: why the task was woken. `io`: the reactor dispatched a readiness event (`fd=7`,
//!   `direction=readable`); `timer`: a sleep or timeout expired; `task`: another task's poll woke
//!   it (`by` = that task's id: a channel send, a finished `JoinHandle`); `self`: its own poll
//!   (`yield_now`, the I/O budget); `thread`: another thread (`thread` = its name); `spawn`: it
//!   was just spawned. (`other` would be a wake made on the executor's thread outside any poll
//!   and outside the reactor; glass itself makes none.) Only wakes that queue a task emit an
//!   event: a wake of a task that is already queued does nothing.
//! - `wake_id`: a number unique to each traced wake in a runtime (from 1). The poll that wake
//!   caused carries it as `woken_by`, so a tool can draw an arrow from each wake to its poll
//!   (the demo's Chrome trace does, with flow events).
//! - `queued`: tasks in the run queue after the wake, or after the poll (the main future
//!   included; wakes from other threads cannot know it and leave it out): a counter track.
//! - `took`: how long the poll ran (`22µs`).
//! - **Slow poll**: a poll that held the thread longer than [`slow_poll_threshold`] (20 ms unless
//!   changed): "task `X` held the thread for 212 ms in one poll; nothing else ran meanwhile. Move
//!   blocking or CPU-heavy work into `spawn_blocking`." It needs the clock: while a subscriber
//!   listens to these warnings, each poll is timed (one clock read per poll), without the rest of
//!   the time split.
//! - **Lost waker**: the task returned `Pending` and no clone of its waker is alive any more, so
//!   nothing can ever wake it. Noticed right after the poll if it kept none, or when the last
//!   clone is dropped without a wake (on any thread). A waker stored by a sleep, a socket, a
//!   channel, a `JoinHandle` or a wrapper such as `futures::future::select` is alive, so none of
//!   those raise it.
//!
//! ## Caveats
//! - The time split and the slow-poll warning cost clock reads, so they are off unless somebody
//!   looks (see [`set_task_timing`]); the counters are always on.
//! - The lost-waker check counts the clones of a task's waker, for the tasks spawned while a
//!   subscriber listens to the warnings. A future that wakes its task through some other path
//!   than a clone of `cx.waker()` (say, by aborting it through its `JoinHandle`) is warned about,
//!   and indeed nothing but that path can wake it.
//!
//! ## Implementation
//! - **The ready queue** is a `VecDeque` of task ids for wakes on the executor's thread, fed by a
//!   `crossbeam_channel` for wakes from other threads, so any thread can wake any task; the
//!   future itself never leaves the executor's thread, which is why [`spawn`] needs no `Send`
//!   bound.
//! - **A task is one allocation**, an `Arc` shared by the executor's slab, its [`JoinHandle`] and
//!   its wakers. The waker is written by hand against a `RawWakerVTable` over that `Arc` (no
//!   `std::task::Wake`) to show what every runtime does underneath: its four functions are the
//!   four things one does with an `Arc`. The executor itself drops every future (when it
//!   finishes, is aborted, or when `block_on` returns), so a waker's last drop, on any thread,
//!   only frees memory.
//! - **Tasks** live in a slab; the id a waker queues holds the slab index and a sequence number,
//!   so a wake that arrives after its task finished (and the slot was reused) is ignored.
//! - **Polled once per wake-up burst**: a `Scheduled` flag lets only the first of many wakes
//!   between two polls queue the task.
//! - **Sleeping** is one call, `reactor::park`. A wake from another thread ends that sleep through
//!   the reactor's `mio::Waker`, but only when the executor is actually asleep (a flag and a pair of
//!   fences), so a busy executor pays no system call for it. Both protocols live in `state.rs`,
//!   and a `loom` model (`tests/loom_waker.rs`) checks them in every interleaving.
//! - **Panics** in a task are caught around its poll and reported through its `JoinHandle`; a panic
//!   in the future given to `block_on` reaches the caller.
//! - **Shutdown**: when `block_on` returns, unfinished tasks are dropped, their destructors run,
//!   and wakers that outlive the runtime become harmless no-ops.
//! - **Watching** is a layer beside the core (`layer/`): at each point worth watching the core
//!   makes one call into it (`before_poll`, `woken`, `before_park`...), in the manner of tokio's
//!   task hooks and its metrics batch, and each core struct has one field for it. Off, a hook is a
//!   few cell updates (the counters) and one flag test. To name a wake's cause the layer asks the
//!   reactor what it is dispatching (`reactor::dispatching()`: `fd=7 readable`, `timer`): one arrow
//!   each way, the reactor calls `Waker::wake`, the executor asks the reactor.
//! - **Lost wakers** are counted, not guessed: while the check is on, new tasks get a second
//!   waker table that also counts the clones of their waker, exactly (one atomic per clone and
//!   drop), so the drop that leaves none, on any thread, is known.
//! - Not here, on purpose: work stealing, multiple threads running tasks, a `Send` spawn. glass
//!   shows one thread doing many things at once; tokio's multi-threaded runtime is the next step.

#![warn(missing_docs)]

mod join_error;
mod join_handle;
mod layer;
mod runtime;
// The loom model (`tests/loom_waker.rs`) checks this module's functions, so under `cfg(loom)` it
// is public; otherwise it is private like the rest.
#[cfg(loom)]
#[doc(hidden)]
pub mod state;
#[cfg(not(loom))]
mod state;
mod task;
mod waker;
mod yield_now;

pub use join_error::JoinError;
pub use join_handle::JoinHandle;
#[cfg(loom)]
#[doc(hidden)]
pub use layer::clones;
pub use layer::metrics::{RuntimeMetrics, TaskMetrics, metrics};
pub use layer::task_list::{Builder, TaskInfo, TaskState, tasks};
pub use layer::timing::{
    DEFAULT_SLOW_POLL_THRESHOLD, TASK_TIMING_ENV, set_slow_poll_threshold, set_task_timing,
    slow_poll_threshold, task_timing,
};
pub use runtime::{block_on, spawn};
pub use yield_now::yield_now;

/// Runs `f` on a small pool of reused helper threads (at most `reactor::blocking::MAX_THREADS`),
/// and returns a handle that the calling task can await without blocking the event loop. This is
/// how CPU-bound or blocking work stays off the executor's thread.
///
/// A panic in `f` is reported through the handle, as for [`spawn`]. Aborting the handle drops the
/// wait for the result, but does not stop `f`, which runs to completion on its thread. If the pool
/// has no thread and the system refuses to start one, `f` never runs and the handle reports
/// [`JoinError::ThreadUnavailable`] (rather than wait for ever).
///
/// ```
/// let sum = executor::block_on(async {
///     // Summed on a helper thread; meanwhile this thread is free to run other tasks.
///     executor::spawn_blocking(|| (1..=1_000_000u64).sum::<u64>())
///         .await
///         .unwrap()
/// });
/// assert_eq!(sum, 500_000_500_000);
/// ```
///
/// # Panics
/// If called outside `block_on`.
pub fn spawn_blocking<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // Check first: `unblock` hands `f` to the pool at once, and it must not start if we panic.
    assert!(
        runtime::in_block_on(),
        "executor::spawn_blocking must be called from inside executor::block_on"
    );
    match reactor::blocking::unblock(f) {
        // Named, so that `tasks()`, the demo's table and traces say what the task waits for.
        Ok(job) => Builder::new().name("spawn_blocking").spawn(job),
        Err(no_thread) => runtime::spawn_failed(JoinError::ThreadUnavailable(no_thread)),
    }
}
