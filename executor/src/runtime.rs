//! `block_on`, `spawn`, and the loop that runs tasks and sleeps in the reactor.
//!
//! ```text
//!   loop {
//!       move the ids other threads sent (the channel) to the back of the local queue
//!       poll up to POLLS_PER_TURN tasks from the local queue (the main future among them)
//!       if the main future finished: tear down, return its output
//!       nothing queued?  reactor::park(None)         sleep until I/O, a timer or a remote wake
//!       otherwise        reactor::park(Some(ZERO))   just collect I/O and timers, then carry on
//!   }
//! ```
//! Checking the reactor after a bounded number of polls, even when tasks are still ready, keeps
//! a task that yields in a loop from starving sockets and timers.
//!
//! A wake on the executor's own thread pushes the task's id onto `local`, a plain `VecDeque`; a
//! wake from any other thread sends it through the channel, which the loop empties once per turn
//! (tokio's `current_thread` scheduler has the same "local" and "inject" queues).
//!
//! The `layer::` calls are where the instrumentation layer (`crate::layer`) watches: counters,
//! timing, trace events, warnings. Each is one call; none changes what the loop does.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::{Future, Pending};
use std::panic::{self, AssertUnwindSafe};
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crossbeam_channel::Receiver;
use slab::Slab;

use crate::join_error::JoinError;
use crate::join_handle::JoinHandle;
use crate::layer::{self, Origin};
use crate::state::{Parking, Scheduled};
use crate::task::{Runnable, Stage, Task};
use crate::waker::{Header, Refs, Shared, TaskId};

/// How many tasks the loop polls before it checks the reactor without sleeping. tokio uses 61; the
/// exact number matters little as long as it is bounded.
const POLLS_PER_TURN: u32 = 61;

/// The executor state of the thread currently inside `block_on`.
pub(crate) struct Runtime {
    /// What the wakers share: the channel's sending end, the `sleeping` flag, the unparker.
    pub(crate) shared: Arc<Shared>,
    /// Task ids woken on this thread, in the order they were woken: the run queue.
    pub(crate) local: RefCell<VecDeque<TaskId>>,
    /// Task ids woken on other threads; moved to `local` once per turn of the loop.
    remote: Receiver<TaskId>,
    /// `shared.parking`'s send count when the channel was last emptied.
    remote_seen: Cell<u64>,
    /// Every task that has not finished, beside its sequence number (checked without a trip
    /// into the task's memory).
    pub(crate) tasks: RefCell<Slab<(u64, Arc<dyn Runnable>)>>,
    /// The future given to `block_on` is polled in place; this is its header and waker.
    pub(crate) main: Arc<Task<Pending<()>>>,
    /// The sequence number of the next spawned task.
    next_seq: Cell<u64>,
    /// The instrumentation layer's part.
    pub(crate) watch: layer::Watch,
}

thread_local! {
    /// The runtime of the `block_on` running on this thread, or null: how `spawn` finds it, and
    /// how a waker tells whether it runs on the executor's thread. A raw pointer: reading it is
    /// one load, with no destructor check and no `RefCell` borrow.
    static CURRENT: Cell<*const Runtime> = const { Cell::new(std::ptr::null()) };
}

/// Runs `f` with the current runtime, if this thread is inside `block_on`.
#[inline]
pub(crate) fn try_with_current<R>(f: impl FnOnce(&Runtime) -> R) -> Option<R> {
    let current = CURRENT.try_with(Cell::get).ok()?;
    // SAFETY: `block_on` stores a pointer to a runtime it keeps alive (in an `Rc`) until its
    // `Teardown` has reset CURRENT to null, and only this thread reads this thread-local. The
    // reference lives only during `f`, which cannot make `block_on` return.
    unsafe { current.as_ref() }.map(f)
}

pub(crate) fn with_current<R>(what: &str, f: impl FnOnce(&Runtime) -> R) -> R {
    try_with_current(f)
        .unwrap_or_else(|| panic!("{what} must be called from inside executor::block_on"))
}

/// A wake of `header`'s task, if made on its own executor's thread: queues it there when `queue`
/// (this wake set its flag). `false`: another thread (or the runtime is gone): use the channel.
#[inline]
pub(crate) fn wake_here(header: &Header, queue: bool) -> bool {
    try_with_current(|rt| {
        if !Arc::ptr_eq(&rt.shared, &header.shared) {
            return false; // A waker of an earlier runtime on this thread.
        }
        if queue {
            let mut local = rt.local.borrow_mut();
            // Tasks other threads woke earlier go first (tests/yield_now.rs).
            rt.take_remote_wakes(&mut local);
            local.push_back(header.id);
        }
        layer::woken(rt, header, queue);
        true
    })
    .unwrap_or(false)
}

/// Runs `future` to completion on this thread, together with every task it spawns, and returns its
/// output. While no task can run, the thread sleeps in the reactor (`epoll_wait`).
///
/// When `future` completes, tasks that are still pending are dropped (their destructors run, and
/// their `JoinHandle`s report them cancelled). Wakers that outlive the runtime stay valid: waking
/// one does nothing.
///
/// A panic in `future` itself propagates to the caller (after the same clean-up).
///
/// ```
/// let answer = executor::block_on(async {
///     let handle = executor::spawn(async { 6 * 7 });
///     handle.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
///
/// # Panics
/// If called from inside `block_on` on the same thread: a thread has one executor, and blocking it
/// from one of its own tasks would stop all the others.
#[track_caller]
pub fn block_on<F: Future>(future: F) -> F::Output {
    assert!(
        CURRENT.get().is_null(),
        "executor::block_on called inside block_on: a thread runs one executor at a time, and \
         blocking inside a task would stop every other task (use .await instead)"
    );
    let (sender, remote) = crossbeam_channel::unbounded();
    let watch = layer::Watch::new();
    let shared = Arc::new(Shared {
        remote: sender,
        parking: Parking::default(),
        unparker: reactor::unparker(),
        watch: layer::SharedWatch::new(),
    });
    let main = Header {
        id: TaskId::MAIN,
        scheduled: Scheduled::new(true),
        shared: shared.clone(),
        refs: &Task::<Pending<()>>::REFS,
        watch: watch.wake_watch(),
    };
    let rt = Rc::new(Runtime {
        main: Task::new(main, watch.task_watch(Origin::new(None)), Stage::Consumed),
        shared,
        local: RefCell::new(VecDeque::from([TaskId::MAIN])),
        remote,
        remote_seen: Cell::new(0),
        tasks: RefCell::new(Slab::new()),
        next_seq: Cell::new(1),
        watch,
    });
    CURRENT.set(Rc::as_ptr(&rt));
    // Tears down on every way out, a panic in `future` included.
    let _teardown = Teardown(rt.clone());
    layer::on_start(&rt);

    let mut future = pin!(future);
    // Declared after `future`, so dropped before it: its destructors run "closing".
    let _closing = Closing(&rt);
    let waker = rt.main.waker_ref();
    let mut cx = Context::from_waker(&waker);
    loop {
        layer::on_turn(&rt);
        rt.take_remote_wakes(&mut rt.local.borrow_mut());
        for _ in 0..POLLS_PER_TURN {
            // The borrow ends with this statement: the poll below may push onto `local`.
            let Some(id) = rt.local.borrow_mut().pop_front() else {
                break;
            };
            if id != TaskId::MAIN {
                rt.run_task(id);
                continue;
            }
            let mut output = None;
            let main = &*rt.main;
            let polled = rt.poll_task(main, || {
                future.as_mut().poll(&mut cx).map(|v| output = Some(v))
            });
            if let (Poll::Ready(()), Some(output)) = (polled, output) {
                return output;
            }
        }
        rt.park();
    }
}

impl Runtime {
    /// Moves the ids other threads have sent onto the back of `local`, if there are any.
    fn take_remote_wakes(&self, local: &mut VecDeque<TaskId>) {
        if let Some(sent) = self.shared.parking.sent_since(self.remote_seen.get()) {
            self.remote_seen.set(sent);
            local.extend(self.remote.try_iter());
        }
    }

    /// Polls `task` once through `poll`: clears its flag first, so that a wake during the poll
    /// queues it again.
    fn poll_task(&self, task: &dyn Runnable, poll: impl FnOnce() -> Poll<()>) -> Poll<()> {
        let start = layer::before_poll(self, task);
        task.header().scheduled.clear();
        let result = poll();
        layer::after_poll(self, task, start, result.is_ready());
        result
    }

    /// Polls the task `id` once, if it still exists (or drops it, if it was aborted); removes it
    /// once it has finished.
    fn run_task(&self, id: TaskId) {
        // A pointer, not a borrow of the slab (the poll may spawn, which borrows it mutably) nor
        // a clone of the `Arc` (two atomic operations per poll, for nothing).
        let task = match self.tasks.borrow().get(id.index) {
            Some((seq, task)) if *seq == id.seq => Arc::as_ptr(task),
            _ => return, // A late wake for a task that has finished.
        };
        // SAFETY: the slab's `Arc` keeps the task alive until the removal below, after its last
        // use through this reference. Only `Teardown` removes entries otherwise, once the loop has
        // ended; a spawn that grows the slab moves the `Arc`, not the task.
        let task = unsafe { &*task };
        if task.abort_requested() {
            task.header().scheduled.clear();
            self.cancel(task);
        } else if self.poll_task(task, || task.poll()).is_pending() {
            return;
        }
        let (_, task) = self.tasks.borrow_mut().remove(id.index);
        layer::on_finish(self, &*task);
        // With its `JoinHandle` gone, the output is dropped now; its destructor is anyone's code,
        // and with nobody to report a panic to, the panic is caught here (as tokio does).
        if panic::catch_unwind(AssertUnwindSafe(|| task.drop_output_if_detached())).is_err() {
            layer::on_output_panic(self, &*task);
        }
    }

    /// Drops an unfinished task's future (an abort, or `block_on` returning).
    fn cancel(&self, task: &dyn Runnable) {
        layer::before_cancel(self, task);
        task.cancel();
        layer::after_cancel(self, task);
    }

    fn spawn<F: Future + 'static>(&self, future: F, origin: Origin) -> JoinHandle<F::Output> {
        let header = self.new_header(&Task::<F>::REFS);
        let watch = self.watch.task_watch(origin);
        let task = Task::new(header, watch, Stage::Running(future));
        let mut tasks = self.tasks.borrow_mut();
        let seq = task.header.id.seq;
        debug_assert_eq!(task.header.id.index, tasks.vacant_key());
        tasks.insert((seq, task.clone()));
        drop(tasks);
        // A new task is runnable at once: queued directly, as a wake would.
        self.local.borrow_mut().push_back(task.header.id);
        layer::on_spawn(self, &*task);
        JoinHandle::new(task)
    }

    /// The header of the next task, which starts out queued.
    fn new_header(&self, refs: &'static Refs) -> Header {
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        let index = self.tasks.borrow().vacant_key();
        Header {
            id: TaskId { index, seq },
            scheduled: Scheduled::new(true),
            shared: self.shared.clone(),
            refs,
            watch: self.watch.wake_watch(),
        }
    }

    /// A `JoinHandle` that reports `error` at once, for a task that could not start: it gets an
    /// id, but never enters the slab or the queue.
    fn spawn_failed<T: 'static>(&self, error: JoinError) -> JoinHandle<T> {
        let header = self.new_header(&Task::<Pending<T>>::REFS);
        let watch = self.watch.task_watch(Origin::new(None));
        JoinHandle::new(Task::<Pending<T>>::failed(header, watch, error))
    }

    /// Lets the reactor wait for I/O and timers: as long as it likes if no task is ready, not at
    /// all (just collect what is due) otherwise.
    fn park(&self) {
        let mut max_wait = Some(Duration::ZERO);
        if self.local.borrow().is_empty() && self.remote.is_empty() {
            // Announce the sleep, then look at the channel once more (`crate::state`).
            self.shared.parking.announce_sleep();
            if self.remote.is_empty() {
                max_wait = None;
            }
        }
        let max_wait = layer::before_park(self, max_wait);
        if let Err(e) = reactor::park(max_wait) {
            // epoll_wait fails only for programming errors (a bad fd or buffer); retrying would spin.
            panic!("executor: the reactor failed to wait for events: {e}");
        }
        self.shared.parking.awake();
        layer::after_park(self);
    }
}

/// Tells the layer `block_on` is returning before the main future is dropped.
struct Closing<'a>(&'a Runtime);

impl Drop for Closing<'_> {
    fn drop(&mut self) {
        layer::on_close(self.0);
    }
}

/// Drops every unfinished task, then leaves the thread with no current runtime.
struct Teardown(Rc<Runtime>);

impl Drop for Teardown {
    fn drop(&mut self) {
        // CURRENT must be reset on every way out, unwinding included: a dangling CURRENT would be
        // read by the next `spawn` or wake on this thread.
        struct ResetCurrent;
        impl Drop for ResetCurrent {
            fn drop(&mut self) {
                CURRENT.set(std::ptr::null());
            }
        }
        let _reset = ResetCurrent;
        let rt = &*self.0;
        layer::on_close(rt);
        // A destructor may spawn: drain until the slab stays empty. Each task leaves the slab
        // before it is cancelled, so no borrow is held while destructors run; a panic here has
        // nobody to report to and is caught, so that the other tasks are still dropped.
        loop {
            let tasks = std::mem::take(&mut *rt.tasks.borrow_mut());
            if tasks.is_empty() {
                break;
            }
            for (_, (_, task)) in tasks {
                let _ = panic::catch_unwind(AssertUnwindSafe(|| {
                    rt.cancel(&*task);
                    task.drop_output_if_detached();
                }));
            }
        }
    }
}

/// Spawns `future` as a new task on the current thread's executor and returns a handle to await
/// its output. The task starts running the next time the executor picks a task, and keeps running
/// even if the handle is dropped. [`Builder`](crate::Builder) does the same for a named task.
///
/// No `Send` bound: a task never leaves the thread it was spawned on, so it may hold `Rc`s and
/// `RefCell`s across `.await`s.
///
/// ```
/// use std::rc::Rc;
///
/// // An `Rc` moves into the task: no `Send` needed.
/// let shared = Rc::new(6);
/// let answer = executor::block_on(async move { executor::spawn(async move { *shared * 7 }).await });
/// assert_eq!(answer.unwrap(), 42);
/// ```
///
/// # Panics
/// If called outside `block_on`.
#[track_caller]
pub fn spawn<F: Future + 'static>(future: F) -> JoinHandle<F::Output> {
    spawn_with(future, Origin::new(None))
}

/// [`spawn`], with what [`Builder`](crate::Builder) says of the task.
pub(crate) fn spawn_with<F>(future: F, origin: Origin) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    with_current("executor::spawn", |rt| rt.spawn(future, origin))
}

/// A finished `JoinHandle` that reports `error` (see `Runtime::spawn_failed`).
pub(crate) fn spawn_failed<T: 'static>(error: JoinError) -> JoinHandle<T> {
    with_current("executor::spawn", |rt| rt.spawn_failed(error))
}

/// Whether this thread is inside `block_on`.
pub(crate) fn in_block_on() -> bool {
    try_with_current(|_| ()).is_some()
}
