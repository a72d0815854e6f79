//! `demo ... | head -1`: once nobody reads stdout, the output is lost but the downloads are not.

mod common;

use common::{Reply, TestServer, demo_with_stdout_closed, pattern};

#[test]
fn a_closed_stdout_loses_the_output_not_the_downloads() {
    let body = pattern(50_000, 31);
    let server = TestServer::start(vec![("/piped.bin", Reply::file(&body))]);
    for design in [None, Some("--threads")] {
        // A folder of its own: the first design's file must not pass for the second's.
        let dir = tempfile::tempdir().unwrap();
        let url = server.url("/piped.bin");
        let mut args = vec![url.as_str()];
        args.extend(design);
        let output = demo_with_stdout_closed(&args, dir.path());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{design:?}: {stderr}");
        assert_eq!(output.status.code(), Some(0), "{design:?}: {stderr}");
        assert_eq!(std::fs::read(dir.path().join("piped.bin")).unwrap(), body);
    }
}
