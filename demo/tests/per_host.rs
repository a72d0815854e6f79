//! `--per-host N`: at most N connections at once to one host and port, counted by the server.

mod common;

use std::time::Duration;

use common::{Reply, TestServer, demo, pattern, text};

/// Eight slow files on one server: without a limit, `-j 8` would open eight connections.
fn server() -> (TestServer, Vec<String>) {
    let server = TestServer::start(vec![]);
    let urls = (0..8)
        .map(|i| {
            let reply = Reply::Paced {
                body: pattern(128 << 10, 100 + i),
                etag: format!("\"{i}\""),
                piece: 16 << 10,
                pause: Duration::from_millis(25),
            };
            server.set(&format!("/p{i}.bin"), reply);
            server.url(&format!("/p{i}.bin"))
        })
        .collect();
    (server, urls)
}

#[test]
fn no_more_connections_to_a_host_than_the_limit() {
    for design in [None, Some("--threads")] {
        let (server, urls) = server();
        let dir = tempfile::tempdir().unwrap();
        let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
        args.extend(["-j", "8", "--per-host", "2"]);
        args.extend(design);
        let output = demo(&args, dir.path());
        let (stdout, stderr) = text(&output);
        assert!(output.status.success(), "{design:?}\n{stdout}\n{stderr}");
        assert_eq!(common::names_in(dir.path()).len(), 8);
        // At most two, and two were reached: the limit, not a run one at a time.
        assert_eq!(server.max_open(), 2, "{design:?}\n{stdout}");
        let host = server.addr.to_string();
        assert!(
            stdout.contains(&format!(
                "waiting for a connection to {host} (--per-host 2)"
            )),
            "{design:?}\n{stdout}"
        );
    }
}

#[test]
fn the_total_is_still_capped_by_jobs() {
    let (server, urls) = server();
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.extend(["-j", "3", "--per-host", "8"]);
    let output = demo(&args, dir.path());
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_eq!(server.max_open(), 3, "{stdout}");
}

#[test]
fn a_host_at_its_limit_does_not_hold_up_another_hosts_downloads() {
    // Host A's six files are listed first, but only one may be fetched at a time: the other
    // -j slots go to host B's files, whose requests come before A's second one.
    let (slow, _) = server();
    let fast = TestServer::start(vec![
        ("/b0.bin", Reply::file(&pattern(1_000, 110))),
        ("/b1.bin", Reply::file(&pattern(1_000, 111))),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let urls: Vec<String> = (0..6)
        .map(|i| slow.url(&format!("/p{i}.bin")))
        .chain([fast.url("/b0.bin"), fast.url("/b1.bin")])
        .collect();
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.extend(["-j", "3", "--per-host", "1"]);
    let output = demo(&args, dir.path());
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_eq!(slow.max_open(), 1, "{stdout}");
    let second_of_a = slow.seen()[1].at;
    for b in fast.seen() {
        assert!(
            b.at < second_of_a,
            "{} waited behind host A\n{stdout}",
            b.path
        );
    }
}
