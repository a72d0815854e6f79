//! [`Connection`]: one connection to a server (plain TCP, or TLS over it) and the bytes read from
//! it but not yet used.
//!
//! Everything that reads a response (the head parser, the body decoders) works on
//! [`Connection::buf`]: [`Connection::fill`] appends what the socket has, and the readers consume
//! from the front. Bytes past the end of one step (the start of the body after the head) simply
//! stay in the buffer for the next.

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::pin::pin;
use std::task::Poll;

use bytes::BytesMut;
use reactor::net::TcpStream;

use crate::Error;
use crate::error::TlsFailure;
use crate::timeouts::{Timeouts, Wait};
use crate::tls::TlsStream;
use crate::trust::Trust;
use crate::url::{Scheme, Url};

/// Each read asks for up to this much: big enough that a small response (head and body) comes in
/// one read and a bulk download costs few system calls, small enough to stay in cache.
const READ_SIZE: usize = 64 * 1024;

thread_local! {
    /// Where this thread's connections read into before the bytes are copied onto the end of
    /// [`Connection::buf`]. Safe Rust reads only into initialised memory, and zeroing the
    /// buffer's free space before each read would cost as much as the read itself (most reads,
    /// such as the one right after a request, return little or nothing); this one is zeroed once,
    /// and a read costs a copy of what it brought instead. One per thread is enough: a
    /// connection copies out before its read's `poll` returns.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_SIZE].into_boxed_slice());
}

/// An open connection to one server.
pub(crate) struct Connection {
    /// The socket, and for `https://` the TLS session on it.
    stream: Stream,
    /// Bytes received and not yet consumed by the head parser or a body decoder. Body data leaves
    /// it by `split_to(..).freeze()`, which hands the caller the bytes without copying them.
    pub(crate) buf: BytesMut,
}

/// What the bytes travel on.
enum Stream {
    /// `http://`: the socket itself.
    Plain(TcpStream),
    /// `https://`: a TLS session over the socket.
    Tls(TlsStream),
}

impl Connection {
    /// Resolves the URL's host, connects to the first of its addresses that accepts, and for
    /// `https://` runs the TLS handshake. The connect timeout covers all three.
    ///
    /// Names are resolved here (on the reactor's blocking pool, as `TcpStream::connect` would do)
    /// rather than by `TcpStream::connect` itself, so that a name that does not resolve is reported
    /// as [`Error::Resolve`] and not confused with a refused connection.
    pub(crate) async fn connect(
        url: &Url,
        timeouts: &Timeouts,
        trust: &Trust,
    ) -> Result<Connection, Error> {
        let tls_error = |failure| Error::Tls {
            url: url.uri.clone(),
            failure,
        };
        // Before any connection: a client that trusts nobody fails here, not after a handshake.
        let tls_config = match url.scheme {
            Scheme::Https => Some(trust.config().map_err(tls_error)?),
            Scheme::Http => None,
        };
        // Set once the TCP connection is up, so a timeout can say it was the handshake's.
        let handshaking = Cell::new(false);
        let connecting = async {
            let tcp = connect_tcp(url).await?;
            // A request goes out in one write, so Nagle's algorithm can only delay it.
            let _ = tcp.set_nodelay(true);
            tracing::debug!(target: "glass::http", host = %url.host, port = url.port, "connected");
            let Some(config) = tls_config else {
                return Ok(Stream::Plain(tcp));
            };
            handshaking.set(true);
            let tls = TlsStream::handshake(tcp, config, &url.host)
                .await
                .map_err(tls_error)?;
            Ok(Stream::Tls(tls))
        };
        let stream = match timeouts.guard(Wait::Connect, &url.uri, connecting).await {
            Ok(stream) => stream?,
            Err(Error::ConnectTimeout { after, .. }) if handshaking.get() => {
                return Err(tls_error(TlsFailure::HandshakeTimeout { after }));
            }
            Err(e) => return Err(e),
        };
        Ok(Connection {
            stream,
            buf: BytesMut::new(),
        })
    }

    /// Whether this connection is plain TCP (an `http://` one).
    pub(crate) fn is_plain(&self) -> bool {
        matches!(self.stream, Stream::Plain(_))
    }

    /// Reads whatever the socket has (waiting for at least one byte) onto the end of `buf`.
    /// Returns how many bytes arrived; 0 means the server closed the connection.
    pub(crate) async fn fill(
        &mut self,
        timeouts: &Timeouts,
        url: &http::Uri,
    ) -> Result<usize, Error> {
        let read = timeouts.guard(Wait::Read, url, self.read_once()).await?;
        read.map_err(|source| Error::Io {
            url: url.clone(),
            source,
        })
    }

    /// One read onto the end of `buf`, through this thread's [`SCRATCH`]: what a poll reads is
    /// copied onto `buf` within that poll, so a read cancelled between polls loses nothing.
    ///
    /// Each poll builds a fresh `TcpStream::read` future and drops it when the poll ends. That
    /// loses nothing, because the read future keeps no state of its own: a poll of it tries
    /// `read(2)`, and on `WouldBlock` stores the task's waker in the socket's slot in the
    /// reactor's table (`ScheduledIo`), not in the future. The waiter outlives the future, the
    /// next readiness event wakes the task, and the next poll's new future simply tries
    /// `read(2)` again.
    fn read_once(&mut self) -> impl Future<Output = io::Result<usize>> + '_ {
        poll_fn(|cx| {
            SCRATCH.with_borrow_mut(|scratch| {
                let poll = match &mut self.stream {
                    Stream::Plain(tcp) => pin!(tcp.read(scratch)).poll(cx),
                    Stream::Tls(tls) => tls.poll_read(cx, scratch),
                };
                if let Poll::Ready(Ok(n)) = poll {
                    self.buf.extend_from_slice(&scratch[..n]);
                }
                poll
            })
        })
    }

    /// Writes all of `bytes` (a request head).
    pub(crate) async fn write_all(
        &mut self,
        bytes: &[u8],
        timeouts: &Timeouts,
        url: &http::Uri,
    ) -> Result<(), Error> {
        let writing = async {
            match &mut self.stream {
                Stream::Plain(tcp) => tcp.write_all(bytes).await,
                Stream::Tls(tls) => tls.write_all(bytes).await,
            }
        };
        timeouts
            .guard(Wait::Write, url, writing)
            .await?
            .map_err(|source| Error::Io {
                url: url.clone(),
                source,
            })
    }

    /// Whether the server has closed the connection, reset it, or sent something unasked while it
    /// sat idle in the pool. Never waits: it tries one read, and a read that would block means the
    /// connection is quiet, which is what a usable idle connection is. Over TLS the read goes
    /// through rustls, so a `close_notify` counts as a close.
    pub(crate) fn is_stale(&mut self) -> bool {
        if !self.buf.is_empty() {
            return true;
        }
        match &mut self.stream {
            Stream::Plain(tcp) => {
                let mut probe = [0u8; 1];
                !matches!(tcp.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
            }
            Stream::Tls(tls) => tls.is_stale(),
        }
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The buffer's length, not its bytes: a response's `Debug` should not print a body.
        let (tcp, tls) = match &self.stream {
            Stream::Plain(tcp) => (tcp, false),
            Stream::Tls(tls) => (tls.tcp(), true),
        };
        f.debug_struct("Connection")
            .field("stream", tcp)
            .field("tls", &tls)
            .field("buffered", &self.buf.len())
            .finish()
    }
}

/// Connects to the first address of `url`'s host that accepts.
async fn connect_tcp(url: &Url) -> Result<TcpStream, Error> {
    let mut last_error = None;
    for addr in resolve(url).await? {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last_error = Some(e),
        }
    }
    Err(Error::Connect {
        url: url.uri.clone(),
        source: last_error.unwrap_or_else(|| io::ErrorKind::NotFound.into()),
    })
}

/// The addresses to try for `url`: an IP address as is, a name through the system resolver, which
/// blocks, on a helper thread.
async fn resolve(url: &Url) -> Result<Vec<SocketAddr>, Error> {
    if let Ok(ip) = url.host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, url.port)]);
    }
    let name = (url.host.clone(), url.port);
    let addrs = match reactor::blocking::unblock(move || {
        name.to_socket_addrs()
            .map(|addrs| addrs.collect::<Vec<_>>())
    }) {
        Ok(resolving) => resolving.await,
        Err(no_thread) => Err(no_thread),
    };
    match addrs {
        Ok(addrs) if !addrs.is_empty() => Ok(addrs),
        Ok(_) => Err(Error::Resolve {
            url: url.uri.clone(),
            source: io::Error::new(io::ErrorKind::NotFound, "the name has no addresses"),
        }),
        Err(source) => Err(Error::Resolve {
            url: url.uri.clone(),
            source,
        }),
    }
}
