//! # reactor: where glass waits for the operating system
//!
//! The executor (the `executor` crate) decides which task runs next. This crate is the other half:
//! when no task can run, it sleeps in `epoll_wait` until the kernel says a socket is ready or a timer
//! is due, and then calls `Waker::wake` for every task that was waiting on it. That is all it knows
//! about tasks: it stores `std::task::Waker`s and wakes them. It does not depend on the executor.
//!
//! ```text
//!   task: stream.read(&mut buf).await
//!     │  try read(2) ──── data? ─────────────────────────────► Ready(n)
//!     │  WouldBlock: store cx.waker() in the socket's slot ──► Pending
//!     ▼
//!   executor: no task ready ──► reactor::park(None)
//!     │  timeout = earliest timer (rounded up to 1 ms), or none
//!     ▼
//!   epoll_wait(...) ──► events [token → slab slot → stored waker]
//!     │  waker.wake()  (the executor queues the task)
//!     ▼
//!   executor polls the task again ──► read(2) is tried again ──► Ready(n)
//! ```
//!
//! ## What is here
//! - [`net`]: [`TcpListener`](net::TcpListener) and [`TcpStream`](net::TcpStream).
//! - [`time`]: [`sleep`](time::sleep), [`sleep_until`](time::sleep_until),
//!   [`timeout`](time::timeout), [`interval`](time::interval).
//! - [`io`]: [`AsyncFd`](io::AsyncFd), for any other file descriptor (stdin, a pipe).
//! - [`blocking`]: a small thread pool for work that must not run on the event loop.
//! - For the executor: [`park`], [`unparker`] and [`Unparker`], [`metrics`], [`dispatching`]
//!   (what the reactor is waking tasks for, right now) and [`waiting`] (what every waker it holds
//!   waits for).
//!
//! ## Implementation
//! - **One reactor per thread**, created on first use and kept in a thread-local. glass runs every
//!   task on the thread that called `block_on`, so the reactor needs no locks: its tables are
//!   `RefCell`s, and sockets hold `Rc`s to their own waker slots.
//! - **Tokens.** Each registered source gets a slab slot; its mio token is the slot index plus a
//!   registration generation in the high bits, so a slot reused by a new socket never receives an
//!   event meant for the old one.
//! - **Edge-triggered, syscall first.** mio registers sources edge-triggered: epoll reports a change
//!   once. An operation always tries its syscall first and stores its waker only on `WouldBlock`;
//!   the reactor's turn never runs between the two (same thread), and data that arrives later raises
//!   a fresh edge. So no readiness is tracked and no wake-up is lost.
//! - **Cooperative budget.** After 128 socket operations in a row on this thread that completed
//!   without blocking, the next one returns `Pending` (waking its task first), so one task draining
//!   a fast socket cannot starve the others. tokio's budget is 128 too, but counted per task poll.
//! - **Timers** are an ordered map from deadline to waker (see [`time`]); the earliest deadline is
//!   `epoll_wait`'s timeout.
//! - **Cross-thread wake-ups** go through a `mio::Waker` (an eventfd in the same epoll set): a waker
//!   fired on another thread queues its task, then [`Unparker::unpark`] ends the sleep at once.
//! - **The seam with the executor: one arrow each way.** The executor calls in ([`park`],
//!   [`unparker`], [`metrics`]); the reactor calls out only through `std::task::Waker::wake`. To
//!   let a trace say *why* a task woke, the reactor notes what it is dispatching (`fd=7 readable`,
//!   `timer`) in a thread-local for the length of each `wake` call it makes; the executor's waker
//!   reads it with [`dispatching`] and names it as the wake's cause. The reactor still knows no
//!   task: the note is about descriptors and timers only.
//! - **Watching**: the turn (`driver.rs`) makes one call at each point worth watching into
//!   `watch.rs`, which keeps [`metrics`] and emits the reactor's trace events (target
//!   `glass::reactor`): `register` and `deregister` (`fd`, `interest`, `token`), `epoll_wait`
//!   (`timeout` asked, `events` returned, time `asleep`), `dispatch` (`fd`, `direction`,
//!   `wakers`), `timers fired` (`count`). [`waiting`] lists the wakers the reactor holds, with
//!   the descriptor and direction or the deadline each waits for.
//! - **Wakers are foreign code.** Each `wake` the reactor makes runs under `catch_unwind`: a
//!   waker that panics is reported as a `tracing` ERROR event (target `glass::reactor`) and the
//!   turn goes on, so the other tasks of that turn are still woken (as in async-io).
//! - **Dropping** a socket, an [`AsyncFd`](io::AsyncFd) or a sleep removes its registration and
//!   its waker; nothing dangles.
//! - **Open files**: creating the first reactor raises the soft `RLIMIT_NOFILE` to the hard limit,
//!   as a server that expects thousands of connections would.

#![warn(missing_docs)]

mod async_fd;
pub mod blocking;
mod budget;
mod dispatch;
mod driver;
pub mod io;
pub mod net;
pub mod time;
mod unpark;
mod watch;

use std::time::Duration;

pub use dispatch::{Direction, Dispatch, dispatching};
pub use unpark::Unparker;
pub use watch::{ReactorMetrics, WaitingFor, waiting};

/// Waits for I/O readiness or timers on this thread's reactor, for at most `max_wait` (`None`: until
/// something happens), then wakes every task concerned. This is the executor's only way to sleep.
pub fn park(max_wait: Option<Duration>) -> std::io::Result<()> {
    driver::with_reactor(|r| r.park(max_wait))
}

/// A handle other threads can use to end this thread's `epoll_wait`.
pub fn unparker() -> Unparker {
    driver::with_reactor(|r| r.unparker())
}

/// What this thread's reactor has done so far.
pub fn metrics() -> ReactorMetrics {
    driver::with_reactor(|r| r.watch.metrics())
}
