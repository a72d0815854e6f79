//! `init_from_env` as a program meets it: each case runs this test binary again as a child (a
//! global subscriber can be installed once per process), with the environment under test, and
//! reads the child's stderr.

use std::process::Command;
use std::time::Duration;

/// Set in the child, to the case it runs.
const CHILD: &str = "GLASS_CONSOLE_TEST_CHILD";

/// Runs the case `case` in a child with `env`; returns its stderr.
fn run_child(case: &str, env: &[(&str, &str)]) -> String {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(CHILD, case)
        .env_remove("GLASS_TRACE");
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "the child failed:\n{stderr}");
    stderr
}

/// A small run: a spawned task, a timer, and a poll that holds the thread for 60 ms (a slow poll).
fn small_run() {
    executor::block_on(async {
        let task = executor::Builder::new().name("sleeper").spawn(async {
            reactor::time::sleep(Duration::from_millis(5)).await;
            std::thread::sleep(Duration::from_millis(60));
        });
        task.await.unwrap();
    });
}

/// Not a test of its own: what the child runs (and nothing when run as a test).
#[test]
fn child() {
    let Ok(case) = std::env::var(CHILD) else {
        return;
    };
    if case == "own subscriber" {
        // The program installed its own logging first; glass's console must leave it alone.
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_max_level(tracing::Level::WARN)
            .init();
        tracing::warn!("the program's own subscriber works");
    }
    let guard = glass_console::init_from_env();
    small_run();
    drop(guard);
    eprintln!("warnings kept: {}", glass_console::warnings().len());
}

#[test]
fn unset_prints_only_the_warnings() {
    let stderr = run_child("plain", &[]);
    assert!(!stderr.contains("glass::executor: poll"), "{stderr}");
    assert!(
        stderr.contains("WARN: task `sleeper` held the thread"),
        "{stderr}"
    );
    assert!(stderr.contains("warnings kept: 1"), "{stderr}");
}

#[test]
fn one_prints_every_event_with_the_warnings_in_place() {
    let stderr = run_child("all", &[("GLASS_TRACE", "1")]);
    for needle in [
        "glass::executor: spawn task=1 `sleeper`",
        "glass::executor: wake task=1 cause=timer",
        "glass::reactor: epoll_wait",
        "WARN glass::executor: task `sleeper` held the thread",
    ] {
        assert!(stderr.contains(needle), "no {needle:?} in\n{stderr}");
    }
    // Each poll says how long it took: asking for the trace turned the task timing on.
    let polls: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("glass::executor: poll "))
        .collect();
    assert!(polls.len() >= 3, "{stderr}");
    assert!(polls.iter().all(|l| l.contains(" took=")), "{stderr}");
    // Printed once, by the trace, not a second time by the warnings' reader.
    assert_eq!(stderr.matches("held the thread").count(), 1, "{stderr}");
}

#[test]
fn a_list_selects_crates() {
    let stderr = run_child("reactor", &[("GLASS_TRACE", "reactor")]);
    assert!(stderr.contains("glass::reactor: epoll_wait"), "{stderr}");
    assert!(!stderr.contains("glass::executor: poll"), "{stderr}");
    assert!(
        stderr.contains("WARN glass::executor: task `sleeper`"),
        "{stderr}"
    );
}

#[test]
fn a_bad_value_is_said_and_the_program_runs_on() {
    let stderr = run_child("bad", &[("GLASS_TRACE", "yes please")]);
    assert!(
        stderr.contains("warning: GLASS_TRACE=\"yes please\" is not understood"),
        "{stderr}"
    );
    assert!(stderr.contains("held the thread"), "{stderr}");
}

#[test]
fn a_subscriber_already_installed_is_left_alone() {
    let stderr = run_child("own subscriber", &[("GLASS_TRACE", "1")]);
    assert!(
        stderr.contains("the program's own subscriber works"),
        "{stderr}"
    );
    assert!(
        stderr.contains("glass's console is off: a global tracing subscriber is already installed"),
        "{stderr}"
    );
    // The program's subscriber got glass's warning; the console kept nothing.
    assert!(stderr.contains("held the thread"), "{stderr}");
    assert!(!stderr.contains("glass::executor: poll"), "{stderr}");
    assert!(stderr.contains("warnings kept: 0"), "{stderr}");
}
