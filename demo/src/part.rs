//! `NAME.part` files and the resume rules: what both download designs (glass tasks in
//! `download.rs`, OS threads in `threads.rs`) do with the disk, so the two compare like for like.
//!
//! ## The rules (issue 5)
//! - Bytes go to `NAME.part`; `NAME` appears only by a rename once the body has ended where its
//!   framing says and, when the file's length is known (a `Content-Length`, a `Content-Range`
//!   total, the embedded file's size), the `.part` has exactly that length. An interrupted
//!   download leaves only its `.part`. The one gap: a body with neither a length nor chunked
//!   framing ends when the server closes the connection, and a connection cut early looks the
//!   same, so such a `NAME` is complete only on the server's word.
//! - A `.part` found at start is resumed with `Range: bytes=N-`, `N` its length. Only a `206`
//!   whose `Content-Range` starts exactly at `N` and gives the file's total is appended; a `200`
//!   is the whole file and starts over; a `416` naming exactly `N` as the size means the `.part`
//!   was already complete. Any other `206` or `416` (another start, no `Content-Range`, or an
//!   unknown total `bytes N-M/*`, whose end need not be the file's) is asked again once, without
//!   `Range`; any other status fails the download and leaves the `.part` as it was. Nothing else
//!   is ever appended.
//! - A `.part` is resumed only if it can be tied to the version of the file the server has now
//!   (issue 9). The first response's validator (`validator::Validator`: its strong `ETag`, else,
//!   with no `ETag` at all, a `Last-Modified` a second or more before its `Date`) is written
//!   beside the `.part`, in `.NAME.part.validator`, before the first
//!   body byte; a resume sends it as `If-Range`, so a server whose file changed answers `200` and
//!   the download starts over; a `206` that carries another validator (a server that ignores
//!   `If-Range`) is not appended either, nor is a `416` taken to mean the `.part` is complete,
//!   but asked again without `Range`. A `.part` with no
//!   validator (its server sent none, or another program left it) starts over, unless the user
//!   passes `--continue` (`wget -c`'s name), which resumes it on trust; the output says which.
//!   The embedded files need no validator: their prefix is checked byte for byte instead.
//!   The sidecar's name starts with a dot, which no sanitised name does, so it is never a
//!   download's file or `.part`.
//! - `NAME` is never replaced without `--force`: the final rename is `renameat2` with
//!   `RENAME_NOREPLACE` (or, where the file system cannot, a hard link), which fails if the name
//!   exists (no window between a check and the rename).
//! - No final name ends in `.part` (`names::sanitize`, checked again by [`final_path`]), and a
//!   download claims both `NAME` and `NAME.part` for the run (`claims::Claims`), so one
//!   download's `.part` is never another's file, finished or not.
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
    ///
    /// On an error (a full disk) part of `data` may already be in the file; [`PartFile::len`]
    /// counts it, so what is shown and reported is what is on disk.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        write_counted(&mut self.file, data, &mut self.len)
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

/// `write_all`, adding to `len` each piece as it is written rather than all of `data` at the end,
/// so a write cut short by an error is still counted.
fn write_counted(out: &mut impl Write, mut data: &[u8], len: &mut u64) -> io::Result<()> {
    while !data.is_empty() {
        match out.write(data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                *len += n as u64;
                data = &data[n..];
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// One step of [`finish`], reported to its observer once taken (the seam the tests watch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The `.part`'s bytes have reached the disk (`fsync`).
    SyncFile,
    /// The file has its final name (a rename, or a link and an unlink).
    Rename,
    /// The folder's new entry has reached the disk (`fsync` of the folder).
    SyncDir,
}

/// Gives `part` its final name `to`, durably: when this returns `Ok`, the file's bytes and its
/// name survive a power loss. Without `force` an existing `to` is left alone and `AlreadyExists`
/// is returned; the `.part` then stays too.
///
/// The order is what makes "complete" mean complete: the bytes are synced *before* the name that
/// says they are whole exists (or a crash could leave `NAME` with holes of zeros, as ext4 and XFS
/// may after a rename of unsynced data), and the folder is synced *after* the rename, since the
/// new entry lives in the folder, not in the file. This blocks for as long as the disk takes to
/// write the file out; the glass design calls it on the blocking pool.
pub fn finish(part: &Path, to: &Path, force: bool) -> io::Result<()> {
    finish_observed(part, to, force, &mut |_| {})
}

/// [`finish`], calling `observe` after each [`Step`].
fn finish_observed(
    part: &Path,
    to: &Path,
    force: bool,
    observe: &mut dyn FnMut(Step),
) -> io::Result<()> {
    File::open(part)?.sync_all()?;
    observe(Step::SyncFile);
    rename(part, to, force)?;
    observe(Step::Rename);
    let dir = match to.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()?;
    observe(Step::SyncDir);
    Ok(())
}

/// The rename of [`finish`].
fn rename(part: &Path, to: &Path, force: bool) -> io::Result<()> {
    if force {
        return std::fs::rename(part, to);
    }
    match rename_noreplace(part, to) {
        // The file system (or the kernel, before Linux 3.15) cannot rename without replacing.
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => {
            rename_by_link(part, to)
        }
        done => done,
    }
}

/// `renameat2(RENAME_NOREPLACE)`: renames in one call, and fails atomically with `EEXIST` if
/// `to` exists (one system call where the link and unlink of `rename_by_link` make two).
fn rename_noreplace(part: &Path, to: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    // A NUL inside a path is an `InvalidInput` error here, as in `std::fs`.
    let from = std::ffi::CString::new(part.as_os_str().as_bytes())?;
    let to = std::ffi::CString::new(to.as_os_str().as_bytes())?;
    // SAFETY: both pointers are to NUL-terminated strings that outlive the call, which only reads
    // them; `AT_FDCWD` makes relative paths relative to the working directory, as `std::fs` does.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The rename without replacing, where `renameat2` cannot: link(2) fails atomically if `to`
/// exists; then the `.part` name is dropped.
fn rename_by_link(part: &Path, to: &Path) -> io::Result<()> {
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

/// `dir/NAME` for a finished file: as [`inside`], and never a name ending in `.part`, which could
/// be this download's own `.part` or another's. `names::sanitize` never makes one; this is the
/// second lock again.
pub fn final_path(dir: &Path, name: &str) -> io::Result<PathBuf> {
    if crate::names::is_part_name(name) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing a final name ending in .part: {name:?}"),
        ));
    }
    inside(dir, name)
}

/// `dir/NAME.part` for a download named `name` (checked by [`inside`]).
pub fn part_path(dir: &Path, name: &str) -> io::Result<PathBuf> {
    inside(dir, &format!("{name}{}", crate::names::PART_SUFFIX))
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
    fn the_link_fallback_never_clobbers_either() {
        let dir = tempfile::tempdir().unwrap();
        let (part, to) = (dir.path().join("a.part"), dir.path().join("a"));
        std::fs::write(&part, b"new").unwrap();
        std::fs::write(&to, b"old").unwrap();
        let err = rename_by_link(&part, &to).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&to).unwrap(), b"old");
        std::fs::remove_file(&to).unwrap();
        rename_by_link(&part, &to).unwrap();
        assert_eq!(std::fs::read(&to).unwrap(), b"new");
        assert!(!part.exists());
    }

    #[test]
    fn a_finished_file_is_synced_then_renamed_then_its_folder_synced() {
        for force in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let (part, to) = (dir.path().join("a.part"), dir.path().join("a"));
            std::fs::write(&part, b"bytes").unwrap();
            let mut steps = Vec::new();
            finish_observed(&part, &to, force, &mut |step| {
                // Where the names stand when each step has been taken.
                steps.push((step, part.exists(), to.exists()));
            })
            .unwrap();
            // The data is on disk before any name points at it as complete, and the new name
            // is on disk before `finish` returns (and the screen says "done").
            assert_eq!(
                steps,
                [
                    (Step::SyncFile, true, false),
                    (Step::Rename, false, true),
                    (Step::SyncDir, false, true),
                ],
                "force: {force}"
            );
        }
    }

    #[test]
    fn a_final_name_is_never_a_part() {
        let dir = Path::new("/out");
        assert_eq!(final_path(dir, "a.bin").unwrap(), Path::new("/out/a.bin"));
        assert!(final_path(dir, "a.part").is_err());
        assert!(final_path(dir, "a.PART").is_err());
        assert_eq!(part_path(dir, "a").unwrap(), Path::new("/out/a.part"));
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
    fn a_write_cut_short_counts_what_was_written() {
        /// Takes 100 bytes, then reports a full disk.
        struct NearlyFull(Vec<u8>);
        impl Write for NearlyFull {
            fn write(&mut self, data: &[u8]) -> io::Result<usize> {
                let room = 100 - self.0.len();
                if room == 0 {
                    return Err(io::Error::from_raw_os_error(libc::ENOSPC));
                }
                let n = room.min(data.len()).min(30);
                self.0.extend_from_slice(&data[..n]);
                Ok(n)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let (mut disk, mut len) = (NearlyFull(Vec::new()), 7);
        let err = write_counted(&mut disk, &[1; 4096], &mut len).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
        assert_eq!((disk.0.len(), len), (100, 107));
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
