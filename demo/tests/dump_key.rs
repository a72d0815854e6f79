//! On a terminal, the `d` key prints `executor::dump()` above the bars (through them, so they
//! are not torn), and the run goes on.
//!
//! The terminal is a pseudo-terminal, as in `task_table_key.rs`.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Waits up to 60 s until the terminal has shown `needle` after byte `from`; returns where.
fn wait_for(output: &Mutex<Vec<u8>>, from: usize, needle: &str) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let shown = String::from_utf8_lossy(&output.lock().unwrap()[from..]).into_owned();
        if let Some(at) = shown.find(needle) {
            return from + at;
        }
        assert!(
            Instant::now() < deadline,
            "the terminal never showed {needle:?}; it showed:\n{shown}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn d_prints_every_task_and_what_it_waits_on() {
    let (master, slave) = common::openpty(60, 200);
    let stdio = || Stdio::from(slave.try_clone().unwrap());
    // The full-size demo: its downloads take seconds, time enough to press a key.
    let mut child = Command::new(env!("CARGO_BIN_EXE_demo"))
        .env("TERM", "xterm")
        .stdin(stdio())
        .stdout(stdio())
        .stderr(stdio())
        .spawn()
        .expect("the demo runs");
    drop(slave);

    let (output, reader) = common::read_terminal(&master);
    let mut keys = std::fs::File::from(master);

    // The keyboard is read once the prompt is drawn.
    let prompt = wait_for(&output, 0, "t shows the tasks");
    let before = String::from_utf8_lossy(&output.lock().unwrap()[..prompt]).into_owned();
    assert!(
        !before.contains("block_on's future"),
        "a dump before d:\n{before}"
    );

    keys.write_all(b"d").unwrap();
    let shown = output.lock().unwrap().len();
    let dump = wait_for(&output, shown, "after block_on started");
    wait_for(&output, dump, "task 0 block_on's future");
    wait_for(&output, dump, "`server: accept loop`");
    wait_for(&output, dump, "spawned at demo/src/");

    let status = common::wait_at_most(&mut child, Duration::from_secs(120));
    reader.join().unwrap();
    let output = String::from_utf8_lossy(&output.lock().unwrap()).into_owned();
    assert!(status.success(), "{status}\n{output}");
    assert!(
        output.contains("verified byte for byte: 8 of 8 files"),
        "{output}"
    );
    drop(keys);
}
