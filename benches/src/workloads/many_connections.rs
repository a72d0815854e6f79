//! many_connections: `n` connections open at once, each carrying one request and one response.
//!
//! ## Who runs where
//! The contender is the **server**. It accepts `n` connections and gives each its own task (its
//! own thread, for the blocking reference), which reads a [`MESSAGE`]-byte request, echoes it as
//! the response, then waits for the client to hang up. The **client** is the same for every
//! contender: [`load`], a tokio load generator in the benchmarking process, which keeps every
//! answered connection open until all `n` have answered. So at the end `n` connections are open
//! at both ends, and the server holds `n` tasks and sockets at once: that is the moment its peak
//! memory is about.
//!
//! Both ends in one process would need `2n` file descriptors, and this machine allows 20,000 per
//! process (soft and hard), so **the server runs in a child process**: the `compare` executable
//! started again as `compare --serve many_connections <contender> <n>` ([`child_main`]). The child
//! also gives a clean memory reading: its peak resident set (`VmHWM`) after serving, minus its
//! resident set just before the contender started. (Measured in the benchmarking process, the
//! allocator's cache from earlier runs would hide most of it.) Without an executable to start (the
//! unit tests), the server runs on a thread of this process, which fits small `n`, and no memory is
//! reported.
//!
//! The listen backlog is 128 for tokio and std (mio 1.x uses std's value) and 1024 for glass
//! (which raises it), and the kernel caps it at 4,096. A connection that finds the accept queue
//! full has its SYN dropped and retries a whole second later, which would measure the retry timer,
//! not the runtime (a first version with 256 in flight measured exactly that on tokio); so the
//! client keeps at most [`IN_FLIGHT`] connections between "connect" and "answered", under the
//! smallest backlog. That is concurrency enough to keep the server busy, and every one of the `n`
//! connections still stays open to the end.
//!
//! The time is the client's: from the first connect until the last response has arrived.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::process_cpu_time;
use crate::{Contender, Harness, Run};

/// The size of the request, and of the response (the request echoed).
pub const MESSAGE: usize = 64;

/// At most this many connections are between `connect` and their response at any time: under
/// the smallest listen backlog (128), so no SYN is ever dropped.
pub const IN_FLIGHT: usize = 64;

/// The environment variable naming a command to start the server process under, words separated
/// by spaces (`valgrind --tool=callgrind ...`, `strace -c -f -o FILE`): `compare --instructions`
/// and `benches/syscalls.sh` use it to measure the server under test alone, with the shared
/// client running at full speed and out of the count.
pub const SERVER_WRAP: &str = "COMPARE_SERVER_WRAP";

/// How long the client waits for the whole run before giving up on a stuck server.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Stack size of the blocking reference's per-connection threads: they need a few KiB, and 10,000
/// default 2 MiB stacks would reserve 20 GiB of address space.
const BLOCKING_STACK: usize = 64 * 1024;

/// glass serves.
pub fn glass(h: &Harness, n: usize) -> io::Result<Run> {
    run(h, Contender::Glass, n)
}

/// tokio serves.
pub fn tokio(h: &Harness, n: usize) -> io::Result<Run> {
    run(h, Contender::Tokio, n)
}

/// smol serves.
pub fn smol(h: &Harness, n: usize) -> io::Result<Run> {
    run(h, Contender::Smol, n)
}

/// A thread per connection serves: the blocking reference.
pub fn blocking(h: &Harness, n: usize) -> io::Result<Run> {
    run(h, Contender::Blocking, n)
}

/// The request of client `i`: its number, then padding.
fn message(i: usize) -> [u8; MESSAGE] {
    let mut msg = [0x3C; MESSAGE];
    msg[..8].copy_from_slice(&(i as u64).to_le_bytes());
    msg
}

/// Starts `contender`'s server (in a child process if the harness has an executable for it),
/// runs the client against it, and returns the client's time with the server's memory growth.
fn run(h: &Harness, contender: Contender, n: usize) -> io::Result<Run> {
    let server = Server::start(h, contender, n)?;
    let (elapsed, intact) = h.tokio().block_on(async {
        tokio::time::timeout(RUN_TIMEOUT, load(server.addr, n))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "many_connections: timed out"))?
    })?;
    let report = server.finish(n)?;
    Ok(Run {
        elapsed,
        check: intact,
        peak_memory: report.map(|r| r.peak_memory),
        server_cpu: report.map(|r| r.cpu),
    })
}

// ===== The client: the same for every contender =====

/// Opens `n` connections to `addr`, each sending one request and reading its response, with at
/// most [`IN_FLIGHT`] waiting for their response at once; keeps them all open until the last has
/// answered, then closes them all. Returns the time until the last answer and how many answers
/// were intact.
pub async fn load(addr: SocketAddr, n: usize) -> io::Result<(Duration, u64)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let in_flight = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let start = Instant::now();
    let mut clients = Vec::with_capacity(n);
    for i in 0..n {
        let permit = in_flight
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        clients.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await?;
            let msg = message(i);
            stream.write_all(&msg).await?;
            let mut response = [0; MESSAGE];
            stream.read_exact(&mut response).await?;
            drop(permit);
            io::Result::Ok((stream, response == msg))
        }));
    }
    let mut open = Vec::with_capacity(n);
    let mut intact = 0;
    for client in clients {
        let (stream, ok) = client.await.map_err(io::Error::other)??;
        open.push(stream);
        intact += u64::from(ok);
    }
    let elapsed = start.elapsed();
    drop(open); // Every server task now reads end-of-file and finishes.
    Ok((elapsed, intact))
}

// ===== The server under test =====

/// Serves `n` connections with `contender`, calling `ready` with the address once it listens.
/// Returns when every connection has been answered and closed by the client.
pub fn serve(contender: Contender, n: usize, ready: impl FnOnce(SocketAddr)) -> io::Result<()> {
    match contender {
        Contender::Glass => serve_glass(n, ready),
        Contender::Tokio => serve_tokio(n, ready),
        Contender::Smol => serve_smol(n, ready),
        Contender::Blocking => serve_blocking(n, ready),
        // Not a contender here (`Workload::arm`): the parent's switch would not reach this process.
        Contender::GlassTimed => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "many_connections has no glass+timing server",
        )),
    }
}

fn serve_glass(n: usize, ready: impl FnOnce(SocketAddr)) -> io::Result<()> {
    use reactor::net::{TcpListener, TcpStream};

    async fn one(stream: TcpStream) -> io::Result<()> {
        let mut buf = [0; MESSAGE];
        let mut filled = 0;
        while filled < MESSAGE {
            match stream.read(&mut buf[filled..]).await? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                len => filled += len,
            }
        }
        stream.write_all(&buf).await?;
        // Stay open until the client hangs up.
        expect_eof(stream.read(&mut buf).await?)
    }

    executor::block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        ready(listener.local_addr()?);
        let mut tasks = Vec::with_capacity(n);
        for _ in 0..n {
            let (stream, _) = listener.accept().await?;
            tasks.push(executor::spawn(one(stream)));
        }
        for task in tasks {
            // glass's `JoinError` holds a panic payload, which is not `Sync`: keep its message.
            task.await.map_err(|e| io::Error::other(e.to_string()))??;
        }
        Ok(())
    })
}

fn serve_tokio(n: usize, ready: impl FnOnce(SocketAddr)) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    async fn one(mut stream: TcpStream) -> io::Result<()> {
        let mut buf = [0; MESSAGE];
        stream.read_exact(&mut buf).await?;
        stream.write_all(&buf).await?;
        expect_eof(stream.read(&mut buf).await?)
    }

    crate::harness::current_thread_runtime()?.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        ready(listener.local_addr()?);
        let mut tasks = Vec::with_capacity(n);
        for _ in 0..n {
            let (stream, _) = listener.accept().await?;
            tasks.push(tokio::spawn(one(stream)));
        }
        for task in tasks {
            task.await.map_err(io::Error::other)??;
        }
        Ok(())
    })
}

fn serve_smol(n: usize, ready: impl FnOnce(SocketAddr)) -> io::Result<()> {
    use smol::io::{AsyncReadExt, AsyncWriteExt};
    use smol::net::{TcpListener, TcpStream};

    async fn one(mut stream: TcpStream) -> io::Result<()> {
        let mut buf = [0; MESSAGE];
        stream.read_exact(&mut buf).await?;
        stream.write_all(&buf).await?;
        expect_eof(stream.read(&mut buf).await?)
    }

    let ex = smol::LocalExecutor::new();
    smol::block_on(ex.run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        ready(listener.local_addr()?);
        let mut tasks = Vec::with_capacity(n);
        for _ in 0..n {
            let (stream, _) = listener.accept().await?;
            tasks.push(ex.spawn(one(stream)));
        }
        for task in tasks {
            task.await?;
        }
        Ok(())
    }))
}

fn serve_blocking(n: usize, ready: impl FnOnce(SocketAddr)) -> io::Result<()> {
    fn one(mut stream: std::net::TcpStream) -> io::Result<()> {
        let mut buf = [0; MESSAGE];
        stream.read_exact(&mut buf)?;
        stream.write_all(&buf)?;
        expect_eof(stream.read(&mut buf)?)
    }

    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    ready(listener.local_addr()?);
    let mut threads = Vec::with_capacity(n);
    for _ in 0..n {
        let (stream, _) = listener.accept()?;
        threads.push(
            thread::Builder::new()
                .stack_size(BLOCKING_STACK)
                .spawn(move || one(stream))?,
        );
    }
    for thread in threads {
        thread
            .join()
            .map_err(|_| io::Error::other("many_connections: a server thread panicked"))??;
    }
    Ok(())
}

fn expect_eof(read: usize) -> io::Result<()> {
    match read {
        0 => Ok(()),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "many_connections: the client sent more than one request",
        )),
    }
}

// ===== Running the server: in a child process, or on a thread =====

/// The first line the child prints: `listening <addr>`.
const LISTENING: &str = "listening";
/// The last line the child prints: `served <peak memory growth in bytes> <CPU nanoseconds>`.
const SERVED: &str = "served";

/// What the child process measured about itself while serving.
#[derive(Clone, Copy, Debug)]
struct ChildReport {
    /// Peak resident memory (`VmHWM`) minus the resident memory before serving, in bytes.
    peak_memory: u64,
    /// User plus system CPU time spent serving.
    cpu: Duration,
}

/// A running server under test.
struct Server {
    addr: SocketAddr,
    kind: ServerKind,
}

enum ServerKind {
    /// `compare --serve ...`: its stdout gives the address, then the memory reading.
    Child {
        child: std::process::Child,
        lines: io::Lines<BufReader<std::process::ChildStdout>>,
    },
    /// On a thread of this process (no memory reading).
    Thread(thread::JoinHandle<io::Result<()>>),
}

impl Server {
    fn start(h: &Harness, contender: Contender, n: usize) -> io::Result<Server> {
        match h.server_exe() {
            Some(exe) => {
                let wrap: Vec<String> = std::env::var(SERVER_WRAP)
                    .map(|w| w.split_whitespace().map(str::to_owned).collect())
                    .unwrap_or_default();
                let mut command = match wrap.split_first() {
                    Some((program, args)) => {
                        let mut command = Command::new(program);
                        command.args(args).arg(exe);
                        command
                    }
                    None => Command::new(exe),
                };
                let mut child = command
                    .args(["--serve", "many_connections", contender.name()])
                    .arg(n.to_string())
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .spawn()?;
                let stdout = child.stdout.take().expect("stdout was piped");
                let mut lines = BufReader::new(stdout).lines();
                let addr = expect_line(&mut lines, LISTENING)?
                    .parse()
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                Ok(Server {
                    addr,
                    kind: ServerKind::Child { child, lines },
                })
            }
            None => {
                let (tx, rx) = mpsc::channel();
                let thread = thread::spawn(move || {
                    serve(contender, n, |addr| {
                        let _ = tx.send(addr);
                    })
                });
                match rx.recv() {
                    Ok(addr) => Ok(Server {
                        addr,
                        kind: ServerKind::Thread(thread),
                    }),
                    // The server failed before listening: its error says why.
                    Err(_) => Err(thread
                        .join()
                        .map_err(|_| io::Error::other("many_connections: the server panicked"))?
                        .err()
                        .unwrap_or_else(|| io::Error::other("server ended without listening"))),
                }
            }
        }
    }

    /// Waits for the server to finish; returns what it measured about itself, if it could.
    fn finish(self, n: usize) -> io::Result<Option<ChildReport>> {
        match self.kind {
            ServerKind::Child {
                mut child,
                mut lines,
            } => {
                let line = expect_line(&mut lines, SERVED);
                let status = child.wait()?;
                if !status.success() {
                    return Err(io::Error::other(format!(
                        "many_connections: the server process for {n} connections failed ({status})"
                    )));
                }
                let line = line?;
                let bad = || {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("many_connections: bad report from the server: {line:?}"),
                    )
                };
                let (peak, cpu) = line.split_once(' ').ok_or_else(bad)?;
                Ok(Some(ChildReport {
                    peak_memory: peak.parse().map_err(|_| bad())?,
                    cpu: Duration::from_nanos(cpu.parse().map_err(|_| bad())?),
                }))
            }
            ServerKind::Thread(thread) => {
                thread
                    .join()
                    .map_err(|_| io::Error::other("many_connections: the server panicked"))??;
                Ok(None)
            }
        }
    }
}

/// Reads the child's next line, which must be `<word> <value>`; returns the value.
fn expect_line(
    lines: &mut io::Lines<BufReader<std::process::ChildStdout>>,
    word: &str,
) -> io::Result<String> {
    let line = lines.next().transpose()?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("many_connections: the server process exited before saying `{word}`"),
        )
    })?;
    match line
        .strip_prefix(word)
        .and_then(|rest| rest.strip_prefix(' '))
    {
        Some(value) => Ok(value.to_owned()),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("many_connections: expected `{word} ...` from the server, got {line:?}"),
        )),
    }
}

/// The child process's whole job (`compare --serve many_connections <contender> <n>`): serve,
/// then print how much the peak resident set grew, and how much CPU time went, while serving.
pub fn child_main(contender: Contender, n: usize) -> io::Result<()> {
    // Start the high-water mark from here ("5" resets VmHWM to the current RSS; Linux 4.0+).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_bytes("VmRSS")?;
    let cpu_before = process_cpu_time()?;
    serve(contender, n, |addr| {
        println!("{LISTENING} {addr}");
        let _ = io::stdout().flush();
    })?;
    let cpu = process_cpu_time()?.saturating_sub(cpu_before);
    let peak = status_bytes("VmHWM")?;
    println!(
        "{SERVED} {} {}",
        peak.saturating_sub(before),
        cpu.as_nanos()
    );
    io::stdout().flush()
}

/// A memory field of `/proc/self/status` (given there in kB), in bytes.
fn status_bytes(field: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib * 1024)
        .ok_or_else(|| io::Error::other(format!("/proc/self/status has no {field} line")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bytes_reads_this_process_memory() {
        let rss = status_bytes("VmRSS").unwrap();
        let hwm = status_bytes("VmHWM").unwrap();
        assert!(rss > 0 && hwm >= rss, "rss {rss} hwm {hwm}");
    }
}
