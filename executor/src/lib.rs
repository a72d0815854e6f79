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
//! - [`metrics`]: counters that are always on (polls, wakes, time parked).
//!
//! Reading order: `waker.rs` (the hand-written `Waker`), `task.rs` (a task and its handle),
//! `runtime.rs` (the loop).
//!
//! ## Implementation
//! - **The ready queue** is a `VecDeque` of task ids for wakes on the executor's thread, fed by a
//!   `crossbeam_channel` for wakes from other threads. A `Waker` owns an `Arc` of a small
//!   `WakerData` (task id, a state word holding the `scheduled` flag and the wake count, and an
//!   `Arc` of what all wakers share: the channel's `Sender`, the unparker), so any thread can wake any
//!   task; the future itself never leaves the executor's thread, which is why [`spawn`] needs no
//!   `Send` bound. The waker is written by hand against a `RawWakerVTable` (no `std::task::Wake`)
//!   to show what every runtime does underneath.
//! - **Tasks** live in a slab; the id a waker carries holds the slab index and a sequence number,
//!   so a wake that arrives after its task finished (and the slot was reused) is recognised and
//!   ignored.
//! - **Polled once per wake-up burst**: the `scheduled` flag lets only the first of many wakes
//!   between two polls queue the task.
//! - **Sleeping** is one call, `reactor::park`. A wake from another thread ends that sleep through
//!   the reactor's `mio::Waker`, but only when the executor is actually asleep (a flag and a pair of
//!   fences), so a busy executor pays no system call for it.
//! - **Panics** in a task are caught around its poll and reported through its `JoinHandle`; a panic
//!   in the future given to `block_on` reaches the caller.
//! - **Shutdown**: when `block_on` returns, unfinished tasks are dropped, their destructors run,
//!   and wakers that outlive the runtime become harmless no-ops.
//! - Not here, on purpose: work stealing, multiple threads running tasks, a `Send` spawn. glass
//!   shows one thread doing many things at once; tokio's multi-threaded runtime is the next step.

#![warn(missing_docs)]

mod metrics;
mod runtime;
mod task;
mod waker;
mod yield_now;

pub use metrics::RuntimeMetrics;
pub use runtime::{block_on, metrics, spawn};
pub use task::{JoinError, JoinHandle, TaskMetrics};
pub use yield_now::yield_now;

/// Runs `f` on a small pool of reused helper threads (at most `reactor::blocking::MAX_THREADS`),
/// and returns a handle that the calling task can await without blocking the event loop. This is
/// how CPU-bound or blocking work stays off the executor's thread.
///
/// A panic in `f` is reported through the handle, as for [`spawn`]. Aborting the handle drops the
/// wait for the result, but does not stop `f`, which runs to completion on its thread.
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
    spawn(reactor::blocking::unblock(f))
}
