//! The `threads_vs_tasks` example, at small sizes: it runs to the end in reasonable time, and its
//! table has a row for each design at each size, every download finished.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Four runs of about 2 s each plus start-up; far more than that on a loaded machine is a hang.
const DEADLINE: Duration = Duration::from_secs(120);

/// Builds the example (Cargo builds examples for `cargo test`, but not for `--test NAME`) with
/// the profile this test was built with, and returns its path.
fn example() -> PathBuf {
    let mut build = Command::new(env!("CARGO"));
    build.args(["build", "-p", "demo", "--example", "threads_vs_tasks"]);
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "building the example failed: {status}");
    // This test is target/PROFILE/deps/NAME; the example is target/PROFILE/examples/NAME.
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    profile_dir.join("examples").join("threads_vs_tasks")
}

#[test]
fn the_example_compares_both_designs_and_every_download_finishes() {
    let mut child = Command::new(example())
        .args(["--sizes", "20,50"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the example runs");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            // Still our unreaped child, so this pid cannot have been reused. Its server child
            // exits by itself once its stdin, our child's pipe, closes.
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the example was still running after {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");

    // `design downloads wall ... all finished`, one row per design and size.
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|words| matches!(words.first(), Some(&"threads" | &"tasks")))
        .filter(|words| words.get(1).is_some_and(|n| n.parse::<usize>().is_ok()))
        .collect();
    for size in ["20", "50"] {
        for design in ["threads", "tasks"] {
            let row = rows
                .iter()
                .find(|row| row[0] == design && row[1] == size)
                .unwrap_or_else(|| panic!("no row for {design} at {size}:\n{stdout}"));
            assert_eq!(row.last(), Some(&"yes"), "not all finished:\n{stdout}");
        }
    }
    assert_eq!(rows.len(), 4, "{stdout}");
    assert!(stdout.contains("what to notice:"), "{stdout}");
    assert!(
        stdout.contains("- N = 50: 51 threads against 1"),
        "{stdout}"
    );
}
