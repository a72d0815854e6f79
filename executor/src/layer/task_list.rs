//! Naming tasks and listing them: [`Builder`], [`tasks`](crate::tasks), [`TaskInfo`],
//! [`TaskState`]. This is tokio-console's task list, available inside the program.

use std::future::Future;
use std::sync::Arc;

use std::time::{Duration, Instant};

use super::metrics::{Now, TaskMetrics, figures};
use crate::join_handle::JoinHandle;
use crate::runtime::{self, with_current};

/// Spawns a task with options; today, a name (tokio's `task::Builder` shape). The name appears in
/// [`tasks`](crate::tasks), in the trace events and in the warnings, where an unnamed task is
/// known only by its id.
///
/// ```
/// let names = executor::block_on(async {
///     let handle = executor::Builder::new()
///         .name("download file-1MiB.bin")
///         .spawn(async { 42 });
///     let names: Vec<_> = executor::tasks().into_iter().map(|t| t.name).collect();
///     assert_eq!(handle.await.unwrap(), 42);
///     names
/// });
/// assert_eq!(names[0].as_deref(), Some("download file-1MiB.bin"));
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder {
    name: Option<Arc<str>>,
    blocking: bool,
}

impl Builder {
    /// A builder with no options set: [`spawn`](Builder::spawn) then does what
    /// [`executor::spawn`](crate::spawn) does.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task.
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Spawns `future` as a task, as [`executor::spawn`](crate::spawn) does.
    ///
    /// # Panics
    /// If called outside `block_on`.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        let mut origin = super::Origin::new(self.name);
        origin.blocking = self.blocking;
        runtime::spawn_with(future, origin)
    }

    /// Marks the task as `spawn_blocking`'s: it waits on a blocking job.
    pub(crate) fn blocking(mut self) -> Builder {
        self.blocking = true;
        self
    }
}

/// A live task, as [`tasks`](crate::tasks) saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    /// The task's id: unique for the life of its runtime, never reused (the `task` field of the
    /// trace events, and [`JoinHandle::id`]).
    pub id: u64,
    /// The name given with [`Builder::name`], if any.
    pub name: Option<Arc<str>>,
    /// What it was doing at that moment.
    pub state: TaskState,
    /// Its counters and time split so far (see [`TaskMetrics`]).
    pub metrics: TaskMetrics,
}

/// What a task is doing (tokio-console's task states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Waiting for an event: it returned `Pending` and has not been woken since.
    Idle,
    /// Woken, and waiting in the run queue for the thread.
    Scheduled,
    /// Being polled right now (the task that called `tasks()`, or the one it runs inside).
    Running,
}

/// How long a call of [`tasks`] keeps task timing on: a reader that calls it again within that
/// time (the demo's task table does, several times a second) keeps it on.
const READER_KEEPS_TIMING: Duration = Duration::from_secs(1);

/// Every live task of the runtime on this thread, with its id, name, state and figures (the
/// future given to `block_on` is not a task and is not listed). A call turns task timing on for
/// the next second (see [`set_task_timing`](crate::set_task_timing)), so a reader that calls it
/// repeatedly sees the time split, and the first call's durations cover only what was timed
/// before it.
///
/// # Panics
/// If called outside `block_on`.
pub fn tasks() -> Vec<TaskInfo> {
    with_current("executor::tasks", |rt| {
        let watch = &rt.watch;
        watch
            .reader_until
            .set(Some(Instant::now() + READER_KEEPS_TIMING));
        super::on_turn(rt);
        let running = watch.running.get();
        let tasks = rt.tasks.borrow();
        tasks
            .iter()
            .map(|(_, (seq, task))| {
                let header = task.header();
                let state = if running == header.id.seq {
                    TaskState::Running
                } else if header.scheduled.is_set() {
                    TaskState::Scheduled
                } else {
                    TaskState::Idle
                };
                TaskInfo {
                    id: *seq,
                    name: task.watch().name().cloned(),
                    state,
                    metrics: figures(header, task.watch(), Now::of(rt, header)),
                }
            })
            .collect()
    })
}
