//! The client's HTTP/1.1 response rules on plain bytes, for callers that do their own reading.
//!
//! This is the same code the async client runs, not a copy: [`take_head`] is how it reads a
//! response head (interim 1xx responses skipped, at most 64 KiB and 100 fields), and a
//! [`Decoder`] is how it finds the body and its end (RFC 9112 section 6.3: HEAD, 1xx, 204, 304,
//! `chunked`, `Content-Length`, or the connection's end). They are *sans-IO*: they do no reading
//! themselves, only take what they can from the bytes read so far and say when they need more.
//! So any code that can put bytes into a [`BytesMut`](bytes::BytesMut) can use them, on any kind
//! of socket; the demo's `--threads` mode does, on blocking `std::net` sockets, and so refuses
//! exactly the responses the async client refuses.
//!
//! A blocking reader, on a reader that here holds a whole response:
//!
//! ```
//! use std::io::Read;
//!
//! use bytes::BytesMut;
//! use http_client::proto::{Decoder, take_head};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut socket: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n\
//!     HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
//! let mut buf = BytesMut::new();
//! // Reads onto the end of `buf`; 0 when the connection has ended.
//! let mut fill = |buf: &mut BytesMut| -> std::io::Result<usize> {
//!     let mut piece = [0; 8];
//!     let n = socket.read(&mut piece)?;
//!     buf.extend_from_slice(&piece[..n]);
//!     Ok(n)
//! };
//!
//! let mut interim_bytes = 0;
//! let head = loop {
//!     if let Some(head) = take_head(&mut buf, &mut interim_bytes)? {
//!         break head;
//!     }
//!     if fill(&mut buf)? == 0 {
//!         return Err("the connection closed before the response head".into());
//!     }
//! };
//! assert_eq!(head.status, 200);
//!
//! let mut decoder = Decoder::for_response(&http::Method::GET, &head)?;
//! let mut body = Vec::new();
//! while !decoder.is_done() {
//!     match decoder.decode(&mut buf)? {
//!         Some(data) => body.extend_from_slice(&data),
//!         None if fill(&mut buf)? == 0 => decoder.at_eof()?,
//!         None => {}
//!     }
//! }
//! assert_eq!(body, b"hello");
//! # Ok(()) }
//! ```
//!
//! For `https://`, [`tls_config`] makes the rustls config the async client uses (the same roots,
//! the same `ring` provider, ALPN `http/1.1`), and [`tls_failure`] puts a failed handshake in the
//! same words as [`Error::Tls`](crate::Error::Tls); rustls's own `StreamOwned` then does the
//! blocking I/O. rustls is re-exported as [`rustls`] so that the versions match.
//!
//! Errors are [`ProtocolError`]s, which do not know the URL; the async client wraps them in an
//! [`Error`](crate::Error) that names it, and other callers should say which URL too.

pub use crate::body::Decoder;
pub use crate::error::ProtocolError;
pub use crate::head::{Head, take_head};

use std::sync::Arc;

pub use rustls;

use crate::Certificate;
pub use crate::error::TlsFailure;

/// The rustls client config an `http_client::Client` would use with these roots: `extra_roots`
/// and, if `system_roots`, the system's store. Fails with [`TlsFailure::NoRootCertificates`] when
/// that makes no roots at all.
///
/// ```
/// # use http_client::proto::{TlsFailure, tls_config};
/// let error = tls_config(&[], false).unwrap_err();
/// assert!(matches!(error, TlsFailure::NoRootCertificates { .. }));
/// ```
pub fn tls_config(
    extra_roots: &[Certificate],
    system_roots: bool,
) -> Result<Arc<rustls::ClientConfig>, TlsFailure> {
    crate::trust::Trust::new(extra_roots.to_vec(), system_roots).config()
}

/// What a rustls error during a handshake means, as the async client reports it. `received_tls`:
/// whether the server had already sent well-formed TLS; if not, a garbled answer is
/// [`TlsFailure::NotTls`].
///
/// ```
/// # use http_client::proto::{TlsFailure, rustls, tls_failure};
/// let expired = rustls::Error::InvalidCertificate(rustls::CertificateError::Expired);
/// assert_eq!(tls_failure(expired, true), TlsFailure::Expired);
/// ```
pub fn tls_failure(error: rustls::Error, received_tls: bool) -> TlsFailure {
    crate::tls::failure(error, received_tls)
}

/// Emits the `glass::tls` event the async client emits when a handshake with `host`, begun at
/// `started`, is done: ALPN, protocol version, cipher suite, time taken. For a blocking caller's
/// own handshakes, so that a trace reads the same whichever design ran.
pub fn trace_handshake_done(
    session: &rustls::ClientConnection,
    host: &str,
    started: std::time::Instant,
) {
    crate::tls::trace_handshake_done(session, host, started)
}
