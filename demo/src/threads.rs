//! `--threads`: the design the book's chapter starts from. Each download gets an OS thread of its
//! own and blocking `std::net` sockets; the thread sleeps in `read(2)` while it waits for data.
//!
//! It does the same work as the glass tasks (the same `.part`, resume and verification steps from
//! `download.rs`), so the summary compares only how the waiting is done: threads used, and peak
//! memory (each thread has its own stack, and the kernel a task per thread to schedule).
//!
//! The HTTP here is the least that serves: one `GET` per connection (`Connection: close`), the
//! head parsed by `httparse`, bodies framed by `Content-Length`, `chunked`, or the connection's
//! end. No redirects, no `https`: those fail with a message saying so. `http_client` is the real
//! client; this is the comparison.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::download::{self, Done, DownloadError, Head, Job, Next, Settings};
use crate::progress::Progress;

/// The blocking client's limits, as `http_client`'s builder takes them.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// For each address tried.
    pub connect: Duration,
    /// The longest silence between two reads.
    pub read: Duration,
}

/// The longest response head accepted, as in `http_client`.
const MAX_HEAD: usize = 64 * 1024;

/// Does `job` on the calling thread, blocking it until done.
pub fn fetch(
    job: &Job,
    settings: &Settings,
    progress: &Progress,
    timeouts: Timeouts,
) -> Result<Done, DownloadError> {
    let mut start = download::begin(job, settings, progress)?;
    let mut buf = vec![0; 64 * 1024];
    loop {
        let mut response = Response::get(&job.url, start.have, timeouts)?;
        match download::on_head(&mut start, &response.head)? {
            Next::Again => continue,
            Next::Complete(done) => return Ok(done),
            Next::Body(mut sink) => {
                while let Some(n) = response.read_body(&mut buf)? {
                    sink.write(&buf[..n])?;
                }
                return sink.finish();
            }
        }
    }
}

/// How the body's end is known.
#[derive(Debug)]
enum Framing {
    /// This many bytes are left.
    Length(u64),
    /// Bytes left in the current chunk; 0 means a size line comes next.
    Chunked(u64),
    /// Until the server closes.
    Close,
    /// Nothing more to read.
    Done,
}

/// A response being read.
struct Response {
    /// For error messages.
    url: String,
    /// The connection, buffered: heads and chunk-size lines are read line by line.
    reader: BufReader<TcpStream>,
    /// The parts of the head the resume rules need.
    head: Head,
    /// Where the body ends.
    framing: Framing,
    /// For the timeout's error message (the socket enforces it).
    read_timeout: Duration,
}

impl Response {
    /// Connects, sends `GET` (with `Range: bytes={from}-` if `from > 0`) and reads the head.
    fn get(url: &str, from: u64, timeouts: Timeouts) -> Result<Response, DownloadError> {
        let fail = |what: String| DownloadError::Blocking {
            url: url.to_owned(),
            what,
        };
        let uri: http::Uri = url.parse().map_err(|e| fail(format!("invalid URL: {e}")))?;
        if uri.scheme_str() != Some("http") {
            return Err(fail("only http:// URLs are supported".into()));
        }
        let authority = uri.authority().ok_or_else(|| fail("no host".into()))?;
        let port = authority.port_u16().unwrap_or(80);
        let addrs = (authority.host().trim_matches(['[', ']']), port)
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
        let stream = stream.ok_or_else(|| {
            fail(match last_error {
                Some(e) => format!("connecting: {e}"),
                None => "the host has no address".into(),
            })
        })?;
        stream
            .set_read_timeout(Some(timeouts.read))
            .map_err(|e| fail(format!("setting the read timeout: {e}")))?;
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: glass-demo-threads\r\n\
             Accept-Encoding: identity\r\nConnection: close\r\n"
        );
        if from > 0 {
            request.push_str(&format!("Range: bytes={from}-\r\n"));
        }
        request.push_str("\r\n");
        (&stream)
            .write_all(request.as_bytes())
            .map_err(|e| fail(format!("sending the request: {e}")))?;
        let mut response = Response {
            url: url.to_owned(),
            reader: BufReader::with_capacity(64 * 1024, stream),
            head: Head::default(),
            framing: Framing::Done,
            read_timeout: timeouts.read,
        };
        response.read_head()?;
        Ok(response)
    }

    fn error(&self, what: String) -> DownloadError {
        DownloadError::Blocking {
            url: self.url.clone(),
            what,
        }
    }

    /// Names a failed read: a read timeout says so, with the limit.
    fn read_error(&self, e: io::Error) -> DownloadError {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => self.error(format!(
                "read timeout: nothing received for {:?}",
                self.read_timeout
            )),
            _ => self.error(format!("reading the response: {e}")),
        }
    }

    /// Reads and parses the head, and works out the body's framing (RFC 9112, section 6.3).
    fn read_head(&mut self) -> Result<(), DownloadError> {
        let mut raw = Vec::new();
        while !raw.ends_with(b"\r\n\r\n") {
            let limit = MAX_HEAD as u64 - raw.len() as u64;
            let read = (&mut self.reader).take(limit).read_until(b'\n', &mut raw);
            let n = read.map_err(|e| self.read_error(e))?;
            if n == 0 {
                return Err(self.error("the connection closed before the response head".into()));
            }
            if raw.len() >= MAX_HEAD {
                return Err(self.error("response head over 64 KiB".into()));
            }
        }
        let mut headers = [httparse::EMPTY_HEADER; 100];
        let mut parsed = httparse::Response::new(&mut headers);
        parsed
            .parse(&raw)
            .map_err(|e| self.error(format!("malformed response head: {e}")))?;
        let header = |name: &str| {
            parsed
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| String::from_utf8_lossy(h.value).trim().to_owned())
        };
        let status = parsed.code.unwrap_or(0);
        let chunked = header("transfer-encoding")
            .is_some_and(|te| te.rsplit(',').next().unwrap_or("").trim() == "chunked");
        let length = match header("content-length") {
            Some(v) if !chunked => Some(
                v.parse::<u64>()
                    .map_err(|_| self.error(format!("invalid Content-Length {v:?}")))?,
            ),
            _ => None,
        };
        self.framing = match (status, chunked, length) {
            (100..=199 | 204 | 304, _, _) => Framing::Done,
            (_, true, _) => Framing::Chunked(0),
            (_, false, Some(n)) => Framing::Length(n),
            (_, false, None) => Framing::Close,
        };
        self.head = Head {
            status,
            content_length: length,
            content_range: header("content-range"),
            content_disposition: header("content-disposition"),
        };
        Ok(())
    }

    /// Reads some of the body into `buf`: `None` at its end.
    fn read_body(&mut self, buf: &mut [u8]) -> Result<Option<usize>, DownloadError> {
        loop {
            let want = match self.framing {
                Framing::Done => return Ok(None),
                Framing::Length(0) => {
                    self.framing = Framing::Done;
                    return Ok(None);
                }
                Framing::Chunked(0) => {
                    self.next_chunk()?;
                    continue;
                }
                Framing::Length(left) | Framing::Chunked(left) => buf.len().min(left as usize),
                Framing::Close => buf.len(),
            };
            let n = self
                .reader
                .read(&mut buf[..want])
                .map_err(|e| self.read_error(e))?;
            match (&mut self.framing, n) {
                (Framing::Close, 0) => self.framing = Framing::Done,
                (_, 0) => {
                    return Err(self.error("the connection closed before the body ended".into()));
                }
                (Framing::Length(left), n) => *left -= n as u64,
                (Framing::Chunked(left), n) => {
                    *left -= n as u64;
                    if *left == 0 {
                        self.expect_line_end()?;
                    }
                }
                _ => {}
            }
            if n > 0 {
                return Ok(Some(n));
            }
        }
    }

    /// Reads a chunk-size line; at the last chunk, skips the trailers and ends the body.
    fn next_chunk(&mut self) -> Result<(), DownloadError> {
        let line = self.line()?;
        let size = match httparse::parse_chunk_size(&line) {
            Ok(httparse::Status::Complete((_, size))) => size,
            _ => return Err(self.error("malformed chunk size".into())),
        };
        if size > 0 {
            self.framing = Framing::Chunked(size);
            return Ok(());
        }
        while self.line()? != b"\r\n" {} // Trailers, read and ignored.
        self.framing = Framing::Done;
        Ok(())
    }

    fn expect_line_end(&mut self) -> Result<(), DownloadError> {
        match self.line()?.as_slice() {
            b"\r\n" => Ok(()),
            _ => Err(self.error("a chunk did not end with CRLF".into())),
        }
    }

    /// One line, CRLF included, of at most 4 KiB.
    fn line(&mut self) -> Result<Vec<u8>, DownloadError> {
        let mut line = Vec::new();
        let read = (&mut self.reader).take(4096).read_until(b'\n', &mut line);
        read.map_err(|e| self.read_error(e))?;
        if !line.ends_with(b"\n") {
            return Err(self.error("the connection closed inside a chunked body".into()));
        }
        Ok(line)
    }
}
