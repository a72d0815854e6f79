//! On a terminal, the `t` key shows the task table under the bars, live, and the prompt says so.
//!
//! The terminal is a pseudo-terminal: the demo gets the slave as stdin, stdout and stderr (so it
//! draws bars and reads keys), and the test plays the user on the master. No job control is
//! needed here (`ctrl_z.rs` has it), so the demo is an ordinary child.

mod common;

use std::io::Write;

#[test]
fn t_shows_the_task_table_under_the_bars() {
    // The full-size demo: its downloads take about five seconds, time enough to press a key.
    let cwd = std::env::current_dir().unwrap();
    let (mut child, master) = common::demo_on_pty(&[], &cwd, 60, 140);
    let (output, reader) = common::read_terminal(&master);
    let mut keys = std::fs::File::from(master);

    // The prompt says what `t` does; no table yet.
    let hint = common::wait_for_shown(&output, 0, "t shows the tasks");
    let before = String::from_utf8_lossy(&output.lock().unwrap()[..hint]).into_owned();
    assert!(!before.contains("runtime:"), "a table before t:\n{before}");

    keys.write_all(b"t").unwrap();
    let shown = output.lock().unwrap().len();
    let header = common::wait_for_shown(&output, shown, "task name");
    // The table's rows and its runtime line, drawn with the bars, and the prompt's new hint.
    common::wait_for_shown(&output, header, "download file-64MiB.bin");
    common::wait_for_shown(&output, header, "polls/s");
    common::wait_for_shown(&output, header, "t hides the tasks");

    common::wait_for_embedded_success(&mut child, reader, &output);
    drop(keys);
}
