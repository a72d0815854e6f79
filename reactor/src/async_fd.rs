//! [`AsyncFd`]: any file descriptor, registered with the reactor.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;

use mio::Interest;
use mio::unix::SourceFd;

use crate::driver::{Direction, ScheduledIo, try_with_reactor, with_reactor};

/// Any file descriptor, registered with the reactor: how a program waits for stdin or a pipe
/// without blocking the thread (tokio's `AsyncFd`).
///
/// The descriptor must already be in non-blocking mode, and must be something epoll accepts (a
/// regular file is not: `new` then fails with `PermissionDenied`). The `AsyncFd` owns `inner`;
/// dropping it deregisters the descriptor, then drops `inner`.
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use reactor::io::{AsyncFd, Interest};
///
/// let (ours, mut theirs) = UnixStream::pair()?;
/// ours.set_nonblocking(true)?;
/// executor::block_on(async {
///     let fd = AsyncFd::with_interest(ours, Interest::READABLE)?;
///     std::thread::spawn(move || theirs.write_all(b"ping"));
///     let mut buf = [0; 16];
///     // `read` returns WouldBlock until the other thread has written; the task sleeps meanwhile.
///     let n = fd
///         .async_io(Interest::READABLE, |mut stream| stream.read(&mut buf))
///         .await?;
///     assert_eq!(&buf[..n], b"ping");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct AsyncFd<T: AsRawFd> {
    inner: Option<T>,
    /// The raw fd, registered through mio's `SourceFd`.
    fd: RawFd,
    io: Rc<ScheduledIo>,
}

impl<T: AsRawFd> AsyncFd<T> {
    /// Registers `inner` for reading and writing.
    pub fn new(inner: T) -> io::Result<Self> {
        Self::with_interest(inner, Interest::READABLE | Interest::WRITABLE)
    }

    /// Registers `inner` for the given interest only (stdin: `Interest::READABLE`).
    pub fn with_interest(inner: T, interest: Interest) -> io::Result<Self> {
        let fd = inner.as_raw_fd();
        let io = with_reactor(|r| r.register(&mut SourceFd(&fd), fd, interest))?;
        Ok(AsyncFd {
            inner: Some(inner),
            fd,
            io,
        })
    }

    /// The wrapped value.
    pub fn get_ref(&self) -> &T {
        self.inner
            .as_ref()
            .expect("AsyncFd: inner taken before drop")
    }

    /// Runs `f`, a non-blocking operation on the descriptor, until it does not return
    /// `WouldBlock`, sleeping in between until the reactor reports the descriptor ready for
    /// `interest`: exactly `READABLE` or `WRITABLE`, and one this `AsyncFd` was registered for
    /// (waiting for a direction it was not registered for would never end).
    ///
    /// # Panics
    /// If `interest` is not exactly one of the two.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut f: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let direction = if interest == Interest::READABLE {
            Direction::Readable
        } else if interest == Interest::WRITABLE {
            Direction::Writable
        } else {
            panic!("AsyncFd::async_io waits for one direction: READABLE or WRITABLE")
        };
        let inner = self.get_ref();
        std::future::poll_fn(|cx| self.io.poll_io(direction, cx, || f(inner))).await
    }
}

impl<T: AsRawFd> Drop for AsyncFd<T> {
    fn drop(&mut self) {
        let _ = try_with_reactor(|r| r.deregister(&mut SourceFd(&self.fd), &self.io));
        drop(self.inner.take());
    }
}
