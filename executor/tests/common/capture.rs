//! A small `tracing` subscriber that records every `glass::*` event, for tests that check what
//! the executor and the reactor tell a reader (trace events, warnings, errors).
//!
//! It is installed as the process's global default on first use, so that events emitted on other
//! threads (a remote wake, a waker dropped elsewhere) are recorded too. [`capture`] holds a lock
//! for the length of its closure, so the tests of one binary that capture run one at a time and
//! each sees only its own events.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, Once};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// One recorded event.
#[derive(Clone, Debug)]
pub struct Captured {
    pub level: Level,
    pub target: String,
    /// The `message` field (the text after the fields in the macro call).
    pub message: String,
    /// Every other field, formatted with `Debug` (strings without their quotes).
    pub fields: BTreeMap<String, String>,
}

impl Captured {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    pub fn is(&self, target: &str, message: &str) -> bool {
        self.target == target && self.message == message
    }
}

static EVENTS: Mutex<Vec<Captured>> = Mutex::new(Vec::new());
static SERIAL: Mutex<()> = Mutex::new(());

struct Recorder;

struct Fields<'a>(&'a mut Captured);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}"));
    }
}

impl Fields<'_> {
    fn put(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.0.message = value;
        } else {
            self.0.fields.insert(field.name().to_owned(), value);
        }
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("glass")
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Id::from_u64(NEXT.fetch_add(1, Ordering::Relaxed))
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut captured = Captured {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            message: String::new(),
            fields: BTreeMap::new(),
        };
        event.record(&mut Fields(&mut captured));
        lock(&EVENTS).push(captured);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` and returns what it returned, with every `glass::*` event recorded meanwhile (from
/// any thread).
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<Captured>) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        tracing::subscriber::set_global_default(Recorder)
            .expect("no other global subscriber in this test binary");
    });
    let _serial = lock(&SERIAL);
    lock(&EVENTS).clear();
    let result = f();
    let events = std::mem::take(&mut *lock(&EVENTS));
    (result, events)
}

/// The WARN events of target `glass::executor` among `events`.
pub fn executor_warnings(events: &[Captured]) -> Vec<&Captured> {
    events
        .iter()
        .filter(|e| e.level == Level::WARN && e.target == "glass::executor")
        .collect()
}

/// The events recorded so far by the [`capture`] in progress.
pub fn so_far() -> Vec<Captured> {
    lock(&EVENTS).clone()
}
