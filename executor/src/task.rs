//! A task and its [`JoinHandle`].
//!
//! A spawned future lives in a `TaskCell`, in an `Rc` shared by the executor's slab and by the
//! task's `JoinHandle`. The cell goes through three stages:
//!
//! ```text
//!   Running(future) ──poll → Ready(v)─────────────┐
//!         │         ──poll panicked───────────────┤  Consumed: the future is dropped in place
//!         └─────────abort(), or block_on returned─┴─► (a panic in its drop is caught) ─┐
//!                                                                                      │
//!   Finished(Ok(v) | Err(panic) | Err(cancelled)) ◄────────────────────────────────────┘
//!         └──JoinHandle::poll takes the result──► Consumed
//! ```
//!
//! The future is dropped by overwriting `Running` with `Consumed`, before the result is stored
//! as `Finished` (a panic in that drop becomes the result); then whoever awaits the
//! `JoinHandle` is woken. `Consumed` is also where the stage ends once the handle has taken the
//! result. A task that could not start (`TaskCell::failed`) begins in `Finished`.

use std::any::Any;
use std::cell::{Cell, OnceCell, RefCell, RefMut};
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::metrics::TaskMetrics;
use crate::runtime;
use crate::timing::TaskTimes;
use crate::waker::WakerData;

/// The parts of a task that do not depend on its future's type (the main future given to
/// `block_on` has one too, so that it is timed and checked like any task).
pub(crate) struct TaskHeader {
    /// The task's waker, built once at spawn; polls borrow it. The one waker a waiting task has
    /// when nobody stored a clone (`WakerData::wakers` is then 1).
    pub(crate) waker: Waker,
    /// The same data the waker points to, for the scheduled flag, the id and the wake count.
    pub(crate) data: Arc<WakerData>,
    /// How many times the executor has polled this task.
    pub(crate) polls: Cell<u64>,
    /// The name and the times, allocated only for a named task or once timing is on: an unnamed
    /// task in a program that does not look stays small. (With them inline, the header grew by
    /// 96 bytes and `compare spawn_many` slowed from 96 to 160 ns a task, mostly page faults.)
    extras: OnceCell<Box<Extras>>,
    /// The value of `polls` when a lost-waker warning was last given (`u64::MAX`: never): one
    /// warning per wait is enough, and a wait ends with a poll.
    pub(crate) lost_warned: Cell<u64>,
    /// Set by `JoinHandle::abort`: the executor drops the future the next time it picks the task
    /// instead of polling it. (Dropping it inside `abort` could run the task's destructors while
    /// the task itself is on the stack, if a task aborts itself.)
    pub(crate) abort_requested: Cell<bool>,
    /// The waker of the task awaiting the `JoinHandle`, woken when the task finishes.
    join_waker: RefCell<Option<Waker>>,
}

/// What only some tasks need (see `TaskHeader::extras`).
#[derive(Default)]
struct Extras {
    /// The name given with `Builder::name`.
    name: Option<Arc<str>>,
    /// Where its time went, while timing is on (`crate::timing`).
    times: Cell<TaskTimes>,
}

impl Extras {
    /// Out of line: most tasks of a program that does not look have none.
    #[cold]
    fn new(name: Option<Arc<str>>, spawned_at: u64) -> Box<Extras> {
        let times = TaskTimes {
            spawned_at,
            ..TaskTimes::default()
        };
        Box::new(Extras {
            name,
            times: Cell::new(times),
        })
    }
}

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

pub(crate) struct TaskCell<F: Future> {
    header: TaskHeader,
    stage: RefCell<Stage<F>>,
}

/// How the executor drives a task without knowing its future's type.
pub(crate) trait Runnable {
    fn header(&self) -> &TaskHeader;
    /// Polls the future once (catching a panic); `Ready` once the task has finished.
    fn poll(&self) -> Poll<()>;
    /// Drops the future, if it is still running, and reports the task cancelled.
    fn cancel(&self);
}

/// What a `JoinHandle<T>` needs from the cell, without knowing the future's type.
trait JoinTarget<T> {
    fn header(&self) -> &TaskHeader;
    /// The task's result, if it has finished; `None` while it runs.
    fn take_output(&self) -> Option<Result<T, JoinError>>;
    fn is_finished(&self) -> bool;
}

impl TaskHeader {
    /// The header of a task whose waker points to `data`; `spawned_at`: now, if timing is on.
    #[inline]
    pub(crate) fn new(data: Arc<WakerData>, name: Option<Arc<str>>, spawned_at: u64) -> Self {
        let extras = OnceCell::new();
        if name.is_some() || spawned_at != 0 {
            let _ = extras.set(Extras::new(name, spawned_at));
        }
        TaskHeader {
            waker: WakerData::into_waker(data.clone()),
            data,
            polls: Cell::new(0),
            extras,
            lost_warned: Cell::new(u64::MAX),
            abort_requested: Cell::new(false),
            join_waker: RefCell::new(None),
        }
    }

    /// The name given with `Builder::name`.
    pub(crate) fn name(&self) -> Option<&Arc<str>> {
        self.extras.get()?.name.as_ref()
    }

    /// The task's times, made on first use (timing came on after the spawn).
    pub(crate) fn times(&self) -> &Cell<TaskTimes> {
        &self.extras.get_or_init(Box::default).times
    }

    /// The task's figures; `live`: the clock now, to count the interval in progress (`None`:
    /// timing is off or the task has finished; only the closed intervals count).
    pub(crate) fn metrics(&self, live: Option<u64>) -> TaskMetrics {
        let data = &self.data;
        let mut times = self.extras.get().map(|e| e.times.get()).unwrap_or_default();
        if let Some(now) = live {
            let scheduled = data.state.is_scheduled();
            times = times.at(now, scheduled, data.woken_at.load(Ordering::Relaxed));
        }
        TaskMetrics {
            polls: self.polls.get(),
            wakes: data.state.wakes(),
            self_wakes: data.self_wakes.load(Ordering::Relaxed),
            remote_wakes: data.remote_wakes.load(Ordering::Relaxed),
            busy: Duration::from_nanos(times.busy),
            scheduled: Duration::from_nanos(times.scheduled),
            idle: Duration::from_nanos(times.idle),
            first_poll_delay: times.first_poll_delay.map(Duration::from_nanos),
            max_poll: Duration::from_nanos(times.max_poll),
            slow_polls: times.slow_polls,
        }
    }
}

impl<F: Future> TaskCell<F> {
    pub(crate) fn new(future: F, header: TaskHeader) -> Self {
        TaskCell {
            header,
            stage: RefCell::new(Stage::Running(future)),
        }
    }

    /// A task that failed before it could start: it is finished from the outset.
    pub(crate) fn failed(header: TaskHeader, error: JoinError) -> Self {
        TaskCell {
            header,
            stage: RefCell::new(Stage::Finished(Err(error))),
        }
    }

    /// Stores the task's result (the future has been dropped by now) and wakes the `JoinHandle`.
    ///
    /// It takes the stage's borrow by value to end it before waking: a waker may poll the handle
    /// right away (a foreign executor's might), and that must find the result, not a borrowed cell.
    fn finish(&self, mut stage: RefMut<'_, Stage<F>>, result: Result<F::Output, JoinError>) {
        *stage = Stage::Finished(result);
        drop(stage);
        let waker = self.header.join_waker.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<F: Future> Runnable for TaskCell<F> {
    fn header(&self) -> &TaskHeader {
        &self.header
    }

    fn poll(&self) -> Poll<()> {
        let mut stage = self.stage.borrow_mut();
        let Stage::Running(future) = &mut *stage else {
            return Poll::Ready(());
        };
        // SAFETY: the future lives inside an `Rc` allocation that never moves, and it is never moved
        // out of `Stage::Running`: it is dropped in place when the stage is overwritten.
        let future = unsafe { Pin::new_unchecked(future) };
        let mut cx = Context::from_waker(&self.header.waker);
        let result = match panic::catch_unwind(AssertUnwindSafe(|| future.poll(&mut cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(output)) => Ok(output),
            Err(panic) => Err(JoinError::Panic(panic)),
        };
        // Overwriting `Running` drops the future; a panic in its destructor is reported instead.
        if let Err(panic) = panic::catch_unwind(AssertUnwindSafe(|| *stage = Stage::Consumed)) {
            self.finish(stage, Err(JoinError::Panic(panic)));
        } else {
            self.finish(stage, result);
        }
        Poll::Ready(())
    }

    fn cancel(&self) {
        let mut stage = self.stage.borrow_mut();
        if matches!(*stage, Stage::Running(_)) {
            // Overwriting the stage drops the future in place, running its destructors now. A
            // destructor that panics must not take down the executor, so the panic is caught and
            // reported through the handle (the assignment completes even if the drop unwinds).
            let dropped = panic::catch_unwind(AssertUnwindSafe(|| *stage = Stage::Consumed));
            let result = match dropped {
                Ok(()) => Err(JoinError::Cancelled),
                Err(panic) => Err(JoinError::Panic(panic)),
            };
            self.finish(stage, result);
        }
    }
}

impl<F: Future> JoinTarget<F::Output> for TaskCell<F> {
    fn header(&self) -> &TaskHeader {
        &self.header
    }

    fn take_output(&self) -> Option<Result<F::Output, JoinError>> {
        // A task awaiting its own handle finds the stage borrowed by its own poll. It can never
        // finish, so it simply waits forever (as it would on tokio).
        let mut stage = self.stage.try_borrow_mut().ok()?;
        match &*stage {
            Stage::Running(_) => None,
            Stage::Consumed => panic!("JoinHandle polled after it returned its result"),
            Stage::Finished(_) => match std::mem::replace(&mut *stage, Stage::Consumed) {
                Stage::Finished(result) => Some(result),
                _ => unreachable!("the stage was just seen to be Finished"),
            },
        }
    }

    fn is_finished(&self) -> bool {
        matches!(
            self.stage.try_borrow().as_deref(),
            Ok(Stage::Finished(_) | Stage::Consumed)
        )
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
    cell: Rc<dyn JoinTarget<T>>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new<F: Future<Output = T> + 'static>(cell: Rc<TaskCell<F>>) -> Self {
        JoinHandle { cell }
    }

    /// Asks for the task to be cancelled: the next time the executor would poll it, it drops the
    /// future instead, and the handle then reports [`JoinError::is_cancelled`]. A task that has
    /// already finished keeps its result.
    pub fn abort(&self) {
        let header = self.cell.header();
        if !self.cell.is_finished() {
            header.abort_requested.set(true);
            header.waker.wake_by_ref();
        }
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.cell.is_finished()
    }

    /// The task's counters and, while timing is on, its time split so far (the interval in
    /// progress included). See [`TaskMetrics`] for what each figure means.
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
    pub fn metrics(&self) -> TaskMetrics {
        runtime::task_metrics(self.cell.header(), self.cell.is_finished())
    }

    /// The task's id, as [`tasks`](crate::tasks) and the trace events give it.
    pub fn id(&self) -> u64 {
        self.cell.header().data.id.seq
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(result) = self.cell.take_output() {
            return Poll::Ready(result);
        }
        let mut slot = self.cell.header().join_waker.borrow_mut();
        if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *slot = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("task", &self.cell.header().data.id.seq)
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why a task did not produce its result.
pub enum JoinError {
    /// The task panicked; the payload is what `panic!` was given.
    Panic(Box<dyn Any + Send + 'static>),
    /// The task was aborted, or the runtime shut down before it finished.
    Cancelled,
    /// A [`spawn_blocking`](crate::spawn_blocking) closure never ran: the blocking pool had no
    /// thread and the system refused to start one (out of memory or of processes).
    ThreadUnavailable(std::io::Error),
}

impl JoinError {
    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panic(_))
    }

    /// Whether the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// The panic's payload, to rethrow with `std::panic::resume_unwind`.
    ///
    /// # Panics
    /// If the task did not panic.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self {
            JoinError::Panic(payload) => payload,
            JoinError::Cancelled => panic!("JoinError::into_panic on a cancelled task"),
            JoinError::ThreadUnavailable(e) => {
                panic!("JoinError::into_panic on a blocking task that never ran: {e}")
            }
        }
    }

    fn panic_message(&self) -> Option<&str> {
        match self {
            JoinError::Panic(payload) => payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str)),
            JoinError::Cancelled | JoinError::ThreadUnavailable(_) => None,
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self, self.panic_message()) {
            (JoinError::Cancelled, _) => f.write_str("task was cancelled"),
            (JoinError::Panic(_), Some(message)) => write!(f, "task panicked: {message}"),
            (JoinError::Panic(_), None) => f.write_str("task panicked"),
            (JoinError::ThreadUnavailable(e), _) => {
                write!(f, "the blocking task never ran: {e}")
            }
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("JoinError::Cancelled"),
            JoinError::Panic(_) => write!(f, "JoinError::Panic({:?})", self.panic_message()),
            JoinError::ThreadUnavailable(e) => write!(f, "JoinError::ThreadUnavailable({e:?})"),
        }
    }
}

impl std::error::Error for JoinError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JoinError::ThreadUnavailable(e) => Some(e),
            _ => None,
        }
    }
}
