//! What the ladder's examples share (the reactor's examples include this file too): a `tracing`
//! subscriber small enough to read.

use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// Prints glass's events for `target` (`glass::executor`, `glass::reactor`, or `glass` for both)
/// at `level` and above on stdout as they happen, one line each, between the example's own lines:
/// `WARN task `export video` held the thread for 400 ms in one poll; ...`.
pub fn print_events(target: &str, level: Level) {
    let events = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stdout)
        .with_ansi(false)
        .without_time()
        .with_target(target == "glass")
        .with_filter(Targets::new().with_target(target, level));
    tracing_subscriber::registry().with(events).init();
}
