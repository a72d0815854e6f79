//! The ladder's examples (`executor/examples/`) run, and print what their docs promise: each test
//! checks the key lines of the real output, so an example that stops showing its point fails.

#[path = "../../reactor/tests/run_example/mod.rs"]
mod run_example;

use run_example::{lines_with, run_example, section};

fn executor_example(name: &str) -> String {
    run_example("executor", name, &[])
}

/// The number that follows `after` in `line` (`held the thread for 400 ms` -> 400).
fn number_after(line: &str, after: &str) -> u64 {
    let rest = &line[line
        .find(after)
        .unwrap_or_else(|| panic!("{after:?} in {line:?}"))
        + after.len()..];
    rest.trim_start()
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a number after {after:?} in {line:?}"))
}

/// The `total: N ms` of a section of `concurrency`'s output.
fn total(section: &str) -> u64 {
    let line = lines_with(section, "total:");
    assert_eq!(line.len(), 1, "{section}");
    number_after(line[0], "total:")
}

/// The `job: step n` pairs of a section, in the order they were printed.
fn steps(section: &str) -> Vec<String> {
    lines_with(section, ": step ")
        .iter()
        .map(|l| {
            let words: Vec<_> = l.split_whitespace().collect();
            format!("{}{}", words[0].trim_end_matches(':'), words[2])
        })
        .collect()
}

#[test]
fn hand_polled_shows_futures_are_lazy_and_each_waker_call() {
    let out = executor_example("hand_polled");
    let lazy = out
        .find("no line from the async block has been printed")
        .expect(&out);
    let body = out.find("the async block's body runs now").expect(&out);
    assert!(lazy < body, "the body ran before it was polled:\n{out}");

    let by_hand = section(&out, "2. Poll them by hand", "3. ");
    assert_eq!(lines_with(by_hand, "Countdown::poll").len(), 3, "{by_hand}");
    assert_eq!(lines_with(by_hand, "waker: clone").len(), 2, "{by_hand}");
    assert_eq!(
        lines_with(by_hand, "waker: wake (consumes").len(),
        2,
        "{by_hand}"
    );
    assert!(
        by_hand.contains("Ready(\"lift-off\") after 3 polls"),
        "{by_hand}"
    );

    let by_block_on = section(
        &out,
        "3. The same future, run by executor::block_on",
        "What to notice",
    );
    assert_eq!(
        lines_with(by_block_on, "Countdown::poll").len(),
        3,
        "{by_block_on}"
    );
    assert!(
        by_block_on.contains("block_on returned \"lift-off\""),
        "{by_block_on}"
    );
    assert!(
        out.contains("What to notice:\n- Creating a future runs none of its code"),
        "{out}"
    );
}

#[test]
fn concurrency_interleaves_on_one_thread_and_a_dependency_serialises() {
    let out = executor_example("concurrency");
    let serial = section(&out, "1. Serially", "2. ");
    let concurrent = section(&out, "2. Concurrently", "3. ");
    let parallel = section(&out, "3. In parallel", "4. ");
    let dependent = section(&out, "4. Concurrently, but", "What to notice");

    let in_order = ["a1", "a2", "a3", "b1", "b2", "b3", "c1", "c2", "c3"];
    assert_eq!(steps(serial), in_order, "{serial}");
    // One thread, three tasks: the timers of equal length fire in the order they were set.
    let interleaved = ["a1", "b1", "c1", "a2", "b2", "c2", "a3", "b3", "c3"];
    assert_eq!(steps(concurrent), interleaved, "{concurrent}");
    assert_eq!(
        lines_with(concurrent, "on thread main").len(),
        9,
        "{concurrent}"
    );
    for job in ["a", "b", "c"] {
        let on_its_thread = lines_with(parallel, &format!("{job}: step"))
            .iter()
            .filter(|l| l.ends_with(&format!("on thread thread-{job}")))
            .count();
        assert_eq!(on_its_thread, 3, "{parallel}");
    }
    assert_eq!(
        steps(dependent),
        ["a1", "a2", "a3", "b1", "b2", "b3"],
        "{dependent}"
    );
    assert!(dependent.contains("b: got 10 from a at "), "{dependent}");

    // Nine waits of 100 ms one after another, against three at a time: the serial total is at
    // least 900 ms, and the other two finish long before it would (generous: 600 ms of slack).
    let serial = total(serial);
    assert!(serial >= 900, "{out}");
    for overlapped in [total(concurrent), total(parallel)] {
        assert!((300..serial).contains(&overlapped), "{out}");
    }
    assert!(total(dependent) >= 600, "{out}");
}

/// The milliseconds in each slow-poll warning of `section`, with the task's name.
fn slow_polls(section: &str) -> Vec<(String, u64)> {
    lines_with(section, "WARN task ")
        .iter()
        .filter(|l| l.contains(" held the thread for "))
        .map(|l| {
            let name = l.split('`').nth(1).unwrap_or("").to_owned();
            (name, number_after(l, "held the thread for"))
        })
        .collect()
}

/// `=> the ticker ticked N times`.
fn ticks(section: &str) -> u64 {
    let line = lines_with(section, "=> the ticker ticked");
    assert_eq!(line.len(), 1, "{section}");
    number_after(line[0], "ticked")
}

#[test]
fn cpu_bound_work_in_a_task_stops_the_ticker_and_is_named_in_a_warning() {
    let out = executor_example("cpu_bound");
    let in_task = section(&out, "1. The export in a task", "2. ");
    let in_blocking = section(&out, "2. The same export in spawn_blocking", "3. ");
    let download = section(&out, "3. An IO-bound download", "What to notice");

    // The export polls for at least 400 ms without yielding: the warning names it, and no tick
    // can have happened meanwhile.
    let warned: Vec<_> = slow_polls(in_task)
        .into_iter()
        .filter(|(name, _)| name == "export video")
        .collect();
    assert_eq!(warned.len(), 1, "{in_task}");
    assert!(warned[0].1 >= 400, "{in_task}");
    assert!(
        in_task.contains("Move blocking or CPU-heavy work into `spawn_blocking`."),
        "{in_task}"
    );
    assert_eq!(ticks(in_task), 0, "{in_task}");

    // Off the thread, or waiting on a socket: the ticker ticks during the 400 ms (100 ms ticks;
    // at least one even on a loaded machine), and no poll held the thread anywhere near as long.
    for section in [in_blocking, download] {
        assert!(ticks(section) >= 1, "{section}");
        assert!(
            slow_polls(section).iter().all(|(_, ms)| *ms < 300),
            "{section}"
        );
    }
    assert!(
        download.contains("download: 65536 bytes received"),
        "{download}"
    );
}

#[test]
fn lost_wakeup_hangs_until_the_timeout_and_the_warning_says_why() {
    let out = executor_example("lost_wakeup");
    let forgetful = section(&out, "1. Forgetful", "2. ");
    let remembering = section(&out, "2. Remembering", "What to notice");

    let warning = lines_with(
        forgetful,
        "WARN task `forgetful wait` returned `Pending` but kept no clone of its waker",
    );
    assert_eq!(warning.len(), 1, "{forgetful}");
    assert!(
        warning[0].contains("nothing can ever wake it"),
        "{forgetful}"
    );
    assert!(forgetful.contains("waker to call: none"), "{forgetful}");
    let gave_up = lines_with(forgetful, "gave up on `forgetful wait` at");
    assert_eq!(gave_up.len(), 1, "{forgetful}");
    assert!(number_after(gave_up[0], "at") >= 1000, "{forgetful}");

    assert!(lines_with(remembering, "WARN").is_empty(), "{remembering}");
    assert!(remembering.contains("waker to call: yes"), "{remembering}");
    let finished = lines_with(remembering, "`remembering wait` finished at");
    assert_eq!(finished.len(), 1, "{remembering}");
    assert!(number_after(finished[0], "at") >= 200, "{remembering}");
}

#[test]
fn cancellation_shows_each_dropped_future_and_what_it_waited_on() {
    let out = executor_example("cancellation");

    let race = section(&out, "1. A race", "2. ");
    assert!(race.contains("slow: step 1 of 2 done"), "{race}");
    assert!(!race.contains("slow: step 2"), "the loser ran on:\n{race}");
    let dropped = lines_with(race, "dropped");
    assert!(
        dropped
            .iter()
            .any(|l| l.contains("future=\"sleep\"") && l.contains("timer in")),
        "the loser's sleep is a `dropped` event:\n{race}"
    );
    assert!(race.contains("slow: dropped"), "{race}");
    assert!(race.contains("the loser did 1 of its 2 steps"), "{race}");

    let timeout = section(&out, "2. A timeout", "3. ");
    assert!(
        lines_with(timeout, "dropped")
            .iter()
            .any(|l| l.contains("future=\"read\"") && l.contains("readable")),
        "the read is a `dropped` event:\n{timeout}"
    );
    assert!(timeout.contains("deadline has elapsed"), "{timeout}");

    let returns = section(&out, "3. block_on returns", "What to notice");
    let task = lines_with(returns, "dropped task=1");
    assert!(
        task.iter().any(|l| l.contains("heartbeat")
            && l.contains("block_on returned")
            && l.contains("timer in")),
        "the heartbeat task's drop names it and its timer:\n{returns}"
    );
    assert!(returns.contains("heartbeat: dropped"), "{returns}");
    let heartbeats = lines_with(returns, "heartbeat: ").len();
    assert!(heartbeats >= 2, "{returns}");
    assert!(out.contains("What to notice"), "{out}");
}
