//! The instrumentation layer: everything the executor tells a reader, kept beside the core.
//!
//! The core (`runtime.rs`, `task.rs`, `waker.rs`) runs tasks; at each point worth watching it makes
//! one call into this module, and each of its structs has one field for it:
//!
//! | core struct | its field | what the layer keeps there |
//! |---|---|---|
//! | `Runtime` | [`Watch`] | counters, switches, the clock read that ends one poll and starts the next, which task runs |
//! | `Shared` | [`SharedWatch`] | the clock, the timing switch for other threads, lost-waker checks sent from other threads |
//! | `Header` | [`WakeWatch`] | wake counters, when the task was woken, the wake's trace id, the count of its wakers |
//! | `Task` | [`TaskWatch`] | polls, the name, the time split, the last lost-waker warning |
//!
//! The hooks, in the order a task meets them (each `#[inline]`: the always-on counters are a few
//! cell updates; whatever needs a clock, a trace event or a warning is behind one flag, `on`; the
//! timed poll's clock read and sums stay inline, trace events and warnings are out of line):
//!
//! | hook | called by the core | the layer |
//! |---|---|---|
//! | [`on_start`], [`on_turn`], [`on_close`] | `block_on` starts, each turn of its loop, it returns | reads the switches; answers lost-waker checks sent from other threads |
//! | [`Watch::wake_watch`], [`Watch::task_watch`], [`vtable`] | a task is made; its waker is built | a counted waker while the lost-waker check is on |
//! | [`on_spawn`] | a task was spawned | `spawn` and its `wake` event |
//! | [`woken`], [`woken_elsewhere`] | a wake on the executor's thread, on any other | counts, times, traces it |
//! | [`before_poll`], [`after_poll`] | around each poll | times it (one clock read per poll), `poll` event, slow-poll and lost-waker warnings |
//! | [`before_cancel`], [`after_cancel`] | around dropping an unfinished task's future | wakes meanwhile are the task's |
//! | [`on_finish`], [`on_output_panic`] | a task left the slab; its detached output panicked when dropped | counts; warns |
//! | [`before_park`], [`after_park`] | around `reactor::park` | the clock read is stale after a sleep |
//!
//! The consumers: [`crate::metrics`], [`crate::tasks`], [`crate::JoinHandle::metrics`], and the
//! `tracing` events of `trace.rs`.

use std::cell::Cell;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::runtime::Runtime;
use crate::task::Runnable;
use crate::waker::{Header, TaskId};

mod cancel;
mod clock;
#[cfg(loom)]
#[doc(hidden)]
pub mod clones;
#[cfg(not(loom))]
mod clones;
pub(crate) mod dump;
mod lost_waker;
pub(crate) mod metrics;
mod poll;
mod stall;
pub(crate) mod task_list;
pub(crate) mod timing;
mod trace;

use clock::Clock;
use clones::Clones;
pub(crate) use lost_waker::vtable;
pub(crate) use metrics::task_metrics;
pub(crate) use poll::{after_poll, before_poll};
use timing::TaskTimes;

/// `Watch::running` while no task is being polled (sequence numbers never reach it).
const NOT_RUNNING: u64 = u64::MAX;

/// The layer's part of a runtime (`Runtime::watch`). Only the executor's thread touches it.
pub(crate) struct Watch {
    /// Counters, always kept: plain cells on one thread.
    spawned: Cell<u64>,
    finished: Cell<u64>,
    polls: Cell<u64>,
    local_wakes: Cell<u64>,
    /// The reactor's counters when `block_on` started (it counts its turns and sleeps itself).
    reactor_at_start: reactor::ReactorMetrics,
    started: Instant,
    /// The sequence number of the task being polled (or cancelled), or `NOT_RUNNING`: how a wake
    /// tells `self` from `task`, and `tasks()` knows which one is `Running`.
    running: Cell<u64>,
    /// `block_on` is returning: wakers dropped now are cleaned up, not lost.
    closing: Cell<bool>,
    /// The switches, read once per turn. `on`: any of the others, the one flag the hooks test.
    on: Cell<bool>,
    timing: Cell<bool>,
    /// A subscriber listens to the warnings: polls are timed for the slow-poll warning, and new
    /// tasks get counted wakers for the lost-waker warning.
    slow: Cell<bool>,
    traced: Cell<bool>,
    /// Until when `tasks()`'s reader keeps timing on.
    reader_until: Cell<Option<Instant>>,
    /// The clock read that ended the last poll, while nothing else happened since: it also starts
    /// the next. 0 when stale.
    clock: Cell<u64>,
    /// When the poll in progress started (0: not timed).
    poll_start: Cell<u64>,
    /// The slow-poll threshold in the clock's ticks, and in nanoseconds (to see it change).
    slow_ticks: Cell<u64>,
    slow_nanos: Cell<u64>,
    /// When the loop last came back from the reactor: the clock of the states' durations in
    /// `dump()`, read once a turn, not once a poll (after a sleep, the reactor's own reading:
    /// `reactor::woke_at`). A task has been scheduled or running since then at most.
    awake_since: Cell<Instant>,
    /// The stall check's state (`stall.rs`).
    stall: stall::StallWatch,
}

/// The layer's part of what all wakers share (`Shared::watch`): thread-safe.
pub(crate) struct SharedWatch {
    /// Made the first time timing is wanted (calibrating the TSC takes a moment).
    clock: OnceLock<Clock>,
    /// Whether wakes on other threads note their time.
    timing: AtomicBool,
    /// The next `wake_id` of a traced wake.
    next_wake_id: AtomicU64,
    /// Lost-waker checks from other threads, answered by the executor's next turn.
    lost: Mutex<Vec<TaskId>>,
    lost_pending: AtomicBool,
}

/// The layer's part of a task's header (`Header::watch`): what wakes on any thread update.
pub(crate) struct WakeWatch {
    /// Wakes made on the executor's thread, and of those, during the task's own poll. Only that
    /// thread writes them: a load and a store, no locked instruction.
    local_wakes: AtomicU64,
    self_wakes: AtomicU64,
    /// Wakes from other threads.
    remote_wakes: AtomicU64,
    /// When the wake that queued the task was made (ns on the runtime's clock); 0: during its own
    /// poll, or untimed. Written by the wake that queued the task, read by the poll it causes.
    woken_at: AtomicU64,
    /// The `wake_id` of the wake that queued the task (0: untraced).
    wake_id: AtomicU64,
    /// Whether this task's wakers are counted (the lost-waker check was on at its spawn), and
    /// the count of its stored clones.
    counted: bool,
    clones: Clones,
}

/// The layer's part of a task (`Task::watch`). Only the executor's thread touches it.
pub(crate) struct TaskWatch {
    polls: Cell<u64>,
    name: Option<std::sync::Arc<str>>,
    /// Where it was spawned, and whether it is `spawn_blocking`'s.
    site: &'static Location<'static>,
    blocking: bool,
    /// The `Watch::awake_since` of its last poll (or its spawn): since when it is idle, at most.
    since: Cell<Instant>,
    times: TaskTimes,
    /// The value of `polls` when a lost-waker warning was last given (`u64::MAX`: never).
    lost_warned: Cell<u64>,
}

fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

fn add(cell: &Cell<u64>) {
    cell.set(cell.get() + 1);
}

impl Watch {
    pub(crate) fn new() -> Watch {
        timing::init_from_env();
        let watch = Watch {
            spawned: Cell::new(0),
            finished: Cell::new(0),
            polls: Cell::new(0),
            local_wakes: Cell::new(0),
            reactor_at_start: reactor::metrics(),
            started: Instant::now(),
            running: Cell::new(NOT_RUNNING),
            closing: Cell::new(false),
            on: Cell::new(false),
            timing: Cell::new(false),
            slow: Cell::new(false),
            traced: Cell::new(false),
            reader_until: Cell::new(None),
            clock: Cell::new(0),
            poll_start: Cell::new(0),
            slow_ticks: Cell::new(u64::MAX),
            slow_nanos: Cell::new(0),
            awake_since: Cell::new(Instant::now()),
            stall: stall::StallWatch::default(),
        };
        watch.read_switches();
        // The timing switches as they were before the runtime looked: `on_start`'s first turn
        // then sees them change and makes the clock if it is needed.
        watch.timing.set(false);
        watch.slow.set(false);
        watch
    }

    /// Reads the switches (once per turn); `true` if timing or the slow-poll check changed.
    fn read_switches(&self) -> bool {
        let warnings = tracing::enabled!(target: trace::TARGET, tracing::Level::WARN);
        let reader = self.reader_until.get().is_some_and(|until| {
            let keeps = Instant::now() < until;
            if !keeps {
                self.reader_until.set(None);
            }
            keeps
        });
        let timing = timing::task_timing() || reader;
        let timed = timing || warnings;
        if !timed && !self.on.get() {
            return false; // Nothing watches, nor did: nothing to store.
        }
        let changed = timing != self.timing.get()
            || warnings != self.slow.get()
            || (timed && timing::slow_poll_nanos() != self.slow_nanos.get());
        // A subscriber that takes TRACE events takes WARN ones: with no subscriber listening, one
        // look at the callsites per turn.
        let traced = warnings && trace::enabled();
        self.timing.set(timing);
        self.slow.set(warnings);
        self.traced.set(traced);
        self.on.set(timing | warnings | traced);
        changed
    }

    /// A new task header's part.
    pub(crate) fn wake_watch(&self) -> WakeWatch {
        WakeWatch {
            local_wakes: AtomicU64::new(0),
            self_wakes: AtomicU64::new(0),
            remote_wakes: AtomicU64::new(0),
            woken_at: AtomicU64::new(0),
            wake_id: AtomicU64::new(0),
            counted: self.slow.get(),
            clones: Clones::default(),
        }
    }

    /// A new task's part.
    pub(crate) fn task_watch(&self, origin: Origin) -> TaskWatch {
        TaskWatch {
            polls: Cell::new(0),
            name: origin.name,
            site: origin.site,
            blocking: origin.blocking,
            since: Cell::new(self.awake_since.get()),
            times: TaskTimes::default(),
            lost_warned: Cell::new(u64::MAX),
        }
    }

    /// The time now, or the clock read still at hand.
    fn now(&self, shared: &SharedWatch) -> u64 {
        match self.clock.get() {
            0 => {
                let now = shared.now();
                self.clock.set(now);
                now
            }
            at_hand => at_hand,
        }
    }
}

impl SharedWatch {
    pub(crate) fn new() -> SharedWatch {
        SharedWatch {
            clock: OnceLock::new(),
            timing: AtomicBool::new(false),
            next_wake_id: AtomicU64::new(0),
            lost: Mutex::new(Vec::new()),
            lost_pending: AtomicBool::new(false),
        }
    }

    /// The time in ticks of this runtime's clock, never 0; 0 if timing never came on.
    #[inline]
    fn now(&self) -> u64 {
        self.clock.get().map_or(0, Clock::now)
    }
}

/// What the spawner says about a new task: its name, where it was spawned, whether it is
/// `spawn_blocking`'s.
pub(crate) struct Origin {
    pub(crate) name: Option<std::sync::Arc<str>>,
    pub(crate) site: &'static Location<'static>,
    pub(crate) blocking: bool,
}

impl Origin {
    /// A task spawned by the caller's caller (`#[track_caller]` all the way from `spawn`).
    #[track_caller]
    pub(crate) fn new(name: Option<std::sync::Arc<str>>) -> Origin {
        Origin {
            name,
            site: Location::caller(),
            blocking: false,
        }
    }
}

impl TaskWatch {
    /// The name given with `Builder::name`.
    pub(crate) fn name(&self) -> Option<&std::sync::Arc<str>> {
        self.name.as_ref()
    }
}

/// `block_on` has started: the main future counts as spawned, for the trace.
pub(crate) fn on_start(rt: &Runtime) {
    rt.watch.running.set(NOT_RUNNING);
    on_turn(rt);
    if rt.watch.on.get() {
        stamp_spawn(rt, &*rt.main);
        trace::spawn(rt, &*rt.main, 1);
    }
}

/// The top of each turn of the loop: the switches, and the lost-waker checks other threads sent.
#[inline]
pub(crate) fn on_turn(rt: &Runtime) {
    if rt.watch.read_switches() {
        switches_changed(rt);
    }
    if rt.shared.watch.lost_pending.load(Ordering::Acquire) {
        lost_waker::answer_remote_checks(rt);
    }
}

/// Timing, the slow-poll check or its threshold changed: the clock is made the first time it is
/// needed, the threshold is converted to its ticks, and wakers on other threads learn whether to
/// note their time.
#[cold]
fn switches_changed(rt: &Runtime) {
    let timing = rt.watch.timing.get();
    if timing || rt.watch.slow.get() {
        let clock = rt.shared.watch.clock.get_or_init(Clock::new);
        let nanos = timing::slow_poll_nanos();
        rt.watch.slow_nanos.set(nanos);
        rt.watch
            .slow_ticks
            .set(clock.ticks(Duration::from_nanos(nanos)));
    }
    rt.shared.watch.timing.store(timing, Ordering::Relaxed);
}

/// `block_on` is returning: what is dropped from now on is cleaned up, not lost; its wakes are
/// the main future's doing.
pub(crate) fn on_close(rt: &Runtime) {
    rt.watch.closing.set(true);
    rt.watch.running.set(TaskId::MAIN.seq);
}

#[inline]
pub(crate) fn on_spawn(rt: &Runtime, task: &dyn Runnable) {
    add(&rt.watch.spawned);
    add(&rt.watch.local_wakes); // Queued as a wake would.
    if rt.watch.on.get() {
        spawned(rt, task);
    }
}

#[inline(never)]
fn spawned(rt: &Runtime, task: &dyn Runnable) {
    stamp_spawn(rt, task);
    let queued = rt.local.borrow().len();
    trace::spawn(rt, task, queued);
}

fn stamp_spawn(rt: &Runtime, task: &dyn Runnable) {
    if rt.watch.timing.get() {
        let at = match rt.watch.poll_start.get() {
            0 => rt.watch.now(&rt.shared.watch),
            in_poll => in_poll,
        };
        task.watch().times.spawned(at);
    }
}

/// A wake of `header`'s task on the executor's thread; `queue`: it set the flag and queued it.
#[inline]
pub(crate) fn woken(rt: &Runtime, header: &Header, queue: bool) {
    let by_itself = rt.watch.running.get() == header.id.seq;
    bump(&header.watch.local_wakes);
    if by_itself {
        bump(&header.watch.self_wakes);
    }
    if queue {
        add(&rt.watch.local_wakes);
        if rt.watch.on.get() {
            if by_itself && !rt.watch.traced.get() {
                // Its wait starts when its poll ends: no clock read, no event.
                header.watch.woken_at.store(0, Ordering::Relaxed);
            } else {
                observe_wake(rt, header, by_itself);
            }
        }
    }
}

#[inline(never)]
fn observe_wake(rt: &Runtime, header: &Header, by_itself: bool) {
    if rt.watch.timing.get() {
        // During its own poll: the wait starts when the poll ends (0). During another task's
        // poll: at that poll's start (no clock read of its own). Otherwise (the reactor's
        // dispatch): one clock read, shared by every wake of the dispatch.
        let at = match (by_itself, rt.watch.poll_start.get()) {
            (true, _) => 0,
            (false, 0) => rt.watch.now(&rt.shared.watch),
            (false, in_poll) => in_poll,
        };
        header.watch.woken_at.store(at, Ordering::Relaxed);
    }
    if rt.watch.traced.get() {
        let cause = trace::cause(rt, by_itself);
        let queued = rt.local.borrow().len();
        trace::wake(header, cause, Some(queued));
    }
}

/// A wake of `header`'s task on another thread (or after its runtime is gone).
pub(crate) fn woken_elsewhere(header: &Header, queue: bool) {
    header.watch.remote_wakes.fetch_add(1, Ordering::Relaxed);
    if queue {
        let shared = &header.shared.watch;
        if shared.timing.load(Ordering::Relaxed) {
            header.watch.woken_at.store(shared.now(), Ordering::Relaxed);
        }
        trace::wake(header, trace::Cause::Thread, None);
    }
}

/// Before an unfinished task's future is dropped: its destructors' wakes are its own.
#[inline]
pub(crate) fn before_cancel(rt: &Runtime, task: &dyn Runnable) {
    if rt.watch.traced.get() {
        cancel::dropping(rt, task);
    }
    rt.watch.running.set(task.header().id.seq);
    add(&rt.watch.polls);
}

#[inline]
pub(crate) fn after_cancel(rt: &Runtime, _task: &dyn Runnable) {
    if rt.watch.traced.get() {
        reactor::set_current_task(None);
    }
    rt.watch.running.set(if rt.watch.closing.get() {
        TaskId::MAIN.seq
    } else {
        NOT_RUNNING
    });
}

/// A task has finished and left the slab.
#[inline]
pub(crate) fn on_finish(rt: &Runtime, _task: &dyn Runnable) {
    add(&rt.watch.finished);
    rt.watch.clock.set(0); // Dropping the task takes time that belongs to no poll.
}

/// Dropping a detached task's output panicked; nobody is left to report it to.
pub(crate) fn on_output_panic(_rt: &Runtime, task: &dyn Runnable) {
    trace::output_panicked(task);
}

/// Before the loop sleeps; returns how long it may (the stall check may ask to look again soon).
#[inline]
pub(crate) fn before_park(rt: &Runtime, max_wait: Option<Duration>) -> Option<Duration> {
    rt.watch.clock.set(0);
    if max_wait.is_none() && rt.watch.slow.get() {
        return stall::check(rt);
    }
    max_wait
}

#[inline]
pub(crate) fn after_park(rt: &Runtime) {
    rt.watch.clock.set(0);
    // After a sleep the reactor has read the clock; after a mere look, one read here (at most
    // one per POLLS_PER_TURN polls, in a busy loop).
    let now = reactor::woke_at().unwrap_or_else(Instant::now);
    rt.watch.awake_since.set(now);
}

/// Whether a task of `rt` is the one being polled.
fn is_running(rt: &Runtime, id: TaskId) -> bool {
    rt.watch.running.get() == id.seq
}

/// The task `id` of `rt`, if it has not finished (the main future included).
fn find(rt: &Runtime, id: TaskId) -> Option<std::sync::Arc<dyn Runnable>> {
    if id == TaskId::MAIN {
        return Some(rt.main.clone());
    }
    match rt.tasks.try_borrow().ok()?.get(id.index) {
        Some((seq, task)) if *seq == id.seq => Some(task.clone()),
        _ => None,
    }
}

/// A task's name as the warnings give it: in backquotes, else `#id`.
fn label(task: &dyn Runnable) -> String {
    match (task.watch().name(), task.header().id) {
        (Some(name), _) => format!("`{name}`"),
        (None, TaskId::MAIN) => "`block_on`'s future".to_owned(),
        (None, id) => format!("#{}", id.seq),
    }
}
