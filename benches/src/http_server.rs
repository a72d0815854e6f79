//! The local HTTP/1.1 server every HTTP workload talks to, and a blocking client for the reference.
//!
//! The server belongs to no contender: plain blocking `std::net`, one thread per connection, so
//! glass's client, hyper and the blocking reference all meet the same server on the same terms.
//! It knows one route, `GET /bytes/<n>`, which answers `n` bytes with a `Content-Length`, and it
//! keeps connections alive until the client closes them (or sends `Connection: close`).
//!
//! The body is one shared buffer of [`MAX_BODY`] bytes: a response is its header and a slice of
//! that buffer, written together when small (one segment for a 1 KiB body) and in two writes when
//! large, so the server does no per-request allocation worth speaking of.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

/// The largest body the server sends.
pub const MAX_BODY: usize = 1024 * 1024;

/// Bodies up to this size go out in the same write as their header.
const SMALL_BODY: usize = 64 * 1024;

/// Bounds for the server's loops: far beyond any workload, there only so that nothing can loop
/// forever on a misbehaving peer.
const MAX_CONNECTIONS: usize = 100_000_000;
const MAX_REQUESTS_PER_CONNECTION: usize = 100_000_000;
const MAX_HEADER_LINES: usize = 100;

/// What every body byte is.
const BODY_BYTE: u8 = b'g';

/// A running server on `127.0.0.1`. Dropping it stops accepting; connections that are still open
/// end when their clients close them.
pub struct HttpServer {
    addr: SocketAddr,
    /// Tells the accept loop to stop; it looks after every accepted connection.
    stop: Arc<AtomicBool>,
    /// The accept loop's thread, joined on drop.
    acceptor: Option<thread::JoinHandle<()>>,
}

impl HttpServer {
    /// Binds to a free loopback port and starts accepting on a helper thread.
    pub fn start() -> io::Result<HttpServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let body: Arc<[u8]> = vec![BODY_BYTE; MAX_BODY].into();
        let acceptor = {
            let stop = stop.clone();
            thread::Builder::new()
                .name("http-server".into())
                .spawn(move || accept_loop(listener, &stop, &body))?
        };
        Ok(HttpServer {
            addr,
            stop,
            acceptor: Some(acceptor),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The path that answers `size` bytes.
    pub fn path(size: usize) -> String {
        format!("/bytes/{size}")
    }

    /// The full URL that answers `size` bytes.
    pub fn url(&self, size: usize) -> String {
        format!("http://{}{}", self.addr, Self::path(size))
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the accept loop, which is blocked in accept(2), so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(listener: TcpListener, stop: &AtomicBool, body: &Arc<[u8]>) {
    for _ in 0..MAX_CONNECTIONS {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            // EMFILE and friends: the connection stays queued; try again after a pause, so a
            // lasting shortage does not turn this loop into a spin.
            Err(_) => {
                thread::sleep(std::time::Duration::from_millis(1));
                continue;
            }
        };
        if stop.load(Ordering::Acquire) {
            return;
        }
        let body = body.clone();
        let spawned = thread::Builder::new()
            .name("http-conn".into())
            .spawn(move || {
                // A client that hangs up mid-request is not the server's problem.
                let _ = serve_connection(stream, &body);
            });
        // Out of threads: the connection is dropped (closed) and the client sees an error.
        drop(spawned);
    }
}

/// Answers requests on one connection until the client closes it.
fn serve_connection(stream: TcpStream, body: &[u8]) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let mut line = String::new();
    let mut small_response = Vec::new();
    for _ in 0..MAX_REQUESTS_PER_CONNECTION {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(()); // The client closed the connection between requests.
        }
        let size = parse_request_line(&line);
        let mut close = false;
        for _ in 0..MAX_HEADER_LINES {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                close |= name.eq_ignore_ascii_case("connection")
                    && value.trim().eq_ignore_ascii_case("close");
            }
        }
        let Some(size) = size else {
            writer.write_all(
                b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            )?;
            return Ok(());
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {size}\r\n\r\n"
        );
        if size <= SMALL_BODY {
            small_response.clear();
            small_response.extend_from_slice(head.as_bytes());
            small_response.extend_from_slice(&body[..size]);
            writer.write_all(&small_response)?;
        } else {
            writer.write_all(head.as_bytes())?;
            writer.write_all(&body[..size])?;
        }
        if close {
            return Ok(());
        }
    }
    Ok(())
}

/// The body size a request line asks for: `GET /bytes/<n> HTTP/1.1` with `n <= MAX_BODY`.
fn parse_request_line(line: &str) -> Option<usize> {
    let mut parts = line.split_ascii_whitespace();
    let (method, target) = (parts.next()?, parts.next()?);
    let size = target.strip_prefix("/bytes/")?.parse().ok()?;
    (method == "GET" && size <= MAX_BODY).then_some(size)
}

// ===== The blocking client, for the reference =====

/// A minimal blocking HTTP/1.1 client on one keep-alive connection: the blocking reference's
/// side of the HTTP workloads. It understands exactly what [`HttpServer`] sends.
pub struct BlockingClient {
    reader: BufReader<TcpStream>,
    host: String,
    /// Reused for every body, so a request costs no allocation.
    body: Vec<u8>,
    line: String,
}

impl BlockingClient {
    /// Connects to `addr`.
    pub fn connect(addr: SocketAddr) -> io::Result<BlockingClient> {
        let stream = TcpStream::connect(addr)?;
        Ok(BlockingClient {
            reader: BufReader::with_capacity(64 * 1024, stream),
            host: addr.to_string(),
            body: Vec::new(),
            line: String::new(),
        })
    }

    /// Sends `GET path` and reads the whole response; returns the body's length.
    pub fn get(&mut self, path: &str) -> io::Result<usize> {
        let request = format!("GET {path} HTTP/1.1\r\nhost: {}\r\n\r\n", self.host);
        self.reader.get_mut().write_all(request.as_bytes())?;
        self.line.clear();
        self.reader.read_line(&mut self.line)?;
        if !self.line.starts_with("HTTP/1.1 200") {
            return Err(io::Error::other(format!(
                "blocking client: unexpected status line {:?}",
                self.line
            )));
        }
        let mut length = None;
        for _ in 0..MAX_HEADER_LINES {
            self.line.clear();
            if self.reader.read_line(&mut self.line)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let header = self.line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().ok();
            }
        }
        let length: usize = length.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "blocking client: no content-length",
            )
        })?;
        self.body.resize(length, 0);
        self.reader.read_exact(&mut self.body)?;
        Ok(length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_are_parsed_strictly() {
        assert_eq!(
            parse_request_line("GET /bytes/1024 HTTP/1.1\r\n"),
            Some(1024)
        );
        assert_eq!(parse_request_line("GET /bytes/0 HTTP/1.1\r\n"), Some(0));
        assert_eq!(parse_request_line("POST /bytes/1 HTTP/1.1\r\n"), None);
        assert_eq!(parse_request_line("GET /other HTTP/1.1\r\n"), None);
        assert_eq!(
            parse_request_line(&format!("GET /bytes/{} HTTP/1.1", MAX_BODY + 1)),
            None
        );
    }

    #[test]
    fn server_answers_keep_alive_requests_of_any_size() {
        let server = HttpServer::start().unwrap();
        let mut client = BlockingClient::connect(server.addr()).unwrap();
        for size in [0, 1, 1024, SMALL_BODY + 1, MAX_BODY] {
            assert_eq!(client.get(&HttpServer::path(size)).unwrap(), size);
            assert!(client.body.iter().all(|&b| b == BODY_BYTE));
        }
    }

    #[test]
    fn unknown_paths_get_404() {
        let server = HttpServer::start().unwrap();
        let mut client = BlockingClient::connect(server.addr()).unwrap();
        let err = client.get("/nope").unwrap_err();
        assert!(err.to_string().contains("404"), "{err}");
    }
}
