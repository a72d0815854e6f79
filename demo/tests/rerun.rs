//! A rerun finishes the job: the same command, started again after the demo was killed
//! (`SIGKILL`, as a crash or a power cut would leave things), resumes what is partial, skips what
//! is complete without downloading it again, and exits 0 once everything is there.

mod common;

use std::time::{Duration, Instant};

use common::{Reply, TestServer, demo, pattern, spawn_demo_quiet, text};

/// A small pseudo-random generator (xorshift): the kill times vary from run to run, and the
/// seed is printed so that a failure can be replayed.
struct Random(u64);

impl Random {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

const FILES: usize = 6;
const SIZE: usize = 1 << 20;

fn server() -> (TestServer, Vec<Vec<u8>>) {
    let bodies: Vec<Vec<u8>> = (0..FILES).map(|i| pattern(SIZE, 60 + i as u8)).collect();
    let server = TestServer::start(vec![]);
    for (i, body) in bodies.iter().enumerate() {
        let reply = Reply::Paced {
            body: body.clone(),
            etag: format!("\"v{i}\""),
            piece: 32 << 10,
            pause: Duration::from_millis(25),
        };
        server.set(&format!("/f{i}.bin"), reply);
    }
    (server, bodies)
}

#[test]
fn killed_several_times_then_rerun_fetches_little_more_than_the_files() {
    killed_and_rerun(&[]);
}

#[test]
fn threads_mode_killed_and_rerun_too() {
    killed_and_rerun(&["--threads"]);
}

/// Kills the demo (`design`: its extra arguments) five times at random points, then lets the
/// same command finish, and runs it once more to find everything complete.
fn killed_and_rerun(design: &[&str]) {
    let (server, bodies) = server();
    let dir = tempfile::tempdir().unwrap();
    let urls: Vec<String> = (0..FILES)
        .map(|i| server.url(&format!("/f{i}.bin")))
        .collect();
    let out = dir.path().to_str().unwrap().to_owned();
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.extend(["-o", &out, "-j", "2"]);
    args.extend_from_slice(design);

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("kill times from seed {seed}");
    let mut random = Random(seed);
    // Killed at random points, each after some of the run's ~2 s of transfers.
    for _ in 0..5 {
        let mut child = spawn_demo_quiet(&args, dir.path());
        let started = Instant::now();
        std::thread::sleep(Duration::from_millis(150 + random.below(1_200)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
        }
        child.wait().unwrap();
        eprintln!(
            "killed after {:?}; {} body bytes served so far",
            started.elapsed(),
            server.body_bytes()
        );
    }
    let output = demo(&args, dir.path());
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    for (i, body) in bodies.iter().enumerate() {
        let saved = std::fs::read(dir.path().join(format!("f{i}.bin"))).unwrap();
        assert!(saved == *body, "f{i}.bin is not the server's file");
    }
    let fetched = server.body_bytes();
    let total = (FILES * SIZE) as u64;
    eprintln!(
        "{design:?}: {fetched} body bytes served for {total} bytes of files ({:.3}x)",
        fetched as f64 / total as f64
    );
    assert!(
        fetched * 10 <= total * 13,
        "{fetched} bytes fetched for {total} bytes of files (over 1.3x)\n{stdout}"
    );

    // Once more: everything is there, and nothing is downloaded again.
    let before = server.body_bytes();
    let output = demo(&args, dir.path());
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_eq!(
        stdout.matches("already complete").count(),
        FILES * 2, // one line as each ends, and its row in the summary
        "{stdout}"
    );
    assert_eq!(server.body_bytes(), before, "{stdout}");
    let names = common::names_in(dir.path());
    assert_eq!(names.len(), FILES, "only the files are left: {names:?}");
}

#[test]
fn a_complete_file_is_asked_about_and_a_changed_one_kept_unless_forced() {
    let (old, new) = (pattern(300_000, 70), pattern(300_000, 71));
    let version = |body: &[u8], etag: &str| Reply::Versioned {
        body: body.to_vec(),
        etag: Some(etag.to_owned()),
        last_modified: None,
        date: None,
        honours_if_range: true,
        cut: None,
    };
    let server = TestServer::start(vec![("/c.bin", version(&old, "\"1\""))]);
    let dir = tempfile::tempdir().unwrap();
    let url = server.url("/c.bin");
    let args = [url.as_str(), "-o", dir.path().to_str().unwrap()];
    let output = demo(&args, dir.path());
    assert!(output.status.success(), "{:?}", text(&output));

    // The same version: a 304, no body, exit 0.
    let output = demo(&args, dir.path());
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("already complete"), "{stdout}");
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1].if_none_match.as_deref(), Some("\"1\""), "{seen:?}");
    assert_eq!(seen[1].range, None, "{seen:?}");

    // Another version: the file is kept, and the run says so.
    server.set("/c.bin", version(&new, "\"2\""));
    let output = demo(&args, dir.path());
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("another version"), "{stderr}");
    assert!(std::fs::read(dir.path().join("c.bin")).unwrap() == old);

    // --force replaces it with the new version.
    let mut forced = args.to_vec();
    forced.push("--force");
    let output = demo(&forced, dir.path());
    assert!(output.status.success(), "{:?}", text(&output));
    assert!(std::fs::read(dir.path().join("c.bin")).unwrap() == new);
}

#[test]
fn a_file_the_demo_did_not_write_is_never_taken_for_complete() {
    let body = pattern(50_000, 72);
    let server = TestServer::start(vec![("/mine.bin", Reply::file(&body))]);
    let dir = tempfile::tempdir().unwrap();
    // The same length as the server's, but no record of a finished download on it.
    std::fs::write(dir.path().join("mine.bin"), vec![0u8; 50_000]).unwrap();
    let url = server.url("/mine.bin");
    for design in [None, Some("--threads")] {
        let mut args = vec![url.as_str()];
        args.extend(design);
        let output = demo(&args, dir.path());
        let (stdout, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
        assert!(stderr.contains("already exists (use --force"), "{stderr}");
        assert!(!stdout.contains("already complete"), "{stdout}");
    }
    assert_eq!(
        std::fs::read(dir.path().join("mine.bin")).unwrap(),
        vec![0u8; 50_000]
    );
}

#[test]
fn threads_mode_skips_a_complete_file_too() {
    let body = pattern(80_000, 73);
    let server = TestServer::start(vec![("/t.bin", Reply::file(&body))]);
    let dir = tempfile::tempdir().unwrap();
    let url = server.url("/t.bin");
    let args = [url.as_str(), "--threads"];
    assert!(demo(&args, dir.path()).status.success());
    let before = server.body_bytes();
    let output = demo(&args, dir.path());
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("already complete"), "{stdout}");
    // No validator to ask about: not even a request.
    assert_eq!(server.seen().len(), 1);
    assert_eq!(server.body_bytes(), before);
}

#[test]
fn a_complete_file_is_skipped_whether_or_not_its_length_was_announced() {
    // With a length, the .part is tied with its record before the first byte; a chunked body
    // announces none, and its record is put there once the body has ended. Either way a rerun
    // recognises the file, in either design.
    let body = pattern(90_000, 74);
    let reply = |chunked| Reply::File {
        body: body.clone(),
        chunked,
        ranges: false,
        content_disposition: None,
    };
    let server = TestServer::start(vec![("/l.bin", reply(false)), ("/c.bin", reply(true))]);
    for design in [None, Some("--threads")] {
        let dir = tempfile::tempdir().unwrap();
        let (l, c) = (server.url("/l.bin"), server.url("/c.bin"));
        let mut args = vec![l.as_str(), c.as_str()];
        args.extend(design);
        let output = demo(&args, dir.path());
        assert!(output.status.success(), "{design:?}: {:?}", text(&output));
        let before = server.body_bytes();
        let output = demo(&args, dir.path());
        let (stdout, stderr) = text(&output);
        assert!(output.status.success(), "{design:?}: {stdout}\n{stderr}");
        assert_eq!(
            stdout.matches("already complete").count(),
            4,
            "{design:?}: {stdout}"
        );
        assert_eq!(server.body_bytes(), before, "{design:?}: {stdout}");
        for name in ["l.bin", "c.bin"] {
            assert!(std::fs::read(dir.path().join(name)).unwrap() == body);
        }
    }
}
