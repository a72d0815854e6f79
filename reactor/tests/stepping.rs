//! `docs/STEPPING.md`'s debugger walk still works: the exact command it gives runs the gdb
//! command file on the `one_read` example, and the nine labels appear in the documented order.
//! A renamed function, or a step that no longer happens, fails here before it silently breaks
//! the doc.

#[path = "run_example/mod.rs"]
mod run_example;

use std::process::Command;

/// Whether `program` can be started (`program --version` succeeds).
fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_gdb_walk_prints_every_step_of_one_read_in_order() {
    if !have("gdb") {
        assert!(
            std::env::var("GLASS_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "gdb is missing and GLASS_REQUIRE_TOOLS=1 (apt-get install gdb)"
        );
        eprintln!("skipped: gdb is not installed (apt-get install gdb)");
        return;
    }
    // The doc's walk runs the dev profile's build, whatever profile this test was built with.
    // The walk's command is run from the workspace's root, as the doc says.
    let root = run_example::workspace_root();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "reactor", "--example", "one_read"])
        .current_dir(&root)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building one_read failed: {status}");
    let exe = std::env::current_exe().expect("the test knows its path");
    // target/PROFILE/deps/NAME -> target/debug/examples/one_read.
    let target = exe.ancestors().nth(3).expect("target/");
    let example = target.join("debug/examples/one_read");

    // `rust-gdb` (rustup's wrapper, which loads Rust's pretty-printers) is what the doc uses;
    // plain gdb reads Rust as well, for a machine where rustup did not install the wrapper.
    let gdb = if have("rust-gdb") { "rust-gdb" } else { "gdb" };
    let mut command = Command::new(gdb);
    command
        .args(["-batch", "-x", "docs/step-one-read.gdb"])
        .arg(&example)
        .current_dir(&root);
    let out = run_example::run(command);

    let labels: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("glass step "))
        .collect();
    // The first time each step is reached, in the order STEPPING.md lists them.
    let expected = [
        (
            "glass step 1:",
            "the executor polls task 0 (its first poll)",
        ),
        ("glass step 2:", "io::ErrorKind::WouldBlock"),
        ("glass step 3:", "the task's waker is stored in fd "),
        ("glass step 4:", "reactor::park(max_wait=None)"),
        ("glass step 5:", "readable; a task waits for that: wake it"),
        ("glass step 6:", "Waker::wake for task 0"),
        ("glass step 7:", "task 0 is pushed onto the run queue"),
        ("glass step 8:", "the executor polls task 0 again"),
        ("glass step 9:", "read(2) returned Ok(5): the data"),
    ];
    let mut from = 0;
    for (step, text) in expected {
        let at = (from..labels.len())
            .find(|&i| labels[i].starts_with(step) && labels[i].contains(text))
            .unwrap_or_else(|| {
                panic!(
                    "no {step:?} with {text:?} after label {from}:\n{}",
                    labels.join("\n")
                )
            });
        from = at + 1;
    }
    // The sleep in between is epoll_wait, inside mio.
    assert!(
        out.contains("mio calls epoll_wait (timeout None): the thread sleeps"),
        "{out}"
    );
    assert!(
        out.contains("task: read returned 5 bytes: \"hello\""),
        "{out}"
    );
}
