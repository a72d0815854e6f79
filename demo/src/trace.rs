//! `--trace` and `--trace-file`: the machinery, made visible; and the warnings, always.
//!
//! The executor and the reactor emit `tracing` events at `TRACE` level under the targets
//! `glass::executor` (spawn, poll, wake) and `glass::reactor` (register, deregister, dispatch,
//! epoll_wait, timers fired), and `http_client` under `glass::http` (connected, redirects) and
//! `glass::tls` (each handshake's start, and its end with the ALPN protocol, TLS version, cipher
//! suite and time taken; `--threads` emits the same for its handshakes). The executor's fields
//! say *why*: a `wake` has a `cause` (`io` with the `fd` and direction, `timer`, `task`, `self`,
//! `thread`, `spawn`) and a `wake_id`, and the `poll` it caused has `woken_by` and `took`.
//!
//! - `--trace`: one line per event on stderr ([`HumanLayer`]), stamped with the time since
//!   start: `0.012345s glass::executor: wake task=3 `download file-1MiB.bin` cause=io fd=7
//!   readable`.
//! - `--trace-file FILE`: Chrome trace-event JSON, with an arrow from each wake to its poll
//!   (`chrome.rs`).
//! - Always: the executor's warnings (WARN, target `glass::executor`: a slow poll, a lost waker)
//!   and the reactor's errors are kept for the summary ([`warnings`]) and handed to the display
//!   to print through the board ([`take_new_warnings`]), so they never tear the bars. Listening
//!   to them turns the executor's task timing on, which the demo wants anyway.
//!
//! With no `TRACE` reader installed, each trace event costs a check of a cached per-callsite
//! interest.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::chrome::{ChromeFile, ChromeLayer};

/// Keeps the trace file open; dropping it completes the JSON.
pub struct TraceGuard {
    /// The trace file, shared with the layer that writes events into it.
    chrome: Option<Arc<Mutex<ChromeFile>>>,
}

impl Drop for TraceGuard {
    fn drop(&mut self) {
        if let Some(chrome) = &self.chrome {
            let mut file = chrome.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = file.close() {
                eprintln!("error: could not finish the trace file: {e}");
            }
        }
    }
}

/// Installs the warnings' reader, and the trace readers asked for.
pub fn init(human: bool, file: Option<&Path>) -> io::Result<TraceGuard> {
    let everything = || {
        Targets::new()
            .with_target("glass", tracing::Level::TRACE)
            .with_target("demo", tracing::Level::TRACE)
    };
    let human_layer = human.then(|| {
        HumanLayer {
            origin: Instant::now(),
            color: io::stderr().is_terminal(),
        }
        .with_filter(everything())
    });
    let chrome = match file {
        Some(path) => Some(Arc::new(Mutex::new(ChromeFile::create(path)?))),
        None => None,
    };
    let chrome_layer = chrome.clone().map(|out| {
        ChromeLayer {
            out,
            origin: Instant::now(),
        }
        .with_filter(everything())
    });
    // `--trace` prints the warnings itself, in their place among the events.
    let warnings = WarningLayer { print: !human }
        .with_filter(Targets::new().with_target("glass", tracing::Level::WARN));
    tracing_subscriber::registry()
        .with(human_layer)
        .with(chrome_layer)
        .with(warnings)
        .init();
    Ok(TraceGuard { chrome })
}

/// The warnings and errors glass reported in this run.
#[derive(Default)]
struct Warnings {
    /// Every one, in order, for the summary.
    all: Vec<String>,
    /// Those the display has not printed yet.
    unprinted: Vec<String>,
}

/// Shared by the reader (any thread may warn: a lost waker's last clone can drop anywhere) and
/// the display task.
static WARNINGS: Mutex<Warnings> = Mutex::new(Warnings {
    all: Vec::new(),
    unprinted: Vec::new(),
});

fn lock_warnings() -> std::sync::MutexGuard<'static, Warnings> {
    // Plain strings: a panic while holding the lock leaves nothing half-changed.
    WARNINGS.lock().unwrap_or_else(|e| e.into_inner())
}

/// The warnings not yet printed, for the display to print through the board.
pub fn take_new_warnings() -> Vec<String> {
    std::mem::take(&mut lock_warnings().unprinted)
}

/// Every warning of the run so far, for the summary.
pub fn warnings() -> Vec<String> {
    lock_warnings().all.clone()
}

/// Keeps glass's warnings (and errors) as text.
struct WarningLayer {
    /// Whether the display should print them (not when `--trace` already has).
    print: bool,
}

impl<S: tracing::Subscriber> Layer<S> for WarningLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let text = format!("{}: {}", event.metadata().level(), fields.message);
        let mut warnings = lock_warnings();
        if self.print {
            warnings.unprinted.push(text.clone());
        }
        warnings.all.push(text);
    }
}

/// `--trace`'s lines: the time since start, the target, the message, then the
/// fields in the order the event gives them, plainly (`cause=io fd=7 readable`, a task's name in
/// backquotes, a value with spaces in quotes).
struct HumanLayer {
    /// Time zero.
    origin: Instant,
    /// Whether to mark warnings in colour (stderr is a terminal).
    color: bool,
}

impl<S: tracing::Subscriber> Layer<S> for HumanLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let mut line = format!("{:>11.6}s ", self.origin.elapsed().as_secs_f64());
        if *meta.level() <= tracing::Level::WARN {
            let level = meta.level().as_str();
            match self.color {
                true => line.push_str(&format!("\x1b[1;33m{level}\x1b[0m ")),
                false => line.push_str(&format!("{level} ")),
            }
        }
        line.push_str(meta.target());
        line.push_str(": ");
        line.push_str(&human_line(&fields));
        line.push('\n');
        let _ = io::stderr().write_all(line.as_bytes());
    }
}

/// An event's message and fields, as `--trace` prints them.
fn human_line(fields: &Fields) -> String {
    let mut out = fields.message.clone();
    for (name, value) in &fields.order {
        match *name {
            "name" => write!(out, " `{value}`"),
            // `fd=7 readable`, as the reactor says it.
            "direction" if fields.numbers.contains_key("fd") => write!(out, " {value}"),
            // Quoted only where a space would make it ambiguous.
            _ if value.contains(char::is_whitespace) => write!(out, " {name}={value:?}"),
            _ => write!(out, " {name}={value}"),
        }
        .expect("writing to a String cannot fail");
    }
    out
}

/// An event's fields, by kind.
#[derive(Default)]
pub struct Fields {
    /// The event's message (`poll`, `wake`, a warning's text).
    pub message: String,
    /// Fields recorded as integers.
    pub numbers: BTreeMap<&'static str, u64>,
    /// Fields recorded as booleans.
    pub flags: BTreeMap<&'static str, bool>,
    /// Everything recorded as a string, with `?` or `%`, as text (durations among them).
    pub texts: BTreeMap<&'static str, String>,
    /// Every field but the message, as text, in the order the event gives them.
    pub order: Vec<(&'static str, String)>,
}

impl Fields {
    /// The field `name`, recorded as a `Duration` with `?`.
    pub fn duration(&self, name: &str) -> Option<Duration> {
        parse_duration(self.texts.get(name)?)
    }
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.numbers.insert(field.name(), value);
        self.order.push((field.name(), value.to_string()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.numbers.insert(field.name(), value.max(0) as u64);
        self.order.push((field.name(), value.to_string()));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.flags.insert(field.name(), value);
        self.order.push((field.name(), value.to_string()));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.order.push((field.name(), text.clone()));
            self.texts.insert(field.name(), text);
        }
    }
}

/// Reads back a `Duration` recorded with `?` (`"12.5µs"`, `"3ms"`, `"1.25s"`, `"80ns"`). The
/// executor and reactor record durations that way because it reads well in `--trace`; a unit test
/// pins the format down.
fn parse_duration(text: &str) -> Option<Duration> {
    let units = [
        ("ns", 1e-9),
        ("µs", 1e-6),
        ("us", 1e-6),
        ("ms", 1e-3),
        ("s", 1.0),
    ];
    let (number, scale) = units
        .iter()
        .find_map(|(unit, scale)| Some((text.strip_suffix(unit)?, *scale)))?;
    let value: f64 = number.parse().ok()?;
    Duration::try_from_secs_f64(value * scale).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_back_from_their_debug_form() {
        for d in [
            Duration::from_nanos(80),
            Duration::from_nanos(12_500),
            Duration::from_micros(3_000),
            Duration::from_millis(1_250),
            Duration::from_secs(2),
        ] {
            let back = parse_duration(&format!("{d:?}")).unwrap();
            assert!(
                back.abs_diff(d) < Duration::from_nanos(2),
                "{d:?} read as {back:?}"
            );
        }
        assert_eq!(parse_duration("soon"), None);
    }

    #[test]
    fn human_lines_read_plainly() {
        let mut fields = Fields::default();
        let record = |f: &mut Fields, name: &'static str, value: &str| {
            f.order.push((name, value.to_owned()));
        };
        fields.message = "wake".to_owned();
        record(&mut fields, "task", "3");
        record(&mut fields, "name", "download file-1MiB.bin");
        record(&mut fields, "cause", "io");
        record(&mut fields, "fd", "7");
        fields.numbers.insert("fd", 7);
        record(&mut fields, "direction", "readable");
        record(&mut fields, "error", "connection reset");
        assert_eq!(
            human_line(&fields),
            "wake task=3 `download file-1MiB.bin` cause=io fd=7 readable error=\"connection reset\""
        );
    }
}
