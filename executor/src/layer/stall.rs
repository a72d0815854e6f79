//! The stall warning: every task waits, and nothing left can wake any of them.
//!
//! Go's runtime says "all goroutines are asleep - deadlock!" and exits. glass says so too, once
//! per stall, as a WARN event (target `glass::executor`) naming every task and what it waits on,
//! but goes on waiting: a signal may still come.
//!
//! Checked when the loop is about to sleep with no time limit (no task queued) while a subscriber
//! listens to the executor's warnings. Nothing can wake a task when:
//! 1. the reactor holds no waker: no socket or pipe a task waits on (a signal's self-pipe is one),
//!    no timer;
//! 2. the blocking pool has no job queued or running (`reactor::blocking_jobs`);
//! 3. no other thread is alive (`/proc/self/task`), but idle blocking-pool threads: any other
//!    thread may hold a waker, or a channel's sender, and use it later;
//! 4. no task has been woken meanwhile (its wake would be seen now: the job or thread that made
//!    it is over).
//!
//! The wakers left are then held by the tasks themselves (a channel whose sender a waiting task
//! keeps, a `JoinHandle` awaited in a cycle), which run only when woken. While 1 holds but 2 or 3
//! does not, the loop sleeps at most [`FIRST_LOOK`] and looks again, each time twice as long up
//! to [`LONGEST_LOOK`], so a stall that begins when the last other thread exits is reported within
//! about a second. A program that waits on a socket or a timer pays one look at the reactor's
//! table per sleep, and only while someone listens.

use std::cell::Cell;
use std::time::Duration;

use super::dump::{WaitingOn, every_task, join, label_of, waits};
use super::trace::TARGET;
use crate::runtime::Runtime;

/// The first wait before looking again while another thread may still wake a task.
const FIRST_LOOK: Duration = Duration::from_millis(100);
/// The longest.
const LONGEST_LOOK: Duration = Duration::from_secs(1);

/// The name of the blocking pool's threads (`reactor::blocking`).
const POOL_THREAD: &str = "glass-blocking";

/// The stall check's state (`Watch::stall`).
#[derive(Default)]
pub(super) struct StallWatch {
    /// The runtime's poll count when the last warning was given: the stall lasts until a poll.
    warned_at: Cell<Option<u64>>,
    /// The wait before the next look, and the poll count it was set at.
    next_look: Cell<Option<(Duration, u64)>>,
}

/// The loop is about to sleep with no limit: returns how long it may sleep instead.
#[inline(never)]
pub(super) fn check(rt: &Runtime) -> Option<Duration> {
    let stall = &rt.watch.stall;
    let polls = rt.watch.polls.get();
    if stall.warned_at.get() == Some(polls) || reactor::holds_wakers() {
        return None; // Said already; or an event or a deadline may come.
    }
    // Read first: a job's wake, or a thread's, comes before its end.
    let jobs = reactor::blocking_jobs();
    if jobs != 0 || other_threads(jobs == 0) != Some(0) {
        let look = match stall.next_look.get() {
            Some((last, at)) if at == polls => (last * 2).min(LONGEST_LOOK),
            _ => FIRST_LOOK,
        };
        stall.next_look.set(Some((look, polls)));
        return Some(look);
    }
    let tasks = every_task(rt);
    if tasks.iter().any(|t| t.header().scheduled.is_set()) {
        return None; // Woken at the last moment.
    }
    stall.warned_at.set(Some(polls));
    let mut waits = waits(rt, false, None);
    let each: Vec<String> = tasks
        .iter()
        .map(|task| {
            let id = task.header().id.seq;
            let on = waits
                .remove(&id)
                .unwrap_or_else(|| vec![WaitingOn::Elsewhere]);
            format!("{} waits on {}", label_of(&**task), join(&on))
        })
        .collect();
    tracing::warn!(
        target: TARGET,
        stalled = tasks.len(),
        "glass: stuck. Every task is waiting and nothing left can wake any of them: no socket \
         or timer holds a waker, no blocking job is queued or running, and no other thread is \
         alive. {}. Whatever holds the wakers (a channel's sender, a JoinHandle) is kept by \
         these tasks themselves, and they run only when woken: this wait is for ever unless a \
         signal handler acts.",
        each.join("; ")
    );
    None
}

/// How many other threads of this process are alive, not counting the blocking pool's when
/// `pool_idle`; `None` if `/proc` cannot say (then assume some).
fn other_threads(pool_idle: bool) -> Option<usize> {
    // `/proc/thread-self` is `PID/task/TID`.
    let me = std::fs::read_link("/proc/thread-self").ok()?;
    let me = me.file_name()?.to_owned();
    let mut others = 0;
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let entry = entry.ok()?;
        if entry.file_name() == me {
            continue;
        }
        // A thread that exited meanwhile has no `comm`: it is no longer alive.
        let Ok(name) = std::fs::read_to_string(entry.path().join("comm")) else {
            continue;
        };
        if pool_idle && name.trim_end() == POOL_THREAD {
            continue;
        }
        others += 1;
    }
    Some(others)
}
