//! [`JoinHandle`]: awaiting a spawned task's result (`task.rs` has the task itself).

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::join_error::JoinError;
use crate::layer::{self, TaskWatch};
use crate::task::{Stage, Task};
use crate::waker::Header;

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
        // Looked at before anything moves: a running future can be kilobytes, and a handle is
        // polled each time its owner wakes.
        match &*stage {
            Stage::Finished(_) => {}
            Stage::Consumed => panic!("JoinHandle polled after it returned its result"),
            Stage::Running(_) => return None,
        }
        match std::mem::replace(&mut *stage, Stage::Consumed) {
            Stage::Finished(result) => Some(result),
            _ => unreachable!("the stage was just seen finished"),
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
