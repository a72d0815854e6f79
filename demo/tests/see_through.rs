//! Issue 10, seen from outside the demo: every wake in a trace says why, the Chrome trace's arrows
//! join each wake to its poll, the hashing on the event loop is caught by the slow-poll warning
//! (and the default's is not), the summary's SHA-256 values are those of the files on disk, and
//! `--tasks` shows the task table.

mod common;

use std::collections::HashMap;

use common::{Reply, TestServer, chrome_trace_events, demo, sha256_hex, text};

/// The causes the executor gives a wake (`executor`'s docs, "Trace events and warnings").
const CAUSES: [&str; 6] = ["io", "timer", "task", "self", "thread", "spawn"];

#[test]
fn every_wake_in_a_trace_has_a_cause() {
    let cwd = tempfile::tempdir().unwrap();
    let output = demo(&["--demo-scale", "small", "--trace"], cwd.path());
    let (_, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    let wakes: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(" glass::executor: wake "))
        .collect();
    assert!(wakes.len() > 20, "{} wakes in\n{stderr}", wakes.len());
    let mut seen = HashMap::new();
    for line in &wakes {
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
        };
        let cause = field("cause").unwrap_or_else(|| panic!("a wake without a cause: {line}"));
        assert!(CAUSES.contains(&cause), "unknown cause {cause:?}: {line}");
        *seen.entry(cause).or_insert(0) += 1;
        assert!(field("wake_id").is_some(), "{line}");
        match cause {
            "io" => assert!(
                field("fd").is_some() && (line.contains(" readable") || line.contains(" writable")),
                "an io wake without its fd and direction: {line}"
            ),
            "task" => assert!(field("by").is_some(), "a task wake without `by`: {line}"),
            "thread" => assert!(field("thread").is_some(), "{line}"),
            _ => {}
        }
    }
    // The demo does all of these: sockets, the display's timer, JoinHandles, the blocking pool.
    for cause in ["io", "timer", "task", "thread", "spawn"] {
        assert!(seen.contains_key(cause), "no {cause} wake in {seen:?}");
    }
    // The names of the demo's tasks are in the lines, and so is each poll's time.
    assert!(stderr.contains("`download file-1MiB.bin`"), "no task names");
    assert!(stderr.contains("`display`") && stderr.contains("`server conn`"));
    let polls = stderr
        .lines()
        .filter(|l| l.contains(" glass::executor: poll "));
    assert!(polls.clone().count() > 20);
    assert!(
        polls.clone().all(|l| l.contains(" took=")),
        "a poll without took="
    );
}

#[test]
fn the_chrome_trace_joins_each_wake_to_its_poll() {
    let cwd = tempfile::tempdir().unwrap();
    let events = chrome_trace_events(cwd.path());
    let with_ph = |ph: &'static str| events.iter().filter(move |e| e["ph"] == ph);
    let starts: HashMap<u64, &serde_json::Value> = with_ph("s")
        .map(|e| (e["id"].as_u64().unwrap(), e))
        .collect();
    let ends: Vec<_> = with_ph("f").collect();
    assert!(ends.len() > 50, "only {} arrows", ends.len());
    let polls: Vec<_> = with_ph("X").filter(|e| e["name"] == "poll").collect();
    for end in &ends {
        let id = end["id"].as_u64().unwrap();
        let start = starts
            .get(&id)
            .unwrap_or_else(|| panic!("the arrow {id} ends without a start: {end}"));
        let (s, f) = (start["ts"].as_f64().unwrap(), end["ts"].as_f64().unwrap());
        assert!(s <= f, "the arrow {id} points back in time: {s} > {f}");
        assert_eq!(end["bp"], "e", "{end}");
        // It ends inside a poll of its task's track.
        let inside = polls.iter().any(|p| {
            let (ts, dur) = (p["ts"].as_f64().unwrap(), p["dur"].as_f64().unwrap());
            p["tid"] == end["tid"] && ts <= f && f <= ts + dur
        });
        assert!(inside, "the arrow {id} ends outside any poll: {end}");
    }
    // Arrows start on the reactor's track (sockets, timers), on a thread's (the blocking pool),
    // and on tasks' tracks (a JoinHandle, a spawn).
    let tracks: Vec<u64> = starts
        .values()
        .map(|s| s["tid"].as_u64().unwrap())
        .collect();
    assert!(tracks.contains(&0), "no arrow from the reactor");
    assert!(
        tracks.iter().any(|&t| (1..1 << 30).contains(&t)),
        "no arrow from a task"
    );
    assert!(
        tracks.iter().any(|&t| t > 1 << 30),
        "no arrow from another thread"
    );
    // The ready-tasks counter track.
    let counters: Vec<_> = with_ph("C")
        .filter(|e| e["name"] == "ready tasks")
        .collect();
    assert!(counters.len() > 50, "{} counter samples", counters.len());
    assert!(counters.iter().all(|c| c["args"]["queued"].is_u64()));
    assert!(
        counters
            .iter()
            .any(|c| c["args"]["queued"].as_u64() > Some(1))
    );
}

/// A file big enough that hashing it in one poll holds the thread well over the 20 ms slow-poll
/// threshold, in the build being tested: unoptimised, sha2 hashes about 25 MB/s here (4 MiB:
/// ~160 ms); optimised with SHA-NI, about 900 MB/s (64 MiB: ~70 ms).
const BIG: usize = if cfg!(debug_assertions) {
    4 << 20
} else {
    64 << 20
};

/// The slow-poll warnings in `stderr` that name the task `task`, as the milliseconds they give.
fn slow_polls_of(stderr: &str, task: &str) -> Vec<u64> {
    stderr
        .lines()
        .filter(|l| l.contains(&format!("task `{task}` held the thread for ")))
        .map(|l| {
            let ms = l.split("held the thread for ").nth(1).unwrap();
            ms.split(' ').next().unwrap().parse().unwrap()
        })
        .collect()
}

/// The summary's SHA-256 lines (`HEX  NAME`).
fn digests(stdout: &str) -> HashMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| {
            let (hex, name) = l.split_once("  ")?;
            (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| (name.to_owned(), hex.to_owned()))
        })
        .collect()
}

#[test]
fn hashing_on_the_loop_is_a_slow_poll_and_on_the_pool_is_not() {
    let body: Vec<u8> = (0..BIG as u64).map(|i| (i * 7 + i / 4093) as u8).collect();
    let server = TestServer::start(vec![("/big.bin", Reply::file(&body))]);
    let url = server.url("/big.bin");
    let task = "download big.bin";
    let run = |flags: &[&str]| {
        let cwd = tempfile::tempdir().unwrap();
        let mut args = vec![url.as_str()];
        args.extend(flags);
        let output = demo(&args, cwd.path());
        let (stdout, stderr) = text(&output);
        assert!(output.status.success(), "{stdout}\n{stderr}");
        // The summary's SHA-256 is that of the bytes on disk, which are the bytes served.
        let on_disk = std::fs::read(cwd.path().join("big.bin")).unwrap();
        assert_eq!(on_disk.len(), body.len());
        let got = digests(&stdout);
        assert_eq!(got.get("big.bin"), Some(&sha256_hex(&on_disk)), "{stdout}");
        assert_eq!(got["big.bin"], sha256_hex(&body));
        (stdout, stderr)
    };

    let (stdout, stderr) = run(&["--hash-on-loop"]);
    let held = slow_polls_of(&stderr, task);
    assert!(
        !held.is_empty(),
        "no slow-poll warning names {task}:\n{stderr}"
    );
    let hash_ms = *held.iter().max().unwrap();
    assert!(
        stdout.contains("on the event loop (--hash-on-loop)"),
        "{stdout}"
    );
    assert!(stdout.contains("warnings (") && stdout.contains(&format!("task `{task}` held")));
    assert!(stdout.contains("display's longest stall"), "{stdout}");

    let (stdout, stderr) = run(&[]);
    assert!(
        stdout.contains("on the blocking pool (spawn_blocking)"),
        "{stdout}"
    );
    // On the pool, no poll of the download holds the thread for anything like the hash. (Not
    // "no warning at all": on a loaded machine the OS may stop the thread for 20 ms in any poll,
    // and the warning would then be right.)
    let held = slow_polls_of(&stderr, task);
    assert!(
        held.iter().all(|&ms| ms * 2 < hash_ms),
        "the default held the thread for {held:?} ms (on the loop, the hash took {hash_ms} ms)"
    );
}

#[test]
fn tasks_prints_the_task_table_with_each_status_line() {
    // A download that stalls keeps the run going past the status lines, then fails.
    let server = TestServer::start(vec![(
        "/slow.bin",
        Reply::Stall {
            body: vec![7; 1000],
            sent: 100,
        },
    )]);
    let cwd = tempfile::tempdir().unwrap();
    let url = server.url("/slow.bin");
    let args = [url.as_str(), "--tasks", "--read-timeout-ms", "2500"];
    let output = demo(&args, cwd.path());
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    let header = [
        "task", "name", "state", "polls", "busy", "sched", "idle", "waiting", "on",
    ];
    let header_at = stdout
        .lines()
        .position(|l| l.split_whitespace().eq(header))
        .unwrap_or_else(|| panic!("no task table in\n{stdout}"));
    let rows: Vec<&str> = stdout
        .lines()
        .skip(header_at + 1)
        .take_while(|l| !l.starts_with("runtime:"))
        .collect();
    // The download waits on its socket: idle, its time nearly all idle.
    let download = rows
        .iter()
        .find(|r| r.contains("download slow.bin"))
        .unwrap_or_else(|| panic!("no row for the download in {rows:?}"));
    assert!(download.contains(" idle "), "{download}");
    // And its last column says on what: its socket and its read timeout.
    assert!(
        download.contains(" readable (") && download.contains("timer in "),
        "{download}"
    );
    assert!(rows.iter().any(|r| r.contains("display")), "{rows:?}");
    // Once a second has passed, the runtime's line gives its rates.
    let rates = |l: &&str| {
        l.starts_with("runtime:")
            && l.contains(" polls/s")
            && l.contains(" epoll_wait/s")
            && l.contains("asleep")
    };
    assert!(stdout.lines().any(|l| rates(&l)), "{stdout}");
}
