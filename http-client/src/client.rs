//! [`Client`]: settings and a connection pool shared by many requests; [`ClientBuilder`] makes one.
//!
//! A request's life, in [`Client::execute`]:
//!
//! ```text
//!   send ─► an idle connection to scheme://host:port in the pool? ── no ──► connect, and
//!             │ yes                                                       for https the TLS
//!             │                                                           handshake
//!             ▼                                                              │
//!           write the request head, read the response head ◄─────────────────┘
//!             │   nothing at all came back on a pooled connection (the server closed it
//!             │   meanwhile) and the method is idempotent: once more, on a new connection
//!             ▼
//!           a redirect to follow (301/302/303/307/308 with a Location)? ── yes ──► the next
//!             │ no                                            request, from the top
//!             ▼
//!           Response: head read, body still on the connection
//! ```

use std::rc::Rc;
use std::time::{Duration, Instant};

use http::Method;

use crate::connection::Connection;
use crate::pool::{Key, Pool};
use crate::request::{Request, RequestBuilder};
use crate::timeouts::Timeouts;
use crate::trust::Trust;
use crate::url::IntoUrl;
use crate::{Certificate, Error, Response, head, redirect};

/// How many redirects are followed by default: more than any real chain needs (browsers allow 20),
/// few enough that a loop fails fast.
const DEFAULT_MAX_REDIRECTS: usize = 10;

/// An HTTP/1.1 client. It holds its settings and its idle keep-alive connections; cloning it is
/// cheap (an `Rc`), and the clones share both. Like glass's sockets, it stays on the thread that
/// made it.
///
/// ```no_run
/// # async fn run() -> Result<(), http_client::Error> {
/// let client = http_client::Client::builder()
///     .read_timeout(std::time::Duration::from_secs(10))
///     .build();
/// let page = client.get("http://example.com/").send().await?.text().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Client {
    /// Shared by the clones, so they pool connections together.
    inner: Rc<Inner>,
}

/// What the clones of one client share.
#[derive(Debug, Default)]
struct Inner {
    /// The limits the builder set.
    config: Config,
    /// Idle connections; shared with the responses, which return their connection to it. An
    /// `Rc` so a response can outlive the client that made it.
    pool: Rc<Pool>,
}

/// What [`ClientBuilder`] sets.
#[derive(Debug, Clone)]
struct Config {
    /// Limit on resolving plus connecting, per connection; `None`: the operating system's own
    /// (about two minutes on Linux).
    connect_timeout: Option<Duration>,
    /// Limit on any one wait for data; `None`: wait as long as the server keeps the connection.
    read_timeout: Option<Duration>,
    /// Limit on the whole request, from `send` to the body's last byte; `None`: no limit.
    timeout: Option<Duration>,
    /// How many redirects in a row are followed; 0 returns redirects to the caller.
    max_redirects: usize,
    /// The root certificates `https://` servers are verified against, and the TLS config made
    /// from them on first use.
    trust: Trust,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            connect_timeout: None,
            read_timeout: None,
            timeout: None,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            trust: Trust::default(),
        }
    }
}

impl Client {
    /// A client with no timeouts and up to 10 redirects.
    pub fn new() -> Client {
        Client::default()
    }

    /// Sets up a client with other settings.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            config: Config::default(),
        }
    }

    /// A GET request for `url`.
    pub fn get(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// A request with any method for `url`.
    pub fn request(&self, method: Method, url: impl IntoUrl) -> RequestBuilder {
        RequestBuilder::new(self.clone(), method, url)
    }

    /// Sends `request`, following redirects; see the module docs.
    pub(crate) async fn execute(&self, mut request: Request) -> Result<Response, Error> {
        let config = &self.inner.config;
        let timeouts = Timeouts {
            connect: config.connect_timeout,
            read: config.read_timeout,
            whole: config.timeout.map(|limit| (limit, Instant::now() + limit)),
        };
        let mut redirects = 0;
        loop {
            let mut response = self.send_once(&request, &timeouts).await?;
            if config.max_redirects == 0 {
                return Ok(response);
            }
            let status = response.status();
            let Some(next) = redirect::next_request(&request, status, response.headers())? else {
                return Ok(response);
            };
            if redirects == config.max_redirects {
                return Err(Error::TooManyRedirects {
                    url: request.url.uri,
                    max: config.max_redirects,
                });
            }
            redirects += 1;
            response.discard_buffered_body();
            request = next;
        }
    }

    /// Sends `request` to its server once (no redirects), on an idle connection if there is one.
    async fn send_once(&self, request: &Request, timeouts: &Timeouts) -> Result<Response, Error> {
        let url = &request.url;
        let key = (url.scheme, url.host.clone(), url.port);
        let head = request.encode_head();
        if let Some(conn) = self.inner.pool.checkout(&key) {
            match self.exchange(conn, request, &head, &key, timeouts).await {
                // The server closed the idle connection as we wrote to it: the request never got
                // an answer, and one that may be repeated is repeated, once, on a new connection.
                Err(e) if request.method.is_idempotent() && closed_before_answering(&e) => {
                    tracing::debug!(target: "glass::http", error = %e, "idle connection was closed; retrying");
                }
                result => return result,
            }
        }
        let conn = Connection::connect(&request.url, timeouts, &self.inner.config.trust).await?;
        self.exchange(conn, request, &head, &key, timeouts).await
    }

    /// Writes the request head on `conn` and reads the response head.
    async fn exchange(
        &self,
        mut conn: Connection,
        request: &Request,
        head: &[u8],
        key: &Key,
        timeouts: &Timeouts,
    ) -> Result<Response, Error> {
        let uri = &request.url.uri;
        conn.write_all(head, timeouts, uri).await?;
        let response_head = head::read(&mut conn, timeouts, uri).await?;
        let pool = (self.inner.pool.clone(), key.clone());
        Response::new(
            &request.method,
            response_head,
            uri.clone(),
            conn,
            pool,
            *timeouts,
        )
    }
}

/// Whether `error` is what a connection closed by the server before our request reached it
/// looks like: the write fails, or the read finds the end (or a reset) before any byte.
fn closed_before_answering(error: &Error) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
    match error {
        Error::Io { source, .. } => matches!(
            source.kind(),
            UnexpectedEof | ConnectionReset | BrokenPipe | ConnectionAborted
        ),
        _ => false,
    }
}

/// Sets up a [`Client`]: `Client::builder().read_timeout(..).build()`.
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ClientBuilder {
    /// The settings so far.
    config: Config,
}

impl ClientBuilder {
    /// Limits resolving the host name plus connecting, for each new connection.
    pub fn connect_timeout(mut self, limit: Duration) -> ClientBuilder {
        self.config.connect_timeout = Some(limit);
        self
    }

    /// Limits each wait for data: the longest the server may stay silent, while the head or any
    /// part of the body is awaited.
    pub fn read_timeout(mut self, limit: Duration) -> ClientBuilder {
        self.config.read_timeout = Some(limit);
        self
    }

    /// Limits the whole request: connecting, redirects, and reading the body to its end.
    pub fn timeout(mut self, limit: Duration) -> ClientBuilder {
        self.config.timeout = Some(limit);
        self
    }

    /// How many redirects in a row to follow before failing with
    /// [`Error::TooManyRedirects`] (10 unless set). 0 follows none: redirects come back as
    /// responses.
    pub fn max_redirects(mut self, max: usize) -> ClientBuilder {
        self.config.max_redirects = max;
        self
    }

    /// Trusts `cert` as a root for `https://` servers, besides the system's store (reqwest's
    /// method of the same name; curl's `--cacert` adds a file of them, and
    /// [`Certificate::from_pem_bundle`] reads one).
    pub fn add_root_certificate(mut self, cert: Certificate) -> ClientBuilder {
        self.config.trust.extra_roots.push(cert);
        self
    }

    /// Whether the system's root certificates are trusted (yes unless told otherwise; reqwest's
    /// method of the same name). With `false`, only the roots added with
    /// [`add_root_certificate`](ClientBuilder::add_root_certificate) are, and a client with
    /// neither fails every `https://` request with [`TlsFailure::NoRootCertificates`].
    ///
    /// [`TlsFailure::NoRootCertificates`]: crate::TlsFailure::NoRootCertificates
    pub fn tls_built_in_root_certs(mut self, trust: bool) -> ClientBuilder {
        self.config.trust.system_roots = trust;
        self
    }

    /// The client.
    pub fn build(self) -> Client {
        Client {
            inner: Rc::new(Inner {
                config: self.config,
                pool: Rc::new(Pool::default()),
            }),
        }
    }
}
