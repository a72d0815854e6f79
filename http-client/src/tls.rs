//! [`TlsStream`]: TLS as one more `poll_read`/`poll_write` layer over glass's `TcpStream`.
//!
//! rustls does no I/O of its own. A `rustls::ClientConnection` is a state machine with two
//! buffers: ciphertext in (`read_tls`, then `process_new_packets` decrypts) and ciphertext out
//! (`write_tls`); plaintext goes in through `writer()` and comes out of `reader()`. This file is
//! the glue that moves bytes between those buffers and the socket:
//!
//! ```text
//!   Connection::fill ──► TlsStream::poll_read ──► reader().read ── plaintext ready? ── yes ──► done
//!                                                        │ no (WouldBlock)
//!                                                        ▼
//!                         read_tls(socket) ◄── Pending: the socket's waker is stored, as for HTTP
//!                                │ ciphertext
//!                                ▼
//!                         process_new_packets (decrypt, check, queue any reply) ──► try again
//! ```
//!
//! The socket is reached through [`PollIo`], which turns a `poll_read` or `poll_write` that would
//! be `Pending` into `io::ErrorKind::WouldBlock` for rustls, after the reactor has stored the
//! task's waker. That is how tokio-rustls and futures-rustls do it too; here it is thirty lines
//! that a reader can see.

use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use futures_io::{AsyncRead, AsyncWrite};
use reactor::net::TcpStream;
use rustls::pki_types::ServerName;
use rustls::{CertificateError, ClientConnection};

use crate::error::TlsFailure;

/// A TLS session over a TCP connection, its handshake done.
pub(crate) struct TlsStream {
    /// The socket the ciphertext travels on.
    tcp: TcpStream,
    /// rustls's side: the keys, and the ciphertext and plaintext not yet moved. Boxed because it
    /// is large (a few KiB) and `Connection` moves around.
    session: Box<ClientConnection>,
}

impl TlsStream {
    /// Runs the handshake with `host` (a DNS name or an IP address) over `tcp`: SNI carries the
    /// name, the certificate must be valid for it and chain to a trusted root, ALPN offers
    /// `http/1.1`. A failure says in words what was wrong.
    pub(crate) async fn handshake(
        tcp: TcpStream,
        config: Arc<rustls::ClientConfig>,
        host: &str,
    ) -> Result<TlsStream, TlsFailure> {
        // An IP address becomes an IP-address name: rustls then checks it against the
        // certificate's IP SANs, and sends no SNI (RFC 6066 forbids addresses there).
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| TlsFailure::Other(format!("`{host}` is not a valid server name")))?;
        let session = ClientConnection::new(config, name).map_err(|e| failure(e, false))?;
        let mut stream = TlsStream {
            tcp,
            session: Box::new(session),
        };
        let started = Instant::now();
        tracing::debug!(target: "glass::tls", host, "handshake start");
        let mut received_tls = false;
        while stream.session.is_handshaking() {
            if stream.session.wants_write() {
                poll_fn(|cx| stream.poll_write_tls(cx))
                    .await
                    .map_err(io_failure)?;
                continue;
            }
            let n = poll_fn(|cx| stream.poll_read_tls(cx))
                .await
                .map_err(io_failure)?;
            if n == 0 {
                return Err(TlsFailure::Other(
                    "the server closed the connection during the TLS handshake".to_owned(),
                ));
            }
            if let Err(e) = stream.session.process_new_packets() {
                // rustls has queued an alert telling the server why; send it if the socket takes
                // it now, but the error is ours to report either way.
                poll_fn(|cx| {
                    let _ = stream.poll_write_tls(cx);
                    Poll::Ready(())
                })
                .await;
                return Err(failure(e, received_tls));
            }
            received_tls = true;
        }
        trace_handshake_done(&stream.session, host, started);
        Ok(stream)
    }

    /// Reads decrypted bytes into `buf`, reading and decrypting more from the socket as needed.
    /// `Ok(0)` means the server ended the session with `close_notify`; a TCP close without it
    /// is `UnexpectedEof` (a truncation attack looks exactly like that).
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            match self.session.reader().read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                done => return Poll::Ready(done),
            }
            // rustls may owe the server a reply (a key update's answer); it goes out first.
            while self.session.wants_write() {
                ready!(self.poll_write_tls(cx))?;
            }
            ready!(self.poll_read_tls(cx))?;
            // After `Ok(0)` (the TCP close) the reader says whether close_notify came first.
            self.session
                .process_new_packets()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
    }

    /// Encrypts all of `bytes` and writes the records (and anything else rustls has queued, such
    /// as the handshake's last message) to the socket.
    ///
    /// rustls holds at most 64 KiB of records waiting for the socket (its buffer limit) and takes
    /// only as much plaintext as fits, so a larger request head goes in pieces: each piece is
    /// encrypted, then sent, before the next is given.
    pub(crate) async fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        loop {
            let taken = self.session.writer().write(bytes)?;
            bytes = &bytes[taken..];
            while self.session.wants_write() {
                poll_fn(|cx| self.poll_write_tls(cx)).await?;
            }
            match (bytes.is_empty(), taken) {
                (true, _) => return Ok(()),
                // With nothing queued rustls refused more: it would refuse it for ever.
                (false, 0) => return Err(io::ErrorKind::WriteZero.into()),
                (false, _) => {}
            }
        }
    }

    /// Whether the session is unusable after sitting idle: the server sent `close_notify`, closed
    /// or reset the TCP connection, or sent data nobody asked for. Never waits, and stores no
    /// waker: everything the socket has is read with `try_read` and handed to rustls, which
    /// tells a ticket for session resumption (harmless, consumed here) from the end of the session.
    pub(crate) fn is_stale(&mut self) -> bool {
        loop {
            let mut probe = [0u8; 1];
            match self.session.reader().read(&mut probe) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // close_notify (Ok(0)), unasked plaintext, or a close without close_notify.
                _ => return true,
            }
            match self.session.read_tls(&mut TryIo(&self.tcp)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(_) => return true,
                Ok(_) if self.session.process_new_packets().is_err() => return true,
                // Ok(0), the TCP close, is seen by the reader on the next turn.
                Ok(_) => {}
            }
        }
    }

    /// The TCP socket underneath.
    pub(crate) fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// One `read_tls` from the socket: `Pending` (waker stored) while it has nothing.
    fn poll_read_tls(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        would_block_to_pending(self.session.read_tls(&mut PollIo { tcp: &self.tcp, cx }))
    }

    /// One `write_tls` to the socket: `Pending` (waker stored) while it is full.
    fn poll_write_tls(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let n = ready!(would_block_to_pending(
            self.session.write_tls(&mut PollIo { tcp: &self.tcp, cx })
        ))?;
        if n == 0 {
            return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
        }
        Poll::Ready(Ok(n))
    }
}

/// Reports a finished handshake under the target `glass::tls`: what was agreed, and how long it
/// took (the demo's `--trace` shows it).
pub(crate) fn trace_handshake_done(session: &ClientConnection, host: &str, started: Instant) {
    let version = session.protocol_version().map(|v| format!("{v:?}"));
    let cipher_suite = session
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()));
    tracing::debug!(
        target: "glass::tls",
        host,
        alpn = session.alpn_protocol().map(String::from_utf8_lossy).as_deref(),
        version = version.as_deref(),
        cipher_suite = cipher_suite.as_deref(),
        took = ?started.elapsed(),
        "handshake done"
    );
}

/// rustls's `WouldBlock` back into `Pending`. It only ever comes from [`PollIo`], which returns it
/// after the reactor stored the waker, so the task will be woken.
fn would_block_to_pending(result: io::Result<usize>) -> Poll<io::Result<usize>> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
        result => Poll::Ready(result),
    }
}

/// The socket as a blocking-looking `Read + Write` for rustls, within one `poll`: a would-be
/// `Pending` becomes `WouldBlock` (the waker is already stored).
struct PollIo<'a, 'cx> {
    /// The socket; `&TcpStream` implements the `futures-io` traits.
    tcp: &'a TcpStream,
    /// The task's context, whose waker the reactor stores when the socket is not ready.
    cx: &'a mut Context<'cx>,
}

impl Read for PollIo<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match Pin::new(&mut self.tcp).poll_read(self.cx, buf) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl Write for PollIo<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match Pin::new(&mut self.tcp).poll_write(self.cx, buf) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The socket read without a task, for the idle check: nobody is to be woken when data comes
/// to a connection that sits in the pool.
struct TryIo<'a>(&'a TcpStream);

impl Read for TryIo<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

/// An I/O error during the handshake, in the user's words where they are known.
fn io_failure(e: io::Error) -> TlsFailure {
    match e.kind() {
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset => TlsFailure::Other(
            "the server closed the connection during the TLS handshake".to_owned(),
        ),
        _ => TlsFailure::Other(format!("I/O error during the TLS handshake: {e}")),
    }
}

/// What a rustls error means for the user. `received_tls`: whether the server had already sent
/// well-formed TLS, so that a garbled first answer can be told as "not TLS at all".
pub(crate) fn failure(e: rustls::Error, received_tls: bool) -> TlsFailure {
    use rustls::Error as E;
    match e {
        E::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                TlsFailure::UnknownIssuer
            }
            CertificateError::NotValidForName => TlsFailure::NotValidForName {
                presented: Vec::new(),
            },
            CertificateError::NotValidForNameContext { presented, .. } => {
                TlsFailure::NotValidForName { presented }
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                TlsFailure::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                TlsFailure::NotYetValid
            }
            other => TlsFailure::Other(format!(
                "the server's certificate is not acceptable: {other:?}"
            )),
        },
        E::InvalidMessage(_) if !received_tls => TlsFailure::NotTls,
        E::AlertReceived(alert) => TlsFailure::Other(format!(
            "the server refused the handshake (alert: {alert:?})"
        )),
        e => TlsFailure::Other(e.to_string()),
    }
}
