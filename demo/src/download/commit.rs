//! A download's last step, [`Commit`]: its digest (checked against `-i`'s, if any), the record
//! that it is complete (`complete.rs`), then its final name, durably, by group commit: downloads
//! that finish close together are made durable together.
//!
//! Each finished `.part` joins a queue. One blocking-pool job at a time takes everything queued
//! and gives it its final name with [`part::finish_batch`] (sync, renames, one sync per folder),
//! then tells each download how it went; files that finish while it works wait for its next
//! round. So a lone large file is `fsync`ed on its own, as before, while 2,000 small ones make a
//! few dozen rounds instead of 2,000 `fsync`s of a file and 2,000 of their folder: the waiting
//! for the disk is shared, as a database shares it between transactions.
//!
//! ```text
//!  download A ─┐                 ┌─ syncfs ─ rename A, B, C ─ fsync folder ─► A, B, C done
//!  download B ─┼─► queue ─► job ─┤
//!  download C ─┘   download D ──►└─ (next round) fsync D ─ rename D ─ fsync folder ─► D done
//! ```

use std::io;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use futures::channel::oneshot;

use super::{Done, DownloadError, error::rename_error, read_back, read_back_where};
use crate::claims::Claim;
use crate::complete;
use crate::hash::{self, Digest, HashOn, Hashing};
use crate::part::{self, Finishing};
use crate::progress::Progress;
use crate::validator::{self, Validator};

/// A complete `.part`, to be hashed (if its hash did not run as it was written), checked, and
/// given its final name durably ([`part::finish_batch`], with the files that finish about now).
/// A step of its own because it waits for the disk: `--threads` waits inline, glass for the
/// blocking pool, so that one file's sync does not stall every other download.
#[derive(Debug)]
pub struct Commit {
    /// For error messages.
    pub(super) url: String,
    /// The complete `.part`.
    pub(super) part: PathBuf,
    /// The hash of its bytes as they were written, if it was computed that way.
    pub(super) hashing: Option<Hashing>,
    /// Its validator's sidecar, if the file system needed one.
    pub(super) sidecar: PathBuf,
    /// `dir/NAME`.
    pub(super) final_path: PathBuf,
    /// Whether an existing `NAME` may be replaced.
    pub(super) force: bool,
    /// What to report once done.
    pub(super) done: Done,
    /// The validator of its version, for the record a rerun reads (`complete.rs`).
    pub(super) version: Option<Validator>,
    /// The SHA-256 it must have before it may get its name (`-i`).
    pub(super) expected_sha256: Option<Digest>,
    /// Held until the file has its final name.
    pub(super) _claims: Vec<Claim>,
}

impl Commit {
    /// The digest, then the commit, on this thread (`--threads`).
    pub fn run_and_hash(mut self) -> Result<Done, DownloadError> {
        let digest = match self.hashing.take() {
            Some(Hashing::Inline(hasher)) => hash::digest(*hasher),
            _ => read_back(&self.part, &self.url)?,
        };
        let commit = self.checked(digest)?;
        let finished = finish_blocking(commit.finishing());
        commit.finished(finished)
    }

    /// The digest, then the commit, off the event loop (except the digest with `--hash-on-loop`:
    /// `on`), showing "hashing" meanwhile.
    pub(super) async fn run_off_loop(
        mut self,
        progress: &Progress,
        on: HashOn,
    ) -> Result<Done, DownloadError> {
        progress.hashing();
        let digest = match self.hashing.take() {
            Some(Hashing::Pool(feed)) => {
                feed.finish().await.map_err(|source| DownloadError::File {
                    url: self.url.clone(),
                    path: self.part.clone(),
                    source,
                })?
            }
            // Nothing was downloaded (the .part was complete), or `--hash-on-loop`.
            _ => read_back_where(&self.part, &self.url, on).await?,
        };
        let commit = self.checked(digest)?;
        let finished = finish(commit.finishing()).await;
        commit.finished(finished)
    }

    /// The `.part`'s bytes are all hashed: a file that must have another SHA-256 (`-i`) never
    /// gets its name, and its `.part` is removed (its validator with it, on the `.part` or in
    /// its sidecar): its bytes are known bad. Otherwise the `.part` is recorded as complete
    /// (`complete.rs`), before the commit that syncs the record with the bytes and then renames.
    fn checked(mut self, digest: Digest) -> Result<Commit, DownloadError> {
        if let Some(expected) = self.expected_sha256
            && expected != digest
        {
            let _ = std::fs::remove_file(&self.part);
            validator::remove_sidecar(&self.sidecar);
            return Err(DownloadError::Checksum {
                url: self.url,
                expected,
                actual: digest,
                kept: None,
            });
        }
        self.done.sha256 = Some(digest);
        let record = complete::Record {
            size: self.done.size,
            validator: self.version.take(),
        };
        // Best effort: without it a rerun only fails to recognise the file as complete.
        let _ = complete::mark(&self.part, &record);
        Ok(self)
    }

    /// What [`part::finish_batch`] needs.
    fn finishing(&self) -> Finishing {
        Finishing {
            part: self.part.clone(),
            to: self.final_path.clone(),
            force: self.force,
        }
    }

    /// The download's end, once the commit has gone as `finished` says.
    fn finished(self, finished: io::Result<()>) -> Result<Done, DownloadError> {
        finished.map_err(|e| rename_error(&self.url, &self.final_path, e))?;
        // Only now: until the file has its name, its .part may be resumed (or found complete)
        // by a later run, which needs the validator. Best effort: it describes nothing any more
        // (the record of the finished file names the version).
        validator::untie_path(&self.final_path);
        validator::remove_sidecar(&self.sidecar);
        Ok(self.done)
    }
}

/// What waits to be committed, and whether a job is at it.
struct Queue {
    /// Each file, and where its result goes.
    waiting: Vec<(Finishing, oneshot::Sender<io::Result<()>>)>,
    /// Whether a pool job is committing (and so will take what is waiting).
    committing: bool,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue {
    waiting: Vec::new(),
    committing: false,
});

fn queue() -> MutexGuard<'static, Queue> {
    QUEUE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Gives `item` its final name durably, with whatever else finishes about now
/// ([`part::finish_batch`]'s guarantees, for this file). Once queued, the file is committed even
/// if this future is dropped (a cancelled download): it is complete, and only its result is lost.
pub async fn finish(item: Finishing) -> io::Result<()> {
    let (tx, rx) = oneshot::channel();
    let start_job = {
        let mut queue = queue();
        queue.waiting.push((item, tx));
        !std::mem::replace(&mut queue.committing, true)
    };
    if start_job && let Err(e) = reactor::blocking::unblock(commit_rounds) {
        // No thread to commit on: fail what waits (nobody else would take it).
        let mut queue = queue();
        queue.committing = false;
        for (_, tx) in queue.waiting.drain(..) {
            let _ = tx.send(Err(io::Error::new(e.kind(), e.to_string())));
        }
    }
    rx.await
        .unwrap_or_else(|_| Err(io::Error::other("the commit job stopped before this file")))
}

/// [`finish`], blocking the calling thread (the `--threads` design).
pub fn finish_blocking(item: Finishing) -> io::Result<()> {
    futures::executor::block_on(finish(item))
}

/// The pool job: commits what waits, round after round, until nothing does.
fn commit_rounds() {
    loop {
        let batch = {
            let mut queue = queue();
            if queue.waiting.is_empty() {
                queue.committing = false;
                return;
            }
            std::mem::take(&mut queue.waiting)
        };
        let (items, results): (Vec<Finishing>, Vec<_>) = batch.into_iter().unzip();
        let done = std::panic::catch_unwind(|| part::finish_batch(&items));
        match done {
            Ok(done) => {
                for (tx, result) in results.into_iter().zip(done) {
                    let _ = tx.send(result);
                }
            }
            // Dropping the senders fails each wait; the next round goes on.
            Err(_) => drop(results),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn files_finished_together_each_get_their_own_result() {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..24).map(|i| format!("f{i}")).collect();
        for name in &names {
            std::fs::write(dir.path().join(format!("{name}.part")), name).unwrap();
        }
        // One name is taken: only that file fails, and keeps its .part.
        std::fs::write(dir.path().join("f7"), b"old").unwrap();
        let results: Vec<io::Result<()>> = std::thread::scope(|scope| {
            let finishing: Vec<_> = names
                .iter()
                .map(|name| {
                    let item = Finishing {
                        part: dir.path().join(format!("{name}.part")),
                        to: dir.path().join(name),
                        force: false,
                    };
                    scope.spawn(move || finish_blocking(item))
                })
                .collect();
            finishing.into_iter().map(|t| t.join().unwrap()).collect()
        });
        for (name, result) in names.iter().zip(&results) {
            if name == "f7" {
                assert_eq!(
                    result.as_ref().unwrap_err().kind(),
                    io::ErrorKind::AlreadyExists
                );
                assert_eq!(std::fs::read(dir.path().join("f7")).unwrap(), b"old");
                assert!(dir.path().join("f7.part").exists());
            } else {
                assert!(result.is_ok(), "{name}: {result:?}");
                assert_eq!(
                    std::fs::read_to_string(dir.path().join(name)).unwrap(),
                    *name
                );
                assert!(!dir.path().join(format!("{name}.part")).exists());
            }
        }
    }

    /// A [`Commit`] of `dir/a.bin.part` (holding `bytes`, tied to `version`), which must have
    /// the SHA-256 `expected` if given.
    fn commit_of(
        dir: &Path,
        bytes: &[u8],
        version: Option<Validator>,
        expected: Option<Digest>,
    ) -> Commit {
        let part = dir.join("a.bin.part");
        let sidecar = validator::validator_path(dir, "a.bin").unwrap();
        let file = std::fs::File::create(&part).unwrap();
        if validator::tie(&file, &sidecar, version.as_ref()).unwrap() == validator::Tied::Sidecar {
            validator::write_sidecar(&sidecar, version.as_ref()).unwrap();
        }
        std::fs::write(&part, bytes).unwrap();
        Commit {
            url: "http://h/a.bin".into(),
            part,
            hashing: None,
            sidecar,
            final_path: dir.join("a.bin"),
            force: false,
            done: Done {
                size: bytes.len() as u64,
                resumed_from: 0,
                verified: false,
                remark: None,
                sha256: None,
            },
            version,
            expected_sha256: expected,
            _claims: Vec::new(),
        }
    }

    #[test]
    fn a_checked_part_carries_its_record_before_its_rename() {
        let dir = tempfile::tempdir().unwrap();
        let v = Validator::ETag("\"v1\"".into());
        let digest: Digest = <sha2::Sha256 as sha2::Digest>::digest(b"bytes").into();
        let commit = commit_of(dir.path(), b"bytes", Some(v.clone()), Some(digest));
        let (part, to) = (commit.part.clone(), commit.final_path.clone());
        let commit = commit.checked(digest).unwrap();
        // On the .part, so the commit's sync takes it to the disk before the rename.
        let record = complete::Record {
            size: 5,
            validator: Some(v),
        };
        assert_eq!(complete::read(&part), Some(record.clone()));
        let finished = finish_blocking(commit.finishing());
        let done = commit.finished(finished).unwrap();
        assert_eq!(done.sha256, Some(digest));
        assert_eq!(complete::read(&to), Some(record));
        // The finished file keeps the record, not the .part's validator.
        assert_eq!(
            validator::read_validator(&to, Path::new("/none")).unwrap(),
            None
        );
    }

    #[test]
    fn a_wrong_hash_removes_the_part_and_its_validator_and_never_names_it() {
        for attributes in [true, false] {
            crate::xattr::REFUSE_FOR_TESTS.with(|r| r.set(!attributes));
            let dir = tempfile::tempdir().unwrap();
            let v = Some(Validator::ETag("\"v1\"".into()));
            let commit = commit_of(dir.path(), b"bytes", v, Some([7; 32]));
            let sidecar = commit.sidecar.clone();
            assert_eq!(sidecar.exists(), !attributes);
            let err = commit.run_and_hash().unwrap_err();
            assert!(
                matches!(err, DownloadError::Checksum { kept: None, .. }),
                "{err}"
            );
            // Nothing left: no name, no .part to resume, no sidecar to speak for one.
            let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
            assert!(left.is_empty(), "attributes: {attributes}: {left:?}");
        }
    }
}
