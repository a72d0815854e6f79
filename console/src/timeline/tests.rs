//! The timeline's record of a small run, read back from the page's data as the page reads it.

use super::*;
use serde_json::Value;

/// Fields as glass's events carry them: a number, a flag, or text, each in the event's order.
fn fields(message: &str, values: &[(&'static str, &str)]) -> Fields {
    let mut f = Fields {
        message: message.to_owned(),
        ..Fields::default()
    };
    for &(name, value) in values {
        if let Ok(n) = value.parse() {
            f.numbers.insert(name, n);
        } else if let Ok(b) = value.parse() {
            f.flags.insert(name, b);
        } else {
            f.texts.insert(name, value.to_owned());
        }
        f.order.push((name, value.to_owned()));
    }
    f
}

const EXEC: &str = "glass::executor";
const TRACE: tracing::Level = tracing::Level::TRACE;
/// One millisecond in ticks.
const MS: i64 = 10_000;

/// A run: task 0 spawns task 3 ("a <b>"), which waits on a socket, then on the blocking pool,
/// and ends. Returns the timeline and every event's fields with its readable line.
fn small_run() -> (Timeline, Vec<Fields>) {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Timeline::create(dir.path().join("t.html")).unwrap();
    let events = [
        (EXEC, 1, fields("spawn", &[("task", "0")])),
        (
            EXEC,
            2,
            fields(
                "wake",
                &[
                    ("task", "0"),
                    ("cause", "spawn"),
                    ("wake_id", "1"),
                    ("queued", "1"),
                ],
            ),
        ),
        (
            EXEC,
            4,
            fields("spawn", &[("task", "3"), ("name", "a <b>")]),
        ),
        (
            EXEC,
            5,
            fields(
                "wake",
                &[
                    ("task", "3"),
                    ("cause", "spawn"),
                    ("wake_id", "2"),
                    ("queued", "1"),
                ],
            ),
        ),
        (
            EXEC,
            6,
            fields(
                "poll",
                &[
                    ("task", "0"),
                    ("ready", "false"),
                    ("took", "3ms"),
                    ("woken_by", "1"),
                    ("queued", "1"),
                ],
            ),
        ),
        (
            EXEC,
            8,
            fields(
                "poll",
                &[
                    ("task", "3"),
                    ("name", "a <b>"),
                    ("ready", "false"),
                    ("took", "1ms"),
                    ("woken_by", "2"),
                    ("queued", "0"),
                ],
            ),
        ),
        (
            "glass::reactor",
            12,
            fields(
                "epoll_wait",
                &[("timeout", "None"), ("events", "1"), ("asleep", "3ms")],
            ),
        ),
        (
            EXEC,
            13,
            fields(
                "wake",
                &[
                    ("task", "3"),
                    ("cause", "io"),
                    ("fd", "7"),
                    ("direction", "readable"),
                    ("wake_id", "3"),
                    ("queued", "1"),
                ],
            ),
        ),
        (
            EXEC,
            15,
            fields(
                "poll",
                &[
                    ("task", "3"),
                    ("name", "a <b>"),
                    ("ready", "false"),
                    ("took", "1ms"),
                    ("woken_by", "3"),
                    ("queued", "0"),
                ],
            ),
        ),
        (
            EXEC,
            18,
            fields(
                "wake",
                &[
                    ("task", "3"),
                    ("cause", "thread"),
                    ("thread", "glass-blocking"),
                    ("wake_id", "4"),
                ],
            ),
        ),
        (
            EXEC,
            20,
            fields(
                "poll",
                &[
                    ("task", "3"),
                    ("name", "a <b>"),
                    ("ready", "true"),
                    ("took", "500µs"),
                    ("woken_by", "4"),
                    ("queued", "0"),
                ],
            ),
        ),
    ];
    let mut all = Vec::new();
    for (target, ms, f) in events {
        t.record(target, TRACE, &f, ms * MS);
        all.push(f);
    }
    (t, all)
}

/// The page's data, parsed.
fn data(t: &Timeline) -> Value {
    serde_json::from_str(&page::data(t)).unwrap()
}

/// A flat array of `width` numbers per item, each item's `delta` column summed, as the page does.
fn rows(v: &Value, width: usize, delta: usize) -> Vec<Vec<i64>> {
    let flat: Vec<i64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_i64().unwrap())
        .collect();
    let mut sum = 0;
    flat.chunks(width)
        .map(|row| {
            let mut row = row.to_vec();
            sum += row[delta];
            row[delta] = sum;
            row
        })
        .collect()
}

#[test]
fn lanes_are_the_thread_then_other_threads_then_tasks_by_id() {
    let (t, _) = small_run();
    let d = data(&t);
    let lanes: Vec<(i64, i64)> = d["lanes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l[0].as_i64().unwrap(), l[1].as_i64().unwrap()))
        .collect();
    assert_eq!(lanes, [(0, 0), (1, 0), (2, 0), (2, 3)]);
    let name = |lane: usize| {
        let n = d["lanes"][lane][2].as_i64().unwrap();
        d["names"][n as usize].as_str().unwrap().to_owned()
    };
    assert_eq!(
        (name(1), name(3)),
        ("glass-blocking".to_owned(), "a <b>".to_owned())
    );
    // Task 3 lives from its spawn (4 ms) to the end of its last poll (20 ms).
    assert_eq!(d["lanes"][3][3].as_i64(), Some(4 * MS));
    assert_eq!(d["lanes"][3][4].as_i64(), Some(20 * MS));
    assert_eq!(d["lanes"][2][4].as_i64(), Some(-1), "task 0 never ended");
}

#[test]
fn each_wake_starts_where_it_was_made_and_ends_at_its_poll() {
    let (t, _) = small_run();
    let d = data(&t);
    // [lane, start, dur, wake, ready, waiting]
    let polls = rows(&d["polls"], 6, 1);
    // [lane, at, cause, from, what]
    let wakes = rows(&d["wakes"], 5, 1);
    let (executor, pool, task0, task3) = (0, 1, 2, 3);
    let cause = |name: &str| super::CAUSES.iter().position(|c| *c == name).unwrap() as i64;
    // Task 0's own spawn was made outside any poll; task 3's inside task 0's poll.
    assert_eq!(wakes[0][..4], [task0, 2 * MS, cause("spawn"), executor]);
    assert_eq!(wakes[1][..4], [task3, 5 * MS, cause("spawn"), task0]);
    assert_eq!(wakes[2][..4], [task3, 13 * MS, cause("io"), executor]);
    assert_eq!(wakes[3][..4], [task3, 18 * MS, cause("thread"), pool]);
    let what = |w: usize| {
        d["strings"][wakes[w][4] as usize]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        (what(2), what(3)),
        ("fd 7 readable".to_owned(), "glass-blocking".to_owned())
    );
    // Each poll starts `took` before its event, and names the wake that queued it.
    assert_eq!(polls[0][..5], [task0, 3 * MS, 3 * MS, 0, 0]);
    assert_eq!(polls[1][..5], [task3, 7 * MS, MS, 1, 0]);
    assert_eq!(polls[2][..5], [task3, 14 * MS, MS, 2, 0]);
    assert_eq!(polls[3][..5], [task3, 19 * MS + MS / 2, MS / 2, 3, 1]);
    assert!(
        polls.iter().all(|p| p[5] == -1),
        "no poll said what it waits on"
    );
    let sleeps = rows(&d["sleeps"], 3, 0);
    assert_eq!(sleeps, [[9 * MS, 3 * MS, 1]]);
}

/// A line as the page rebuilds it from its shape, the lane's task and the values.
fn rebuild(d: &Value, line: &Value, lane: usize) -> String {
    let line = line.as_array().unwrap();
    let shape = d["strings"][line[0].as_u64().unwrap() as usize]
        .as_str()
        .unwrap();
    let name = d["lanes"][lane][2].as_i64().unwrap();
    let mut values = line[1..].iter().map(|v| match v {
        Value::String(s) => s.clone(),
        n => n.to_string(),
    });
    shape
        .chars()
        .map(|c| match c {
            '\u{1}' => d["names"][name as usize].as_str().unwrap().to_owned(),
            '\u{2}' => d["lanes"][lane][1].to_string(),
            '\u{3}' => values.next().unwrap(),
            c => c.to_string(),
        })
        .collect()
}

#[test]
fn the_trace_lines_come_back_exactly_from_their_shapes() {
    let (t, events) = small_run();
    let d = data(&t);
    let polls = rows(&d["polls"], 6, 1);
    let wakes = rows(&d["wakes"], 5, 1);
    let lines = |kind: &str| -> Vec<String> {
        events
            .iter()
            .filter(|f| f.message == kind)
            .map(crate::trace::human_line)
            .collect()
    };
    let (poll_lines, wake_lines) = (lines("poll"), lines("wake"));
    for (i, expected) in poll_lines.iter().enumerate() {
        let lane = polls[i][0] as usize;
        assert_eq!(&rebuild(&d, &d["poll_lines"][i], lane), expected);
    }
    for (i, expected) in wake_lines.iter().enumerate() {
        let lane = wakes[i][0] as usize;
        assert_eq!(&rebuild(&d, &d["wake_lines"][i], lane), expected);
    }
    assert!(poll_lines[1].contains("`a <b>`"), "{}", poll_lines[1]);
    // Lines of one kind share their shape: four polls, three shapes (task 0's unnamed, task
    // 3's pending, task 3's ready).
    let shapes: std::collections::BTreeSet<u64> = d["poll_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l[0].as_u64().unwrap())
        .collect();
    assert_eq!(shapes.len(), 3);
}

#[test]
fn a_task_name_cannot_end_the_script_it_is_written_in() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Timeline::create(dir.path().join("t.html")).unwrap();
    let name = "</script><script>alert(1)</script>";
    t.record(
        EXEC,
        TRACE,
        &fields("spawn", &[("task", "1"), ("name", name)]),
        MS,
    );
    let page = page::render(&t);
    assert!(!page.contains(name));
    // The page's own two scripts, and no other.
    assert_eq!(page.matches("</script>").count(), 2);
    let data = page.split_once(r#"type="application/json">"#).unwrap().1;
    let data: Value = serde_json::from_str(data.split_once("</script>").unwrap().0).unwrap();
    assert_eq!(data["names"][0], name);
}

#[test]
fn each_write_holds_every_run_so_far_and_a_later_run_gets_lanes_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.html");
    let (mut t, _) = small_run();
    t.path = path.clone();
    t.write().unwrap();
    let first = std::fs::read_to_string(&path).unwrap();
    assert!(first.starts_with("<!doctype html>"));
    assert!(first.contains("a \\u003cb>"), "the task's name, escaped");
    // A second block_on: its task 3 is not the first run's.
    t.next_run();
    t.record(
        EXEC,
        TRACE,
        &fields("spawn", &[("task", "3"), ("name", "later")]),
        30 * MS,
    );
    t.write().unwrap();
    let d = data(&t);
    let lanes: Vec<(i64, i64, i64)> = d["lanes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l[0].as_i64().unwrap(),
                l[1].as_i64().unwrap(),
                l[5].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lanes,
        [(0, 0, 1), (1, 0, 1), (2, 0, 1), (2, 3, 1), (2, 3, 2)]
    );
    let second = std::fs::read_to_string(&path).unwrap();
    assert!(
        second.contains(r#""names":["glass-blocking","a \u003cb>","later"]"#),
        "{second}"
    );
}
