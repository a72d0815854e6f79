//! [`Error`]: every way a request can fail, one variant per failure, each naming the URL.

use std::fmt;
use std::io;
use std::time::Duration;

use http::Uri;

/// Why a request failed. Every variant carries the URL it was about (after any redirects, the one
/// being fetched when things went wrong), and `Display` says what happened to which URL.
///
/// An HTTP error status (404, 500...) is *not* an `Error`: the server answered, and the
/// [`Response`](crate::Response) says how.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The URL could not be parsed, or lacks a host.
    InvalidUrl {
        /// The URL as it was given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The scheme is not `http`. In particular `https` is not supported: glass has no TLS.
    UnsupportedScheme {
        /// The URL.
        url: Uri,
    },
    /// A header given to [`RequestBuilder::header`](crate::RequestBuilder::header) is not a valid
    /// header name or value.
    InvalidHeader {
        /// The URL the request was for.
        url: Uri,
        /// What `http` said about the name or value.
        source: http::Error,
    },
    /// The host name did not resolve to any address.
    Resolve {
        /// The URL whose host did not resolve.
        url: Uri,
        /// The resolver's error.
        source: io::Error,
    },
    /// No address of the host accepted a connection.
    Connect {
        /// The URL.
        url: Uri,
        /// The error from the last address tried.
        source: io::Error,
    },
    /// Resolving and connecting took longer than the client's `connect_timeout`.
    ConnectTimeout {
        /// The URL.
        url: Uri,
        /// The limit that was reached.
        after: Duration,
    },
    /// The server sent nothing for longer than the client's `read_timeout`.
    ReadTimeout {
        /// The URL.
        url: Uri,
        /// The limit that was reached.
        after: Duration,
    },
    /// The whole request, body included, took longer than the client's `timeout`.
    Timeout {
        /// The URL.
        url: Uri,
        /// The limit that was reached.
        after: Duration,
    },
    /// The response breaks HTTP/1.1's rules (RFC 9112), so its framing cannot be trusted.
    MalformedResponse {
        /// The URL.
        url: Uri,
        /// What was wrong.
        what: String,
    },
    /// The response head is over 64 KiB or has over 100 header fields.
    HeadTooLarge {
        /// The URL.
        url: Uri,
        /// Which limit was passed.
        what: &'static str,
    },
    /// The connection ended before the body did.
    BodyTruncated {
        /// The URL.
        url: Uri,
        /// The body's length as announced by `Content-Length`; `None` for a chunked body, whose
        /// length is not announced.
        expected: Option<u64>,
        /// How many body bytes arrived.
        received: u64,
    },
    /// More redirects in a row than the client's `max_redirects`.
    TooManyRedirects {
        /// The URL that answered with the redirect over the limit.
        url: Uri,
        /// The limit.
        max: usize,
    },
    /// Reading from or writing to the connection failed (a reset, for instance).
    Io {
        /// The URL.
        url: Uri,
        /// The operating system's error.
        source: io::Error,
    },
}

impl Error {
    /// The URL the error is about; `None` only for [`Error::InvalidUrl`], whose URL did not parse
    /// (it is in the variant as a string).
    pub fn url(&self) -> Option<&Uri> {
        match self {
            Error::InvalidUrl { .. } => None,
            Error::UnsupportedScheme { url }
            | Error::InvalidHeader { url, .. }
            | Error::Resolve { url, .. }
            | Error::Connect { url, .. }
            | Error::ConnectTimeout { url, .. }
            | Error::ReadTimeout { url, .. }
            | Error::Timeout { url, .. }
            | Error::MalformedResponse { url, .. }
            | Error::HeadTooLarge { url, .. }
            | Error::BodyTruncated { url, .. }
            | Error::TooManyRedirects { url, .. }
            | Error::Io { url, .. } => Some(url),
        }
    }

    /// Whether this is one of the three timeouts.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Error::ConnectTimeout { .. } | Error::ReadTimeout { .. } | Error::Timeout { .. }
        )
    }
}

// The message includes the underlying error's text (`Connection refused`) although `source`
// returns it too: a program that prints only `{error}`, like the `fetch` example, should still say
// why. A reporter that walks the chain shows that text twice, which is the smaller harm.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidUrl { url, reason } => write!(f, "invalid URL `{url}`: {reason}"),
            Error::UnsupportedScheme { url } => write!(
                f,
                "cannot fetch {url}: the scheme `{}` is not supported (only http://; glass has no \
                 TLS)",
                url.scheme_str().unwrap_or_default()
            ),
            Error::InvalidHeader { url, source } => {
                write!(f, "invalid request header for {url}: {source}")
            }
            Error::Resolve { url, source } => {
                write!(f, "could not resolve the host of {url}: {source}")
            }
            Error::Connect { url, source } => write!(f, "could not connect to {url}: {source}"),
            Error::ConnectTimeout { url, after } => {
                write!(f, "connecting to {url} timed out after {after:?}")
            }
            Error::ReadTimeout { url, after } => {
                write!(f, "{url} sent nothing for {after:?} (read timeout)")
            }
            Error::Timeout { url, after } => {
                write!(f, "the request to {url} did not complete within {after:?}")
            }
            Error::MalformedResponse { url, what } => {
                write!(f, "malformed response from {url}: {what}")
            }
            Error::HeadTooLarge { url, what } => {
                write!(f, "the response head from {url} is too large: {what}")
            }
            Error::BodyTruncated {
                url,
                expected: Some(expected),
                received,
            } => write!(
                f,
                "the connection to {url} closed after {received} of {expected} body bytes"
            ),
            Error::BodyTruncated {
                url,
                expected: None,
                received,
            } => write!(
                f,
                "the connection to {url} closed in the middle of a chunked body, after {received} \
                 bytes"
            ),
            Error::TooManyRedirects { url, max } => {
                write!(f, "more than {max} redirects; the last came from {url}")
            }
            Error::Io { url, source } => write!(f, "I/O error talking to {url}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::InvalidHeader { source, .. } => Some(source),
            Error::Resolve { source, .. }
            | Error::Connect { source, .. }
            | Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A protocol failure found by the head parser or a body decoder ([`proto`](crate::proto)),
/// which work on bytes and do not know the URL. The async client turns it into an [`Error`]
/// naming the URL; a caller of [`proto`](crate::proto) adds the URL to the message itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// The response breaks RFC 9112's rules (says which); it becomes
    /// [`Error::MalformedResponse`].
    Malformed(String),
    /// The head passes a limit (says which: 64 KiB, or 100 fields); it becomes
    /// [`Error::HeadTooLarge`].
    HeadTooLarge(&'static str),
    /// The connection ended before the body did; it becomes [`Error::BodyTruncated`].
    Truncated {
        /// The announced length, if there was one (not for a chunked body).
        expected: Option<u64>,
        /// The body bytes that did arrive.
        received: u64,
    },
}

impl ProtocolError {
    pub(crate) fn malformed(what: impl Into<String>) -> ProtocolError {
        ProtocolError::Malformed(what.into())
    }

    pub(crate) fn at(self, url: &Uri) -> Error {
        let url = url.clone();
        match self {
            ProtocolError::Malformed(what) => Error::MalformedResponse { url, what },
            ProtocolError::HeadTooLarge(what) => Error::HeadTooLarge { url, what },
            ProtocolError::Truncated { expected, received } => Error::BodyTruncated {
                url,
                expected,
                received,
            },
        }
    }
}

// The same words as the matching `Error`'s message, less the URL, which the caller adds.
impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::Malformed(what) => write!(f, "malformed response: {what}"),
            ProtocolError::HeadTooLarge(what) => {
                write!(f, "the response head is too large: {what}")
            }
            ProtocolError::Truncated {
                expected: Some(expected),
                received,
            } => write!(
                f,
                "the connection closed after {received} of {expected} body bytes"
            ),
            ProtocolError::Truncated {
                expected: None,
                received,
            } => write!(
                f,
                "the connection closed in the middle of a chunked body, after {received} bytes"
            ),
        }
    }
}

impl std::error::Error for ProtocolError {}
