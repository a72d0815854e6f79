//! Where a task's time goes: busy, scheduled, idle (tokio-console's split), and the switch that
//! turns the clock reads on.
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
//! A wake is timed when `wake` is called, on whichever thread calls it, not when the executor
//! notices it. A wake made *during* the task's own poll (`yield_now`, the I/O budget) starts the
//! wait when the poll ends: the task cannot be busy and scheduled at once. For the first poll, the
//! spawn is the wake.
//!
//! ## The cost, and the switch
//! The counters (polls, wakes, self and remote wakes) are always on. The split needs clock reads:
//! one per poll (the read that ends one poll starts the next when they follow each other
//! directly), one per wake that queues a task (none for a wake during the task's own poll), one
//! per spawn. Next to a yield that costs ~26 ns, that is far over the 3% budget: measured with
//! `compare --quick` on a loaded 2-core VM, timing on took `yield_many` from ~26 to 64-131 ns a
//! yield, `ping_pong` from ~90-120 to 209-305 ns a round trip, `spawn_many` from ~100 to 295-588
//! ns a task (cachegrind: 1.9x the instructions per yield). So the clock is read only while timing is
//! on ([`task_timing`]): when the program asked for it ([`set_task_timing`], or
//! `GLASS_TASK_TIMING=1`), when a `tracing` subscriber listens to `glass::executor` warnings or
//! traces (the slow-poll warning needs the clock), or, for the rest of the run, once
//! [`tasks`](crate::tasks) has been called. Off, the price is one flag read per turn of the loop
//! and one predictable branch per poll and per wake.

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

/// Turns the time split (busy, scheduled, idle, `max_poll`, `slow_polls`, `first_poll_delay`)
/// on or off for every runtime in the process, from the next turn of its loop. It is also on,
/// whatever this says, while a `tracing` subscriber listens to `glass::executor` at WARN or finer,
/// and once [`tasks`](crate::tasks) has been called in a runtime. `GLASS_TASK_TIMING=1` in the
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

/// Sets the slow-poll threshold (default [`DEFAULT_SLOW_POLL_THRESHOLD`]) for every runtime.
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

/// Whether a runtime should read the clock this turn: asked for, or somebody is listening.
pub(crate) fn wanted(reader_present: bool) -> bool {
    task_timing()
        || reader_present
        || tracing::enabled!(target: "glass::executor", tracing::Level::WARN)
}

/// One task's time, in nanoseconds since its runtime's epoch (`Shared::epoch`). 0 in a time
/// stamp means "not known" (timing was off then). Only the executor's thread touches it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TaskTimes {
    /// When the task was spawned (the main future: when `block_on` started).
    pub(crate) spawned_at: u64,
    /// When its last poll ended; 0 before the first.
    pub(crate) last_poll_end: u64,
    /// When the poll in progress started; 0 when it is not being polled.
    pub(crate) poll_started: u64,
    pub(crate) busy: u64,
    pub(crate) scheduled: u64,
    pub(crate) idle: u64,
    /// From the spawn to the start of the first poll; `None` until then (or if untimed).
    pub(crate) first_poll_delay: Option<u64>,
    pub(crate) max_poll: u64,
    pub(crate) slow_polls: u64,
}

impl TaskTimes {
    /// Where the wait that ends at `now` began (the end of the last poll, or the spawn), and when
    /// within it the task was woken (`woken_at`; 0: during its last poll, so at its end). `None`
    /// when the wait's start was not timed.
    fn wait(&self, woken_at: u64, now: u64) -> Option<(u64, u64)> {
        let began = if self.last_poll_end != 0 {
            self.last_poll_end
        } else {
            self.spawned_at
        };
        // A remote wake may be timed a hair after the clock read that starts the poll (the read
        // is shared with the end of the previous poll): clamp rather than go negative.
        (began != 0).then(|| (began, woken_at.clamp(began, now.max(began))))
    }

    /// The poll starting at `start` ends a wait: splits it into idle and scheduled.
    pub(crate) fn poll_starts(&mut self, start: u64, woken_at: u64) {
        if self.first_poll_delay.is_none() && self.last_poll_end == 0 && self.spawned_at != 0 {
            self.first_poll_delay = Some(start.saturating_sub(self.spawned_at));
        }
        if let Some((began, woke)) = self.wait(woken_at, start) {
            self.idle += woke - began;
            self.scheduled += start.saturating_sub(woke);
        }
        self.poll_started = start;
    }

    /// The poll ends at `end`: returns how long it took, and whether that was over `threshold`.
    pub(crate) fn poll_ends(&mut self, end: u64) -> (Duration, bool) {
        let took = end.saturating_sub(self.poll_started);
        self.busy += took;
        self.max_poll = self.max_poll.max(took);
        let slow = took > SLOW_POLL_NANOS.load(Ordering::Relaxed);
        self.slow_polls += u64::from(slow);
        self.last_poll_end = end;
        self.poll_started = 0;
        (Duration::from_nanos(took), slow)
    }

    /// The totals as they stand at `now`, with the interval in progress counted: a running
    /// task's poll so far, a queued task's wait since its wake, an idle task's since its poll.
    pub(crate) fn at(&self, now: u64, scheduled: bool, woken_at: u64) -> TaskTimes {
        let mut times = *self;
        if times.poll_started != 0 {
            times.busy += now.saturating_sub(times.poll_started);
        } else if let Some((began, woke)) = self.wait(if scheduled { woken_at } else { now }, now) {
            times.idle += woke - began;
            times.scheduled += now.saturating_sub(woke);
        }
        times
    }
}
