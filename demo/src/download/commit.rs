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
    /// Where its validator's sidecar would be, if one may speak for it (an older run's, or a
    /// file system without attributes); `None` when its validator is an attribute of the
    /// fresh `.part` (read before any sidecar), which spares a failing `unlink` per file.
    pub(super) sidecar: Option<PathBuf>,
    /// Whether the `.part` already carries its record (`complete.rs`), tied before its first
    /// byte with the length it has: then [`Commit::checked`] need not put it there.
    pub(super) recorded: bool,
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
    ///
    /// A file hashed on the pool as it arrived is finished there in one go: the pool thread
    /// that hashes its last bytes checks the digest, records the file as complete and joins the
    /// group commit ([`join`]), and the download hears once, when its file has its name. Once
    /// the body has ended, the file is finished even if the download is cancelled: its bytes are
    /// all there.
    pub(super) async fn run_off_loop(
        mut self,
        progress: &Progress,
        on: HashOn,
    ) -> Result<Done, DownloadError> {
        progress.hashing();
        if let Some(Hashing::Pool(feed)) = self.hashing.take() {
            let url = self.url.clone();
            let (tx, rx) = oneshot::channel();
            feed.finish_then(move |digest| self.finish_on_pool(digest, tx), before_round);
            return rx.await.unwrap_or_else(|_| {
                Err(DownloadError::Panicked {
                    url,
                    what: "the job finishing the file stopped".into(),
                })
            });
        }
        // Nothing was downloaded (the .part was complete), or `--hash-on-loop`.
        let digest = read_back_where(&self.part, &self.url, on).await?;
        let commit = self.checked(digest)?;
        let finished = finish(commit.finishing()).await;
        commit.finished(finished)
    }

    /// [`Commit::run_off_loop`]'s pool side, with the digest of all the bytes: the download's
    /// result goes to `tx` once the file has its name (or has failed).
    fn finish_on_pool(
        self,
        digest: io::Result<Digest>,
        tx: oneshot::Sender<Result<Done, DownloadError>>,
    ) {
        let checked = digest
            .map_err(|source| DownloadError::File {
                url: self.url.clone(),
                path: self.part.clone(),
                source,
            })
            .and_then(|digest| self.checked(digest));
        match checked {
            Ok(commit) => join(
                commit.finishing(),
                Box::new(move |finished| {
                    let _ = tx.send(commit.finished(finished));
                }),
            ),
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        }
    }

    /// The `.part`'s bytes are all hashed: a file that must have another SHA-256 (`-i`) never
    /// gets its name, and its `.part` is removed (its validator with it, on the `.part` or in
    /// its sidecar): its bytes are known bad. Otherwise the `.part` carries the record of a
    /// complete file (`complete.rs`; put there now unless it was tied with it), before the commit
    /// that syncs the record with the bytes and then renames.
    fn checked(mut self, digest: Digest) -> Result<Commit, DownloadError> {
        if let Some(expected) = self.expected_sha256
            && expected != digest
        {
            let _ = std::fs::remove_file(&self.part);
            if let Some(sidecar) = &self.sidecar {
                validator::remove_sidecar(sidecar);
            }
            return Err(DownloadError::Checksum {
                url: self.url,
                expected,
                actual: digest,
                kept: None,
            });
        }
        self.done.sha256 = Some(digest);
        if !self.recorded {
            let record = complete::Record {
                size: self.done.size,
                validator: self.version.take(),
            };
            // Best effort: without it a rerun only fails to recognise the file as complete.
            let _ = complete::mark(&self.part, &record);
        }
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
        // by a later run, which needs the validator.
        if let Some(sidecar) = &self.sidecar {
            validator::remove_sidecar(sidecar);
        }
        Ok(self.done)
    }
}

/// What is told a file's commit result, on the thread that committed it.
type Told = Box<dyn FnOnce(io::Result<()>) + Send>;

/// What waits to be committed, and whether a job is at it.
struct Queue {
    /// Each file, and who is told its result.
    waiting: Vec<(Finishing, Told)>,
    /// Jobs to run before the next round: the end of a file's hash, which then joins `waiting`.
    before: Vec<hash::Job>,
    /// Whether a pool job is committing (and so will take what is waiting).
    committing: bool,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue {
    waiting: Vec::new(),
    before: Vec::new(),
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
    let told: Told = Box::new(move |result| {
        let _ = tx.send(result);
    });
    if enqueue(item, told) {
        let _ = start_committing();
    }
    rx.await
        .unwrap_or_else(|_| Err(io::Error::other("the commit job stopped before this file")))
}

/// Runs `job` (what is left of a file's hash: [`hash::HashFeed::finish_then`]) on the
/// committing thread before its next round, starting a commit job if none is running. With
/// files finishing one after another, one is nearly always running: the file costs no thread's
/// wake-up, where a job of its own would cost one.
fn before_round(job: hash::Job) -> io::Result<()> {
    let start = {
        let mut queue = queue();
        queue.before.push(job);
        !std::mem::replace(&mut queue.committing, true)
    };
    if start { start_committing() } else { Ok(()) }
}

/// Starts the commit job. With no thread to commit on, fails what waits (nobody else would take
/// it) and says why.
fn start_committing() -> io::Result<()> {
    let Err(e) = reactor::blocking::unblock(commit_rounds) else {
        return Ok(());
    };
    let mut queue = queue();
    queue.committing = false;
    let (waiting, before) = (
        std::mem::take(&mut queue.waiting),
        std::mem::take(&mut queue.before),
    );
    drop(queue);
    // A job dropped unrun drops its file's result: its download hears that the job stopped.
    drop(before);
    for (_, told) in waiting {
        told(Err(io::Error::new(e.kind(), e.to_string())));
    }
    Err(e)
}

/// [`finish`] from a blocking-pool thread, without waiting: `item` joins the queue, and `told`
/// gets its result. If no job is committing, this thread becomes the one that does (it never
/// waits for another pool job, which might be queued behind it).
fn join(item: Finishing, told: Told) {
    if enqueue(item, told) {
        commit_rounds();
    }
}

/// Queues `item`; true if no job is committing, and the caller must start one.
fn enqueue(item: Finishing, told: Told) -> bool {
    let mut queue = queue();
    queue.waiting.push((item, told));
    !std::mem::replace(&mut queue.committing, true)
}

/// [`finish`], blocking the calling thread (the `--threads` design).
pub fn finish_blocking(item: Finishing) -> io::Result<()> {
    futures::executor::block_on(finish(item))
}

/// The pool job: commits what waits, round after round, until nothing does. Each round first
/// runs the jobs waiting to run before it (the ends of hashes, which add their files).
fn commit_rounds() {
    loop {
        let before = std::mem::take(&mut queue().before);
        for job in before {
            // A panic fails that file (its result is dropped), not the others.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        }
        let batch = {
            let mut queue = queue();
            if queue.waiting.is_empty() {
                if queue.before.is_empty() {
                    queue.committing = false;
                    return;
                }
                continue;
            }
            std::mem::take(&mut queue.waiting)
        };
        let (items, told): (Vec<Finishing>, Vec<Told>) = batch.into_iter().unzip();
        let done = std::panic::catch_unwind(|| part::finish_batch(&items));
        match done {
            Ok(done) => {
                for (told, result) in told.into_iter().zip(done) {
                    // One file's report panicking must not lose the others'.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| told(result)));
                }
            }
            // Dropping what would be told fails each wait; the next round goes on.
            Err(_) => drop(told),
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
        if validator::tie(&file, None, version.as_ref()).unwrap() == validator::Tied::Sidecar {
            validator::write_sidecar(&sidecar, version.as_ref()).unwrap();
        }
        std::fs::write(&part, bytes).unwrap();
        Commit {
            url: "http://h/a.bin".into(),
            part,
            hashing: None,
            sidecar: Some(sidecar),
            recorded: false,
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
    fn files_hashed_on_the_pool_are_checked_and_named_from_there() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        for i in 0..24 {
            // Each in a folder of its own, so that a round syncs several.
            let folder = dir.path().join(format!("{i}"));
            std::fs::create_dir(&folder).unwrap();
            let bytes = format!("file {i} ").repeat(5000).into_bytes();
            let digest: Digest = <sha2::Sha256 as sha2::Digest>::digest(&bytes).into();
            // The last one must have another hash.
            let expected = if i == 23 { [7; 32] } else { digest };
            let mut commit = commit_of(&folder, b"", None, Some(expected));
            std::fs::write(&commit.part, &bytes).unwrap();
            let feed = hash::HashFeed::start(None, 0, None);
            for chunk in bytes.chunks(7000) {
                feed.push(bytes::Bytes::copy_from_slice(chunk));
            }
            commit.hashing = Some(Hashing::Pool(feed));
            commit.done.size = bytes.len() as u64;
            let tx = tx.clone();
            std::thread::spawn(move || {
                let progress = Progress::new("http://h/a.bin", "a.bin");
                let done = futures::executor::block_on(
                    commit.run_off_loop(&progress, HashOn::BlockingPool),
                );
                let _ = tx.send((i, folder, bytes, digest, done));
            });
        }
        for _ in 0..24 {
            let (i, folder, bytes, digest, done) = rx
                .recv_timeout(std::time::Duration::from_secs(120))
                .unwrap();
            let part = folder.join("a.bin.part");
            if i == 23 {
                let err = done.unwrap_err();
                assert!(matches!(err, DownloadError::Checksum { .. }), "{err}");
                assert!(!part.exists() && !folder.join("a.bin").exists());
                continue;
            }
            assert_eq!(done.unwrap().sha256, Some(digest), "file {i}");
            assert_eq!(std::fs::read(folder.join("a.bin")).unwrap(), bytes);
            assert!(!part.exists());
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
        assert_eq!(complete::tests::read(&part), Some(record.clone()));
        let finished = finish_blocking(commit.finishing());
        let done = commit.finished(finished).unwrap();
        assert_eq!(done.sha256, Some(digest));
        assert_eq!(complete::tests::read(&to), Some(record));
        // The record is its one attribute: no validator of the .part's days beside it.
        let old = crate::xattr::get(&to, c"user.glass.validator").unwrap();
        assert_eq!(old, None);
    }

    #[test]
    fn a_wrong_hash_removes_the_part_and_its_validator_and_never_names_it() {
        for attributes in [true, false] {
            crate::xattr::REFUSE_FOR_TESTS.with(|r| r.set(!attributes));
            let dir = tempfile::tempdir().unwrap();
            let v = Some(Validator::ETag("\"v1\"".into()));
            let commit = commit_of(dir.path(), b"bytes", v, Some([7; 32]));
            let sidecar = commit.sidecar.clone().unwrap();
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
