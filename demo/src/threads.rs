//! `--threads`: the design the book's chapter starts from. Each download gets an OS thread of its
//! own and blocking `std::net` sockets; the thread sleeps in `read(2)` while it waits for data.
//!
//! What happens to the bytes is shared with the glass tasks, not copied: the same `.part`,
//! resume and verification steps from `download.rs`, so the summary compares how the waiting is
//! done (threads used, and peak memory: each thread has its own stack, and the kernel a task per
//! thread to schedule). The HTTP is its own, and smaller than `http_client`: one `GET` per
//! connection (`Connection: close`), the head parsed by `httparse`, bodies framed by
//! `Content-Length`, `chunked`, or the connection's end. Where a body ends follows
//! `http_client`'s rules exactly ([`framing`] says where they are copied from), so neither design
//! accepts a response the other refuses. What it lacks: redirects and `https` (both fail with a
//! message saying so), and connection reuse. `http_client` is the real client; this is the
//! comparison.

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

/// The longest response head accepted (interim heads included), and the most trailer bytes, as
/// in `http_client`.
const MAX_HEAD: usize = 64 * 1024;
/// The longest chunk-size or trailer line accepted, as in `http_client`.
const MAX_LINE: u64 = 4 * 1024;

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

    /// Reads the final response head, skipping interim (1xx) ones, and works out the body's
    /// framing with [`framing`].
    fn read_head(&mut self) -> Result<(), DownloadError> {
        // All heads together count against the limit, so a stream of 1xx cannot go on forever.
        let mut head_bytes = 0;
        loop {
            let raw = self.read_one_head(MAX_HEAD - head_bytes)?;
            head_bytes += raw.len();
            let mut headers = [httparse::EMPTY_HEADER; 100];
            let mut parsed = httparse::Response::new(&mut headers);
            parsed
                .parse(&raw)
                .map_err(|e| self.error(format!("malformed response head: {e}")))?;
            let status = parsed.code.unwrap_or(0);
            // Interim responses (100 Continue, 103 Early Hints) are dropped, as RFC 9110
            // section 15.2 asks; 101 is final (and then refused: it is not the file).
            if (100..200).contains(&status) && status != 101 {
                continue;
            }
            let version = parsed.version.unwrap_or(1);
            let (framing, length) =
                framing(version, status, parsed.headers).map_err(|e| self.error(e))?;
            let header = |name: &str| {
                parsed
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case(name))
                    .map(|h| String::from_utf8_lossy(h.value).trim().to_owned())
            };
            self.head = Head {
                status,
                content_length: length,
                content_range: header("content-range"),
                content_disposition: header("content-disposition"),
            };
            self.framing = framing;
            return Ok(());
        }
    }

    /// Reads one head, up to and including its empty line, of at most `limit` bytes.
    fn read_one_head(&mut self, limit: usize) -> Result<Vec<u8>, DownloadError> {
        let mut raw = Vec::new();
        while !raw.ends_with(b"\r\n\r\n") {
            let left = (limit - raw.len()) as u64;
            let read = (&mut self.reader).take(left).read_until(b'\n', &mut raw);
            let n = read.map_err(|e| self.read_error(e))?;
            if n == 0 {
                return Err(self.error("the connection closed before the response head".into()));
            }
            if raw.len() >= limit {
                return Err(self.error("response head over 64 KiB".into()));
            }
        }
        Ok(raw)
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
            // httparse reads an empty (or extension-only) line as size 0, the last chunk; RFC
            // 9112 wants a digit first (the same check as http-client/src/body.rs).
            Ok(httparse::Status::Complete((_, size)))
                if line.first().is_some_and(u8::is_ascii_hexdigit) =>
            {
                size
            }
            _ => return Err(self.error("malformed chunk-size line".into())),
        };
        if size > 0 {
            self.framing = Framing::Chunked(size);
            return Ok(());
        }
        // Trailers, read and ignored, but checked and bounded as http_client does.
        let mut seen = 0;
        loop {
            let line = self.line()?;
            if line == b"\r\n" {
                break;
            }
            seen += line.len();
            if !line.ends_with(b"\r\n") || !line.contains(&b':') || seen > MAX_HEAD {
                return Err(self.error("invalid or oversized trailers".into()));
            }
        }
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
        let read = (&mut self.reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line);
        read.map_err(|e| self.read_error(e))?;
        if line.len() as u64 == MAX_LINE && !line.ends_with(b"\n") {
            return Err(self.error("a chunk-size or trailer line over 4 KiB".into()));
        }
        if !line.ends_with(b"\n") {
            return Err(self.error("the connection closed inside a chunked body".into()));
        }
        Ok(line)
    }
}

/// How the body of a response with this head ends, and its `Content-Length` if that is what
/// frames it: RFC 9112 section 6.3, with the checks `http_client` makes. They are copied from
/// http-client/src/body.rs (`Decoder::for_response`, `check_chunked_only`, `content_length`),
/// whose decoder is private to that crate; keep the two in step.
///
/// `version` is httparse's minor version (0 for HTTP/1.0). An `Err` says what is wrong, for a
/// response whose framing cannot be trusted: saving its body would save the wrong bytes.
fn framing(
    version: u8,
    status: u16,
    headers: &[httparse::Header<'_>],
) -> Result<(Framing, Option<u64>), String> {
    if matches!(status, 100..=199 | 204 | 304) {
        return Ok((Framing::Done, None));
    }
    let transfer_encoding = headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("transfer-encoding"));
    if transfer_encoding {
        // HTTP/1.0 has no transfer codings (RFC 9112 section 6.1): the framing is faulty.
        if version == 0 {
            return Err("Transfer-Encoding in an HTTP/1.0 response".into());
        }
        // Only `chunked`, alone, in any case: no TE was sent, so no other coding is allowed.
        let mut codings = list_items(headers, "transfer-encoding");
        return match (codings.next(), codings.next()) {
            // A Content-Length beside it is ignored, as section 6.3 says.
            (Some(coding), None) if coding.eq_ignore_ascii_case(b"chunked") => {
                Ok((Framing::Chunked(0), None))
            }
            _ => Err("unsupported Transfer-Encoding (only `chunked` is)".into()),
        };
    }
    // Every Content-Length value, in every field, must be a number, and all the same one.
    let mut length = None;
    for item in list_items(headers, "content-length") {
        let value = std::str::from_utf8(item)
            .ok()
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| format!("invalid Content-Length {:?}", String::from_utf8_lossy(item)))?;
        if length.is_some_and(|length| length != value) {
            return Err("conflicting Content-Length values".into());
        }
        length = Some(value);
    }
    Ok((length.map_or(Framing::Close, Framing::Length), length))
}

/// The comma-separated items of every field called `name`, trimmed; empty items are skipped, but
/// an all-blank field still yields one empty item, so that an empty `Content-Length` is caught.
fn list_items<'a>(
    headers: &'a [httparse::Header<'_>],
    name: &'a str,
) -> impl Iterator<Item = &'a [u8]> {
    headers
        .iter()
        .filter(move |h| h.name.eq_ignore_ascii_case(name))
        .flat_map(|h| {
            let all_blank = h.value.iter().all(|b| *b == b' ' || *b == b'\t');
            h.value
                .split(|&b| b == b',')
                .map(<[u8]>::trim_ascii)
                .filter(move |item| all_blank || !item.is_empty())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The framing of a response head given as `name: value` pairs.
    fn framed(version: u8, status: u16, fields: &[(&str, &str)]) -> Result<Option<u64>, String> {
        let headers: Vec<_> = fields
            .iter()
            .map(|(name, value)| httparse::Header {
                name,
                value: value.as_bytes(),
            })
            .collect();
        let (framing, length) = framing(version, status, &headers)?;
        match framing {
            Framing::Chunked(0) => Ok(None),
            Framing::Length(n) => Ok(Some(n).filter(|&n| Some(n) == length)),
            other => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn framing_follows_http_client() {
        let te = "transfer-encoding";
        assert_eq!(framed(1, 200, &[(te, "CHUNKED")]), Ok(None));
        assert_eq!(
            framed(1, 200, &[(te, "chunked"), ("content-length", "9")]),
            Ok(None)
        );
        assert!(framed(1, 200, &[(te, "gzip, chunked")]).is_err());
        assert!(framed(1, 200, &[(te, "chunked"), (te, "chunked")]).is_err());
        assert!(framed(0, 200, &[(te, "chunked")]).is_err());
        let cl = "Content-Length";
        assert_eq!(framed(1, 200, &[(cl, "5"), (cl, "5, 5")]), Ok(Some(5)));
        assert!(framed(1, 200, &[(cl, "5"), (cl, "6")]).is_err());
        assert!(framed(1, 200, &[(cl, "")]).is_err());
        assert!(framed(1, 200, &[(cl, "+5")]).is_err());
        assert!(framed(1, 200, &[]).is_err_and(|e| e == "Close"));
        assert!(framed(1, 204, &[(cl, "5")]).is_err_and(|e| e == "Done"));
    }
}
