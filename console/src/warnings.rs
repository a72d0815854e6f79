//! glass's warnings (WARN, target `glass::executor`: a slow poll, a lost waker) and the reactor's
//! errors, kept as text for the end of the run ([`warnings`](crate::warnings)) and either printed
//! on stderr as they come or handed to the program to print where it prints
//! ([`take_new_warnings`](crate::take_new_warnings)): a program that draws progress bars prints
//! them through the bars, so they never tear them.

use std::io::Write;
use std::sync::{Mutex, MutexGuard};

use tracing_subscriber::Layer;

use crate::printable;
use crate::trace::Fields;

/// Where a warning goes when it is reported (besides the list [`warnings`](crate::warnings)
/// returns).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Warnings {
    /// Printed on stderr at once, one line each.
    #[default]
    Stderr,
    /// Kept for the program, which prints what
    /// [`take_new_warnings`](crate::take_new_warnings) returns where it prints (above its bars).
    Collect,
}

/// The warnings and errors glass reported in this run.
struct Kept {
    /// Every one, in order, for a summary.
    all: Vec<String>,
    /// Those the program has not printed yet ([`Warnings::Collect`]).
    unprinted: Vec<String>,
}

/// Shared by the reader (any thread may warn: a lost waker's last clone can drop anywhere) and
/// the program.
static KEPT: Mutex<Kept> = Mutex::new(Kept {
    all: Vec::new(),
    unprinted: Vec::new(),
});

fn lock() -> MutexGuard<'static, Kept> {
    // Plain strings: a panic while holding the lock leaves nothing half-changed.
    KEPT.lock().unwrap_or_else(|e| e.into_inner())
}

/// See [`crate::take_new_warnings`].
pub(crate) fn take_new() -> Vec<String> {
    std::mem::take(&mut lock().unprinted)
}

/// See [`crate::warnings`].
pub(crate) fn all() -> Vec<String> {
    lock().all.clone()
}

/// Keeps glass's warnings (and errors) as text, and prints them or queues them for the program.
pub(crate) struct WarningLayer {
    /// Where a new warning goes; `None` when the readable trace already prints it in its place
    /// among the events.
    pub(crate) print: Option<Warnings>,
}

impl<S: tracing::Subscriber> Layer<S> for WarningLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let text = format!("{}: {}", event.metadata().level(), fields.message);
        let mut kept = lock();
        match self.print {
            Some(Warnings::Stderr) => {
                let line = format!("{}\n", printable(&text));
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
            Some(Warnings::Collect) => kept.unprinted.push(text.clone()),
            None => {}
        }
        kept.all.push(text);
    }
}
