//! What the user watches: one [`Progress`] per download, shown by a [`Board`] as `indicatif` bars on
//! a terminal, or as plain lines when the output is a pipe or a log.
//!
//! ## Who draws, and when
//! Downloads only bump counters in their [`Progress`] (atomics, so OS threads in `--threads` mode
//! can share them too). The board reads them in [`Board::refresh`], which `main` calls from a glass
//! [`interval`](reactor::time::interval) task ten times a second. So the picture moves because a
//! *task on the same thread as the downloads* keeps getting its turn while they wait on the network,
//! which is the point of the demo. (`indicatif` could redraw from a steady-tick thread of its own,
//! but that would show that a second thread is free, not that this one is.)
//!
//! The same redraw measures the time between two ticks ([`Board::tick`]): a gap longer than the
//! interval is a time when the thread was held and the display frozen (`--hash-on-loop` makes
//! one). Below the total, `t` shows the task table (`glass_console::TaskTable`), refreshed with
//! the bars; without bars, `--tasks` prints it with each status line. The board is
//! `progress/board.rs`.

mod board;

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

pub use board::Board;

/// Where one download stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for one of the `-j` slots.
    Queued,
    /// Waiting for a connection to its host (`--per-host`); [`Info::waiting_for`] says which.
    Waiting,
    /// Asking or receiving.
    Running,
    /// An attempt failed; waiting before the next ([`Info::retry`] says until when, and why).
    Retrying,
    /// Received and on disk; its SHA-256 is being computed (`hash.rs`).
    Hashing,
    /// Complete, renamed to its final name (and, for the embedded files, verified).
    Done,
    /// Failed; the message says why.
    Failed,
    /// Stopped by `q` or Ctrl-C; its `.part` stays.
    Stopped,
    /// Cancelled by the `c` key; its `.part` stays, and `r` restarts it.
    Cancelled,
}

/// One download's state, shared by the download (writer) and the board (reader).
#[derive(Debug)]
pub struct Progress {
    /// The URL as the user gave it (print it through `for_display`).
    pub url: String,
    /// Bytes in the `.part` so far, resumed ones included.
    received: AtomicU64,
    /// The file's full size, or [`UNKNOWN`] until a response tells (or for good, for a chunked or
    /// close-delimited body).
    size: AtomicU64,
    /// Everything read or written rarely (once per phase change), behind one lock.
    info: Mutex<Info>,
    /// Set by the `c` key for a `--threads` download: its thread stops at its next read.
    cancel: AtomicBool,
}

/// [`Progress::size`] when no size is known.
const UNKNOWN: u64 = u64::MAX;

/// A failed attempt, and the wait before the next.
#[derive(Clone, Debug)]
pub struct Retry {
    /// A few words: `503`, `connection reset`...
    pub reason: String,
    /// How long the wait is.
    pub wait: Duration,
    /// When it ends.
    pub until: Instant,
}

/// The rarely changing part of a [`Progress`].
#[derive(Clone, Debug)]
pub struct Info {
    /// The name shown: the URL's until the response names the file.
    pub name: String,
    /// Where the download stands.
    pub phase: Phase,
    /// When the download left the queue.
    pub started: Option<Instant>,
    /// When it reached `Done`, `Failed` or `Stopped`.
    pub finished: Option<Instant>,
    /// Bytes that were already in the `.part` when it started.
    pub resumed_from: u64,
    /// The thread that ran the download: the summary counts the distinct ones.
    pub thread: Option<ThreadId>,
    /// How it ended: "verified", "done", or the error.
    pub note: String,
    /// Attempts that failed and were tried again.
    pub retries: u32,
    /// The last failed attempt: why, how long the wait before the next was, and when it ends.
    pub retry: Option<Retry>,
    /// While [`Phase::Waiting`]: what for.
    pub waiting_for: String,
}

impl Progress {
    /// A queued download of `url`, shown as `name` for now.
    pub fn new(url: &str, name: &str) -> Arc<Progress> {
        Arc::new(Progress {
            url: url.to_owned(),
            received: AtomicU64::new(0),
            size: AtomicU64::new(UNKNOWN),
            info: Mutex::new(Info {
                name: name.to_owned(),
                phase: Phase::Queued,
                started: None,
                finished: None,
                resumed_from: 0,
                thread: None,
                note: String::new(),
                retries: 0,
                retry: None,
                waiting_for: String::new(),
            }),
            cancel: AtomicBool::new(false),
        })
    }

    /// Back in the queue, as new (`r` after a cancel or a failure).
    pub fn requeue(&self) {
        self.received.store(0, Ordering::Relaxed);
        self.size.store(UNKNOWN, Ordering::Relaxed);
        self.cancel.store(false, Ordering::Relaxed);
        let mut info = self.info();
        let name = std::mem::take(&mut info.name);
        *info = Progress::new(&self.url, &name).snapshot();
    }

    /// Asks a `--threads` download to stop at its next read.
    pub fn request_cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Whether [`request_cancel`](Progress::request_cancel) was called.
    pub fn cancel_requested(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    fn info(&self) -> MutexGuard<'_, Info> {
        // A panic while holding this lock leaves plain data behind; it is still worth showing.
        self.info.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of the rarely changing part.
    pub fn snapshot(&self) -> Info {
        self.info().clone()
    }

    /// The download leaves the queue, on the current thread.
    pub fn start(&self) {
        let mut info = self.info();
        info.phase = Phase::Running;
        info.started = Some(Instant::now());
        info.thread = Some(std::thread::current().id());
    }

    /// The response is in: the file's name, its size if known, and what is already on disk.
    pub fn receiving(&self, name: &str, size: Option<u64>, have: u64) {
        self.size.store(size.unwrap_or(UNKNOWN), Ordering::Relaxed);
        self.received.store(have, Ordering::Relaxed);
        let mut info = self.info();
        info.name = name.to_owned();
        info.resumed_from = have;
    }

    /// An attempt failed for `reason` (`503`, `connection reset`...); the next starts in `wait`.
    pub fn retrying(&self, wait: Duration, reason: &str) {
        let mut info = self.info();
        info.phase = Phase::Retrying;
        info.retries += 1;
        info.retry = Some(Retry {
            reason: reason.to_owned(),
            wait,
            until: Instant::now() + wait,
        });
    }

    /// Waiting for one of the connections to `host` the per-host limit allows.
    pub fn waiting(&self, host: &str, limit: usize) {
        let mut info = self.info();
        info.phase = Phase::Waiting;
        info.waiting_for = format!("waiting for a connection to {host} (--per-host {limit})");
    }

    /// Asking or receiving again, after a wait ([`retrying`](Progress::retrying),
    /// [`waiting`](Progress::waiting)).
    pub fn running(&self) {
        self.info().phase = Phase::Running;
    }

    /// The file is complete on disk; its SHA-256 is being computed.
    pub fn hashing(&self) {
        self.info().phase = Phase::Hashing;
    }

    /// `n` more bytes are on disk. The hot path: one relaxed atomic add per chunk.
    pub fn add(&self, n: u64) {
        self.received.fetch_add(n, Ordering::Relaxed);
    }

    /// Bytes on disk so far.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// The full size, if known.
    pub fn size(&self) -> Option<u64> {
        Some(self.size.load(Ordering::Relaxed)).filter(|&s| s != UNKNOWN)
    }

    /// The download is over: `phase` is `Done`, `Failed` or `Stopped`.
    pub fn end(&self, phase: Phase, note: String) {
        let mut info = self.info();
        info.phase = phase;
        info.note = note;
        info.finished = Some(Instant::now());
        info.started.get_or_insert(Instant::now());
    }
}

/// Writes `text` on stdout, best effort: everything the demo prints there goes through here.
///
/// Rust starts programs with `SIGPIPE` ignored, so once the reader of a pipe has gone
/// (`demo URL... | head -1`) every write fails with `EPIPE`, and `print!` would panic on it. The
/// downloads matter more than their commentary: they go on, and what they would have printed is
/// dropped. (Failures still reach stderr, and the exit status still tells.)
pub fn write_stdout(text: &str) {
    let _ = std::io::stdout().write_all(text.as_bytes());
}
