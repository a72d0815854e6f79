//! Fuzzes `http_client::proto` (`take_head` and `Decoder`): arbitrary bytes as a response, read
//! in one piece and in pieces the fuzzer chooses. The properties and the input format are in
//! `../proto_check.rs`, which `http-client/tests/fuzz_replay.rs` shares.
//!
//! Run with `fuzz/run.sh [MINUTES]`. The tool is cargo-fuzz (libFuzzer) on the nightly toolchain.
//! Why: it is coverage-guided, so it reaches the framing code's rare branches (a CR at the very end
//! of a read, a limit just passed) far sooner than the random generation of a proptest harness,
//! which the unit tests in `src/body.rs` and `src/head.rs` already are; and it runs here: nightly
//! is installed, and `RUSTC_BOOTSTRAP=1 cargo +stable fuzz build proto -s none` builds the same
//! target on stable 1.95 where nightly is missing (tried; cargo-afl was not needed).

#![no_main]

// `encode` and `Pad`, which write the seed files, are the replay test's business.
#[allow(dead_code)]
#[path = "../proto_check.rs"]
mod proto_check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| proto_check::check(data));
