//! The properties the `proto` fuzz target checks, in one function, [`check`], that two programs
//! share: the fuzz target (`fuzz/fuzz_targets/proto.rs`) and the ordinary test that replays the
//! corpus and every crash ever found (`http-client/tests/fuzz_replay.rs`), so CI checks exactly
//! what the fuzzer checked. Both include this file with `#[path]`; it uses only `http_client`'s
//! public API (`proto`), `bytes` and `http`.
//!
//! The properties, for any bytes a server may send as a response:
//! 1. **No panic.** [`take_head`] and [`Decoder`] return a typed error for bad input.
//! 2. **No endless loop.** Every `decode` that returns data returns at least one byte; every one
//!    that returns nothing leaves the reader to read more (or finds the body done); so a reader
//!    that loops as the `proto` docs show ends within a number of steps bounded by the input's
//!    length. The run counts its steps and fails past that bound. (A loop *inside* one call would
//!    not return at all: the fuzzer's `-timeout` catches that, and so does the replay test's
//!    deadline.)
//! 3. **The same outcome however the bytes are split across reads**: the response read in one
//!    piece and read in the pieces the fuzzer chose end the same way: the same head, the same
//!    error or the same body and the same bytes left after it. Only the body data handed out
//!    *before an error* may differ, since a `decode` that finds bad framing right after some
//!    data refuses the lot; one of the two must then be a prefix of the other (no byte differs).
//! 4. **No lost or invented data**: a `Truncated` error counts exactly the bytes handed out; a
//!    body framed by `Content-Length` is as long as it said; a body framed by the connection's end
//!    is every byte after the head.
//!
//! # The input format
//!
//! The fuzzer's bytes are read as a small header, then the response. Any bytes are a valid
//! input (missing header bytes read as 0), so the fuzzer never wastes a run on a rejected one.
//!
//! | bytes       | meaning                                                                   |
//! |-------------|---------------------------------------------------------------------------|
//! | 0           | bit 0 set: the request was `HEAD` (else `GET`)                            |
//! | 1           | a padding byte value                                                      |
//! | 2..4        | padding length / 2, `u16` little-endian                                   |
//! | 4..6        | where the padding goes: a fraction of the response, `u16` LE (65535 = end)|
//! | 6           | the number of splits, modulo 16                                           |
//! | 7..7+2×n    | each split: where a read ends, a fraction of the padded response, `u16` LE|
//! | the rest    | the response, as a server sends it                                        |
//!
//! The padding lets a small input reach the limits (64 KiB heads and trailers, 4 KiB chunk-size
//! lines): one header line of 70,000 `a`s is a 30-byte input. Fractions rather than offsets keep
//! a split meaningful when the fuzzer lengthens or shortens the response.

use std::collections::VecDeque;

use bytes::BytesMut;
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, Method, StatusCode, Version};
use http_client::proto::{Decoder, ProtocolError, take_head};

/// One input: a request method, a response, and where its reads end.
#[derive(Debug)]
pub struct Case {
    /// `GET` or `HEAD`: a `HEAD` response has no body whatever its head says.
    pub method: Method,
    /// The bytes the server sends, padding included.
    pub response: Vec<u8>,
    /// The offsets into `response` where one read ends and the next begins: sorted, each
    /// strictly inside the response (so no piece is empty: an empty read means the end).
    pub splits: Vec<usize>,
}

impl Case {
    /// Reads a case from the fuzzer's bytes, in the format the module docs give.
    pub fn from_bytes(data: &[u8]) -> Case {
        let mut rest = data;
        let mut byte = || match rest.split_first() {
            Some((&b, tail)) => {
                rest = tail;
                b
            }
            None => 0,
        };
        let method = if byte() & 1 == 1 {
            Method::HEAD
        } else {
            Method::GET
        };
        let pad_byte = byte();
        let pad_len = usize::from(u16::from_le_bytes([byte(), byte()])) * 2;
        let pad_at = u16::from_le_bytes([byte(), byte()]);
        let split_count = byte() % 16;
        let fractions: Vec<u16> = (0..split_count)
            .map(|_| u16::from_le_bytes([byte(), byte()]))
            .collect();

        let mut response = rest.to_vec();
        let at = fraction_of(pad_at, response.len());
        response.splice(at..at, std::iter::repeat_n(pad_byte, pad_len));
        let mut splits: Vec<usize> = fractions
            .into_iter()
            .map(|f| fraction_of(f, response.len()))
            .filter(|&at| at > 0 && at < response.len())
            .collect();
        splits.sort_unstable();
        splits.dedup();
        Case {
            method,
            response,
            splits,
        }
    }

    /// The response cut at `splits`: the pieces the reader receives one read at a time.
    pub fn pieces(&self) -> Vec<&[u8]> {
        let mut pieces = Vec::with_capacity(self.splits.len() + 1);
        let mut start = 0;
        for &end in self.splits.iter().chain([&self.response.len()]) {
            pieces.push(&self.response[start..end]);
            start = end;
        }
        pieces
    }
}

/// `len` copies of `byte` inserted `at` bytes into a response: what [`encode`] asks for.
#[derive(Debug, Clone, Copy)]
pub struct Pad {
    /// The byte repeated.
    pub byte: u8,
    /// How many copies: even, at most 131,070 (the format stores half of it in a `u16`).
    pub len: usize,
    /// Where they go, as an offset into the response without them.
    pub at: usize,
}

/// The fuzzer's bytes for `response`, padded with `pad` and read in pieces cut at `splits`
/// (fractions of the padded response): the inverse of [`Case::from_bytes`], for writing seeds.
pub fn encode(method: &Method, response: &[u8], pad: Option<Pad>, splits: &[u16]) -> Vec<u8> {
    let pad = pad.unwrap_or(Pad {
        byte: 0,
        len: 0,
        at: 0,
    });
    assert!(
        pad.len.is_multiple_of(2)
            && pad.len / 2 <= usize::from(u16::MAX)
            && pad.at <= response.len()
    );
    assert!(splits.len() < 16, "at most 15 splits");
    // The smallest fraction that `fraction_of` maps back to `pad.at`.
    let at = match response.len() {
        0 => 0,
        len => (pad.at * usize::from(u16::MAX)).div_ceil(len),
    };
    let mut out = vec![u8::from(*method == Method::HEAD), pad.byte];
    out.extend(((pad.len / 2) as u16).to_le_bytes());
    out.extend((at as u16).to_le_bytes());
    out.push(splits.len() as u8);
    out.extend(splits.iter().flat_map(|split| split.to_le_bytes()));
    out.extend_from_slice(response);
    out
}

/// `fraction / 65535` of `len`, rounded down: 0 is the start, 65535 the end.
fn fraction_of(fraction: u16, len: usize) -> usize {
    len * usize::from(fraction) / usize::from(u16::MAX)
}

/// Checks every property on the case read from `data`: the response in one read against the
/// response in the fuzzer's pieces. Panics, saying which property broke, if one does.
pub fn check(data: &[u8]) {
    let case = Case::from_bytes(data);
    let pieces = case.pieces();
    check_pieces(&case, &pieces);
}

/// Checks the properties for `case` read in `pieces` against `case` read in one piece.
pub fn check_pieces(case: &Case, pieces: &[&[u8]]) {
    let whole = read_response(&case.method, &[&case.response]);
    let split = read_response(&case.method, pieces);
    assert_eq!(
        whole.end,
        split.end,
        "the outcome depends on how the bytes were split: one read vs {} reads",
        pieces.len()
    );
    let (short, long) = match whole.body.len() <= split.body.len() {
        true => (&whole.body, &split.body),
        false => (&split.body, &whole.body),
    };
    match whole.end {
        End::Head { body: Ok(_), .. } => assert_eq!(whole.body, split.body, "bodies differ"),
        // Before an error, only how much data came out may differ, not what it was.
        _ => assert!(
            long.starts_with(short),
            "body data differs before the error"
        ),
    }
}

/// What a reader made of a response.
#[derive(Debug)]
struct Read {
    /// How it ended.
    end: End,
    /// The body data handed out, in order, including any that came out before an error.
    body: Vec<u8>,
}

/// How reading a response ended: what must not depend on how the bytes were split.
#[derive(Debug, PartialEq)]
enum End {
    /// The connection closed before any byte of a response.
    NoResponse,
    /// The connection closed in the middle of a head.
    ClosedInHead,
    /// [`take_head`] refused the head.
    BadHead(ProtocolError),
    /// A final head came, with this status, version and fields; then the body ended well with
    /// these bytes after it (the next response's), or failed with this error.
    Head {
        status: StatusCode,
        version: Version,
        headers: HeaderMap,
        body: Result<Vec<u8>, ProtocolError>,
    },
}

/// The bytes a server sent, delivered one piece per read, and a count of the reader's steps.
struct Socket<'a> {
    /// The pieces not read yet.
    unread: VecDeque<&'a [u8]>,
    /// The reader's buffer: what was read and not yet taken.
    buf: BytesMut,
    /// How many bytes have been read into `buf` so far, all reads together.
    read_total: usize,
    /// Calls into `proto` left before the reader is deemed stuck (property 2).
    steps_left: usize,
}

impl<'a> Socket<'a> {
    fn new(pieces: &[&'a [u8]]) -> Socket<'a> {
        let len: usize = pieces.iter().map(|piece| piece.len()).sum();
        Socket {
            unread: pieces.iter().copied().filter(|p| !p.is_empty()).collect(),
            buf: BytesMut::new(),
            read_total: 0,
            // Each call either takes at least one byte, or is followed by a read, or ends the
            // response; a few more for the calls that find the body done.
            steps_left: len + pieces.len() + 4,
        }
    }

    /// Reads the next piece onto the end of the buffer; `false` at the end of the connection.
    fn read(&mut self) -> bool {
        match self.unread.pop_front() {
            Some(piece) => {
                self.buf.extend_from_slice(piece);
                self.read_total += piece.len();
                true
            }
            None => false,
        }
    }

    /// Counts one call into `proto`.
    fn step(&mut self) {
        self.steps_left = self
            .steps_left
            .checked_sub(1)
            .expect("no progress: more calls than the input has bytes and reads");
    }

    /// What is left once the body is done: the bytes of whatever follows the response.
    fn rest(mut self) -> Vec<u8> {
        while self.read() {}
        self.buf.to_vec()
    }
}

/// Reads one response from `pieces` as the `proto` docs show a caller doing it, checking the
/// per-read properties (2 and 4) on the way.
fn read_response(method: &Method, pieces: &[&[u8]]) -> Read {
    let mut socket = Socket::new(pieces);
    let mut interim_bytes = 0;
    let head = loop {
        socket.step();
        match take_head(&mut socket.buf, &mut interim_bytes) {
            Ok(Some(head)) => break head,
            Ok(None) => {}
            Err(error) => return no_body(End::BadHead(error)),
        }
        if !socket.read() {
            return no_body(match socket.buf.is_empty() && interim_bytes == 0 {
                true => End::NoResponse,
                false => End::ClosedInHead,
            });
        }
    };
    let all = pieces.concat();
    let after_head = &all[socket.read_total - socket.buf.len()..];

    let mut body = Vec::new();
    let result = read_body(method, &head, &mut socket, &mut body);
    let result = result.map(|()| socket.rest());
    check_body(method, &head, &result, &body, after_head);
    Read {
        end: End::Head {
            status: head.status,
            version: head.version,
            headers: head.headers,
            body: result,
        },
        body,
    }
}

fn no_body(end: End) -> Read {
    Read {
        end,
        body: Vec::new(),
    }
}

/// Reads the body of a response with `head` into `body`, until it is done or fails.
fn read_body(
    method: &Method,
    head: &http_client::proto::Head,
    socket: &mut Socket<'_>,
    body: &mut Vec<u8>,
) -> Result<(), ProtocolError> {
    let mut decoder = Decoder::for_response(method, head)?;
    while !decoder.is_done() {
        socket.step();
        match decoder.decode(&mut socket.buf)? {
            Some(data) => {
                assert!(!data.is_empty(), "decode handed out empty data");
                body.extend_from_slice(&data);
            }
            None if !socket.read() => decoder.at_eof()?,
            None => {}
        }
    }
    Ok(())
}

/// Property 4 on one reading: the body neither lost nor invented a byte where that can be told
/// without decoding it a second way.
fn check_body(
    method: &Method,
    head: &http_client::proto::Head,
    result: &Result<Vec<u8>, ProtocolError>,
    body: &[u8],
    after_head: &[u8],
) {
    if let Err(ProtocolError::Truncated { received, .. }) = result {
        assert_eq!(*received, body.len() as u64, "Truncated miscounts the body");
    }
    let Ok(rest) = result else { return };
    let has_body = method != Method::HEAD
        && !head.status.is_informational()
        && head.status != StatusCode::NO_CONTENT
        && head.status != StatusCode::NOT_MODIFIED;
    if !has_body {
        assert!(body.is_empty(), "a response without a body handed out data");
        assert_eq!(rest, after_head, "a response without a body took bytes");
    } else if head.headers.contains_key(TRANSFER_ENCODING) {
        // Chunked: the data is checked against the one-read decoding by `check_pieces`.
        assert!(
            after_head.ends_with(rest),
            "the bytes after a chunked body changed"
        );
    } else if head.headers.contains_key(CONTENT_LENGTH) {
        let length = head
            .content_length()
            .expect("accepted without a valid length");
        let length = usize::try_from(length).expect("a body longer than the input");
        assert_eq!(body, &after_head[..length], "not the Content-Length bytes");
        assert_eq!(rest, &after_head[length..], "not the bytes after the body");
    } else {
        // Until the connection's end: everything after the head, whatever was read when.
        assert_eq!(
            body, after_head,
            "a close-delimited body is not all that followed"
        );
        assert!(rest.is_empty(), "bytes left after a close-delimited body");
    }
}
