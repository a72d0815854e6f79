//! What ties a `.part` to one version of a file on the server: its [`Validator`], kept in a small
//! file beside it (`.NAME.part.validator`). The rules that use it are in `part.rs`.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::part::inside;

/// What ties a `.part` to one version of the file on the server (RFC 9110, section 8.8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Validator {
    /// A strong `ETag` (a weak one, `W/"..."`, may not be used in `If-Range`).
    ETag(String),
    /// `Last-Modified`, when there is no strong `ETag`.
    LastModified(String),
}

impl Validator {
    /// The validator of a response with these headers, if it has one.
    pub fn of(etag: Option<&str>, last_modified: Option<&str>) -> Option<Validator> {
        let usable = |v: &&str| !v.is_empty() && is_header_text(v);
        match (etag.filter(usable), last_modified.filter(usable)) {
            (Some(etag), _) if !etag.starts_with("W/") => Some(Validator::ETag(etag.to_owned())),
            (_, Some(date)) => Some(Validator::LastModified(date.to_owned())),
            _ => None,
        }
    }

    /// What `If-Range` carries.
    pub fn value(&self) -> &str {
        match self {
            Validator::ETag(v) | Validator::LastModified(v) => v,
        }
    }

    /// Whether a response with these headers is of the same version. A response that drops the
    /// validator cannot be tied to it, so it does not match either.
    pub fn matches(&self, etag: Option<&str>, last_modified: Option<&str>) -> bool {
        match self {
            Validator::ETag(v) => etag == Some(v),
            Validator::LastModified(v) => last_modified == Some(v),
        }
    }

    /// The sidecar's contents: one line, `etag VALUE` or `last-modified VALUE`.
    fn encode(&self) -> String {
        match self {
            Validator::ETag(v) => format!("etag {v}\n"),
            Validator::LastModified(v) => format!("last-modified {v}\n"),
        }
    }

    /// The inverse of [`encode`](Validator::encode); `None` for anything else (a damaged or
    /// foreign sidecar ties nothing). The value becomes a request header, so it is checked again.
    fn decode(text: &str) -> Option<Validator> {
        let line = text.strip_suffix('\n')?;
        let validator = match line.split_once(' ')? {
            ("etag", v) => Validator::ETag(v.to_owned()),
            ("last-modified", v) => Validator::LastModified(v.to_owned()),
            _ => return None,
        };
        (!validator.value().is_empty() && is_header_text(validator.value())).then_some(validator)
    }
}

/// Whether `v` may be sent as a header value: visible ASCII and spaces only.
fn is_header_text(v: &str) -> bool {
    v.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
}

/// `dir/.NAME.part.validator`, where the validator of `NAME.part` is kept.
pub fn validator_path(dir: &Path, name: &str) -> io::Result<PathBuf> {
    inside(
        dir,
        &format!(".{name}{}.validator", crate::names::PART_SUFFIX),
    )
}

/// The validator kept at `path`, if any (`O_NOFOLLOW`: a symlink there is an error).
pub fn read_validator(path: &Path) -> io::Result<Option<Validator>> {
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path);
    let mut file = match opened {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut text = String::new();
    // Far more than a validator needs; a bigger file is not ours.
    io::Read::take(&mut file, 4096).read_to_string(&mut text)?;
    Ok(Validator::decode(&text))
}

/// Keeps `validator` at `path`, on disk before returning; `None` removes what was there.
pub fn write_validator(path: &Path, validator: Option<&Validator>) -> io::Result<()> {
    let Some(validator) = validator else {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o644)
        .open(path)?;
    file.write_all(validator.encode().as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators_prefer_a_strong_etag_and_round_trip() {
        let etag = |v: &str| Validator::ETag(v.to_owned());
        let date = "Tue, 01 Dec 2026 07:00:00 GMT";
        assert_eq!(
            Validator::of(Some("\"a\""), Some(date)),
            Some(etag("\"a\""))
        );
        assert_eq!(
            Validator::of(Some("W/\"a\""), Some(date)),
            Some(Validator::LastModified(date.to_owned()))
        );
        assert_eq!(Validator::of(Some("W/\"a\""), None), None);
        assert_eq!(Validator::of(None, None), None);
        assert_eq!(Validator::of(Some("\"a\r\nX: y\""), None), None);
        for v in [etag("\"a b\""), Validator::LastModified(date.to_owned())] {
            assert_eq!(Validator::decode(&v.encode()), Some(v));
        }
        assert_eq!(Validator::decode("etag \"a\"\r\nhost: x\n"), None);
        assert_eq!(Validator::decode("size 5\n"), None);
        assert!(etag("\"a\"").matches(Some("\"a\""), None));
        assert!(!etag("\"a\"").matches(Some("\"b\""), None));
        assert!(!etag("\"a\"").matches(None, Some(date)));
    }

    #[test]
    fn a_validator_is_kept_beside_the_part_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = validator_path(dir.path(), "a.bin").unwrap();
        assert_eq!(path, dir.path().join(".a.bin.part.validator"));
        assert_eq!(read_validator(&path).unwrap(), None);
        let v = Validator::ETag("\"x\"".into());
        write_validator(&path, Some(&v)).unwrap();
        assert_eq!(read_validator(&path).unwrap(), Some(v));
        write_validator(&path, None).unwrap();
        assert!(!path.exists());
        write_validator(&path, None).unwrap();
    }
}
