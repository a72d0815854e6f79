//! `NAME.part` files and the resume rules: what both download designs (glass tasks in
//! `download.rs`, OS threads in `threads.rs`) do with the disk, so the two compare like for like.
//!
//! ## The rules (issue 5)
//! - Bytes go to `NAME.part`; `NAME` appears only by a rename once the length is checked, so a
//!   `NAME` on disk is always complete, and an interrupted download leaves only its `.part`.
//! - A `.part` found at start is resumed with `Range: bytes=N-`, `N` its length. Only a `206`
//!   whose `Content-Range` starts exactly at `N` is appended; a `200` is the whole file and starts
//!   over; a `416` naming exactly `N` as the size means the `.part` was already complete; any other
//!   answer to a `Range` request is asked again without one. Nothing else is ever appended.
//! - `NAME` is never replaced without `--force`: the final rename is a hard link, which fails if
//!   the name exists (no window between a check and the rename).
//!
//! The `.part` is named after the URL (the only name known before the request, and so the only one
//! a later run can find to resume); when the server sends a `Content-Disposition` name, that is the
//! name the finished file gets.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

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
        (206, Some(ContentRange::Bytes { start, end, total })) if start == have => {
            // With an unknown total, the file ends where this range does.
            let size = total.unwrap_or(end + 1);
            if have == 0 {
                Decision::Fresh { size: Some(size) }
            } else {
                Decision::Append { size: Some(size) }
            }
        }
        (416, Some(ContentRange::Unsatisfied { total })) if have > 0 && total == have => {
            Decision::AlreadyComplete
        }
        (206 | 416, _) if have > 0 => Decision::StartOver,
        _ => Decision::Refused,
    }
}

/// The length of an existing `.part` at `path`, 0 if there is none. A `.part` that is not a plain
/// file (a symlink planted to redirect our writes, a folder) is an error, not something to follow.
pub fn existing_len(path: &Path) -> io::Result<u64> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() => Ok(meta.len()),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "exists and is not a regular file",
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

/// An open `.part`, counting its length as bytes are written.
#[derive(Debug)]
pub struct PartFile {
    /// Open for writing at its end.
    file: File,
    /// For error messages, and for the rename at the end.
    path: PathBuf,
    /// Bytes in the file: what was resumed plus what was written since.
    len: u64,
}

impl PartFile {
    /// Opens `path` to append after its `have` bytes, or emptied when `have` is 0. `O_NOFOLLOW`:
    /// a symlink put in place of the `.part` is refused instead of written through.
    pub fn open(path: &Path, have: u64) -> io::Result<PartFile> {
        let mut options = OpenOptions::new();
        options.custom_flags(libc::O_NOFOLLOW).mode(0o644);
        if have == 0 {
            options.write(true).create(true).truncate(true);
        } else {
            options.append(true);
        }
        let file = options.open(path)?;
        let len = file.metadata()?.len();
        if len != have {
            // The file changed between the look and the open; appending would misplace bytes.
            return Err(io::Error::other(format!(
                "changed while opening: {len} bytes, expected {have}"
            )));
        }
        Ok(PartFile {
            file,
            path: path.to_owned(),
            len,
        })
    }

    /// Writes all of `data`. This is a blocking write on the caller's thread, which for glass is
    /// the event loop: a write into the page cache takes microseconds, far less than the network
    /// leaves between chunks, so it is done inline rather than on a helper thread.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.write_all(data)?;
        self.len += data.len() as u64;
        Ok(())
    }

    /// Bytes in the file.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Where it lives.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Gives `part` its final name `to`. Without `force` an existing `to` is left alone and
/// `AlreadyExists` is returned; the `.part` then stays too.
pub fn finish(part: &Path, to: &Path, force: bool) -> io::Result<()> {
    if force {
        return std::fs::rename(part, to);
    }
    // link(2) fails atomically if `to` exists; then the `.part` name is dropped.
    match std::fs::hard_link(part, to) {
        Ok(()) => std::fs::remove_file(part),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        // A file system without hard links: check, then rename (a small race, but no worse).
        Err(_) if to.symlink_metadata().is_ok() => Err(io::ErrorKind::AlreadyExists.into()),
        Err(_) => std::fs::rename(part, to),
    }
}

/// `dir/NAME` for a name that is exactly one ordinary path component, else an error. Names are
/// already sanitised (`names.rs`); this is the second lock on the same door, so that a bug there
/// cannot turn into a write outside the output folder.
pub fn inside(dir: &Path, name: &str) -> io::Result<PathBuf> {
    let mut components = Path::new(name).components();
    match (components.next(), components.next()) {
        (Some(std::path::Component::Normal(_)), None) if !name.contains('/') => Ok(dir.join(name)),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing the unsafe file name {name:?}"),
        )),
    }
}

/// `dir/NAME.part` for a download named `name` (checked by [`inside`]).
pub fn part_path(dir: &Path, name: &str) -> io::Result<PathBuf> {
    inside(dir, &format!("{name}.part"))
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

    #[test]
    fn finish_never_clobbers_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let (part, to) = (dir.path().join("a.part"), dir.path().join("a"));
        std::fs::write(&part, b"new").unwrap();
        std::fs::write(&to, b"old").unwrap();
        let err = finish(&part, &to, false).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&to).unwrap(), b"old");
        assert!(part.exists());
        finish(&part, &to, true).unwrap();
        assert_eq!(std::fs::read(&to).unwrap(), b"new");
        assert!(!part.exists());
    }

    #[test]
    fn only_plain_names_make_paths() {
        let dir = Path::new("/out");
        assert_eq!(inside(dir, "a.bin").unwrap(), Path::new("/out/a.bin"));
        for bad in ["", ".", "..", "../x", "/etc/passwd", "a/b", "a/"] {
            assert!(inside(dir, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_full_disk_is_an_error_not_a_panic() {
        // /dev/full takes an open and refuses every write with ENOSPC.
        let mut part = PartFile::open(Path::new("/dev/full"), 0).unwrap();
        let err = part.write(&[0; 4096]).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
        assert_eq!(part.len(), 0);
    }

    #[test]
    fn a_symlinked_part_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, b"keep").unwrap();
        let part = dir.path().join("x.part");
        std::os::unix::fs::symlink(&outside, &part).unwrap();
        assert!(existing_len(&part).is_err());
        assert!(PartFile::open(&part, 0).is_err());
        assert_eq!(std::fs::read(&outside).unwrap(), b"keep");
    }
}
