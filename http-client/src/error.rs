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
    /// The scheme is neither `http` nor `https`.
    UnsupportedScheme {
        /// The URL.
        url: Uri,
    },
    /// A certificate given to [`Certificate::from_pem`](crate::Certificate::from_pem) could not
    /// be read.
    InvalidCertificate {
        /// What was wrong with it.
        reason: String,
    },
    /// The TLS layer of an `https://` request failed, or an `http://` server answered in TLS.
    /// For an `https://` request the connection could not be secured, and nothing was sent on
    /// it. For [`TlsFailure::ServerSpeaksTls`] the request *was* sent, in plaintext, before the
    /// answer showed that the port expects TLS: whatever it carried (credentials, cookies) has
    /// crossed the network unencrypted.
    Tls {
        /// The URL.
        url: Uri,
        /// What was wrong, in words a user understands.
        failure: TlsFailure,
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
    /// The URL the error is about; `None` for [`Error::InvalidUrl`], whose URL did not parse (it
    /// is in the variant as a string), and for [`Error::InvalidCertificate`], which comes before
    /// any request.
    pub fn url(&self) -> Option<&Uri> {
        match self {
            Error::InvalidUrl { .. } | Error::InvalidCertificate { .. } => None,
            Error::UnsupportedScheme { url }
            | Error::Tls { url, .. }
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

    /// Whether this is one of the three timeouts (a TLS handshake that timed out counts as the
    /// connect timeout it is).
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Error::ConnectTimeout { .. }
                | Error::ReadTimeout { .. }
                | Error::Timeout { .. }
                | Error::Tls {
                    failure: TlsFailure::HandshakeTimeout { .. },
                    ..
                }
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
                "cannot fetch {url}: the scheme `{}` is not supported (only http:// and https://)",
                url.scheme_str().unwrap_or_default()
            ),
            Error::InvalidCertificate { reason } => write!(f, "invalid certificate: {reason}"),
            Error::Tls { url, failure } => write!(f, "TLS with {url} failed: {failure}"),
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

/// What went wrong in a TLS handshake (or instead of one), for [`Error::Tls`]. The variants are
/// the failures a user can act on; anything rarer is [`TlsFailure::Other`] with rustls's words.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The certificate does not chain to a trusted root: self-signed, a private CA, or a chain
    /// the server sent incomplete. Trust its CA with
    /// [`ClientBuilder::add_root_certificate`](crate::ClientBuilder::add_root_certificate)
    /// (the demo: `--cacert FILE`).
    UnknownIssuer,
    /// The certificate is valid, but for other names than the URL's host.
    NotValidForName {
        /// The names the certificate is for (may be empty if rustls did not say).
        presented: Vec<String>,
    },
    /// The certificate's validity ended before now.
    Expired,
    /// The certificate's validity starts after now (or this machine's clock is behind).
    NotYetValid,
    /// An `https://` server answered with something that is not TLS: most often plain HTTP on
    /// the port (use `http://`).
    NotTls,
    /// An `http://` server answered in TLS: the port expects `https://`.
    ServerSpeaksTls,
    /// Connecting plus the handshake took longer than the client's `connect_timeout`, and the
    /// TCP connection was up: the server accepted but did not finish the handshake.
    HandshakeTimeout {
        /// The limit that was reached.
        after: Duration,
    },
    /// No root certificate to verify servers against: none was added, and the system's store
    /// was not used or is empty (on Debian, install `ca-certificates`).
    NoRootCertificates {
        /// Whether the system's store was looked at.
        system_store: bool,
        /// What went wrong reading it, if anything did.
        system_errors: Vec<String>,
    },
    /// Anything else, in rustls's words (a refused handshake, no common protocol version...).
    Other(String),
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsFailure::UnknownIssuer => write!(
                f,
                "the certificate's issuer is not trusted (add its CA as a root certificate)"
            ),
            TlsFailure::NotValidForName { presented } if presented.is_empty() => {
                write!(f, "the certificate is not valid for this host name")
            }
            TlsFailure::NotValidForName { presented } => write!(
                f,
                "the certificate is not valid for this host name (it is for {})",
                presented.join(", ")
            ),
            TlsFailure::Expired => write!(f, "the certificate has expired"),
            TlsFailure::NotYetValid => write!(
                f,
                "the certificate is not valid yet (or this machine's clock is wrong)"
            ),
            TlsFailure::NotTls => write!(
                f,
                "the server does not speak TLS on this port (plain HTTP? try http://)"
            ),
            TlsFailure::ServerSpeaksTls => {
                write!(f, "the server answered in TLS: this port expects https://")
            }
            TlsFailure::HandshakeTimeout { after } => write!(
                f,
                "the TLS handshake did not finish within the connect timeout ({after:?})"
            ),
            TlsFailure::NoRootCertificates {
                system_store,
                system_errors,
            } => {
                write!(f, "no trusted root certificates")?;
                match (system_store, system_errors.is_empty()) {
                    (false, _) => write!(f, " (the system's store is turned off, none was added)"),
                    (true, true) => write!(
                        f,
                        " (the system's store is empty: install ca-certificates, or add a root \
                         certificate)"
                    ),
                    (true, false) => write!(
                        f,
                        " (the system's store could not be read: {})",
                        system_errors.join("; ")
                    ),
                }
            }
            TlsFailure::Other(what) => f.write_str(what),
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
