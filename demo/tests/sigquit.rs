//! Ctrl-\ (`SIGQUIT`) prints `executor::dump()` on stderr and the run carries on, with no
//! terminal at all (stdin closed, output in pipes), as a Java VM prints its threads.

mod common;

use std::io::Read;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Reply, TestServer, pattern, spawn_demo, wait_at_most};

#[test]
fn sigquit_prints_every_task_and_what_it_waits_on_then_the_run_goes_on() {
    let body = pattern(100_000, 21);
    // The server sends 40,000 bytes and then nothing: the download waits on its socket and on
    // its read timeout's timer.
    let server = TestServer::start(vec![("/quiet.bin", Reply::Stall { body, sent: 40_000 })]);
    let url = server.url("/quiet.bin");
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_demo(&[&url, "--read-timeout-ms", "4000"], dir.path());
    let pid = libc::pid_t::try_from(child.id()).unwrap();

    // stderr as it comes, in chunks.
    let (tx, chunks) = mpsc::channel();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut stdout = child.stdout.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });

    // Before its handler is installed, SIGQUIT would kill the demo (the default action): wait
    // until the download has started.
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.seen().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the demo never asked for the file"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Ask for a dump every half second until one shows the download waiting on both.
    let mut seen = String::new();
    let dump_line = loop {
        assert!(
            Instant::now() < deadline,
            "no dump with the download's socket and timer:\n{seen}"
        );
        // SAFETY: our child, not yet reaped (so the pid is its own).
        assert_eq!(unsafe { libc::kill(pid, libc::SIGQUIT) }, 0);
        while let Ok(chunk) = chunks.recv_timeout(Duration::from_millis(500)) {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        let found = seen.lines().find(|l| {
            l.contains("`download quiet.bin`") && l.contains("readable") && l.contains("timer in")
        });
        if let Some(line) = found {
            break line.to_owned();
        }
    };
    assert!(seen.contains("glass: "), "{seen}");
    assert!(dump_line.contains("idle for"), "{dump_line}");
    assert!(
        dump_line.contains(&format!("-> {}", server.addr)),
        "the socket's peer is the server: {dump_line}"
    );
    assert!(dump_line.contains("spawned at demo/src/"), "{dump_line}");

    // The run carried on: the read timeout ended the download, and the demo exited normally.
    let status = wait_at_most(&mut child, Duration::from_secs(120));
    reader.join().unwrap();
    seen.extend(
        chunks
            .try_iter()
            .map(|c| String::from_utf8_lossy(&c).into_owned()),
    );
    let stdout = out.join().unwrap();
    assert_eq!(status.code(), Some(1), "{status}\n{stdout}\n{seen}");
    assert!(seen.contains("read timeout"), "{seen}");
    assert!(
        !stdout.contains("glass: "),
        "the dump goes to stderr:\n{stdout}"
    );
    println!("{dump_line}");
}
