//! `block_on`, `spawn`, and the loop that runs tasks and sleeps in the reactor. Beside it:
//! `watch.rs` (timing, trace events and the task list around the loop's polls and wakes) and
//! `lost_waker.rs` (the check that no task waits with nobody left to wake it).
//!
//! ## The loop
//! ```text
//!   loop {
//!       move the ids other threads sent (the channel) to the back of the local queue
//!       poll up to POLLS_PER_TURN tasks from the local queue (the main future among them)
//!       if the main future finished: tear down, return its output
//!       nothing queued?  reactor::park(None)         sleep until I/O, a timer or a remote wake
//!       otherwise        reactor::park(Some(ZERO))   just collect I/O and timers, then carry on
//!   }
//! ```
//! Checking the reactor after a bounded number of polls, even when tasks are still ready, is what
//! keeps a task that yields in a loop from starving sockets and timers.
//!
//! ## Around each poll
//! `poll_task` does the bookkeeping: it clears the task's `SCHEDULED` bit, notes which task is
//! running (so a wake can tell `self` from `task`, and `tasks()` can say `Running`), times the
//! poll if timing is on (one clock read per poll: the read that ends a poll starts the next), and
//! afterwards warns if the poll was slow or returned `Pending` with no waker kept.
//!
//! ## Two queues
//! A wake on the executor's own thread (a socket event, a timer, a task waking another) pushes the
//! task id onto `local`, a plain `VecDeque`: no atomics, no locks. A wake from any other thread
//! sends the id through the crossbeam channel, and the loop moves those ids onto `local` once per
//! turn. tokio's `current_thread` scheduler has the same split (its "local" and "inject" queues).
//! The difference shows in `yield_many` (1,000 tasks × 100 `yield_now`, every wake on this
//! thread): `cargo run --release -p benches --bin compare -- --quick` gives today's figure,
//! beside tokio's.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::{Future, Pending};
use std::panic::{self, AssertUnwindSafe};
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use slab::Slab;

use crate::metrics::RuntimeMetrics;
use crate::state::Parking;
use crate::task::{JoinError, JoinHandle, Runnable, TaskCell, TaskHeader};
use crate::task_list::TaskInfo;
use crate::timing;
use crate::trace::{self, Lost};
use crate::waker::{Shared, TaskId, WakerData};

mod lost_waker;
mod watch;

pub(crate) use lost_waker::last_waker_dropped;
pub(crate) use watch::task_metrics;

/// How many tasks the loop polls before it checks the reactor without sleeping. tokio uses 61; the
/// exact number matters little as long as it is bounded.
const POLLS_PER_TURN: u32 = 61;

/// `Runtime::polling` when no task is being polled (sequence numbers never reach it).
const NOT_POLLING: u64 = u64::MAX;

/// The executor state of the thread currently inside `block_on`.
struct Runtime {
    /// What the wakers share: the queue's sending end, the `sleeping` flag, the unparker.
    shared: Arc<Shared>,
    /// Task ids woken on this thread, in the order they were woken: the run queue.
    local: RefCell<VecDeque<TaskId>>,
    /// Task ids woken on other threads; moved to `local` once per turn of the loop.
    remote: Receiver<TaskId>,
    /// Every task that has not finished. A task is removed as soon as it finishes; its result
    /// lives on in the `Rc` its `JoinHandle` holds.
    /// Each entry keeps its task's sequence number beside it, so checking a queued id against
    /// the slot needs no trip into the task's allocations.
    tasks: RefCell<Slab<(u64, Rc<dyn Runnable>)>>,
    /// The header of the future given to `block_on`: its waker, counters and times.
    main: TaskHeader,
    /// The sequence number of the next spawned task (see `TaskId`).
    next_seq: Cell<u64>,
    /// The sequence number of the task being polled (or cancelled, or dropped) right now, or
    /// `NOT_POLLING`: how a wake on this thread tells `self` from `task`, and how `tasks()` knows
    /// which one is `Running`.
    polling: Cell<u64>,
    /// Whether the clock is read this turn (`timing::wanted`), mirrored in `shared.timing`.
    timing: Cell<bool>,
    /// Whether the trace events are wanted this turn (`trace::enabled`).
    traced: Cell<bool>,
    /// `timing || traced`: the one flag the hot paths test (both are read once per turn).
    watched: Cell<bool>,
    /// Set by the first `tasks()` call: someone reads the figures, so timing stays on.
    reader_present: Cell<bool>,
    /// The clock read that ended the last poll, while nothing else has happened since: it also
    /// starts the next poll. 0 when stale.
    clock: Cell<u64>,
    /// `block_on` is returning or unwinding: wakers dropped now are not lost, they are cleaned up.
    closing: Cell<bool>,
    /// Counters kept on this thread: plain cells, no atomics.
    tasks_spawned: Cell<u64>,
    tasks_finished: Cell<u64>,
    polls: Cell<u64>,
    local_wakes: Cell<u64>,
    /// `shared.parking`'s send count as it was when the channel was last emptied.
    remote_seen: Cell<u64>,
    /// The reactor's counters when `block_on` started: the reactor already counts its turns and
    /// times its sleeps, so this runtime's share is the difference, not a second clock.
    reactor_at_start: reactor::ReactorMetrics,
    started: Instant,
}

thread_local! {
    /// The runtime of the `block_on` running on this thread, or null: how `spawn` finds the
    /// runtime, and how a waker tells whether it is being called on the executor's own thread.
    ///
    /// A raw pointer rather than an `Option<Rc<Runtime>>` because every wake on this thread reads
    /// it: a `Cell` of a pointer needs no destructor, so reading it is one load, with no check of
    /// whether the thread-local has been torn down and no `RefCell` borrow.
    static CURRENT: Cell<*const Runtime> = const { Cell::new(std::ptr::null()) };
}

/// Runs `f` with the current runtime, if this thread is inside `block_on`.
fn try_with_current<R>(f: impl FnOnce(&Runtime) -> R) -> Option<R> {
    let current = CURRENT.try_with(Cell::get).ok()?;
    // SAFETY: `block_on` stores a pointer to a runtime it keeps alive (in an `Rc`) until its
    // `Teardown` has reset CURRENT to null, and only this thread ever reads this thread-local. The
    // reference lives only during `f`, which cannot make `block_on` return.
    unsafe { current.as_ref() }.map(f)
}

/// Runs `f` with the runtime that `shared` belongs to, if it is running on this thread.
fn with_own_runtime<R>(shared: &Arc<Shared>, f: impl FnOnce(&Runtime) -> R) -> Option<R> {
    // Not `ptr_eq` false: a waker of another (earlier) runtime on this thread.
    try_with_current(|rt| Arc::ptr_eq(&rt.shared, shared).then(|| f(rt))).flatten()
}

/// Whether this thread is inside `block_on`.
pub(crate) fn in_block_on() -> bool {
    try_with_current(|_| ()).is_some()
}

fn with_current<R>(what: &str, f: impl FnOnce(&Runtime) -> R) -> R {
    try_with_current(f)
        .unwrap_or_else(|| panic!("{what} must be called from inside executor::block_on"))
}

/// A wake of `data`'s task, if made on its executor's thread: counts it, and when `queue` (this
/// wake set `SCHEDULED`) puts the task on the local run queue. `false` if the caller is on
/// another thread (or the runtime is gone) and must use the channel.
pub(crate) fn wake_local(data: &WakerData, queue: bool) -> bool {
    with_own_runtime(&data.shared, |rt| {
        let by_itself = rt.polling.get() == data.id.seq;
        if by_itself {
            data.count_self_wake();
        }
        if queue {
            rt.queue_woken(data, by_itself);
        }
    })
    .is_some()
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
pub fn block_on<F: Future>(future: F) -> F::Output {
    assert!(
        CURRENT.get().is_null(),
        "executor::block_on called inside block_on: a thread runs one executor at a time, and \
         blocking inside a task would stop every other task (use .await instead)"
    );
    let (sender, remote) = crossbeam_channel::unbounded();
    timing::init_from_env();
    let timing = timing::wanted(false);
    let shared = Arc::new(Shared {
        remote: sender,
        parking: Parking::default(),
        unparker: reactor::unparker(),
        lost_checks_sent: AtomicU64::new(0),
        epoch: Instant::now(),
        timing: AtomicBool::new(timing),
        next_wake_id: AtomicU64::new(0),
    });
    // The main future is queued from the start, as a spawned task is.
    let main_data = Arc::new(WakerData::new(TaskId::MAIN, shared.clone(), true));
    let rt = Rc::new(Runtime {
        main: TaskHeader::new(main_data, None, if timing { shared.now() } else { 0 }),
        shared,
        local: RefCell::new(VecDeque::from([TaskId::MAIN])),
        remote,
        tasks: RefCell::new(Slab::new()),
        next_seq: Cell::new(1),
        polling: Cell::new(NOT_POLLING),
        timing: Cell::new(timing),
        traced: Cell::new(false),
        watched: Cell::new(true),
        reader_present: Cell::new(false),
        clock: Cell::new(0),
        closing: Cell::new(false),
        tasks_spawned: Cell::new(0),
        tasks_finished: Cell::new(0),
        polls: Cell::new(0),
        local_wakes: Cell::new(0),
        remote_seen: Cell::new(0),
        reactor_at_start: reactor::metrics(),
        started: Instant::now(),
    });
    CURRENT.set(Rc::as_ptr(&rt));
    // Tears down on every way out, a panic in `future` included.
    let _teardown = Teardown(rt.clone());
    trace::spawn(&rt.main, 1);

    let mut future = pin!(future);
    // Declared after `future`, so dropped before it: the future's destructors run "closing".
    let _closing = Closing(&rt);
    let mut cx = Context::from_waker(&rt.main.waker);
    rt.refresh_watch();
    loop {
        rt.refresh_watch();
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
            let polled = rt.poll_task(&rt.main, || {
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
    /// Moves the ids other threads have sent onto the back of `local`, if there are any. The
    /// lost-waker checks among them go too, and are answered when the loop takes them off the
    /// queue (`run_task`): answered here, the warning would run a subscriber's code while `local`
    /// is borrowed, and a subscriber that wakes or spawns a task would find it so.
    fn take_remote_wakes(&self, local: &mut VecDeque<TaskId>) {
        if let Some(sent) = self.shared.parking.sent_since(self.remote_seen.get()) {
            self.remote_seen.set(sent);
            local.extend(self.remote.try_iter());
        }
    }

    /// Queues a task whose wake on this thread set its `SCHEDULED` bit; `by_itself`: during its
    /// own poll.
    fn queue_woken(&self, data: &WakerData, by_itself: bool) {
        let mut local = self.local.borrow_mut();
        // Tasks other threads woke earlier go first. The loop moves the channel's ids over only
        // once per turn, so without this a task woken from another thread waited behind up to a
        // whole batch of local wakes, and `yield_now` resumed its caller before tasks that were
        // already ready (tests/yield_now.rs).
        self.take_remote_wakes(&mut local);
        local.push_back(data.id);
        drop(local);
        self.local_wakes.set(self.local_wakes.get() + 1);
        if self.watched.get() {
            self.observe_wake(data, by_itself);
        }
    }

    /// Runs `f` as task `id`'s doing: wakes meanwhile are attributed to it. (Never nested:
    /// `block_on` cannot be, and nothing else calls it from inside a poll.)
    fn as_task<R>(&self, id: TaskId, f: impl FnOnce() -> R) -> R {
        self.polling.set(id.seq);
        let result = f();
        self.polling.set(NOT_POLLING);
        result
    }

    /// Polls the task of `header` once through `poll`, with the bookkeeping around it (module
    /// docs). The timing, the trace and the lost-waker warning live in functions of their own,
    /// out of line: this is the hot path, and inlined they cost a yield ~10% (counted with
    /// cachegrind), even while off.
    fn poll_task(&self, header: &TaskHeader, poll: impl FnOnce() -> Poll<()>) -> Poll<()> {
        let data = &header.data;
        let watched = self.watched.get();
        // Read before SCHEDULED is cleared: until then no waker writes it.
        let woken_by = if watched { self.poll_starts(header) } else { 0 };
        data.state.clear_scheduled();
        header.polls.set(header.polls.get() + 1);
        self.polls.set(self.polls.get() + 1);
        let result = self.as_task(data.id, poll);
        if watched {
            self.poll_ends(header, result.is_ready(), woken_by);
        }
        // Not queued again (as a yield is) and only the task's own waker left (a waiting task's
        // waker is stored somewhere): nothing can wake it. Both tests inline, so the usual poll
        // settles it in one or two loads.
        if result.is_pending() && !data.state.is_scheduled() && data.wakers.only_one() {
            self.warn_if_lost(header, Lost::AfterPoll);
        }
        result
    }

    /// Polls the task `id` once, if it still exists; removes it once it has finished.
    fn run_task(&self, id: TaskId) {
        // A pointer to the task, not a borrow of the slab: while it runs it may spawn (which
        // borrows the slab mutably). Not a clone of its `Rc` either: the count's increment and
        // decrement were ~13 instructions of a ~300-instruction yield (callgrind).
        let found = match self.tasks.borrow().get(id.index) {
            Some((seq, task)) if *seq == id.seq => Some(Rc::as_ptr(task)),
            _ => None,
        };
        let Some(task): Option<*const dyn Runnable> = found else {
            // A lost-waker check another thread sent (`take_remote_wakes`), answered now that no
            // borrow is held; otherwise a late wake for a task that has finished.
            if let Some(id) = id.as_lost_check() {
                self.check_lost(id);
            }
            return;
        };
        // SAFETY: the slab's `Rc` keeps the task alive until the removal below, after its last
        // use here. Nothing else removes a slab entry while `block_on`'s loop runs (only
        // `Teardown` does, once the loop has ended), and a spawn that grows the slab moves the
        // `Rc`, not the task it points to.
        let task = unsafe { &*task };
        let header = task.header();
        let finished = if header.abort_requested.get() {
            header.data.state.clear_scheduled();
            self.polls.set(self.polls.get() + 1);
            self.as_task(id, || task.cancel());
            true
        } else {
            self.poll_task(header, || task.poll()).is_ready()
        };
        if finished {
            self.clock.set(0); // Dropping the task takes time that belongs to no poll.
            // `task` is not used from here on: the slab's `Rc` may be the last.
            let (_, removed) = self.tasks.borrow_mut().remove(id.index);
            self.tasks_finished.set(self.tasks_finished.get() + 1);
            // If the `JoinHandle` is gone, this last `Rc` drops the task's output, whose
            // destructor may panic; with nobody left to report it to, the panic is caught here
            // rather than allowed to unwind through `block_on` (tokio does the same).
            let drop_task = || panic::catch_unwind(AssertUnwindSafe(|| drop(removed)));
            let dropped = self.as_task(id, drop_task);
            if dropped.is_err() {
                tracing::warn!(target: "glass::executor", task = id.seq, "a detached task's output panicked when dropped");
            }
        }
    }

    fn spawn<F>(&self, future: F, name: Option<Arc<str>>) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        let mut tasks = self.tasks.borrow_mut();
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        let id = TaskId {
            index: tasks.vacant_key(),
            seq,
        };
        // A new task is runnable at once: it starts out queued, counted as its first wake.
        let data = Arc::new(WakerData::new(id, self.shared.clone(), true));
        let spawned_at = if self.timing.get() {
            self.shared.now()
        } else {
            0
        };
        let cell = Rc::new(TaskCell::new(
            future,
            TaskHeader::new(data, name, spawned_at),
        ));
        tasks.insert((seq, cell.clone()));
        drop(tasks);
        // Queued directly rather than through the waker: we are on the executor's thread, so
        // `wake_local`'s checks would all come out the same way (measured on chained_spawn).
        let queued = {
            let mut local = self.local.borrow_mut();
            local.push_back(id);
            local.len()
        };
        self.local_wakes.set(self.local_wakes.get() + 1);
        self.tasks_spawned.set(self.tasks_spawned.get() + 1);
        if self.traced.get() {
            trace::spawn(Runnable::header(&*cell), queued);
        }
        JoinHandle::new(cell)
    }

    /// A `JoinHandle` that reports `error` at once, for a task that could not start: it gets an
    /// id, but never enters the slab or the queue.
    fn spawn_failed<T: 'static>(&self, error: JoinError) -> JoinHandle<T> {
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        let id = TaskId { index: 0, seq };
        let data = Arc::new(WakerData::new(id, self.shared.clone(), false));
        let header = TaskHeader::new(data, None, 0);
        JoinHandle::new(Rc::new(TaskCell::<Pending<T>>::failed(header, error)))
    }

    /// Lets the reactor wait for I/O and timers: as long as it likes if no task is ready, not at
    /// all (just collect what is due) otherwise.
    fn park(&self) {
        self.clock.set(0);
        let mut max_wait = Some(Duration::ZERO);
        if self.local.borrow().is_empty() && self.remote.is_empty() {
            // Announce the sleep, then look at the queue once more. A remote waker does the
            // mirror image (queue, then look at the flag): see `crate::state::Parking`.
            self.shared.parking.announce_sleep();
            if self.remote.is_empty() {
                max_wait = None;
            }
        }
        if let Err(e) = reactor::park(max_wait) {
            // epoll_wait fails only for programming errors (a bad fd or buffer); retrying would spin.
            panic!("executor: the reactor failed to wait for events: {e}");
        }
        self.shared.parking.awake();
    }

    fn metrics(&self) -> RuntimeMetrics {
        let elapsed = self.started.elapsed();
        let reactor = reactor::metrics();
        let time_parked = reactor.time_asleep - self.reactor_at_start.time_asleep;
        let lost_checks = self.shared.lost_checks_sent.load(Ordering::Relaxed);
        RuntimeMetrics {
            tasks_spawned: self.tasks_spawned.get(),
            tasks_finished: self.tasks_finished.get(),
            polls: self.polls.get(),
            local_wakes: self.local_wakes.get(),
            remote_wakes: self.shared.parking.sent().saturating_sub(lost_checks),
            parks: reactor.epoll_waits - self.reactor_at_start.epoll_waits,
            time_parked,
            time_running: elapsed.saturating_sub(time_parked),
        }
    }
}

/// Marks the runtime as closing before the main future is dropped (see `Runtime::closing`); its
/// destructors' wakes are attributed to it.
struct Closing<'a>(&'a Runtime);

impl Drop for Closing<'_> {
    fn drop(&mut self) {
        self.0.closing.set(true);
        self.0.polling.set(TaskId::MAIN.seq);
    }
}

/// Drops every unfinished task, then leaves the thread with no current runtime.
struct Teardown(Rc<Runtime>);

impl Drop for Teardown {
    fn drop(&mut self) {
        // CURRENT must be reset on every way out of here, unwinding included: the runtime it points
        // to is freed once `block_on` has gone, and a dangling CURRENT would be read by the next
        // `spawn` or wake on this thread.
        struct ResetCurrent;
        impl Drop for ResetCurrent {
            fn drop(&mut self) {
                CURRENT.set(std::ptr::null());
            }
        }
        let _reset = ResetCurrent;
        let rt = &*self.0;
        rt.closing.set(true);

        // A destructor may spawn; keep draining until the slab stays empty. Each task is taken out
        // of the slab before it is cancelled, so no borrow is held while destructors run. Anything
        // that panics here (a destructor's panic payload that panics when dropped, a foreign waker)
        // has nobody to report to: it is caught so that the other tasks are still dropped.
        loop {
            let tasks = std::mem::take(&mut *rt.tasks.borrow_mut());
            if tasks.is_empty() {
                break;
            }
            for (_, (_, task)) in tasks {
                let id = task.header().data.id;
                let _ = rt.as_task(id, || {
                    panic::catch_unwind(AssertUnwindSafe(move || {
                        task.cancel();
                        drop(task);
                    }))
                });
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
/// use std::cell::RefCell;
/// use std::rc::Rc;
///
/// // Three tasks share an `Rc<RefCell<_>>`: no `Send` needed. They run in the order spawned.
/// let log = Rc::new(RefCell::new(Vec::new()));
/// executor::block_on(async {
///     let handles: Vec<_> = (1..=3)
///         .map(|n| {
///             let log = log.clone();
///             executor::spawn(async move { log.borrow_mut().push(n) })
///         })
///         .collect();
///     for handle in handles {
///         handle.await.unwrap();
///     }
/// });
/// assert_eq!(*log.borrow(), [1, 2, 3]);
/// ```
///
/// # Panics
/// If called outside `block_on`.
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    spawn_named(future, None)
}

/// [`spawn`], with the name given to [`Builder::name`](crate::Builder::name).
pub(crate) fn spawn_named<F>(future: F, name: Option<Arc<str>>) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    with_current("executor::spawn", |rt| rt.spawn(future, name))
}

/// A finished `JoinHandle` that reports `error` (see `Runtime::spawn_failed`).
pub(crate) fn spawn_failed<T: 'static>(error: JoinError) -> JoinHandle<T> {
    with_current("executor::spawn", |rt| rt.spawn_failed(error))
}

/// The runtime's counters so far.
///
/// # Panics
/// If called outside `block_on`.
pub fn metrics() -> RuntimeMetrics {
    with_current("executor::metrics", |rt| rt.metrics())
}

/// Every live task of the runtime on this thread, with its id, name, state and figures (the
/// future given to `block_on` is not a task and is not listed). Calling it turns task timing on
/// for the rest of the run (see [`set_task_timing`](crate::set_task_timing)), so the first call's
/// durations cover only what was timed before it.
///
/// # Panics
/// If called outside `block_on`.
pub fn tasks() -> Vec<TaskInfo> {
    with_current("executor::tasks", |rt| rt.tasks())
}
