//! On a terminal, the `d` key prints `executor::dump()` above the bars (through them, so they
//! are not torn), and the run goes on.
//!
//! The terminal is a pseudo-terminal, as in `task_table_key.rs`.

mod common;

use std::io::Write;

#[test]
fn d_prints_every_task_and_what_it_waits_on() {
    // The full-size demo: its downloads take seconds, time enough to press a key.
    let cwd = std::env::current_dir().unwrap();
    let (mut child, master) = common::demo_on_pty(&[], &cwd, 60, 200);

    let (output, reader) = common::read_terminal(&master);
    let mut keys = std::fs::File::from(master);

    // The keyboard is read once the prompt is drawn.
    let prompt = common::wait_for_shown(&output, 0, "t shows the tasks");
    let before = String::from_utf8_lossy(&output.lock().unwrap()[..prompt]).into_owned();
    assert!(
        !before.contains("block_on's future"),
        "a dump before d:\n{before}"
    );

    keys.write_all(b"d").unwrap();
    let shown = output.lock().unwrap().len();
    let dump = common::wait_for_shown(&output, shown, "after block_on started");
    common::wait_for_shown(&output, dump, "task 0 block_on's future");
    common::wait_for_shown(&output, dump, "`server: accept loop`");
    common::wait_for_shown(&output, dump, "spawned at demo/src/");

    common::wait_for_embedded_success(&mut child, reader, &output);
    drop(keys);
}
