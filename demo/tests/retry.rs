//! Retries: a server that answers 503 with `Retry-After`, resets a connection mid-body, or
//! stops sending; and what is not retried (a 404, or anything with `--retry 0`).

mod common;

use std::time::Duration;

use common::{Reply, TestServer, demo, pattern, refused_url, text};

/// The file at `/f.bin`, version `"v1"`, honouring `Range` and `If-Range`.
fn file(body: &[u8]) -> Reply {
    Reply::Versioned {
        body: body.to_vec(),
        etag: Some("\"v1\"".to_owned()),
        last_modified: None,
        date: None,
        honours_if_range: true,
        cut: None,
    }
}

/// Runs the demo on `/f.bin` with a short first wait; returns the exit code and the output.
fn run(server: &TestServer, extra: &[&str]) -> (Option<i32>, String, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = server.url("/f.bin");
    let mut args = vec![url.as_str(), "--retry-delay-ms", "50"];
    args.extend_from_slice(extra);
    let output = demo(&args, dir.path());
    let (stdout, stderr) = text(&output);
    (output.status.code(), stdout, stderr, dir)
}

#[test]
fn a_503_is_retried_no_sooner_than_its_retry_after() {
    let body = pattern(100_000, 90);
    for design in [None, Some("--threads")] {
        let busy = Reply::StatusWith {
            code: 503,
            headers: "Retry-After: 1\r\n".to_owned(),
        };
        let server = TestServer::start(vec![("/f.bin", Reply::Sequence(vec![busy, file(&body)]))]);
        let (code, stdout, stderr, dir) = run(&server, &Vec::from_iter(design));
        assert_eq!(code, Some(0), "{design:?}\n{stdout}\n{stderr}");
        assert!(std::fs::read(dir.path().join("f.bin")).unwrap() == body);
        let seen = server.seen();
        assert_eq!(seen.len(), 2, "{seen:?}");
        // The first wait is 50 ms, but the server asked for a second: that is the minimum.
        let waited = seen[1].at - seen[0].at;
        assert!(waited >= Duration::from_secs(1), "{design:?}: {waited:?}");
        assert!(
            stdout.contains("retrying in 1 s (503)"),
            "{design:?}: {stdout}"
        );
        assert!(stdout.contains("(1 retry)"), "{design:?}: {stdout}");
    }
}

#[test]
fn a_body_reset_midway_is_resumed_with_range_and_if_range() {
    let body = pattern(400_000, 91);
    for design in [None, Some("--threads")] {
        let reset = Reply::Reset {
            body: body.clone(),
            etag: "\"v1\"".to_owned(),
            sent: 150_000,
        };
        let server = TestServer::start(vec![("/f.bin", Reply::Sequence(vec![reset, file(&body)]))]);
        let (code, stdout, stderr, dir) = run(&server, &Vec::from_iter(design));
        assert_eq!(code, Some(0), "{design:?}\n{stdout}\n{stderr}");
        assert!(std::fs::read(dir.path().join("f.bin")).unwrap() == body);
        let seen = server.seen();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(
            seen[1].range.as_deref(),
            Some("bytes=150000-"),
            "{design:?}"
        );
        assert_eq!(seen[1].if_range.as_deref(), Some("\"v1\""), "{design:?}");
        assert!(
            stdout.contains("resumed at byte 150000"),
            "{design:?}: {stdout}"
        );
        assert!(stdout.contains("(1 retry)"), "{design:?}: {stdout}");
    }
}

#[test]
fn a_timeout_is_retried() {
    let body = pattern(60_000, 92);
    for design in [None, Some("--threads")] {
        let stall = Reply::Stall {
            body: body.clone(),
            sent: 10_000,
        };
        let server = TestServer::start(vec![(
            "/f.bin",
            Reply::Sequence(vec![stall, Reply::file(&body)]),
        )]);
        let mut extra = vec!["--read-timeout-ms", "400"];
        extra.extend(design);
        let (code, stdout, stderr, dir) = run(&server, &extra);
        assert_eq!(code, Some(0), "{design:?}\n{stdout}\n{stderr}");
        assert!(std::fs::read(dir.path().join("f.bin")).unwrap() == body);
        assert_eq!(server.seen().len(), 2);
        assert!(stdout.contains("(read timeout)"), "{design:?}: {stdout}");
    }
}

#[test]
fn a_404_is_not_retried_nor_anything_with_retry_0() {
    let server = TestServer::start(vec![("/f.bin", Reply::Status(404))]);
    let (code, stdout, stderr, _dir) = run(&server, &[]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert_eq!(server.seen().len(), 1);
    assert!(!stdout.contains("retr"), "{stdout}");

    let server = TestServer::start(vec![("/f.bin", Reply::Status(503))]);
    let (code, stdout, stderr, _dir) = run(&server, &["--retry", "0"]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert_eq!(server.seen().len(), 1);

    // Used up: the first attempt and two retries, then the error.
    let (code, stdout, stderr, _dir) = run(&server, &["--retry", "2"]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert_eq!(server.seen().len(), 4);
    assert!(stdout.contains("FAILED (2 retries)"), "{stdout}");
    assert!(stderr.contains("503"), "{stderr}");
}

#[test]
fn a_refused_connection_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let url = refused_url();
    let output = demo(
        &[&url, "--retry", "1", "--retry-delay-ms", "50"],
        dir.path(),
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("(connection refused)"), "{stdout}");
    assert!(stdout.contains("FAILED (1 retry)"), "{stdout}");
    assert!(stderr.contains("could not connect"), "{stderr}");
}
