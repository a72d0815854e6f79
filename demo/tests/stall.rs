//! A server that stops sending mid-body.

mod common;

use common::{Reply, TestServer, demo, pattern, text};

#[test]
fn a_stalled_body_leaves_the_part_file_and_names_the_timeout() {
    let body = pattern(100_000, 14);
    let server = TestServer::start(vec![("/slow.bin", Reply::Stall { body, sent: 40_000 })]);
    let url = server.url("/slow.bin");
    for design in [None, Some("--threads")] {
        // A folder of its own: the first design's .part must not pass for the second's.
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec![url.as_str(), "--read-timeout-ms", "300"];
        args.extend(design);
        let output = demo(&args, dir.path());
        let (stdout, stderr) = text(&output);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{design:?}\n{stdout}\n{stderr}"
        );
        assert!(stderr.contains(&format!("FAILED {url}")), "{stderr}");
        assert!(stderr.contains("read timeout"), "{design:?}: {stderr}");
        assert!(!dir.path().join("slow.bin").exists());
        let part = std::fs::metadata(dir.path().join("slow.bin.part")).unwrap();
        assert_eq!(part.len(), 40_000, "{design:?}");
    }
}
