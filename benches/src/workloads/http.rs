//! The HTTP workloads: glass's `http_client` against `hyper`'s client on tokio and on smol, all
//! talking to the same local server ([`HttpServer`]), with a blocking client on threads as the
//! reference.
//!
//! smol has no HTTP client of its own; its users put hyper on smol's `TcpStream` with the
//! `smol-hyper` adapter, one `hyper::client::conn::http1` connection per `TcpStream`, the
//! connection's driver a task on the same `LocalExecutor`. That is what the smol versions do:
//! hyper's HTTP/1 code on smol's reactor and executor, without the legacy client's pool.
//!
//! Each run makes its own client, as a program would, so its first request pays for the
//! connection; the clock starts just before that first request.

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use smol::LocalExecutor;
use smol_hyper::rt::FuturesIo;

use crate::http_server::{BlockingClient, HttpServer};
use crate::{Harness, Run};

/// hyper's client as tokio users build it: the pooled "legacy" client from `hyper-util`.
fn hyper_client() -> HyperClient<HttpConnector, Empty<Bytes>> {
    HyperClient::builder(TokioExecutor::new()).build_http()
}

/// Turns any error into an `io::Error` that says what failed.
fn failed(what: &'static str) -> impl Fn(Box<dyn std::error::Error + Send + Sync>) -> io::Error {
    move |e| io::Error::other(format!("{what}: {e}"))
}

/// The shared server's URL for a `size`-byte body, parsed once (both clients take a parsed URI,
/// so neither pays for parsing inside the measurement).
fn server_uri(h: &Harness, size: usize) -> io::Result<hyper::Uri> {
    h.http_server()?.url(size).parse().map_err(io::Error::other)
}

/// An `http_client` error as an `io::Error`, keeping its message.
fn glass_failed(e: http_client::Error) -> io::Error {
    io::Error::other(format!("http_client: {e}"))
}

/// GETs `uri` with glass's client and streams the body, chunk by chunk; returns its length.
async fn glass_download(client: &http_client::Client, uri: &hyper::Uri) -> io::Result<u64> {
    let mut response = client.get(uri).send().await.map_err(glass_failed)?;
    if !response.status().is_success() {
        return Err(io::Error::other(format!(
            "http_client: status {}",
            response.status()
        )));
    }
    let mut length = 0;
    // Bounded: every chunk carries at least one byte of a body of at most MAX_BODY.
    for _ in 0..=crate::http_server::MAX_BODY {
        match response.chunk().await.map_err(glass_failed)? {
            None => break,
            Some(chunk) => length += chunk.len() as u64,
        }
    }
    Ok(length)
}

/// GETs `uri` with hyper and streams the body, frame by frame; returns its length.
async fn hyper_download(
    client: &HyperClient<HttpConnector, Empty<Bytes>>,
    uri: hyper::Uri,
) -> io::Result<u64> {
    let response = client
        .get(uri)
        .await
        .map_err(|e| failed("hyper request")(e.into()))?;
    if !response.status().is_success() {
        return Err(io::Error::other(format!(
            "hyper: status {}",
            response.status()
        )));
    }
    hyper_body_len(response.into_body()).await
}

/// Reads a hyper body frame by frame; returns its length.
async fn hyper_body_len(mut body: Incoming) -> io::Result<u64> {
    let mut length = 0;
    // Bounded: every frame but the last carries at least one byte of a body of at most MAX_BODY.
    for _ in 0..=crate::http_server::MAX_BODY {
        match body.frame().await {
            None => break,
            Some(frame) => {
                let frame = frame.map_err(|e| failed("hyper body")(e.into()))?;
                if let Some(data) = frame.data_ref() {
                    length += data.len() as u64;
                }
            }
        }
    }
    Ok(length)
}

/// One hyper HTTP/1 connection to `addr` over smol's `TcpStream`, its driver a detached task on
/// `ex`. (`'static`, so that tasks can hold it: a `LocalExecutor` spawns only futures that live as
/// long as it does.)
async fn smol_hyper_connect(
    ex: &LocalExecutor<'static>,
    addr: SocketAddr,
) -> io::Result<SendRequest<Empty<Bytes>>> {
    let stream = smol::net::TcpStream::connect(addr).await?;
    let (sender, connection) = hyper::client::conn::http1::handshake(FuturesIo::new(stream))
        .await
        .map_err(|e| failed("hyper handshake")(e.into()))?;
    ex.spawn(async move {
        // Ends when the sender is dropped; an error here shows up in the request too.
        let _ = connection.await;
    })
    .detach();
    Ok(sender)
}

/// Sends `GET <path>` (origin form, with a `Host` header, as HTTP/1 wants) once `sender` is
/// ready; returns the response after checking its status.
async fn smol_hyper_get(
    sender: &mut SendRequest<Empty<Bytes>>,
    addr: SocketAddr,
    path: &str,
) -> io::Result<hyper::Response<Incoming>> {
    let request = http::Request::get(path)
        .header(http::header::HOST, addr.to_string())
        .body(Empty::new())
        .map_err(io::Error::other)?;
    sender
        .ready()
        .await
        .map_err(|e| failed("hyper connection")(e.into()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| failed("hyper request")(e.into()))?;
    if !response.status().is_success() {
        return Err(io::Error::other(format!(
            "hyper: status {}",
            response.status()
        )));
    }
    Ok(response)
}

/// `n` GETs of a [`BODY`](http_get::BODY)-byte body, one after another on one keep-alive
/// connection. The check value is the total of the body lengths.
pub mod http_get {
    use super::*;

    /// The size of each response body: 1 KiB.
    pub const BODY: usize = 1024;

    /// The bytes a run of `n` requests receives.
    pub fn expected(n: usize) -> u64 {
        (n * BODY) as u64
    }

    /// glass: `http_client::Client`, `response.bytes()`.
    pub fn glass(h: &Harness, n: usize) -> io::Result<Run> {
        let uri = server_uri(h, BODY)?;
        executor::block_on(async move {
            let client = http_client::Client::new();
            let start = Instant::now();
            let mut received = 0;
            for _ in 0..n {
                let response = client.get(&uri).send().await.map_err(glass_failed)?;
                if !response.status().is_success() {
                    return Err(io::Error::other(format!(
                        "http_client: status {}",
                        response.status()
                    )));
                }
                received += response.bytes().await.map_err(glass_failed)?.len() as u64;
            }
            Ok(Run::new(start.elapsed(), received))
        })
    }

    /// tokio: hyper's pooled client; `collect()` gathers each body.
    pub fn hyper(h: &Harness, n: usize) -> io::Result<Run> {
        let uri = server_uri(h, BODY)?;
        h.tokio().block_on(async move {
            let client = hyper_client();
            let start = Instant::now();
            let mut received = 0;
            for _ in 0..n {
                let response = client
                    .get(uri.clone())
                    .await
                    .map_err(|e| failed("hyper request")(e.into()))?;
                if !response.status().is_success() {
                    return Err(io::Error::other(format!(
                        "hyper: status {}",
                        response.status()
                    )));
                }
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| failed("hyper body")(e.into()))?
                    .to_bytes();
                received += body.len() as u64;
            }
            Ok(Run::new(start.elapsed(), received))
        })
    }

    /// smol: hyper's HTTP/1 connection over smol's `TcpStream`; `collect()` gathers each body.
    pub fn smol(h: &Harness, n: usize) -> io::Result<Run> {
        let addr = h.http_server()?.addr();
        let path = HttpServer::path(BODY);
        let ex = LocalExecutor::new();
        smol::block_on(ex.run(async {
            let start = Instant::now();
            let mut sender = smol_hyper_connect(&ex, addr).await?;
            let mut received = 0;
            for _ in 0..n {
                let response = smol_hyper_get(&mut sender, addr, &path).await?;
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| failed("hyper body")(e.into()))?
                    .to_bytes();
                received += body.len() as u64;
            }
            Ok(Run::new(start.elapsed(), received))
        }))
    }

    /// The reference: a blocking client on one keep-alive connection.
    pub fn blocking(h: &Harness, n: usize) -> io::Result<Run> {
        let addr = h.http_server()?.addr();
        let path = HttpServer::path(BODY);
        let start = Instant::now();
        let mut client = BlockingClient::connect(addr)?;
        let mut received = 0;
        for _ in 0..n {
            received += client.get(&path)? as u64;
        }
        Ok(Run::new(start.elapsed(), received))
    }
}

/// `n` downloads of [`BODY`](downloads::BODY) bytes each, all at once, each streamed chunk by
/// chunk. The check value is the total of the body lengths.
pub mod downloads {
    use super::*;

    /// The size of each download: 1 MiB.
    pub const BODY: usize = 1024 * 1024;

    /// The bytes a run of `n` downloads receives.
    pub fn expected(n: usize) -> u64 {
        (n * BODY) as u64
    }

    /// glass: `n` tasks sharing one `http_client::Client`, reading with `chunk()`.
    pub fn glass(h: &Harness, n: usize) -> io::Result<Run> {
        let uri = server_uri(h, BODY)?;
        executor::block_on(async move {
            let client = http_client::Client::new();
            let start = Instant::now();
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    let client = client.clone();
                    let uri = uri.clone();
                    executor::spawn(async move { glass_download(&client, &uri).await })
                })
                .collect();
            let mut received = 0;
            for task in tasks {
                received += task.await.map_err(|e| io::Error::other(e.to_string()))??;
            }
            Ok(Run::new(start.elapsed(), received))
        })
    }

    /// tokio: `n` tasks sharing one hyper client, reading frame by frame.
    pub fn hyper(h: &Harness, n: usize) -> io::Result<Run> {
        let uri = server_uri(h, BODY)?;
        h.tokio().block_on(async move {
            let client = hyper_client();
            let start = Instant::now();
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    let client = client.clone();
                    let uri = uri.clone();
                    tokio::spawn(async move { hyper_download(&client, uri).await })
                })
                .collect();
            let mut received = 0;
            for task in tasks {
                received += task.await.map_err(io::Error::other)??;
            }
            Ok(Run::new(start.elapsed(), received))
        })
    }

    /// smol: `n` tasks, each with its own hyper connection over smol's `TcpStream` (what a
    /// pool would open anyway for `n` requests at once), reading frame by frame.
    pub fn smol(h: &Harness, n: usize) -> io::Result<Run> {
        let addr = h.http_server()?.addr();
        let path = HttpServer::path(BODY);
        let ex = Rc::new(LocalExecutor::new());
        smol::block_on(ex.run(async {
            let start = Instant::now();
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    let (task_ex, path) = (ex.clone(), path.clone());
                    ex.spawn(async move {
                        let mut sender = smol_hyper_connect(&task_ex, addr).await?;
                        let response = smol_hyper_get(&mut sender, addr, &path).await?;
                        hyper_body_len(response.into_body()).await
                    })
                })
                .collect();
            let mut received = 0;
            for task in tasks {
                received += task.await?;
            }
            Ok(Run::new(start.elapsed(), received))
        }))
    }

    /// The reference: a thread per download, each with its own blocking connection.
    pub fn blocking(h: &Harness, n: usize) -> io::Result<Run> {
        let addr = h.http_server()?.addr();
        let start = Instant::now();
        let threads: Vec<_> = (0..n)
            .map(|_| {
                std::thread::spawn(move || {
                    BlockingClient::connect(addr)?.get(&HttpServer::path(BODY))
                })
            })
            .collect();
        let mut received = 0;
        for thread in threads {
            received += thread
                .join()
                .map_err(|_| io::Error::other("downloads: a client thread panicked"))??
                as u64;
        }
        Ok(Run::new(start.elapsed(), received))
    }
}
