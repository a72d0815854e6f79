//! One run, a design's child process: `n` downloads at once, one OS thread each or one glass
//! task each, doing the same HTTP and differing only in how they wait.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use http_client::proto::{Decoder, take_head};

use crate::measure::thread_count;
use crate::{BODY, CONNECT_TIMEOUT, READ_SIZE, READ_TIMEOUT, SAMPLE_EVERY};

/// `<n> <addr>`: downloads `n` times from `addr` the `design` way, then prints
/// `result <wall ns> <most threads seen> <failed> <slowest head ns> <first error>`.
pub fn run_design(design: &str, args: &[String]) -> io::Result<()> {
    let bad = || io::Error::new(io::ErrorKind::InvalidInput, "usage: <n> <addr>");
    let [n, addr] = args else { return Err(bad()) };
    let n: usize = n.parse().map_err(|_| bad())?;
    let addr: SocketAddr = addr.parse().map_err(|_| bad())?;
    let started = Instant::now();
    let outcome = match design {
        "threads" => with_threads(n, addr),
        "tasks" => with_tasks(n, addr),
        other => return Err(io::Error::other(format!("no design {other:?}"))),
    };
    let wall = started.elapsed();
    let first_error = outcome.errors.first().map_or("", String::as_str);
    println!(
        "result {} {} {} {} {first_error}",
        wall.as_nanos(),
        outcome.threads,
        outcome.errors.len(),
        outcome.slowest_head.as_nanos(),
    );
    io::stdout().flush()
}

/// How a run went.
struct Outcome {
    /// The most threads seen at once while the downloads ran.
    threads: usize,
    /// One message per download that failed.
    errors: Vec<String>,
    /// The longest wait, from the start of the run, for a response head.
    slowest_head: Duration,
}

/// One OS thread per download, each blocking in `read(2)` until its bytes come.
fn with_threads(n: usize, addr: SocketAddr) -> Outcome {
    let started = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::with_capacity(n);
    let mut errors = Vec::new();
    for _ in 0..n {
        let done = done.clone();
        let spawned = std::thread::Builder::new().spawn(move || {
            let result = fetch_blocking(addr, started);
            done.fetch_add(1, Ordering::SeqCst);
            result
        });
        match spawned {
            Ok(handle) => handles.push(handle),
            Err(e) => errors.push(format!("could not start a thread: {e}")),
        }
    }
    let mut threads = thread_count();
    while done.load(Ordering::SeqCst) < handles.len() {
        std::thread::sleep(SAMPLE_EVERY);
        threads = threads.max(thread_count());
    }
    let mut slowest_head = Duration::ZERO;
    for handle in handles {
        match handle.join() {
            Ok(Ok(head)) => slowest_head = slowest_head.max(head),
            Ok(Err(e)) => errors.push(e),
            Err(_) => errors.push("a download thread panicked".to_owned()),
        }
    }
    Outcome {
        threads,
        errors,
        slowest_head,
    }
}

/// One download on a blocking socket, read with `http_client::proto`: when its head came (since
/// `started`), once its whole body has.
fn fetch_blocking(addr: SocketAddr, started: Instant) -> Result<Duration, String> {
    let failed = |what: &str, e: &dyn std::fmt::Display| format!("{what}: {e}");
    let mut stream = std::net::TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
        .map_err(|e| failed("connect", &e))?;
    stream
        .set_read_timeout(Some(READ_TIMEOUT))
        .map_err(|e| failed("set_read_timeout", &e))?;
    stream
        .write_all(request(addr).as_bytes())
        .map_err(|e| failed("write", &e))?;
    let mut buf = BytesMut::with_capacity(READ_SIZE);
    let mut fill = |buf: &mut BytesMut| -> Result<usize, String> {
        let start = buf.len();
        buf.resize(start + READ_SIZE, 0);
        let read = stream.read(&mut buf[start..]);
        buf.truncate(start + *read.as_ref().unwrap_or(&0));
        read.map_err(|e| failed("read", &e))
    };
    let mut interim_bytes = 0;
    let head = loop {
        if let Some(head) = take_head(&mut buf, &mut interim_bytes).map_err(|e| e.to_string())? {
            break head;
        }
        if fill(&mut buf)? == 0 {
            return Err("the connection closed before the head".to_owned());
        }
    };
    let head_at = started.elapsed();
    let mut decoder =
        Decoder::for_response(&http::Method::GET, &head).map_err(|e| e.to_string())?;
    let mut received = 0;
    while !decoder.is_done() {
        match decoder.decode(&mut buf).map_err(|e| e.to_string())? {
            Some(data) => received += data.len(),
            None if fill(&mut buf)? == 0 => decoder.at_eof().map_err(|e| e.to_string())?,
            None => {}
        }
    }
    check(head.status.as_u16(), received).map(|()| head_at)
}

/// One glass task per download, all on this thread, parked while they wait.
fn with_tasks(n: usize, addr: SocketAddr) -> Outcome {
    let started = Instant::now();
    executor::block_on(async move {
        let client = http_client::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .build();
        let url = format!("http://{addr}/");
        let done = std::rc::Rc::new(std::cell::Cell::new(0));
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let (client, url, done) = (client.clone(), url.clone(), done.clone());
                executor::spawn(async move {
                    // Counted as they come, not collected: the threads keep no body either.
                    let result = async {
                        let mut response = client.get(url).send().await?;
                        let head_at = started.elapsed();
                        let mut received = 0;
                        while let Some(data) = response.chunk().await? {
                            received += data.len();
                        }
                        Ok::<_, http_client::Error>((response.status().as_u16(), received, head_at))
                    }
                    .await;
                    done.set(done.get() + 1);
                    let (status, received, head_at) = result.map_err(|e| e.to_string())?;
                    check(status, received).map(|()| head_at)
                })
            })
            .collect();
        let mut threads = thread_count();
        while done.get() < n {
            reactor::time::sleep(SAMPLE_EVERY).await;
            threads = threads.max(thread_count());
        }
        let (mut errors, mut slowest_head) = (Vec::new(), Duration::ZERO);
        for handle in handles {
            match handle.await {
                Ok(Ok(head)) => slowest_head = slowest_head.max(head),
                Ok(Err(e)) => errors.push(e),
                Err(e) => errors.push(e.to_string()),
            }
        }
        Outcome {
            threads,
            errors,
            slowest_head,
        }
    })
}

fn request(addr: SocketAddr) -> String {
    format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
}

/// A download is good if it was a 200 with the whole body.
fn check(status: u16, received: usize) -> Result<(), String> {
    match (status, received) {
        (200, BODY) => Ok(()),
        (status, received) => Err(format!("status {status}, {received} of {BODY} bytes")),
    }
}
