//! Running the crates' examples from a test, as a reader would. Included by
//! `executor/tests/examples.rs`, `reactor/tests/{examples,stepping,docs_tour}.rs` and
//! `http-client/tests/fetch_example.rs`.

// Each test that includes this file uses a different part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Every example of the ladder finishes in a few seconds; this is far more, for a loaded machine.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate is in the workspace")
        .to_owned()
}

/// The packages whose examples this test process has built.
static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Builds `package`'s examples (once per test process; Cargo builds examples for `cargo test`,
/// but not for `cargo test --test NAME`) with the profile this test was built with, and returns
/// the path of the example `name`.
pub fn example(package: &str, name: &str) -> PathBuf {
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if !built.iter().any(|p| p == package) {
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "--quiet", "-p", package, "--examples"]);
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        let status = build.status().expect("cargo runs");
        assert!(
            status.success(),
            "building {package}'s examples failed: {status}"
        );
        built.push(package.to_owned());
    }
    // This test is target/PROFILE/deps/NAME; the examples are in target/PROFILE/examples/.
    let exe = std::env::current_exe().expect("the test knows its path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/PROFILE");
    profile_dir.join("examples").join(name)
}

/// Runs `program` with `args` to the end (killing it after [`DEADLINE`]), asserts that it
/// succeeded, and returns what it printed on stdout.
pub fn run(mut command: Command) -> String {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?} does not start: {e}"));
    let started = Instant::now();
    while child.try_wait().expect("waiting for the child").is_none() {
        if started.elapsed() > DEADLINE {
            // Still our unreaped child, so this pid cannot have been reused.
            child.kill().expect("killing the child");
            let output = child.wait_with_output().expect("reaping the child");
            panic!(
                "{command:?} was still running after {DEADLINE:?}; it printed:\n{}",
                String::from_utf8_lossy(&output.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child
        .wait_with_output()
        .expect("reading the child's output");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Builds and runs `package`'s example `name` with `args`; returns its stdout.
pub fn run_example(package: &str, name: &str, args: &[&str]) -> String {
    let mut command = Command::new(example(package, name));
    command.args(args);
    run(command)
}

/// The lines of `output` that contain `needle`.
pub fn lines_with<'a>(output: &'a str, needle: &str) -> Vec<&'a str> {
    output.lines().filter(|l| l.contains(needle)).collect()
}

/// The part of `output` from the line starting with `from` to the next line starting with `to`.
pub fn section<'a>(output: &'a str, from: &str, to: &str) -> &'a str {
    let start = output
        .find(from)
        .unwrap_or_else(|| panic!("no {from:?} in:\n{output}"));
    let rest = &output[start..];
    let end = rest[from.len()..]
        .find(to)
        .map_or(rest.len(), |i| i + from.len());
    &rest[..end]
}
