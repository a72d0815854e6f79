//! Sizes a server announces are numbers from a stranger: adding them up must not overflow.

mod common;

use common::{Reply, TestServer, demo, pattern, text};

#[test]
fn a_huge_content_length_fails_its_download_and_the_others_finish() {
    // 18446744073709551000 fits a u64, so the client accepts it; added to any other size it
    // would not. The server sends a few bytes and closes: a truncated body.
    let huge =
        b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551000\r\nConnection: close\r\n\r\n\
                 only a few bytes"
            .to_vec();
    let body = pattern(300_000, 21);
    let server = TestServer::start(vec![
        ("/huge.bin", Reply::Raw(huge)),
        ("/fine.bin", Reply::file(&body)),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let (huge_url, fine_url) = (server.url("/huge.bin"), server.url("/fine.bin"));
    for design in [None, Some("--threads")] {
        let mut args = vec![huge_url.as_str(), fine_url.as_str()];
        args.extend(design);
        let output = demo(&args, dir.path());
        let (stdout, stderr) = text(&output);
        let out = format!("{design:?}\n{stdout}\n{stderr}");
        assert_eq!(output.status.code(), Some(1), "{out}");
        assert!(!stderr.contains("panicked"), "{out}");
        assert!(stderr.contains(&format!("FAILED {huge_url}")), "{out}");
        assert!(!stderr.contains(&format!("FAILED {fine_url}")), "{out}");
        assert!(
            std::fs::read(dir.path().join("fine.bin")).unwrap() == body,
            "{out}"
        );
        assert!(!dir.path().join("huge.bin").exists(), "{out}");
        std::fs::remove_file(dir.path().join("fine.bin")).unwrap();
    }
}
