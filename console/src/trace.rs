//! The readable trace: one line per event of glass on stderr, stamped with the time since start.
//!
//! `0.012345s glass::executor: wake task=3 cause=io fd=7 readable wake_id=12 queued=1`: the
//! target, the message, then the fields in the order the event gives them, plainly (a task's name
//! in backquotes, `fd=7 readable` as the reactor says it, a value with spaces in quotes). Warnings
//! carry their level, in colour on a terminal.
//!
//! [`Fields`] is how every reader in this crate takes an event apart.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;

use crate::printable;

/// The readable trace's lines: the time since start, the target, the message, then the
/// fields in the order the event gives them, plainly (`cause=io fd=7 readable`, a task's name in
/// backquotes, a value with spaces in quotes).
pub(crate) struct HumanLayer {
    /// Time zero.
    pub(crate) origin: Instant,
    /// Whether to mark warnings in colour (stderr is a terminal).
    pub(crate) color: bool,
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
        line.push_str(&printable(&human_line(&fields)));
        line.push('\n');
        let _ = io::stderr().write_all(line.as_bytes());
    }
}

/// An event's message and fields, as the readable trace prints them (after the time and target).
pub(crate) fn human_line(fields: &Fields) -> String {
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
pub(crate) struct Fields {
    /// The event's message (`poll`, `wake`, a warning's text).
    pub(crate) message: String,
    /// Fields recorded as integers.
    pub(crate) numbers: BTreeMap<&'static str, u64>,
    /// Fields recorded as booleans.
    pub(crate) flags: BTreeMap<&'static str, bool>,
    /// Everything recorded as a string, with `?` or `%`, as text (durations among them).
    pub(crate) texts: BTreeMap<&'static str, String>,
    /// Every field but the message, as text, in the order the event gives them.
    pub(crate) order: Vec<(&'static str, String)>,
}

impl Fields {
    /// The field `name`, recorded as a `Duration` with `?`.
    pub(crate) fn duration(&self, name: &str) -> Option<Duration> {
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
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
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
