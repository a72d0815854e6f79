//! # http-client: HTTP/1.1 (and HTTPS) over glass's sockets
//!
//! glass's runtime runs tasks (the `executor` crate) and waits on sockets and timers (the `reactor`
//! crate). This crate is the first thing built *on* them: a small HTTP/1.1 client whose every
//! `.await` ends, sooner or later, in a `reactor::net::TcpStream` read or write, with TLS
//! ([rustls](https://docs.rs/rustls)) in between for `https://`. The demo
//! downloader fetches with it, and the benchmarks race it against hyper on tokio.
//!
//! ```no_run
//! # async fn run() -> Result<(), http_client::Error> {
//! let mut response = http_client::get("http://example.com/big.iso").await?;
//! println!("{} {:?}", response.status(), response.content_length());
//! while let Some(piece) = response.chunk().await? {
//!     // ... write `piece` somewhere; the body is never held whole unless you ask for it
//! }
//! # Ok(()) }
//! ```
//!
//! It is small enough to read in an evening and strict enough to trust with a download: a body
//! that ends early is an error, never a short success, and a hostile server can make it fail but
//! not hang (given timeouts), panic, or allocate without bound.
//!
//! ## What is here
//! - [`get`], [`Client`] and [`ClientBuilder`], [`RequestBuilder`], [`Response`], [`Error`].
//! - [`Certificate`]: a root to trust for `https://`, beside the system's store.
//! - [`proto`]: the head parser and body [`Decoder`](proto::Decoder) on their own, for code that
//!   reads its sockets itself (the demo's blocking `--threads` mode).
//! - The `http` crate's types at the surface: [`http::Method`], [`http::StatusCode`],
//!   [`http::HeaderMap`], [`http::Uri`].
//! - Not here, on purpose: request bodies, compression, cookies, proxies, HTTP/2, client
//!   certificates, and any way to turn certificate verification off.
//!
//! Reading order: `client.rs` (a request's life), `connection.rs` and `pool.rs` (the sockets),
//! `tls.rs` and `trust.rs` (HTTPS), `head.rs` and `body.rs` (reading a response), `response.rs`,
//! then `redirect.rs`, `url.rs`, `timeouts.rs` and `error.rs` as they come up.
//!
//! ## HTTPS
//! ```text
//!   Response::chunk ─► Decoder ─► Connection::fill ─► TlsStream::poll_read ─► TcpStream::poll_read
//!                    (framing)    (the buffer)        (rustls: decrypt)       (reactor: wait)
//! ```
//! TLS is one more `poll_read`/`poll_write` layer over the same socket; nothing above
//! `Connection` knows whether a connection is encrypted. Verification is always on: the
//! certificate must chain to a trusted root, be valid now, and be valid for the URL's host (a
//! name, sent as SNI, or an IP address, checked against the certificate's IP addresses, as for
//! `https://127.0.0.1`). ALPN offers `http/1.1` only.
//!
//! The trusted roots are the system's store (read by `rustls-native-certs`: on Debian the
//! `ca-certificates` package's bundle, or `$SSL_CERT_FILE`), plus any
//! [`ClientBuilder::add_root_certificate`] adds. The store is read on the client's first
//! `https://` request; where it is empty or unreadable and nothing was added, every `https://`
//! request fails with [`TlsFailure::NoRootCertificates`] before connecting, and `http://` works as
//! before. Failures a user can act on have their own [`TlsFailure`] (untrusted issuer, wrong name,
//! expired, not TLS at all, handshake timed out).
//!
//! Caveats: TLS 1.2 and 1.3 only (rustls's safe defaults); no client certificates; no revocation
//! checks (as curl's default). Sessions are resumed across the connections of one client
//! (rustls's in-memory cache, shared through the client's one config). A body that runs until the
//! connection closes is complete only when the server ended with `close_notify`; a TCP close
//! without it is an [`Error::Io`], since anyone on the path could have cut the body there.
//!
//! ## Implementation
//! - **Heads by `httparse`, framing by hand.** `httparse` parses the status line, the header
//!   fields and chunk-size lines. Every other rule of RFC 9112 is in `body.rs`, in section 6.3's
//!   order: no body for HEAD, 1xx, 204 and 304; then chunked; then `Content-Length` (invalid or
//!   conflicting values refused); otherwise the body runs until the server closes.
//! - **One buffer per connection.** Reads append up to 64 KiB to a `BytesMut`; the head parser
//!   and the body decoders consume from its front. Body data leaves as `Bytes` split off that
//!   buffer, so a body is handed over without copying and without being gathered whole
//!   ([`Response::bytes`] gathers it when asked).
//! - **Decoders do no I/O.** A decoder is given the bytes read so far and takes what it can.
//!   That keeps the framing rules testable on plain bytes, split at any point, and lets blocking
//!   code use the very same rules through [`proto`] instead of a copy of them.
//! - **Keep-alive.** A connection returns to its client's pool when its response's body has been
//!   read to the end with nothing after it. Taking it out again tries one non-blocking read: a
//!   connection the server closed meanwhile reads as ended and is dropped. A close that races
//!   with our request shows as a request that got no answer at all, and an idempotent request is
//!   then sent once more on a fresh connection (what hyper and browsers do).
//! - **Timeouts without a timer per request.** Each wait (connect, write, read) gets its own
//!   `reactor::time::timeout` for the time left under the tightest limit, and the error names
//!   that limit; a wait that needs no sleep registers no timer. So the whole-request limit keeps
//!   applying while the caller reads the body, long after `send` returned.
//! - **Name resolution** runs on the reactor's blocking pool (`getaddrinfo` blocks), so a slow
//!   DNS server stalls one request, never the event loop, and its failure is told apart from a
//!   refused connection.
//! - **TLS by driving rustls's state machine ourselves**, in `tls.rs`, rather than through
//!   `futures-rustls` over the `futures-io` traits glass's `TcpStream` implements. Both would
//!   work, and the adapter is the same idea either way (a `poll_read` that is `Pending` becomes a
//!   `WouldBlock` rustls understands). Doing it by hand is about a hundred lines, keeps the lesson
//!   in view instead of behind a dependency, and gives two things the wrapper cannot: the idle
//!   check reads with `try_read` and stores no waker (a wrapper needs a `Context` to read at all),
//!   and handshake failures are mapped to [`TlsFailure`] knowing which phase they came in (a
//!   garbled first answer means "not TLS"). rustls's own buffers are used as they are:
//!   received ciphertext is decrypted in place, rustls queues the plaintext (a copy), and
//!   `poll_read` copies it into the connection's buffer (a second). Measured on a 256 MiB
//!   download from nginx (`benches/README.md`): rustls's copy is 27% of the client's time, ours
//!   under 4%, AES-GCM 13%; rustls 0.23's unbuffered API queues plaintext the same way, so it
//!   would not save the copy. `ring` is the crypto
//!   provider: it builds without cmake, and is as fast as aws-lc-rs for AES-GCM on x86-64.
//! - **Alternatives not taken.** Pipelining (few servers handle it well, and a failure loses every
//!   request in flight); parsing heads incrementally (`httparse` re-parses a partial head from its
//!   start after each read, which the 64 KiB limit bounds and real heads rarely need).

#![warn(missing_docs)]

mod body;
mod client;
mod connection;
mod error;
mod head;
mod pool;
pub mod proto;
mod redirect;
mod request;
mod response;
mod timeouts;
mod tls;
mod trust;
mod url;

pub use client::{Client, ClientBuilder};
pub use error::{Error, TlsFailure};
pub use request::RequestBuilder;
pub use response::Response;
pub use trust::Certificate;
pub use url::IntoUrl;

/// Fetches `url` with GET, following redirects: `http_client::get(url).await?.text().await?`.
///
/// Uses a client with default settings (no timeouts) that is shared by every call on this thread,
/// so repeated calls to one server reuse connections. For timeouts or headers, build a
/// [`Client`].
pub async fn get(url: impl IntoUrl) -> Result<Response, Error> {
    thread_local! {
        /// The client behind [`get`]: per thread, because glass's sockets stay on theirs.
        static DEFAULT_CLIENT: Client = Client::new();
    }
    let client = DEFAULT_CLIENT.with(Client::clone);
    client.get(url).send().await
}
