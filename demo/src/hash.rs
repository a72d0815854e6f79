//! The seed's CPU-bound half: the SHA-256 of each finished download, so the demo contrasts work
//! that waits (the download: the thread mostly sleeps in `epoll_wait`) with work that computes
//! (the hash: every byte goes through the CPU, and nothing waits).
//!
//! ## Where the hash runs, and why it shows
//! - By default on the blocking pool ([`executor::spawn_blocking`]): the download's task awaits it
//!   like any other event, and the thread goes on drawing the bars and moving the other
//!   downloads' bytes meanwhile.
//! - With `--hash-on-loop`, inside the download task's poll, on the event loop: the whole file is
//!   hashed in that one poll, and nothing else runs until it is done. The bars freeze, the
//!   executor's slow-poll warning names the task, and the summary gives the display's longest
//!   stall. This is the mistake tokio-console's "task never yields" warns about, made on purpose.
//!
//! ## What is hashed: the file on disk, read back
//! The hash is of the final file, read back in chunks after its `fsync` and rename, not of the
//! bytes as they went past on their way to the `.part`. Hashing while writing would cost the
//! same CPU, but spread over every chunk's poll: no poll would be long enough to see, which
//! hides the lesson; and it would vouch for the bytes in memory, not for what the file system
//! gives back to the next reader (`sha256sum` on the file must print the same value). The cost
//! is a second pass over the file, from the page cache, and it stays off the critical path's
//! logic: the download is complete and durable before hashing starts, so a hash that fails
//! (the file vanished, say) fails the download's report, never its data.

use std::fmt::Write as _;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::download::{Done, DownloadError};
use crate::progress::Progress;

/// A SHA-256 digest.
pub type Digest = [u8; 32];

/// Where the hash is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashOn {
    /// On the blocking pool: the event loop goes on meanwhile.
    BlockingPool,
    /// In the download task's poll (`--hash-on-loop`): the event loop stops until it is done.
    EventLoop,
}

/// How much of the file is read at a time: big enough that the reads cost little next to the
/// hashing, small enough that the blocking pool's threads (up to 16, each hashing a file) hold
/// little memory: with 1 MiB chunks, 2,000 small files peaked at 25.6 MiB of RSS
/// and with 64 KiB at 10.6 MiB (`TOOLS=demo ROUNDS=1 benches/downloaders.sh 2000x16k`).
const CHUNK: usize = 64 << 10;

/// The SHA-256 of the file at `path`, read in chunks. Blocks the calling thread until done.
pub fn sha256_file(path: &Path) -> io::Result<Digest> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; CHUNK];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok(hasher.finalize().into()),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// `digest` in lowercase hex, as `sha256sum` prints it.
pub fn hex(digest: &Digest) -> String {
    digest.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// Hashes the finished file at `path` on this thread, blocking it, and puts the digest in
/// `done` (`--threads` calls this on the download's own thread). `url` names the download in
/// errors.
pub fn hash_here(mut done: Done, path: &Path, url: &str) -> Result<Done, DownloadError> {
    let digest = sha256_file(path).map_err(|source| DownloadError::File {
        url: url.to_owned(),
        path: path.to_owned(),
        source,
    })?;
    done.sha256 = Some(digest);
    Ok(done)
}

/// [`hash_here`] where `on` says, for a glass download task, showing "hashing" meanwhile.
pub async fn hash_done(
    done: Done,
    path: PathBuf,
    url: &str,
    progress: &Progress,
    on: HashOn,
) -> Result<Done, DownloadError> {
    progress.hashing();
    match on {
        HashOn::BlockingPool => {
            let owned_url = url.to_owned();
            let hashed = executor::spawn_blocking(move || hash_here(done, &path, &owned_url));
            hashed.await.unwrap_or_else(|e| {
                Err(DownloadError::Panicked {
                    url: url.to_owned(),
                    what: e.to_string(),
                })
            })
        }
        // Deliberately blocking, inside this poll: see the module docs.
        HashOn::EventLoop => hash_here(done, &path, url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_sha256_of_the_whole_file_in_hex() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        // FIPS 180-2's first example.
        assert_eq!(
            hex(&sha256_file(&path).unwrap()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // More than one chunk: the chunks are hashed in order, none twice.
        let big: Vec<u8> = (0..CHUNK * 2 + 7).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &big).unwrap();
        let expected: Digest = Sha256::digest(&big).into();
        assert_eq!(sha256_file(&path).unwrap(), expected);
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(sha256_file(&dir.path().join("gone")).is_err());
    }
}
