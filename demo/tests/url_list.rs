//! Downloading a list of URLs from a server the test controls.

mod common;

use common::{Reply, TestServer, demo, pattern, refused_url, text};

#[test]
fn failures_are_reported_by_url_and_the_others_still_finish() {
    let a = pattern(300_000, 1);
    let b = pattern(120_000, 2);
    let server = TestServer::start(vec![
        ("/a.bin", Reply::file(&a)),
        (
            "/b.bin",
            Reply::File {
                body: b.clone(),
                chunked: true,
                ranges: false,
                content_disposition: None,
            },
        ),
    ]);
    let missing = server.url("/missing.bin");
    let refused = refused_url();
    let dir = tempfile::tempdir().unwrap();
    let args = [
        &server.url("/a.bin"),
        missing.as_str(),
        &refused,
        &server.url("/b.bin"),
        "-o",
        dir.path().to_str().unwrap(),
    ];
    let output = demo(&args, dir.path());
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert_eq!(std::fs::read(dir.path().join("a.bin")).unwrap(), a);
    assert_eq!(std::fs::read(dir.path().join("b.bin")).unwrap(), b);
    // Each failure names its URL and says what went wrong.
    assert!(stderr.contains(&format!("FAILED {missing}")), "{stderr}");
    assert!(stderr.contains("404"), "{stderr}");
    assert!(stderr.contains(&format!("FAILED {refused}")), "{stderr}");
    assert!(stderr.contains("could not connect"), "{stderr}");
    assert!(
        stdout.contains("4 downloads: 2 complete, 2 failed"),
        "{stdout}"
    );
    assert!(!dir.path().join("missing.bin").exists());
}

#[test]
fn all_succeeding_exits_zero_into_the_current_folder() {
    let a = pattern(50_000, 3);
    let server = TestServer::start(vec![("/dir/a%20b.txt", Reply::file(&a))]);
    let dir = tempfile::tempdir().unwrap();
    let output = demo(&[&server.url("/dir/a%20b.txt")], dir.path());
    assert!(output.status.success(), "{:?}", text(&output));
    assert_eq!(std::fs::read(dir.path().join("a b.txt")).unwrap(), a);
}

#[test]
fn two_urls_with_one_name_do_not_share_a_part_file() {
    // The first stalls while it holds the name `f`, so the second surely starts meanwhile.
    let (a, b) = (pattern(40_000, 4), pattern(40_000, 5));
    let stall = Reply::Stall {
        body: a.clone(),
        sent: 20_000,
    };
    let server = TestServer::start(vec![("/x/f", stall), ("/y/f", Reply::file(&b))]);
    let dir = tempfile::tempdir().unwrap();
    let args = [
        &server.url("/x/f"),
        &server.url("/y/f"),
        "--read-timeout-ms",
        "1500",
    ];
    let output = demo(&args, dir.path());
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("another download in this run is already saving f"),
        "{stderr}"
    );
    // Only the first one's bytes are in the .part, and no `f` was made.
    assert_eq!(
        std::fs::read(dir.path().join("f.part")).unwrap(),
        a[..20_000]
    );
    assert!(!dir.path().join("f").exists());
}
