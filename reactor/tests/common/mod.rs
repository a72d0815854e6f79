//! Helpers shared by the reactor's integration tests: a deadline around `block_on`, the process's
//! CPU time and open files, re-running one test in a child process, and a checkable byte stream.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::future::Future;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use reactor::net::TcpStream;

/// The default guard: far longer than any test should take, short enough to report a hang.
pub const LIMIT: Duration = Duration::from_secs(60);

/// Runs `make()` to completion under `executor::block_on` on a fresh thread (so it gets a reactor
/// of its own), and fails the test if it has not finished within `limit`: a lost wake-up shows up
/// as a hang, and a hang must be reported, not wait forever.
pub fn run<T, Fut>(limit: Duration, make: impl FnOnce() -> Fut + Send + 'static) -> T
where
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("glass-test-loop".into())
        .spawn(move || {
            let output = executor::block_on(make());
            let _ = tx.send(output);
        })
        .expect("spawn the test's event-loop thread");
    match rx.recv_timeout(limit) {
        Ok(output) => {
            thread
                .join()
                .expect("event-loop thread panicked after finishing");
            output
        }
        Err(RecvTimeoutError::Timeout) => {
            panic!("still running after {limit:?}: the event loop hangs (a lost wake-up?) or spins")
        }
        Err(RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the loop thread ended without sending its result"),
        },
    }
}

/// CPU time (user + system) this whole process has used so far, from `/proc/self/stat`.
pub fn cpu_time() -> Duration {
    CpuClock::open().read()
}

/// `/proc/self/stat`, kept open so the CPU time can be read again without opening a file (for a
/// test that has used up every file descriptor).
pub struct CpuClock(std::fs::File);

impl CpuClock {
    pub fn open() -> CpuClock {
        CpuClock(std::fs::File::open("/proc/self/stat").expect("open /proc/self/stat"))
    }

    /// CPU time (user + system) this whole process has used so far.
    pub fn read(&mut self) -> Duration {
        use std::io::Seek;
        let mut stat = String::new();
        self.0.rewind().expect("rewind /proc/self/stat");
        self.0
            .read_to_string(&mut stat)
            .expect("read /proc/self/stat");
        // The command name (field 2) is in parentheses and may contain spaces: start after the
        // last ')'.
        let rest = &stat[stat.rfind(')').expect("malformed /proc/self/stat") + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // `rest` starts at field 3 (state); utime and stime are fields 14 and 15.
        let utime: u64 = fields[11].parse().expect("utime");
        let stime: u64 = fields[12].parse().expect("stime");
        // SAFETY: sysconf only reads a configuration value; it has no memory-safety preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        assert!(ticks > 0, "sysconf(_SC_CLK_TCK) failed");
        Duration::from_secs_f64((utime + stime) as f64 / ticks as f64)
    }
}

/// How many file descriptors this process has open (the entries of `/proc/self/fd`; the
/// directory handle used to list it is one of them, which is the same every time).
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("list /proc/self/fd")
        .count()
}

/// The soft and hard `RLIMIT_NOFILE`.
pub fn nofile_limit() -> (libc::rlim_t, libc::rlim_t) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable `rlimit` for the duration of the call.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(rc, 0, "getrlimit: {}", std::io::Error::last_os_error());
    (limit.rlim_cur, limit.rlim_max)
}

/// Sets the soft `RLIMIT_NOFILE`, keeping the hard limit.
pub fn set_soft_nofile_limit(soft: libc::rlim_t) {
    let (_, hard) = nofile_limit();
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `limit` is a valid, initialised `rlimit`; the call only reads it.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    assert_eq!(rc, 0, "setrlimit: {}", std::io::Error::last_os_error());
}

/// The environment variable that tells a re-executed test binary it is the child.
pub const CHILD_ENV: &str = "GLASS_CHILD";

/// Whether this process is a child started by [`run_in_child`].
pub fn in_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// What a child prints when its test body finished, so the parent knows the test really ran (a
/// misspelt `--exact` name would run nothing and still exit with success).
pub fn child_done_marker(test: &str) -> String {
    format!("GLASS_CHILD_DONE {test}")
}

/// Re-runs this test binary with only `test` selected and [`CHILD_ENV`] set, so that test runs
/// in a fresh process (one whose limits it may change). Fails if the child fails, does not print
/// [`child_done_marker`], or is still running after `limit` (then it is killed).
pub fn run_in_child(test: &str, limit: Duration) {
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the child test process");
    // Drain both pipes on helper threads so a chatty child never blocks on a full pipe.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("child stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("child stderr")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "child for {test} still running after {limit:?} (hung or spinning); stderr:\n{}",
                stderr.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    assert!(
        status.success(),
        "child for {test} failed ({status}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(
        stdout.contains(&child_done_marker(test)),
        "child for {test} did not run the test body:\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
}

/// Byte `i` of an endless, position-dependent test stream: a byte lost, repeated or moved shows up
/// as a mismatch at once.
pub fn stream_byte(i: u64) -> u8 {
    let x = i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> 56) as u8 ^ (i as u8)
}

/// A small deterministic pseudo-random generator (xorshift64*), for "random-ish" test inputs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Reads exactly `buf.len()` bytes; end-of-file first is an error.
pub async fn read_exact(stream: &TcpStream, buf: &mut [u8]) -> std::io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        match stream.read(&mut buf[filled..]).await? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => filled += n,
        }
    }
    Ok(())
}

/// Makes a connected pair on this thread's reactor: (client end, server end). The listener is
/// dropped once the connection is accepted.
pub async fn connected_pair() -> (TcpStream, TcpStream) {
    let listener = reactor::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let client = TcpStream::connect(addr).await.expect("connect");
    let (server, _) = listener.accept().await.expect("accept");
    (client, server)
}
