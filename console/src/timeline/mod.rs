//! The timeline: one self-contained HTML page of the whole run, which any browser opens from disk
//! with no network at all.
//!
//! ## What it shows
//! - One lane per task, named, coloured **busy** (inside `poll`), **scheduled** (woken, waiting
//!   for the thread) and **idle** (waiting for an event): the task table's split, over time.
//! - The executor thread's own lane: which task's poll ran when, and the time asleep in
//!   `epoll_wait`. Other threads that woke tasks (the blocking pool) get a lane each.
//! - An arrow from each wake to the poll it caused, coloured by the wake's `cause`, starting where
//!   the wake was made: the thread's lane for `io` and `timer` (the reactor's dispatch), the waking
//!   task's lane for `task`, `self` and `spawn`, another thread's lane for `thread`.
//! - A click on a poll or a wake shows its readable trace line and what the task was waiting on;
//!   zoom, pan, and a step control that walks the run event by event.
//!
//! ## How it is recorded
//! [`TimelineLayer`] keeps every `glass::executor` poll and wake and every `glass::reactor`
//! `epoll_wait` in memory; the page is written when the console's guard is dropped. A poll event
//! is emitted when the poll *ends* and carries `took`, so its start is `end - took`; a wake's
//! `wake_id` comes back as the `woken_by` of the poll it caused. A wake with cause `spawn` (or
//! `other`) does not say which poll made it, but polls run one at a time on the executor's
//! thread, so it belongs to the poll whose event comes next, unless that poll is the new task's
//! own first one (then it was made outside any poll). The same reasoning is the Chrome trace's.
//!
//! ## What the task waits on
//! Each wake says what the task was waiting on, as far as the events tell (`fd 7 readable`, a
//! timer, task 5...): the wake's cause. A poll event may one day carry a `waiting` field (what
//! the task's wakers are registered with when it returns `Pending`); the page shows it when
//! present and otherwise what woke the task next.
//!
//! ## The data, kept small
//! The page embeds one JSON object of flat integer arrays (times in ticks of 100 ns, each poll
//! six numbers, each wake five), a string table, and the trace lines with each task's name
//! replaced by one control character, which the page puts back. `page.rs` writes it;
//! `timeline.js` draws only what is visible.

mod page;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tracing_subscriber::Layer;

use crate::trace::{Fields, human_pieces};

/// A wake's causes, in the order the page's colours are listed.
const CAUSES: [&str; 7] = ["io", "timer", "task", "self", "thread", "spawn", "other"];
/// The executor thread's lane.
const THREAD_LANE: u32 = 0;
/// "None" in the integer arrays.
const NONE: i64 = -1;

/// What a lane is, for the page.
#[derive(Clone, Copy, PartialEq)]
enum LaneKind {
    /// The executor's thread.
    Executor = 0,
    /// Another thread that woke tasks.
    Thread = 1,
    /// A task.
    Task = 2,
}

struct Lane {
    kind: LaneKind,
    /// The task's id (0 for threads).
    id: u64,
    /// The task's name, as its trace lines quote it, or the thread's.
    name: Option<String>,
    /// The run the task belongs to.
    run: u32,
    /// When the task was spawned (or first seen), in ticks.
    start: i64,
    /// When its last poll returned `Ready`.
    end: Option<i64>,
}

struct Poll {
    lane: u32,
    start: i64,
    dur: i64,
    /// The wake that queued it (index into `wakes`).
    wake: Option<u32>,
    ready: bool,
    /// The poll event's `waiting` field (index into `strings`), when it has one.
    waiting: Option<u32>,
    line: Line,
}

struct Wake {
    /// The woken task's lane.
    lane: u32,
    at: i64,
    cause: u8,
    /// Where the wake was made.
    from: u32,
    /// What the task was waiting on, as this wake tells (index into `strings`): `fd 7
    /// readable`, `task 5`, a thread's name; the page words it by the cause.
    what: u32,
    line: Line,
}

/// A readable trace line, kept as its shape (an index into `strings`) and the values the shape
/// leaves out: in the shape, U+0001 stands for the task's name, U+0002 for its id, U+0003 for the
/// next value. Lines of one kind share a few shapes (a poll's: `poll task=\u{2} `\u{1}`
/// ready=false took=\u{3} woken_by=\u{3} queued=\u{3}`), so the page holds mostly numbers.
struct Line {
    shape: u32,
    values: Vec<String>,
}

/// The run as recorded so far.
pub(crate) struct Timeline {
    path: PathBuf,
    /// Which run of the process this is, from 1 (see [`Timeline::next_run`]).
    run: u32,
    lanes: Vec<Lane>,
    task_lanes: HashMap<u64, u32>,
    thread_lanes: HashMap<String, u32>,
    polls: Vec<Poll>,
    wakes: Vec<Wake>,
    /// Wakes by `wake_id`, until the poll they caused reports it.
    by_wake_id: HashMap<u64, u32>,
    /// Wakes made on the executor's thread by a poll not yet reported (see the module docs).
    in_poll: Vec<u32>,
    /// `epoll_wait` calls: start and length in ticks, and how many events it returned.
    sleeps: Vec<(i64, i64, u64)>,
    /// Warnings: when, the task's lane if it names one, the text.
    warnings: Vec<(i64, Option<u32>, String)>,
    strings: Vec<String>,
    string_ids: HashMap<String, u32>,
    /// The last event's time.
    end: i64,
}

/// 100 ns: fine enough for a poll of a few hundred nanoseconds, and short in the page.
fn ticks(d: std::time::Duration) -> i64 {
    (d.as_nanos() / 100) as i64
}

impl Timeline {
    /// A timeline to be written to `path`. Creates (and empties) the file now, so that a path that
    /// cannot be written is said at once, not at the end of the run.
    pub(crate) fn create(path: PathBuf) -> io::Result<Timeline> {
        std::fs::File::create(&path)?;
        Ok(Timeline {
            path,
            run: 1,
            lanes: vec![Lane {
                kind: LaneKind::Executor,
                id: 0,
                name: None,
                run: 1,
                start: 0,
                end: None,
            }],
            task_lanes: HashMap::new(),
            thread_lanes: HashMap::new(),
            polls: Vec::new(),
            wakes: Vec::new(),
            by_wake_id: HashMap::new(),
            in_poll: Vec::new(),
            sleeps: Vec::new(),
            warnings: Vec::new(),
            strings: Vec::new(),
            string_ids: HashMap::new(),
            end: 0,
        })
    }

    fn string(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.string_ids.get(s) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.strings.push(s.to_owned());
        self.string_ids.insert(s.to_owned(), id);
        id
    }

    /// The lane of task `task`, made at `at` if it is new.
    fn task_lane(&mut self, task: u64, name: Option<&str>, at: i64) -> u32 {
        if let Some(&lane) = self.task_lanes.get(&task) {
            // First seen without its name (woken by a task not yet traced as spawned).
            let known = &mut self.lanes[lane as usize];
            if known.name.is_none() {
                known.name = name.map(str::to_owned);
            }
            return lane;
        }
        let lane = self.lanes.len() as u32;
        self.lanes.push(Lane {
            kind: LaneKind::Task,
            id: task,
            name: name.map(str::to_owned),
            run: self.run,
            start: at,
            end: None,
        });
        self.task_lanes.insert(task, lane);
        lane
    }

    fn thread_lane(&mut self, name: &str) -> u32 {
        if let Some(&lane) = self.thread_lanes.get(name) {
            return lane;
        }
        let lane = self.lanes.len() as u32;
        self.lanes.push(Lane {
            kind: LaneKind::Thread,
            id: 0,
            name: Some(name.to_owned()),
            run: 1,
            start: 0,
            end: None,
        });
        self.thread_lanes.insert(name.to_owned(), lane);
        lane
    }

    /// One event, at `at` ticks since the start.
    pub(crate) fn record(&mut self, target: &str, level: tracing::Level, fields: &Fields, at: i64) {
        self.end = self.end.max(at);
        if level <= tracing::Level::WARN {
            let lane = fields
                .numbers
                .get("task")
                .map(|&t| self.task_lane(t, None, at));
            self.warnings.push((at, lane, fields.message.clone()));
            return;
        }
        match (target, fields.message.as_str()) {
            ("glass::executor", "spawn") => {
                if let Some(&task) = fields.numbers.get("task") {
                    let name = fields.texts.get("name").map(String::as_str);
                    self.task_lane(task, name, at);
                }
            }
            ("glass::executor", "wake") => self.wake(fields, at),
            ("glass::executor", "poll") => self.poll(fields, at),
            ("glass::reactor", "epoll_wait") => {
                let asleep = fields.duration("asleep").map_or(0, ticks);
                let events = fields.numbers.get("events").copied().unwrap_or(0);
                self.sleeps.push((at - asleep, asleep, events));
            }
            _ => {}
        }
    }

    fn wake(&mut self, fields: &Fields, at: i64) {
        let (Some(&task), Some(&wake_id)) =
            (fields.numbers.get("task"), fields.numbers.get("wake_id"))
        else {
            return;
        };
        let lane = self.task_lane(task, None, at);
        let cause_name = fields.texts.get("cause").map_or("other", String::as_str);
        let cause = CAUSES.iter().position(|c| *c == cause_name).unwrap_or(6) as u8;
        let (from, what) = match cause_name {
            "io" => {
                let fd = fields.numbers.get("fd").copied().unwrap_or(0);
                let direction = fields
                    .texts
                    .get("direction")
                    .map_or("ready", String::as_str);
                (THREAD_LANE, format!("fd {fd} {direction}"))
            }
            "task" => {
                let by = fields.numbers.get("by").copied().unwrap_or(0);
                (self.task_lane(by, None, at), format!("task {by}"))
            }
            "self" => (lane, String::new()),
            "thread" => {
                let thread = fields.texts.get("thread").map_or("unnamed", String::as_str);
                (self.thread_lane(thread), thread.to_owned())
            }
            // `timer`, `spawn`, `other`: the cause says it all.
            _ => (THREAD_LANE, String::new()),
        };
        let what = self.string(&what);
        let index = self.wakes.len() as u32;
        let line = self.line(fields, lane);
        self.wakes.push(Wake {
            lane,
            at,
            cause,
            from,
            what,
            line,
        });
        self.by_wake_id.insert(wake_id, index);
        if matches!(cause_name, "spawn" | "other") {
            self.in_poll.push(index);
        }
    }

    fn poll(&mut self, fields: &Fields, end: i64) {
        let Some(&task) = fields.numbers.get("task") else {
            return;
        };
        let name = fields.texts.get("name").map(String::as_str);
        let dur = fields.duration("took").map_or(0, ticks);
        let lane = self.task_lane(task, name, end - dur);
        // Wakes made during this poll (see the module docs): from this task's lane, unless it
        // is the task's own spawn, made before its first poll.
        for index in std::mem::take(&mut self.in_poll) {
            let wake = &mut self.wakes[index as usize];
            if wake.lane != lane {
                wake.from = lane;
            }
        }
        let wake = fields
            .numbers
            .get("woken_by")
            .and_then(|id| self.by_wake_id.remove(id));
        let ready = fields.flags.get("ready").copied().unwrap_or(false);
        if ready {
            self.lanes[lane as usize].end = Some(end);
        }
        let waiting = fields.texts.get("waiting").cloned();
        let waiting = waiting.map(|w| self.string(&w));
        let line = self.line(fields, lane);
        self.polls.push(Poll {
            lane,
            start: end - dur,
            dur,
            wake,
            ready,
            waiting,
            line,
        });
    }

    /// The event's readable trace line, as a shape and values (see [`Line`]).
    fn line(&mut self, fields: &Fields, lane: u32) -> Line {
        let (id, name) = {
            let lane = &self.lanes[lane as usize];
            (lane.id.to_string(), lane.name.clone())
        };
        let mut values = Vec::new();
        let shape = human_pieces(fields, |field, text, out| match field {
            "task" if text == id => out.push('\u{2}'),
            "name" if Some(text) == name.as_deref() => out.push('\u{1}'),
            // Fields with few values stay in the shape, so that lines share it. A marker
            // character in them (a strange thread name) must not be read as one.
            "cause" | "ready" | "direction" | "thread" => {
                out.extend(text.chars().map(|c| if c <= '\u{3}' { '?' } else { c }));
            }
            _ => {
                out.push('\u{3}');
                values.push(text.to_owned());
            }
        });
        Line {
            shape: self.string(&shape),
            values,
        }
    }

    /// Writes the page with everything recorded so far (again, if a later run asks).
    pub(crate) fn write(&mut self) -> io::Result<()> {
        std::fs::write(&self.path, page::render(self))
    }

    /// A new runtime starts (a later `block_on`): its tasks, numbered from 0 again, get lanes of
    /// their own, and its wake ids are its own.
    pub(crate) fn next_run(&mut self) {
        self.run += 1;
        self.task_lanes.clear();
        self.by_wake_id.clear();
        self.in_poll.clear();
    }
}

/// Records glass's events for the timeline.
pub(crate) struct TimelineLayer {
    /// The run so far, shared with the guard that writes the page.
    pub(crate) timeline: Arc<Mutex<Timeline>>,
    /// Time zero.
    pub(crate) origin: Instant,
}

impl<S: tracing::Subscriber> Layer<S> for TimelineLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut timeline = self.timeline.lock().unwrap_or_else(|e| e.into_inner());
        // Read under the lock, so that events from different threads are kept in time order.
        let at = ticks(self.origin.elapsed());
        let meta = event.metadata();
        timeline.record(meta.target(), *meta.level(), &fields, at);
    }
}
