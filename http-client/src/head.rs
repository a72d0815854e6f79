//! Response heads: [`parse`] turns bytes into a [`Head`] with `httparse`, [`take_head`] takes the
//! final head from a buffer, skipping interim (1xx) responses, and [`read`] reads one from a
//! connection with it.

use bytes::{Buf, BytesMut};
use http::header::{HeaderMap, HeaderName, HeaderValue, TRANSFER_ENCODING};
use http::{StatusCode, Uri, Version};

use crate::Error;
use crate::connection::Connection;
use crate::error::{ProtocolError, TlsFailure};
use crate::timeouts::Timeouts;

/// The largest response head accepted: a server that sends more is broken or hostile, and
/// without a limit a never-ending head would grow the buffer without bound.
pub(crate) const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The most header fields accepted in one head (`httparse` needs a fixed-size array anyway).
pub(crate) const MAX_HEADERS: usize = 100;

/// The status line and header fields of a response.
#[derive(Debug)]
pub struct Head {
    /// The status code.
    pub status: StatusCode,
    /// HTTP/1.0 or HTTP/1.1: it decides whether the connection may be kept alive, and whether a
    /// transfer coding is allowed.
    pub version: Version,
    /// The header fields, in the order received.
    pub headers: HeaderMap,
}

impl Head {
    /// The body's length as announced by `Content-Length`, if the response can be held to it:
    /// `None` without one, with an invalid one, or beside `Transfer-Encoding`, which overrides it
    /// (RFC 9112 section 6.3). The body's framing is [`Decoder::for_response`]'s business; this is
    /// the length to show and to check a download against.
    ///
    /// [`Decoder::for_response`]: crate::proto::Decoder::for_response
    pub fn content_length(&self) -> Option<u64> {
        match self.headers.contains_key(TRANSFER_ENCODING) {
            true => None,
            false => crate::body::content_length(&self.headers).ok().flatten(),
        }
    }
}

/// Parses a response head at the start of `buf`. `Ok(None)` means the head is not complete yet;
/// `Ok(Some((head, len)))` gives the head and how many bytes of `buf` it took.
pub(crate) fn parse(buf: &[u8]) -> Result<Option<(Head, usize)>, ProtocolError> {
    // Only the first 64 KiB are parsed, so that a head too long is refused as too long, whatever
    // follows the limit and however much of it has arrived.
    let buf = &buf[..buf.len().min(MAX_HEAD_BYTES)];
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut fields);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() == MAX_HEAD_BYTES => {
            return Err(ProtocolError::HeadTooLarge("over 64 KiB"));
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(ProtocolError::HeadTooLarge("over 100 header fields"));
        }
        Err(e) => return Err(ProtocolError::malformed(format!("invalid head: {e}"))),
    };
    let version = match response.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let code = response.code.unwrap_or_default();
    let status = StatusCode::from_u16(code)
        .map_err(|_| ProtocolError::malformed(format!("invalid status code {code:03}")))?;
    let mut headers = HeaderMap::with_capacity(response.headers.len());
    for field in response.headers.iter() {
        // httparse has checked the syntax already; these conversions only re-check it.
        let name = HeaderName::from_bytes(field.name.as_bytes());
        let value = HeaderValue::from_bytes(field.value);
        match (name, value) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            _ => {
                return Err(ProtocolError::malformed(format!(
                    "invalid header field `{}`",
                    field.name
                )));
            }
        }
    }
    Ok(Some((
        Head {
            status,
            version,
            headers,
        },
        len,
    )))
}

/// Takes the final response head from the front of `buf`, leaving what follows it (the start of
/// the body) in `buf`. `Ok(None)` means it is not complete yet: read more onto the end of `buf`
/// and call again.
///
/// Interim responses (100 Continue, 103 Early Hints) are taken and dropped, as RFC 9110 section
/// 15.2 asks of every client; 101 Switching Protocols is final. A head may be at most 64 KiB with
/// at most 100 fields, and all the interim heads together count against a 64 KiB limit too, so a
/// stream of 1xx cannot go on forever: `interim_bytes` keeps their count between calls. Start it
/// at 0 for each response, and pass the same one to every call for that response.
pub fn take_head(
    buf: &mut BytesMut,
    interim_bytes: &mut usize,
) -> Result<Option<Head>, ProtocolError> {
    while let Some((head, len)) = parse(buf)? {
        buf.advance(len);
        if !head.status.is_informational() || head.status == StatusCode::SWITCHING_PROTOCOLS {
            return Ok(Some(head));
        }
        *interim_bytes += len;
        if *interim_bytes > MAX_HEAD_BYTES {
            return Err(ProtocolError::HeadTooLarge(
                "interim (1xx) responses over 64 KiB",
            ));
        }
    }
    Ok(None)
}

/// Reads the final response head from `conn` with [`take_head`], leaving any bytes after it in
/// the buffer.
pub(crate) async fn read(
    conn: &mut Connection,
    timeouts: &Timeouts,
    url: &Uri,
) -> Result<Head, Error> {
    let mut interim_bytes = 0;
    loop {
        if !conn.buf.is_empty() {
            if conn.is_plain() && looks_like_tls(&conn.buf) {
                return Err(Error::Tls {
                    url: url.clone(),
                    failure: TlsFailure::ServerSpeaksTls,
                });
            }
            let head = take_head(&mut conn.buf, &mut interim_bytes).map_err(|e| e.at(url))?;
            if let Some(head) = head {
                return Ok(head);
            }
        }
        if conn.fill(timeouts, url).await? == 0 {
            return Err(if conn.buf.is_empty() && interim_bytes == 0 {
                // Nothing at all came back. On a reused connection this is the server having
                // closed it while idle, which the client retries (see `client.rs`).
                Error::Io {
                    url: url.clone(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the server closed the connection without responding",
                    ),
                }
            } else {
                ProtocolError::malformed("the connection closed in the middle of the head").at(url)
            });
        }
    }
}

/// Whether an answer starts like a TLS record (an alert or a handshake, in TLS 1.x's `3.x`
/// version), which is what a TLS server sends back to a plain HTTP request. No HTTP response can
/// start so: it starts with `HTTP/`.
fn looks_like_tls(answer: &[u8]) -> bool {
    matches!(answer, [0x15 | 0x16, 0x03, ..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complete_head_reports_its_length_and_fields() {
        let bytes = b"HTTP/1.1 206 Partial\r\nContent-Range: bytes 0-1/4\r\nA: 1\r\nA: 2\r\n\r\nab";
        let (head, len) = parse(bytes).unwrap().unwrap();
        assert_eq!(len, bytes.len() - 2);
        assert_eq!(head.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(head.version, Version::HTTP_11);
        assert_eq!(head.headers.get_all("a").iter().count(), 2);
    }

    #[test]
    fn a_partial_head_asks_for_more_until_the_limit() {
        assert!(parse(b"HTTP/1.1 200 OK\r\nA: 1\r\n").unwrap().is_none());
        let mut long = b"HTTP/1.1 200 OK\r\nA: ".to_vec();
        long.resize(MAX_HEAD_BYTES, b'a');
        assert_eq!(
            parse(&long).unwrap_err(),
            ProtocolError::HeadTooLarge("over 64 KiB")
        );
    }

    proptest::proptest! {
        #[test]
        fn every_prefix_of_a_head_is_incomplete_and_the_whole_parses(
            fields in proptest::collection::vec(("[a-z]{1,8}", "[!-~]{1,16}"), 0..8),
        ) {
            let mut bytes = b"HTTP/1.1 200 OK\r\n".to_vec();
            for (name, value) in &fields {
                bytes.extend(format!("{name}: {value}\r\n").bytes());
            }
            bytes.extend_from_slice(b"\r\n");
            for end in 0..bytes.len() {
                proptest::prop_assert!(parse(&bytes[..end]).unwrap().is_none());
            }
            let (head, len) = parse(&bytes).unwrap().unwrap();
            proptest::prop_assert_eq!(len, bytes.len());
            proptest::prop_assert_eq!(head.headers.len(), fields.len());
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_head_parser(
            prefix in proptest::sample::select(vec!["", "HTTP/1.1 200 OK\r\n", "HTTP/1.0 "]),
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
        ) {
            let mut input = prefix.as_bytes().to_vec();
            input.extend_from_slice(&bytes);
            if let Ok(Some((_, len))) = parse(&input) {
                proptest::prop_assert!(len <= input.len());
            }
        }
    }

    #[test]
    fn too_many_fields_and_garbage_are_refused() {
        let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
        for _ in 0..=MAX_HEADERS {
            many.extend_from_slice(b"A: 1\r\n");
        }
        many.extend_from_slice(b"\r\n");
        assert!(matches!(parse(&many), Err(ProtocolError::HeadTooLarge(_))));
        assert!(matches!(
            parse(b"SSH-2.0-OpenSSH\r\n\r\n"),
            Err(ProtocolError::Malformed(_))
        ));
    }
}
