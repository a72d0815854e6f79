//! What the demo's tests share: a small HTTP server on `std::net` threads whose every answer the
//! test chooses (including wrong ones), which records the requests it gets, and a way to run the
//! built `demo` binary.
//!
//! The server is deliberately not the demo's own: a test of the downloader should not trust the
//! code it is testing to play the other side.

#![allow(dead_code)] // Each test file uses a different part of this.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How the server answers one path.
#[derive(Clone, Debug)]
pub enum Reply {
    /// The file, with `Content-Length` (or chunked), honouring `Range: bytes=N-` when `ranges`.
    File {
        body: Vec<u8>,
        chunked: bool,
        ranges: bool,
        content_disposition: Option<String>,
    },
    /// A bare status with an empty body.
    Status(u16),
    /// Announces `body`'s full length, sends the first `sent` bytes, then says nothing more until
    /// the client hangs up.
    Stall { body: Vec<u8>, sent: usize },
    /// `302 Found` to this location.
    Redirect(String),
    /// Answers a `Range` request with `206` and a `Content-Range` starting at 0 (the wrong place).
    WrongRange { body: Vec<u8> },
    /// Answers `Range: bytes=N-` with `206` and only the next `piece` bytes, as
    /// `Content-Range: bytes N-M/*` (total unknown); without `Range`, `200` and the whole file.
    UnknownTotal { body: Vec<u8>, piece: usize },
    /// These bytes, verbatim, whatever was asked: for framing the client must refuse.
    Raw(Vec<u8>),
    /// One version of a file, with its validators, honouring `Range: bytes=N-`; `If-Range` is
    /// honoured (a validator other than this version's gets the whole file, `200`) when
    /// `honours_if_range`, and ignored otherwise, as a careless server would. With `cut`, only
    /// that many bytes of the body are sent before the connection is closed. `date` is the
    /// response's `Date` (none when `None`). A range starting at or past the end gets `416`
    /// with `Content-Range: bytes */LEN` and the validators, as nginx answers.
    Versioned {
        body: Vec<u8>,
        etag: Option<String>,
        last_modified: Option<String>,
        date: Option<String>,
        honours_if_range: bool,
        cut: Option<usize>,
    },
    /// A version of a file known by `etag`, honouring `Range`, `If-Range` and `If-None-Match`
    /// (`304`), whose body is sent `piece` bytes at a time with `pause` between pieces: slow
    /// enough for downloads to overlap, or to be killed half way.
    Paced {
        body: Vec<u8>,
        etag: String,
        piece: usize,
        pause: Duration,
    },
    /// The first request for the path gets the first reply, the next the second..., and every
    /// request after the last gets the last.
    Sequence(Vec<Reply>),
    /// A bare status with these extra header lines (each ending in `\r\n`) and an empty body.
    StatusWith { code: u16, headers: String },
    /// Announces `body`'s full length with this `ETag`, sends the first `sent` bytes, waits a
    /// little (for the client to read them), then resets the connection (`SO_LINGER` 0: an
    /// RST, not a FIN).
    Reset {
        body: Vec<u8>,
        etag: String,
        sent: usize,
    },
}

impl Reply {
    /// A plain file served with `Content-Length` and ranges.
    pub fn file(body: &[u8]) -> Reply {
        Reply::File {
            body: body.to_vec(),
            chunked: false,
            ranges: true,
            content_disposition: None,
        }
    }
}

/// One request the server got.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    /// The `Range` header, if any.
    pub range: Option<String>,
    /// The `If-Range` header, if any.
    pub if_range: Option<String>,
    /// The `If-None-Match` header, if any.
    pub if_none_match: Option<String>,
    /// When the request's head had arrived.
    pub at: Instant,
}

/// The test server; it lives until the test process ends.
pub struct TestServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

/// What the server's connection threads share.
#[derive(Default)]
struct Shared {
    /// Path → reply; [`TestServer::set`] changes one between runs.
    routes: Mutex<HashMap<String, Reply>>,
    /// Every request so far.
    seen: Mutex<Vec<Seen>>,
    /// Requests so far per path, for [`Reply::Sequence`].
    hits: Mutex<HashMap<String, usize>>,
    /// Body bytes written to clients, all connections together.
    body_bytes: AtomicU64,
    /// Connections being answered now, and the most there ever were at once.
    open: Mutex<(usize, usize)>,
}

/// One connection counted in [`Shared::open`] until dropped.
struct Counted<'a>(&'a Shared);

impl<'a> Counted<'a> {
    fn new(shared: &'a Shared) -> Self {
        let mut open = shared.open.lock().unwrap();
        open.0 += 1;
        open.1 = open.1.max(open.0);
        Counted(shared)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.open.lock().unwrap().0 -= 1;
    }
}

impl TestServer {
    /// Serves `routes` (path → reply); any other path gets 404.
    pub fn start(routes: Vec<(&str, Reply)>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            routes: Mutex::new(routes.into_iter().map(|(p, r)| (p.to_owned(), r)).collect()),
            ..Shared::default()
        });
        let served = shared.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let shared = served.clone();
                thread::spawn(move || {
                    // Counted from the accept: a connection open and not yet answered counts.
                    let counted = Counted::new(&shared);
                    handle(stream, &shared, counted)
                });
            }
        });
        TestServer { addr, shared }
    }

    /// From now on, answers `path` with `reply` (the file changed on the server).
    pub fn set(&self, path: &str, reply: Reply) {
        self.shared
            .routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), reply);
    }

    /// Body bytes sent so far, to every client.
    pub fn body_bytes(&self) -> u64 {
        self.shared.body_bytes.load(Ordering::SeqCst)
    }

    /// The most connections that were being answered at once.
    pub fn max_open(&self) -> usize {
        self.shared.open.lock().unwrap().1
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }
}

fn handle(mut stream: TcpStream, shared: &Shared, counted: Counted<'_>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split(' ').nth(1).unwrap_or("").to_owned();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    let (range, if_range) = (header("range"), header("if-range"));
    let if_none_match = header("if-none-match");
    shared.seen.lock().unwrap().push(Seen {
        path: path.clone(),
        range: range.clone(),
        if_range: if_range.clone(),
        if_none_match: if_none_match.clone(),
        at: Instant::now(),
    });
    let from = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<usize>().ok());
    let mut reply = shared.routes.lock().unwrap().get(&path).cloned();
    if let Some(Reply::Sequence(replies)) = &reply {
        let mut hits = shared.hits.lock().unwrap();
        let hit = hits.entry(path.clone()).or_default();
        reply = replies.get(*hit).or(replies.last()).cloned();
        *hit += 1;
    }
    let count = |n: usize| {
        shared.body_bytes.fetch_add(n as u64, Ordering::SeqCst);
    };
    let mut counted = Some(counted);
    let _ = match reply.as_ref() {
        None => write_status(&mut stream, 404),
        Some(Reply::Status(code)) => write_status(&mut stream, *code),
        Some(Reply::File {
            body,
            chunked,
            ranges,
            content_disposition,
        }) => {
            let mut extra = String::new();
            if let Some(cd) = content_disposition {
                extra.push_str(&format!("Content-Disposition: {cd}\r\n"));
            }
            match from.filter(|_| *ranges) {
                Some(from) if from >= body.len() => {
                    let extra = format!("Content-Range: bytes */{}\r\n", body.len());
                    write_all(&mut stream, "416 Range Not Satisfiable", &extra, b"")
                }
                Some(from) => {
                    let cr = format!(
                        "Content-Range: bytes {from}-{}/{}\r\n",
                        body.len() - 1,
                        body.len()
                    );
                    write_all(
                        &mut stream,
                        "206 Partial Content",
                        &(extra + &cr),
                        &body[from..],
                    )
                }
                None if *chunked => write_chunked(&mut stream, &extra, body),
                None => write_all(&mut stream, "200 OK", &extra, body),
            }
        }
        Some(Reply::Stall { body, sent }) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body[..*sent]);
            count(*sent);
            // Silence until the client gives up and closes (read returns 0 or fails).
            let _ = stream.read(&mut byte);
            Ok(())
        }
        Some(Reply::Redirect(location)) => {
            let extra = format!("Location: {location}\r\n");
            write_all(&mut stream, "302 Found", &extra, b"")
        }
        Some(Reply::WrongRange { body }) => match from {
            Some(_) => {
                let cr = format!(
                    "Content-Range: bytes 0-{}/{}\r\n",
                    body.len() - 1,
                    body.len()
                );
                write_all(&mut stream, "206 Partial Content", &cr, body)
            }
            None => write_all(&mut stream, "200 OK", "", body),
        },
        Some(Reply::UnknownTotal { body, piece }) => match from {
            Some(from) => {
                let end = (from + piece).min(body.len());
                let cr = format!("Content-Range: bytes {from}-{}/*\r\n", end - 1);
                write_all(&mut stream, "206 Partial Content", &cr, &body[from..end])
            }
            None => write_all(&mut stream, "200 OK", "", body),
        },
        Some(Reply::Raw(bytes)) => stream.write_all(bytes),
        Some(Reply::Sequence(_)) => write_status(&mut stream, 500),
        Some(Reply::StatusWith { code, headers }) => {
            write_all(&mut stream, &format!("{code} Whatever"), headers, b"")
        }
        Some(Reply::Reset { body, etag, sent }) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nETag: {etag}\r\nConnection: \
                 close\r\n\r\n",
                body.len()
            );
            let written = stream
                .write_all(head.as_bytes())
                .and_then(|()| stream.write_all(&body[..*sent]));
            count(*sent);
            thread::sleep(Duration::from_millis(300));
            reset(&stream);
            written
        }
        Some(Reply::Paced {
            body,
            etag,
            piece,
            pause,
        }) => {
            let from = match &if_range {
                Some(v) if v != etag => None,
                _ => from,
            };
            let extra = format!("ETag: {etag}\r\n");
            if if_none_match.as_ref() == Some(etag) {
                write_all(&mut stream, "304 Not Modified", &extra, b"")
            } else {
                let (status, range) = match from {
                    Some(from) if from >= body.len() => (
                        "416 Range Not Satisfiable",
                        format!("Content-Range: bytes */{}\r\n", body.len()),
                    ),
                    Some(from) => (
                        "206 Partial Content",
                        format!(
                            "Content-Range: bytes {from}-{}/{}\r\n",
                            body.len() - 1,
                            body.len()
                        ),
                    ),
                    None => ("200 OK", String::new()),
                };
                let body = match from {
                    Some(from) => &body[from.min(body.len())..],
                    None => &body[..],
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}{range}Connection: \
                     close\r\n\r\n",
                    body.len()
                );
                let mut written = stream.write_all(head.as_bytes());
                let pieces = body.chunks(*piece).count();
                for (i, bytes) in body.chunks(*piece).enumerate() {
                    if written.is_err() {
                        break;
                    }
                    thread::sleep(*pause);
                    if i + 1 == pieces {
                        // No longer counted as open before the last piece: the client cannot
                        // have read the whole body (and gone on to another connection) before.
                        counted.take();
                    }
                    written = stream.write_all(bytes);
                    if written.is_ok() {
                        count(bytes.len());
                    }
                }
                written
            }
        }
        Some(Reply::Versioned {
            body,
            etag,
            last_modified,
            date,
            honours_if_range,
            cut,
        }) => {
            let mut extra = String::new();
            if let Some(date) = date {
                extra.push_str(&format!("Date: {date}\r\n"));
            }
            if let Some(etag) = etag {
                extra.push_str(&format!("ETag: {etag}\r\n"));
            }
            if let Some(date) = last_modified {
                extra.push_str(&format!("Last-Modified: {date}\r\n"));
            }
            let this_version =
                |v: &String| Some(v) == etag.as_ref() || Some(v) == last_modified.as_ref();
            if if_none_match.is_some() && if_none_match == *etag {
                let _ = write_all(&mut stream, "304 Not Modified", &extra, b"");
                return finish(shared, counted);
            }
            let from = match &if_range {
                Some(v) if *honours_if_range && !this_version(v) => None,
                _ => from,
            };
            let (status, body) = match from {
                Some(from) if from >= body.len() => {
                    extra.push_str(&format!("Content-Range: bytes */{}\r\n", body.len()));
                    ("416 Range Not Satisfiable", &b""[..])
                }
                Some(from) => {
                    extra.push_str(&format!(
                        "Content-Range: bytes {from}-{}/{}\r\n",
                        body.len() - 1,
                        body.len()
                    ));
                    ("206 Partial Content", &body[from..])
                }
                None => ("200 OK", &body[..]),
            };
            match cut {
                Some(cut) => {
                    let head = format!(
                        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
                        body.len()
                    );
                    let written = stream
                        .write_all(head.as_bytes())
                        .and_then(|()| stream.write_all(&body[..*cut]));
                    count(*cut);
                    written
                }
                None => write_all(&mut stream, status, &extra, body),
            }
        }
    };
    finish(shared, counted);
}

/// The connection's end: its bytes added to the total, and no longer counted as open.
fn finish(shared: &Shared, counted: Option<Counted<'_>>) {
    let bytes = BODY_BYTES.with(|n| n.replace(0));
    shared.body_bytes.fetch_add(bytes, Ordering::SeqCst);
    drop(counted);
}

/// Makes the close of `stream` an RST: `SO_LINGER` on with a time of 0.
fn reset(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the descriptor is open; `linger` is a valid value of the size given.
    unsafe {
        libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(stream),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

fn write_status(stream: &mut TcpStream, code: u16) -> std::io::Result<()> {
    write_all(stream, &format!("{code} Whatever"), "", b"")
}

fn write_all(
    stream: &mut TcpStream,
    status: &str,
    extra: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    BODY_BYTES.with(|n| n.set(n.get() + body.len() as u64));
    Ok(())
}

thread_local! {
    /// Body bytes this connection's thread wrote through [`write_all`] and [`write_chunked`],
    /// added to [`Shared::body_bytes`] when the connection ends.
    static BODY_BYTES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn write_chunked(stream: &mut TcpStream, extra: &str, body: &[u8]) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n{extra}Connection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes())?;
    for piece in body.chunks(7_000) {
        stream.write_all(format!("{:x}\r\n", piece.len()).as_bytes())?;
        stream.write_all(piece)?;
        BODY_BYTES.with(|n| n.set(n.get() + piece.len() as u64));
        stream.write_all(b"\r\n")?;
    }
    stream.write_all(b"0\r\n\r\n")
}

/// Bytes that differ at every offset, so a misplaced or repeated piece shows.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

/// The SHA-256 of `bytes` in lowercase hex, as `sha256sum` and the demo's summary print it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/nobody-home.bin")
}

/// Starts the demo with `args` in `cwd`, stdin closed (not a terminal), stdout and stderr pipes.
pub fn spawn_demo(args: &[&str], cwd: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the demo binary runs")
}

/// Starts the demo with `args` in `cwd` as [`demo`] does, its output thrown away: for a test
/// that kills it.
pub fn spawn_demo_quiet(args: &[&str], cwd: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the demo binary runs")
}

/// Runs the demo with `args` in `cwd`, stdin closed (not a terminal), output captured. A demo
/// that hangs is killed after two minutes, failing the test rather than hanging the whole run.
pub fn demo(args: &[&str], cwd: &Path) -> Output {
    let mut child = spawn_demo(args, cwd);
    // Drain both pipes on their own threads, so a chatty demo never blocks on a full pipe.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut out = Vec::new();
            let _ = pipe.read_to_end(&mut out);
            out
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let status = wait_at_most(&mut child, Duration::from_secs(120));
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Runs the demo with `args` in `cwd`, `input` on its standard input, output captured.
pub fn demo_with_stdin(args: &[&str], cwd: &Path, input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the demo binary runs");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().expect("the demo ends");
    writer.join().unwrap();
    output
}

/// Runs the demo with `args` in `cwd` with its stdout a pipe nobody reads (the read end closed
/// before the demo starts writing, as `demo ... | head -0` would leave it); stderr captured.
pub fn demo_with_stdout_closed(args: &[&str], cwd: &Path) -> Output {
    let mut child = spawn_demo(args, cwd);
    drop(child.stdout.take());
    child.wait_with_output().expect("the demo ends")
}

/// Runs the small embedded demo with `--trace-file cwd/trace.json`, which must succeed, and
/// returns the Chrome trace's events.
pub fn chrome_trace_events(cwd: &Path) -> Vec<serde_json::Value> {
    let trace = cwd.join("trace.json");
    let args = [
        "--demo-scale",
        "small",
        "--trace-file",
        trace.to_str().unwrap(),
    ];
    let output = demo(&args, cwd);
    assert!(output.status.success(), "{:?}", text(&output));
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    match json["traceEvents"].take() {
        serde_json::Value::Array(events) => events,
        other => panic!("traceEvents is not an array: {other}"),
    }
}

/// The names in `dir`, sorted.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// stdout and stderr, for assertions and for the failure message.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Waits for `child` to end, killing it after `limit` (a hung demo fails its test, not the run).
pub fn wait_at_most(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            // Still our unreaped child, so this pid cannot have been reused.
            let _ = child.kill();
            return child.wait().unwrap();
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A pseudo-terminal of `rows` by `cols`: its master (the test's side) and slave (the demo's).
pub fn openpty(rows: u16, cols: u16) -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: the out-pointers are valid; no name buffer or termios is asked for.
    let opened = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: `openpty` succeeded: both are open descriptors owned by nothing else.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// Starts the demo with `args` in `cwd` on a new pseudo-terminal of `rows` by `cols` (its stdin,
/// stdout and stderr, `TERM=xterm`): the demo draws bars and reads keys. Returns the child and
/// the master, the test's side of the terminal.
pub fn demo_on_pty(args: &[&str], cwd: &Path, rows: u16, cols: u16) -> (Child, OwnedFd) {
    let (master, slave) = openpty(rows, cols);
    let stdio = || Stdio::from(slave.try_clone().unwrap());
    let child = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(args)
        .current_dir(cwd)
        .env("TERM", "xterm")
        .stdin(stdio())
        .stdout(stdio())
        .stderr(stdio())
        .spawn()
        .expect("the demo runs");
    (child, master)
}

/// Reads everything the terminal behind `master` shows, all along, as a terminal emulator would
/// (a full pty would block the demo), into the returned buffer. The thread ends with EIO once
/// no process has the slave open.
pub fn read_terminal(master: &OwnedFd) -> (Arc<Mutex<Vec<u8>>>, thread::JoinHandle<()>) {
    let output = Arc::new(Mutex::new(Vec::new()));
    let shown = output.clone();
    let mut master = std::fs::File::from(master.try_clone().unwrap());
    let reader = thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = master.read(&mut buf) {
            shown.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    (output, reader)
}

/// Waits up to 60 s until the terminal has shown `needle` after byte `from` of `output` (what
/// [`read_terminal`] collects); returns where.
pub fn wait_for_shown(output: &Mutex<Vec<u8>>, from: usize, needle: &str) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let shown = String::from_utf8_lossy(&output.lock().unwrap()[from..]).into_owned();
        if let Some(at) = shown.find(needle) {
            return from + at;
        }
        assert!(
            Instant::now() < deadline,
            "the terminal never showed {needle:?}; it showed:\n{shown}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (two minutes at most) for the embedded demo, run on a pseudo-terminal, to exit, then for
/// its terminal's reader to finish; asserts the run succeeded and verified all eight files.
pub fn wait_for_embedded_success(
    child: &mut Child,
    reader: thread::JoinHandle<()>,
    output: &Mutex<Vec<u8>>,
) {
    let status = wait_at_most(child, Duration::from_secs(120));
    reader.join().unwrap();
    let output = String::from_utf8_lossy(&output.lock().unwrap()).into_owned();
    assert!(status.success(), "{status}\n{output}");
    assert!(
        output.contains("verified byte for byte: 8 of 8 files"),
        "{output}"
    );
}
