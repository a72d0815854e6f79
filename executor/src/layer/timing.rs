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

/// The slow-poll threshold in nanoseconds.
pub(crate) fn slow_poll_nanos() -> u64 {
    SLOW_POLL_NANOS.load(Ordering::Relaxed)
}

/// One task's time, in nanoseconds on its runtime's clock. 0 in a time stamp means "not known"
/// (timing was off then). Only the executor's thread touches it.
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
        // A wake may be dated a hair after the read that starts the poll (a remote wake, or a
        // wake dated at the start of a poll that began before the wait did): clamp.
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

    /// The poll ends at `end`, having taken `took`.
    pub(crate) fn poll_ends(&mut self, end: u64, took: u64) {
        if self.poll_started != 0 {
            self.busy += took;
            self.max_poll = self.max_poll.max(took);
        }
        self.last_poll_end = end;
        self.poll_started = 0;
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
