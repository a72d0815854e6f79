//! The seed's CPU-bound half: the SHA-256 of each download, so the demo contrasts work that waits
//! (the download: the thread mostly sleeps in `epoll_wait`) with work that computes (the hash:
//! every byte goes through the CPU, and nothing waits).
//!
//! ## Where the hash runs, and why it shows
//! - By default on the blocking pool, as the bytes arrive ([`HashFeed`]): each chunk the event loop
//!   appends to the `.part` is handed, shared not copied, to a pool job that hashes it on another
//!   core. The IO-bound download stays on the event loop, the CPU-bound hash runs beside it, and
//!   when the body ends the digest is a few microseconds away instead of a second pass over the
//!   file. The same job starts the disk's writeback of the bytes it has hashed (`part::Writeback`),
//!   so that the final `fsync` finds little left to write.
//! - With `--hash-on-loop`, inside the download task's poll, on the event loop: the whole `.part`
//!   is read back and hashed in that one poll, and nothing else runs until it is done. The bars
//!   freeze, the executor's slow-poll warning names the task, and the summary gives the display's
//!   longest stall. This is the mistake tokio-console's "task never yields" warns about, made on
//!   purpose.
//! - `--threads` hashes each chunk on the download's own thread as it writes it ([`Hashing`]).
//!
//! ## What is hashed
//! The bytes of the `.part`, in file order: what an earlier run left in it (read back once, at
//! the start), then every chunk in the order it was appended. So the digest is that of the file
//! `sha256sum` reads, and it is known before the file gets its final name: a download whose hash
//! is wrong need never be given one.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use futures::channel::oneshot;
use sha2::{Digest as _, Sha256};

/// A SHA-256 digest.
pub type Digest = [u8; 32];

/// Where the hash is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashOn {
    /// On the blocking pool, as the bytes arrive: the event loop goes on meanwhile.
    BlockingPool,
    /// In the download task's poll (`--hash-on-loop`): the event loop stops until it is done.
    EventLoop,
}

/// How much of a file is read at a time when it is read back: big enough that the reads cost
/// little next to the hashing, small enough that the blocking pool's threads (up to 16, each
/// hashing a file) hold little memory: with 1 MiB chunks, 2,000 small files peaked at 25.6 MiB of
/// RSS and with 64 KiB at 10.6 MiB (`TOOLS=demo ROUNDS=1 benches/downloaders.sh 2000x16k`).
const CHUNK: usize = 64 << 10;

/// The most bytes a [`HashFeed`] holds before the download waits for the hash to catch up
/// ([`HashFeed::room`]). The hash (SHA-NI: about 1.5 GB/s a core) is faster than the disk, so
/// this is rarely reached, but without a bound a slow core would let memory grow with the file.
const BEHIND_AT_MOST: usize = 8 << 20;

/// How many bytes wait before a pool job is started for them (the rest wait for the body's end,
/// [`HashFeed::finish_then`]): a job per 64 KiB chunk would cost a thread's wake-up per chunk,
/// more than hashing it; a small file costs one job at its end.
const GATHER: usize = 256 << 10;

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

/// Hashes the first `len` bytes of `file` into `hasher` (positioned reads: the file's offset is
/// left alone). A file shorter than that is an error: the prefix it stands for is not there.
fn hash_prefix(hasher: &mut Sha256, file: &File, len: u64) -> io::Result<()> {
    let mut buf = vec![0; CHUNK];
    let mut at = 0;
    while at < len {
        let want = (len - at).min(CHUNK as u64) as usize;
        match file.read_at(&mut buf[..want], at) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                hasher.update(&buf[..n]);
                at += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The digest `hasher` has computed.
pub fn digest(hasher: Sha256) -> Digest {
    hasher.finalize().into()
}

/// `digest` in lowercase hex, as `sha256sum` prints it.
pub fn hex(digest: &Digest) -> String {
    digest.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// A hash kept up to date as a download's bytes are written: on the writing thread (`--threads`)
/// or on the blocking pool (glass).
#[derive(Debug)]
pub enum Hashing {
    /// Each chunk hashed by whoever writes it.
    Inline(Box<Sha256>),
    /// Each chunk handed to the blocking pool.
    Pool(HashFeed),
}

impl Hashing {
    /// A hash of a file whose first `have` bytes are already in `file`, on this thread.
    pub fn inline(file: &File, have: u64) -> io::Result<Hashing> {
        let mut hasher = Sha256::new();
        hash_prefix(&mut hasher, file, have)?;
        Ok(Hashing::Inline(Box::new(hasher)))
    }

    /// Adds the next bytes written.
    pub fn update(&mut self, data: &Bytes) {
        match self {
            Hashing::Inline(hasher) => hasher.update(data),
            Hashing::Pool(feed) => feed.push(data.clone()),
        }
    }
}

/// What a pool job needs to hash a file: taken by the one job running for it, so that the chunks
/// are hashed in order, one job at a time.
struct Worker {
    hasher: Sha256,
    /// An earlier run's bytes, hashed first: the file and how many of its bytes.
    prefix: Option<(File, u64)>,
    /// Bytes hashed so far, prefix included.
    hashed: u64,
    /// Told how many bytes are hashed (and so written) after each round: `part::Writeback`.
    after: Option<Box<dyn FnMut(u64) + Send>>,
}

/// What the download and the pool job share.
struct Feed {
    /// `None` while a job holds it.
    worker: Option<Worker>,
    /// Chunks written and not hashed yet, oldest first.
    chunks: VecDeque<Bytes>,
    /// Their bytes.
    queued: usize,
    /// Whether a pool job is running for this file.
    running: bool,
    /// Reading the prefix failed, or no thread could be started: the digest cannot be had.
    failed: Option<io::Error>,
    /// What to do with the digest once the body has ended and every byte is hashed
    /// ([`HashFeed::finish_then`]): run by the pool job that hashed the last bytes.
    then: Option<Then>,
    /// The download's wait for `queued` to shrink ([`HashFeed::room`]).
    room: Option<oneshot::Sender<()>>,
}

/// What [`HashFeed::finish_then`] runs with the digest, on the pool.
type Then = Box<dyn FnOnce(io::Result<Digest>) + Send>;

/// A job that hashes what is left of a file, then runs what [`HashFeed::finish_then`] was given.
pub type Job = Box<dyn FnOnce() + Send>;

/// A SHA-256 computed on the blocking pool from the chunks handed to it ([`HashFeed::push`]), in
/// order, while the download goes on. One pool job at a time per file runs once [`GATHER`]
/// bytes wait, and ends when none do: a small file costs one job, a large one a job per burst.
pub struct HashFeed {
    feed: Arc<Mutex<Feed>>,
}

impl std::fmt::Debug for HashFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashFeed").finish_non_exhaustive()
    }
}

impl HashFeed {
    /// A hash of a file whose first `have` bytes are already in `file` (read back on the pool,
    /// not here); `after` is told, from the pool, how many bytes have been hashed after each round.
    pub fn start(
        file: Option<File>,
        have: u64,
        after: Option<Box<dyn FnMut(u64) + Send>>,
    ) -> HashFeed {
        let prefix = file.filter(|_| have > 0).map(|file| (file, have));
        let feed = HashFeed {
            feed: Arc::new(Mutex::new(Feed {
                worker: Some(Worker {
                    hasher: Sha256::new(),
                    hashed: 0,
                    prefix,
                    after,
                }),
                chunks: VecDeque::new(),
                queued: 0,
                running: false,
                failed: None,
                then: None,
                room: None,
            })),
        };
        if have > 0 {
            feed.wake_worker(&mut feed.lock());
        }
        feed
    }

    fn lock(&self) -> MutexGuard<'_, Feed> {
        lock(&self.feed)
    }

    /// Hands the next chunk written to the pool.
    pub fn push(&self, chunk: Bytes) {
        let mut feed = self.lock();
        if feed.failed.is_some() {
            return;
        }
        feed.queued += chunk.len();
        feed.chunks.push_back(chunk);
        if feed.queued >= GATHER {
            self.wake_worker(&mut feed);
        }
    }

    /// Starts a pool job for the waiting chunks unless one is running.
    fn wake_worker(&self, feed: &mut Feed) {
        if feed.running {
            return;
        }
        feed.running = true;
        let shared = self.feed.clone();
        // The job's future is not awaited: the job reports through `Feed`.
        if let Err(e) = reactor::blocking::unblock(move || work(&shared)) {
            feed.running = false;
            feed.chunks.clear();
            feed.failed = Some(e);
        }
    }

    /// Waits, if the pool has fallen more than [`BEHIND_AT_MOST`] bytes behind, until it has
    /// caught up half of that; at once otherwise.
    pub async fn room(&self) {
        let wait = {
            let mut feed = self.lock();
            if feed.queued <= BEHIND_AT_MOST || !feed.running {
                return;
            }
            let (tx, rx) = oneshot::channel();
            feed.room = Some(tx);
            rx
        };
        let _ = wait.await;
    }

    /// Once everything pushed is hashed, runs `then` with the digest, off this thread: on the
    /// pool job that is hashing, if one is, when it runs out of chunks; otherwise in a job that
    /// hashes what is left, given to `run` to start (the glass design hands it to the group
    /// commit, whose thread is usually busy already: no thread to wake). If `run` cannot start
    /// it, `then` gets that error here.
    pub fn finish_then(
        self,
        then: impl FnOnce(io::Result<Digest>) + Send + 'static,
        run: impl FnOnce(Job) -> io::Result<()>,
    ) {
        let mut feed = self.lock();
        feed.then = Some(Box::new(then));
        if feed.running {
            return;
        }
        feed.running = true;
        drop(feed);
        let shared = self.feed.clone();
        if let Err(e) = run(Box::new(move || work(&shared))) {
            let mut feed = self.lock();
            feed.running = false;
            feed.chunks.clear();
            feed.failed = Some(e);
            let (then, digest) = (feed.then.take(), digest_of(&mut feed));
            drop(feed);
            if let Some(then) = then {
                then(digest);
            }
        }
    }
}

/// The digest of a feed whose bytes are all hashed (or the error that stopped it).
fn digest_of(feed: &mut Feed) -> io::Result<Digest> {
    if let Some(e) = feed.failed.take() {
        return Err(e);
    }
    match feed.worker.take() {
        Some(worker) => Ok(worker.hasher.finalize().into()),
        None => Err(io::Error::other("the hashing job was lost")),
    }
}

fn lock(feed: &Mutex<Feed>) -> MutexGuard<'_, Feed> {
    feed.lock().unwrap_or_else(|e| e.into_inner())
}

/// The pool job: hashes what is waiting, round after round, until nothing is; then tells whoever
/// waits for room, and, once the body has ended, runs what comes after the digest.
fn work(shared: &Mutex<Feed>) {
    let mut feed = lock(shared);
    loop {
        let prefix_left = feed.worker.as_ref().is_some_and(|w| w.prefix.is_some());
        let worker = match feed.worker.take() {
            Some(worker) if prefix_left || !feed.chunks.is_empty() => worker,
            idle => {
                feed.worker = idle;
                feed.running = false;
                if let Some(room) = feed.room.take() {
                    let _ = room.send(());
                }
                let Some(then) = feed.then.take() else {
                    return;
                };
                let digest = digest_of(&mut feed);
                drop(feed);
                return then(digest);
            }
        };
        let chunks = std::mem::take(&mut feed.chunks);
        drop(feed);
        let round =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| round(worker, &chunks)));
        feed = lock(shared);
        let taken: usize = chunks.iter().map(Bytes::len).sum();
        feed.queued -= taken;
        match round {
            Ok(Ok(worker)) => feed.worker = Some(worker),
            Ok(Err(e)) => feed.failed = Some(e),
            Err(_) => feed.failed = Some(io::Error::other("the hashing job panicked")),
        }
        if feed.failed.is_some() {
            feed.chunks.clear();
            feed.queued = 0;
        }
        if feed.queued <= BEHIND_AT_MOST / 2
            && let Some(room) = feed.room.take()
        {
            let _ = room.send(());
        }
    }
}

/// One round of [`work`], outside the lock: the prefix if not done yet, then `chunks`.
fn round(mut worker: Worker, chunks: &VecDeque<Bytes>) -> io::Result<Worker> {
    if let Some((file, len)) = worker.prefix.take() {
        hash_prefix(&mut worker.hasher, &file, len)?;
        worker.hashed += len;
    }
    for chunk in chunks {
        worker.hasher.update(chunk);
        worker.hashed += chunk.len() as u64;
    }
    if let Some(after) = worker.after.as_mut() {
        after(worker.hashed);
    }
    Ok(worker)
}

/// Hashes `path` on this thread, blocking it: the digest of a `.part` that needs no download
/// (already complete), or of every file with `--hash-on-loop`. `url` names the download in errors.
pub fn hash_file(path: &Path, url: &str) -> Result<Digest, crate::download::DownloadError> {
    sha256_file(path).map_err(|source| crate::download::DownloadError::File {
        url: url.to_owned(),
        path: path.to_owned(),
        source,
    })
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

    /// The digest [`HashFeed::finish_then`] gives, and whether it came on another thread.
    fn finished(feed: HashFeed) -> io::Result<Digest> {
        let (tx, rx) = std::sync::mpsc::channel();
        let here = std::thread::current().id();
        feed.finish_then(
            move |digest| {
                let _ = tx.send((digest, std::thread::current().id()));
            },
            |job| reactor::blocking::unblock(job).map(drop),
        );
        let (digest, on) = rx.recv().unwrap();
        assert_ne!(on, here, "the digest came on the thread that asked for it");
        digest
    }

    #[test]
    fn a_feed_hashes_the_prefix_then_the_chunks_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let whole: Vec<u8> = (0..GATHER * 3 + 11).map(|i| (i % 253) as u8).collect();
        let have = CHUNK + 5;
        std::fs::write(&path, &whole[..have]).unwrap();
        let expected: Digest = Sha256::digest(&whole).into();
        let told = Arc::new(Mutex::new(Vec::new()));
        let after: Box<dyn FnMut(u64) + Send> = {
            let told = told.clone();
            Box::new(move |n| told.lock().unwrap().push(n))
        };
        let feed = HashFeed::start(Some(File::open(&path).unwrap()), have as u64, Some(after));
        // Chunks of uneven sizes, pushed faster than they may be hashed.
        for piece in whole[have..].chunks(1000) {
            feed.push(Bytes::copy_from_slice(piece));
        }
        let digest = finished(feed).unwrap();
        assert_eq!(hex(&digest), hex(&expected));
        // Told after each round, in order, ending at the whole length.
        let told = told.lock().unwrap();
        assert!(told.windows(2).all(|w| w[0] < w[1]), "{told:?}");
        assert_eq!(told.last(), Some(&(whole.len() as u64)));
        // The same on the writing thread.
        let mut inline = Hashing::inline(&File::open(&path).unwrap(), have as u64).unwrap();
        inline.update(&Bytes::copy_from_slice(&whole[have..]));
        let Hashing::Inline(hasher) = inline else {
            unreachable!()
        };
        assert_eq!(<[u8; 32]>::from(hasher.finalize()), expected);
    }

    #[test]
    fn a_file_smaller_than_a_gathering_is_hashed_off_the_asking_thread() {
        // No job runs while its bytes arrive: the one that hashes them is started at the end.
        let feed = HashFeed::start(None, 0, None);
        feed.push(Bytes::from_static(b"ab"));
        feed.push(Bytes::from_static(b"c"));
        assert_eq!(
            hex(&finished(feed).unwrap()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_prefix_that_is_not_there_fails_the_digest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"short").unwrap();
        let feed = HashFeed::start(Some(File::open(&path).unwrap()), 100, None);
        feed.push(Bytes::from_static(b"more"));
        assert!(finished(feed).is_err());
        assert!(Hashing::inline(&File::open(&path).unwrap(), 100).is_err());
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(sha256_file(&dir.path().join("gone")).is_err());
    }
}
