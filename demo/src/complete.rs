//! How a rerun knows a file is already complete: the download that finished it left a record on
//! the file itself, an extended attribute `user.glass.complete` (`xattr.rs`) holding the file's
//! length and the server's validator of the version it is (`validator.rs`).
//!
//! The record is the `.part`'s one attribute, put there before its first byte with the length
//! the response announced (`validator::tie`): on a `.part` its validator ties the bytes to their
//! version (a resume's `If-Range`), and once the file has its final name the same attribute says
//! it was complete when named. So a fresh download pays one attribute's write, and its commit
//! none. Where the `.part` could not get it then (a length not announced, a resumed `.part`, one
//! found complete), [`mark`] puts it there once the digest has passed any check, just before the
//! file joins the group commit (`download/commit.rs`). Being in the inode, the record reaches the
//! disk with the file's bytes, by the batch's `fsync` or `syncfs`, before the rename; and it
//! travels with the file to its final name. Only a complete file gets that name, so a `NAME`
//! that carries the record was complete when renamed; a file whose length is no longer the
//! recorded one was changed since (by someone else), and is not taken for complete. Files
//! without the record (the user's own, or on a file system without extended attributes) are
//! treated as before: never replaced without `--force`.
//!
//! What a rerun does with a complete file (`download/resume.rs`): with a validator, it asks the
//! server with `If-None-Match` (or `If-Modified-Since`), and a `304 Not Modified` says "already
//! complete" without a byte of the body; without one, it trusts the record and asks nothing.

use std::io;
use std::path::Path;

use crate::validator::Validator;
use crate::xattr;

/// The extended attribute's name (the `user.` namespace: any file owner may set it).
pub(crate) const ATTRIBUTE: &std::ffi::CStr = c"user.glass.complete";

/// What a finished download recorded about its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The file's length when it was finished.
    pub size: u64,
    /// The server's validator of that version, if it gave one.
    pub validator: Option<Validator>,
}

/// The attribute's text: the length (nothing while it is not known), a newline, then the
/// validator's line if any.
pub(crate) fn encode(size: Option<u64>, validator: Option<&Validator>) -> String {
    let size = size.map(|size| size.to_string());
    let validator = validator.map(Validator::encode);
    format!(
        "{}\n{}",
        size.unwrap_or_default(),
        validator.unwrap_or_default()
    )
}

/// The length and the validator in an attribute's text; `None` for anything [`encode`] does not
/// make (a damaged or foreign value ties nothing and records nothing).
pub(crate) fn decode(text: &str) -> Option<(Option<u64>, Option<Validator>)> {
    let (size, rest) = text.split_once('\n')?;
    let size = match size {
        "" => None,
        digits if digits.bytes().all(|b| b.is_ascii_digit()) => Some(digits.parse().ok()?),
        _ => return None,
    };
    let validator = match rest {
        "" => None,
        line => Some(Validator::decode(line)?),
    };
    Some((size, validator))
}

impl Record {
    fn encode(&self) -> String {
        encode(Some(self.size), self.validator.as_ref())
    }

    /// The record in an attribute's text: one with a length.
    fn decode(text: &str) -> Option<Record> {
        let (size, validator) = decode(text)?;
        Some(Record {
            size: size?,
            validator,
        })
    }
}

/// Puts `record` on the file at `path` (not following a symlink). Best effort for the caller:
/// a file without it is only not recognised as complete by a later run.
pub fn mark(path: &Path, record: &Record) -> io::Result<()> {
    xattr::set_path(path, ATTRIBUTE, &record.encode())
}

/// What is at a download's final name.
#[derive(Debug, PartialEq, Eq)]
pub enum AtName {
    /// Nothing (or nothing that could be looked at).
    Nothing,
    /// A file an earlier run completed, with its record, which still holds: a regular file (not
    /// a symlink) of the recorded length.
    Complete(Record),
    /// Something else.
    Other,
}

/// What is at `path`: a complete file's record, or whether the name is free.
pub fn look(path: &Path) -> AtName {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return AtName::Nothing,
        Err(_) => return AtName::Other,
    };
    let record = meta
        .file_type()
        .is_file()
        .then(|| Record::decode(&xattr::get(path, ATTRIBUTE).ok()??))
        .flatten()
        .filter(|record| record.size == meta.len());
    record.map_or(AtName::Other, AtName::Complete)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The record of a complete file at `path`.
    pub(crate) fn read(path: &Path) -> Option<Record> {
        match look(path) {
            AtName::Complete(record) => Some(record),
            AtName::Nothing | AtName::Other => None,
        }
    }

    #[test]
    fn a_record_round_trips_and_must_match_the_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read(&path), None);
        assert_eq!(look(&path), AtName::Other);
        assert_eq!(look(&dir.path().join("none")), AtName::Nothing);
        let record = Record {
            size: 5,
            validator: Some(Validator::ETag("\"v1\"".into())),
        };
        if let Err(e) = mark(&path, &record) {
            // A file system without user extended attributes: nothing to test here.
            eprintln!("skipped: {e}");
            return;
        }
        assert_eq!(read(&path), Some(record));
        let bare = Record {
            size: 5,
            validator: None,
        };
        mark(&path, &bare).unwrap();
        assert_eq!(read(&path), Some(bare));
        // Changed since: no longer complete.
        std::fs::write(&path, b"123456").unwrap();
        assert_eq!(read(&path), None);
        for bad in [
            "",
            "5",
            "x\n",
            "5\nsize 5\n",
            "-1\n",
            "\n",
            "\netag \"v1\"\n",
        ] {
            assert_eq!(Record::decode(bad), None, "{bad:?}");
        }
        // A .part's, tied before its length was known: its validator, but no record.
        let v = Validator::ETag("\"v1\"".into());
        assert_eq!(decode(&encode(None, Some(&v))), Some((None, Some(v))));
    }
}
