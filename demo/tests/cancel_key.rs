//! On a terminal, the arrow keys select a download, `c` cancels it (its task's future dropped
//! where it waits; its `.part` stays) and `r` restarts it, resuming the `.part`.
//!
//! The terminal is a pseudo-terminal, as in `task_table_key.rs`: the demo gets the slave as
//! stdin, stdout and stderr, and the test plays the user on the master.

mod common;

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{Reply, TestServer, pattern};

/// Waits up to 60 s until `done` holds, showing what the terminal showed if it never does.
fn wait_until(what: &str, output: &Mutex<Vec<u8>>, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        let shown = String::from_utf8_lossy(&output.lock().unwrap()).into_owned();
        assert!(
            Instant::now() < deadline,
            "never {what}; the terminal showed:\n{shown}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether the terminal has shown `needle` since byte `from`.
fn shown(output: &Mutex<Vec<u8>>, from: usize, needle: &str) -> bool {
    String::from_utf8_lossy(&output.lock().unwrap()[from..]).contains(needle)
}

/// Whether the terminal has shown `needle` on the row of `name` since byte `from`: each redraw
/// draws every row again, so another row's message would match anywhere.
fn row_shown(output: &Mutex<Vec<u8>>, from: usize, name: &str, needle: &str) -> bool {
    let text = String::from_utf8_lossy(&output.lock().unwrap()[from..]).into_owned();
    text.match_indices(name).any(|(at, _)| {
        let row: String = text[at..].chars().take(150).collect();
        // The row ends where the next one (or the total) starts.
        let end = [".bin ", "total "]
            .iter()
            .filter_map(|next| row[name.len()..].find(next).map(|i| i + name.len()))
            .min()
            .unwrap_or(row.len());
        row[..end].contains(needle)
    })
}

#[test]
fn c_cancels_the_selected_download_and_r_resumes_it() {
    cancel_and_restart(&[]);
}

/// `--threads` cannot drop a blocked thread as a future is dropped: it says so, and its thread
/// stops between two reads; the rest is the same.
#[test]
fn threads_cancel_between_two_reads() {
    let output = cancel_and_restart(&["--threads"]);
    assert!(
        output.contains("--threads cannot drop a thread blocked in read(2)"),
        "{output}"
    );
}

/// Cancels b.bin and c.bin of four, then restarts c.bin; returns what the terminal showed.
fn cancel_and_restart(design: &[&str]) -> String {
    const SIZE: usize = 3 << 20;
    let slow = |seed, size| Reply::Paced {
        body: pattern(size, seed),
        etag: format!("\"{seed}\""),
        piece: 16 << 10,
        pause: Duration::from_millis(20),
    };
    let server = TestServer::start(vec![
        ("/a.bin", Reply::file(&pattern(10_000, 1))),
        ("/b.bin", slow(2, SIZE)),
        ("/c.bin", slow(3, SIZE)),
        // Still running when c.bin is restarted: the run ends once no download is left.
        ("/d.bin", slow(4, 3 * SIZE)),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let urls: Vec<String> = ["/a.bin", "/b.bin", "/c.bin", "/d.bin"]
        .iter()
        .map(|path| server.url(path))
        .collect();
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.extend_from_slice(design);
    let (mut child, master) = common::demo_on_pty(&args, dir.path(), 40, 160);
    let (output, reader) = common::read_terminal(&master);
    let mut keys = std::fs::File::from(master);

    wait_until("showed the prompt", &output, || {
        shown(&output, 0, "c cancels, r restarts")
    });
    // Both slow downloads under way, some of each on disk.
    let part = |name: &str| std::fs::metadata(dir.path().join(name)).map_or(0, |m| m.len());
    wait_until("wrote both .parts", &output, || {
        part("b.bin.part") > 100_000 && part("c.bin.part") > 100_000
    });

    // Down to b.bin (a.bin is selected first), and cancel it.
    let mark = output.lock().unwrap().len();
    keys.write_all(b"\x1b[Bc").unwrap();
    wait_until("showed b.bin cancelled", &output, || {
        row_shown(&output, mark, "b.bin", "cancelled; its .part is kept")
    });
    // Down to c.bin: cancel it, then restart it.
    let mark = output.lock().unwrap().len();
    keys.write_all(b"\x1b[Bc").unwrap();
    wait_until("showed c.bin cancelled", &output, || {
        row_shown(&output, mark, "c.bin", "cancelled; its .part is kept")
    });
    let kept = part("c.bin.part");
    assert!(kept > 0);
    keys.write_all(b"r").unwrap();
    assert!(
        !dir.path().join("d.bin").exists(),
        "the run would have ended before the restart"
    );

    let status = common::wait_at_most(&mut child, Duration::from_secs(120));
    reader.join().unwrap();
    let output = String::from_utf8_lossy(&output.lock().unwrap()).into_owned();
    // b.bin was cancelled: not there, so the run did not do all it was asked.
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(
        output.contains("4 downloads: 3 complete, 0 failed, 0 stopped, 1 cancelled"),
        "{output}"
    );
    assert!(output.contains("cancelled (each .part is kept"), "{output}");
    assert!(dir.path().join("b.bin.part").exists());
    assert!(!dir.path().join("b.bin").exists());
    // c.bin was resumed where its cancelled task had left the .part, not started over.
    assert!(std::fs::read(dir.path().join("c.bin")).unwrap() == pattern(SIZE, 3));
    let resumed: Vec<_> = server
        .seen()
        .into_iter()
        .filter(|s| s.path == "/c.bin")
        .map(|s| s.range)
        .collect();
    assert_eq!(resumed.len(), 2, "{resumed:?}");
    let from: u64 = resumed[1]
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the restart asked {resumed:?}"));
    assert!(from >= kept, "resumed at {from}, the .part had {kept}");
    drop(keys);
    output
}
