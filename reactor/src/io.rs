//! Registered I/O: `PollEvented`, the glue between a non-blocking mio source and the reactor,
//! and [`AsyncFd`] (in `async_fd.rs`), the same for any other file descriptor (stdin, a pipe).

use std::io;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::task::{Context, Poll};

pub use crate::async_fd::AsyncFd;
pub use mio::Interest;

use crate::driver::{Direction, ScheduledIo, try_with_reactor, with_reactor};

/// A mio source registered with this thread's reactor. Dropping it deregisters the source before
/// the source (and so its file descriptor) is dropped.
///
/// The name is tokio's: its `PollEvented` (`tokio/src/io/poll_evented.rs`) has the same role, a
/// mio source plus its registration, which the socket types wrap; a reader who goes on to tokio
/// finds it there.
pub(crate) struct PollEvented<T: mio::event::Source> {
    /// Always `Some` until `drop`, which takes it out to deregister it.
    source: Option<T>,
    /// The wakers waiting on this source; shared with the reactor's table.
    io: Rc<ScheduledIo>,
}

impl<T: mio::event::Source> PollEvented<T> {
    pub(crate) fn new(mut source: T, interest: Interest) -> io::Result<Self>
    where
        T: AsRawFd,
    {
        let fd = source.as_raw_fd();
        let io = with_reactor(|r| r.register(&mut source, fd, interest))?;
        Ok(PollEvented {
            source: Some(source),
            io,
        })
    }

    pub(crate) fn get_ref(&self) -> &T {
        self.source
            .as_ref()
            .expect("PollEvented: source taken before drop")
    }

    /// Runs `syscall` on the source; on `WouldBlock`, arranges for this task to be woken when the
    /// source becomes ready in `direction`. See [`ScheduledIo::poll_io`] for why nothing is lost.
    pub(crate) fn poll_io<R>(
        &self,
        direction: Direction,
        cx: &mut Context<'_>,
        mut syscall: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let source = self.get_ref();
        self.io.poll_io(direction, cx, || syscall(source))
    }
}

impl<T: mio::event::Source> Drop for PollEvented<T> {
    fn drop(&mut self) {
        if let Some(mut source) = self.source.take() {
            // If the thread is tearing down, the reactor (and its epoll fd) is already gone.
            let _ = try_with_reactor(|r| r.deregister(&mut source, &self.io));
        }
    }
}
