//! The resume rules' arithmetic: what a response's status and `Content-Range` make of the bytes
//! already in a `.part` ([`decide`]). The rules themselves are told in `part.rs`.

/// A parsed `Content-Range` header (RFC 9110, section 14.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentRange {
    /// `bytes START-END/TOTAL` (`TOTAL` may be `*`: unknown).
    Bytes {
        start: u64,
        end: u64,
        total: Option<u64>,
    },
    /// `bytes */TOTAL`, sent with 416: the range asked for is not in a file of `TOTAL` bytes.
    Unsatisfied { total: u64 },
}

impl ContentRange {
    /// Parses a header value; `None` for anything malformed (which then counts as absent).
    pub fn parse(value: &str) -> Option<ContentRange> {
        let rest = value.trim().strip_prefix("bytes ")?.trim_start();
        let (range, total) = rest.split_once('/')?;
        let number = |s: &str| -> Option<u64> {
            let s = s.trim();
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        if range.trim() == "*" {
            return Some(ContentRange::Unsatisfied {
                total: number(total)?,
            });
        }
        let (start, end) = range.split_once('-')?;
        let (start, end) = (number(start)?, number(end)?);
        let total = match total.trim() {
            "*" => None,
            t => Some(number(t)?),
        };
        if end < start || total.is_some_and(|t| end >= t) {
            return None;
        }
        Some(ContentRange::Bytes { start, end, total })
    }
}

/// What to do with a response, given the `have` bytes already in the `.part` (0: no `Range` sent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Write the body into an emptied `.part`. `size` is the file's full length, if known.
    Fresh { size: Option<u64> },
    /// Append the body to the `have` bytes on disk. `size` is the file's full length, if known.
    Append { size: Option<u64> },
    /// The `.part` already holds the whole file: finish without a body.
    AlreadyComplete,
    /// The answer cannot be appended to what is on disk: ask again, without `Range`.
    StartOver,
    /// The server refused (404, 500...): the download fails, the `.part` stays as it was.
    Refused,
}

/// Applies the resume rules to a response's status, `Content-Range` and `Content-Length`.
pub fn decide(
    status: u16,
    content_range: Option<&str>,
    content_length: Option<u64>,
    have: u64,
) -> Decision {
    let range = content_range.and_then(ContentRange::parse);
    match (status, range) {
        (200, _) => Decision::Fresh {
            size: content_length,
        },
        // `bytes N-M/*`: the server does not say how long the file is, and the range's end is
        // not the file's (a server may send any part of what was asked). Appending it could only
        // be renamed on trust, so the range is not used: ask for the whole file instead.
        (206, Some(ContentRange::Bytes { total: None, .. })) if have > 0 => Decision::StartOver,
        (
            206,
            Some(ContentRange::Bytes {
                start,
                total: Some(total),
                ..
            }),
        ) if start == have => {
            if have == 0 {
                Decision::Fresh { size: Some(total) }
            } else {
                Decision::Append { size: Some(total) }
            }
        }
        (416, Some(ContentRange::Unsatisfied { total })) if have > 0 && total == have => {
            Decision::AlreadyComplete
        }
        (206 | 416, _) if have > 0 => Decision::StartOver,
        _ => Decision::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_parsing() {
        let bytes = |start, end, total| ContentRange::Bytes { start, end, total };
        assert_eq!(
            ContentRange::parse("bytes 5-9/10"),
            Some(bytes(5, 9, Some(10)))
        );
        assert_eq!(ContentRange::parse("bytes 5-9/*"), Some(bytes(5, 9, None)));
        assert_eq!(
            ContentRange::parse("bytes */10"),
            Some(ContentRange::Unsatisfied { total: 10 })
        );
        for bad in [
            "bytes 9-5/10",
            "bytes 5-10/10",
            "bits 1-2/3",
            "bytes -1-2/3",
            "bytes 1-2",
        ] {
            assert_eq!(ContentRange::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_an_exact_206_appends() {
        assert_eq!(
            decide(206, Some("bytes 500-999/1000"), Some(500), 500),
            Decision::Append { size: Some(1000) }
        );
        // A range that starts anywhere else would misplace bytes.
        assert_eq!(
            decide(206, Some("bytes 0-999/1000"), None, 500),
            Decision::StartOver
        );
        assert_eq!(
            decide(206, Some("bytes 400-999/1000"), None, 500),
            Decision::StartOver
        );
        assert_eq!(decide(206, None, Some(500), 500), Decision::StartOver);
        assert_eq!(
            decide(206, Some("garbage"), Some(500), 500),
            Decision::StartOver
        );
    }

    #[test]
    fn a_206_of_unknown_total_is_never_the_file_end() {
        // Where this range ends says nothing about where the file does.
        assert_eq!(
            decide(206, Some("bytes 500-599/*"), Some(100), 500),
            Decision::StartOver
        );
        // Unasked for (no Range was sent), it is not the whole file either.
        assert_eq!(
            decide(206, Some("bytes 0-99/*"), Some(100), 0),
            Decision::Refused
        );
    }

    #[test]
    fn whole_answers_start_over_and_416_may_finish() {
        assert_eq!(
            decide(200, None, Some(1000), 500),
            Decision::Fresh { size: Some(1000) }
        );
        assert_eq!(decide(200, None, None, 0), Decision::Fresh { size: None });
        assert_eq!(
            decide(416, Some("bytes */500"), None, 500),
            Decision::AlreadyComplete
        );
        assert_eq!(
            decide(416, Some("bytes */900"), None, 500),
            Decision::StartOver
        );
        assert_eq!(decide(416, None, None, 500), Decision::StartOver);
        assert_eq!(decide(404, None, None, 500), Decision::Refused);
        assert_eq!(decide(416, Some("bytes */0"), None, 0), Decision::Refused);
    }
}
