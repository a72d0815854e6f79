//! The Chrome trace: glass's events as Chrome trace-event JSON, which Perfetto (ui.perfetto.dev) and
//! `chrome://tracing` open, with an arrow from each wake to the poll it caused.
//!
//! ## The tracks
//! - Track 0, the reactor: each `epoll_wait` is a slice as long as the sleep, and each wake it
//!   makes (a socket ready, a timer due) a short slice of its own, where an arrow starts.
//! - One track per task (task `n` on track `n + 1`, named `task 7: download file-8MiB.bin`):
//!   each poll is a slice (its busy time; the gaps between slices are its scheduled and idle
//!   time), its spawn an instant.
//! - One track per other thread that woke a task (the blocking pool), where those arrows start.
//! - A counter, `ready tasks`: the run queue's length after each wake and each poll.
//!
//! ## The arrows (flow events)
//! Each traced `wake` has a `wake_id`, and the poll it caused reports it as `woken_by`. The arrow
//! is a pair of flow events sharing that id: `ph: "s"` where the wake was made and `ph: "f"`
//! (`bp: "e"`: bound to the enclosing slice) inside the poll. Where a wake was made depends on
//! its `cause`: `io` and `timer` on the reactor's track; `thread` on that thread's track; `task`,
//! `self` and `spawn` inside the poll that made it. That poll is not named by the event, but it
//! is known: polls run one at a time on the executor's thread, so a wake made on that thread
//! outside the reactor belongs to the poll whose event comes next (a poll event is emitted when
//! the poll ends). Such wakes wait in [`ChromeFile::in_poll`] until then. A spawn made outside
//! any poll (`block_on`'s own future) goes on the `executor` track.
//!
//! A poll event arrives when the poll *ends* and carries how long it took, so its slice starts at
//! `event time - took`; likewise `epoll_wait` with `asleep`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing_subscriber::Layer;

use crate::trace::Fields;

/// The reactor's track. Task `n` gets track `n + 1` (task 0 is `block_on`'s own future).
const REACTOR_TRACK: u64 = 0;
/// Wakes made on the executor's thread outside any poll (a spawn by `block_on` itself).
const EXECUTOR_TRACK: u64 = 1 << 30;
/// The first track for other threads, which get the next ones in the order they first wake.
const FIRST_THREAD_TRACK: u64 = EXECUTOR_TRACK + 1;
/// How long the slice that marks a wake on the reactor's or a thread's track lasts, in µs: long
/// enough for a viewer to bind the arrow to it, too short to matter.
const WAKE_SLICE_US: f64 = 0.05;

/// The trace file as it is written: events stream out; track names are written at the end, when
/// every task's name is known.
pub(crate) struct ChromeFile {
    out: BufWriter<File>,
    /// Whether an event has been written (the next one needs a comma).
    any: bool,
    /// Set by `close`; later events (teardown) are dropped.
    closed: bool,
    /// Track names by track id.
    tracks: BTreeMap<u64, String>,
    /// Other threads' tracks, by thread name.
    threads: HashMap<String, u64>,
    /// Where the last wake slice on each non-task track ends, so the next one starts no earlier
    /// (slices on one track must not overlap).
    track_end: HashMap<u64, f64>,
    /// Wakes made during the poll in progress (causes `task`, `self`, `spawn`): `(wake_id, the
    /// woken task, cause, time)`, written as arrow starts inside that poll once its event comes.
    in_poll: Vec<(u64, u64, String, f64)>,
    /// When each arrow start was placed, by `wake_id`, so its end is never placed before it.
    starts: HashMap<u64, f64>,
}

impl ChromeFile {
    /// Creates the file at `path` and writes the JSON's opening.
    pub(crate) fn create(path: &Path) -> io::Result<ChromeFile> {
        let mut out = BufWriter::new(File::create(path)?);
        out.write_all(b"{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n")?;
        let mut tracks = BTreeMap::new();
        tracks.insert(
            REACTOR_TRACK,
            "reactor: epoll_wait, and the wakes it makes".to_owned(),
        );
        Ok(ChromeFile {
            out,
            any: false,
            closed: false,
            tracks,
            threads: HashMap::new(),
            track_end: HashMap::new(),
            in_poll: Vec::new(),
            starts: HashMap::new(),
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

    /// Writes the track names and the JSON's end. Later events are dropped.
    pub(crate) fn close(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        // Wakes whose poll never reported (cut short by the end of the run): arrow starts with
        // no end, on the executor's track, so that none is silently lost.
        for (id, task, cause, ts) in std::mem::take(&mut self.in_poll) {
            self.wake_slice(EXECUTOR_TRACK, id, task, &cause, ts)?;
        }
        let mut meta = vec![
            r#"{"name":"process_name","ph":"M","pid":1,"args":{"name":"glass (one thread)"}}"#
                .to_owned(),
        ];
        if self.tracks.len() > 1 {
            self.tracks
                .entry(EXECUTOR_TRACK)
                .or_insert_with(|| "executor: wakes outside any poll".to_owned());
        }
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

    /// A short slice on `track` (the reactor's, a thread's) marking wake `id` of `task`, and the
    /// arrow's start inside it.
    fn wake_slice(
        &mut self,
        track: u64,
        id: u64,
        task: u64,
        cause: &str,
        ts: f64,
    ) -> io::Result<()> {
        let ts = ts.max(self.track_end.get(&track).copied().unwrap_or(0.0));
        self.track_end.insert(track, ts + WAKE_SLICE_US);
        let args = format!(r#"{{"wake_id":{id},"cause":{}}}"#, json_string(cause));
        let name = format!("wake task {task}");
        self.event(&complete(&name, track, ts, WAKE_SLICE_US, &args))?;
        self.flow_start(track, id, ts + WAKE_SLICE_US / 2.0)
    }

    fn flow_start(&mut self, track: u64, id: u64, ts: f64) -> io::Result<()> {
        self.starts.insert(id, ts);
        self.event(&format!(
            r#"{{"name":"wake","cat":"wake","ph":"s","id":{id},"ts":{ts:.3},"pid":1,"tid":{track}}}"#
        ))
    }

    /// A `wake` event at `ts`.
    fn wake(&mut self, fields: &Fields, ts: f64) -> io::Result<()> {
        let (Some(&id), Some(&task)) = (fields.numbers.get("wake_id"), fields.numbers.get("task"))
        else {
            return Ok(());
        };
        let cause = fields.texts.get("cause").cloned().unwrap_or_default();
        if let Some(&queued) = fields.numbers.get("queued") {
            self.event(&counter(ts, queued))?;
        }
        match cause.as_str() {
            "io" | "timer" => self.wake_slice(REACTOR_TRACK, id, task, &cause, ts),
            "thread" => {
                let name = fields.texts.get("thread").map_or("unnamed", String::as_str);
                let next = FIRST_THREAD_TRACK + self.threads.len() as u64;
                let track = *self.threads.entry(name.to_owned()).or_insert(next);
                self.tracks.insert(track, format!("thread: {name}"));
                self.wake_slice(track, id, task, &cause, ts)
            }
            // `task`, `self`, `spawn` (and `other`): made on this thread, in the poll whose
            // event comes next, or outside any poll.
            _ => {
                self.in_poll.push((id, task, cause, ts));
                Ok(())
            }
        }
    }

    /// A `poll` event at `end`: the poll's slice, the arrow starts of the wakes it made, and the
    /// end of the arrow from the wake that caused it.
    fn poll(&mut self, fields: &Fields, end: f64) -> io::Result<()> {
        let Some(&task) = fields.numbers.get("task") else {
            return Ok(());
        };
        let track = task + 1;
        let dur = fields.duration("took").map_or(0.0, us);
        let start = end - dur;
        let ready = fields.flags.get("ready").copied().unwrap_or(false);
        let woken_by = fields.numbers.get("woken_by").copied();
        let args = match woken_by {
            Some(id) => format!(r#"{{"ready":{ready},"woken_by":{id}}}"#),
            None => format!(r#"{{"ready":{ready}}}"#),
        };
        self.event(&complete("poll", track, start, dur, &args))?;
        // Inside the slice, away from its edges, so that a viewer binds them to it.
        let (inner_start, inner_end) = (start + dur / 4.0, end - dur / 4.0);
        for (id, woken, cause, ts) in std::mem::take(&mut self.in_poll) {
            if cause == "spawn" && woken == task {
                // The task's own spawn, reported before its first poll: made outside any poll.
                self.wake_slice(EXECUTOR_TRACK, id, woken, &cause, ts)?;
            } else {
                self.flow_start(track, id, ts.clamp(inner_start, inner_end))?;
            }
        }
        if let Some(id) = woken_by {
            let from = self.starts.remove(&id).unwrap_or(start);
            let ts = (start + dur / 2.0).max(from).min(end);
            self.event(&format!(
                r#"{{"name":"wake","cat":"wake","ph":"f","bp":"e","id":{id},"ts":{ts:.3},"pid":1,"tid":{track}}}"#
            ))?;
        }
        if let Some(&queued) = fields.numbers.get("queued") {
            self.event(&counter(end, queued))?;
        }
        Ok(())
    }

    /// Any other event: an instant with its fields as arguments.
    fn instant_event(
        &mut self,
        target: &str,
        message: &str,
        fields: &Fields,
        ts: f64,
    ) -> io::Result<()> {
        let track = if target == "glass::reactor" {
            REACTOR_TRACK
        } else if let Some(task) = fields.numbers.get("task") {
            task + 1
        } else {
            return Ok(());
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
        self.event(&format!(
            r#"{{"name":{},"ph":"i","s":"t","ts":{ts:.3},"pid":1,"tid":{track},"args":{args}}}"#,
            json_string(message)
        ))
    }

    /// One event of the subscriber, at `now` since the trace began.
    fn record(&mut self, target: &str, fields: &Fields, now: Duration) -> io::Result<()> {
        let ts = us(now);
        match (target, fields.message.as_str()) {
            ("glass::executor", "poll") => self.poll(fields, ts),
            ("glass::executor", "wake") => self.wake(fields, ts),
            ("glass::reactor", "epoll_wait") => {
                let asleep = fields.duration("asleep").map_or(0.0, us);
                let args = format!(
                    r#"{{"timeout":{},"events":{}}}"#,
                    json_string(fields.texts.get("timeout").map_or("", String::as_str)),
                    fields.numbers.get("events").copied().unwrap_or(0)
                );
                // The wakes of this turn come after the sleep, never inside it.
                self.track_end.insert(REACTOR_TRACK, ts);
                self.event(&complete(
                    "epoll_wait",
                    REACTOR_TRACK,
                    ts - asleep,
                    asleep,
                    &args,
                ))
            }
            ("glass::executor", "spawn") => {
                if let Some(&task) = fields.numbers.get("task") {
                    let name = match fields.texts.get("name") {
                        Some(name) => format!("task {task}: {name}"),
                        None if task == 0 => "task 0: block_on's future".to_owned(),
                        None => format!("task {task}"),
                    };
                    self.tracks.insert(task + 1, name);
                }
                self.instant_event(target, "spawn", fields, ts)
            }
            (target, message) => self.instant_event(target, message, fields, ts),
        }
    }
}

/// Turns glass's events into trace-event JSON.
pub(crate) struct ChromeLayer {
    /// The file, shared with the guard that closes it.
    pub(crate) out: Arc<Mutex<ChromeFile>>,
    /// Time zero of the trace.
    pub(crate) origin: Instant,
}

impl<S: tracing::Subscriber> Layer<S> for ChromeLayer {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut file = self.out.lock().unwrap_or_else(|e| e.into_inner());
        // Read under the lock, so that the events of different threads are written in the order
        // of their times.
        let now = self.origin.elapsed();
        if let Err(e) = file.record(event.metadata().target(), &fields, now) {
            eprintln!("error: writing the trace file: {e}");
            file.closed = true;
        }
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// A slice ("ph":"X") on `track` starting at `ts` µs, lasting `dur` µs.
fn complete(name: &str, track: u64, ts: f64, dur: f64, args: &str) -> String {
    format!(
        r#"{{"name":{},"ph":"X","ts":{ts:.3},"dur":{dur:.3},"pid":1,"tid":{track},"args":{args}}}"#,
        json_string(name),
    )
}

/// A sample of the `ready tasks` counter track.
fn counter(ts: f64, queued: u64) -> String {
    format!(
        r#"{{"name":"ready tasks","ph":"C","ts":{ts:.3},"pid":1,"args":{{"queued":{queued}}}}}"#
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\n"), r#""a\"b\\c\u000a""#);
    }

    /// Fields as the executor's events carry them.
    fn fields(
        message: &str,
        numbers: &[(&'static str, u64)],
        texts: &[(&'static str, &str)],
    ) -> Fields {
        let mut f = Fields {
            message: message.to_owned(),
            ..Fields::default()
        };
        f.numbers.extend(numbers.iter().copied());
        f.texts
            .extend(texts.iter().map(|&(k, v)| (k, v.to_owned())));
        f
    }

    #[test]
    fn wakes_become_arrows_into_the_polls_they_caused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        let mut file = ChromeFile::create(&path).unwrap();
        let ms = Duration::from_millis;
        let exec = "glass::executor";
        let spawn = fields("spawn", &[("task", 3)], &[("name", "a \"b\"")]);
        file.record(exec, &spawn, ms(1)).unwrap();
        // Task 3 is spawned by task 0's poll, which ends at 3 ms after 2 ms of work.
        let spawned = [("task", 3), ("wake_id", 1), ("queued", 1)];
        let wake = fields("wake", &spawned, &[("cause", "spawn")]);
        file.record(exec, &wake, ms(2)).unwrap();
        let main_poll = fields("poll", &[("task", 0), ("queued", 1)], &[("took", "2ms")]);
        file.record(exec, &main_poll, ms(3)).unwrap();
        let first = fields("poll", &[("task", 3), ("woken_by", 1)], &[("took", "1ms")]);
        file.record(exec, &first, ms(5)).unwrap();
        // Then the reactor wakes it for a socket.
        let io = [("task", 3), ("wake_id", 2), ("fd", 7), ("queued", 1)];
        let wake = fields("wake", &io, &[("cause", "io"), ("direction", "readable")]);
        file.record(exec, &wake, ms(6)).unwrap();
        let second = fields("poll", &[("task", 3), ("woken_by", 2)], &[("took", "1ms")]);
        file.record(exec, &second, ms(8)).unwrap();
        file.close().unwrap();

        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let events = json["traceEvents"].as_array().unwrap();
        let flow = |ph: &str, id: u64| {
            events
                .iter()
                .find(|e| e["ph"] == ph && e["id"] == id)
                .unwrap_or_else(|| panic!("no {ph} for wake {id}"))
        };
        // The spawn's arrow starts inside task 0's poll (1..3 ms), and ends inside task 3's.
        let (s, f) = (flow("s", 1), flow("f", 1));
        assert_eq!((s["tid"].as_u64(), f["tid"].as_u64()), (Some(1), Some(4)));
        let (s_ts, f_ts) = (s["ts"].as_f64().unwrap(), f["ts"].as_f64().unwrap());
        assert!((1000.0..=3000.0).contains(&s_ts) && (4000.0..=5000.0).contains(&f_ts));
        assert_eq!(f["bp"], "e");
        // The socket's arrow starts on the reactor's track.
        let (s, f) = (flow("s", 2), flow("f", 2));
        assert_eq!((s["tid"].as_u64(), f["tid"].as_u64()), (Some(0), Some(4)));
        assert!(s["ts"].as_f64() <= f["ts"].as_f64());
        assert!(
            events
                .iter()
                .any(|e| e["ph"] == "C" && e["args"]["queued"] == 1)
        );
        assert!(
            events
                .iter()
                .any(|e| e["args"]["name"] == "task 3: a \"b\"")
        );
        let poll = events
            .iter()
            .find(|e| e["name"] == "poll" && e["tid"] == 4)
            .unwrap();
        assert_eq!(
            (poll["ts"].as_f64(), poll["dur"].as_f64()),
            (Some(4000.0), Some(1000.0))
        );
    }
}
