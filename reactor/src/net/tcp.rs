//! [`TcpListener`] and [`TcpStream`]: mio's non-blocking sockets, registered with the reactor,
//! with `async` methods named as in std and tokio.

use std::future::{Future, poll_fn};
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use mio::Interest;

use super::addr::{ToSocketAddrs, resolve};
use crate::driver::Direction;
use crate::io::PollEvented;
use crate::watch;

/// A TCP socket server, listening for connections.
///
/// ```
/// use reactor::net::{TcpListener, TcpStream};
///
/// executor::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     // A client in a task of its own; both wait in the same epoll_wait.
///     let client = executor::spawn(async move {
///         let stream = TcpStream::connect(addr).await?;
///         stream.write_all(b"hi").await
///     });
///     let (stream, _peer) = listener.accept().await?;
///     let mut buf = [0; 16];
///     let n = stream.read(&mut buf).await?;
///     assert_eq!(&buf[..n], b"hi");
///     client.await.unwrap()
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    inner: PollEvented<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (`"127.0.0.1:0"` picks a free port). The socket has `SO_REUSEADDR` set and a
    /// backlog of 1024 (tokio's `TcpSocket::listen` default; its `bind` keeps mio's 128). If `addr` names several addresses,
    /// each is tried in turn and the last error is returned.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let mut last_error = None;
        for addr in resolve(addr).await? {
            let listener = mio::net::TcpListener::bind(addr)
                .and_then(raise_backlog)
                .and_then(|listener| PollEvented::new(listener, Interest::READABLE));
            match listener {
                Ok(inner) => return Ok(TcpListener { inner }),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(no_addresses))
    }

    /// Waits for the next connection. An error (such as `EMFILE` when the process is out of file
    /// descriptors) is returned to the caller, and the pending connection stays queued: a server
    /// should pause before accepting again rather than retry at once.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, addr) =
            poll_fn(|cx| self.inner.poll_io(Direction::Readable, cx, |l| l.accept())).await?;
        Ok((TcpStream::from_mio(stream)?, addr))
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }
}

/// How many established connections may wait for `accept` (the kernel caps it at
/// `net.core.somaxconn`). tokio's `TcpSocket::listen` suggests the same value.
const LISTEN_BACKLOG: libc::c_int = 1024;

/// Raises the backlog of a listening socket to [`LISTEN_BACKLOG`].
///
/// Why: mio 1.x listens with std's backlog of 128, not 1024. A burst of more connections than
/// the backlog overflows the accept queue even while a task is accepting: on Linux the extra
/// clients stall until their SYN is retransmitted (a second or more), and on gVisor's network
/// stack clients whose handshake completed with a SYN cookie are dropped for good while they
/// believe they are connected (found by the 2,000-connection test). Calling `listen` again on a
/// listening socket only changes its backlog.
fn raise_backlog(listener: mio::net::TcpListener) -> io::Result<mio::net::TcpListener> {
    // SAFETY: the descriptor is a socket owned by `listener`, open for the whole call; `listen`
    // takes no pointers.
    if unsafe { libc::listen(listener.as_raw_fd(), LISTEN_BACKLOG) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(listener)
}

/// A TCP connection.
///
/// I/O methods take `&self`, so one task can read while another writes (share it through an `Rc`,
/// or use [`TcpStream::into_split`]). It implements `futures_io::AsyncRead` and `AsyncWrite` (also
/// for `&TcpStream`), so runtime-neutral helpers such as `futures::io::copy` work on it.
///
/// ```
/// use reactor::net::{TcpListener, TcpStream};
///
/// executor::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     // An echo server for one connection.
///     let server = executor::spawn(async move {
///         let (stream, _peer) = listener.accept().await?;
///         let mut buf = [0; 64];
///         let n = stream.read(&mut buf).await?;
///         stream.write_all(&buf[..n]).await
///     });
///     let stream = TcpStream::connect(addr).await?;
///     stream.write_all(b"hello").await?;
///     let mut echo = [0; 64];
///     let n = stream.read(&mut echo).await?;
///     assert_eq!(&echo[..n], b"hello");
///     server.await.unwrap()
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpStream {
    inner: PollEvented<mio::net::TcpStream>,
}

impl TcpStream {
    /// Opens a connection to `addr`. A host name is resolved on a helper thread; each resolved
    /// address is tried in turn, and the last error is returned if none accepts.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last_error = None;
        for addr in resolve(addr).await? {
            match Self::connect_addr(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(no_addresses))
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        // A non-blocking connect returns at once; the socket becomes writable when the handshake
        // ends, successfully or not. `take_error` then tells which, and `peer_addr` succeeds only
        // once the connection is up (mio's documented recipe).
        let stream = TcpStream::from_mio(mio::net::TcpStream::connect(addr)?)?;
        poll_fn(|cx| {
            stream.inner.poll_io(Direction::Writable, cx, |s| {
                if let Some(e) = s.take_error()? {
                    return Err(e);
                }
                match s.peer_addr() {
                    Ok(_) => Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                        Err(io::ErrorKind::WouldBlock.into())
                    }
                    Err(e) => Err(e),
                }
            })
        })
        .await?;
        Ok(stream)
    }

    fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        let inner = PollEvented::new(stream, Interest::READABLE | Interest::WRITABLE)?;
        Ok(TcpStream { inner })
    }

    /// Reads some bytes into `buf`, waiting until at least one is available. `Ok(0)` means the
    /// peer closed its side (or `buf` is empty).
    ///
    /// (An `async fn` in effect; a named future underneath, so that a read dropped while it
    /// waits, a cancellation, can say so in the trace at no cost to the reads that are not.)
    pub fn read<'a>(&'a self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        Read {
            stream: self,
            buf,
            waiting: false,
        }
    }

    /// Reads what is available right now without waiting: `WouldBlock` if nothing is. No waker is
    /// stored, so nobody is woken later (tokio's `try_read`). Useful to check whether an idle
    /// connection was closed by the peer.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        io::Read::read(&mut self.inner.get_ref(), buf)
    }

    /// Writes some of `buf`, waiting until the socket can take at least one byte.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_write_priv(cx, buf)).await
    }

    /// Writes all of `buf`.
    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    /// Shuts down the read half, the write half (the peer reads end-of-file), or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// The local address of this connection.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The remote address of this connection.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    fn fd(&self) -> std::os::fd::RawFd {
        self.inner.get_ref().as_raw_fd()
    }

    /// Sets `TCP_NODELAY`: small writes go out at once instead of waiting to be coalesced.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.get_ref().nodelay()
    }

    /// Splits the stream into a read half and a write half that can move into different tasks.
    /// Dropping the write half shuts down the write direction, so the peer sees end-of-file.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let stream = Rc::new(self);
        (
            OwnedReadHalf {
                stream: stream.clone(),
            },
            OwnedWriteHalf { stream },
        )
    }

    /// One read attempt, the poll behind [`read`](TcpStream::read), the `AsyncRead` impls and
    /// the read half: `read(2)`, or `Pending` with the waker stored. tokio's `TcpStream` has a
    /// private method of the same name and role (`_priv`: the public `poll_read` is the trait's).
    fn poll_read_priv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.inner
            .poll_io(Direction::Readable, cx, |mut s| io::Read::read(&mut s, buf))
    }

    fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.inner.poll_io(Direction::Writable, cx, |mut s| {
            io::Write::write(&mut s, buf)
        })
    }
}

/// The descriptor, as `executor::dump()` and the trace events name it (`fd 7 readable`).
impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd()
    }
}

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.get_ref().fmt(f)
    }
}

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.get_ref().fmt(f)
    }
}

/// The future of [`TcpStream::read`]: one read attempt per poll; dropped while it waits (a
/// cancellation), it says so in the reactor's trace.
struct Read<'a> {
    stream: &'a TcpStream,
    buf: &'a mut [u8],
    /// Whether the last poll returned `Pending`.
    waiting: bool,
}

impl Future for Read<'_> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = this.stream.poll_read_priv(cx, this.buf);
        this.waiting = result.is_pending();
        result
    }
}

impl Drop for Read<'_> {
    fn drop(&mut self) {
        if self.waiting {
            watch::read_dropped(self.stream.fd());
        }
    }
}

/// The reading half of a [`TcpStream`], from [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    stream: Rc<TcpStream>,
}

/// The writing half of a [`TcpStream`], from [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedWriteHalf {
    stream: Rc<TcpStream>,
}

impl OwnedReadHalf {
    /// See [`TcpStream::read`].
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf).await
    }
}

impl OwnedWriteHalf {
    /// See [`TcpStream::write`].
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf).await
    }

    /// See [`TcpStream::write_all`].
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        self.stream.write_all(buf).await
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        // The peer may already be gone; then there is nobody left to tell.
        let _ = self.stream.shutdown(Shutdown::Write);
    }
}

fn no_addresses() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "no addresses to try")
}

// ===== futures-io traits =====
//
// Implemented for `TcpStream` and `&TcpStream` (reads and writes go through `&self`), and for the
// halves, so any runtime-neutral helper works on them.

macro_rules! impl_async_io {
    ($reader:ty, $writer:ty, |$s:ident| $stream:expr) => {
        impl futures_io::AsyncRead for $reader {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                let $s = &*self;
                $stream.poll_read_priv(cx, buf)
            }
        }

        impl futures_io::AsyncWrite for $writer {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                let $s = &*self;
                $stream.poll_write_priv(cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                // Nothing is buffered in user space: a write is handed to the kernel at once.
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let $s = &*self;
                Poll::Ready($stream.shutdown(Shutdown::Write))
            }
        }
    };
}

impl_async_io!(TcpStream, TcpStream, |s| s);
impl_async_io!(&TcpStream, &TcpStream, |s| *s);
impl_async_io!(OwnedReadHalf, OwnedWriteHalf, |s| s.stream);
