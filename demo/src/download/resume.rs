//! The resume decision: what an earlier run's `.part` is worth before the first request
//! ([`begin`]), and what a response head makes of it ([`on_head`]): append to it, start over,
//! commit it as already complete, or fail. Both designs (glass tasks in `download.rs`, OS threads
//! in `threads.rs`) run these same rules, so they resume alike.
//!
//! ```text
//!  begin ── claim the URL's name, measure NAME.part
//!    ├─ embedded file: keep the .part only if its bytes are the generator's
//!    └─ otherwise: keep it only if a validator ties it to a version (or --continue)
//!  on_head ── part::decide (status, Content-Range, length) ── a validator that no longer
//!    │        matches turns Append or AlreadyComplete into StartOver
//!    ├─ StartOver: ask again without Range, once (Next::Again)
//!    ├─ AlreadyComplete: Next::Complete, the .part is committed as it is
//!    └─ Fresh / Append: name the file, refuse to overwrite, open the .part (Next::Body)
//! ```

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::{Commit, Done, DownloadError, Job, PendingValidator, Settings, Sink};
use crate::catalog::GeneratedFile;
use crate::claims::Claim;
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
    let mut have = part::existing_len(&part).map_err(|e| file_error(&part, e))?;
    let mut validator = None;
    let mut remark = None;
    if let Some(expected) = &job.expected {
        if have > 0 && !prefix_matches(&part, have, expected).map_err(|e| file_error(&part, e))? {
            have = 0; // A .part that is not a prefix of the file is worth nothing: start over.
        }
    } else if have > 0 {
        validator = validator::read_validator(&part, &sidecar).map_err(|e| file_error(&part, e))?;
        match (&validator, settings.resume_unchecked) {
            (Some(_), _) => {}
            (None, true) => remark = Some("resumed with nothing to tie it to this version"),
            (None, false) => {
                have = 0;
                remark = Some(
                    "started over: nothing tied the old .part to this version of the file \
                     (--continue resumes one anyway)",
                );
            }
        }
    }
    Ok(Start {
        job,
        settings,
        progress,
        url_name,
        claims: vec![claim],
        part,
        sidecar,
        validator,
        remark,
        have,
        restarted: false,
    })
}

impl Start<'_> {
    /// The `If-Range` the next request carries: the `.part`'s validator, when resuming.
    pub fn if_range(&self) -> Option<&str> {
        self.validator
            .as_ref()
            .filter(|_| self.have > 0)
            .map(Validator::value)
    }
}

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
    if !start.settings.force && final_path.symlink_metadata().is_ok() {
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
            sidecar: start.sidecar.clone(),
            final_path,
            force: start.settings.force,
            done: Done {
                size: have,
                resumed_from: have,
                verified: start.job.expected.is_some(),
                remark: start.remark,
                sha256: None,
            },
            _claims: std::mem::take(&mut start.claims),
        }));
    }
    let file = PartFile::open(&start.part, have).map_err(|e| file_error(&start.part, e))?;
    // The .part is empty now; its validator is this response's, and the sink ties it to the
    // .part before any byte (`Sink::write`; the glass design does it first).
    let validator = (have == 0).then(|| PendingValidator {
        sidecar: start.sidecar.clone(),
        version: Validator::of(
            head.etag.as_deref(),
            head.last_modified.as_deref(),
            head.date.as_deref(),
        ),
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
        remark: start.remark,
        hashing: None,
        writeback: None,
        _claims: std::mem::take(&mut start.claims),
    }))
}
