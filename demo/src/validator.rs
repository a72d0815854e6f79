//! What ties a `.part` to one version of a file on the server: its [`Validator`], kept on the
//! `.part` itself, in the extended attribute that becomes the finished file's record
//! (`complete.rs`: the file's length and its validator), or, where the file system refuses user
//! extended attributes, in a small file beside it (`.NAME.part.validator`, the "sidecar"; older
//! runs always used one, and it is still read, as is the attribute `user.glass.validator` that
//! held the validator alone after them). The rules that use it are in `part.rs`.
//!
//! ## Why an attribute of the `.part`
//! The validator says which version the `.part`'s bytes are of, so it belongs with them: an
//! attribute lives in the `.part`'s inode, beside its length, and goes wherever the file goes.
//! A fresh `.part` is emptied and given its new validator (or a record without one) before its
//! first byte, in that one inode; whatever a crash keeps of the inode, a length grown by the new
//! version's bytes comes with the new version's attribute, never the old one. (A sidecar is a
//! second file, which needs its own `fsync` before the first byte, and even then the emptying of
//! the `.part` is not on disk with it.) It also costs no file of its own: no `open`, `fsync` and
//! `unlink` per download, which on many small files was most of the time spent. And being the
//! record too, it is written once per download, not once to tie and again to record.

use std::ffi::CStr;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::complete;
use crate::part::inside;
use crate::xattr;

/// What ties a `.part` to one version of the file on the server (RFC 9110, section 8.8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Validator {
    /// A strong `ETag` (a weak one, `W/"..."`, may not be used in `If-Range`).
    ETag(String),
    /// `Last-Modified`, when the response has no `ETag` at all and the date is strong: at least
    /// a second before the response's `Date`.
    LastModified(String),
}

impl Validator {
    /// The validator of a response with these headers, if it has one that `If-Range` may carry
    /// (RFC 9110, section 13.1.5).
    ///
    /// A date stands for a version only when nothing better exists and it is strong. With an
    /// `ETag`, even a weak one, the server tells versions apart by the tag, and two versions
    /// written within one second share their `Last-Modified`: `If-Range` with it would let the
    /// server append the new version's rest to the old one's prefix. The same goes for a
    /// `Last-Modified` less than a second before `Date` (the file may be rewritten within that
    /// second), or a response without a `Date` to compare with. Such a response gets no
    /// validator: its `.part` starts over next time, unless `--continue`.
    pub fn of(
        etag: Option<&str>,
        last_modified: Option<&str>,
        date: Option<&str>,
    ) -> Option<Validator> {
        let usable = |v: &&str| !v.is_empty() && is_header_text(v);
        match etag {
            Some(etag) if usable(&etag) && !etag.starts_with("W/") => {
                return Some(Validator::ETag(etag.to_owned()));
            }
            Some(_) => return None,
            None => {}
        }
        let modified = last_modified.filter(usable)?;
        let strong = (http_date(date?)? - http_date(modified)?) >= 1;
        strong.then(|| Validator::LastModified(modified.to_owned()))
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

    /// The attribute's (and the sidecar's) contents: one line, `etag VALUE` or
    /// `last-modified VALUE`; also the second line of a finished file's record (`complete.rs`).
    pub(crate) fn encode(&self) -> String {
        match self {
            Validator::ETag(v) => format!("etag {v}\n"),
            Validator::LastModified(v) => format!("last-modified {v}\n"),
        }
    }

    /// The inverse of [`encode`](Validator::encode); `None` for anything else (a damaged or
    /// foreign sidecar ties nothing). The value becomes a request header, so it is checked again.
    pub(crate) fn decode(text: &str) -> Option<Validator> {
        let line = text.strip_suffix('\n')?;
        let validator = match line.split_once(' ')? {
            ("etag", v) => Validator::ETag(v.to_owned()),
            ("last-modified", v) => Validator::LastModified(v.to_owned()),
            _ => return None,
        };
        (!validator.value().is_empty() && is_header_text(validator.value())).then_some(validator)
    }
}

/// The seconds since 1970 of an HTTP-date in its preferred form, IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`). The two obsolete forms (RFC 850's and asctime's) are not
/// read: a date that cannot be read is never strong, which costs a restart, never a splice.
pub(crate) fn http_date(text: &str) -> Option<i64> {
    let rest = text.trim().split_once(", ")?.1;
    let fields: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = fields[..] else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|&m| m == month)? as i64 + 1;
    let number = |s: &str, digits: usize| -> Option<i64> {
        (s.len() == digits && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    let (day, year) = (number(day, 2)?, number(year, 4)?);
    let mut hms = time.split(':').map(|s| number(s, 2));
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    // Days from 1970-01-01 to the civil date (Howard Hinnant's `days_from_civil`).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(days * 86_400 + h * 3600 + m * 60 + s)
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

/// The extended attribute in which the runs between the sidecar's and the record's kept a
/// `.part`'s validator alone; read, never written.
const OLD_ATTRIBUTE: &CStr = c"user.glass.validator";

/// The validator of the `.part` at `part`: its record's (`complete.rs`), else (an older run's
/// `.part`, or a file system without user attributes) the one in its old attribute or in
/// `sidecar`. A record speaks for the `.part` even without a validator: then it has none, whatever
/// an older sidecar says. `part` is not followed if it is a symlink (`existing_len` has refused
/// one already).
pub fn read_validator(part: &Path, sidecar: &Path) -> io::Result<Option<Validator>> {
    let attribute = |name| match xattr::get(part, name) {
        // No attributes on this file system: a sidecar, if there is one.
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => Ok(None),
        got => got,
    };
    if let Some(text) = attribute(complete::ATTRIBUTE)? {
        return Ok(complete::decode(&text).and_then(|(_, validator)| validator));
    }
    match attribute(OLD_ATTRIBUTE)? {
        Some(text) => Ok(Validator::decode(&text)),
        None => read_sidecar(sidecar),
    }
}

/// Where a fresh `.part`'s validator was put by [`tie`].
#[derive(Debug, PartialEq, Eq)]
pub enum Tied {
    /// On the `.part`, in its record (which is read before any sidecar): nothing more to do.
    Done,
    /// The file system refuses user attributes: [`write_sidecar`] is to keep it instead.
    Sidecar,
}

/// Ties the just-emptied `.part` open as `part` to `version` (`None`: to no version), without
/// waiting for the disk: it gets its record (`complete.rs`), with the length `size` it will have
/// once complete, if known. Called before the `.part`'s first byte. A record without a validator
/// ties the `.part` to no version: an old sidecar beside it is never read (so none need be looked
/// for here, which spares a failing `unlink` per download).
pub fn tie(part: &File, size: Option<u64>, version: Option<&Validator>) -> io::Result<Tied> {
    match xattr::set(part, complete::ATTRIBUTE, &complete::encode(size, version)) {
        Ok(()) => Ok(Tied::Done),
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => Ok(Tied::Sidecar),
        Err(e) => Err(e),
    }
}

/// The validator kept in the sidecar at `path`, if any (`O_NOFOLLOW`: a symlink there is an error).
fn read_sidecar(path: &Path) -> io::Result<Option<Validator>> {
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

/// Keeps `validator` in the sidecar at `path`, on disk before returning; `None` removes what was
/// there, and that removal is on disk before returning too.
pub fn write_sidecar(path: &Path, validator: Option<&Validator>) -> io::Result<()> {
    let Some(validator) = validator else {
        return match std::fs::remove_file(path) {
            Ok(()) => sync_folder_of(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
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

/// Removes the sidecar at `path` once its `.part` is complete; best effort, and not synced: a
/// stale sidecar only ever joins a `.part` of the same name, which a new run ties anew.
pub fn remove_sidecar(path: &Path) {
    let _ = std::fs::remove_file(path);
}

/// `fsync` of the folder holding `path`: its entries (a removed or a new name) reach the disk.
pub fn sync_folder_of(path: &Path) -> io::Result<()> {
    File::open(crate::part::folder_of(path))?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators_prefer_a_strong_etag_and_round_trip() {
        let etag = |v: &str| Validator::ETag(v.to_owned());
        let date = "Tue, 01 Dec 2026 07:00:00 GMT";
        let later = Some("Tue, 01 Dec 2026 07:00:01 GMT");
        assert_eq!(
            Validator::of(Some("\"a\""), Some(date), later),
            Some(etag("\"a\""))
        );
        // A weak ETag rules the date out too (RFC 9110, section 13.1.5).
        assert_eq!(Validator::of(Some("W/\"a\""), Some(date), later), None);
        assert_eq!(
            Validator::of(None, Some(date), later),
            Some(Validator::LastModified(date.to_owned()))
        );
        // Within the same second, or with no Date to compare with, the date is weak.
        assert_eq!(Validator::of(None, Some(date), Some(date)), None);
        assert_eq!(Validator::of(None, Some(date), None), None);
        assert_eq!(Validator::of(None, None, later), None);
        assert_eq!(Validator::of(Some("\"a\r\nX: y\""), None, None), None);
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
    fn http_dates_are_read_as_seconds_since_1970() {
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            http_date("Tue, 29 Feb 2028 23:59:59 GMT"),
            Some(1_835_481_599)
        );
        for bad in [
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 CET",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "",
        ] {
            assert_eq!(http_date(bad), None, "{bad}");
        }
    }

    /// A `.part` with its validator tied by [`tie`], as a fresh download of 3 bytes makes one.
    fn tied_part(dir: &Path, v: Option<&Validator>) -> (PathBuf, PathBuf, Tied) {
        let part = dir.join("a.bin.part");
        let sidecar = validator_path(dir, "a.bin").unwrap();
        let file = File::create(&part).unwrap();
        let tied = tie(&file, Some(3), v).unwrap();
        (part, sidecar, tied)
    }

    #[test]
    fn a_validator_is_an_attribute_of_the_part_and_its_record_once_complete() {
        let dir = tempfile::tempdir().unwrap();
        let v = Validator::ETag("\"x\"".into());
        let (part, sidecar, tied) = tied_part(dir.path(), Some(&v));
        assert_eq!(tied, Tied::Done);
        assert_eq!(read_validator(&part, &sidecar).unwrap(), Some(v.clone()));
        // No file of its own: the folder holds the .part only.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "{names:?}");
        // Not a record of a complete file while its bytes fall short of the announced length;
        // the record, once they are all there.
        std::fs::write(&part, b"ab").unwrap();
        assert_eq!(crate::complete::tests::read(&part), None);
        std::fs::write(&part, b"abc").unwrap();
        let record = crate::complete::Record {
            size: 3,
            validator: Some(v),
        };
        assert_eq!(crate::complete::tests::read(&part), Some(record));
        // Tied before its length was known: a validator, but no record yet.
        let file = std::fs::OpenOptions::new().write(true).open(&part).unwrap();
        tie(&file, None, None).unwrap();
        assert_eq!(crate::complete::tests::read(&part), None);
    }

    #[test]
    fn an_older_runs_attribute_still_ties_its_part() {
        let dir = tempfile::tempdir().unwrap();
        let (part, sidecar) = (dir.path().join("a.bin.part"), dir.path().join("none"));
        std::fs::write(&part, b"old").unwrap();
        let old = Validator::ETag("\"1\"".into());
        if let Err(e) = xattr::set_path(&part, OLD_ATTRIBUTE, &old.encode()) {
            // A file system without user extended attributes: nothing to test here.
            eprintln!("skipped: {e}");
            return;
        }
        assert_eq!(read_validator(&part, &sidecar).unwrap(), Some(old));
        // Started over with a server that sends no validator: the old attribute must not speak.
        let file = std::fs::OpenOptions::new().write(true).open(&part).unwrap();
        tie(&file, Some(3), None).unwrap();
        assert_eq!(read_validator(&part, &sidecar).unwrap(), None);
    }

    #[test]
    fn an_old_sidecar_is_read_until_a_new_tie_speaks_for_the_part() {
        let dir = tempfile::tempdir().unwrap();
        let (part, sidecar) = (
            dir.path().join("a.bin.part"),
            validator_path(dir.path(), "a.bin").unwrap(),
        );
        assert_eq!(sidecar, dir.path().join(".a.bin.part.validator"));
        // An older run's .part: its validator in the sidecar only.
        std::fs::write(&part, b"old").unwrap();
        let old = Validator::ETag("\"1\"".into());
        write_sidecar(&sidecar, Some(&old)).unwrap();
        assert_eq!(read_validator(&part, &sidecar).unwrap(), Some(old));
        // Started over with a new version: its attribute speaks for it, whatever the sidecar says.
        let new = Validator::ETag("\"2\"".into());
        let (part, sidecar, tied) = tied_part(dir.path(), Some(&new));
        assert_eq!(tied, Tied::Done);
        assert_eq!(read_validator(&part, &sidecar).unwrap(), Some(new));
        // Started over with a server that sends no validator: the sidecar must not speak for it.
        let (part, sidecar, tied) = tied_part(dir.path(), None);
        assert_eq!(tied, Tied::Done);
        assert!(sidecar.exists());
        assert_eq!(read_validator(&part, &sidecar).unwrap(), None);
    }

    #[test]
    fn without_attributes_the_validator_goes_to_the_sidecar() {
        crate::xattr::REFUSE_FOR_TESTS.with(|r| r.set(true));
        let dir = tempfile::tempdir().unwrap();
        let v = Validator::LastModified("Tue, 01 Dec 2026 07:00:00 GMT".into());
        let (part, sidecar, tied) = tied_part(dir.path(), Some(&v));
        assert_eq!(tied, Tied::Sidecar);
        write_sidecar(&sidecar, Some(&v)).unwrap();
        assert_eq!(std::fs::read_to_string(&sidecar).unwrap(), v.encode());
        assert_eq!(read_validator(&part, &sidecar).unwrap(), Some(v));
        write_sidecar(&sidecar, None).unwrap();
        assert!(!sidecar.exists());
        assert_eq!(read_validator(&part, &sidecar).unwrap(), None);
        write_sidecar(&sidecar, None).unwrap();
    }
}
