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
