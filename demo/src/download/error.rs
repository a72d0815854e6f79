//! Why a download failed: [`DownloadError`], whose messages name the URL and say what became of
//! the `.part`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::hash::{self, Digest};

/// Why a download failed. Each message names the URL (the client's errors name it themselves).
#[derive(Debug)]
pub enum DownloadError {
    /// The HTTP client failed: connection, timeout, malformed or cut-short response...
    Client(http_client::Error),
    /// The `--threads` blocking client failed.
    Blocking {
        url: String,
        what: String,
        /// Why another attempt may succeed (`retry.rs`), or `None` if it would fail the same.
        retry: Option<&'static str>,
    },
    /// The server answered with something other than the file (404, 500...).
    Status {
        url: String,
        status: u16,
        /// The response's `Retry-After`, as sent.
        retry_after: Option<String>,
    },
    /// Asked again without `Range`, the server still did not send the whole file.
    ResumeRefused { url: String, status: u16 },
    /// `NAME` exists and `--force` was not given.
    Exists { url: String, path: PathBuf },
    /// `NAME` is complete from an earlier run, but the server now has another version; `NAME`
    /// is kept (`--force` replaces it).
    Changed { url: String, path: PathBuf },
    /// Another download of this run is writing the same name.
    NameTaken { url: String, name: String },
    /// The `.part` or the final file could not be read, written or renamed (a full disk...).
    File {
        url: String,
        path: PathBuf,
        source: io::Error,
    },
    /// The body's length is not the file's length; the `.part` is kept for a resume.
    Length {
        url: String,
        expected: u64,
        received: u64,
    },
    /// A byte differs from what the embedded server generated; the `.part` is removed.
    Corrupt { url: String, offset: u64 },
    /// The file's SHA-256 is not the one it must have (`-i`). A download's `.part` is removed
    /// (`kept: None`); a file complete from an earlier run is kept, at `kept`.
    Checksum {
        url: String,
        expected: Digest,
        actual: Digest,
        kept: Option<PathBuf>,
    },
    /// Cancelled by the `c` key (`--threads`: its thread saw it between two reads); the `.part`
    /// stays as written.
    Cancelled { url: String },
    /// The download's task panicked (a bug in glass or the demo); the `.part` stays as written.
    Panicked { url: String, what: String },
}

impl fmt::Display for DownloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DownloadError::*;
        match self {
            Client(e) => write!(f, "{e}"),
            Blocking { url, what, .. } => write!(f, "{url}: {what}"),
            Status { url, status, .. } => {
                // The canonical phrase, never the server's own text.
                let reason = http::StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("");
                write!(f, "{url}: the server answered {status} {reason}")
            }
            ResumeRefused { url, status } => write!(
                f,
                "{url}: asked for the whole file after a failed resume, the server answered {status}"
            ),
            Exists { url, path } => write!(
                f,
                "{url}: {} already exists (use --force to replace it)",
                path.display()
            ),
            Changed { url, path } => write!(
                f,
                "{url}: {} is complete from an earlier run, but the server now has another \
                 version; it is kept (use --force to replace it)",
                path.display()
            ),
            NameTaken { url, name } => write!(
                f,
                "{url}: another download in this run is already saving {name}"
            ),
            File { url, path, source } if source.raw_os_error() == Some(libc::ENOSPC) => write!(
                f,
                "{url}: {}: the disk is full ({source}); the .part is kept for a resume",
                path.display()
            ),
            File { url, path, source } => write!(f, "{url}: {}: {source}", path.display()),
            Length {
                url,
                expected,
                received,
            } => write!(
                f,
                "{url}: the file should be {expected} bytes, {received} arrived (the .part is kept)"
            ),
            Panicked { url, what } => write!(f, "{url}: the download's {what}"),
            Cancelled { url } => write!(f, "{url}: cancelled; its .part is kept for a resume"),
            Checksum {
                url,
                expected,
                actual,
                kept: None,
            } => write!(
                f,
                "{url}: SHA-256 mismatch: expected {}, got {}; the .part is removed (its bytes \
                 are known bad)",
                hash::hex(expected),
                hash::hex(actual)
            ),
            Checksum {
                url,
                expected,
                actual,
                kept: Some(path),
            } => write!(
                f,
                "{url}: {} is complete from an earlier run, but its SHA-256 is {}, not the \
                 expected {}; it is kept (use --force to download it again)",
                path.display(),
                hash::hex(actual),
                hash::hex(expected)
            ),
            Corrupt { url, offset } => write!(
                f,
                "{url}: byte {offset} differs from what the server generated (the .part is removed)"
            ),
        }
    }
}

impl std::error::Error for DownloadError {}

pub(super) fn rename_error(url: &str, path: &Path, e: io::Error) -> DownloadError {
    if e.kind() == io::ErrorKind::AlreadyExists {
        DownloadError::Exists {
            url: url.to_owned(),
            path: path.to_owned(),
        }
    } else {
        DownloadError::File {
            url: url.to_owned(),
            path: path.to_owned(),
            source: e,
        }
    }
}
