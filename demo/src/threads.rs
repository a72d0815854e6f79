//! `--threads`: the design the book's chapter starts from. Each download gets an OS thread of its
//! own and blocking `std::net` sockets; the thread sleeps in `read(2)` while it waits for data.
//!
//! What happens to the bytes is shared with the glass tasks, not copied: the same `.part`,
//! resume and verification steps from `download.rs` and `download/resume.rs`, so the summary
//! compares how the waiting is done (threads used, and peak memory: each thread has its own
//! stack, and the kernel a task per thread to schedule). So is the HTTP's hard part: the response head and the body's framing
//! (`Content-Length`, `chunked`, or the connection's end) are read by `http_client::proto`, the
//! very code the async client runs, which does no I/O of its own; this file only moves bytes from
//! a blocking socket into its buffer. So neither design accepts a response the other refuses.
//! `https://` too: rustls over the blocking socket (its `StreamOwned`), with the config and the
//! words for a failed handshake from `http_client::proto`, so both designs trust the same roots
//! and refuse the same certificates. What the blocking side lacks: redirects (they fail with a
//! message saying so) and connection reuse (one `GET` per connection, `Connection: close`).
//! `http_client` is the real client; this is the comparison.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http_client::proto::rustls::{self, ClientConnection, StreamOwned};
use http_client::proto::{self, Decoder, ProtocolError, TlsFailure};

use crate::tls::Roots;

use crate::download::{self, Done, DownloadError, Head, Job, Next, Settings, Start};
use crate::progress::Progress;
use crate::retry::io_reason;

/// The blocking client's limits, as `http_client`'s builder takes them.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// For each address tried.
    pub connect: Duration,
    /// The longest silence between two reads.
    pub read: Duration,
}

/// How many bytes each read asks for, as `http_client`'s connections do.
const READ_SIZE: usize = 64 * 1024;

/// The roots `https://` downloads trust, set by [`trust`] before the first download. Process-wide
/// because every download thread of the run shares them, as the glass tasks share one client.
static ROOTS: OnceLock<Roots> = OnceLock::new();
/// The rustls config made from [`ROOTS`] by the first `https://` download, then shared.
static TLS_CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, TlsFailure>> = OnceLock::new();

/// Sets the roots for this run's `https://` downloads (the first call wins; without one, none is
/// trusted and every `https://` download fails saying so).
pub fn trust(roots: Roots) {
    let _ = ROOTS.set(roots);
}

/// The shared rustls config, made on first use.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, TlsFailure> {
    TLS_CONFIG
        .get_or_init(|| {
            let roots = ROOTS.get().cloned().unwrap_or_default();
            proto::tls_config(&roots.extra, roots.system)
        })
        .clone()
}

/// Does `job` on the calling thread, blocking it until done; a failure worth another attempt
/// (`retry.rs`) is tried again after a wait, as the glass design does. `transferred` is called
/// once the whole file is received, before its commit, as `download::run` does.
pub fn fetch(
    job: &Job,
    settings: &Settings,
    progress: &Progress,
    timeouts: Timeouts,
    transferred: impl FnOnce(),
) -> Result<Done, DownloadError> {
    let mut start = download::begin(job, settings, progress)?;
    let mut retries = 0;
    let mut transferred = Some(transferred);
    loop {
        let error = match attempt(job, &mut start, timeouts, &mut transferred) {
            Err(error) => error,
            done => return done,
        };
        let wait = download::before_retry(&mut start, settings, progress, error, &mut retries)?;
        std::thread::sleep(wait);
        progress.running();
    }
}

/// One attempt: asks (again, if the `.part` or the rules say so) and saves what comes.
fn attempt(
    job: &Job,
    start: &mut Start<'_>,
    timeouts: Timeouts,
    transferred: &mut Option<impl FnOnce()>,
) -> Result<Done, DownloadError> {
    if let Some(there) = start.already_complete()? {
        return there.hash_and_check_here(job);
    }
    // Held while this attempt talks to the host; given back before the commit and the hash.
    let connection = match download::connection_now(job, start.settings(), start.progress()) {
        Ok(permit) => permit,
        Err(semaphore) => {
            let permit = semaphore.acquire_blocking();
            start.progress().running();
            permit
        }
    };
    loop {
        let mut response = Response::get(&job.url, &start.headers(), timeouts)?;
        match download::on_head(start, &response.head)? {
            Next::Again => continue,
            Next::Skip(there) => return there.hash_and_check_here(job),
            Next::Complete(commit) => return commit.run_and_hash(),
            Next::Body(mut sink) => {
                sink.hash(None)?;
                while let Some(data) = response.read_body()? {
                    sink.write(&data)?;
                    // What `--threads` can do for `c`: look between two reads. A read that
                    // blocks delays it (up to the read timeout); no future can be dropped.
                    if start.progress().cancel_requested() {
                        return Err(DownloadError::Cancelled {
                            url: job.url.clone(),
                        });
                    }
                }
                drop((response, connection));
                let commit = sink.finish()?;
                if let Some(transferred) = transferred.take() {
                    transferred();
                }
                return commit.run_and_hash();
            }
        }
    }
}

/// A response being read: its head has been, its body is next.
struct Response {
    /// Where the body comes from.
    conn: Connection,
    /// The parts of the head the resume rules need.
    head: Head,
    /// Finds the body in the connection's buffer, and its end.
    decoder: Decoder,
}

/// A blocking connection and the bytes read from it that `http_client::proto` has not taken yet.
struct Connection {
    /// For error messages.
    url: String,
    /// The socket, blocking, with the read timeout set; for `https://` a TLS session on it.
    stream: Socket,
    /// Bytes read and not yet taken by the head parser or the decoder.
    buf: BytesMut,
    /// Where each read lands before it is copied onto `buf`: zeroed once (safe Rust reads only
    /// into initialised memory), where zeroing `buf`'s free space would cost it before every
    /// read, as in `http_client`'s connections.
    scratch: Box<[u8]>,
    /// For the timeout's error message (the socket enforces it).
    read_timeout: Duration,
}

/// What the bytes travel on.
enum Socket {
    /// `http://`.
    Plain(TcpStream),
    /// `https://`: rustls's blocking stream, which reads and writes the socket as needed.
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Plain(tcp) => tcp.read(buf),
            Socket::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Socket::Plain(tcp) => tcp.write(buf),
            Socket::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Socket::Plain(tcp) => tcp.flush(),
            Socket::Tls(tls) => tls.flush(),
        }
    }
}

/// The TLS handshake with `host` on `tcp`, blocking (under the socket's read timeout), as
/// `http_client`'s `tls.rs` does it without blocking: the same steps, the same failures.
fn handshake(
    mut tcp: TcpStream,
    config: Arc<rustls::ClientConfig>,
    host: &str,
) -> Result<Socket, String> {
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|_| format!("TLS: `{host}` is not a valid server name"))?;
    let mut session = ClientConnection::new(config, name).map_err(|e| format!("TLS: {e}"))?;
    let started = Instant::now();
    tracing::debug!(target: "glass::tls", host, "handshake start");
    let io_error = |e: io::Error| match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            "TLS: the handshake timed out (read timeout)".to_owned()
        }
        _ => format!("TLS: during the handshake: {e}"),
    };
    let mut received_tls = false;
    while session.is_handshaking() {
        if session.wants_write() {
            session.write_tls(&mut tcp).map_err(io_error)?;
            continue;
        }
        if session.read_tls(&mut tcp).map_err(io_error)? == 0 {
            return Err("TLS: the server closed the connection during the handshake".into());
        }
        if let Err(e) = session.process_new_packets() {
            let _ = session.write_tls(&mut tcp); // The alert saying why, if the socket takes it.
            return Err(format!("TLS: {}", proto::tls_failure(e, received_tls)));
        }
        received_tls = true;
    }
    proto::trace_handshake_done(&session, host, started);
    Ok(Socket::Tls(Box::new(StreamOwned::new(session, tcp))))
}

impl Response {
    /// Connects, sends `GET` with `headers` (`Range`, `If-Range`... from the resume rules) and
    /// reads the head.
    fn get(
        url: &str,
        headers: &[(&str, String)],
        timeouts: Timeouts,
    ) -> Result<Response, DownloadError> {
        let fail = |what: String| DownloadError::Blocking {
            url: url.to_owned(),
            what,
            retry: None,
        };
        let uri: http::Uri = url.parse().map_err(|e| fail(format!("invalid URL: {e}")))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(fail("only http:// and https:// URLs are supported".into())),
        };
        let authority = uri.authority().ok_or_else(|| fail("no host".into()))?;
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let host = authority.host().trim_matches(['[', ']']);
        // Before connecting, as `http_client` does: trusting nobody fails without a connection.
        let tls = match https {
            true => Some(tls_config().map_err(|f| fail(format!("TLS: {f}")))?),
            false => None,
        };
        let addrs = (host, port)
            .to_socket_addrs()
            .map_err(|e| fail(format!("resolving the host: {e}")))?;
        let mut last_error = None;
        let mut stream = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, timeouts.connect) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last_error = Some(e),
            }
        }
        let stream = stream.ok_or_else(|| match last_error {
            Some(e) => DownloadError::Blocking {
                url: url.to_owned(),
                what: format!("connecting: {e}"),
                retry: Some(io_reason(&e, "connection failed")),
            },
            None => fail("the host has no address".into()),
        })?;
        stream
            .set_read_timeout(Some(timeouts.read))
            .map_err(|e| fail(format!("setting the read timeout: {e}")))?;
        let mut stream = match tls {
            Some(config) => handshake(stream, config, host).map_err(fail)?,
            None => Socket::Plain(stream),
        };
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: glass-demo-threads\r\n\
             Accept-Encoding: identity\r\nConnection: close\r\n"
        );
        for (name, value) in headers {
            // Made by the resume rules from numbers and validators checked to be visible ASCII
            // (`validator::Validator`): none can end the header early.
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream
            .write_all(request.as_bytes())
            .and_then(|()| stream.flush())
            .map_err(|e| DownloadError::Blocking {
                url: url.to_owned(),
                what: format!("sending the request: {e}"),
                retry: Some(io_reason(&e, "connection failed")),
            })?;
        let mut conn = Connection {
            url: url.to_owned(),
            stream,
            buf: BytesMut::with_capacity(READ_SIZE),
            scratch: vec![0; READ_SIZE].into_boxed_slice(),
            read_timeout: timeouts.read,
        };
        let (head, decoder) = conn.read_head()?;
        Ok(Response {
            conn,
            head,
            decoder,
        })
    }

    /// The next piece of the body, read from the socket if none is buffered: `None` at its end.
    fn read_body(&mut self) -> Result<Option<Bytes>, DownloadError> {
        let conn = &mut self.conn;
        loop {
            let data = self.decoder.decode(&mut conn.buf);
            if let Some(data) = data.map_err(|e| conn.protocol_error(e))? {
                return Ok(Some(data));
            }
            if self.decoder.is_done() {
                return Ok(None);
            }
            if conn.fill()? == 0 {
                // Fine for a body that runs until the close; a cut body says how much came.
                self.decoder.at_eof().map_err(|e| conn.protocol_error(e))?;
                return Ok(None);
            }
        }
    }
}

impl Connection {
    /// A failure on this connection; `retry` says why another attempt may succeed.
    fn error(&self, what: String, retry: Option<&'static str>) -> DownloadError {
        DownloadError::Blocking {
            url: self.url.clone(),
            what,
            retry,
        }
    }

    /// Names a protocol failure found by `http_client::proto`: a body cut short is worth
    /// another attempt (which resumes it), a malformed response is not.
    fn protocol_error(&self, e: ProtocolError) -> DownloadError {
        let retry = matches!(e, ProtocolError::Truncated { .. }).then_some("cut short");
        self.error(e.to_string(), retry)
    }

    /// Names a failed read: a read timeout says so, with the limit.
    fn read_error(&self, e: io::Error) -> DownloadError {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => self.error(
                format!("read timeout: nothing received for {:?}", self.read_timeout),
                Some("read timeout"),
            ),
            _ => self.error(
                format!("reading the response: {e}"),
                Some(io_reason(&e, "connection failed")),
            ),
        }
    }

    /// One read from the socket onto the end of `buf`, through `scratch`: the number of bytes, 0
    /// at the end of the connection.
    fn fill(&mut self) -> Result<usize, DownloadError> {
        let read = loop {
            match self.stream.read(&mut self.scratch) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                read => break read,
            }
        };
        let n = read.map_err(|e| self.read_error(e))?;
        self.buf.extend_from_slice(&self.scratch[..n]);
        Ok(n)
    }

    /// Reads the final response head (`proto::take_head` skips interim 1xx ones) and makes the
    /// body's decoder for it, which refuses a framing that cannot be trusted: saving its body
    /// would save the wrong bytes.
    fn read_head(&mut self) -> Result<(Head, Decoder), DownloadError> {
        let mut interim_bytes = 0;
        let head = loop {
            let head = proto::take_head(&mut self.buf, &mut interim_bytes);
            if let Some(head) = head.map_err(|e| self.protocol_error(e))? {
                break head;
            }
            if self.fill()? == 0 {
                return Err(self.error(
                    "the connection closed before the response head".into(),
                    Some("connection closed"),
                ));
            }
        };
        let decoder =
            Decoder::for_response(&http::Method::GET, &head).map_err(|e| self.protocol_error(e))?;
        let header = |name: http::header::HeaderName| {
            head.headers
                .get(name)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).trim().to_owned())
        };
        let head = Head {
            status: head.status.as_u16(),
            content_length: head.content_length(),
            content_range: header(http::header::CONTENT_RANGE),
            content_disposition: header(http::header::CONTENT_DISPOSITION),
            etag: header(http::header::ETAG),
            last_modified: header(http::header::LAST_MODIFIED),
            date: header(http::header::DATE),
            retry_after: header(http::header::RETRY_AFTER),
        };
        Ok((head, decoder))
    }
}
