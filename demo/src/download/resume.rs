//! The resume decision: what an earlier run's `.part` is worth before the first request
//! ([`begin`]), and what a response head makes of it ([`on_head`]): append to it, start over,
//! commit it as already complete, or fail. Both designs (glass tasks in `download.rs`, OS threads
//! in `threads.rs`) run these same rules, so they resume alike.
//!
//! ```text
//!  begin ── claim the URL's name, measure NAME.part
//!    ├─ embedded file: keep the .part only if its bytes are the generator's
//!    ├─ otherwise: keep it only if a validator ties it to a version (or --continue)
//!    └─ no .part, and NAME carries a finished download's record (complete.rs):
//!         already_complete ── no validator (or an embedded file, checked): skip it, no request
//!         headers ── If-None-Match: a 304 skips it (Next::Skip), a 200 is another version
//!  on_head ── part::decide (status, Content-Range, length) ── a validator that no longer
//!    │        matches turns Append or AlreadyComplete into StartOver
//!    ├─ StartOver: ask again without Range, once (Next::Again)
//!    ├─ AlreadyComplete: Next::Complete, the .part is committed as it is
//!    └─ Fresh / Append: name the file, refuse to overwrite, open the .part (Next::Body)
//!  again_after_failure ── after an attempt worth retrying: measure the .part again (a body cut
//!                         short is resumed from where it stopped)
//! ```

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::{
    Commit, Done, DownloadError, Job, PendingValidator, Settings, Sink, read_back, read_back_where,
};
use crate::catalog::GeneratedFile;
use crate::claims::Claim;
use crate::complete::{self, AtName, Record};
use crate::hash::{Digest, HashOn};
use crate::names;
use crate::part::{self, Decision, PartFile};
use crate::progress::Progress;
use crate::validator::{self, Validator};

/// A download that has claimed its name and measured its `.part`, between requests.
#[derive(Debug)]
pub struct Start<'a> {
    /// What is being downloaded.
    job: &'a Job,
    /// Where to, and whether to overwrite.
    settings: &'a Settings,
    /// Told the file's name and size once a response gives them.
    progress: &'a Progress,
    /// The name from the URL: the `.part`'s name, and the file's unless the server names it.
    url_name: String,
    /// The names held for this download: the URL's, and the server's if it differs.
    claims: Vec<Claim>,
    /// `dir/url_name.part`.
    part: PathBuf,
    /// Where the `.part`'s validator is kept if the file system has no attributes
    /// (`validator::validator_path`).
    sidecar: PathBuf,
    /// The validator of the `.part`'s bytes, sent as `If-Range` on a resume.
    validator: Option<Validator>,
    /// For [`Done::remark`].
    remark: Option<&'static str>,
    /// Bytes already in the `.part`: the next request asks for `Range: bytes={have}-` if > 0.
    pub have: u64,
    /// Whether the `.part` has already been given up once (a second failure is an error).
    restarted: bool,
    /// A complete `NAME` from an earlier run, with no `.part` beside it: the next request asks
    /// whether the server's version is still the recorded one (`complete.rs`).
    complete: Option<Finished>,
    /// Whether the look for that found nothing at all at `NAME` (the URL's name), so that
    /// [`on_head`] need not look again before downloading into it.
    name_free: bool,
}

/// A file an earlier run finished, found at its final name with its record.
#[derive(Debug)]
struct Finished {
    /// `dir/NAME`.
    path: PathBuf,
    /// What that run recorded.
    record: Record,
}

/// A file that is already complete: nothing to download, only to report (and hash).
#[derive(Debug)]
pub struct AlreadyThere {
    /// Where it is.
    pub path: PathBuf,
    /// What to report.
    pub done: Done,
}

/// What one response head is, for [`on_head`]: the few headers the rules need.
#[derive(Debug, Default)]
pub struct Head {
    /// 200, 206, 416, or anything else (which fails the download).
    pub status: u16,
    /// The body's length, if announced (not for chunked bodies).
    pub content_length: Option<u64>,
    /// Where a 206's body belongs in the file, or a 416's file size.
    pub content_range: Option<String>,
    /// The name the server gives the file, if any (used only for a fresh download).
    pub content_disposition: Option<String>,
    /// Its `ETag`, if any.
    pub etag: Option<String>,
    /// Its `Last-Modified`, if any.
    pub last_modified: Option<String>,
    /// Its `Date`, if any: whether `Last-Modified` may stand for the version.
    pub date: Option<String>,
    /// Its `Retry-After`, if any: how long to wait before asking again (`retry.rs`).
    pub retry_after: Option<String>,
}

/// What to do after a response head.
#[derive(Debug)]
pub enum Next<'a> {
    /// Stream the body into this sink.
    Body(Sink<'a>),
    /// Nothing more to receive: the `.part` was already complete; it is to be committed.
    Complete(Commit),
    /// Ask again, without `Range` (`Start::have` is now 0).
    Again,
    /// The server says the complete file on disk is its current version (`304`).
    Skip(AlreadyThere),
}

/// Starts `job`: claims its name and looks at any `.part` left by an earlier run.
pub fn begin<'a>(
    job: &'a Job,
    settings: &'a Settings,
    progress: &'a Progress,
) -> Result<Start<'a>, DownloadError> {
    progress.start();
    let url_name = names::from_url(&job.url);
    let claim = settings
        .claims
        .claim(&url_name)
        .ok_or_else(|| DownloadError::NameTaken {
            url: job.url.clone(),
            name: url_name.clone(),
        })?;
    let file_error = |path: &Path, source| DownloadError::File {
        url: job.url.clone(),
        path: path.to_owned(),
        source,
    };
    let part =
        part::part_path(&settings.dir, &url_name).map_err(|e| file_error(&settings.dir, e))?;
    let sidecar = validator::validator_path(&settings.dir, &url_name)
        .map_err(|e| file_error(&settings.dir, e))?;
    let mut start = Start {
        job,
        settings,
        progress,
        url_name,
        claims: vec![claim],
        part,
        sidecar,
        validator: None,
        remark: None,
        have: 0,
        restarted: false,
        complete: None,
        name_free: false,
    };
    start.inspect()?;
    Ok(start)
}

impl<'a> Start<'a> {
    /// Looks at what is on disk: the `.part` (how much of it can be resumed) or, with none, a
    /// file an earlier run completed.
    fn inspect(&mut self) -> Result<(), DownloadError> {
        let (job, settings) = (self.job, self.settings);
        let file_error = |path: &Path, source| DownloadError::File {
            url: job.url.clone(),
            path: path.to_owned(),
            source,
        };
        self.validator = None;
        self.complete = None;
        self.name_free = false;
        let on_disk = part::existing_len(&self.part).map_err(|e| file_error(&self.part, e))?;
        self.have = on_disk.unwrap_or(0);
        // With --force, a file that must have a given SHA-256 is downloaded again rather than
        // checked: what --force is for when its hash was found wrong.
        let recheck = settings.force && job.sha256.is_some();
        if on_disk.is_none() && !recheck {
            let path = part::final_path(&settings.dir, &self.url_name)
                .map_err(|e| file_error(&settings.dir, e))?;
            match complete::look(&path) {
                AtName::Complete(record) => self.complete = Some(Finished { path, record }),
                AtName::Nothing => self.name_free = true,
                AtName::Other => {}
            }
        }
        if let Some(expected) = &job.expected {
            let have = self.have;
            if have > 0
                && !prefix_matches(&self.part, have, expected)
                    .map_err(|e| file_error(&self.part, e))?
            {
                self.have = 0; // A .part that is not a prefix of the file is worth nothing.
            }
        } else if self.have > 0 {
            self.validator = validator::read_validator(&self.part, &self.sidecar)
                .map_err(|e| file_error(&self.part, e))?;
            match (&self.validator, settings.resume_unchecked) {
                (Some(_), _) => {}
                (None, true) => {
                    self.remark = Some("resumed with nothing to tie it to this version")
                }
                (None, false) => {
                    self.have = 0;
                    self.remark = Some(
                        "started over: nothing tied the old .part to this version of the file \
                         (--continue resumes one anyway)",
                    );
                }
            }
        }
        Ok(())
    }

    /// After a failed attempt (a connection cut, a `503`...), before the next: takes the
    /// download's name again if the failure gave it back, and looks at the `.part` again, which
    /// may have grown (a body cut short is resumed, not started over).
    pub fn again_after_failure(&mut self) -> Result<(), DownloadError> {
        if self.claims.is_empty() {
            let claim = self.settings.claims.claim(&self.url_name).ok_or_else(|| {
                DownloadError::NameTaken {
                    url: self.job.url.clone(),
                    name: self.url_name.clone(),
                }
            })?;
            self.claims.push(claim);
        }
        self.restarted = false;
        self.inspect()
    }

    /// A complete file that needs no request to be recognised: an embedded file whose bytes are
    /// the generator's, or one whose server gave no validator to ask about (its record is
    /// trusted). A complete file with a validator is asked about instead ([`headers`]).
    ///
    /// [`headers`]: Start::headers
    pub fn already_complete(&mut self) -> Result<Option<AlreadyThere>, DownloadError> {
        let Some(finished) = &self.complete else {
            return Ok(None);
        };
        let known = match &self.job.expected {
            Some(expected) => {
                let size = finished.record.size;
                size == expected.size
                    && prefix_matches(&finished.path, size, expected).map_err(|source| {
                        DownloadError::File {
                            url: self.job.url.clone(),
                            path: finished.path.clone(),
                            source,
                        }
                    })?
            }
            // With --force, a file nothing can check is downloaded again.
            None => finished.record.validator.is_none() && !self.settings.force,
        };
        if !known {
            if finished.record.validator.is_none() {
                self.complete = None;
            }
            return Ok(None);
        }
        Ok(self.complete.take().map(|finished| self.skip(finished)))
    }

    /// Reports `finished` as already complete.
    fn skip(&self, finished: Finished) -> AlreadyThere {
        let size = finished.record.size;
        let name = self.url_name.clone();
        self.progress.receiving(&name, Some(size), size);
        AlreadyThere {
            path: finished.path,
            done: Done {
                size,
                resumed_from: size,
                verified: self.job.expected.is_some(),
                remark: Some(ALREADY_COMPLETE),
                sha256: None,
            },
        }
    }

    /// What every download of the run shares.
    pub fn settings(&self) -> &'a Settings {
        self.settings
    }

    /// The download's progress.
    pub fn progress(&self) -> &'a Progress {
        self.progress
    }

    /// The headers of the next request: `Range` and `If-Range` to resume a `.part`, or
    /// `If-None-Match` (`If-Modified-Since`) to ask whether a complete file is still current.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = Vec::new();
        if self.have > 0 {
            headers.push(("range", format!("bytes={}-", self.have)));
            if let Some(validator) = &self.validator {
                headers.push(("if-range", validator.value().to_owned()));
            }
        }
        match self
            .complete
            .as_ref()
            .and_then(|c| c.record.validator.as_ref())
        {
            Some(Validator::ETag(tag)) => headers.push(("if-none-match", tag.clone())),
            Some(Validator::LastModified(date)) => {
                headers.push(("if-modified-since", date.clone()));
            }
            None => {}
        }
        headers
    }
}

impl AlreadyThere {
    /// Hashes the file where `on` says (a glass task), then checks the hash against the
    /// job's, if it has one.
    pub async fn hash_and_check(
        self,
        job: &Job,
        progress: &Progress,
        on: HashOn,
    ) -> Result<Done, DownloadError> {
        progress.hashing();
        let digest = read_back_where(&self.path, &job.url, on).await?;
        self.check(job, digest)
    }

    /// [`hash_and_check`](AlreadyThere::hash_and_check) on this thread (`--threads`).
    pub fn hash_and_check_here(self, job: &Job) -> Result<Done, DownloadError> {
        let digest = read_back(&self.path, &job.url)?;
        self.check(job, digest)
    }

    /// A complete file must still have the SHA-256 the job asks for; if not, it is kept as it
    /// is (it is not this run's to remove) and the download fails saying so.
    fn check(mut self, job: &Job, digest: Digest) -> Result<Done, DownloadError> {
        match job.sha256 {
            Some(expected) if expected != digest => Err(DownloadError::Checksum {
                url: job.url.clone(),
                expected,
                actual: digest,
                kept: Some(self.path),
            }),
            _ => {
                self.done.sha256 = Some(digest);
                Ok(self.done)
            }
        }
    }
}

/// [`Done::remark`] of a file found complete, not downloaded.
pub const ALREADY_COMPLETE: &str = "already complete";

/// Whether the first `have` bytes at `path` are the generated file's.
fn prefix_matches(path: &Path, have: u64, expected: &GeneratedFile) -> io::Result<bool> {
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0; 1 << 16];
    let mut offset = 0;
    while offset < have {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(false);
        }
        if expected.first_mismatch(offset, &buf[..n]).is_some() {
            return Ok(false);
        }
        offset += n as u64;
    }
    Ok(true)
}

/// Applies the resume rules to a response head and prepares the file it goes to.
pub fn on_head<'a>(start: &mut Start<'a>, head: &Head) -> Result<Next<'a>, DownloadError> {
    let url = &start.job.url;
    // The answer to `If-None-Match`: still the recorded version, or another one.
    if let Some(finished) = start.complete.take() {
        match head.status {
            304 => return Ok(Next::Skip(start.skip(finished))),
            200 if !start.settings.force => {
                return Err(DownloadError::Changed {
                    url: url.clone(),
                    path: finished.path,
                });
            }
            // With --force the new version replaces it; any other answer is taken as usual.
            _ => {}
        }
    }
    let mut decision = part::decide(
        head.status,
        head.content_range.as_deref(),
        head.content_length,
        start.have,
    );
    // The right range of another version is still the wrong bytes (a server that ignored
    // If-Range, or answered for a file that changed without it): ask for the whole file. A 416
    // "you have it all" is the same claim about whichever version the server has now: it
    // finishes the .part only if it names the .part's version.
    if let (Decision::Append { .. } | Decision::AlreadyComplete, Some(validator)) =
        (decision, &start.validator)
        && !validator.matches(head.etag.as_deref(), head.last_modified.as_deref())
    {
        decision = Decision::StartOver;
    }
    let (size, have) = match decision {
        Decision::StartOver if start.restarted => {
            return Err(DownloadError::ResumeRefused {
                url: url.clone(),
                status: head.status,
            });
        }
        Decision::StartOver => {
            start.restarted = true;
            start.have = 0;
            start.validator = None;
            return Ok(Next::Again);
        }
        Decision::Refused => {
            return Err(DownloadError::Status {
                url: url.clone(),
                status: head.status,
                retry_after: head.retry_after.clone(),
            });
        }
        Decision::AlreadyComplete => (Some(start.have), start.have),
        Decision::Fresh { size } => (size, 0),
        Decision::Append { size } => (size, start.have),
    };
    // A resumed download keeps the name its .part has; otherwise the server may name the file.
    let name = match head.content_disposition.as_deref() {
        Some(cd) if have == 0 => names::from_content_disposition(cd),
        _ => None,
    }
    .unwrap_or_else(|| start.url_name.clone());
    if name != start.url_name {
        let claim = start
            .settings
            .claims
            .claim(&name)
            .ok_or_else(|| DownloadError::NameTaken {
                url: url.clone(),
                name: name.clone(),
            })?;
        start.claims.push(claim);
    }
    let final_path =
        part::final_path(&start.settings.dir, &name).map_err(|source| DownloadError::File {
            url: url.clone(),
            path: start.settings.dir.clone(),
            source,
        })?;
    // Only to spare a download that could not be named: the final rename never replaces a file
    // anyway. Under the URL's name, `inspect` has just looked.
    let looked = name == start.url_name && start.name_free;
    if !start.settings.force && !looked && final_path.symlink_metadata().is_ok() {
        return Err(DownloadError::Exists {
            url: url.clone(),
            path: final_path,
        });
    }
    // A chunked body announces no length; the embedded files' is known anyway.
    let shown_size = size.or(start.job.expected.as_ref().map(|e| e.size));
    start.progress.receiving(&name, shown_size, have);
    let file_error = |path: &Path, source| DownloadError::File {
        url: url.clone(),
        path: path.to_owned(),
        source,
    };
    if decision == Decision::AlreadyComplete {
        return Ok(Next::Complete(Commit {
            url: url.clone(),
            part: start.part.clone(),
            hashing: None,
            sidecar: Some(start.sidecar.clone()),
            recorded: false,
            final_path,
            force: start.settings.force,
            done: Done {
                size: have,
                resumed_from: have,
                verified: start.job.expected.is_some(),
                remark: start.remark,
                sha256: None,
            },
            version: start.validator.clone(),
            expected_sha256: start.job.sha256,
            _claims: std::mem::take(&mut start.claims),
        }));
    }
    let file = PartFile::open(&start.part, have).map_err(|e| file_error(&start.part, e))?;
    // The .part is empty now; its validator is this response's, and the sink ties it to the
    // .part before any byte (`Sink::write`; the glass design does it first). A resumed .part
    // keeps the validator it has; either is the version a finished file's record names.
    let version = match have {
        0 => Validator::of(
            head.etag.as_deref(),
            head.last_modified.as_deref(),
            head.date.as_deref(),
        ),
        _ => start.validator.clone(),
    };
    let validator = (have == 0).then(|| PendingValidator {
        sidecar: start.sidecar.clone(),
        version: version.clone(),
        size: shown_size,
    });
    Ok(Next::Body(Sink {
        url: url.clone(),
        file,
        size,
        expected: start.job.expected.clone(),
        progress: start.progress,
        final_path,
        force: start.settings.force,
        resumed_from: have,
        sidecar: start.sidecar.clone(),
        validator,
        tied_as_attribute: false,
        recorded: false,
        version,
        expected_sha256: start.job.sha256,
        remark: start.remark,
        hashing: None,
        writeback: None,
        _claims: std::mem::take(&mut start.claims),
    }))
}
