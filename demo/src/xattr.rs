//! Extended attributes: the one way the demo keeps a note on a file's inode, beside its length.
//! One note uses it, with two meanings: on a `.part`, its validator (`validator.rs`: which
//! version its bytes are of); on a finished file, the same note is its record (`complete.rs`:
//! that it was complete when named, and of which version). Being in the inode, a note goes wherever the file goes, needs no file of its own,
//! and is on disk with the file's own `fsync` (or `syncfs`).
//!
//! Every call here leaves symlinks alone (`l*` and `f*` calls), and every name is in the `user.`
//! namespace, which any owner of the file may write. A file system without user attributes
//! answers `ENOTSUP`; each caller says what it does then.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The most a note may hold; a longer value is not ours, and reads as none.
const MAX: usize = 4096;

/// The attribute `name` of the file at `path` (not following a symlink), as text: `None` if it
/// has none (or one that is not ours: too long, or not UTF-8). A file system without attributes
/// is an `ENOTSUP` error.
pub fn get(path: &Path, name: &CStr) -> io::Result<Option<String>> {
    refused_for_tests()?;
    let path = CString::new(path.as_os_str().as_bytes())?;
    let mut buf = [0u8; MAX];
    // SAFETY: `path` and `name` are NUL-terminated and outlive the call; `buf` is writable for
    // `buf.len()` bytes, and the kernel writes at most that many.
    let n = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    match usize::try_from(n) {
        Ok(n) => Ok(std::str::from_utf8(&buf[..n]).ok().map(str::to_owned)),
        Err(_) => match io::Error::last_os_error() {
            e if matches!(e.raw_os_error(), Some(libc::ENODATA | libc::ERANGE)) => Ok(None),
            e => Err(e),
        },
    }
}

/// Sets the attribute `name` of the open `file` to `value` (`fsetxattr`: no path lookup).
pub fn set(file: &File, name: &CStr, value: &str) -> io::Result<()> {
    refused_for_tests()?;
    // SAFETY: the fd is open for the whole call (`file` is borrowed); `name` is NUL-terminated
    // and `value` is valid for `value.len()` bytes, which the kernel only reads.
    let rc = unsafe {
        libc::fsetxattr(
            file.as_raw_fd(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    result(rc)
}

/// Sets the attribute `name` of the file at `path` (not following a symlink) to `value`.
pub fn set_path(path: &Path, name: &CStr, value: &str) -> io::Result<()> {
    refused_for_tests()?;
    let path = CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: `path` and `name` are NUL-terminated and outlive the call; `value` is valid for
    // `value.len()` bytes. The call only reads them.
    let rc = unsafe {
        libc::lsetxattr(
            path.as_ptr(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    result(rc)
}

/// `Ok` for a 0 return code, else the call's error.
fn result(rc: libc::c_int) -> io::Result<()> {
    match rc {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

#[cfg(test)]
thread_local! {
    /// Tests set this to stand for a file system without user attributes (the seam for the
    /// sidecar's path: such file systems are rare and cannot be made without privileges).
    pub static REFUSE_FOR_TESTS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `ENOTSUP` if a test has made this thread's attribute calls fail as on a file system without
/// them.
fn refused_for_tests() -> io::Result<()> {
    #[cfg(test)]
    if REFUSE_FOR_TESTS.with(|r| r.get()) {
        return Err(io::Error::from_raw_os_error(libc::ENOTSUP));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_round_trips_and_absence_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = File::create(&path).unwrap();
        let name = c"user.glass.test";
        assert_eq!(get(&path, name).unwrap(), None);
        set(&file, name, "one").unwrap();
        assert_eq!(get(&path, name).unwrap().as_deref(), Some("one"));
        set_path(&path, name, "two").unwrap();
        assert_eq!(get(&path, name).unwrap().as_deref(), Some("two"));
        REFUSE_FOR_TESTS.with(|r| r.set(true));
        let refused = set(&file, name, "x").unwrap_err();
        assert_eq!(refused.raw_os_error(), Some(libc::ENOTSUP));
    }
}
