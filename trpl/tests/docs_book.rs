//! `docs/BOOK.md` quotes what trpl's examples print under `GLASS_TRACE`; this runs each quoted
//! command and checks that the quoted lines still occur, in order, so the page cannot drift from
//! the code. It is also the test of `GLASS_TRACE` itself: the trace, the warning, and nothing
//! extra when the variable is unset.
//!
//! A quote is a fenced block whose first line is `$ GLASS_TRACE=VALUE cargo run -p trpl --example
//! NAME`; its other lines (but `...`, which marks lines left out) must each equal a line of the
//! example's output (stdout and stderr together, as a terminal shows them). What varies from run
//! to run is compared as a placeholder: times and durations, and the counters that depend on
//! how timers fall into the reactor's millisecond buckets (`wake_id`, `woken_by`, `queued`,
//! `count`, `events`).

#[path = "../../reactor/tests/run_example/mod.rs"]
mod run_example;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const QUOTE_PREFIX: &str = "$ GLASS_TRACE=";

/// One quoted run: the variable's value, the example, and the lines quoted from its output.
struct Quote {
    trace: String,
    example: String,
    lines: Vec<String>,
}

fn quotes(page: &str) -> Vec<Quote> {
    let mut quotes = Vec::new();
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        if !line.starts_with("```") {
            continue;
        }
        let block: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.starts_with("```"))
            .collect();
        let Some(command) = block.first().and_then(|l| l.strip_prefix(QUOTE_PREFIX)) else {
            continue;
        };
        let (trace, rest) = command.split_once(' ').expect("a value, then the command");
        let example = rest
            .strip_prefix("cargo run -p trpl --example ")
            .unwrap_or_else(|| panic!("not a trpl example: {command}"));
        quotes.push(Quote {
            trace: trace.to_owned(),
            example: example.trim().to_owned(),
            lines: block[1..]
                .iter()
                .filter(|l| l.trim() != "...")
                .map(|l| l.to_string())
                .collect(),
        });
    }
    quotes
}

/// `line` with what varies between runs replaced by placeholders (see the module docs).
fn normalize(line: &str) -> String {
    const COUNTERS: [&str; 5] = ["wake_id=", "woken_by=", "queued=", "count=", "events="];
    let mut out = String::new();
    let mut rest = line.trim();
    while let Some(c) = rest.chars().next() {
        let starts_number = c.is_ascii_digit()
            && !out.ends_with(|p: char| p.is_alphanumeric() || p == '_' || p == '#');
        if !starts_number {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let end = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(end);
        let unit = ["ns", "µs", "ms", "s", " ms"].into_iter().find(|u| {
            after
                .strip_prefix(u)
                .is_some_and(|t| !t.starts_with(char::is_alphanumeric))
        });
        if let Some(unit) = unit {
            out.push_str("<time>");
            rest = &after[unit.len()..];
        } else if COUNTERS.iter().any(|k| out.ends_with(k)) {
            out.push_str("<n>");
            rest = after;
        } else {
            out.push_str(number);
            rest = after;
        }
    }
    out
}

/// Runs trpl's example `name` with `GLASS_TRACE=trace` (unset if `None`); returns its stdout and
/// stderr together, as a terminal shows them, and its stdout alone.
fn run_traced(name: &str, trace: Option<&str>) -> (String, String) {
    let vars: Vec<(&str, &str)> = trace
        .map(|value| ("GLASS_TRACE", value))
        .into_iter()
        .collect();
    run_with(name, &vars)
}

/// Runs trpl's example `name` with `vars` set (and no other of glass's); returns its stdout and
/// stderr together, as a terminal shows them, and its stdout alone.
fn run_with(name: &str, vars: &[(&str, &str)]) -> (String, String) {
    let program = run_example::example("trpl", name);
    let mut together = Command::new("sh");
    // `2>&1`: one pipe for both, so the trace lines and the program's lines keep their order
    // (Rust's stdout is flushed at each newline, stderr is not buffered).
    together.args(["-c", "exec \"$0\" 2>&1"]).arg(&program);
    let mut alone = Command::new(&program);
    alone.stderr(Stdio::null());
    for command in [&mut together, &mut alone] {
        command
            .env_remove("GLASS_TRACE")
            .env_remove("GLASS_TIMELINE");
        command.envs(vars.iter().copied());
    }
    (finish(together), finish(alone))
}

/// Runs `command` to its end (killed after a generous deadline) and returns its stdout.
fn finish(mut command: Command) -> String {
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > run_example::DEADLINE {
            child.kill().unwrap();
            panic!("{command:?} did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{command:?}: {}", output.status);
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn every_trace_the_book_page_quotes_still_occurs() {
    let page = std::fs::read_to_string(run_example::workspace_root().join("docs/BOOK.md"))
        .expect("docs/BOOK.md");
    let quotes = quotes(&page);
    assert!(quotes.len() >= 5, "the page quotes each example");
    for quote in quotes {
        let (output, _) = run_traced(&quote.example, Some(&quote.trace));
        let produced: Vec<String> = output.lines().map(normalize).collect();
        let mut from = 0;
        for line in &quote.lines {
            let wanted = normalize(line);
            match produced[from..].iter().position(|p| *p == wanted) {
                Some(i) => from += i + 1,
                None => panic!(
                    "docs/BOOK.md quotes, from `{}` with GLASS_TRACE={}:\n{line}\nbut it no \
                     longer prints that (in that order); it printed:\n{output}",
                    quote.example, quote.trace
                ),
            }
        }
    }
}

#[test]
fn without_glass_trace_an_example_prints_only_its_own_lines() {
    let (together, stdout) = run_traced("stall_then_yield", None);
    assert_eq!(together, stdout, "nothing on stderr, not even the warning");
    let (traced, traced_stdout) = run_traced("stall_then_yield", Some("1"));
    assert_eq!(traced_stdout, stdout, "the trace goes to stderr only");
    assert!(traced.contains("glass::executor: poll task=1"), "{traced}");
}

#[test]
fn glass_trace_0_prints_the_warnings_alone() {
    let (together, stdout) = run_traced("stall_then_yield", Some("0"));
    let extra: Vec<&str> = together
        .lines()
        .filter(|l| !stdout.lines().any(|s| s == *l))
        .collect();
    // The 100 ms stall is always reported; a 10 ms step on a loaded machine may be too.
    assert!(
        extra
            .first()
            .is_some_and(|l| l.starts_with("WARN: task #1 held the thread for")),
        "{together}"
    );
    assert!(extra.iter().all(|l| l.starts_with("WARN: ")), "{together}");
}

#[test]
fn glass_timeline_writes_the_page_and_leaves_the_output_alone() {
    let page = format!(
        "{}/trpl-timeline-{}.html",
        env!("CARGO_TARGET_TMPDIR"),
        std::process::id()
    );
    let _ = std::fs::remove_file(&page);
    let (_, plain) = run_traced("main_ends", None);
    let (together, stdout) = run_with("main_ends", &[("GLASS_TIMELINE", &page)]);
    assert_eq!(stdout, plain, "the program's own lines are unchanged");
    assert_eq!(together, stdout, "and nothing is added on stderr");
    let html = std::fs::read_to_string(&page).expect("the timeline was written");
    let _ = std::fs::remove_file(&page);
    assert!(
        html.starts_with("<!doctype html>"),
        "{}",
        &html[..html.len().min(200)]
    );
    assert!(html.contains("<title>glass timeline: main_ends</title>"));
    // The run is in it: the thread's lane and one for each task (block_on's future and task 1).
    let lanes = html
        .split_once("\"lanes\":[")
        .and_then(|(_, rest)| rest.split_once("]],"))
        .map(|(lanes, _)| lanes.matches('[').count())
        .expect("the timeline's lanes");
    assert_eq!(lanes, 3, "{html}");
}

#[test]
fn glass_trace_reactor_selects_the_reactors_events() {
    let (together, _) = run_traced("select_drops", Some("reactor"));
    assert!(
        together.contains("glass::reactor: epoll_wait"),
        "{together}"
    );
    assert!(!together.contains("glass::executor"), "{together}");
}

#[test]
fn normalize_replaces_what_varies_and_keeps_ids() {
    assert_eq!(
        normalize("   0.055275s glass::executor: wake task=0 cause=timer wake_id=2 queued=1"),
        "<time> glass::executor: wake task=0 cause=timer wake_id=<n> queued=<n>"
    );
    assert_eq!(
        normalize("epoll_wait timeout=Some(51ms) events=0 asleep=54.679742ms"),
        "epoll_wait timeout=Some(<time>) events=<n> asleep=<time>"
    );
    assert_eq!(
        normalize("task #1 held the thread for 100 ms in one poll"),
        "task #1 held the thread for <time> in one poll"
    );
}
