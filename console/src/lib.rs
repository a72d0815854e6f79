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
//!                                                     ├─ warnings: printed, or kept for the program
//!                                                     └─ TaskTable: the live task list, as text
//!        │
//!   demo/, trpl, your program:  let _console = glass_console::init_from_env();
//! ```
//!
//! ## One call
//! [`init_from_env`] reads the environment: `GLASS_TRACE` ([`TRACE_ENV`]) selects the readable
//! trace:
//!
//! | `GLASS_TRACE` | on stderr |
//! |---|---|
//! | unset, empty or `0` | glass's warnings only |
//! | `1` or `all` | every event glass emits, one line each |
//! | a comma-separated list of `executor`, `reactor`, `http` | those crates' events only (`http` includes `glass::tls`), with every warning |
//!
//! [`init`] takes the same choices from the program ([`Options`]); the demo maps `--trace` and
//! `--trace-file` onto it. Either returns a [`Guard`]; dropping it finishes any file being written.
//! Both install a global `tracing` subscriber; if the program already installed one, they
//! install nothing and leave it alone (so a program keeps its own logging).
//!
//! Asking for a trace turns on the executor's task timing ([`executor::set_task_timing`]), so each
//! poll says how long it took. With only warnings asked for, the trace events stay off: each costs
//! a check of a cached per-callsite interest.
//!
//! ## Reading order
//! `trace.rs` (one line per event, and `Fields`, how every reader here takes an event apart),
//! `warnings.rs`, `chrome.rs` (wakes joined to polls by their `wake_id`), `task_table.rs`.

mod chrome;
pub mod task_table;
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
use trace::HumanLayer;

/// The environment variable [`init_from_env`] reads the readable trace's selection from.
pub const TRACE_ENV: &str = "GLASS_TRACE";

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
    warnings: Warnings,
}

impl Options {
    /// Warnings on stderr, nothing else.
    pub fn new() -> Options {
        Options::default()
    }

    /// The options `GLASS_TRACE` asks for ([`init_from_env`]).
    pub fn from_env() -> Result<Options, ParseTraceError> {
        let trace = std::env::var(TRACE_ENV).unwrap_or_default().parse()?;
        Ok(Options::new().trace(trace))
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
}

impl Guard {
    /// A guard with nothing to finish.
    fn inert() -> Guard {
        Guard { chrome: None }
    }

    /// Finishes the files now, saying whether that worked (a drop can only print the error).
    /// Events after this are not written.
    pub fn finish(mut self) -> io::Result<()> {
        self.finish_files()
    }

    fn finish_files(&mut self) -> io::Result<()> {
        if let Some(chrome) = self.chrome.take() {
            chrome.lock().unwrap_or_else(|e| e.into_inner()).close()?;
        }
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
    let watching = options.trace.executor || options.chrome_trace.is_some();
    let human = options.trace.any().then(|| {
        HumanLayer {
            origin,
            color: io::stderr().is_terminal(),
        }
        .with_filter(options.trace.targets())
    });
    let chrome = match &options.chrome_trace {
        Some(path) => Some(Arc::new(Mutex::new(ChromeFile::create(path)?))),
        None => None,
    };
    let chrome_layer = chrome.clone().map(|out| {
        ChromeLayer { out, origin }.with_filter(Targets::new().with_target("glass", Level::TRACE))
    });
    let warnings = warnings::WarningLayer {
        print: (!options.trace.any()).then_some(options.warnings),
    }
    .with_filter(Targets::new().with_target("glass", Level::WARN));
    tracing_subscriber::registry()
        .with(human)
        .with(chrome_layer)
        .with(warnings)
        .try_init()
        .map_err(|_| already_installed())?;
    if watching {
        // Each poll's `took`, and the timeline's busy time, need the executor's clock reads.
        executor::set_task_timing(true);
    }
    Ok(Guard { chrome })
}

fn already_installed() -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        "a global tracing subscriber is already installed",
    )
}

/// [`init`] with the options the environment asks for ([`TRACE_ENV`], see the crate docs), for
/// any program: a bad value, a file that cannot be created or a subscriber already installed is
/// said on stderr, and the program runs on without that part.
pub fn init_from_env() -> Guard {
    let options = match Options::from_env() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("warning: {e}");
            Options::new()
        }
    };
    let asked = options.trace.any() || options.chrome_trace.is_some();
    match init(options) {
        Ok(guard) => guard,
        // The program's own subscriber stays; say so only if something was asked of us.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && !asked => Guard::inert(),
        Err(e) => {
            eprintln!("warning: glass's console is off: {e}");
            Guard::inert()
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
