//! Where a body ends is decided by the same rules in both designs: `--threads`'s small blocking
//! client refuses exactly what `http_client` refuses, so neither saves framing bytes as data or
//! a cut body as complete.

mod common;

use common::{Reply, TestServer, demo, text};

/// How one design fared with a response.
struct Run {
    /// `None` for glass, `Some("--threads")`.
    design: Option<&'static str>,
    /// The demo's exit status.
    code: i32,
    /// The saved file, if one was.
    saved: Option<Vec<u8>>,
    /// stdout and stderr, for the failure message.
    out: String,
}

/// Downloads `/r`, answered with `raw`, once per design.
fn both_designs(raw: &[u8]) -> Vec<Run> {
    let server = TestServer::start(vec![("/r", Reply::Raw(raw.to_vec()))]);
    let url = server.url("/r");
    [None, Some("--threads")]
        .into_iter()
        .map(|design| {
            let dir = tempfile::tempdir().unwrap();
            let mut args = vec![url.as_str()];
            args.extend(design);
            let output = demo(&args, dir.path());
            let (stdout, stderr) = text(&output);
            Run {
                design,
                code: output.status.code().unwrap_or(-1),
                saved: std::fs::read(dir.path().join("r")).ok(),
                out: format!("{stdout}\n{stderr}"),
            }
        })
        .collect()
}

/// Both designs, answered with `raw`, exit with `expected_code` and save `expected_saved`
/// (`None`: no file).
fn assert_both_designs(raw: &[u8], expected_code: i32, expected_saved: Option<&[u8]>) {
    for Run {
        design,
        code,
        saved,
        out,
    } in both_designs(raw)
    {
        assert_eq!(code, expected_code, "{design:?}: {out}");
        assert_eq!(saved.as_deref(), expected_saved, "{design:?}: {out}");
    }
}

fn assert_saved(raw: &[u8], expected: &[u8]) {
    assert_both_designs(raw, 0, Some(expected));
}

fn assert_refused(raw: &[u8]) {
    assert_both_designs(raw, 1, None);
}

#[test]
fn transfer_coding_names_are_case_insensitive() {
    assert_saved(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n\
          5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        b"hello world",
    );
}

#[test]
fn an_empty_chunk_size_line_is_refused_not_read_as_the_last_chunk() {
    assert_refused(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
          5\r\nhello\r\n\r\n\r\n6\r\n world\r\n0\r\n\r\n",
    );
}

#[test]
fn conflicting_content_lengths_are_refused() {
    assert_refused(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 11\r\nConnection: close\r\n\r\n\
          hello world",
    );
    assert_refused(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5, 11\r\nConnection: close\r\n\r\nhello world",
    );
}

#[test]
fn interim_1xx_responses_are_skipped() {
    assert_saved(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n\
          HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        b"hello",
    );
}

#[test]
fn transfer_encoding_in_http_1_0_is_refused() {
    assert_refused(b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
}
