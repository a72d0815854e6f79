//! Where a task's time goes: busy, scheduled, idle (tokio-console's split), and the switches.
//!
//! ## The split
//! A task is always in one of three states, and its time is the sum of three totals:
//! ```text
//!        poll ends            wake() called            poll starts           poll ends
//!   ────────┼───────── idle ────────┼────── scheduled ──────┼────── busy ─────────┼────
//! ```
//! - **busy**: inside `poll`;
//! - **scheduled**: from the wake to the start of the poll it caused (waiting for the thread);
//! - **idle**: from the end of a poll to the next wake (waiting for something to happen).
//!
//! ## One clock read per poll
//! The read that ends one poll starts the next when nothing happens in between (`Watch::clock`).
//! A wake reads no clock of its own on the executor's thread: a wake during the task's own poll
//! starts its wait when that poll ends; a wake during another task's poll is dated at that poll's
//! start; the wakes of one reactor dispatch share one read. A wake on another thread reads the
//! clock there. The clock is the CPU's time-stamp counter where it can be trusted (`clock.rs`).
//!
//! ## The switches
//! The counters (polls, wakes, self and remote wakes) are always kept. The split is kept while
//! timing is on ([`task_timing`]): the program asked for it ([`set_task_timing`], or
//! `GLASS_TASK_TIMING=1`), or [`tasks`](crate::tasks) was called within the last second (a
//! reader such as the demo's task table calls it every few hundred milliseconds). A `tracing`
//! subscriber that listens to `glass::executor` warnings gets the slow-poll warning: the poll's
//! two clock reads, without the split.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The slow-poll threshold unless a program changes it: a poll that holds the thread longer is
/// reported as a WARN event (target `glass::executor`) and counted in
/// [`TaskMetrics::slow_polls`](crate::TaskMetrics::slow_polls). 20 ms is about where a user
/// notices a stall (a frame at 50 Hz), and far above any poll that only moves bytes.
pub const DEFAULT_SLOW_POLL_THRESHOLD: Duration = Duration::from_millis(20);

/// [`set_task_timing`]'s switch: off by default, so that programs that do not look pay nothing.
static TASK_TIMING: AtomicBool = AtomicBool::new(false);
/// The slow-poll threshold in nanoseconds.
static SLOW_POLL_NANOS: AtomicU64 = AtomicU64::new(DEFAULT_SLOW_POLL_THRESHOLD.as_nanos() as u64);

/// Turns the time split (busy, scheduled, idle, `max_poll`, `first_poll_delay`) on or off for
/// every runtime in the process, from the next turn of its loop. It is also on, whatever this
/// says, for a second after each call of [`tasks`](crate::tasks) in a runtime. `GLASS_TASK_TIMING=1` in the
/// environment turns it on at the first `block_on` ([`TASK_TIMING_ENV`]).
///
/// Figures gathered while timing was off stay zero; a task spawned while it was off gets no
/// `first_poll_delay`, and its first wait after timing came on is not split.
///
/// ```
/// executor::set_task_timing(true);
/// let handle_metrics = executor::block_on(async {
///     let handle = executor::spawn(async {});
///     executor::yield_now().await;
///     handle.metrics()
/// });
/// assert!(handle_metrics.first_poll_delay.is_some());
/// # executor::set_task_timing(false);
/// ```
pub fn set_task_timing(on: bool) {
    TASK_TIMING.store(on, Ordering::Relaxed);
}

/// Whether [`set_task_timing`] was last given `true` (timing may also be on for the other reasons
/// it lists).
pub fn task_timing() -> bool {
    TASK_TIMING.load(Ordering::Relaxed)
}

/// Sets the slow-poll threshold (default [`DEFAULT_SLOW_POLL_THRESHOLD`]) for every runtime. A
/// higher threshold applies at once; a lower one from the next turn of a runtime's loop (when it
/// converts the threshold to its clock's ticks).
///
/// ```
/// use std::time::Duration;
/// executor::set_slow_poll_threshold(Duration::from_millis(100));
/// assert_eq!(executor::slow_poll_threshold(), Duration::from_millis(100));
/// # executor::set_slow_poll_threshold(executor::DEFAULT_SLOW_POLL_THRESHOLD);
/// ```
pub fn set_slow_poll_threshold(threshold: Duration) {
    let nanos = u64::try_from(threshold.as_nanos()).unwrap_or(u64::MAX);
    SLOW_POLL_NANOS.store(nanos, Ordering::Relaxed);
}

/// The current slow-poll threshold.
pub fn slow_poll_threshold() -> Duration {
    Duration::from_nanos(SLOW_POLL_NANOS.load(Ordering::Relaxed))
}

/// The environment variable that turns timing on for a program that does not call
/// [`set_task_timing`] itself (a benchmark, say): `GLASS_TASK_TIMING=1`. Read once per process,
/// by the first `block_on`.
pub const TASK_TIMING_ENV: &str = "GLASS_TASK_TIMING";

/// Applies [`TASK_TIMING_ENV`], the first time it is called in the process.
pub(crate) fn init_from_env() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os(TASK_TIMING_ENV).is_some_and(|v| v == "1") {
            set_task_timing(true);
        }
    });
}

/// The slow-poll threshold in nanoseconds.
pub(crate) fn slow_poll_nanos() -> u64 {
    SLOW_POLL_NANOS.load(Ordering::Relaxed)
}

/// One task's time, in ticks of its runtime's clock (`clock.rs`). 0 in a time stamp means "not
/// known" (timing was off then). Only the executor's thread touches it: cells, updated in place,
/// so that a poll's bookkeeping is a few loads and stores.
#[derive(Debug, Default)]
pub(crate) struct TaskTimes {
    /// When its current wait began: the end of its last poll, or its spawn.
    wait_began: Cell<u64>,
    busy: Cell<u64>,
    scheduled: Cell<u64>,
    idle: Cell<u64>,
    /// From the spawn to the start of the first poll; 0 until then (or if untimed).
    first_poll_delay: Cell<u64>,
    max_poll: Cell<u64>,
    slow_polls: Cell<u64>,
}

/// A task's totals, in ticks, as a reader sees them.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Totals {
    pub(crate) busy: u64,
    pub(crate) scheduled: u64,
    pub(crate) idle: u64,
    pub(crate) first_poll_delay: Option<u64>,
    pub(crate) max_poll: u64,
    pub(crate) slow_polls: u64,
}

impl TaskTimes {
    /// The task was spawned at `at`: its first wait begins.
    pub(crate) fn spawned(&self, at: u64) {
        self.wait_began.set(at);
    }

    /// Where the wait that ends at `now` began, and when within it the task was woken
    /// (`woken_at`; 0: during its last poll, so at its end). `None` when its start was not timed.
    fn wait(&self, woken_at: u64, now: u64) -> Option<(u64, u64)> {
        let began = self.wait_began.get();
        // A wake may be dated a hair after the read that starts the poll (a remote wake, or a
        // wake dated at the start of a poll that began before the wait did): clamp.
        (began != 0).then(|| (began, woken_at.clamp(began, now.max(began))))
    }

    /// The poll starting at `start` ends a wait: splits it into idle and scheduled. `first`: the
    /// task's first poll, whose wait began at its spawn.
    #[inline]
    pub(crate) fn poll_starts(&self, start: u64, woken_at: u64, first: bool) {
        if let Some((began, woke)) = self.wait(woken_at, start) {
            add(&self.idle, woke - began);
            add(&self.scheduled, start.saturating_sub(woke));
            if first {
                self.first_poll_delay
                    .set(start.saturating_sub(began).max(1));
            }
        }
    }

    /// The poll ends at `end`, having taken `took`.
    #[inline]
    pub(crate) fn poll_ends(&self, end: u64, took: u64) {
        add(&self.busy, took);
        self.max_poll.set(self.max_poll.get().max(took));
        self.wait_began.set(end);
    }

    pub(crate) fn slow_poll(&self) {
        add(&self.slow_polls, 1);
    }

    /// The totals as they stand at `now`, with the interval in progress counted: a running
    /// task's poll so far (`poll_started`, 0 if it is not running), a queued task's wait since
    /// its wake, an idle task's since its poll. `now` 0: only the totals.
    pub(crate) fn at(&self, now: u64, poll_started: u64, scheduled: bool, woken_at: u64) -> Totals {
        let mut totals = Totals {
            busy: self.busy.get(),
            scheduled: self.scheduled.get(),
            idle: self.idle.get(),
            first_poll_delay: Some(self.first_poll_delay.get()).filter(|&d| d != 0),
            max_poll: self.max_poll.get(),
            slow_polls: self.slow_polls.get(),
        };
        if now == 0 {
            return totals;
        }
        if poll_started != 0 {
            totals.busy += now.saturating_sub(poll_started);
        } else if let Some((began, woke)) = self.wait(if scheduled { woken_at } else { now }, now) {
            totals.idle += woke - began;
            totals.scheduled += now.saturating_sub(woke);
        }
        totals
    }
}

fn add(cell: &Cell<u64>, n: u64) {
    cell.set(cell.get() + n);
}
