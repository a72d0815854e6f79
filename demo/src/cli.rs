//! The command line: every flag the demo takes, with its help text.

use std::path::PathBuf;

use clap::Parser;

use crate::catalog::Scale;

/// Download files concurrently on one thread, or, with no URL, watch it happen with generated
/// files from an embedded server.
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli {
    /// http:// or https:// URLs to download. None (and no -i): the embedded demo (a local
    /// server and eight files).
    pub urls: Vec<String>,
    /// Also download the URLs in FILE (`-` reads standard input): one a line, optionally
    /// followed by `sha256=HEX`, the SHA-256 the file must have; blank lines and lines starting
    /// with `#` are ignored.
    #[arg(short = 'i', long = "input-file", value_name = "FILE")]
    pub input_file: Option<PathBuf>,
    /// Verify https:// servers against the PEM certificates in FILE, and no others (as curl's
    /// option of the same name) [default: the system's store].
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// The embedded demo over TLS: its server gets a certificate made at start, trusted for this
    /// run only.
    #[arg(long, conflicts_with_all = ["urls", "input_file"])]
    pub https: bool,
    /// Where to save files [default: the current folder; the embedded demo: a temporary folder,
    /// removed afterwards].
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// At most this many downloads at once (a file already received, waiting only to be made
    /// durable and named, no longer counts).
    #[arg(short, long, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// At most this many connections at once to one host and port; a download waits in line
    /// for one [default: 6, as browsers; the embedded demo: no limit, its server is its own].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub per_host: Option<u16>,
    /// Replace files that already exist (one an earlier run completed is still skipped when the
    /// server says it has not changed; with -i's sha256=, it is downloaded again).
    #[arg(long)]
    pub force: bool,
    /// Try a failed download again up to N times (a connection refused, reset or cut, a
    /// timeout, a 5xx, 408 or 429), waiting longer each time; 0: never.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retry: u32,
    /// The wait before the first retry, in milliseconds; it doubles each time (tests use a
    /// short one).
    #[arg(long, hide = true, value_name = "MS", default_value_t = 1_000)]
    pub retry_delay_ms: u64,
    /// Resume a .part even when nothing ties it to the server's version of the file (no ETag or
    /// Last-Modified was kept for it), as `wget -c` does: the result may splice two versions.
    #[arg(short = 'c', long = "continue")]
    pub resume_unchecked: bool,
    /// Print what the executor and reactor do (spawn, poll, wake, epoll_wait...) on stderr.
    #[arg(long)]
    pub trace: bool,
    /// Write the same events as Chrome trace-event JSON (open it in ui.perfetto.dev).
    #[arg(long, value_name = "FILE")]
    pub trace_file: Option<PathBuf>,
    /// Write the run as one HTML page that any browser opens offline: a lane per task, each wake
    /// joined to the poll it caused, clickable, steppable.
    #[arg(long, value_name = "FILE")]
    pub timeline: Option<PathBuf>,
    /// Use one OS thread and blocking sockets per download instead, to compare.
    #[arg(long)]
    pub threads: bool,
    /// Compute each finished file's SHA-256 inside its download task's poll, on the event loop,
    /// instead of on the blocking pool: watch the bars freeze and the slow-poll warning appear.
    #[arg(long, conflicts_with = "threads")]
    pub hash_on_loop: bool,
    /// Start with the task table shown under the bars (the `t` key toggles it); without a
    /// terminal, print it with each status line.
    #[arg(long)]
    pub tasks: bool,
    /// The embedded demo's size (`small` keeps the tests quick).
    #[arg(long, hide = true, value_enum, default_value_t = Scale::Full)]
    pub demo_scale: Scale,
    /// The client's read timeout in milliseconds (tests use a short one).
    #[arg(long, hide = true, value_name = "MS", default_value_t = 30_000)]
    pub read_timeout_ms: u64,
    /// Only run the embedded server, printing its address, until interrupted.
    #[arg(long, hide = true)]
    pub serve: bool,
}
