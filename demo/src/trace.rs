//! `--trace` and `--trace-file`: the machinery, made visible.
//!
//! The executor and the reactor emit `tracing` events at `TRACE` level under the targets
//! `glass::executor` (spawn, poll, wake, wake from another thread) and `glass::reactor` (register,
//! deregister, epoll_wait, timers fired), and `http_client` under `glass::http` (connected,
//! redirects) and `glass::tls` (each handshake's start, and its end with the ALPN protocol, TLS
//! version, cipher suite and time taken; `--threads` emits the same for its handshakes). With no
//! subscriber installed each costs a check of a global flag; this module installs one only when
//! asked:
//!
//! - `--trace`: `tracing-subscriber`'s formatter on stderr, one readable line per event, stamped
//!   with the time since start.
//! - `--trace-file FILE`: a [`ChromeLayer`] writing Chrome's trace-event JSON, which Perfetto
//!   (ui.perfetto.dev) and `chrome://tracing` open. Track 0 is the reactor: each `epoll_wait` is a
//!   span as long as the sleep. Each task gets a track of its own with each poll as a span, and its
//!   spawn and wakes as instants. A poll event is emitted when the poll *ends* and carries how long
//!   it took, so its span starts at `event time - took`; likewise `epoll_wait` with `asleep`.
//!   A task's track is named after it (`task 7: download file-8MiB.bin`), from the `name` field
//!   that the executor's events carry for tasks spawned with `executor::Builder::name`.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

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

/// Installs the subscribers asked for (none: nothing is installed, and tracing stays free).
pub fn init(human: bool, file: Option<&Path>) -> io::Result<TraceGuard> {
    let targets = || {
        Targets::new()
            .with_target("glass", tracing::Level::TRACE)
            .with_target("demo", tracing::Level::TRACE)
    };
    let human_layer = human.then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(io::stderr)
            .with_ansi(io::stderr().is_terminal())
            .with_timer(tracing_subscriber::fmt::time::Uptime::default())
            .with_level(false)
            .with_filter(targets())
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
        .with_filter(targets())
    });
    if human || chrome.is_some() {
        tracing_subscriber::registry()
            .with(human_layer)
            .with(chrome_layer)
            .init();
    }
    Ok(TraceGuard { chrome })
}

/// The trace file as it is written: events stream out; track names are written at the end, when
/// every task's name is known.
struct ChromeFile {
    out: BufWriter<File>,
    /// Whether an event has been written (the next one needs a comma).
    any: bool,
    /// Set by `close`; later events (teardown) are dropped.
    closed: bool,
    /// Track names by track id.
    tracks: BTreeMap<u64, String>,
}

/// The reactor's track. Task `n` gets track `n + 1` (task 0 is `block_on`'s own future).
const REACTOR_TRACK: u64 = 0;

impl ChromeFile {
    fn create(path: &Path) -> io::Result<ChromeFile> {
        let mut out = BufWriter::new(File::create(path)?);
        out.write_all(b"{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n")?;
        let mut tracks = BTreeMap::new();
        tracks.insert(REACTOR_TRACK, "reactor: epoll_wait".to_owned());
        Ok(ChromeFile {
            out,
            any: false,
            closed: false,
            tracks,
        })
    }

    fn event(&mut self, json: &str) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        if self.any {
            self.out.write_all(b",\n")?;
        }
        self.any = true;
        self.out.write_all(json.as_bytes())
    }

    fn close(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let mut meta = vec![
            r#"{"name":"process_name","ph":"M","pid":1,"args":{"name":"glass demo (one thread)"}}"#
                .to_owned(),
        ];
        for (track, name) in &self.tracks {
            meta.push(format!(
                r#"{{"name":"thread_name","ph":"M","pid":1,"tid":{track},"args":{{"name":{}}}}}"#,
                json_string(name)
            ));
            meta.push(format!(
                r#"{{"name":"thread_sort_index","ph":"M","pid":1,"tid":{track},"args":{{"sort_index":{track}}}}}"#
            ));
        }
        for m in meta {
            self.event(&m)?;
        }
        self.closed = true;
        self.out.write_all(b"\n]}\n")?;
        self.out.flush()
    }
}

/// Turns glass's events into trace-event JSON.
struct ChromeLayer {
    out: Arc<Mutex<ChromeFile>>,
    /// Time zero of the trace.
    origin: Instant,
}

impl<S: tracing::Subscriber> Layer<S> for ChromeLayer {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let now = self.origin.elapsed();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut file = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let task_track = fields.numbers.get("task").map(|t| t + 1);
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let json = match (event.metadata().target(), fields.message.as_str()) {
            ("glass::executor", "poll") => {
                let took = fields.duration("took").unwrap_or_default();
                let ready = fields.flags.get("ready").copied().unwrap_or(false);
                complete(
                    "poll",
                    task_track,
                    us(now.saturating_sub(took)),
                    us(took),
                    &format!(r#"{{"ready":{ready}}}"#),
                )
            }
            ("glass::reactor", "epoll_wait") => {
                let asleep = fields.duration("asleep").unwrap_or_default();
                let args = format!(
                    r#"{{"timeout":{},"events":{}}}"#,
                    json_string(fields.texts.get("timeout").map_or("", String::as_str)),
                    fields.numbers.get("events").copied().unwrap_or(0)
                );
                let track = Some(REACTOR_TRACK);
                complete(
                    "epoll_wait",
                    track,
                    us(now.saturating_sub(asleep)),
                    us(asleep),
                    &args,
                )
            }
            ("glass::executor", "spawn") => {
                if let Some(track) = task_track {
                    let name = match fields.texts.get("name") {
                        Some(name) => format!("task {}: {name}", track - 1),
                        None => format!("task {}", track - 1),
                    };
                    file.tracks.insert(track, name);
                }
                instant("spawn", task_track, us(now), "{}")
            }
            (target, message) => {
                let track = if target == "glass::reactor" {
                    Some(REACTOR_TRACK)
                } else {
                    task_track
                };
                let mut args = String::from("{");
                for (k, v) in &fields.numbers {
                    let _ = write!(args, "{}:{v},", json_string(k));
                }
                for (k, v) in &fields.texts {
                    let _ = write!(args, "{}:{},", json_string(k), json_string(v));
                }
                if args.ends_with(',') {
                    args.pop();
                }
                args.push('}');
                instant(message, track, us(now), &args)
            }
        };
        if let Some(json) = json
            && let Err(e) = file.event(&json)
        {
            eprintln!("error: writing the trace file: {e}");
            file.closed = true;
        }
    }
}

/// A span ("ph":"X") on `track` starting at `ts` µs, lasting `dur` µs.
fn complete(name: &str, track: Option<u64>, ts: f64, dur: f64, args: &str) -> Option<String> {
    Some(format!(
        r#"{{"name":{},"ph":"X","ts":{ts:.3},"dur":{dur:.3},"pid":1,"tid":{},"args":{args}}}"#,
        json_string(name),
        track?
    ))
}

/// A point in time ("ph":"i", thread-scoped) on `track`.
fn instant(name: &str, track: Option<u64>, ts: f64, args: &str) -> Option<String> {
    Some(format!(
        r#"{{"name":{},"ph":"i","s":"t","ts":{ts:.3},"pid":1,"tid":{},"args":{args}}}"#,
        json_string(name),
        track?
    ))
}

/// A JSON string literal for `s`.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An event's fields, by kind.
#[derive(Default)]
struct Fields {
    message: String,
    numbers: BTreeMap<&'static str, u64>,
    flags: BTreeMap<&'static str, bool>,
    /// Everything recorded with `?` or `%`, as text (durations among them).
    texts: BTreeMap<&'static str, String>,
}

impl Fields {
    fn duration(&self, name: &str) -> Option<Duration> {
        parse_duration(self.texts.get(name)?)
    }
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.numbers.insert(field.name(), value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.numbers.insert(field.name(), value.max(0) as u64);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.flags.insert(field.name(), value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
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
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\n"), r#""a\"b\\c\u000a""#);
    }

    #[test]
    fn the_file_is_valid_trace_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        let mut file = ChromeFile::create(&path).unwrap();
        file.tracks.insert(4, "task 3: a \"b\"".to_owned());
        let poll = complete("poll", Some(4), 10.0, 2.5, r#"{"ready":true}"#).unwrap();
        file.event(&poll).unwrap();
        file.event(&instant("wake", Some(4), 9.0, "{}").unwrap())
            .unwrap();
        file.close().unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let events = json["traceEvents"].as_array().unwrap();
        assert_eq!(events[0]["ph"], "X");
        assert_eq!(events[0]["dur"], 2.5);
        assert!(
            events
                .iter()
                .any(|e| e["args"]["name"] == "task 3: a \"b\"")
        );
    }
}
