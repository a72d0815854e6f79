//! The embedded demo server: serves the [`Catalog`]'s generated files over HTTP/1.1 on glass, on
//! the same thread as the downloads that fetch them.
//!
//! Each file is sent at a fixed pace (its size over its `duration`): before each slice the
//! connection's task sleeps on a glass timer until the slice is due, so the server is one more
//! kind of waiting (timers) beside the client's (sockets), and both share the one thread. Even
//! files are sent with `Content-Length`, odd ones `chunked`. `Range: bytes=N-` (and `N-M`) is
//! answered with `206`, so interrupted downloads resume against it too.
//!
//! With `--https` each connection is a TLS session first (`futures-rustls` over glass's
//! `TcpStream`, see `tls.rs`): the handshake, the encryption and the pacing all share the thread.
//!
//! Deliberately small: one request per connection (`Connection: close`), `GET` and `HEAD` only,
//! no keep-alive, no `If-Range`. It is a test pattern generator, not a web server.

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use futures_rustls::TlsAcceptor;
use reactor::net::TcpListener;
use reactor::time::{sleep, sleep_until};

use crate::catalog::{Catalog, GeneratedFile};

/// The longest request head accepted; more is answered with 431.
const MAX_HEAD: usize = 16 * 1024;

/// Slices are sized for about this many writes a second per file: smooth bars, few wake-ups.
const SLICES_PER_SECOND: f64 = 20.0;

/// Binds `127.0.0.1:0`, spawns the task that accepts connections, and returns the address. With
/// `tls`, every connection speaks TLS.
pub async fn start(catalog: Rc<Catalog>, tls: Option<TlsAcceptor>) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    executor::Builder::new()
        .name("server: accept loop")
        .spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let (catalog, tls) = (catalog.clone(), tls.clone());
                        let conn = executor::Builder::new().name("server conn");
                        conn.spawn(async move {
                            // A client that goes away mid-file (or refuses the handshake) is its own
                            // business.
                            let _ = match tls {
                                Some(tls) => match tls.accept(stream).await {
                                    Ok(stream) => serve(stream, &catalog).await,
                                    Err(e) => Err(e),
                                },
                                None => serve(stream, &catalog).await,
                            };
                        });
                    }
                    // Out of file descriptors, say: pause rather than spin on the same error.
                    Err(_) => sleep(Duration::from_millis(50)).await,
                }
            }
        });
    Ok(addr)
}

/// Answers one request on `stream` (a `TcpStream`, or a TLS session on one), then closes it:
/// over TLS with `close_notify`, so the client can tell the end from a cut.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    catalog: &Catalog,
) -> io::Result<()> {
    answer(&mut stream, catalog).await?;
    stream.close().await
}

/// Reads one request from `stream` and answers it.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    catalog: &Catalog,
) -> io::Result<()> {
    let mut buf = vec![0; MAX_HEAD];
    let mut len = 0;
    let request = loop {
        if len == buf.len() {
            return respond(stream, "431 Request Header Fields Too Large", "", "").await;
        }
        let n = stream.read(&mut buf[len..]).await?;
        if n == 0 {
            return Ok(()); // Closed before a whole request arrived.
        }
        len += n;
        match parse_request(&buf[..len]) {
            Ok(Some(request)) => break request,
            Ok(None) => continue,
            Err(()) => return respond(stream, "400 Bad Request", "", "bad request\n").await,
        }
    };
    let (method, path, range) = (
        request.method.as_str(),
        request.path.as_str(),
        request.range,
    );
    if method != "GET" && method != "HEAD" {
        return respond(stream, "405 Method Not Allowed", "", "GET or HEAD\n").await;
    }
    let head_only = method == "HEAD";
    if path == "/" {
        let mut index = String::from("glass demo server: generated files\n");
        for f in &catalog.files {
            index.push_str(&format!("/files/{}  {} bytes\n", f.name, f.size));
        }
        return respond(stream, "200 OK", "", if head_only { "" } else { &index }).await;
    }
    let file = path
        .strip_prefix("/files/")
        .and_then(|name| catalog.find(name));
    let Some(file) = file else {
        return respond(stream, "404 Not Found", "", "no such file\n").await;
    };
    match range.as_deref().map(|r| parse_range(r, file.size)) {
        None => send_file(stream, file, 0, file.size, false, head_only).await,
        Some(Some((start, end))) => send_file(stream, file, start, end, true, head_only).await,
        Some(None) => {
            let extra = format!("Content-Range: bytes */{}\r\n", file.size);
            respond(stream, "416 Range Not Satisfiable", &extra, "").await
        }
    }
}

/// The parts of a request head the server looks at.
struct Request {
    /// Only `GET` and `HEAD` are served.
    method: String,
    /// `/` or `/files/NAME`.
    path: String,
    /// The `Range` header, if any.
    range: Option<String>,
}

/// Parses a request head with `httparse`: `Ok(None)` while it is incomplete.
fn parse_request(buf: &[u8]) -> Result<Option<Request>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(buf) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(()),
    }
    let range = request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("range"))
        .map(|h| String::from_utf8_lossy(h.value).into_owned());
    Ok(Some(Request {
        method: request.method.unwrap_or("").to_owned(),
        path: request.path.unwrap_or("").to_owned(),
        range,
    }))
}

/// `bytes=N-` or `bytes=N-M` as a half-open byte range within `size`; `None` if unsatisfiable or
/// not understood (several ranges, suffix ranges: answered 416 too, which is allowed).
fn parse_range(value: &str, size: u64) -> Option<(u64, u64)> {
    let (start, end) = value.trim().strip_prefix("bytes=")?.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end = match end.trim() {
        "" => size,
        end => end.parse::<u64>().ok()?.saturating_add(1).min(size),
    };
    (start < end).then_some((start, end))
}

/// Sends a short response with a fixed body.
async fn respond(
    stream: &mut (impl AsyncWrite + Unpin),
    status: &str,
    extra: &str,
    body: &str,
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{extra}\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await
}

/// Sends bytes `start..end` of `file` at the file's pace: the whole file would take its
/// `duration`, so a resumed remainder takes proportionally less.
async fn send_file(
    stream: &mut (impl AsyncWrite + Unpin),
    file: &GeneratedFile,
    start: u64,
    end: u64,
    partial: bool,
    head_only: bool,
) -> io::Result<()> {
    // Ranges go out with a Content-Length (simplest); whole files in their own framing.
    let chunked = file.chunked && !partial;
    let mut head = if partial {
        format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{}/{}\r\n",
            end - 1,
            file.size
        )
    } else {
        "HTTP/1.1 200 OK\r\n".to_owned()
    };
    if chunked {
        head.push_str("Transfer-Encoding: chunked\r\n");
    } else {
        head.push_str(&format!("Content-Length: {}\r\n", end - start));
    }
    head.push_str("Content-Type: application/octet-stream\r\nAccept-Ranges: bytes\r\n");
    head.push_str("Connection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.flush().await?;
    if head_only {
        return Ok(());
    }

    let rate = file.size as f64 / file.duration.as_secs_f64(); // bytes per second
    let slice = (rate / SLICES_PER_SECOND).clamp(4096.0, 256.0 * 1024.0) as u64;
    let mut buf = vec![0; slice as usize];
    let began = Instant::now();
    let mut offset = start;
    while offset < end {
        // Due when the bytes sent so far have taken their share of the time.
        sleep_until(began + Duration::from_secs_f64((offset - start) as f64 / rate)).await;
        let n = slice.min(end - offset) as usize;
        file.fill(offset, &mut buf[..n]);
        if chunked {
            stream.write_all(format!("{n:x}\r\n").as_bytes()).await?;
            stream.write_all(&buf[..n]).await?;
            stream.write_all(b"\r\n").await?;
        } else {
            stream.write_all(&buf[..n]).await?;
        }
        // Over TLS, records rustls still holds go out now, not when the next slice is due.
        stream.flush().await?;
        offset += n as u64;
    }
    if chunked {
        stream.write_all(b"0\r\n\r\n").await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=5-", 10), Some((5, 10)));
        assert_eq!(parse_range("bytes=5-6", 10), Some((5, 7)));
        assert_eq!(parse_range("bytes=5-60", 10), Some((5, 10)));
        assert_eq!(parse_range("bytes=10-", 10), None);
        assert_eq!(parse_range("bytes=-5", 10), None);
        assert_eq!(parse_range("bytes=1-2,4-5", 10), None);
    }
}
