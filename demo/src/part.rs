//! `NAME.part` files and the resume rules: what both download designs (glass tasks in
//! `download.rs`, OS threads in `threads.rs`) do with the disk, so the two compare like for like.
//!
//! ## The rules
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
//! - A `.part` is resumed only if it can be tied to the version of the file the server has now.
//!   The first response's validator (`validator::Validator`: its strong `ETag`, else,
//!   with no `ETag` at all, a `Last-Modified` a second or more before its `Date`) is kept as an
//!   extended attribute of the `.part` (or, where the file system has none, in a sidecar file
//!   `.NAME.part.validator`), put there before the first body byte; a resume sends it as `If-Range`, so a server whose file changed answers `200` and
//!   the download starts over; a `206` that carries another validator (a server that ignores
//!   `If-Range`) is not appended either, nor is a `416` taken to mean the `.part` is complete,
//!   but asked again without `Range`. A `.part` with no
//!   validator (its server sent none, or another program left it) starts over, unless the user
//!   passes `--continue` (`wget -c`'s name), which resumes it on trust; the output says which.
//!   The embedded files need no validator: their prefix is checked byte for byte instead.
//!   A sidecar's name starts with a dot, which no sanitised name does, so it is never a
//!   download's file or `.part`.
//! - `NAME` appears only once the `.part`'s bytes are on disk, and the run says "done" only once
//!   the name is too ([`finish_batch`]: sync, rename, sync the folder). Files that finish close
//!   together share the syncs (`download/commit.rs`).
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

mod range;

pub use range::{Decision, decide};

/// The length of an existing `.part` at `path`, `None` if there is none. A `.part` that is not a
/// plain file (a symlink planted to redirect our writes, a folder) is an error, not something to
/// follow.
pub fn existing_len(path: &Path) -> io::Result<Option<u64>> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() => Ok(Some(meta.len())),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "exists and is not a regular file",
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
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
        // Readable too: the hash reads back what an earlier run left (`hash.rs`).
        options
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(0o644);
        if have == 0 {
            options.write(true).create(true).truncate(true);
        } else {
            options.append(true);
        }
        let file = options.open(path)?;
        // Emptied by the open itself, or to be appended to: then its length is checked.
        let len = match have {
            0 => 0,
            _ => file.metadata()?.len(),
        };
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

    /// The open file.
    pub fn file(&self) -> &File {
        &self.file
    }
}

/// Starts the disk's writeback of a large file's bytes as they are written, a few MiB at a time
/// (`sync_file_range`), so that its final `fsync` has little left to write. Without it the
/// kernel may keep the whole file in memory, dirty, and write all of it during that `fsync`.
/// It starts the writes and does not wait for them: it never makes anything durable by itself.
#[derive(Debug)]
pub struct Writeback {
    /// The `.part` (a second descriptor of it).
    file: File,
    /// The bytes before this offset have been handed to the disk.
    started: u64,
}

impl Writeback {
    /// Writeback starts for every this many new bytes.
    pub const STEP: u64 = 8 << 20;

    /// For `file`, whose first `from` bytes need no more writeback started.
    pub fn new(file: File, from: u64) -> Writeback {
        Writeback {
            file,
            started: from,
        }
    }

    /// The file's first `written` bytes are written: starts writeback for them if at least
    /// [`Writeback::STEP`] have been written since the last start. Best effort: it only saves
    /// time later, so a failure (a file system without it) is ignored.
    pub fn advance(&mut self, written: u64) {
        use std::os::fd::AsRawFd;
        if written < self.started + Self::STEP {
            return;
        }
        let (from, len) = (self.started as i64, (written - self.started) as i64);
        // SAFETY: the fd is open while `self.file` lives; the call only starts writes of the
        // file's pages in that range and touches no memory of ours.
        unsafe {
            libc::sync_file_range(
                self.file.as_raw_fd(),
                from,
                len,
                libc::SYNC_FILE_RANGE_WRITE,
            );
        }
        self.started = written;
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

/// One step of [`finish_batch`], reported to its observer once taken (the seam the tests watch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The bytes of every `.part` of the batch have reached the disk.
    Sync,
    /// One file has its final name (a rename, or a link and an unlink).
    Rename,
    /// A folder's new entries have reached the disk (`fsync` of the folder).
    SyncDir,
}

/// A complete `.part` to be given its final name ([`finish_batch`]).
#[derive(Debug)]
pub struct Finishing {
    /// The complete `.part`.
    pub part: PathBuf,
    /// Its final name.
    pub to: PathBuf,
    /// Whether an existing `to` may be replaced.
    pub force: bool,
}

/// Gives each `.part` of `batch` its final name, durably: when an item's result is `Ok`, the
/// file's bytes and its name survive a power loss. Without `force` an existing name is left alone
/// and that item's result is `AlreadyExists`; its `.part` then stays too.
///
/// The order is what makes "complete" mean complete, for every file of the batch at once:
/// 1. The bytes of all the `.part`s reach the disk, *before* any name that says they are whole
///    exists (or a crash could leave `NAME` with holes of zeros, as ext4 and XFS may after a
///    rename of unsynced data). One file is `fsync`ed; several share one `syncfs`, which writes
///    them out together instead of one after another, and waits for the disk once.
/// 2. Each is renamed.
/// 3. Each folder that got a name is synced once, *after* its renames, since the new entries live
///    in the folder, not in the files.
///
/// A crash anywhere leaves each file either under its final name, complete and synced, or as its
/// complete `.part`, which the next run finds whole. This blocks for as long as the disk takes;
/// the glass design calls it on the blocking pool.
pub fn finish_batch(batch: &[Finishing]) -> Vec<io::Result<()>> {
    finish_batch_observed(batch, &mut |_| {})
}

/// [`finish_batch`], calling `observe` after each [`Step`].
fn finish_batch_observed(
    batch: &[Finishing],
    observe: &mut dyn FnMut(Step),
) -> Vec<io::Result<()>> {
    if let Err(e) = sync_parts(batch) {
        return batch.iter().map(|_| Err(copy_error(&e))).collect();
    }
    observe(Step::Sync);
    let mut results: Vec<io::Result<()>> = Vec::with_capacity(batch.len());
    for item in batch {
        let renamed = rename(&item.part, &item.to, item.force);
        if renamed.is_ok() {
            observe(Step::Rename);
        }
        results.push(renamed);
    }
    let mut folders: Vec<&Path> = batch
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_ok())
        .map(|(item, _)| folder_of(&item.to))
        .collect();
    folders.sort();
    folders.dedup();
    for folder in folders {
        let synced = File::open(folder).and_then(|dir| dir.sync_all());
        if let Err(e) = synced {
            for (item, result) in batch.iter().zip(&mut results) {
                if result.is_ok() && folder_of(&item.to) == folder {
                    *result = Err(copy_error(&e));
                }
            }
            continue;
        }
        observe(Step::SyncDir);
    }
    results
}

/// Step 1 of [`finish_batch`]: the bytes of every `.part` on disk.
fn sync_parts(batch: &[Finishing]) -> io::Result<()> {
    if let [one] = batch {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&one.part)?;
        return file.sync_all();
    }
    // `syncfs` covers the file system of the descriptor it is given: that of each folder.
    let mut folders: Vec<&Path> = batch.iter().map(|item| folder_of(&item.part)).collect();
    folders.sort();
    folders.dedup();
    for folder in folders {
        use std::os::fd::AsRawFd;
        let dir = File::open(folder)?;
        // SAFETY: the fd is open for the whole call, which takes nothing else.
        if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The folder a path's entry is in.
pub fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// An `io::Error` for each item a shared failure fails (`io::Error` is not `Clone`).
fn copy_error(e: &io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(e.kind(), e.to_string()),
    }
}

/// The rename of [`finish_batch`].
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

    /// [`finish_batch`] of one file.
    fn finish(part: &Path, to: &Path, force: bool) -> io::Result<()> {
        let one = Finishing {
            part: part.to_owned(),
            to: to.to_owned(),
            force,
        };
        finish_batch(std::slice::from_ref(&one)).remove(0)
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
            // A batch of three: two new names, and one that exists already.
            let batch: Vec<Finishing> = ["a", "b", "c"]
                .iter()
                .map(|name| Finishing {
                    part: dir.path().join(format!("{name}.part")),
                    to: dir.path().join(name),
                    force,
                })
                .collect();
            for item in &batch {
                std::fs::write(&item.part, b"bytes").unwrap();
            }
            std::fs::write(&batch[2].to, b"old").unwrap();
            let names = |batch: &[Finishing]| -> Vec<(bool, bool)> {
                batch
                    .iter()
                    .map(|i| (i.part.exists(), i.to.exists()))
                    .collect()
            };
            let mut steps = Vec::new();
            let results = finish_batch_observed(&batch, &mut |step| {
                // Where the names stand when each step has been taken.
                steps.push((step, names(&batch)));
            });
            // The data is on disk before any name points at it as complete, the new names are
            // on disk before `finish_batch` returns (and the screen says "done"), and the folder
            // is synced once for the batch, after the last rename.
            let (new, renamed, kept) = ((true, false), (false, true), (true, true));
            let last = if force { renamed } else { kept };
            let mut expected = vec![
                (Step::Sync, vec![new, new, kept]),
                (Step::Rename, vec![renamed, new, kept]),
                (Step::Rename, vec![renamed, renamed, kept]),
            ];
            if force {
                expected.push((Step::Rename, vec![renamed, renamed, renamed]));
            }
            expected.push((Step::SyncDir, vec![renamed, renamed, last]));
            assert_eq!(steps, expected, "force: {force}");
            assert!(results[0].is_ok() && results[1].is_ok());
            match force {
                true => assert!(results[2].is_ok()),
                false => {
                    let err = results[2].as_ref().unwrap_err();
                    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
                    assert_eq!(std::fs::read(&batch[2].to).unwrap(), b"old");
                }
            }
        }
    }

    #[test]
    fn writeback_starts_every_step_not_on_every_write() {
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("w")).unwrap();
        let mut writeback = Writeback::new(file, 100);
        writeback.advance(100 + Writeback::STEP - 1);
        assert_eq!(writeback.started, 100);
        writeback.advance(100 + Writeback::STEP);
        assert_eq!(writeback.started, 100 + Writeback::STEP);
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
