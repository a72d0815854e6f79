//! What the reactor tells a reader: its counters ([`ReactorMetrics`], always kept) and its trace
//! events (target `glass::reactor`), and the list of the wakers it holds ([`waiting`]). The
//! reactor's turn (`driver.rs`) makes one call here at each point worth watching, and holds one
//! field for it, [`ReactorWatch`].
//!
//! | event | fields |
//! |---|---|
//! | `register`, `deregister` | `fd`, `interest`, `token` |
//! | `epoll_wait` | `timeout` asked, `events` returned, time `asleep` |
//! | `dispatch` | `fd`, `direction`, `wakers` |
//! | `timers fired` | `count` |
//! | `dropped` | `task` (the executor's, while it traces), `future` (`sleep`, `read`), `waiting_on` (`timer in 38 ms`, `fd 7 readable`) |
//! | `timeout elapsed` | `task` |
//!
//! A pending future of the reactor's that is dropped is a cancellation: the `dropped` event
//! says so, naming the task the executor said it was running ([`set_current_task`]).
//!
//! For the executor's stall check and its dump: [`holds_wakers`], [`socket_addrs`],
//! [`blocking_jobs`].

use std::cell::Cell;
use std::mem::ManuallyDrop;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Waker;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Token};

use crate::dispatch::Direction;
use crate::driver::with_reactor;

const TARGET: &str = "glass::reactor";

/// What the reactor has done on this thread so far. Cheap to keep: plain integers on one thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReactorMetrics {
    /// Calls to `epoll_wait`, including the non-blocking ones made between batches of polls.
    pub epoll_waits: u64,
    /// Readiness events returned by those calls (the cross-thread unpark event included).
    pub events: u64,
    /// Sleeps and timeouts that reached their deadline and woke their task.
    pub timers_fired: u64,
    /// Sources (sockets, file descriptors) currently registered.
    pub registrations: u64,
    /// Wall time spent inside `epoll_wait`.
    pub time_asleep: Duration,
}

/// The reactor's counters (`Reactor::watch`). Cheap to keep: plain integers on one thread.
#[derive(Default)]
pub(crate) struct ReactorWatch {
    metrics: Cell<ReactorMetrics>,
    /// When the last `epoll_wait` ended, if it was a timed sleep (read anyway, to time it).
    woke_at: Cell<Option<Instant>>,
}

/// What `before_wait` hands to `after_wait`.
pub(crate) struct Wait {
    timeout: Option<Duration>,
    started: Option<Instant>,
}

impl ReactorWatch {
    pub(crate) fn metrics(&self) -> ReactorMetrics {
        self.metrics.get()
    }

    fn update(&self, f: impl FnOnce(&mut ReactorMetrics)) {
        let mut m = self.metrics.get();
        f(&mut m);
        self.metrics.set(m);
    }

    pub(crate) fn registered(&self, fd: RawFd, interest: Interest, token: Token) {
        self.update(|m| m.registrations += 1);
        tracing::trace!(target: TARGET, fd, ?interest, token = token.0, "register");
    }

    pub(crate) fn deregistered(&self, fd: RawFd, interest: Interest, token: Token) {
        self.update(|m| m.registrations -= 1);
        tracing::trace!(target: TARGET, fd, ?interest, token = token.0, "deregister");
    }

    /// Just before `epoll_wait`. A zero timeout is a quick look between batches of polls, not a
    /// sleep: it is not timed (a busy loop makes one after every batch).
    #[inline]
    pub(crate) fn before_wait(&self, timeout: Option<Duration>) -> Wait {
        let sleeps = timeout != Some(Duration::ZERO);
        Wait {
            timeout,
            started: sleeps.then(Instant::now),
        }
    }

    #[inline]
    pub(crate) fn after_wait(&self, wait: Wait, events: &Events) {
        let woke_at = wait.started.map(|started| (started, Instant::now()));
        self.woke_at.set(woke_at.map(|(_, now)| now));
        let asleep = woke_at.map_or(Duration::ZERO, |(started, now)| now - started);
        let count = events.iter().count() as u64;
        self.update(|m| {
            m.epoll_waits += 1;
            m.events += count;
            m.time_asleep += asleep;
        });
        let timeout = wait.timeout;
        tracing::trace!(target: TARGET, ?timeout, events = count, ?asleep, "epoll_wait");
    }

    #[inline]
    pub(crate) fn timers_fired(&self, count: usize) {
        if count != 0 {
            self.update(|m| m.timers_fired += count as u64);
            tracing::trace!(target: TARGET, count, "timers fired");
        }
    }
}

/// The reactor is about to wake `wakers` tasks waiting on `fd` in `direction`.
#[inline]
pub(crate) fn dispatching(fd: RawFd, direction: Direction, wakers: usize) {
    tracing::trace!(target: TARGET, fd, %direction, wakers, "dispatch");
}

/// What a waker the reactor holds is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitingFor {
    /// A registered descriptor to become ready in one direction.
    Io {
        /// The registered file descriptor.
        fd: RawFd,
        /// Which direction.
        direction: Direction,
    },
    /// A sleep or timeout's deadline.
    Timer {
        /// When it is due.
        deadline: Instant,
    },
}

/// Every waker this thread's reactor holds, with what it waits for: the wakers of the tasks that
/// wait on a socket or a timer. (A clone of each: waking one wakes its task.)
///
/// ```
/// use std::time::Duration;
///
/// executor::block_on(async {
///     let sleeper = executor::spawn(reactor::time::sleep(Duration::from_secs(60)));
///     executor::yield_now().await; // The sleep is armed.
///     let waiting = reactor::waiting();
///     assert!(matches!(waiting[..], [(reactor::WaitingFor::Timer { .. }, _)]));
///     sleeper.abort();
/// });
/// ```
pub fn waiting() -> Vec<(WaitingFor, Waker)> {
    with_reactor(|r| {
        let mut waiting = Vec::new();
        for (_, io) in r.sources.borrow().iter() {
            for direction in [Direction::Readable, Direction::Writable] {
                for waker in io.waiters(direction).borrow().iter() {
                    let fd = io.fd;
                    waiting.push((WaitingFor::Io { fd, direction }, waker.clone()));
                }
            }
        }
        for (deadline, waker) in r.timers.borrow().iter() {
            waiting.push((WaitingFor::Timer { deadline }, waker.clone()));
        }
        waiting
    })
}

/// When this thread's reactor came back from its last `epoll_wait`, if that was a sleep (`None`
/// after a mere look with a zero timeout): a clock read the reactor makes anyway to time the
/// sleep, which the executor's dump uses as its clock instead of reading one of its own.
#[inline]
pub fn woke_at() -> Option<Instant> {
    with_reactor(|r| r.watch.woke_at.get())
}

/// Whether this thread's reactor holds any waker: a task waiting on a socket or a timer, which an
/// event or a deadline may still wake. (The executor's stall check asks before it sleeps.)
pub fn holds_wakers() -> bool {
    with_reactor(|r| {
        r.timers.borrow().iter().next().is_some()
            || r.sources.borrow().iter().any(|(_, io)| {
                [Direction::Readable, Direction::Writable]
                    .into_iter()
                    .any(|d| io.waiters(d).borrow().iter().next().is_some())
            })
    })
}

/// The local and peer addresses of the socket registered as `fd` with this thread's reactor, as
/// far as they are known (`None` for a descriptor that is not registered, or not a socket; the
/// peer is `None` for a listener or a connection not yet made).
pub fn socket_addrs(fd: RawFd) -> Option<(SocketAddr, Option<SocketAddr>)> {
    with_reactor(|r| {
        if !r.sources.borrow().iter().any(|(_, io)| io.fd == fd) {
            return None;
        }
        // SAFETY: `fd` is registered with this reactor, and a socket deregisters before its
        // descriptor is closed, on this same thread: it is open for the whole call. The
        // `ManuallyDrop` never closes it; `getsockname`/`getpeername` only read.
        let socket = ManuallyDrop::new(unsafe { std::net::TcpStream::from_raw_fd(fd) });
        let local = socket.local_addr().ok()?;
        Some((local, socket.peer_addr().ok()))
    })
}

/// Blocking-pool jobs submitted and not yet over (the job ran, and woke whoever awaited it).
static BLOCKING_JOBS: AtomicUsize = AtomicUsize::new(0);

/// How many jobs the blocking pool has queued or running: while one has, a task awaiting it may
/// still be woken from a pool thread. An idle pool thread holds no waker.
pub fn blocking_jobs() -> usize {
    BLOCKING_JOBS.load(Ordering::Acquire)
}

/// Counts one blocking job from its submission until dropped, which the job does after its wake
/// (or the pool, if it never ran).
pub(crate) struct JobInFlight(());

impl JobInFlight {
    pub(crate) fn new() -> JobInFlight {
        BLOCKING_JOBS.fetch_add(1, Ordering::Relaxed);
        JobInFlight(())
    }
}

impl Drop for JobInFlight {
    fn drop(&mut self) {
        // Release: whoever sees the count drop also sees the wake the job made before.
        BLOCKING_JOBS.fetch_sub(1, Ordering::Release);
    }
}

thread_local! {
    /// The task the executor is running on this thread, when it traces (`set_current_task`).
    static CURRENT_TASK: Cell<Option<u64>> = const { Cell::new(None) };
}

/// The executor says which task it runs (or drops) right now, so that the reactor's `dropped`
/// events can name it: a number the reactor only prints. The executor calls this only while
/// its trace events are on.
pub fn set_current_task(task: Option<u64>) {
    CURRENT_TASK.set(task);
}

/// A pending sleep or timeout's timer is being dropped: its task will not be woken for it.
pub(crate) fn sleep_dropped(deadline: Instant) {
    let left = deadline.saturating_duration_since(Instant::now());
    tracing::trace!(
        target: TARGET,
        task = CURRENT_TASK.get(),
        future = "sleep",
        waiting_on = %format_args!("timer in {} ms", left.as_millis()),
        "dropped"
    );
}

/// A `timeout` ran out: the future it wraps is cancelled (dropped with the `Timeout`).
pub(crate) fn timed_out() {
    tracing::trace!(target: TARGET, task = CURRENT_TASK.get(), "timeout elapsed; its future will be dropped");
}

/// A socket read was dropped while it waited: a cancellation.
#[inline(never)]
pub(crate) fn read_dropped(fd: RawFd) {
    tracing::trace!(
        target: TARGET,
        task = CURRENT_TASK.get(),
        future = "read",
        waiting_on = %format_args!("fd {fd} readable"),
        "dropped"
    );
}
