//! A task: its future, its stage, and what the executor and its wakers share.
//!
//! A spawned future lives in a `Task`, one `Arc` allocation shared by the executor's slab, the
//! task's `JoinHandle` and its wakers. Its stage goes:
//!
//! ```text
//!   Running(future) ──poll → Ready(v)─────────────┐
//!         │         ──poll panicked───────────────┤  the future is dropped in place
//!         └─────────abort(), or block_on returned─┴─► (a panic in its drop is caught) ─┐
//!                                                                                      │
//!   Finished(Ok(v) | Err(panic) | Err(cancelled)) ◄────────────────────────────────────┘
//!         └──JoinHandle takes the result, or is dropped──► Consumed
//! ```
//! (The `JoinHandle` is in `join_handle.rs`.)
//!
//! Only the executor's thread drops a future or an output: the executor drops the future, the
//! `JoinHandle` (which never leaves that thread) the output, or the executor if the handle is
//! gone. A waker that outlives them all, on any thread, frees a task whose stage is `Consumed`.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, RawWaker, Waker};

use crate::join_error::JoinError;
use crate::layer::{self, TaskWatch};
use crate::waker::Header;

/// A task: the parts that do not depend on its future's type, then the future.
#[repr(C)]
pub(crate) struct Task<F: Future> {
    pub(crate) base: TaskBase,
    pub(crate) stage: RefCell<Stage<F>>,
}

/// What wakers share (`header`, first: `waker.rs` relies on it), then what only the executor's
/// thread touches. First in every `Task<F>` (`repr(C)`), so the executor reaches it from a
/// `dyn Runnable` without a call.
/// (The two flags come last, side by side: `repr(C)` keeps the order, and a flag between two
/// 8-byte fields would cost 7 bytes of padding in every task.)
#[repr(C)]
pub(crate) struct TaskBase {
    pub(crate) header: Header,
    /// The waker of the task awaiting the `JoinHandle`, woken when this one finishes.
    pub(crate) join_waker: Cell<Option<Waker>>,
    /// The instrumentation layer's part (polls, name, times).
    pub(crate) watch: TaskWatch,
    /// Set by `JoinHandle::abort`: the executor drops the future the next time it picks the task
    /// instead of polling it (not in `abort` itself: a task may abort itself mid-poll).
    pub(crate) abort: Cell<bool>,
    /// Whether the `JoinHandle` still exists; if not, the output is dropped at once.
    pub(crate) has_handle: Cell<bool>,
}

impl<F: Future> std::ops::Deref for Task<F> {
    type Target = TaskBase;
    fn deref(&self) -> &TaskBase {
        &self.base
    }
}

pub(crate) enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

/// How the executor drives a task without knowing its future's type.
pub(crate) trait Runnable {
    /// Polls the future once (catching a panic); `Ready` once the task has finished.
    fn poll(&self) -> Poll<()>;
    /// Drops the future, if it still runs, and reports the task cancelled.
    fn cancel(&self);
    /// Drops the output now if nobody is left to take it.
    fn drop_output_if_detached(&self);
}

impl<F: Future> Task<F> {
    pub(crate) fn new(header: Header, watch: TaskWatch, stage: Stage<F>) -> Arc<Task<F>> {
        Arc::new(Task {
            base: TaskBase {
                header,
                join_waker: Cell::new(None),
                watch,
                abort: Cell::new(false),
                has_handle: Cell::new(true),
            },
            stage: RefCell::new(stage),
        })
    }

    /// A task that could not start: finished from the outset.
    pub(crate) fn failed(header: Header, watch: TaskWatch, error: JoinError) -> Arc<Task<F>> {
        Task::new(header, watch, Stage::Finished(Err(error)))
    }

    /// A waker for this task that borrows the caller's `Arc` instead of owning a count of it.
    pub(crate) fn waker_ref(&self) -> ManuallyDrop<Waker> {
        let vtable = layer::vtable(&self.header.watch);
        let raw = RawWaker::new((self as *const Self).cast(), vtable);
        // SAFETY: `self` lives in an `Arc<Task<F>>` that the caller keeps alive while the waker
        // is in use, and `ManuallyDrop` keeps the borrowed waker from giving up a count it does
        // not own; a clone takes a count of its own (`waker.rs`).
        ManuallyDrop::new(unsafe { Waker::from_raw(raw) })
    }

    /// Stores the task's result (the future is gone by now) and wakes the `JoinHandle`. Takes
    /// the borrow by value to end it first: a waker may poll the handle right away.
    fn finish(
        &self,
        mut stage: std::cell::RefMut<'_, Stage<F>>,
        result: Result<F::Output, JoinError>,
    ) {
        *stage = Stage::Finished(result);
        drop(stage);
        if let Some(waker) = self.join_waker.take() {
            waker.wake();
        }
    }

    /// Drops the future in place; a panic in its destructor becomes the result.
    fn drop_future(
        &self,
        mut stage: std::cell::RefMut<'_, Stage<F>>,
        result: Result<F::Output, JoinError>,
    ) {
        match panic::catch_unwind(AssertUnwindSafe(|| *stage = Stage::Consumed)) {
            Ok(()) => self.finish(stage, result),
            Err(panic) => self.finish(stage, Err(JoinError::Panic(panic))),
        }
    }
}

impl dyn Runnable + '_ {
    /// The task's `TaskBase`, read in place.
    #[inline]
    pub(crate) fn base(&self) -> &TaskBase {
        // SAFETY: every `Runnable` is a `Task<F>`, `repr(C)` with its `TaskBase` first, so the
        // data pointer of `self` points to that `TaskBase`, borrowed for as long as `self` is.
        unsafe { &*(self as *const Self).cast::<TaskBase>() }
    }

    #[inline]
    pub(crate) fn header(&self) -> &Header {
        &self.base().header
    }

    #[inline]
    pub(crate) fn watch(&self) -> &TaskWatch {
        &self.base().watch
    }

    #[inline]
    pub(crate) fn abort_requested(&self) -> bool {
        self.base().abort.get()
    }
}

impl<F: Future> Runnable for Task<F> {
    fn poll(&self) -> Poll<()> {
        let mut stage = self.stage.borrow_mut();
        let Stage::Running(future) = &mut *stage else {
            return Poll::Ready(());
        };
        // SAFETY: the future lives in the task's `Arc` allocation, which never moves, and it is
        // never moved out of `Stage::Running`: it is dropped in place.
        let future = unsafe { Pin::new_unchecked(future) };
        let waker = self.waker_ref();
        let mut cx = Context::from_waker(&waker);
        let result = match panic::catch_unwind(AssertUnwindSafe(|| future.poll(&mut cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(output)) => Ok(output),
            Err(panic) => Err(JoinError::Panic(panic)),
        };
        self.drop_future(stage, result);
        Poll::Ready(())
    }

    fn cancel(&self) {
        let stage = self.stage.borrow_mut();
        if matches!(*stage, Stage::Running(_)) {
            self.drop_future(stage, Err(JoinError::Cancelled));
        }
    }

    fn drop_output_if_detached(&self) {
        if !self.has_handle.get() {
            // Replaced first, dropped after the borrow: the output's destructor is anyone's code.
            let output = std::mem::replace(&mut *self.stage.borrow_mut(), Stage::Consumed);
            drop(output);
        }
    }
}
