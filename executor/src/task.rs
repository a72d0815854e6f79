//! A task and its [`JoinHandle`].
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
//!
//! Only the executor's thread ever drops a future or an output: the executor drops the future,
//! and the output is dropped by the `JoinHandle` (which never leaves that thread) or, if the
//! handle is gone, by the executor as soon as the task finishes. A waker that outlives all of
//! them (stored by another thread, say) frees an allocation whose stage is `Consumed`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, RawWaker, Waker};

pub use crate::join_error::JoinError;
use crate::layer::{self, TaskWatch};
use crate::waker::Header;

/// A task: what wakers share (`header`), what only the executor's thread touches, and the future.
#[repr(C)]
pub(crate) struct Task<F: Future> {
    pub(crate) header: Header,
    /// Set by `JoinHandle::abort`: the executor drops the future the next time it picks the task
    /// instead of polling it (not in `abort` itself: a task may abort itself mid-poll).
    pub(crate) abort: Cell<bool>,
    /// The waker of the task awaiting the `JoinHandle`, woken when this one finishes.
    join_waker: Cell<Option<Waker>>,
    /// Whether the `JoinHandle` still exists; if not, the output is dropped at once.
    has_handle: Cell<bool>,
    /// The instrumentation layer's part (polls, name, times).
    pub(crate) watch: TaskWatch,
    stage: RefCell<Stage<F>>,
}

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

/// How the executor drives a task without knowing its future's type.
pub(crate) trait Runnable {
    fn header(&self) -> &Header;
    fn watch(&self) -> &TaskWatch;
    fn abort_requested(&self) -> bool;
    /// Polls the future once (catching a panic); `Ready` once the task has finished.
    fn poll(&self) -> Poll<()>;
    /// Drops the future, if it still runs, and reports the task cancelled.
    fn cancel(&self);
    /// Drops the output now if nobody is left to take it.
    fn drop_output_if_detached(&self);
}

impl<F: Future> Task<F> {
    pub(crate) fn new(header: Header, watch: TaskWatch, stage: Option<F>) -> Arc<Task<F>> {
        Arc::new(Task {
            header,
            abort: Cell::new(false),
            join_waker: Cell::new(None),
            has_handle: Cell::new(true),
            watch,
            stage: RefCell::new(stage.map_or(Stage::Consumed, Stage::Running)),
        })
    }

    /// A task that could not start: finished from the outset.
    pub(crate) fn failed(header: Header, watch: TaskWatch, error: JoinError) -> Arc<Task<F>> {
        let task = Task::new(header, watch, None);
        *task.stage.borrow_mut() = Stage::Finished(Err(error));
        task
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

impl<F: Future> Runnable for Task<F> {
    fn header(&self) -> &Header {
        &self.header
    }

    fn watch(&self) -> &TaskWatch {
        &self.watch
    }

    fn abort_requested(&self) -> bool {
        self.abort.get()
    }

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

/// What a `JoinHandle<T>` needs from the task, without knowing the future's type.
trait JoinTarget<T> {
    fn task(&self) -> (&Header, &Cell<bool>, &Cell<Option<Waker>>);
    /// The result, if the task has finished; `None` while it runs.
    fn take_output(&self) -> Option<Result<T, JoinError>>;
    fn is_finished(&self) -> bool;
    /// The handle is gone: drops the output, if there is one, and says so to the executor.
    fn detach(&self);
    fn watch(&self) -> &TaskWatch;
}

impl<F: Future> JoinTarget<F::Output> for Task<F> {
    fn task(&self) -> (&Header, &Cell<bool>, &Cell<Option<Waker>>) {
        (&self.header, &self.abort, &self.join_waker)
    }

    fn take_output(&self) -> Option<Result<F::Output, JoinError>> {
        // A task awaiting its own handle finds the stage borrowed by its own poll: it waits for
        // ever, as it would on tokio.
        let mut stage = self.stage.try_borrow_mut().ok()?;
        match std::mem::replace(&mut *stage, Stage::Consumed) {
            Stage::Finished(result) => Some(result),
            Stage::Consumed => panic!("JoinHandle polled after it returned its result"),
            running => {
                *stage = running;
                None
            }
        }
    }

    fn is_finished(&self) -> bool {
        matches!(
            self.stage.try_borrow().as_deref(),
            Ok(Stage::Finished(_) | Stage::Consumed)
        )
    }

    fn detach(&self) {
        self.has_handle.set(false);
        let output = match self.stage.try_borrow_mut() {
            Ok(mut stage) if matches!(*stage, Stage::Finished(_)) => {
                std::mem::replace(&mut *stage, Stage::Consumed)
            }
            _ => return,
        };
        drop(output); // After the borrow: the output's destructor may look at this task.
    }

    fn watch(&self) -> &TaskWatch {
        &self.watch
    }
}

/// An owned permission to await a spawned task's result. Awaiting it gives
/// `Ok(output)`, or `Err(JoinError)` if the task panicked or was aborted.
///
/// Dropping a `JoinHandle` detaches the task: it keeps running, and its result is discarded.
///
/// ```
/// use std::time::Duration;
///
/// executor::block_on(async {
///     let quick = executor::spawn(async { "done" });
///     assert_eq!(quick.await.unwrap(), "done");
///
///     // An aborted task is dropped without being polled again; awaiting it says so.
///     let slow = executor::spawn(reactor::time::sleep(Duration::from_secs(60)));
///     slow.abort();
///     assert!(slow.await.unwrap_err().is_cancelled());
/// });
/// ```
pub struct JoinHandle<T> {
    task: Arc<dyn JoinTarget<T>>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new<F: Future<Output = T> + 'static>(task: Arc<Task<F>>) -> Self {
        JoinHandle { task }
    }

    /// Asks for the task to be cancelled: the next time the executor would poll it, it drops the
    /// future instead, and the handle then reports [`JoinError::is_cancelled`]. A task that has
    /// already finished keeps its result.
    pub fn abort(&self) {
        let (header, abort, _) = self.task.task();
        if !self.task.is_finished() {
            abort.set(true);
            header.wake();
        }
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// The task's counters and, while timing is on, its time split so far (the interval in
    /// progress included). See [`TaskMetrics`](crate::TaskMetrics) for what each figure means.
    ///
    /// ```
    /// let metrics = executor::block_on(async {
    ///     let handle = executor::spawn(async { executor::yield_now().await });
    ///     while !handle.is_finished() {
    ///         executor::yield_now().await;
    ///     }
    ///     handle.metrics()
    /// });
    /// assert_eq!(metrics.polls, 2);
    /// assert_eq!(metrics.self_wakes, 1);
    /// ```
    pub fn metrics(&self) -> crate::TaskMetrics {
        let (header, ..) = self.task.task();
        layer::task_metrics(header, self.task.watch(), self.task.is_finished())
    }

    /// The task's id, as [`tasks`](crate::tasks) and the trace events give it.
    pub fn id(&self) -> u64 {
        self.task.task().0.id.seq
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(result) = self.task.take_output() {
            return Poll::Ready(result);
        }
        let (_, _, slot) = self.task.task();
        let waker = match slot.take() {
            Some(old) if old.will_wake(cx.waker()) => old,
            _ => cx.waker().clone(),
        };
        slot.set(Some(waker));
        Poll::Pending
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.task.detach();
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("task", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}
