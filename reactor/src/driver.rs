//! The reactor itself: one `mio::Poll` per thread, the table of registered sources, and the turn
//! that sleeps in `epoll_wait` and turns what the kernel says into `Waker::wake` calls.
//!
//! Everything here is thread-local: the reactor belongs to the thread that runs `block_on`, and the
//! sockets created on that thread register with it. Only the [`Unparker`] crosses threads.

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mio::{Events, Interest, Token};
use slab::Slab;

use crate::budget;
pub(crate) use crate::dispatch::Direction;
use crate::dispatch::{self, Dispatch};
use crate::time::Timers;
use crate::unpark::{Unparker, raise_open_file_limit};
use crate::watch::{self, ReactorWatch};

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
    pub(crate) sources: RefCell<Slab<Rc<ScheduledIo>>>,
    /// Bumped on every registration, so a reused slab slot gets a token its previous owner never had.
    next_generation: Cell<u32>,
    /// Pending sleeps, by deadline.
    pub(crate) timers: RefCell<Timers>,
    /// Writes to an eventfd that this poll watches: the one way another thread can end a sleep.
    unparker: Unparker,
    /// The instrumentation's part: counters and trace events (`crate::watch`).
    pub(crate) watch: ReactorWatch,
}

/// Readiness bookkeeping for one registered source: the tasks waiting to read and to write it.
///
/// The reactor and the socket each hold an `Rc` to it, so a socket reaches its own wakers without
/// going through the reactor's table.
///
/// The name is tokio's, whose I/O driver keeps a `ScheduledIo` per source in the same role.
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
    pub(crate) fd: RawFd,
    /// What it was registered for, for the `deregister` trace event.
    interest: Interest,
}

/// The tasks waiting on one direction of a source. Nearly always one, so the first has a slot of
/// its own and only a second one makes the list allocate.
#[derive(Default)]
pub(crate) struct Waiters {
    first: Option<Waker>,
    rest: Vec<Waker>,
}

impl Waiters {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Waker> {
        self.first.iter().chain(&self.rest)
    }

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
            watch: ReactorWatch::default(),
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
        self.watch.registered(fd, interest, token);
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
        self.watch.deregistered(io.fd, io.interest, io.token);
    }

    /// One turn of the reactor: sleep in `epoll_wait` until a source is ready, a timer is due,
    /// another thread unparks us, or `max_wait` passes (`None`: no limit but the timers). Then wake
    /// every task the events and expired timers concern.
    pub(crate) fn park(&self, max_wait: Option<Duration>) -> io::Result<()> {
        let timeout = match (max_wait, self.timers.borrow().time_until_next()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut events = self.events.borrow_mut();
        let wait = self.watch.before_wait(timeout);
        let result = self.poll.borrow_mut().poll(&mut events, timeout);
        self.watch.after_wait(wait, &events);
        match result {
            Ok(()) => {}
            // A signal arrived; the caller will simply turn again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }

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
        self.watch.timers_fired(fired.len());
        dispatch::wake_all(Dispatch::Timer, fired);
        Ok(())
    }

    pub(crate) fn unparker(&self) -> Unparker {
        self.unparker.clone()
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
        if !budget::left() {
            // This thread has completed many I/O operations in a row without a single one
            // blocking: some task is draining a fast socket. Step aside so the other tasks (and
            // the reactor's timers) get their turn; we are first in line again after them.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        loop {
            match syscall() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    budget::reset();
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
        watch::dispatching(self.fd, direction, 1 + waiters.rest.len());
        dispatch::wake_all(dispatch, waiters.first.into_iter().chain(waiters.rest));
    }

    pub(crate) fn waiters(&self, direction: Direction) -> &RefCell<Waiters> {
        match direction {
            Direction::Readable => &self.readers,
            Direction::Writable => &self.writers,
        }
    }
}
