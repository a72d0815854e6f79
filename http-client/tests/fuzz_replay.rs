//! The `proto` fuzz target's corpus and every crash it ever found, replayed as an ordinary test,
//! so that `cargo test` (and CI, which has no fuzzer) checks what the fuzzer checked: no panic, no
//! endless loop, the same outcome however the bytes are split across reads. The check itself is
//! `fuzz/proto_check.rs`, shared with the fuzz target; `fuzz/README.md` says how to fuzz.
//!
//! Each input is checked with the fuzzer's own splits, then again read in small pieces of several
//! sizes (one byte at a time for the small inputs), which covers many more ways to split it than
//! one fuzzer run tried.

mod support;

use std::path::{Path, PathBuf};

use http::Method;
use support::{chunked_body, pattern, with_length};

#[path = "../../fuzz/proto_check.rs"]
mod proto_check;

use proto_check::{Case, Pad, check, check_pieces, encode};

/// The folders replayed: the corpus (seeds and what the fuzzer kept) and the crashes.
fn input_dirs() -> [PathBuf; 2] {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    [fuzz.join("corpus/proto"), fuzz.join("regressions")]
}

/// Checks one input: with the fuzzer's splits, then in pieces of each size that keeps the run
/// short (a head re-parsed once per piece costs its length each time).
fn check_thoroughly(data: &[u8]) {
    check(data);
    let case = Case::from_bytes(data);
    for size in [1, 2, 3, 7, 100, 4096] {
        if case.response.len() / size > 8192 {
            continue;
        }
        let pieces: Vec<&[u8]> = case.response.chunks(size).collect();
        check_pieces(&case, &pieces);
    }
}

#[test]
fn every_corpus_input_and_every_crash_found_keeps_the_properties() {
    let mut checked = 0;
    let mut failed = Vec::new();
    for dir in input_dirs() {
        // `regressions/` exists only once the fuzzer has found something.
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            if std::panic::catch_unwind(|| check_thoroughly(&data)).is_err() {
                failed.push(path.display().to_string());
            }
            checked += 1;
        }
    }
    assert!(failed.is_empty(), "properties broken by {failed:#?}");
    // The seeds alone are this many, so a corpus that went missing cannot pass unseen.
    assert!(checked >= seeds().len(), "only {checked} inputs found");
}

/// The seed corpus: the responses of the hostile-server and framing tests
/// (`http-client/tests/hostile.rs`, `framing.rs`, `demo/tests/framing.rs`), plus a few that sit
/// at the limits, each with a name for its file and three splits for the fuzzer to move.
fn seeds() -> Vec<(String, Vec<u8>)> {
    const TE: &str = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    const SPLITS: &[u16] = &[0x4000, 0x8000, 0xc000];
    let chunked = |body: &[u8]| [TE.as_bytes(), body].concat();
    let raw: Vec<(&str, Vec<u8>)> = vec![
        ("garbage-status-line", b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec()),
        ("status-with-letters", b"HTTP/1.1 2OO OK\r\n\r\n".to_vec()),
        ("conflicting-lengths", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!".to_vec()),
        ("conflicting-length-list", b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!".to_vec()),
        ("oversized-chunk-size", chunked(b"fffffffffffffffffff\r\nx")),
        ("bad-chunk-terminator", chunked(b"5\r\nhello!\r\n0\r\n\r\n")),
        ("unknown-coding", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n".to_vec()),
        ("length-cut-short", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this".to_vec()),
        ("chunk-cut-mid-chunk", chunked(b"4\r\nabcd\r\n10\r\nab")),
        ("chunk-cut-between", chunked(b"4\r\nabcd\r\n")),
        ("closed-mid-head", b"HTTP/1.1 200 OK\r\nContent-Le".to_vec()),
        ("no-response", Vec::new()),
        ("length-body", with_length("200 OK", "", &pattern(300))),
        ("chunked-extensions-trailers", chunked(&chunked_body(&[b"hello", b", ", b"world"]))),
        ("close-delimited", b"HTTP/1.1 200 OK\r\n\r\nuntil the end".to_vec()),
        ("http-1-0-until-close", b"HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nold school".to_vec()),
        ("no-content", b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello".to_vec()),
        ("not-modified", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\nETag: \"x\"\r\n\r\n".to_vec()),
        ("early-hints", [&b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n"[..], &with_length("200 OK", "", b"final")].concat()),
        ("continue-and-early-hints", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello".to_vec()),
        ("switching-protocols", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nnot http".to_vec()),
        ("partial-content", with_length("206 Partial Content", "Content-Range: bytes 10-19/100\r\n", &pattern(10))),
        ("coding-name-case", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n".to_vec()),
        ("empty-chunk-size-line", chunked(b"5\r\nhello\r\n\r\n\r\n6\r\n world\r\n0\r\n\r\n")),
        ("coding-in-http-1-0", b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n".to_vec()),
        ("bare-lf-in-size-line", chunked(b"5;a\nb\r\nhello\r\n0\r\n\r\n")),
        ("trailer-without-colon", chunked(b"0\r\nno colon\r\n\r\n")),
        ("keep-alive-next-response", [with_length("200 OK", "", b"one"), with_length("200 OK", "", b"two")].concat()),
        ("chunked-then-next-response", [chunked(&chunked_body(&[b"one"])), with_length("200 OK", "", b"two")].concat()),
        ("too-many-fields", {
            let fields: String = (0..101).map(|i| format!("X-{i}: {i}\r\n")).collect();
            format!("HTTP/1.1 200 OK\r\n{fields}Content-Length: 0\r\n\r\n").into_bytes()
        }),
    ];
    let mut seeds: Vec<(String, Vec<u8>)> = raw
        .into_iter()
        .map(|(name, response)| {
            (
                name.to_owned(),
                encode(&Method::GET, &response, None, SPLITS),
            )
        })
        .collect();
    for value in ["abc", "-5", "+5", "5 5", "0x10", "", "99999999999999999999"] {
        let response = format!("HTTP/1.1 200 OK\r\nContent-Length: {value}\r\n\r\nhello");
        let name = format!("invalid-length-{}", seeds.len());
        seeds.push((
            name,
            encode(&Method::GET, response.as_bytes(), None, SPLITS),
        ));
    }
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
    seeds.push((
        "head-with-length".into(),
        encode(&Method::HEAD, head, None, SPLITS),
    ));
    // At the limits, with padding (`a` repeated) where the dots are: 70,000 bytes of header value
    // (over 64 KiB), the same with a byte no header may hold after them, a 5,000-byte chunk
    // extension (over 4 KiB), a 70,000-byte trailer.
    let padded = [
        (
            "huge-header",
            "HTTP/1.1 200 OK\r\nX-Huge: ...\r\n\r\n",
            70_000,
        ),
        (
            "huge-header-then-bad-byte",
            "HTTP/1.1 200 OK\r\nX-Huge: ...\x01\r\n\r\n",
            70_000,
        ),
        (
            "long-chunk-extension",
            &*format!("{TE}5;...\r\nhello\r\n0\r\n\r\n"),
            5_000,
        ),
        (
            "long-trailer",
            &*format!("{TE}0\r\nX-T: ...\r\n\r\n"),
            70_000,
        ),
    ];
    for (name, response, len) in padded {
        let at = response.find("...").unwrap();
        let response = response.replace("...", "");
        let pad = Pad {
            byte: b'a',
            len,
            at,
        };
        seeds.push((
            name.into(),
            encode(&Method::GET, response.as_bytes(), Some(pad), SPLITS),
        ));
    }
    seeds
}

/// The seed files are the seeds above: a changed list fails here until the files are rewritten,
/// with `cargo test -p http-client --test fuzz_replay -- --ignored`.
#[test]
fn the_seed_files_match_the_seed_list() {
    let corpus = &input_dirs()[0];
    for (name, data) in seeds() {
        let path = corpus.join(format!("seed-{name}"));
        let file = std::fs::read(&path);
        assert!(
            file.as_deref().ok() == Some(&data[..]),
            "{} is stale",
            path.display()
        );
    }
}

#[test]
#[ignore = "writes the seed files into fuzz/corpus/proto"]
fn write_the_seed_files() {
    let corpus = &input_dirs()[0];
    std::fs::create_dir_all(corpus).unwrap();
    for (name, data) in seeds() {
        std::fs::write(corpus.join(format!("seed-{name}")), data).unwrap();
    }
}
