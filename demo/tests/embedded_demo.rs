//! The no-argument run: the embedded server and its generated files, on one thread.

mod common;

use common::{chrome_trace_events, demo, names_in, text};

#[test]
fn no_argument_run_verifies_every_file_and_prints_the_summary() {
    let cwd = tempfile::tempdir().unwrap();
    // `--demo-scale small`: the same eight files at 1/64 of the size, so a debug build is quick.
    let output = demo(&["--demo-scale", "small"], cwd.path());
    let (stdout, stderr) = text(&output);
    assert!(
        output.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("verified byte for byte: 8 of 8 files"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("  verified\n").count(), 8, "{stdout}");
    for line in [
        "8 downloads: 8 complete, 0 failed, 0 stopped",
        "one after another (the sum of the times above)",
        "threads that ran tasks             1",
        "epoll_wait calls",
        "asleep in epoll_wait",
        "running tasks",
        "peak memory (VmHWM)",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
    // Plain progress lines, since stdout is not a terminal.
    assert!(stdout.contains("done   file-1MiB.bin"), "{stdout}");
    // The temporary folder is gone, and nothing was written to the working folder.
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0);
}

#[test]
fn output_folder_keeps_the_files_and_a_second_run_finds_them_complete() {
    let cwd = tempfile::tempdir().unwrap();
    let out = cwd.path().join("out");
    let out_arg = out.to_str().unwrap();
    let output = demo(&["--demo-scale", "small", "-o", out_arg], cwd.path());
    assert!(output.status.success(), "{:?}", text(&output));
    let names = names_in(&out);
    assert_eq!(names.len(), 8, "{names:?}");
    assert!(names.iter().all(|n| !n.ends_with(".part")), "{names:?}");
    assert_eq!(
        std::fs::metadata(out.join("file-16KiB.bin")).unwrap().len(),
        16 * 1024
    );

    // Again into the same folder: every file is complete (its bytes checked against the
    // generator again), so nothing is downloaded or rewritten, and the run succeeds.
    let before = std::fs::read(out.join("file-16KiB.bin")).unwrap();
    let modified = std::fs::metadata(out.join("file-16KiB.bin"))
        .unwrap()
        .modified()
        .unwrap();
    let again = demo(&["--demo-scale", "small", "-o", out_arg], cwd.path());
    let (stdout, stderr) = text(&again);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{stdout}
{stderr}"
    );
    assert_eq!(stdout.matches("done   ").count(), 8, "{stdout}");
    assert_eq!(
        stdout.matches("already complete, verified").count(),
        16, // as each ends, and in the summary
        "{stdout}"
    );
    assert_eq!(std::fs::read(out.join("file-16KiB.bin")).unwrap(), before);
    let after = std::fs::metadata(out.join("file-16KiB.bin")).unwrap();
    assert_eq!(after.modified().unwrap(), modified);
}

#[test]
fn threads_mode_does_the_same_downloads_on_os_threads() {
    let cwd = tempfile::tempdir().unwrap();
    let output = demo(&["--demo-scale", "small", "--threads"], cwd.path());
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("verified byte for byte: 8 of 8 files"),
        "{stdout}"
    );
    assert!(
        stdout.contains("threads that ran downloads         8"),
        "{stdout}"
    );
    assert!(stdout.contains("peak memory (VmHWM)"), "{stdout}");
}

#[test]
fn trace_file_is_chrome_json_with_a_track_per_task() {
    let cwd = tempfile::tempdir().unwrap();
    let events = chrome_trace_events(cwd.path());
    let polls = events
        .iter()
        .filter(|e| e["name"] == "poll" && e["ph"] == "X")
        .count();
    let sleeps = events
        .iter()
        .filter(|e| e["name"] == "epoll_wait" && e["tid"] == 0)
        .count();
    assert!(polls > 8 && sleeps > 0, "{polls} polls, {sleeps} sleeps");
    let named = |needle: &str| {
        events.iter().any(|e| {
            e["name"] == "thread_name" && e["args"]["name"].as_str().unwrap().contains(needle)
        })
    };
    assert!(named("file-1MiB.bin") && named("reactor"));
}

#[test]
fn trace_prints_readable_events_on_stderr() {
    let cwd = tempfile::tempdir().unwrap();
    let output = demo(&["--demo-scale", "small", "--trace"], cwd.path());
    let (_, stderr) = text(&output);
    assert!(output.status.success());
    for word in [
        "spawn",
        "poll",
        "ready=",
        "took=",
        "wake",
        "register",
        "epoll_wait",
        "asleep=",
    ] {
        assert!(stderr.contains(word), "no {word:?} in the trace");
    }
}
