//! Resuming `NAME.part` files: what is appended, what starts over, what is never touched.
//!
//! A `.part` written by a test by hand has no validator beside it, so the tests of the `Range`
//! rules pass `--continue` (resume it on trust); the tests at the end make the `.part` with a
//! real, interrupted run and check that it is tied to its version.

mod common;

use common::{Reply, TestServer, demo, pattern, text};

fn run(server: &TestServer, path: &str, dir: &std::path::Path, extra: &[&str]) -> (i32, String) {
    let url = server.url(path);
    let mut args = vec![url.as_str(), "-o", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    let output = demo(&args, dir);
    let (stdout, stderr) = text(&output);
    (
        output.status.code().unwrap_or(-1),
        format!("{stdout}\n{stderr}"),
    )
}

#[test]
fn a_half_part_is_completed_with_one_range_request() {
    let body = pattern(1_000_000, 7);
    let server = TestServer::start(vec![("/big.iso", Reply::file(&body))]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.iso.part"), &body[..500_000]).unwrap();
    let (code, out) = run(&server, "/big.iso", dir.path(), &["-c"]);
    assert_eq!(code, 0, "{out}");
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].range.as_deref(), Some("bytes=500000-"));
    assert!(std::fs::read(dir.path().join("big.iso")).unwrap() == body);
    assert!(!dir.path().join("big.iso.part").exists());
    assert!(out.contains("resumed at byte 500000"), "{out}");
}

#[test]
fn a_200_answer_to_a_range_request_starts_over() {
    let body = pattern(200_000, 8);
    let server = TestServer::start(vec![(
        "/f.bin",
        Reply::File {
            body: body.clone(),
            chunked: false,
            ranges: false,
            content_disposition: None,
        },
    )]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.bin.part"), &body[..50_000]).unwrap();
    let (code, out) = run(&server, "/f.bin", dir.path(), &["-c"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(server.seen().len(), 1);
    assert!(std::fs::read(dir.path().join("f.bin")).unwrap() == body);
}

#[test]
fn a_206_from_the_wrong_offset_is_never_appended() {
    let body = pattern(200_000, 9);
    let server = TestServer::start(vec![("/w.bin", Reply::WrongRange { body: body.clone() })]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("w.bin.part"), &body[..50_000]).unwrap();
    let (code, out) = run(&server, "/w.bin", dir.path(), &["-c"]);
    assert_eq!(code, 0, "{out}");
    // Asked again without Range, and got the whole file.
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1].range, None);
    assert!(std::fs::read(dir.path().join("w.bin")).unwrap() == body);
}

#[test]
fn a_416_for_a_complete_part_just_finishes() {
    let body = pattern(100_000, 10);
    let server = TestServer::start(vec![("/done.bin", Reply::file(&body))]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("done.bin.part"), &body).unwrap();
    let (code, out) = run(&server, "/done.bin", dir.path(), &["-c"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(server.seen().len(), 1);
    assert!(std::fs::read(dir.path().join("done.bin")).unwrap() == body);
    assert!(!dir.path().join("done.bin.part").exists());
}

#[test]
fn an_existing_file_is_kept_unless_forced() {
    let body = pattern(10_000, 11);
    let server = TestServer::start(vec![("/keep.txt", Reply::file(&body))]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.txt"), b"mine").unwrap();
    let (code, out) = run(&server, "/keep.txt", dir.path(), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("already exists (use --force"), "{out}");
    assert_eq!(std::fs::read(dir.path().join("keep.txt")).unwrap(), b"mine");
    let (code, out) = run(&server, "/keep.txt", dir.path(), &["--force"]);
    assert_eq!(code, 0, "{out}");
    assert!(std::fs::read(dir.path().join("keep.txt")).unwrap() == body);
}

#[test]
fn threads_mode_resumes_by_the_same_rules() {
    let body = pattern(400_000, 12);
    let server = TestServer::start(vec![("/t.bin", Reply::file(&body))]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.bin.part"), &body[..100_000]).unwrap();
    let (code, out) = run(&server, "/t.bin", dir.path(), &["--threads", "-c"]);
    assert_eq!(code, 0, "{out}");
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].range.as_deref(), Some("bytes=100000-"));
    assert!(std::fs::read(dir.path().join("t.bin")).unwrap() == body);
}

#[test]
fn a_206_of_unknown_total_is_never_taken_for_the_whole_rest() {
    // The server sends 1000 bytes at a time as `bytes N-M/*`: where the range ends says nothing
    // about where the file does, so the download starts over instead of renaming a prefix.
    let body = pattern(100_000, 16);
    let server = TestServer::start(vec![(
        "/u.bin",
        Reply::UnknownTotal {
            body: body.clone(),
            piece: 1_000,
        },
    )]);
    for design in [None, Some("--threads")] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("u.bin.part"), &body[..50_000]).unwrap();
        let mut args = vec!["--continue"];
        args.extend(design);
        let (code, out) = run(&server, "/u.bin", dir.path(), &args);
        assert_eq!(code, 0, "{design:?}: {out}");
        assert!(
            std::fs::read(dir.path().join("u.bin")).unwrap() == body,
            "{design:?}: {out}"
        );
    }
    let ranges: Vec<_> = server.seen().into_iter().map(|s| s.range).collect();
    let asked = Some("bytes=50000-".to_owned());
    assert_eq!(ranges, [asked.clone(), None, asked, None]);
}

/// A version of `/v.bin` with this ETag; `cut`: the connection closes after that many bytes.
fn version(body: &[u8], etag: &str, honours_if_range: bool, cut: Option<usize>) -> Reply {
    Reply::Versioned {
        body: body.to_vec(),
        etag: Some(etag.to_owned()),
        last_modified: None,
        date: None,
        honours_if_range,
        cut,
    }
}

/// A version of `/v.bin` known by these headers (`[ETag, Last-Modified, Date]`), honouring
/// `If-Range`; `cut` as in [`version`].
fn dated(body: &[u8], [etag, modified, date]: [Option<&str>; 3], cut: Option<usize>) -> Reply {
    Reply::Versioned {
        body: body.to_vec(),
        etag: etag.map(str::to_owned),
        last_modified: modified.map(str::to_owned),
        date: date.map(str::to_owned),
        honours_if_range: true,
        cut,
    }
}

/// The second in which both versions of a file were written, in the dated tests.
const WRITTEN: &str = "Tue, 01 Dec 2026 07:00:00 GMT";

/// The extended attribute `name` of the file at `path`, if it has one.
fn attribute(path: &std::path::Path, name: &std::ffi::CStr) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let mut buf = [0u8; 256];
    // SAFETY: both names are NUL-terminated and outlive the call; `buf` is writable for its
    // length, which the kernel does not exceed.
    let n = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    (n >= 0).then(|| String::from_utf8_lossy(&buf[..n as usize]).into_owned())
}

/// A first run cut short after 40 000 bytes of `old` (ETag `"v1"`): it leaves a `.part`, and on
/// it, not in a file beside it, the validator, with the length the file will have: the record it
/// will carry once complete (`--retry 0`: a retry would resume it at once).
fn interrupted_run(server: &TestServer, old: &[u8], dir: &std::path::Path) {
    server.set("/v.bin", version(old, "\"v1\"", true, Some(40_000)));
    let (code, out) = run(server, "/v.bin", dir, &["--retry", "0"]);
    assert_eq!(code, 1, "{out}");
    let part = std::fs::metadata(dir.join("v.bin.part")).expect(&out);
    assert_eq!(part.len(), 40_000, "{out}");
    assert_eq!(
        attribute(&dir.join("v.bin.part"), c"user.glass.complete"),
        Some(format!("{}\netag \"v1\"\n", old.len()))
    );
    let names: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn an_older_runs_sidecar_still_ties_its_part() {
    // An older demo kept the validator in a file beside the .part; such a .part still resumes.
    let body = pattern(100_000, 51);
    let server = TestServer::start(vec![]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("v.bin.part"), &body[..40_000]).unwrap();
    let sidecar = dir.path().join(".v.bin.part.validator");
    std::fs::write(&sidecar, "etag \"v1\"\n").unwrap();
    server.set("/v.bin", version(&body, "\"v1\"", true, None));
    let (code, out) = run(&server, "/v.bin", dir.path(), &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("resumed at byte 40000"), "{out}");
    assert_eq!(server.seen()[0].if_range.as_deref(), Some("\"v1\""));
    assert!(std::fs::read(dir.path().join("v.bin")).unwrap() == body);
    assert!(!sidecar.exists(), "{out}");
}

#[test]
fn a_file_changed_on_the_server_is_downloaded_again_not_spliced() {
    let (old, new) = (pattern(100_000, 40), pattern(100_000, 41));
    let server = TestServer::start(vec![]);
    let dir = tempfile::tempdir().unwrap();
    interrupted_run(&server, &old, dir.path());
    server.set("/v.bin", version(&new, "\"v2\"", true, None));
    let (code, out) = run(&server, "/v.bin", dir.path(), &[]);
    assert_eq!(code, 0, "{out}");
    let saved = std::fs::read(dir.path().join("v.bin")).unwrap();
    assert!(
        saved == new,
        "the saved file is not the new version whole: {out}"
    );
    let seen = server.seen();
    let resume = seen.last().unwrap();
    assert_eq!(resume.range.as_deref(), Some("bytes=40000-"), "{seen:?}");
    assert_eq!(resume.if_range.as_deref(), Some("\"v1\""), "{seen:?}");
}

#[test]
fn a_206_of_another_version_is_not_appended() {
    // This server ignores If-Range, but says which version its 206 is of.
    let (old, new) = (pattern(100_000, 42), pattern(100_000, 43));
    let server = TestServer::start(vec![]);
    let dir = tempfile::tempdir().unwrap();
    interrupted_run(&server, &old, dir.path());
    server.set("/v.bin", version(&new, "\"v2\"", false, None));
    let (code, out) = run(&server, "/v.bin", dir.path(), &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        std::fs::read(dir.path().join("v.bin")).unwrap() == new,
        "{out}"
    );
    // The 206 was refused and the whole file asked for.
    let seen = server.seen();
    assert_eq!(seen.last().unwrap().range, None, "{seen:?}");
}

#[test]
fn the_same_version_is_resumed_with_if_range() {
    let body = pattern(100_000, 44);
    let server = TestServer::start(vec![]);
    let dir = tempfile::tempdir().unwrap();
    for design in [None, Some("--threads")] {
        interrupted_run(&server, &body, dir.path());
        server.set("/v.bin", version(&body, "\"v1\"", true, None));
        let (code, out) = run(&server, "/v.bin", dir.path(), &Vec::from_iter(design));
        assert_eq!(code, 0, "{design:?}: {out}");
        assert!(out.contains("resumed at byte 40000"), "{design:?}: {out}");
        assert!(std::fs::read(dir.path().join("v.bin")).unwrap() == body);
        let seen = server.seen();
        assert_eq!(seen.last().unwrap().if_range.as_deref(), Some("\"v1\""));
        // The finished file keeps the .part's one attribute, its record now; nothing else.
        let file = dir.path().join("v.bin");
        let record = attribute(&file, c"user.glass.complete");
        assert_eq!(record.as_deref(), Some("100000\netag \"v1\"\n"));
        assert_eq!(attribute(&file, c"user.glass.validator"), None);
        std::fs::remove_file(dir.path().join("v.bin")).unwrap();
        // Nothing is left beside the file once it is complete.
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{design:?}: {left:?}");
    }
}

#[test]
fn a_part_with_no_validator_is_resumed_only_with_continue() {
    let body = pattern(200_000, 45);
    let server = TestServer::start(vec![("/n.bin", Reply::file(&body))]);
    let dir = tempfile::tempdir().unwrap();
    // A .part from somewhere else (another tool, an older demo): nothing ties it to a version.
    std::fs::write(dir.path().join("n.bin.part"), &body[..50_000]).unwrap();
    let (code, out) = run(&server, "/n.bin", dir.path(), &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(server.seen()[0].range, None, "{out}");
    assert!(
        out.contains("--continue"),
        "the output says how to resume anyway: {out}"
    );
    assert!(std::fs::read(dir.path().join("n.bin")).unwrap() == body);
    std::fs::remove_file(dir.path().join("n.bin")).unwrap();
    std::fs::write(dir.path().join("n.bin.part"), &body[..50_000]).unwrap();
    let (code, out) = run(&server, "/n.bin", dir.path(), &["--continue"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(server.seen()[1].range.as_deref(), Some("bytes=50000-"));
    assert!(out.contains("resumed at byte 50000"), "{out}");
    assert!(std::fs::read(dir.path().join("n.bin")).unwrap() == body);
}

#[test]
fn a_weak_etag_or_a_date_within_its_second_never_ties_a_part_to_its_version() {
    // Both versions were written within one second, so they carry the same Last-Modified: as
    // `If-Range`, it would let the server splice the new version's rest onto the old prefix.
    // A date may stand for a version only without an ETag, and a second before the Date.
    let (old, new) = (pattern(100_000, 46), pattern(100_000, 47));
    let cases = [
        (
            [
                Some("W/\"1\""),
                Some(WRITTEN),
                Some("Tue, 01 Dec 2026 08:00:00 GMT"),
            ],
            "W/\"2\"",
        ),
        ([None, Some(WRITTEN), Some(WRITTEN)], ""),
    ];
    for ([etag, modified, date], new_etag) in cases {
        let server = TestServer::start(vec![]);
        let dir = tempfile::tempdir().unwrap();
        server.set("/v.bin", dated(&old, [etag, modified, date], Some(40_000)));
        let (code, out) = run(&server, "/v.bin", dir.path(), &["--retry", "0"]);
        assert_eq!(code, 1, "{out}");
        let new_etag = etag.map(|_| new_etag);
        server.set("/v.bin", dated(&new, [new_etag, modified, date], None));
        let (code, out) = run(&server, "/v.bin", dir.path(), &[]);
        assert_eq!(code, 0, "{etag:?}: {out}");
        assert!(
            std::fs::read(dir.path().join("v.bin")).unwrap() == new,
            "{etag:?}: the saved file is not the new version whole: {out}"
        );
        let seen = server.seen();
        assert_eq!(seen.last().unwrap().if_range, None, "{etag:?}: {seen:?}");
    }
}

#[test]
fn a_date_a_second_before_the_response_ties_a_part_with_no_etag() {
    let body = pattern(100_000, 48);
    let server = TestServer::start(vec![]);
    let dir = tempfile::tempdir().unwrap();
    let headers = [None, Some(WRITTEN), Some("Tue, 01 Dec 2026 07:00:01 GMT")];
    server.set("/v.bin", dated(&body, headers, Some(40_000)));
    let (code, out) = run(&server, "/v.bin", dir.path(), &["--retry", "0"]);
    assert_eq!(code, 1, "{out}");
    server.set("/v.bin", dated(&body, headers, None));
    let (code, out) = run(&server, "/v.bin", dir.path(), &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("resumed at byte 40000"), "{out}");
    assert!(std::fs::read(dir.path().join("v.bin")).unwrap() == body);
    let seen = server.seen();
    assert_eq!(seen.last().unwrap().if_range.as_deref(), Some(WRITTEN));
}

#[test]
fn a_416_finishes_a_part_only_for_the_same_version() {
    // The server ignores If-Range; its file is now exactly as long as the .part. Its 416 says
    // "you have it all" of whichever version it has: only the .part's own may be committed.
    let old = pattern(100_000, 49);
    let new = pattern(40_000, 50);
    for (etag, expected) in [
        (Some("\"v1\""), &old[..40_000]),
        (Some("\"v2\""), &new),
        (None, &new),
    ] {
        let server = TestServer::start(vec![]);
        let dir = tempfile::tempdir().unwrap();
        interrupted_run(&server, &old, dir.path());
        let body = if etag == Some("\"v1\"") {
            &old[..40_000]
        } else {
            &new[..]
        };
        server.set(
            "/v.bin",
            Reply::Versioned {
                body: body.to_vec(),
                etag: etag.map(str::to_owned),
                last_modified: None,
                date: None,
                honours_if_range: false,
                cut: None,
            },
        );
        let (code, out) = run(&server, "/v.bin", dir.path(), &[]);
        assert_eq!(code, 0, "{etag:?}: {out}");
        assert!(
            std::fs::read(dir.path().join("v.bin")).unwrap() == expected,
            "{etag:?}: the saved file is not the server's version: {out}"
        );
        let ranges: Vec<_> = server.seen().into_iter().map(|s| s.range).collect();
        let resume = Some("bytes=40000-".to_owned());
        match etag {
            Some("\"v1\"") => assert_eq!(ranges[1..], [resume], "{etag:?}"),
            _ => assert_eq!(ranges[1..], [resume, None], "{etag:?}"),
        }
    }
}
