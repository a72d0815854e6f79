//! The live task table: tokio-console's task list, inside the program, as text (the demo shows it
//! under its bars when `t` is pressed).
//!
//! Each row is one live task from `executor::tasks()`: its id, name, state, polls, and where its
//! time went, with tokio-console's names and meanings (`executor::TaskMetrics`): **busy** inside
//! `poll`, **sched** woken and waiting for the thread, **idle** waiting for an event. A download
//! is mostly idle (waiting on the network); the display too (waiting on its timer); a task that
//! is busy a lot is doing the thread's work; one that is scheduled a lot waits behind others. A
//! last line gives what the whole runtime did over the last second: polls and `epoll_wait`s per
//! second, and the share of that second the thread spent asleep in `epoll_wait`.
//!
//! [`render`] is a pure function of a snapshot, so the unit tests check the text itself;
//! [`TaskTable`] takes the snapshots and keeps the runtime's counters of a second ago.

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use executor::{TaskInfo, TaskState};

use crate::printable;

/// At most this many task rows; the rest are counted on one line (a terminal has few rows).
const MAX_ROWS: usize = 20;
/// The rates are over at least this long, so that they do not flicker at each redraw.
const RATE_WINDOW: Duration = Duration::from_secs(1);

/// What the runtime did over a window, for the last line.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RuntimeRates {
    /// Polls of any task per second.
    pub polls_per_sec: f64,
    /// `epoll_wait` calls per second.
    pub epoll_waits_per_sec: f64,
    /// Share of the window spent asleep in `epoll_wait`, 0 to 1.
    pub asleep: f64,
    /// How long the window was.
    pub window: Duration,
}

/// The runtime's counters at one moment.
#[derive(Clone, Copy, Debug)]
struct Sample {
    at: Instant,
    polls: u64,
    epoll_waits: u64,
    asleep: Duration,
}

impl Sample {
    fn now() -> Sample {
        let (runtime, reactor) = (executor::metrics(), reactor::metrics());
        Sample {
            at: Instant::now(),
            polls: runtime.polls,
            epoll_waits: reactor.epoll_waits,
            asleep: reactor.time_asleep,
        }
    }

    /// The rates from `self` to `later`.
    fn rates_to(&self, later: &Sample) -> RuntimeRates {
        let window = later.at - self.at;
        let secs = window.as_secs_f64().max(1e-9);
        RuntimeRates {
            polls_per_sec: (later.polls - self.polls) as f64 / secs,
            epoll_waits_per_sec: (later.epoll_waits - self.epoll_waits) as f64 / secs,
            asleep: ((later.asleep.saturating_sub(self.asleep)).as_secs_f64() / secs).min(1.0),
            window,
        }
    }
}

/// Whether the table is shown, and the runtime's counters the rates are measured from.
pub struct TaskTable {
    /// Toggled by `t`.
    shown: Cell<bool>,
    /// The start of the rates' window, and the rates of the last full window (`None` until one
    /// has passed).
    rates: RefCell<(Sample, Option<RuntimeRates>)>,
}

impl TaskTable {
    /// A table, shown from the start or not. Call inside `block_on`.
    pub fn new(shown: bool) -> TaskTable {
        TaskTable {
            shown: Cell::new(shown),
            rates: RefCell::new((Sample::now(), None)),
        }
    }

    /// `t`: shows a hidden table, hides a shown one.
    pub fn toggle(&self) {
        self.shown.set(!self.shown.get());
    }

    /// Whether it is shown.
    pub fn shown(&self) -> bool {
        self.shown.get()
    }

    /// The table as it stands, its lines cut to `width` columns.
    pub fn text(&self, width: usize) -> String {
        let now = Sample::now();
        let mut rates = self.rates.borrow_mut();
        if now.at - rates.0.at >= RATE_WINDOW {
            *rates = (now, Some(rates.0.rates_to(&now)));
        }
        render(&executor::tasks(), rates.1, width)
    }
}

/// The table's text for `tasks`, with the runtime's last line (`None`: no full second yet).
pub fn render(tasks: &[TaskInfo], rates: Option<RuntimeRates>, width: usize) -> String {
    let mut lines = vec![format!(
        "{:>4} {:<26} {:<9} {:>7} {:>9} {:>9} {:>9}",
        "task", "name", "state", "polls", "busy", "sched", "idle"
    )];
    let mut tasks: Vec<&TaskInfo> = tasks.iter().collect();
    tasks.sort_by_key(|t| t.id);
    for task in tasks.iter().take(MAX_ROWS) {
        let name = match (&task.name, task.id) {
            (Some(name), _) => printable(name),
            (None, 0) => "block_on's future".to_owned(),
            (None, _) => "(unnamed)".to_owned(),
        };
        let state = match task.state {
            TaskState::Idle => "idle",
            TaskState::Scheduled => "scheduled",
            TaskState::Running => "running",
        };
        let m = &task.metrics;
        lines.push(format!(
            "{:>4} {:<26} {state:<9} {:>7} {:>9} {:>9} {:>9}",
            task.id,
            cut(&name, 26),
            m.polls,
            short_duration(m.busy),
            short_duration(m.scheduled),
            short_duration(m.idle)
        ));
    }
    if tasks.len() > MAX_ROWS {
        lines.push(format!("     ... and {} more", tasks.len() - MAX_ROWS));
    }
    let mut last = format!("runtime: {} tasks", tasks.len());
    match rates {
        Some(r) => {
            let _ = write!(
                last,
                ", {:.0} polls/s, {:.0} epoll_wait/s, asleep {:.0}% of the last {:.1} s",
                r.polls_per_sec,
                r.epoll_waits_per_sec,
                100.0 * r.asleep,
                r.window.as_secs_f64()
            );
        }
        None => last.push_str(" (rates after a second)"),
    }
    lines.push(last);
    lines
        .iter()
        .map(|l| cut(l, width))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `s` cut to `width` characters, with an ellipsis when cut.
fn cut(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('\u{2026}');
    out
}

/// `812µs`, `12.3ms`, `4.20s`: three significant figures or so, in a narrow column.
fn short_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 1.0 {
        format!("{secs:.2}s")
    } else if secs >= 1e-3 {
        format!("{:.1}ms", secs * 1e3)
    } else {
        format!("{:.0}µs", secs * 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use executor::TaskMetrics;
    use std::sync::Arc;

    fn task(id: u64, name: Option<&str>, state: TaskState, busy_ms: u64, idle_ms: u64) -> TaskInfo {
        TaskInfo {
            id,
            name: name.map(Arc::from),
            state,
            metrics: TaskMetrics {
                polls: id * 10,
                busy: Duration::from_millis(busy_ms),
                scheduled: Duration::from_micros(250),
                idle: Duration::from_millis(idle_ms),
                ..TaskMetrics::default()
            },
        }
    }

    #[test]
    fn each_task_is_a_row_with_its_state_and_time_split() {
        let tasks = [
            task(
                4,
                Some("download file-1MiB.bin"),
                TaskState::Idle,
                12,
                2_500,
            ),
            task(0, None, TaskState::Running, 3, 40),
            task(7, None, TaskState::Scheduled, 0, 0),
        ];
        let text = render(&tasks, None, 200);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        let row = |i: usize| lines[i].split_whitespace().collect::<Vec<_>>();
        assert_eq!(
            row(0),
            ["task", "name", "state", "polls", "busy", "sched", "idle"]
        );
        // Sorted by id; the main future and unnamed tasks get a label.
        assert_eq!(
            row(1),
            [
                "0",
                "block_on's",
                "future",
                "running",
                "0",
                "3.0ms",
                "250µs",
                "40.0ms"
            ]
        );
        assert_eq!(
            row(2),
            [
                "4",
                "download",
                "file-1MiB.bin",
                "idle",
                "40",
                "12.0ms",
                "250µs",
                "2.50s"
            ]
        );
        assert_eq!(row(3)[..3], ["7", "(unnamed)", "scheduled"]);
        assert_eq!(lines[4], "runtime: 3 tasks (rates after a second)");
    }

    #[test]
    fn the_runtime_line_gives_the_rates() {
        let rates = RuntimeRates {
            polls_per_sec: 1234.4,
            epoll_waits_per_sec: 56.0,
            asleep: 0.931,
            window: Duration::from_millis(1_020),
        };
        let text = render(&[], Some(rates), 200);
        assert_eq!(
            text.lines().last(),
            Some("runtime: 0 tasks, 1234 polls/s, 56 epoll_wait/s, asleep 93% of the last 1.0 s")
        );
    }

    #[test]
    fn long_tables_and_lines_are_cut() {
        let tasks: Vec<_> = (0..30)
            .map(|id| task(id, Some(&"x".repeat(40)), TaskState::Idle, 1, 1))
            .collect();
        let text = render(&tasks, None, 50);
        let lines: Vec<&str> = text.lines().collect();
        // The header, MAX_ROWS rows, the count of the rest, the runtime line.
        assert_eq!(lines.len(), 1 + MAX_ROWS + 2, "{text}");
        assert_eq!(lines[MAX_ROWS + 1].trim(), "... and 10 more");
        assert!(lines.iter().all(|l| l.chars().count() <= 50), "{text}");
        assert!(lines[1].contains("xxx\u{2026}"), "{}", lines[1]);
    }

    #[test]
    fn the_rates_are_differences_over_the_window() {
        let at = Instant::now();
        let before = Sample {
            at,
            polls: 100,
            epoll_waits: 10,
            asleep: Duration::ZERO,
        };
        let after = Sample {
            at: at + Duration::from_secs(2),
            polls: 300,
            epoll_waits: 30,
            asleep: Duration::from_millis(1_500),
        };
        let r = before.rates_to(&after);
        assert_eq!(
            (r.polls_per_sec, r.epoll_waits_per_sec, r.asleep),
            (100.0, 10.0, 0.75)
        );
    }
}
