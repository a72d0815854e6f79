//! `-i FILE`: URLs from a file (or standard input), some with the SHA-256 their file must have.

mod common;

use common::{Reply, TestServer, demo, demo_with_stdin, names_in, pattern, sha256_hex, text};

#[test]
fn a_good_checksum_passes_and_a_bad_one_never_gets_its_name() {
    let (a, b, c) = (
        pattern(200_000, 80),
        pattern(150_000, 81),
        pattern(5_000, 82),
    );
    let server = TestServer::start(vec![
        ("/a.bin", Reply::file(&a)),
        ("/b.bin", Reply::file(&b)),
        ("/c.bin", Reply::file(&c)),
    ]);
    let wrong = sha256_hex(b"not b");
    for design in [None, Some("--threads")] {
        let dir = tempfile::tempdir().unwrap();
        let list = format!(
            "# two files\n\n{}  sha256={}\n{}\tsha256={wrong}\n",
            server.url("/a.bin"),
            sha256_hex(&a).to_uppercase(),
            server.url("/b.bin"),
        );
        std::fs::write(dir.path().join("list.txt"), list).unwrap();
        let c_url = server.url("/c.bin");
        let mut args = vec![c_url.as_str(), "-i", "list.txt", "-o", "out"];
        args.extend(design);
        let output = demo(&args, dir.path());
        let (stdout, stderr) = text(&output);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{design:?}\n{stdout}\n{stderr}"
        );
        let out = dir.path().join("out");
        assert!(std::fs::read(out.join("a.bin")).unwrap() == a);
        assert!(std::fs::read(out.join("c.bin")).unwrap() == c);
        // Both hashes in the message; no b.bin, and nothing of it left to resume.
        assert!(stderr.contains(&wrong), "{design:?}: {stderr}");
        assert!(stderr.contains(&sha256_hex(&b)), "{design:?}: {stderr}");
        assert!(stderr.contains("SHA-256 mismatch"), "{design:?}: {stderr}");
        assert_eq!(names_in(&out), ["a.bin", "c.bin"], "{design:?}");
        assert!(
            stdout.contains("3 downloads: 2 complete, 1 failed"),
            "{stdout}"
        );
    }
}

#[test]
fn urls_come_from_standard_input_with_a_dash() {
    let a = pattern(30_000, 83);
    let server = TestServer::start(vec![("/a.bin", Reply::file(&a))]);
    let dir = tempfile::tempdir().unwrap();
    let list = format!("{} sha256={}\n", server.url("/a.bin"), sha256_hex(&a));
    let output = demo_with_stdin(&["-i", "-"], dir.path(), list.as_bytes());
    assert!(output.status.success(), "{:?}", text(&output));
    assert!(std::fs::read(dir.path().join("a.bin")).unwrap() == a);
    // A complete file is checked again on a rerun, and is still right.
    let output = demo_with_stdin(&["-i", "-"], dir.path(), list.as_bytes());
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("already complete"), "{stdout}");
    // Asked for another hash, the complete file fails the check but is not this run's to
    // remove: it is kept, and the message says how to fetch it again.
    let wrong = sha256_hex(b"something else");
    let list = format!("{} sha256={wrong}\n", server.url("/a.bin"));
    let output = demo_with_stdin(&["-i", "-"], dir.path(), list.as_bytes());
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&wrong) && stderr.contains(&sha256_hex(&a)),
        "{stderr}"
    );
    assert!(stderr.contains("it is kept (use --force"), "{stderr}");
    assert!(std::fs::read(dir.path().join("a.bin")).unwrap() == a);
}

#[test]
fn bad_lines_are_named_and_nothing_is_downloaded() {
    let server = TestServer::start(vec![("/a.bin", Reply::file(b"a"))]);
    let dir = tempfile::tempdir().unwrap();
    let list = format!(
        "{}\nnot a url\n{} sha256=abc\n",
        server.url("/a.bin"),
        server.url("/a.bin")
    );
    std::fs::write(dir.path().join("list"), list).unwrap();
    let output = demo(&["-i", "list"], dir.path());
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("2 bad lines"), "{stderr}");
    assert!(stderr.contains("line 2: `not` is not an http"), "{stderr}");
    assert!(
        stderr.contains("line 3: `abc` is not a SHA-256"),
        "{stderr}"
    );
    assert!(server.seen().is_empty());
    assert_eq!(names_in(dir.path()), ["list"]);

    let output = demo(&["-i", "missing"], dir.path());
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("missing: No such file"), "{stderr}");
}
