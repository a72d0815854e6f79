//! A download's `NAME.part` is its own: no other download of the run, whatever the URLs or the
//! server's `Content-Disposition` say, ever writes, resumes or renames onto it.

mod common;

use std::path::Path;

use common::{Reply, TestServer, demo, names_in, pattern, text};

fn named(body: &[u8], content_disposition: &str) -> Reply {
    Reply::File {
        body: body.to_vec(),
        chunked: false,
        ranges: true,
        content_disposition: Some(content_disposition.to_owned()),
    }
}

/// Runs the demo on `paths` of `server`, one at a time (`-j 1`), saving into `dir`.
fn run_one_by_one(server: &TestServer, paths: &[&str], dir: &Path) {
    let urls: Vec<String> = paths.iter().map(|p| server.url(p)).collect();
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.extend(["-j", "1", "-o", dir.to_str().unwrap()]);
    let output = demo(&args, dir);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
}

#[test]
fn a_url_name_ending_in_part_is_not_resumed_by_the_name_without_it() {
    let (first, second) = (pattern(1_000, 21), pattern(2_000, 22));
    let server = TestServer::start(vec![
        ("/foo.part", Reply::file(&first)),
        ("/foo", Reply::file(&second)),
    ]);
    let dir = tempfile::tempdir().unwrap();
    run_one_by_one(&server, &["/foo.part", "/foo"], dir.path());
    assert_eq!(names_in(dir.path()), ["foo", "foo.part_"]);
    assert_eq!(std::fs::read(dir.path().join("foo")).unwrap(), second);
    assert_eq!(std::fs::read(dir.path().join("foo.part_")).unwrap(), first);
    // The second download asked for the whole file: nothing looked like its .part.
    assert!(server.seen().iter().all(|s| s.range.is_none()));
}

#[test]
fn a_server_name_ending_in_part_is_not_resumed_by_another_download() {
    let (first, second) = (pattern(500, 23), pattern(800, 24));
    let server = TestServer::start(vec![
        ("/a", named(&first, "attachment; filename=\"b.part\"")),
        ("/b", Reply::file(&second)),
    ]);
    let dir = tempfile::tempdir().unwrap();
    run_one_by_one(&server, &["/a", "/b"], dir.path());
    assert_eq!(names_in(dir.path()), ["b", "b.part_"]);
    assert_eq!(std::fs::read(dir.path().join("b")).unwrap(), second);
    assert_eq!(std::fs::read(dir.path().join("b.part_")).unwrap(), first);
}

#[test]
fn a_server_name_equal_to_the_part_name_does_not_rename_onto_the_part() {
    let body = pattern(700, 25);
    let server = TestServer::start(vec![(
        "/c",
        named(&body, "attachment; filename=\"c.part\""),
    )]);
    let dir = tempfile::tempdir().unwrap();
    run_one_by_one(&server, &["/c"], dir.path());
    assert_eq!(names_in(dir.path()), ["c.part_"]);
    assert_eq!(std::fs::read(dir.path().join("c.part_")).unwrap(), body);
}
