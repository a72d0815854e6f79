//! Body framing: how a response's body ends (RFC 9112 section 6.3), and the [`Decoder`] that
//! takes body data out of a connection's buffer, chunk framing and all.
//!
//! The decoder does no I/O: it is handed the bytes read so far, takes what it can, and says
//! whether it needs more. That keeps the framing rules in one place, testable on plain bytes, and
//! lets the data reach the caller as slices of the read buffer, without copies.
//!
//! ```text
//!   HEAD, 1xx, 204, 304                                                   Done at once
//!   Transfer-Encoding: chunked  "5;ext=1\r\n" "hello" "\r\n"  …  "0\r\n" "Expires: x\r\n" "\r\n"
//!                                Size          Data    DataEnd    Size   Trailers   ──►  Done
//!   Content-Length: 5           "hello"       Length { remaining } ─────────────────►  Done
//!   neither                     bytes         UntilClose ── the server closes ──────►  Done
//! ```

use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, HeaderMap, TRANSFER_ENCODING};
use http::{Method, StatusCode, Version};

use crate::error::ProtocolError;
use crate::head::Head;

/// The longest chunk-size line accepted, CRLF included (the size, then extensions that are ignored
/// anyway).
const MAX_CHUNK_SIZE_LINE: usize = 4 * 1024;
/// The most trailer bytes accepted after the last chunk, the empty line that ends them included,
/// as for a head.
const MAX_TRAILERS: usize = 64 * 1024;

/// Takes a response's body out of the bytes read from its connection: made by
/// [`for_response`](Decoder::for_response) from the head, fed with [`decode`](Decoder::decode) as
/// bytes arrive, told of the connection's end with [`at_eof`](Decoder::at_eof).
#[derive(Debug)]
pub struct Decoder {
    /// Where the body is, and so what the next bytes mean.
    framing: Framing,
    /// Body bytes handed out so far: for the error when the body is cut short.
    received: u64,
}

/// How the end of the body is found, and how far along it the decoder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// `Content-Length`: this many bytes are still to come.
    Length { remaining: u64 },
    /// `Transfer-Encoding: chunked`, at this point of the chunk grammar.
    Chunked(Chunk),
    /// Neither: the body is everything until the server closes the connection.
    UntilClose,
    /// The whole body has been taken (or there never was one); what follows is not ours.
    Done,
}

/// Where a chunked decoder is in RFC 9112 section 7.1's grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Expecting a chunk-size line: hex digits, maybe `;extensions`, CRLF.
    Size,
    /// Inside a chunk's data, with this many bytes of it left.
    Data { remaining: u64 },
    /// After a chunk's data, expecting the CRLF that must end it.
    DataEnd,
    /// After the last (zero-size) chunk: trailer fields, up to an empty line. `seen` counts their
    /// bytes against [`MAX_TRAILERS`].
    Trailers { seen: usize },
}

impl Decoder {
    /// The decoder for a response to `method` with `head`, in RFC 9112 section 6.3's order: no
    /// body for HEAD, 1xx, 204 and 304; then `Transfer-Encoding` (only `chunked`, and not in
    /// HTTP/1.0); then `Content-Length` (every value a number, all the same); otherwise the body
    /// runs until the server closes. An error means the framing cannot be trusted, so no byte
    /// of the body can be either.
    pub fn for_response(method: &Method, head: &Head) -> Result<Decoder, ProtocolError> {
        let framing = if *method == Method::HEAD
            || head.status.is_informational()
            || head.status == StatusCode::NO_CONTENT
            || head.status == StatusCode::NOT_MODIFIED
        {
            // These have no body whatever their headers say (a HEAD's Content-Length is the
            // length a GET would have).
            Framing::Done
        } else if head.headers.contains_key(TRANSFER_ENCODING) {
            if head.version == Version::HTTP_10 {
                // RFC 9112 section 6.1: HTTP/1.0 has no transfer codings, so a message that
                // claims one has faulty framing.
                return Err(ProtocolError::malformed(
                    "Transfer-Encoding in an HTTP/1.0 response",
                ));
            }
            check_chunked_only(&head.headers)?;
            // Any Content-Length beside it is ignored, as section 6.3 says; `keep_alive` then
            // refuses to reuse the connection, since one of the two framings was a lie.
            Framing::Chunked(Chunk::Size)
        } else {
            match content_length(&head.headers)? {
                Some(0) => Framing::Done,
                Some(remaining) => Framing::Length { remaining },
                None => Framing::UntilClose,
            }
        };
        Ok(Decoder {
            framing,
            received: 0,
        })
    }

    /// Whether the whole body has been taken.
    pub fn is_done(&self) -> bool {
        self.framing == Framing::Done
    }

    /// Takes the next piece of body data from the front of `buf`. `Ok(None)` means there is none
    /// yet: either `buf` holds no data (read more and call again) or the body is done
    /// ([`Decoder::is_done`]). The data returned shares `buf`'s memory: nothing is copied.
    ///
    /// Framing bytes that follow the data and are already in `buf` (a chunk's CRLF, the last
    /// chunk, trailers) are consumed before returning, so that the body counts as done as soon as
    /// its last byte is handed out and the connection can go back to the pool.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, ProtocolError> {
        self.skip_framing(buf)?;
        let available = buf.len() as u64;
        let (data, framing) = match self.framing {
            Framing::Length { remaining } if available > 0 => {
                let n = remaining.min(available);
                let framing = match remaining - n {
                    0 => Framing::Done,
                    remaining => Framing::Length { remaining },
                };
                (buf.split_to(n as usize), framing)
            }
            Framing::Chunked(Chunk::Data { remaining }) if available > 0 => {
                let n = remaining.min(available);
                let framing = match remaining - n {
                    0 => Framing::Chunked(Chunk::DataEnd),
                    remaining => Framing::Chunked(Chunk::Data { remaining }),
                };
                (buf.split_to(n as usize), framing)
            }
            Framing::UntilClose if available > 0 => (buf.split(), Framing::UntilClose),
            _ => return Ok(None),
        };
        self.framing = framing;
        self.received += data.len() as u64;
        self.skip_framing(buf)?;
        Ok(Some(data.freeze()))
    }

    /// The connection has ended: fine for a body that runs until close (or is done), an error for
    /// any other ([`ProtocolError::Truncated`], saying how much arrived). Call it when a read
    /// returns 0 bytes and [`decode`](Decoder::decode) has nothing more to give.
    pub fn at_eof(&mut self) -> Result<(), ProtocolError> {
        let received = self.received;
        match self.framing {
            Framing::Done => Ok(()),
            Framing::UntilClose => {
                self.framing = Framing::Done;
                Ok(())
            }
            Framing::Length { remaining } => Err(ProtocolError::Truncated {
                expected: Some(received + remaining),
                received,
            }),
            Framing::Chunked(_) => Err(ProtocolError::Truncated {
                expected: None,
                received,
            }),
        }
    }

    /// Consumes chunk framing (size lines, CRLFs, trailers) from the front of `buf` until the
    /// decoder is inside chunk data, done, or out of bytes. Does nothing for other framings.
    fn skip_framing(&mut self, buf: &mut BytesMut) -> Result<(), ProtocolError> {
        while let Framing::Chunked(chunk) = self.framing {
            let next = match chunk {
                Chunk::Data { .. } => return Ok(()),
                Chunk::Size => match parse_chunk_size(buf)? {
                    None => return Ok(()),
                    Some((line, 0)) => {
                        buf.advance(line);
                        Framing::Chunked(Chunk::Trailers { seen: 0 })
                    }
                    Some((line, size)) => {
                        buf.advance(line);
                        Framing::Chunked(Chunk::Data { remaining: size })
                    }
                },
                Chunk::DataEnd => match buf.get(..2) {
                    Some(b"\r\n") => {
                        buf.advance(2);
                        Framing::Chunked(Chunk::Size)
                    }
                    // Checked even with one byte in hand, so a bad terminator is reported at once.
                    None if buf.first().is_none_or(|&b| b == b'\r') => return Ok(()),
                    _ => {
                        return Err(ProtocolError::malformed(
                            "chunk data not followed by CRLF (chunk longer than its size?)",
                        ));
                    }
                },
                Chunk::Trailers { seen } => {
                    // Only as far as the limit is looked at, so that which error a long line
                    // gets does not depend on how much of it has arrived.
                    let room = MAX_TRAILERS - seen;
                    let window = &buf[..buf.len().min(room)];
                    let Some(end) = window.iter().position(|&b| b == b'\n') else {
                        if window.len() == room {
                            return Err(ProtocolError::malformed("trailers over 64 KiB"));
                        }
                        return Ok(());
                    };
                    let line = &buf[..=end];
                    if !line.ends_with(b"\r\n") {
                        return Err(ProtocolError::malformed("trailer line not ended by CRLF"));
                    }
                    let next = if line == b"\r\n" {
                        Framing::Done
                    } else if !line.contains(&b':') {
                        return Err(ProtocolError::malformed(
                            "trailer line is not a field (no colon)",
                        ));
                    } else {
                        Framing::Chunked(Chunk::Trailers {
                            seen: seen + line.len(),
                        })
                    };
                    buf.advance(end + 1);
                    next
                }
            };
            self.framing = next;
        }
        Ok(())
    }
}

/// Parses a chunk-size line at the front of `buf`: `Some((line length, size))`, or `None` if the
/// line is not complete yet. `httparse` does the parsing, overflow check included; the checks it
/// leaves to its caller are here.
fn parse_chunk_size(buf: &[u8]) -> Result<Option<(usize, u64)>, ProtocolError> {
    // Only the first 4 KiB are parsed: a longer line is refused whether it has all arrived or
    // not (parsing all of `buf` would accept it when it came in one read).
    let window = &buf[..buf.len().min(MAX_CHUNK_SIZE_LINE)];
    let (line, size) = match httparse::parse_chunk_size(window) {
        Ok(httparse::Status::Complete(parsed)) => parsed,
        Ok(httparse::Status::Partial) if window.len() == MAX_CHUNK_SIZE_LINE => {
            return Err(ProtocolError::malformed("chunk-size line over 4 KiB"));
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::InvalidChunkSize) => {
            return Err(ProtocolError::malformed(
                "invalid chunk size (or over 64 bits)",
            ));
        }
    };
    // httparse reads an empty (or extension-only) line as size 0, and takes a bare LF as part of
    // an extension; RFC 9112 allows neither.
    let starts_with_digit = buf.first().is_some_and(u8::is_ascii_hexdigit);
    if !starts_with_digit || buf[..line - 2].contains(&b'\n') {
        return Err(ProtocolError::malformed("invalid chunk-size line"));
    }
    Ok(Some((line, size)))
}

/// Checks that `chunked` is the one and only transfer coding. glass never sends a `TE` header, so
/// a server may use no other (RFC 9112 section 6.1), and decoding gzip and the like is not this
/// client's business.
fn check_chunked_only(headers: &HeaderMap) -> Result<(), ProtocolError> {
    let mut codings = list_items(headers, TRANSFER_ENCODING);
    match (codings.next(), codings.next()) {
        (Some(coding), None) if coding.eq_ignore_ascii_case(b"chunked") => Ok(()),
        _ => Err(ProtocolError::malformed(
            "unsupported Transfer-Encoding (only `chunked` is)",
        )),
    }
}

/// The value of the `Content-Length` fields: `None` if there are none; an error if one is not a
/// number or two disagree (RFC 9112 section 6.3, points 5). Repeats of one value are accepted,
/// as the RFC allows.
pub(crate) fn content_length(headers: &HeaderMap) -> Result<Option<u64>, ProtocolError> {
    let mut length = None;
    for item in list_items(headers, CONTENT_LENGTH) {
        let value = std::str::from_utf8(item)
            .ok()
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| ProtocolError::malformed("invalid Content-Length"))?;
        if length.is_some_and(|length| length != value) {
            return Err(ProtocolError::malformed(
                "conflicting Content-Length values",
            ));
        }
        length = Some(value);
    }
    // A field with no number in it at all (`Content-Length: ,`) is as invalid as an empty one,
    // not absent: read as absent, the body would run until the connection's end.
    if length.is_none() && headers.contains_key(CONTENT_LENGTH) {
        return Err(ProtocolError::malformed("invalid Content-Length"));
    }
    Ok(length)
}

/// Whether the connection may serve another request once this response's body is read: HTTP/1.1
/// unless `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`; never when both
/// framings were sent (one of them lied, and the stream may not be where it seems), nor after a
/// 101, after which the connection no longer speaks HTTP.
pub(crate) fn keep_alive(head: &Head) -> bool {
    let has = |token: &[u8]| {
        list_items(&head.headers, CONNECTION).any(|item| item.eq_ignore_ascii_case(token))
    };
    let both_framings =
        head.headers.contains_key(TRANSFER_ENCODING) && head.headers.contains_key(CONTENT_LENGTH);
    let persistent = match head.version {
        Version::HTTP_11 => !has(b"close"),
        _ => has(b"keep-alive"),
    };
    persistent && !both_framings && head.status != StatusCode::SWITCHING_PROTOCOLS
}

/// The comma-separated items of every field called `name`, trimmed; empty items are skipped.
/// An empty `Content-Length` field still yields one empty item, so that it is caught as invalid.
fn list_items(headers: &HeaderMap, name: http::header::HeaderName) -> impl Iterator<Item = &[u8]> {
    headers.get_all(name).into_iter().flat_map(|value| {
        let bytes = value.as_bytes();
        let all_blank = bytes.iter().all(|b| *b == b' ' || *b == b'\t');
        bytes
            .split(|&b| b == b',')
            .map(|item| item.trim_ascii())
            .filter(move |item| all_blank || !item.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunked() -> Decoder {
        Decoder {
            framing: Framing::Chunked(Chunk::Size),
            received: 0,
        }
    }

    /// Feeds `input` to `decoder` in pieces of `piece` bytes; returns the body, or the error.
    fn decode_in_pieces(
        mut decoder: Decoder,
        input: &[u8],
        piece: usize,
    ) -> Result<Vec<u8>, ProtocolError> {
        let mut buf = BytesMut::new();
        let mut body = Vec::new();
        for piece in input.chunks(piece) {
            buf.extend_from_slice(piece);
            while let Some(data) = decoder.decode(&mut buf)? {
                body.extend_from_slice(&data);
            }
        }
        if !decoder.is_done() {
            decoder.at_eof()?;
        }
        Ok(body)
    }

    #[test]
    fn chunked_bodies_decode_with_extensions_and_trailers_in_any_pieces() {
        let input = b"5;name=value\r\nhello\r\n6 ; x\r\n world\r\n0\r\nExpires: never\r\n\r\n";
        for piece in 1..=input.len() {
            assert_eq!(
                decode_in_pieces(chunked(), input, piece).unwrap(),
                b"hello world"
            );
        }
    }

    #[test]
    fn the_body_is_done_when_its_last_byte_is_handed_out() {
        let mut decoder = chunked();
        let mut buf = BytesMut::from(&b"3\r\nabc\r\n0\r\n\r\n"[..]);
        assert_eq!(&decoder.decode(&mut buf).unwrap().unwrap()[..], b"abc");
        assert!(decoder.is_done());
        assert!(buf.is_empty());
    }

    #[test]
    fn bad_chunk_framing_is_refused() {
        let bad: &[&[u8]] = &[
            b"\r\n",                         // empty size line (httparse says 0)
            b";ext\r\n\r\n",                 // no size at all
            b"fffffffffffffffffff\r\n",      // over 64 bits
            b"5\r\nhelloXY0\r\n\r\n",        // data not followed by CRLF
            b"5;a\nb\r\nhello\r\n0\r\n\r\n", // bare LF inside the size line
            b"0\r\nno colon\r\n\r\n",        // a trailer that is not a field
            b"-1\r\n",
        ];
        for input in bad {
            let result = decode_in_pieces(chunked(), input, input.len());
            assert!(
                matches!(result, Err(ProtocolError::Malformed(_))),
                "{:?}: {result:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn a_body_cut_short_says_how_much_came() {
        let length = Decoder {
            framing: Framing::Length { remaining: 10 },
            received: 0,
        };
        assert_eq!(
            decode_in_pieces(length, b"abc", 3),
            Err(ProtocolError::Truncated {
                expected: Some(10),
                received: 3
            })
        );
        assert_eq!(
            decode_in_pieces(chunked(), b"5\r\nab", 3),
            Err(ProtocolError::Truncated {
                expected: None,
                received: 2
            })
        );
    }

    /// `body` in chunked framing, cut into chunks of the given sizes, each with an extension,
    /// then a trailer.
    fn chunk_encode(body: &[u8], sizes: &[usize]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = body;
        for &size in sizes.iter().chain([&usize::MAX]) {
            let (chunk, after) = rest.split_at(size.min(rest.len()));
            if !chunk.is_empty() {
                out.extend(format!("{:x};n=v\r\n", chunk.len()).bytes());
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
            }
            rest = after;
        }
        out.extend_from_slice(b"0\r\nT: x\r\n\r\n");
        out
    }

    proptest::proptest! {
        #[test]
        fn chunked_bodies_decode_the_same_in_any_pieces(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000),
            sizes in proptest::collection::vec(1usize..300, 0..10),
            piece in 1usize..64,
        ) {
            let encoded = chunk_encode(&body, &sizes);
            proptest::prop_assert_eq!(decode_in_pieces(chunked(), &encoded, piece).unwrap(), body);
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_chunked_decoder(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            piece in 1usize..64,
        ) {
            // Whatever comes out (data, an error, a truncation), it must come out: `decode`
            // always either takes bytes or asks for more, so this loop ends.
            let _ = decode_in_pieces(chunked(), &bytes, piece);
        }
    }

    /// The framing `for_response` picks for a GET answered with `status` and `fields`.
    fn framing_of(
        version: Version,
        status: u16,
        fields: &[(&'static str, &'static str)],
    ) -> Result<Framing, ProtocolError> {
        let mut headers = HeaderMap::new();
        for &(name, value) in fields {
            headers.append(name, value.parse().unwrap());
        }
        let head = Head {
            status: StatusCode::from_u16(status).unwrap(),
            version,
            headers,
        };
        Decoder::for_response(&Method::GET, &head).map(|decoder| decoder.framing)
    }

    #[test]
    fn framing_follows_rfc_9112_section_6_3() {
        let (v11, v10) = (Version::HTTP_11, Version::HTTP_10);
        let (te, cl) = ("transfer-encoding", "content-length");
        let chunked = Ok(Framing::Chunked(Chunk::Size));
        assert_eq!(framing_of(v11, 200, &[(te, "CHUNKED")]), chunked);
        assert_eq!(framing_of(v11, 200, &[(te, "chunked"), (cl, "9")]), chunked);
        assert!(framing_of(v11, 200, &[(te, "gzip, chunked")]).is_err());
        assert!(framing_of(v11, 200, &[(te, "chunked"), (te, "chunked")]).is_err());
        assert!(framing_of(v10, 200, &[(te, "chunked")]).is_err());
        let five = Ok(Framing::Length { remaining: 5 });
        assert_eq!(framing_of(v11, 200, &[(cl, "5"), (cl, "5, 5")]), five);
        assert!(framing_of(v11, 200, &[(cl, "5"), (cl, "6")]).is_err());
        assert!(framing_of(v11, 200, &[(cl, "")]).is_err());
        assert!(framing_of(v11, 200, &[(cl, "+5")]).is_err());
        assert_eq!(framing_of(v11, 200, &[]), Ok(Framing::UntilClose));
        assert_eq!(framing_of(v11, 200, &[(cl, "0")]), Ok(Framing::Done));
        for status in [100, 101, 204, 304] {
            assert_eq!(framing_of(v11, status, &[(cl, "5")]), Ok(Framing::Done));
        }
    }

    #[test]
    fn content_length_must_be_one_number() {
        let headers = |values: &[&str]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(CONTENT_LENGTH, value.parse().unwrap());
            }
            headers
        };
        assert_eq!(content_length(&headers(&[])), Ok(None));
        assert_eq!(content_length(&headers(&["42"])), Ok(Some(42)));
        assert_eq!(content_length(&headers(&["42", "42, 42"])), Ok(Some(42)));
        for bad in [
            &["-1"][..],
            &["+1"],
            &["1 2"],
            &["0x10"],
            &[""],
            &["1", "2"],
            &["99999999999999999999"],
            &[","],
            &[" , "],
        ] {
            assert!(content_length(&headers(bad)).is_err(), "{bad:?}");
        }
    }
}
