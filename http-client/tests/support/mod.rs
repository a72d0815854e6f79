//! What the integration tests share: a deadline around each test, and test servers written on
//! glass itself (`reactor::net::TcpListener` plus `executor::spawn`), so the client is tested
//! against bytes chosen exactly.

#![allow(dead_code)] // Each test file uses a different part of this.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use reactor::net::{TcpListener, TcpStream};

pub mod child;
pub mod tls;

/// Longer than any test should take, even on a loaded machine; reaching it means a hang.
pub const TEST_DEADLINE: Duration = Duration::from_secs(20);

/// Runs a test's future on glass, failing the test if it has not finished by [`TEST_DEADLINE`].
pub fn run<F: Future>(test: F) -> F::Output {
    executor::block_on(async {
        reactor::time::timeout(TEST_DEADLINE, test)
            .await
            .expect("the test hung: it did not finish within its deadline")
    })
}

/// A request as a test server received it.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    /// `GET`, `HEAD`...
    pub method: String,
    /// The request target: path and query.
    pub target: String,
    /// Header fields, names lowercased.
    pub headers: Vec<(String, String)>,
}

impl ReceivedRequest {
    /// The value of the header field `name` (lowercase), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A listening test server; its tasks end when the test's `block_on` returns.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// How many connections it has accepted: proof of keep-alive reuse, or of its absence.
    pub accepted: Rc<Cell<usize>>,
    /// Every request received, in order.
    pub requests: Rc<RefCell<Vec<ReceivedRequest>>>,
}

impl Server {
    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

/// Starts a server that hands each accepted connection to `handle`, with the connection's index
/// (0 for the first). The handler owns the socket and does whatever the test needs with it.
pub async fn serve_connections<H, F>(handle: H) -> Server
where
    H: Fn(TcpStream, usize, Rc<RefCell<Vec<ReceivedRequest>>>) -> F + 'static,
    F: Future<Output = ()> + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Rc::new(Cell::new(0));
    let requests = Rc::new(RefCell::new(Vec::new()));
    let server = Server {
        addr,
        accepted: accepted.clone(),
        requests: requests.clone(),
    };
    executor::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let index = accepted.get();
            accepted.set(index + 1);
            executor::spawn(handle(stream, index, requests.clone()));
        }
    });
    server
}

/// Starts a keep-alive server: for every request on every connection it writes what `respond`
/// returns, until the client closes the connection (or the response asks for `Connection: close`,
/// in which case the server closes after writing it).
pub async fn serve<R>(respond: R) -> Server
where
    R: Fn(&ReceivedRequest) -> Vec<u8> + 'static,
{
    let respond = Rc::new(respond);
    serve_connections(move |stream, _, requests| {
        let respond = respond.clone();
        async move {
            let mut pending = Vec::new();
            while let Some(request) = read_request(&stream, &mut pending).await {
                requests.borrow_mut().push(request.clone());
                let response = respond(&request);
                if stream.write_all(&response).await.is_err() {
                    return;
                }
                let lowercase = String::from_utf8_lossy(&response).to_ascii_lowercase();
                if lowercase.contains("connection: close") {
                    return;
                }
            }
        }
    })
    .await
}

/// Reads one request head from `stream`. `pending` carries bytes read past it to the next call.
/// `None` when the client closes the connection first.
pub async fn read_request(stream: &TcpStream, pending: &mut Vec<u8>) -> Option<ReceivedRequest> {
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).into_owned();
            pending.drain(..end + 4);
            let mut lines = head.split("\r\n");
            let mut request_line = lines.next()?.split(' ');
            let method = request_line.next()?.to_owned();
            let target = request_line.next()?.to_owned();
            let headers = lines
                .filter_map(|line| line.split_once(':'))
                .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
                .collect();
            return Some(ReceivedRequest {
                method,
                target,
                headers,
            });
        }
        let mut buf = [0; 4096];
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    }
}

/// A complete response with a `Content-Length` body.
pub fn with_length(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut response = format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(body);
    response
}

/// A chunked body carrying `pieces`, each chunk with an extension, ended with a trailer.
pub fn chunked_body(pieces: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    for piece in pieces {
        body.extend_from_slice(format!("{:x};name=\"va;lue\"\r\n", piece.len()).as_bytes());
        body.extend_from_slice(piece);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\nExpires: never\r\nX-Checksum: 1234\r\n\r\n");
    body
}

/// The body `n` bytes long that the tests download: a pattern whose every position differs from
/// its neighbours, so a byte lost, repeated or moved shows.
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}
