//! N slow downloads at once, one OS thread each versus one glass task each: where "the overhead
//! of those threads would be a problem" (the Rust book's async chapter), and where it is not.
//!
//! ```text
//! cargo run --release -p demo --example threads_vs_tasks                 # N = 100, 1000, 10000
//! cargo run --release -p demo --example threads_vs_tasks -- --sizes 20,50
//! ```
//!
//! Every download fetches 16 KiB from a throttled local server that sends it in 8 slices over
//! about two seconds, so each connection stays open that long and a download spends nearly all
//! its time waiting. The two designs do the same HTTP (the tasks use `http_client`; the threads
//! use blocking `std::net` sockets and `http_client::proto`, the same response rules on plain
//! bytes, as the demo's `--threads` mode does) and differ only in how they wait: a thread asleep
//! in `read(2)` each, or tasks parked while one thread sleeps in `epoll_wait`.
//!
//! For each design and N it prints the wall time, the threads used (the most seen in
//! `/proc/self/status` while the downloads ran), the peak memory (`ru_maxrss`: resident memory,
//! not the 2 MiB of address space a thread's stack reserves, most of which is never touched), the
//! context switches (`ru_nvcsw + ru_nivcsw`, every thread of the process together), and whether
//! every download finished.
//!
//! # Implementation
//!
//! Three kinds of process, all this binary (started again with `GLASS_THREADS_VS_TASKS` set, as
//! the benches' `many_connections` does), so that one design's memory and switches are not mixed
//! with the other's or the server's: the **parent** prints the table; the **server** (a glass
//! accept loop, one task per connection) lives as long as the parent keeps its stdin open; each
//! **run** (one design, one N) is a child of its own whose resource usage the parent collects
//! with `wait4`. Fitted to the machine's limits: every process raises its soft `RLIMIT_NOFILE`
//! to the hard limit (a size needing more descriptors than that is skipped, saying so); the
//! server's listen backlog is glass's 1024 (capped by `somaxconn`, printed), so a burst of
//! connections beyond it waits for a SYN retry, in both designs alike; downloads have connect
//! and read timeouts, so a lost connection counts as a failure instead of hanging the run.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use http_client::proto::{Decoder, take_head};

/// Set in a child process to what it is: `server`, `threads` or `tasks`.
const ROLE: &str = "GLASS_THREADS_VS_TASKS";
/// The body of every download.
const BODY: usize = 16 * 1024;
/// It is sent in this many slices...
const SLICES: usize = 8;
/// ...the last one this long after the head: how long each connection stays open.
const HOLD: Duration = Duration::from_secs(2);
/// Generous: a connect beyond the backlog waits a SYN retry (1 s, then 3 s more).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Far more than the 250 ms between two slices.
const READ_TIMEOUT: Duration = Duration::from_secs(15);
/// How many bytes each blocking read asks for (`http_client` starts at 8 KiB too).
const READ_SIZE: usize = 8 * 1024;
/// How often a run looks at its thread count while the downloads are in flight.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// glass's listen backlog (`reactor/src/net/tcp.rs`), printed beside the kernel's cap.
const GLASS_BACKLOG: u64 = 1024;

fn main() {
    raise_open_file_limit();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match std::env::var(ROLE).as_deref() {
        Ok("server") => server::run(),
        Ok(design) => run_design(design, &args),
        Err(_) => parent(&args),
    };
    if let Err(e) = result {
        eprintln!("threads_vs_tasks: {e}");
        std::process::exit(1);
    }
}

// ===== The parent: starts the server and one child per run, prints the table =====

/// What one run (a design at one N) reported about itself, and what the kernel did for it.
struct Row {
    design: &'static str,
    n: usize,
    wall: Duration,
    /// The most threads the run's process had at once.
    threads: usize,
    /// `ru_maxrss` of the run's process, in bytes.
    peak_memory: u64,
    /// Voluntary plus involuntary context switches of all its threads.
    switches: u64,
    /// The longest any download waited for its response head: past `HOLD`'s first slice, a
    /// connection that queued (for a thread to start, or for a SYN retry past the backlog).
    slowest_head: Duration,
    /// How many times, during the run, a connection found the server's accept queue full (the
    /// kernel's `ListenOverflows`, counted for the whole machine; `None` where unreadable).
    overflows: Option<u64>,
    /// Downloads that failed (0: all finished), and the first one's error.
    failed: usize,
    first_error: String,
}

fn parent(args: &[String]) -> io::Result<()> {
    let sizes = parse_sizes(args)?;
    let (soft, hard) = open_file_limit();
    println!(
        "threads vs tasks: N downloads at once of {} KiB each, which a throttled",
        BODY / 1024
    );
    println!("local server sends in {SLICES} slices over {HOLD:?}, so each waits about that long.");
    println!(
        "limits: open files {soft} (soft, raised to the hard {hard}); listen backlog {} \
         (glass {GLASS_BACKLOG}, somaxconn {}); threads-max {}",
        GLASS_BACKLOG.min(read_number("/proc/sys/net/core/somaxconn").unwrap_or(u64::MAX)),
        show(read_number("/proc/sys/net/core/somaxconn")),
        show(read_number("/proc/sys/kernel/threads-max")),
    );
    println!();

    let mut server = Server::start()?;
    println!(
        "{:<8} {:>9} {:>8} {:>8} {:>12} {:>17} {:>13} {:>10}  all finished",
        "design",
        "downloads",
        "wall",
        "threads",
        "peak memory",
        "context switches",
        "slowest head",
        "overflows"
    );
    let mut rows = Vec::new();
    for &n in &sizes {
        // Each end of each connection is a descriptor, in its own process; plus a margin.
        if n as u64 + 64 > hard {
            println!("N = {n}: skipped, it needs {n} open files and the hard limit is {hard}");
            continue;
        }
        for design in ["threads", "tasks"] {
            let row = run_child(design, n, server.addr)?;
            print_row(&row);
            rows.push(row);
        }
    }
    server.stop();
    println!();
    what_to_notice(&rows);
    Ok(())
}

/// `--sizes 100,1000` (default: 100, 1000 and 10000).
fn parse_sizes(args: &[String]) -> io::Result<Vec<usize>> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, what.to_owned());
    match args {
        [] => Ok(vec![100, 1_000, 10_000]),
        [flag, list] if flag == "--sizes" => list
            .split(',')
            .map(|n| n.trim().parse().ok().filter(|&n| n > 0))
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| bad("--sizes takes numbers above 0, such as --sizes 20,50")),
        _ => Err(bad("usage: threads_vs_tasks [--sizes 100,1000,10000]")),
    }
}

/// The server child: its address, and its stdin, whose closing tells it to exit.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start() -> io::Result<Server> {
        let mut child = Command::new(std::env::current_exe()?)
            .env(ROLE, "server")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().expect("stdout was piped");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .strip_prefix("listening ")
            .and_then(|addr| addr.trim().parse().ok())
            .ok_or_else(|| io::Error::other(format!("the server said {line:?}")))?;
        Ok(Server { child, addr })
    }

    /// Closes the server's stdin, which makes it exit, and reaps it.
    fn stop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Runs `design` for `n` downloads in a child process; its rusage comes from `wait4`.
fn run_child(design: &'static str, n: usize, addr: SocketAddr) -> io::Result<Row> {
    let overflows_before = listen_overflows();
    let mut child = Command::new(std::env::current_exe()?)
        .env(ROLE, design)
        .args([n.to_string(), addr.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout was piped")
        .read_to_string(&mut out)?;
    let (status, usage) = wait4(&child)?;
    let overflows = Option::zip(listen_overflows(), overflows_before).map(|(a, b)| a - b);
    let report = out
        .lines()
        .find_map(|line| line.strip_prefix("result "))
        .filter(|_| status == 0)
        .ok_or_else(|| io::Error::other(format!("the {design} run for {n} failed: {out}")))?;
    // `result <wall ns> <threads> <failed> <slowest head ns> <first error...>`
    let mut fields = report.splitn(5, ' ');
    let mut number = || -> io::Result<u64> {
        fields
            .next()
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| io::Error::other(format!("a bad report: {report:?}")))
    };
    let (wall, threads, failed, slowest_head) = (number()?, number()?, number()?, number()?);
    Ok(Row {
        design,
        n,
        wall: Duration::from_nanos(wall),
        threads: threads as usize,
        peak_memory: usage.ru_maxrss as u64 * 1024,
        switches: (usage.ru_nvcsw + usage.ru_nivcsw) as u64,
        failed: failed as usize,
        slowest_head: Duration::from_nanos(slowest_head),
        overflows,
        first_error: fields.next().unwrap_or("").to_owned(),
    })
}

/// Waits for `child` with `wait4(2)`, which (unlike `Child::wait`) also returns its resource
/// usage: peak resident memory and context switches, all of its threads together.
fn wait4(child: &Child) -> io::Result<(i32, libc::rusage)> {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `rusage` is plain integers, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live locals of the right types for the whole call; `pid`
        // is our own unreaped child (std's `Child` never waited for it), so it cannot be reused.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
            return Ok((code.unwrap_or(-1), usage));
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

fn print_row(row: &Row) {
    let finished = match row.failed {
        0 => "yes".to_owned(),
        failed => format!("no: {failed} failed ({})", row.first_error),
    };
    println!(
        "{:<8} {:>9} {:>6.2} s {:>8} {:>8.1} MiB {:>17} {:>11.2} s {:>10}  {finished}",
        row.design,
        row.n,
        row.wall.as_secs_f64(),
        row.threads,
        mib(row.peak_memory),
        row.switches,
        row.slowest_head.as_secs_f64(),
        show(row.overflows),
    );
}

/// The lesson, from the numbers just measured: per N, how far apart the designs were.
fn what_to_notice(rows: &[Row]) {
    println!("what to notice:");
    for pair in rows.chunks(2) {
        let [threads, tasks] = pair else { continue };
        let n = threads.n;
        let memory = mib(threads.peak_memory) - mib(tasks.peak_memory);
        let per_download = (threads.peak_memory as f64 - tasks.peak_memory as f64) / n as f64;
        let slower = threads.wall.as_secs_f64() / tasks.wall.as_secs_f64();
        let mut said = format!(
            "- N = {n}: {} threads against {}; {:.1} MiB more memory for threads ({:+.1} KiB a \
             download), {}x the context switches",
            threads.threads,
            tasks.threads,
            memory,
            per_download / 1024.0,
            ratio(threads.switches, tasks.switches),
        );
        let both = format!(
            "{:.1} s and {:.1} s",
            threads.wall.as_secs_f64(),
            tasks.wall.as_secs_f64()
        );
        said += &if threads.failed > 0 || tasks.failed > 0 {
            format!(
                "; not all finished (threads {} failed, tasks {})",
                threads.failed, tasks.failed
            )
        } else if slower > 1.25 {
            format!("; threads took {slower:.1}x as long ({both})")
        } else if slower < 0.8 {
            format!("; tasks took {:.1}x as long ({both})", 1.0 / slower)
        } else if threads.wall.max(tasks.wall) < HOLD + HOLD / 4 {
            "; both took about the server's 2 s".to_owned()
        } else {
            format!("; both took about as long ({both})")
        };
        let overflows = threads.overflows.unwrap_or(0) + tasks.overflows.unwrap_or(0);
        if overflows > 0 && threads.slowest_head.max(tasks.slowest_head) > HOLD / 4 {
            said += &format!(
                ". {overflows} connects found the server's accept queue ({GLASS_BACKLOG}) full, \
                 and the slowest head came after {:.2} s (threads) and {:.2} s (tasks): those \
                 connects waited for a SYN retry. The tasks' connects all leave at once, the \
                 threads' only as fast as threads start; that wait is the server's queue, not \
                 the cost of either design",
                threads.slowest_head.as_secs_f64(),
                tasks.slowest_head.as_secs_f64(),
            );
        }
        println!("{said}.");
    }
    println!(
        "- Waiting costs a thread its stack's touched pages and a kernel task to schedule; a task \
         costs its future's size. Each thread reserves 2 MiB of address space, but only what it \
         touches is resident: that is the memory column."
    );
    println!(
        "- Where the wall times match, the threads were not the bottleneck: the server was. The \
         overhead shows as memory and context switches first, and as time only when there are \
         enough threads that creating and scheduling them is a part of the wait."
    );
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn ratio(a: u64, b: u64) -> String {
    match b {
        0 => "∞".to_owned(),
        b => format!("{:.0}", a as f64 / b as f64),
    }
}

fn show(value: Option<u64>) -> String {
    value.map_or("?".to_owned(), |v| v.to_string())
}

// ===== One run: a design's child process =====

/// `<n> <addr>`: downloads `n` times from `addr` the `design` way, then prints
/// `result <wall ns> <most threads seen> <failed> <slowest head ns> <first error>`.
fn run_design(design: &str, args: &[String]) -> io::Result<()> {
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

// ===== The throttled server =====

mod server {
    use super::*;

    use reactor::net::{TcpListener, TcpStream};
    use reactor::time::sleep;

    /// Serves until stdin closes (the parent is done, or gone).
    pub fn run() -> io::Result<()> {
        std::thread::spawn(|| {
            let _ = io::stdin().read_to_end(&mut Vec::new());
            std::process::exit(0);
        });
        executor::block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            println!("listening {}", listener.local_addr()?);
            io::stdout().flush()?;
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => drop(executor::spawn(async move {
                        // A client that gave up is its own business.
                        let _ = serve(stream).await;
                    })),
                    // Out of descriptors, say: pause rather than spin on the same error.
                    Err(_) => sleep(Duration::from_millis(50)).await,
                }
            }
        })
    }

    /// Reads a request head, then sends the body slice by slice, `HOLD` in all.
    async fn serve(stream: TcpStream) -> io::Result<()> {
        let mut head = Vec::new();
        let mut buf = [0; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await?;
            if n == 0 || head.len() > 16 * 1024 {
                return Ok(());
            }
            head.extend_from_slice(&buf[..n]);
        }
        let response =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {BODY}\r\nConnection: close\r\n\r\n");
        stream.write_all(response.as_bytes()).await?;
        let slice = [b'x'; BODY / SLICES];
        for _ in 0..SLICES {
            sleep(HOLD / SLICES as u32).await;
            stream.write_all(&slice).await?;
        }
        Ok(())
    }
}

// ===== The machine's limits =====

/// The soft and hard `RLIMIT_NOFILE`.
fn open_file_limit() -> (u64, u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a live, writable `rlimit` for the whole call.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (limit.rlim_cur, limit.rlim_max)
}

/// Raises the soft `RLIMIT_NOFILE` to the hard one, as glass's reactor does when it starts (the
/// threads design has no reactor, and must not have fewer descriptors than the tasks).
fn raise_open_file_limit() {
    let (_, hard) = open_file_limit();
    let limit = libc::rlimit {
        rlim_cur: hard,
        rlim_max: hard,
    };
    // SAFETY: `limit` is a live, initialised `rlimit`; the call only reads it.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
}

/// This process's `Threads:` line in `/proc/self/status`.
fn thread_count() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Threads:")?.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The kernel's count of connections that found a listen queue full (`TcpExt: ListenOverflows`
/// in `/proc/net/netstat`, for the whole machine).
fn listen_overflows() -> Option<u64> {
    let netstat = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let mut tcp_ext = netstat.lines().filter(|line| line.starts_with("TcpExt:"));
    let (names, values) = (tcp_ext.next()?, tcp_ext.next()?);
    let at = names
        .split_whitespace()
        .position(|name| name == "ListenOverflows")?;
    values.split_whitespace().nth(at)?.parse().ok()
}

fn read_number(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}
