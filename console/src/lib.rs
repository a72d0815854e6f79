//! # glass-console: what the runtime says, made readable
//!
//! The executor and the reactor say what they do as `tracing` events (targets `glass::executor`:
//! spawn, poll, wake, and the slow-poll and lost-waker warnings; `glass::reactor`: register,
//! `epoll_wait`, dispatch, timers; `glass::http` and `glass::tls` from `http-client`), and answer
//! `executor::tasks()` and the `metrics()` of both. They format nothing. This crate is where
//! those become something a person reads, as tokio-console is for tokio:
//!
//! ```text
//!   executor/  reactor/  http-client/      tracing events, tasks(), metrics()
//!        │
//!   console/   one subscriber, installed by one call ─┬─ the readable trace, on stderr
//!              (this crate)                           ├─ the Chrome trace (JSON, for Perfetto)
//!                                                     ├─ the timeline: one HTML page, offline
//!                                                     ├─ warnings: printed, or kept for the program
//!                                                     └─ TaskTable: the live task list, as text
//!        │
//!   demo/, trpl, your program:  let _console = glass_console::init_from_env();
//! ```
//!
//! ## One call
//! [`init_from_env`] reads the environment: `GLASS_TIMELINE=FILE` ([`TIMELINE_ENV`]) writes the
//! timeline to `FILE` when the guard drops; `GLASS_TRACE` ([`TRACE_ENV`]) selects the readable
//! trace:
//!
//! | `GLASS_TRACE` | on stderr |
//! |---|---|
//! | unset, empty or `0` | glass's warnings only |
//! | `1` or `all` | every event glass emits, one line each |
//! | a comma-separated list of `executor`, `reactor`, `http` | those crates' events only (`http` includes `glass::tls`), with every warning |
//!
//! [`init`] takes the same choices from the program ([`Options`]); the demo maps `--trace`,
//! `--trace-file` and `--timeline` onto it. Either returns a [`Guard`]; dropping it finishes any
//! file being written. Both install a global `tracing` subscriber; if the program already installed one, they
//! install nothing and leave it alone (so a program keeps its own logging). A program may call
//! [`init_from_env`] at each `block_on` (trpl does): later calls keep the console installed by
//! the first and start a new run in its timeline, which is written again, whole, at each
//! guard's drop.
//!
//! Asking for the executor's trace, a Chrome trace or a timeline turns on the executor's task
//! timing ([`executor::set_task_timing`]), so that each poll says how long it took. With only warnings asked for, the trace events stay off: each costs
//! a check of a cached per-callsite interest.
//!
//! ## Reading order
//! `trace.rs` (one line per event, and `Fields`, how every reader here takes an event apart),
//! `warnings.rs`, `chrome.rs` (wakes joined to polls by their `wake_id`), `timeline/` (the same
//! joins, drawn in a page: `mod.rs`, `page.rs`, `timeline.js`), `task_table.rs`.

mod chrome;
pub mod task_table;
mod timeline;
mod trace;
mod warnings;

use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tracing::Level;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub use task_table::TaskTable;
pub use warnings::Warnings;

use chrome::{ChromeFile, ChromeLayer};
use timeline::{Timeline, TimelineLayer};
use trace::HumanLayer;

/// The environment variable [`init_from_env`] reads the readable trace's selection from.
pub const TRACE_ENV: &str = "GLASS_TRACE";
/// The environment variable that names the file [`init_from_env`] writes the timeline to.
pub const TIMELINE_ENV: &str = "GLASS_TIMELINE";

/// Which of glass's events the readable trace prints (warnings are always printed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// `glass::executor`: spawn, poll, wake.
    pub executor: bool,
    /// `glass::reactor`: register, deregister, `epoll_wait`, dispatch, timers fired.
    pub reactor: bool,
    /// `glass::http` and `glass::tls`: connections, redirects, handshakes.
    pub http: bool,
}

impl Trace {
    /// No events: warnings only.
    pub const OFF: Trace = Trace {
        executor: false,
        reactor: false,
        http: false,
    };
    /// Every event glass emits.
    pub const ALL: Trace = Trace {
        executor: true,
        reactor: true,
        http: true,
    };

    /// Whether any event is selected.
    pub fn any(self) -> bool {
        self != Trace::OFF
    }

    /// The targets this selects, at `TRACE`, over glass's warnings.
    fn targets(self) -> Targets {
        let mut targets = Targets::new().with_target("glass", Level::WARN);
        let selected = [
            (self.executor, "glass::executor"),
            (self.reactor, "glass::reactor"),
            (self.http, "glass::http"),
            (self.http, "glass::tls"),
        ];
        for (on, target) in selected {
            if on {
                targets = targets.with_target(target, Level::TRACE);
            }
        }
        targets
    }
}

/// A `GLASS_TRACE` value that is none of those [`Trace`]'s table lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseTraceError(String);

impl std::fmt::Display for ParseTraceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{TRACE_ENV}={:?} is not understood: use 0, 1 (everything), or a comma-separated \
             list of executor, reactor, http",
            self.0
        )
    }
}

impl std::error::Error for ParseTraceError {}

impl FromStr for Trace {
    type Err = ParseTraceError;

    /// `""`/`0`: [`Trace::OFF`]; `1`/`all`: [`Trace::ALL`]; else a list such as
    /// `executor,reactor`.
    fn from_str(s: &str) -> Result<Trace, ParseTraceError> {
        match s.trim() {
            "" | "0" => return Ok(Trace::OFF),
            "1" | "all" => return Ok(Trace::ALL),
            _ => {}
        }
        let mut trace = Trace::OFF;
        for part in s.split(',').map(str::trim) {
            match part {
                "executor" => trace.executor = true,
                "reactor" => trace.reactor = true,
                "http" => trace.http = true,
                _ => return Err(ParseTraceError(s.to_owned())),
            }
        }
        Ok(trace)
    }
}

/// What [`init`] installs.
///
/// ```no_run
/// let _console = glass_console::init(
///     glass_console::Options::new()
///         .trace(glass_console::Trace::ALL)
///         .chrome_trace("run.json"),
/// )?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Options {
    trace: Trace,
    chrome_trace: Option<PathBuf>,
    timeline: Option<PathBuf>,
    warnings: Warnings,
}

impl Options {
    /// Warnings on stderr, nothing else.
    pub fn new() -> Options {
        Options::default()
    }

    /// The options `GLASS_TRACE` and `GLASS_TIMELINE` ask for ([`init_from_env`]).
    pub fn from_env() -> Result<Options, ParseTraceError> {
        let trace = std::env::var(TRACE_ENV).unwrap_or_default().parse()?;
        let mut options = Options::new().trace(trace);
        if let Some(path) = std::env::var_os(TIMELINE_ENV).filter(|p| !p.is_empty()) {
            options = options.timeline(path);
        }
        Ok(options)
    }

    /// The events the readable trace prints on stderr.
    pub fn trace(mut self, trace: Trace) -> Options {
        self.trace = trace;
        self
    }

    /// Also writes every event as Chrome trace-event JSON to `path` (open it in
    /// ui.perfetto.dev), with an arrow from each wake to the poll it caused.
    pub fn chrome_trace(mut self, path: impl Into<PathBuf>) -> Options {
        self.chrome_trace = Some(path.into());
        self
    }

    /// Also records the run and, when the guard drops, writes it to `path` as one self-contained
    /// HTML page: a lane per task coloured busy / scheduled / idle, the thread's own lane, an
    /// arrow from each wake to the poll it caused; any browser opens it offline.
    pub fn timeline(mut self, path: impl Into<PathBuf>) -> Options {
        self.timeline = Some(path.into());
        self
    }

    /// Where warnings go ([`Warnings::Stderr`] unless told). Printed in their place by the
    /// readable trace when it is on, they are kept but not printed again.
    pub fn warnings(mut self, warnings: Warnings) -> Options {
        self.warnings = warnings;
        self
    }
}

/// Finishes the files [`init`] opened when dropped (or at [`Guard::finish`]).
#[must_use = "dropping the guard finishes the trace files at once"]
pub struct Guard {
    /// The Chrome trace, shared with the layer that writes events into it.
    chrome: Option<Arc<Mutex<ChromeFile>>>,
    /// The timeline, shared with the layer that records the run.
    timeline: Option<Arc<Mutex<Timeline>>>,
}

impl Guard {
    /// A guard with nothing to finish.
    fn inert() -> Guard {
        Guard {
            chrome: None,
            timeline: None,
        }
    }

    /// Finishes the files now, saying whether that worked (a drop can only print the error).
    /// Events after this are not written to the Chrome trace; the timeline keeps recording, for
    /// the guard of a later [`init_from_env`].
    pub fn finish(mut self) -> io::Result<()> {
        self.finish_files()
    }

    fn finish_files(&mut self) -> io::Result<()> {
        let chrome = self.chrome.take().map(|chrome| {
            let mut file = chrome.lock().unwrap_or_else(|e| e.into_inner());
            file.close()
        });
        let timeline = self.timeline.take().map(|timeline| {
            let mut page = timeline.lock().unwrap_or_else(|e| e.into_inner());
            page.write()
        });
        // Both are finished even if the first fails.
        chrome.transpose()?;
        timeline.transpose()?;
        Ok(())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Err(e) = self.finish_files() {
            eprintln!("error: could not finish the trace file: {e}");
        }
    }
}

/// Installs glass's console as the global `tracing` subscriber: the readable trace, the files and
/// the warnings `options` asks for.
///
/// Fails, creating no file, if a global subscriber is already installed (kind
/// `AlreadyExists`), or if a file cannot be created.
pub fn init(options: Options) -> io::Result<Guard> {
    if tracing::dispatcher::has_been_set() {
        return Err(already_installed());
    }
    let origin = Instant::now();
    let watching =
        options.trace.executor || options.chrome_trace.is_some() || options.timeline.is_some();
    let human = options.trace.any().then(|| {
        HumanLayer {
            origin,
            color: io::stderr().is_terminal(),
        }
        .with_filter(options.trace.targets())
    });
    let chrome = match &options.chrome_trace {
        Some(path) => Some(Arc::new(Mutex::new(
            ChromeFile::create(path).map_err(|e| naming(path, e))?,
        ))),
        None => None,
    };
    let chrome_layer = chrome.clone().map(|out| {
        ChromeLayer { out, origin }.with_filter(Targets::new().with_target("glass", Level::TRACE))
    });
    let timeline = match &options.timeline {
        Some(path) => Some(Arc::new(Mutex::new(
            Timeline::create(path.clone()).map_err(|e| naming(path, e))?,
        ))),
        None => None,
    };
    let timeline_layer = timeline.clone().map(|timeline| {
        let targets = Targets::new()
            .with_target("glass", Level::WARN)
            .with_target("glass::executor", Level::TRACE)
            .with_target("glass::reactor", Level::TRACE);
        TimelineLayer { timeline, origin }.with_filter(targets)
    });
    let warnings = warnings::WarningLayer {
        print: (!options.trace.any()).then_some(options.warnings),
    }
    .with_filter(Targets::new().with_target("glass", Level::WARN));
    tracing_subscriber::registry()
        .with(human)
        .with(chrome_layer)
        .with(timeline_layer)
        .with(warnings)
        .try_init()
        .map_err(|_| already_installed())?;
    if watching {
        // Each poll's `took`, and the timeline's busy time, need the executor's clock reads.
        executor::set_task_timing(true);
    }
    *lock_installed() = Some(timeline.clone());
    Ok(Guard { chrome, timeline })
}

/// Set when this crate installed the global subscriber: its timeline, if it records one.
static INSTALLED: Mutex<Option<Option<Arc<Mutex<Timeline>>>>> = Mutex::new(None);

fn lock_installed() -> std::sync::MutexGuard<'static, Option<Option<Arc<Mutex<Timeline>>>>> {
    INSTALLED.lock().unwrap_or_else(|e| e.into_inner())
}

/// `error`, saying which file it is about.
fn naming(path: &std::path::Path, error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

fn already_installed() -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        "a global tracing subscriber is already installed",
    )
}

/// [`init`] with the options the environment asks for ([`TRACE_ENV`], [`TIMELINE_ENV`], see the
/// crate docs), for any program: a bad value, a file that cannot be created or a subscriber
/// already installed is said on stderr, and the program runs on without that part.
pub fn init_from_env() -> Guard {
    // Called again (the next `block_on`): the console is in place; the timeline starts a new run
    // (a new runtime numbers its tasks from 0 again), and this guard writes it again.
    if let Some(timeline) = lock_installed().clone() {
        if let Some(timeline) = &timeline {
            timeline
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .next_run();
        }
        return Guard {
            chrome: None,
            timeline,
        };
    }
    let options = match Options::from_env() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("warning: {e}");
            Options::new()
        }
    };
    let asked = options.trace.any() || options.chrome_trace.is_some() || options.timeline.is_some();
    let options_again = options.clone();
    match init(options) {
        Ok(guard) => guard,
        // The program's own subscriber stays; say so only if something was asked of us.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && !asked => Guard::inert(),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            eprintln!("warning: glass's console is off: {e}");
            Guard::inert()
        }
        // A file that cannot be written: the rest (the warnings, the trace) still works.
        Err(e) => {
            eprintln!("warning: {e}; glass's console runs without its files");
            let without_files = Options {
                chrome_trace: None,
                timeline: None,
                ..options_again
            };
            init(without_files).unwrap_or_else(|_| Guard::inert())
        }
    }
}

/// Every warning and error glass reported so far in this process, in order, as
/// `LEVEL: message` (for a summary at the end of a run).
pub fn warnings() -> Vec<String> {
    warnings::all()
}

/// The warnings not yet taken, for a program that chose [`Warnings::Collect`] to print them
/// where it prints.
pub fn take_new_warnings() -> Vec<String> {
    warnings::take_new()
}

/// `text` safe to print on a terminal: every control character (an escape sequence's `ESC`
/// among them) and every invisible direction mark becomes `?`. Task names can come from
/// strangers (a download's URL).
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            let invisible = matches!(c,
                '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            if c.is_control() || invisible { '?' } else { c }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glass_trace_values() {
        assert_eq!("".parse(), Ok(Trace::OFF));
        assert_eq!("0".parse(), Ok(Trace::OFF));
        assert_eq!("1".parse(), Ok(Trace::ALL));
        assert_eq!("all".parse(), Ok(Trace::ALL));
        let some: Trace = "executor, http".parse().unwrap();
        assert_eq!(
            (some.executor, some.reactor, some.http),
            (true, false, true)
        );
        let err = "yes".parse::<Trace>().unwrap_err().to_string();
        assert!(err.contains("GLASS_TRACE=\"yes\""), "{err}");
    }

    #[test]
    fn printable_text_cannot_drive_a_terminal() {
        assert_eq!(printable("a\x1b[2Jb\u{202e}c\nd\u{e9}"), "a?[2Jb?c?d\u{e9}");
    }
}
