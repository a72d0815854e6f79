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

use std::cell::Cell;
use std::os::fd::RawFd;
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
        let asleep = wait.started.map_or(Duration::ZERO, |t| t.elapsed());
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
