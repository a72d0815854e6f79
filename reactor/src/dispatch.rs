//! What the reactor is dispatching right now: the one thing it tells the executor besides the
//! wakes themselves.
//!
//! The reactor knows nothing of tasks, and the executor knows nothing of sockets. Yet a learner
//! reading a trace wants to know *why* a task was woken: "fd 7 became readable", "a timer
//! expired". So, around each `Waker::wake` it makes, the reactor notes what it is dispatching in a
//! thread-local ([`dispatching`]); a waker that runs on this thread may read it. The executor's
//! waker does (when tracing is on) and puts it in its `wake` event as the cause. The arrows stay
//! one each way: the reactor calls `Waker::wake`, the executor asks `reactor::dispatching()`.
//!
//! Every foreign `wake` here runs under `catch_unwind`: a waker is anyone's code, and a panic in
//! one must not unwind through the reactor's turn and leave the other wakers of that turn unwoken
//! (async-io does the same). The panic is reported as a `tracing` ERROR event, and its payload
//! dropped under a catch of its own (a payload may panic when dropped, too).

use std::cell::Cell;
use std::fmt;
use std::os::fd::RawFd;
use std::panic::{self, AssertUnwindSafe};
use std::task::Waker;

/// What the reactor is waking tasks for, as returned by [`dispatching`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dispatch {
    /// A readiness event from `epoll_wait` for the file descriptor `fd`.
    Io {
        /// The registered file descriptor.
        fd: RawFd,
        /// Which of its directions became ready (or hung up, or failed).
        direction: Direction,
    },
    /// A sleep or timeout reached its deadline.
    Timer,
}

/// One direction of a registered source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Reading (or accepting) can make progress.
    Readable,
    /// Writing (or connecting) can make progress.
    Writable,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Readable => "readable",
            Direction::Writable => "writable",
        })
    }
}

impl fmt::Display for Dispatch {
    /// `fd=7 readable`, or `timer`: the form the trace events use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dispatch::Io { fd, direction } => write!(f, "fd={fd} {direction}"),
            Dispatch::Timer => f.write_str("timer"),
        }
    }
}

thread_local! {
    /// Set while this thread's reactor calls a waker; `None` the rest of the time.
    static DISPATCHING: Cell<Option<Dispatch>> = const { Cell::new(None) };
}

/// What this thread's reactor is dispatching at this moment: `Some` only while it is inside a
/// `Waker::wake` call it made, so a waker can tell that it was called for I/O or a timer (and for
/// which descriptor), rather than by a task or another thread.
///
/// ```
/// // Outside the reactor's turn, nothing is being dispatched.
/// assert_eq!(reactor::dispatching(), None);
/// ```
pub fn dispatching() -> Option<Dispatch> {
    DISPATCHING.with(Cell::get)
}

/// Wakes each of `wakers` for `dispatch`, with [`dispatching`] saying so meanwhile. A waker that
/// panics is reported and skipped; the others are still woken.
pub(crate) fn wake_all(dispatch: Dispatch, wakers: impl IntoIterator<Item = Waker>) {
    /// Clears the thread-local on every way out.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            DISPATCHING.set(None);
        }
    }
    DISPATCHING.set(Some(dispatch));
    let _reset = Reset;
    for waker in wakers {
        // A waker is foreign code. Unwinding from here would abandon the rest of the turn.
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| waker.wake())) {
            let message = panic_message(payload.as_ref());
            tracing::error!(
                target: "glass::reactor",
                cause = %dispatch,
                panic = message,
                "a waker panicked when the reactor woke it (for {dispatch}); the reactor caught \
                 the panic and woke the other tasks. Fix the waker: Waker::wake must not panic."
            );
            drop_payload(payload);
        }
    }
}

/// Drops a caught panic's payload, which is anyone's value too: a payload whose `drop` panics
/// would otherwise unwind out of the turn after all. The second panic's payload is leaked rather
/// than dropped, since it could do the same again.
fn drop_payload(payload: Box<dyn std::any::Any + Send>) {
    if let Err(again) = panic::catch_unwind(AssertUnwindSafe(|| drop(payload))) {
        std::mem::forget(again);
    }
}

/// The text of a panic payload, or a placeholder for payloads that are not strings.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a non-string panic payload)")
}
