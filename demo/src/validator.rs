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

    /// The sidecar's contents: one line, `etag VALUE` or `last-modified VALUE`.
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
