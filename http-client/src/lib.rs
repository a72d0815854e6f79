//! # http-client: HTTP/1.1 over glass's sockets
//!
//! glass's runtime runs tasks (the `executor` crate) and waits on sockets and timers (the `reactor`
//! crate). This crate is the first thing built *on* them: a small HTTP/1.1 client whose every
//! `.await` ends, sooner or later, in a `reactor::net::TcpStream` read or write. The demo
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
//! - [`proto`]: the head parser and body [`Decoder`](proto::Decoder) on their own, for code that
//!   reads its sockets itself (the demo's blocking `--threads` mode).
//! - The `http` crate's types at the surface: [`http::Method`], [`http::StatusCode`],
//!   [`http::HeaderMap`], [`http::Uri`].
//! - Not here, on purpose: HTTPS (an `https://` URL is refused with
//!   [`Error::UnsupportedScheme`]), request bodies, compression, cookies, proxies, HTTP/2.
//!
//! Reading order: `client.rs` (a request's life), `connection.rs` and `pool.rs` (the sockets),
//! `head.rs` and `body.rs` (reading a response), `response.rs`, then `redirect.rs`, `url.rs`,
//! `timeouts.rs` and `error.rs` as they come up.
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
mod url;

pub use client::{Client, ClientBuilder};
pub use error::Error;
pub use request::RequestBuilder;
pub use response::Response;
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
