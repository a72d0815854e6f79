//! One download, from URL to verified file: the steps both designs share ([`begin`], [`on_head`],
//! [`Sink`], [`Commit`]), and [`run`], the glass task that drives them with `http_client`. The
//! resume decision, what a `.part` and a response head decide, is `download/resume.rs`; the
//! last step, from a complete `.part` to a named, durable file, `download/commit.rs`; why a
//! download fails, `download/error.rs`.
//!
//! ```text
//!  begin ── claim the URL's name, measure NAME.part, check its bytes (embedded files),
//!    │      or find NAME already complete (a rerun)
//!  a permit for one connection to the host (--per-host), held for one attempt
//!    │
//!  request (Range: bytes=N- when N > 0) ──► on_head ── decide (part.rs) ──► Again: ask without Range
//!    │                                              └─ AlreadyComplete: rename, done
//!  Sink ── tie the .part to its version (validator.rs), then each chunk: check it, append it,
//!    │     count it, hand it to the hash (hash.rs) ──► finish: length check
//!    │
//!  Commit ── the digest (-i's sha256=: a mismatch removes NAME.part, never named), record it
//!    │       as complete (complete.rs), then sync NAME.part, rename to NAME, sync the folder,
//!    │       with the files that finish about now (download/commit.rs, off the event loop)
//!
//!  a failed attempt worth another (retry.rs) ── wait, shown on the bar ── the next attempt
//! ```

mod commit;
mod error;
mod resume;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

pub use commit::Commit;
pub use error::DownloadError;
pub use resume::{ALREADY_COMPLETE, Head, Next, Start, begin, on_head};

use crate::catalog::GeneratedFile;
use crate::claims::{Claim, Claims};
use crate::hash::{self, Digest, HashFeed, HashOn, Hashing};
use crate::part::{PartFile, Writeback};
use crate::progress::Progress;
use crate::retry;
use crate::semaphore::{PerHost, Permit, Semaphore};
use crate::validator::{self, Validator};

/// A download to do.
#[derive(Clone, Debug)]
pub struct Job {
    /// As the user gave it.
    pub url: String,
    /// For the embedded files: what every byte must be.
    pub expected: Option<Arc<GeneratedFile>>,
    /// The SHA-256 the file must have (`-i FILE`'s `sha256=HEX`).
    pub sha256: Option<Digest>,
}

/// What every download of a run shares.
#[derive(Debug)]
pub struct Settings {
    /// Where files go; nothing is written anywhere else.
    pub dir: PathBuf,
    /// Replace an existing `NAME`.
    pub force: bool,
    /// `--continue`: resume a `.part` that no validator ties to the server's version, on trust.
    pub resume_unchecked: bool,
    /// The paths being written by this run's downloads, so two of them never share a file.
    pub claims: Arc<Claims>,
    /// Where a glass download hashes its file (`--hash-on-loop`: on the event loop).
    pub hash_on: HashOn,
    /// When and how often a failed attempt is tried again (`--retry`).
    pub retry: retry::Policy,
    /// The connections each host may have at once (`--per-host`).
    pub hosts: PerHost,
}

/// A finished download.
#[derive(Clone, Debug)]
pub struct Done {
    /// Its length.
    pub size: u64,
    /// Bytes that were already on disk from an earlier run.
    pub resumed_from: u64,
    /// Whether every byte was checked against the embedded server's generator.
    pub verified: bool,
    /// What the user should know about how the `.part` was used, if anything unusual.
    pub remark: Option<&'static str>,
    /// The SHA-256 of the file's bytes, computed before it got its final name (`hash.rs`).
    pub sha256: Option<Digest>,
}

/// Where a body's bytes go: checked, appended to the `.part`, counted.
#[derive(Debug)]
pub struct Sink<'a> {
    /// For error messages.
    url: String,
    /// The `.part`, positioned at its end.
    file: PartFile,
    /// The file's full length, when the response said.
    size: Option<u64>,
    /// The generated file every byte is checked against (embedded demo only).
    expected: Option<Arc<GeneratedFile>>,
    /// Counts the bytes written, for the display.
    progress: &'a Progress,
    /// `dir/NAME`, where the `.part` goes once complete.
    final_path: PathBuf,
    /// Whether an existing `NAME` may be replaced.
    force: bool,
    /// Bytes that were on disk before this run, for the report.
    resumed_from: u64,
    /// Where the `.part`'s validator goes if the file system has no attributes; removed once the
    /// file is complete.
    sidecar: PathBuf,
    /// This response's validator, still to be tied to a fresh `.part` before its first byte;
    /// `None` once tied, or on a resume (the validator on disk is the one it matched).
    validator: Option<PendingValidator>,
    /// Whether the validator was tied as an attribute of a fresh `.part`: then no sidecar
    /// speaks for it, and none need be removed once it is complete.
    tied_as_attribute: bool,
    /// Whether that attribute is already the finished file's record (`complete.rs`): it was
    /// tied with the file's length, which [`Sink::finish`] checks.
    recorded: bool,
    /// The validator of the version being written, recorded on the file once complete.
    version: Option<Validator>,
    /// The SHA-256 the file must have before it may get its name (`-i`).
    expected_sha256: Option<Digest>,
    /// For [`Done::remark`].
    remark: Option<&'static str>,
    /// The hash of the bytes written, once [`Sink::hash`] has started it.
    hashing: Option<Hashing>,
    /// Writeback of a large file's bytes, started as they are written (unless the pool's
    /// hashing job starts it: [`Sink::hash`]).
    writeback: Option<Writeback>,
    /// Held until the file has its final name.
    _claims: Vec<Claim>,
}

impl Sink<'_> {
    /// Starts hashing the `.part` as it is written: on the blocking pool (`on`: glass's
    /// default), on this thread (`None`: `--threads`), or not yet (`--hash-on-loop`: read back
    /// at the end, in one poll). For a large file, also starts its writeback as it goes.
    pub fn hash(&mut self, on: Option<HashOn>) -> Result<(), DownloadError> {
        let have = self.file.len();
        let large = self.size.is_none_or(|size| size > Writeback::STEP);
        let file_error = |source| DownloadError::File {
            url: self.url.clone(),
            path: self.file.path().to_owned(),
            source,
        };
        // Second descriptors of the .part, for the writeback and the pool's read of the prefix.
        let dup = |wanted: bool| match wanted {
            true => self.file.file().try_clone().map(Some).map_err(file_error),
            false => Ok(None),
        };
        let writeback = dup(large)?.map(|file| Writeback::new(file, have));
        match on {
            Some(HashOn::BlockingPool) => {
                let after = writeback.map(|mut writeback| {
                    Box::new(move |written| writeback.advance(written)) as Box<_>
                });
                let feed = HashFeed::start(dup(have > 0)?, have, after);
                self.hashing = Some(Hashing::Pool(feed));
            }
            Some(HashOn::EventLoop) => self.writeback = writeback,
            None => {
                let inline = Hashing::inline(self.file.file(), have).map_err(file_error)?;
                self.hashing = Some(inline);
                self.writeback = writeback;
            }
        }
        Ok(())
    }

    /// [`Sink::write`], then, if the pool's hash has fallen far behind, waits for it to catch up
    /// (the glass design).
    pub async fn append(&mut self, data: &Bytes) -> Result<(), DownloadError> {
        self.write(data)?;
        if let Some(Hashing::Pool(feed)) = &self.hashing {
            feed.room().await;
        }
        Ok(())
    }

    /// Checks and appends one chunk of the body.
    pub fn write(&mut self, data: &Bytes) -> Result<(), DownloadError> {
        if let Some(pending) = self.validator.take() {
            let tied = self.tie(&pending)?;
            pending.finish_tie(tied, &self.url)?;
        }
        if let Some(expected) = &self.expected
            && let Some(offset) = expected.first_mismatch(self.file.len(), data)
        {
            let _ = std::fs::remove_file(self.file.path());
            return Err(DownloadError::Corrupt {
                url: self.url.clone(),
                offset,
            });
        }
        let before = self.file.len();
        let written = self.file.write(data);
        // Counted even when the write failed part way: those bytes are in the `.part`.
        self.progress.add(self.file.len() - before);
        written.map_err(|source| DownloadError::File {
            url: self.url.clone(),
            path: self.file.path().to_owned(),
            source,
        })?;
        if let Some(hashing) = &mut self.hashing {
            hashing.update(data);
        }
        if let Some(writeback) = &mut self.writeback {
            writeback.advance(self.file.len());
        }
        Ok(())
    }

    /// The body has ended: checks the length; what is left is to [`Commit`] it.
    pub fn finish(self) -> Result<Commit, DownloadError> {
        let received = self.file.len();
        let expected = self.expected.as_ref().map(|e| e.size).or(self.size);
        if let Some(expected) = expected
            && received != expected
        {
            return Err(DownloadError::Length {
                url: self.url,
                expected,
                received,
            });
        }
        let part = self.file.path().to_owned();
        drop(self.file);
        Ok(Commit {
            url: self.url,
            part,
            hashing: self.hashing,
            sidecar: (!self.tied_as_attribute).then_some(self.sidecar),
            recorded: self.recorded,
            final_path: self.final_path,
            force: self.force,
            done: Done {
                size: received,
                resumed_from: self.resumed_from,
                verified: self.expected.is_some(),
                remark: self.remark,
                sha256: None,
            },
            version: self.version,
            expected_sha256: self.expected_sha256,
            _claims: self._claims,
        })
    }
}

/// The digest of the file at `path` read back (a `.part` or a file that needed no download, or
/// every file with `--hash-on-loop`); blocks this thread.
fn read_back(path: &Path, url: &str) -> Result<Digest, DownloadError> {
    hash::hash_file(path, url)
}

/// [`read_back`] where `on` says, for a glass task: on the blocking pool, or deliberately
/// blocking inside this poll (`--hash-on-loop`: see hash.rs).
async fn read_back_where(path: &Path, url: &str, on: HashOn) -> Result<Digest, DownloadError> {
    if on == HashOn::EventLoop {
        return read_back(path, url);
    }
    let (owned_path, owned_url) = (path.to_owned(), url.to_owned());
    off_loop(url, move || read_back(&owned_path, &owned_url)).await
}

/// Runs `step` of the download of `url` on the blocking pool, awaited; a panic there is the
/// download's failure.
async fn off_loop<T: Send + 'static>(
    url: &str,
    step: impl FnOnce() -> Result<T, DownloadError> + Send + 'static,
) -> Result<T, DownloadError> {
    executor::spawn_blocking(step).await.unwrap_or_else(|e| {
        Err(DownloadError::Panicked {
            url: url.to_owned(),
            what: e.to_string(),
        })
    })
}

/// A `.part`'s validator, to be tied to it before its first byte, so that no byte of one version
/// can ever sit beside another version's validator (`validator.rs`).
#[derive(Debug)]
pub struct PendingValidator {
    /// `dir/.NAME.part.validator`, where a file system without attributes keeps it.
    sidecar: PathBuf,
    /// What the response said; `None` ties the `.part` to no version.
    version: Option<Validator>,
    /// The file's length, if the response said: tied with the validator, it makes the
    /// attribute the finished file's record as well (`complete.rs`).
    size: Option<u64>,
}

impl PendingValidator {
    /// What [`Sink::tie`] left, blocking: a sidecar written and synced (a file system without
    /// attributes). Nothing, almost always.
    fn finish_tie(self, tied: validator::Tied, url: &str) -> Result<(), DownloadError> {
        let done = match tied {
            validator::Tied::Done => Ok(()),
            validator::Tied::Sidecar => {
                validator::write_sidecar(&self.sidecar, self.version.as_ref())
            }
        };
        done.map_err(|e| self.error(url, e))
    }

    fn error(&self, url: &str, source: io::Error) -> DownloadError {
        DownloadError::File {
            url: url.to_owned(),
            path: self.sidecar.clone(),
            source,
        }
    }
}

impl Sink<'_> {
    /// Ties the fresh `.part` to `pending`'s version without waiting for the disk; what is left
    /// is [`PendingValidator::finish_tie`].
    fn tie(&mut self, pending: &PendingValidator) -> Result<validator::Tied, DownloadError> {
        let tied = validator::tie(self.file.file(), pending.size, pending.version.as_ref())
            .map_err(|e| pending.error(&self.url, e))?;
        self.tied_as_attribute = tied == validator::Tied::Done;
        self.recorded = self.tied_as_attribute && pending.size.is_some();
        Ok(tied)
    }

    /// Ties the `.part` to its version before its first byte ([`PendingValidator`]): on the
    /// event loop, where that costs an attribute's write; on the blocking pool what needs the
    /// disk (a sidecar and its `fsync`, where the file system has no attributes), so that it does
    /// not stall the event loop. Without it `write` would do the same, on the loop.
    async fn write_validator_off_loop(&mut self) -> Result<(), DownloadError> {
        let Some(pending) = self.validator.take() else {
            return Ok(());
        };
        let tied = self.tie(&pending)?;
        if tied == validator::Tied::Done {
            return Ok(());
        }
        let url = self.url.clone();
        off_loop(&self.url, move || pending.finish_tie(tied, &url)).await
    }
}

/// One download as a glass task: the client's requests, `.await`ed, fed through the shared
/// steps; a failure worth another attempt (`retry.rs`) is tried again after a wait, resuming
/// what the failed attempt left in the `.part`.
pub async fn run(
    client: &http_client::Client,
    job: &Job,
    settings: &Settings,
    progress: &Progress,
    transferred: impl FnOnce(),
) -> Result<Done, DownloadError> {
    let mut start = begin(job, settings, progress)?;
    let mut retries = 0;
    let mut transferred = Some(transferred);
    loop {
        let attempted = attempt(
            client,
            job,
            settings,
            progress,
            &mut start,
            &mut transferred,
        );
        let error = match attempted.await {
            Err(error) => error,
            done => return done,
        };
        let wait = before_retry(&mut start, settings, progress, error, &mut retries)?;
        reactor::time::sleep(wait).await;
        progress.running();
    }
}

/// A connection to the job's host if the per-host limit has one free now; otherwise the
/// download is shown waiting, and the host's semaphore is returned to wait on (each design
/// waits its own way).
pub fn connection_now(
    job: &Job,
    settings: &Settings,
    progress: &Progress,
) -> Result<Permit, std::sync::Arc<Semaphore>> {
    let (host, semaphore) = settings.hosts.for_url(&job.url);
    semaphore.try_acquire().ok_or_else(|| {
        progress.waiting(&host, settings.hosts.limit());
        semaphore
    })
}

/// After a failed attempt: the error back if it is not worth another (or the retries are used
/// up); otherwise the wait before the next attempt, shown on the download's bar, with `start`
/// ready to resume what the failed one left. Both designs call it, then wait their own way.
pub fn before_retry(
    start: &mut Start<'_>,
    settings: &Settings,
    progress: &Progress,
    error: DownloadError,
    retries: &mut u32,
) -> Result<std::time::Duration, DownloadError> {
    let Some(failure) = retry::transient(&error).filter(|_| *retries < settings.retry.retries)
    else {
        return Err(error);
    };
    let wait = settings.retry.wait(*retries, &failure);
    *retries += 1;
    start.again_after_failure()?;
    progress.retrying(wait, &failure.reason);
    Ok(wait)
}

/// One attempt: asks (again, if the `.part` or the rules say so) and saves what comes.
async fn attempt<'a>(
    client: &http_client::Client,
    job: &Job,
    settings: &Settings,
    progress: &Progress,
    start: &mut Start<'a>,
    transferred: &mut Option<impl FnOnce()>,
) -> Result<Done, DownloadError> {
    if let Some(there) = start.already_complete()? {
        return there.hash_and_check(job, progress, settings.hash_on).await;
    }
    // One of the host's connections, held while this attempt talks to it (given back before the
    // commit and the hash, and during a retry's wait).
    let connection = match connection_now(job, settings, progress) {
        Ok(permit) => permit,
        Err(semaphore) => {
            let permit = semaphore.acquire().await;
            progress.running();
            permit
        }
    };
    loop {
        let mut request = client.get(&job.url);
        for (name, value) in start.headers() {
            request = request.header(name, value);
        }
        let mut response = request.send().await.map_err(DownloadError::Client)?;
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let head = Head {
            status: response.status().as_u16(),
            content_length: response.content_length(),
            content_range: header(http::header::CONTENT_RANGE),
            content_disposition: header(http::header::CONTENT_DISPOSITION),
            etag: header(http::header::ETAG),
            last_modified: header(http::header::LAST_MODIFIED),
            date: header(http::header::DATE),
            retry_after: header(http::header::RETRY_AFTER),
        };
        match on_head(start, &head)? {
            Next::Again => continue,
            Next::Skip(there) => {
                return there.hash_and_check(job, progress, settings.hash_on).await;
            }
            Next::Complete(commit) => {
                return commit.run_off_loop(progress, settings.hash_on).await;
            }
            Next::Body(mut sink) => {
                sink.write_validator_off_loop().await?;
                sink.hash(Some(settings.hash_on))?;
                while let Some(chunk) = response.chunk().await.map_err(DownloadError::Client)? {
                    sink.append(&chunk).await?;
                }
                drop((response, connection));
                let commit = sink.finish()?;
                // Only the disk is left to wait for: the run may start another download.
                if let Some(transferred) = transferred.take() {
                    transferred();
                }
                return commit.run_off_loop(progress, settings.hash_on).await;
            }
        }
    }
}
