//! The stall warning: loud when nothing left can wake any task, silent while something can.
//!
//! The check counts the process's threads, and a test harness runs each test on a thread of its
//! own beside its main thread. So this binary has no harness (`harness = false` in Cargo.toml):
//! it runs each case in a child process of its own (itself, with `GLASS_STALL_CASE` set), whose
//! only thread is the one in `block_on`, and reads the child's stderr. A loud case stays stuck
//! after its warning (the warning does not exit), so the parent kills it.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reactor::io::{AsyncFd, Interest};

const CASE_ENV: &str = "GLASS_STALL_CASE";
/// The words only the stall warning uses.
const STUCK: &str = "glass: stuck.";
/// How long a silent case waits before what it waits for comes: far longer than a stall takes
/// to be reported when nothing can wake (at once) or when the last other thread exits (about a
/// second).
const LATER: Duration = Duration::from_millis(2_500);

fn main() {
    match std::env::var(CASE_ENV) {
        Ok(case) => child(&case),
        Err(_) => parent(),
    }
}

// ===== the cases, each run in a child process =====

fn child(case: &str) {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .init();
    match case {
        "self_sender" => executor::block_on(async {
            let holder = executor::Builder::new()
                .name("holds its own sender")
                .spawn(async {
                    let (sender, receiver) = common::oneshot::<()>();
                    receiver.await;
                    drop(sender);
                });
            holder.await.unwrap();
        }),
        "join_cycle" => executor::block_on(async {
            let second = std::rc::Rc::new(std::cell::RefCell::new(None));
            let slot = second.clone();
            let first = executor::spawn(async move {
                executor::yield_now().await;
                let other: executor::JoinHandle<()> = slot.borrow_mut().take().unwrap();
                other.await.unwrap();
            });
            *second.borrow_mut() = Some(executor::spawn(async move {
                first.await.unwrap();
            }));
            let (_keep, never) = common::oneshot::<()>();
            never.await;
        }),
        "after_thread_exits" => executor::block_on(async {
            // A thread that holds nothing, alive for a while: the stall begins when it exits.
            std::thread::spawn(|| std::thread::sleep(Duration::from_millis(500)));
            let (sender, receiver) = common::oneshot::<()>();
            receiver.await;
            drop(sender);
        }),
        "timer" => executor::block_on(reactor::time::sleep(LATER)),
        "thread_sends_later" => executor::block_on(async {
            let (sender, receiver) = common::oneshot();
            std::thread::spawn(move || {
                std::thread::sleep(LATER);
                sender.send(());
            });
            receiver.await.unwrap();
        }),
        "blocking_job" => executor::block_on(async {
            executor::spawn_blocking(|| std::thread::sleep(LATER))
                .await
                .unwrap();
        }),
        "socket" => executor::block_on(async {
            let listener = reactor::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap();
            println!("port {}", listener.local_addr().unwrap().port());
            listener.accept().await.unwrap();
        }),
        "signal" => executor::block_on(async {
            let pipe = signal_pipe();
            println!("ready");
            let mut byte = [0u8; 1];
            pipe.async_io(Interest::READABLE, |fd| read(fd.as_raw_fd(), &mut byte))
                .await
                .unwrap();
        }),
        other => panic!("no case {other}"),
    }
    std::io::stdout().flush().unwrap();
}

/// The write end of the signal's pipe, for the handler.
static WRITE_END: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(_: libc::c_int) {
    // SAFETY: `write` is async-signal-safe; the descriptor is the pipe's write end, never closed.
    unsafe { libc::write(WRITE_END.load(Ordering::Relaxed), [1u8].as_ptr().cast(), 1) };
}

/// A self-pipe for SIGUSR1, its read end registered with the reactor (as the demo's signals).
fn signal_pipe() -> AsyncFd<OwnedFd> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    let made = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK) };
    assert_eq!(made, 0);
    WRITE_END.store(fds[1], Ordering::Relaxed);
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only writes to a pipe.
    unsafe { libc::signal(libc::SIGUSR1, handler) };
    // SAFETY: `fds[0]` is the pipe's read end, owned by nothing else.
    let read_end = unsafe { OwnedFd::from_raw_fd(fds[0]) };
    AsyncFd::with_interest(read_end, Interest::READABLE).unwrap()
}

fn read(fd: libc::c_int, buf: &mut [u8]) -> std::io::Result<usize> {
    // SAFETY: `buf` is valid for its length.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    usize::try_from(n).map_err(|_| std::io::Error::last_os_error())
}

// ===== the parent =====

/// A case's child process, its stdout and stderr lines arriving on channels.
struct Child {
    process: std::process::Child,
    out: mpsc::Receiver<String>,
    err: mpsc::Receiver<String>,
    stderr: Vec<String>,
}

impl Child {
    fn start(case: &str) -> Child {
        let mut process = Command::new(std::env::current_exe().unwrap())
            .env(CASE_ENV, case)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = |pipe: Box<dyn std::io::Read + Send>| {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
            rx
        };
        let out = lines(Box::new(process.stdout.take().unwrap()));
        let err = lines(Box::new(process.stderr.take().unwrap()));
        Child {
            process,
            out,
            err,
            stderr: Vec::new(),
        }
    }

    /// The next stdout line.
    fn line(&self) -> String {
        self.out
            .recv_timeout(common::deadline())
            .expect("the child prints a line")
    }

    /// Collects stderr until a line has `words` (returns it) or `within` passes (`None`).
    fn stderr_until(&mut self, words: &str, within: Duration) -> Option<String> {
        let end = Instant::now() + within;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.err.recv_timeout(left) {
                Ok(line) => {
                    self.stderr.push(line.clone());
                    if line.contains(words) {
                        return Some(line);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => return None,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    if Instant::now() >= end {
                        return None;
                    }
                    std::thread::sleep(Duration::from_millis(20).min(left));
                    if left.is_zero() {
                        return None;
                    }
                }
            }
        }
    }

    /// Waits for the end; asserts success and returns all stderr.
    fn finish(mut self) -> String {
        let status = self.process.wait().unwrap();
        self.stderr.extend(self.err.iter());
        let stderr = self.stderr.join("\n");
        assert!(status.success(), "{status}\n{stderr}");
        stderr
    }

    fn kill(mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A loud case: the warning comes, once, and names `expected` (each a piece of the warning).
fn loud(case: &str, expected: &[&str]) {
    let started = Instant::now();
    let mut child = Child::start(case);
    let warning = child
        .stderr_until(STUCK, common::deadline())
        .unwrap_or_else(|| panic!("{case}: no stall warning\n{}", child.stderr.join("\n")));
    let took = started.elapsed();
    for piece in expected {
        assert!(warning.contains(piece), "{case}: {piece:?} in\n{warning}");
    }
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains("glass::executor"), "{warning}");
    // Once per stall: nothing more comes while it lasts.
    let again = child.stderr_until(STUCK, Duration::from_millis(1_500));
    assert_eq!(again, None, "{case}: warned twice");
    // It does not exit: a signal may still come.
    assert!(child.process.try_wait().unwrap().is_none(), "{case} exited");
    child.kill();
    println!("{case}: loud after {took:?}: {warning}");
}

/// A silent case: it ends well, and no stall warning was given.
fn silent(case: &str, meanwhile: impl FnOnce(&Child)) {
    let mut child = Child::start(case);
    meanwhile(&child);
    let early = child.stderr_until(STUCK, Duration::ZERO);
    let stderr = child.finish();
    assert_eq!(early, None, "{case}: a false alarm");
    assert!(!stderr.contains(STUCK), "{case}: a false alarm\n{stderr}");
    println!("{case}: silent");
}

fn parent() {
    loud(
        "self_sender",
        &[
            "task 1 `holds its own sender` waits on a waker held outside glass",
            "task 0 (block_on's future) waits on task 1",
        ],
    );
    loud(
        "join_cycle",
        &["task 1 waits on task 2", "task 2 waits on task 1"],
    );
    loud(
        "after_thread_exits",
        &["task 0 (block_on's future) waits on a waker held outside glass"],
    );
    silent("timer", |_| {});
    silent("thread_sends_later", |_| {});
    silent("blocking_job", |_| {});
    silent("socket", |child| {
        let line = child.line();
        let port: u16 = line.trim_start_matches("port ").parse().unwrap();
        std::thread::sleep(LATER);
        std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    });
    silent("signal", |child| {
        assert_eq!(child.line(), "ready");
        std::thread::sleep(LATER);
        let pid = libc::pid_t::try_from(child.process.id()).unwrap();
        // SAFETY: sends a signal to our child, which handles it.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGUSR1) }, 0);
    });
}
