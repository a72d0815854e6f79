//! The reactor itself: one `mio::Poll` per thread, the table of registered sources, and the turn
//! that sleeps in `epoll_wait` and turns what the kernel says into `Waker::wake` calls.
//!
//! Everything here is thread-local: the reactor belongs to the thread that runs `block_on`, and the
//! sockets created on that thread register with it. Only the [`Unparker`] crosses threads.

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::sync::{Arc, Once};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Token};
use slab::Slab;

pub(crate) use crate::dispatch::Direction;
use crate::dispatch::{self, Dispatch};
use crate::time::Timers;

/// The token of the `mio::Waker` that other threads use to interrupt `epoll_wait`. Source tokens
/// are built from a slab index and a generation (see [`source_token`]) and never reach this value.
const UNPARK_TOKEN: Token = Token(usize::MAX);

/// How many readiness events one `epoll_wait` may return. More simply wait for the next turn.
const EVENTS_CAPACITY: usize = 1024;

thread_local! {
    /// This thread's reactor, created the first time anything on the thread needs it.
    static REACTOR: Reactor = Reactor::new().expect("glass: could not create the reactor (epoll)");
}

/// Runs `f` with this thread's reactor.
pub(crate) fn with_reactor<R>(f: impl FnOnce(&Reactor) -> R) -> R {
    REACTOR.with(f)
}

/// Like [`with_reactor`], but `None` instead of a panic once the thread is tearing down its locals.
pub(crate) fn try_with_reactor<R>(f: impl FnOnce(&Reactor) -> R) -> Option<R> {
    REACTOR.try_with(f).ok()
}

/// The per-thread reactor. Fields are `RefCell`s because the reactor is shared by every socket on
/// its thread. No borrow of the source table, a waker slot or the timers is held while a waker
/// runs; only the events buffer is, and a waker cannot start another turn (`block_on` refuses to
/// nest). Every waker runs under `catch_unwind` (see `dispatch::wake_all`), so a panicking one
/// cannot leave the buffer's other events undispatched.
pub(crate) struct Reactor {
    /// The epoll instance.
    poll: RefCell<mio::Poll>,
    /// Reused buffer for the events one `epoll_wait` returns.
    events: RefCell<Events>,
    /// Every registered source, indexed by the low half of its token.
    sources: RefCell<Slab<Rc<ScheduledIo>>>,
    /// Bumped on every registration, so a reused slab slot gets a token its previous owner never had.
    next_generation: Cell<u32>,
    /// Pending sleeps, by deadline.
    pub(crate) timers: RefCell<Timers>,
    /// Writes to an eventfd that this poll watches: the one way another thread can end a sleep.
    unparker: Unparker,
    /// Counters: see [`ReactorMetrics`].
    metrics: Cell<ReactorMetrics>,
}

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

/// Readiness bookkeeping for one registered source: the tasks waiting to read and to write it.
///
/// The reactor and the socket each hold an `Rc` to it, so a socket reaches its own wakers without
/// going through the reactor's table.
///
/// The name is tokio's: its I/O driver keeps a `ScheduledIo` per registered source
/// (`tokio/src/runtime/io/scheduled_io.rs`) in the same role, the wakers of the tasks waiting to
/// read and to write it, so what is learnt here carries over.
pub(crate) struct ScheduledIo {
    /// The tasks that got `WouldBlock` reading (or accepting) since the last readable event. More
    /// than one when tasks share a socket (two tasks accepting on one `Rc<TcpListener>`): each
    /// must be woken, or with edge-triggered events the ones left out would wait forever.
    readers: RefCell<Waiters>,
    /// The same for writing (or connecting).
    writers: RefCell<Waiters>,
    /// The token this source was registered with; events carrying any other token are stale.
    token: Token,
    /// The registered descriptor, for the trace (`fd=7 readable`) and [`dispatch::dispatching`].
    fd: RawFd,
    /// What it was registered for, for the `deregister` trace event.
    interest: Interest,
}

/// The tasks waiting on one direction of a source. Nearly always one, so the first has a slot of
/// its own and only a second one makes the list allocate (a plain `Vec` allocated for every socket
/// that ever waited). The memory per connection is in the `many_connections` line of
/// `cargo run --release -p benches --bin compare`.
#[derive(Default)]
pub(crate) struct Waiters {
    first: Option<Waker>,
    rest: Vec<Waker>,
}

impl Waiters {
    fn add(&mut self, waker: &Waker) {
        // A task that waits again (a spurious poll) is already here.
        if self
            .first
            .iter()
            .chain(&self.rest)
            .any(|w| w.will_wake(waker))
        {
            return;
        }
        match self.first {
            None => self.first = Some(waker.clone()),
            Some(_) => self.rest.push(waker.clone()),
        }
    }
}

/// A token packs the slab index (low 32 bits) and the registration's generation (high 32 bits).
fn source_token(index: usize, generation: u32) -> Token {
    Token(((generation as usize) << 32) | index)
}

fn token_index(token: Token) -> usize {
    token.0 & 0xffff_ffff
}

impl Reactor {
    fn new() -> io::Result<Reactor> {
        raise_open_file_limit();
        let poll = mio::Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), UNPARK_TOKEN)?;
        Ok(Reactor {
            poll: RefCell::new(poll),
            events: RefCell::new(Events::with_capacity(EVENTS_CAPACITY)),
            sources: RefCell::new(Slab::new()),
            next_generation: Cell::new(0),
            timers: RefCell::new(Timers::default()),
            unparker: Unparker {
                waker: Arc::new(waker),
            },
            metrics: Cell::new(ReactorMetrics::default()),
        })
    }

    /// Registers `source` (whose descriptor is `fd`) for `interest`, edge-triggered (mio's only
    /// mode).
    pub(crate) fn register(
        &self,
        source: &mut impl mio::event::Source,
        fd: RawFd,
        interest: Interest,
    ) -> io::Result<Rc<ScheduledIo>> {
        let mut sources = self.sources.borrow_mut();
        let entry = sources.vacant_entry();
        let generation = self.next_generation.get().wrapping_add(1);
        self.next_generation.set(generation);
        let token = source_token(entry.key(), generation);
        self.poll
            .borrow()
            .registry()
            .register(source, token, interest)?;
        let io = Rc::new(ScheduledIo {
            readers: RefCell::new(Waiters::default()),
            writers: RefCell::new(Waiters::default()),
            token,
            fd,
            interest,
        });
        entry.insert(io.clone());
        self.update_metrics(|m| m.registrations += 1);
        tracing::trace!(target: "glass::reactor", fd, ?interest, token = token.0, "register");
        Ok(io)
    }

    /// Removes `source` from epoll and forgets its wakers. Called from the socket's `Drop`, before
    /// the file descriptor is closed.
    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source, io: &ScheduledIo) {
        // Deregistering can only fail if the fd is already gone from epoll; there is nothing to undo.
        let _ = self.poll.borrow().registry().deregister(source);
        let mut sources = self.sources.borrow_mut();
        let index = token_index(io.token);
        if sources.get(index).is_some_and(|s| s.token == io.token) {
            sources.remove(index);
        }
        self.update_metrics(|m| m.registrations -= 1);
        tracing::trace!(target: "glass::reactor", fd = io.fd, interest = ?io.interest, token = io.token.0, "deregister");
    }

    /// One turn of the reactor: sleep in `epoll_wait` until a source is ready, a timer is due,
    /// another thread unparks us, or `max_wait` passes (`None`: no limit but the timers). Then wake
    /// every task the events and expired timers concern.
    pub(crate) fn park(&self, max_wait: Option<Duration>) -> io::Result<()> {
        let timeout = match (max_wait, self.timers.borrow().time_until_next()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // A zero timeout is a quick look between batches of polls, not a sleep; the clock reads
        // are skipped for it (a busy loop makes one after every batch).
        let sleeps = timeout != Some(Duration::ZERO);
        let started = sleeps.then(Instant::now);
        let mut events = self.events.borrow_mut();
        let result = self.poll.borrow_mut().poll(&mut events, timeout);
        let asleep = started.map_or(Duration::ZERO, |t| t.elapsed());
        match result {
            Ok(()) => {}
            // A signal arrived; the caller will simply turn again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        let count = events.iter().count() as u64;
        self.update_metrics(|m| {
            m.epoll_waits += 1;
            m.events += count;
            m.time_asleep += asleep;
        });
        tracing::trace!(target: "glass::reactor", ?timeout, events = count, ?asleep, "epoll_wait");

        for event in events.iter() {
            let token = event.token();
            if token == UNPARK_TOKEN {
                continue; // Its only job was to end the sleep.
            }
            // Clone the Rc out so no borrow of the table is held while wakers run.
            let io = match self.sources.borrow().get(token_index(token)) {
                Some(io) if io.token == token => io.clone(),
                _ => continue, // A stale event for a slot that has since been reused.
            };
            if event.is_readable() || event.is_read_closed() || event.is_error() {
                io.wake(Direction::Readable);
            }
            if event.is_writable() || event.is_write_closed() || event.is_error() {
                io.wake(Direction::Writable);
            }
        }
        drop(events);

        let fired = self.timers.borrow_mut().take_expired();
        if !fired.is_empty() {
            self.update_metrics(|m| m.timers_fired += fired.len() as u64);
            tracing::trace!(target: "glass::reactor", count = fired.len(), "timers fired");
        }
        dispatch::wake_all(Dispatch::Timer, fired);
        Ok(())
    }

    pub(crate) fn unparker(&self) -> Unparker {
        self.unparker.clone()
    }

    pub(crate) fn metrics(&self) -> ReactorMetrics {
        self.metrics.get()
    }

    fn update_metrics(&self, f: impl FnOnce(&mut ReactorMetrics)) {
        let mut m = self.metrics.get();
        f(&mut m);
        self.metrics.set(m);
    }
}

impl ScheduledIo {
    /// Runs a non-blocking syscall, and if it would block, adds the task's waker to those woken by the
    /// next readiness event for `direction`.
    ///
    /// Why no wake-up can be lost even though epoll is edge-triggered: the syscall is always tried
    /// first, so readiness reported earlier is never needed; and the reactor's turn runs on this same
    /// thread, never between the syscall and the storing of the waker. Data that arrives after the
    /// syscall raises a fresh edge, which the next `epoll_wait` returns, and by then the waker is here.
    pub(crate) fn poll_io<R>(
        &self,
        direction: Direction,
        cx: &mut Context<'_>,
        mut syscall: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        if !coop_budget_left() {
            // This thread has completed many I/O operations in a row without a single one
            // blocking: some task is draining a fast socket. Step aside so the other tasks (and
            // the reactor's timers) get their turn; we are first in line again after them.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        loop {
            match syscall() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    COOP_BUDGET.set(COOP_BUDGET_MAX);
                    self.waiters(direction).borrow_mut().add(cx.waker());
                    return Poll::Pending;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    fn wake(&self, direction: Direction) {
        // Take the waiters out first, so no borrow is held while the wakers run.
        let waiters = std::mem::take(&mut *self.waiters(direction).borrow_mut());
        if waiters.first.is_none() {
            return; // Nobody waits on this direction: nothing to dispatch, nothing to trace.
        }
        let dispatch = Dispatch::Io {
            fd: self.fd,
            direction,
        };
        tracing::trace!(target: "glass::reactor", fd = self.fd, %direction, wakers = 1 + waiters.rest.len(), "dispatch");
        dispatch::wake_all(dispatch, waiters.first.into_iter().chain(waiters.rest));
    }

    fn waiters(&self, direction: Direction) -> &RefCell<Waiters> {
        match direction {
            Direction::Readable => &self.readers,
            Direction::Writable => &self.writers,
        }
    }
}

/// How many I/O operations in a row may complete at once before the next one yields. Without it, a
/// task reading a socket that always has data would never return `Pending`, and every other task
/// on the thread would starve. tokio's budget is also 128, but per task poll (its executor resets
/// it before each poll); this one is per thread, reset whenever an operation blocks, so the
/// reactor needs no help from the executor. The price: the task that happens to make the 129th
/// operation in a row yields once, even if it had made only a few of them.
const COOP_BUDGET_MAX: u32 = 128;

thread_local! {
    /// Operations left before a forced yield; reset whenever an operation would block.
    static COOP_BUDGET: Cell<u32> = const { Cell::new(COOP_BUDGET_MAX) };
}

/// Spends one unit of the budget; `false` (and a fresh budget) once it has run out.
fn coop_budget_left() -> bool {
    let left = COOP_BUDGET.get();
    if left == 0 {
        COOP_BUDGET.set(COOP_BUDGET_MAX);
        return false;
    }
    COOP_BUDGET.set(left - 1);
    true
}

/// A handle that any thread may use to interrupt this thread's `epoll_wait`.
///
/// The executor's wakers carry one: a wake from another thread queues the task and then, if the
/// executor is asleep, calls [`Unparker::unpark`], which writes to an eventfd the reactor watches.
#[derive(Clone, Debug)]
pub struct Unparker {
    waker: Arc<mio::Waker>,
}

impl Unparker {
    /// Ends the reactor's current (or next) `epoll_wait` at once.
    pub fn unpark(&self) {
        // A saturated eventfd is mio's business: its `Waker::wake` resets the counter and writes
        // again (mio's `src/sys/unix/waker/eventfd.rs`). Otherwise it fails only if the eventfd
        // cannot be written at all, which cannot happen while this handle's `Arc` keeps it open;
        // and a waker, which calls this, would have nobody to report an error to.
        let _ = self.waker.wake();
    }
}

/// Raises the soft limit on open files to the hard limit, once per process, so that thousands of
/// connections work out of the box (the soft limit is often 1024). Failure leaves the limit as it is.
fn raise_open_file_limit() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `limit` is a valid, writable `rlimit` for the duration of the call.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return;
        }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            // SAFETY: `limit` is a valid, initialised `rlimit`; the call only reads it.
            unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
        }
    });
}
