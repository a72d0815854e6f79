//! The HTTP workloads: glass's `http_client` against `hyper`'s client on tokio, both talking to
//! the same local server ([`HttpServer`]), with a blocking
//! client on threads as the reference.
//!
//! Each run makes its own client, as a program would, so its first request pays for the
//! connection; the clock starts just before that first request.

use std::io;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

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
    let mut body = response.into_body();
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
