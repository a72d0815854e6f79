//! The download manager of the Rust book's example: a queue of URLs, at most `-j` downloads at
//! once, more URLs arriving from the keyboard at any time, and a clean stop on `q` or Ctrl-C.
//!
//! Everything that can happen reaches [`run`] as an [`Event`]: the user typed a URL or asked to
//! stop (through one [`Mailbox`]), or a download finished. `run` is a plain loop awaiting the next
//! event, so it sleeps (and so does the thread, if nothing else is ready) until something
//! happens; nothing polls on a timer.
//!
//! The same loop drives both designs: with [`Design::Glass`] each download is a task on this
//! thread, and the manager awaits its `JoinHandle` beside the mailbox, so a task that panics is
//! seen to end like any other (waiting for a message a dead task never sends would hang the
//! run); with [`Design::Threads`] each is an OS thread running blocking code (`threads.rs`),
//! whose result arrives through the mailbox from that other thread.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use executor::{JoinError, JoinHandle, TaskMetrics};

use crate::download::{self, Done, DownloadError, Job, Settings};
use crate::names;
use crate::progress::{Board, Phase, Progress};
use crate::semaphore::PerHost;
use crate::threads::{self, Timeouts};

/// Something the manager must react to.
#[derive(Debug)]
pub enum Event {
    /// The user typed a URL.
    Add(String),
    /// `q`, Ctrl-C or `SIGTERM`.
    Stop,
    /// `c`: cancel download number `id` (its task is dropped where it waits; its `.part` stays).
    Cancel(usize),
    /// `r`: start download number `id` again, if it was cancelled or failed.
    Restart(usize),
    /// Download number `id` has received its whole file and waits only for it to be made
    /// durable and named: it no longer counts against `-j`.
    Transferred(usize),
    /// Download number `id` ended: a `--threads` thread says so through the mailbox, a glass
    /// task by ending (the manager awaits its `JoinHandle`, so a task that panics ends too).
    Finished {
        id: usize,
        result: Result<Done, DownloadError>,
        /// Its task's polls, wakes and time split (glass only). Boxed: the figures are large
        /// next to the other events.
        metrics: Option<Box<TaskMetrics>>,
    },
}

/// A queue any thread can push to and one task awaits: an unbounded channel in 30 lines.
/// A `Mutex` rather than a `RefCell` because `--threads` downloads push from their own threads.
#[derive(Debug)]
pub struct Mailbox<T> {
    /// The items not yet received, and the waker of the task waiting in `poll_recv`, if any.
    inner: Mutex<(VecDeque<T>, Option<Waker>)>,
}

impl<T> Default for Mailbox<T> {
    fn default() -> Self {
        Mailbox {
            inner: Mutex::new((VecDeque::new(), None)),
        }
    }
}

impl<T> Mailbox<T> {
    /// Queues `item` and wakes the task waiting in [`poll_recv`](Mailbox::poll_recv), from any
    /// thread.
    pub fn push(&self, item: T) {
        let waker = {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            inner.0.push_back(item);
            inner.1.take()
        };
        // Woken outside the lock: waking may run the executor's bookkeeping.
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The next item, or `Pending` with `cx`'s waker kept for [`push`](Mailbox::push).
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<T> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match inner.0.pop_front() {
            Some(item) => Poll::Ready(item),
            None => {
                inner.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// A download task's handle: the task's result is the download's.
type Task = JoinHandle<Result<Done, DownloadError>>;

/// What [`Design::Tasks`] runs for a job.
#[cfg(test)]
type TestTask = Pin<Box<dyn Future<Output = Result<Done, DownloadError>>>>;

/// How each download runs.
pub enum Design {
    /// As a glass task, with this client (shared: it pools connections).
    Glass(Rc<http_client::Client>),
    /// On an OS thread of its own, with blocking sockets.
    Threads(Timeouts),
    /// Unit tests only: each download is the task this function makes of its job (and of what it
    /// calls once its file is received, as `download::run` does), so a test can give the manager
    /// a task that panics (no real input makes `download::run` panic; if one did, it would be a
    /// bug to fix, and the test would lose its trigger).
    #[cfg(test)]
    Tasks(fn(Job, Box<dyn FnOnce()>) -> TestTask),
}

/// One download, as the summary sees it.
#[derive(Debug)]
pub struct Record {
    /// What to download, kept for a restart (`r`).
    pub job: Job,
    /// Its URL, name, byte count and times.
    pub progress: Arc<Progress>,
    /// `None`: cancelled, or stopped before it ended (or before it started).
    pub result: Option<Result<Done, DownloadError>>,
    /// Cancelled by `c` (and not restarted since).
    pub cancelled: bool,
    /// Polls and wakes of its task (glass only).
    pub metrics: Option<TaskMetrics>,
}

/// How the run ended.
pub struct Outcome {
    /// Every download, in the order it was added.
    pub records: Vec<Record>,
    /// Whether `q`, Ctrl-C or `SIGTERM` cut it short.
    pub stopped: bool,
    /// OS threads started for downloads (`--threads` only).
    pub threads_started: usize,
}

/// Runs `jobs`, plus any URL that arrives in `mailbox`, at most `limit` at once.
pub async fn run(
    design: Design,
    jobs: Vec<Job>,
    settings: Arc<Settings>,
    limit: usize,
    board: &Board,
    mailbox: Arc<Mailbox<Event>>,
) -> Outcome {
    let mut records: Vec<Record> = Vec::new();
    let mut queue = VecDeque::new();
    let mut tasks: Vec<(usize, Task)> = Vec::new();
    let mut running = Running::default();
    let mut threads_started = 0;
    let add = |job: Job, records: &mut Vec<Record>, queue: &mut VecDeque<(usize, Job)>| {
        let progress = Progress::new(&job.url, &names::from_url(&job.url));
        board.add(progress.clone());
        queue.push_back((records.len(), job.clone()));
        records.push(Record {
            job,
            progress,
            result: None,
            cancelled: false,
            metrics: None,
        });
    };
    for job in jobs {
        add(job, &mut records, &mut queue);
    }
    let stopped = loop {
        while running.total < limit
            && let Some((id, job)) = next_job(&mut queue, &running, &settings.hosts)
        {
            let hosts = &settings.hosts;
            let progress = records[id].progress.clone();
            let (settings, mailbox) = (settings.clone(), mailbox.clone());
            match &design {
                Design::Glass(client) => {
                    let client = client.clone();
                    let name = names::for_display(&names::from_url(&job.url));
                    let task = executor::Builder::new().name(format!("download {name}"));
                    let transferred = move || mailbox.push(Event::Transferred(id));
                    let handle = task.spawn(async move {
                        download::run(&client, &job, &settings, &progress, transferred).await
                    });
                    tasks.push((id, handle));
                }
                #[cfg(test)]
                Design::Tasks(make) => {
                    let mailbox = mailbox.clone();
                    let transferred = Box::new(move || mailbox.push(Event::Transferred(id)));
                    tasks.push((id, executor::spawn(make(job, transferred))));
                }
                Design::Threads(timeouts) => {
                    let timeouts = *timeouts;
                    let spawned = std::thread::Builder::new()
                        .name(format!("download-{id}"))
                        .spawn(move || {
                            let transferred = || mailbox.push(Event::Transferred(id));
                            let result =
                                threads::fetch(&job, &settings, &progress, timeouts, transferred);
                            mailbox.push(Event::Finished {
                                id,
                                result,
                                metrics: None,
                            });
                        });
                    match spawned {
                        Ok(_) => threads_started += 1,
                        Err(e) => {
                            let what = format!("could not start a thread: {e}");
                            records[id].progress.start();
                            records[id].result = Some(Err(DownloadError::Blocking {
                                url: records[id].progress.url.clone(),
                                what,
                                retry: None,
                            }));
                            end_progress(&records[id]);
                            continue;
                        }
                    }
                }
            }
            running.start(id, &records[id].job, hosts);
        }
        if running.live.is_empty() && queue.is_empty() {
            break false;
        }
        let next = poll_fn(|cx| match mailbox.poll_recv(cx) {
            Poll::Ready(event) => Poll::Ready(event),
            Poll::Pending => poll_tasks(&mut tasks, &records, cx),
        });
        match next.await {
            Event::Add(url) => add(
                Job {
                    url,
                    expected: None,
                    sha256: None,
                },
                &mut records,
                &mut queue,
            ),
            Event::Stop => break true,
            Event::Cancel(id) if id < records.len() => {
                if let Some(at) = queue.iter().position(|(queued, _)| *queued == id) {
                    queue.remove(at);
                    cancelled(&mut records[id], "cancelled before it started");
                } else if let Some(at) = tasks.iter().position(|(task, _)| *task == id) {
                    // The cancellation lesson: the task's future is dropped at its next turn,
                    // wherever it is waiting (a read, a timer, a place in a semaphore's line),
                    // and its destructors run: the `.part` is closed as written so far, the
                    // names and the host's connection are given back.
                    let (_, handle) = tasks.swap_remove(at);
                    handle.abort();
                    running.end(id, &records[id].job, &settings.hosts);
                    records[id].metrics = Some(handle.metrics());
                    cancelled(
                        &mut records[id],
                        "cancelled; its .part is kept for a resume",
                    );
                } else if matches!(design, Design::Threads(_)) && records[id].result.is_none() {
                    records[id].progress.request_cancel();
                    board.note(&format!(
                        "cancelling {}: --threads cannot drop a thread blocked in read(2) as a \
                         task's future is dropped; it stops when its current read returns",
                        names::for_display(&records[id].progress.snapshot().name)
                    ));
                } else {
                    board.note("c cancels a download that is queued or running");
                }
            }
            Event::Restart(id) if id < records.len() => {
                let record = &mut records[id];
                if record.cancelled || matches!(record.result, Some(Err(_))) {
                    record.cancelled = false;
                    record.result = None;
                    record.metrics = None;
                    record.progress.requeue();
                    board.requeue(id);
                    queue.push_back((id, record.job.clone()));
                } else {
                    board.note("r restarts a download that was cancelled or failed");
                }
            }
            Event::Transferred(id) if id < records.len() => {
                running.uncount(id, &records[id].job, &settings.hosts);
            }
            Event::Cancel(_) | Event::Restart(_) | Event::Transferred(_) => {}
            Event::Finished {
                id,
                result: Err(DownloadError::Cancelled { .. }),
                metrics,
            } => {
                running.end(id, &records[id].job, &settings.hosts);
                records[id].metrics = metrics.map(|m| *m);
                cancelled(
                    &mut records[id],
                    "cancelled; its .part is kept for a resume",
                );
            }
            Event::Finished {
                id,
                result,
                metrics,
            } => {
                running.end(id, &records[id].job, &settings.hosts);
                records[id].metrics = metrics.map(|m| *m);
                if let Err(e) = &result {
                    board.note(&format!("error: {}", names::for_display(&e.to_string())));
                }
                records[id].result = Some(result);
                end_progress(&records[id]);
            }
        }
    };
    if stopped {
        for (id, handle) in tasks {
            // The task is dropped at its next turn: its .part stays as written so far.
            handle.abort();
            records[id].metrics = Some(handle.metrics());
        }
        for record in records
            .iter()
            .filter(|r| r.result.is_none() && !r.cancelled)
        {
            let note = match record.progress.snapshot().phase {
                Phase::Queued => "not started",
                _ => "stopped; its .part is kept for a resume",
            };
            record.progress.end(Phase::Stopped, note.to_owned());
        }
    }
    board.refresh();
    Outcome {
        records,
        stopped,
        threads_started,
    }
}

/// The downloads under way: how many, and how many to each host. A download counts from its
/// start until it ends, or until it has received its whole file and only waits for the disk
/// (`Event::Transferred`): files waiting for their group commit do not keep the next downloads
/// from starting. The run goes on until every download has ended.
#[derive(Debug, Default)]
struct Running {
    /// The counted ones: at most `-j`.
    total: usize,
    /// Per `host:port` (`PerHost::key`), the counted ones.
    per_host: HashMap<String, usize>,
    /// Which downloads are counted.
    counted: HashSet<usize>,
    /// Which downloads have started and not ended, counted or not.
    live: HashSet<usize>,
}

impl Running {
    fn start(&mut self, id: usize, job: &Job, hosts: &PerHost) {
        self.live.insert(id);
        self.counted.insert(id);
        self.total += 1;
        *self.per_host.entry(hosts.key(&job.url)).or_default() += 1;
    }

    /// Download `id` no longer counts against the limits (nothing if it did not).
    fn uncount(&mut self, id: usize, job: &Job, hosts: &PerHost) {
        if !self.counted.remove(&id) {
            return;
        }
        self.total -= 1;
        if let Some(n) = self.per_host.get_mut(&hosts.key(&job.url)) {
            *n -= 1;
        }
    }

    /// Download `id` has ended.
    fn end(&mut self, id: usize, job: &Job, hosts: &PerHost) {
        self.uncount(id, job, hosts);
        self.live.remove(&id);
    }
}

/// How far into the queue [`next_job`] looks for a download whose host has room.
const LOOK_AHEAD: usize = 256;

/// The next download to start: the first queued one whose host has fewer downloads under way
/// than `--per-host` allows, so that a host at its limit does not hold the `-j` slots while
/// others' downloads wait behind it; if there is none (in the first [`LOOK_AHEAD`]), the first
/// one, which waits for its host in its task (shown as waiting) and has the next free
/// connection.
fn next_job(
    queue: &mut VecDeque<(usize, Job)>,
    running: &Running,
    hosts: &PerHost,
) -> Option<(usize, Job)> {
    let has_room = |(_, job): &(usize, Job)| {
        running
            .per_host
            .get(&hosts.key(&job.url))
            .copied()
            .unwrap_or(0)
            < hosts.limit()
    };
    let at = queue
        .iter()
        .take(LOOK_AHEAD)
        .position(has_room)
        .unwrap_or(0);
    queue.remove(at)
}

/// The first download task that has ended, as a `Finished` event (its handle removed from `tasks`
/// and its counters kept in its record); `Pending` with `cx`'s waker left in every other handle.
///
/// Polling every handle on each wake of the manager costs at most `-j` polls (8 by default), and
/// the manager wakes once per event. A `JoinError` is a failed download: a task that panicked
/// ends like one that failed, and the manager never waits for a message a dead task cannot send.
fn poll_tasks(
    tasks: &mut Vec<(usize, Task)>,
    records: &[Record],
    cx: &mut Context<'_>,
) -> Poll<Event> {
    for i in 0..tasks.len() {
        let Poll::Ready(joined) = Pin::new(&mut tasks[i].1).poll(cx) else {
            continue;
        };
        let (id, handle) = tasks.swap_remove(i);
        let result = joined.unwrap_or_else(|e: JoinError| {
            Err(DownloadError::Panicked {
                url: records[id].progress.url.clone(),
                what: e.to_string(),
            })
        });
        return Poll::Ready(Event::Finished {
            id,
            result,
            metrics: Some(Box::new(handle.metrics())),
        });
    }
    Poll::Pending
}

/// Marks `record` cancelled, saying `note`.
fn cancelled(record: &mut Record, note: &str) {
    record.cancelled = true;
    record.progress.end(Phase::Cancelled, note.to_owned());
}

/// Shows a record's result in its progress.
fn end_progress(record: &Record) {
    match &record.result {
        Some(Ok(done)) if done.remark == Some(download::ALREADY_COMPLETE) => {
            let how = if done.verified { ", verified" } else { "" };
            record
                .progress
                .end(Phase::Done, format!("{}{how}", download::ALREADY_COMPLETE));
        }
        Some(Ok(done)) => {
            let mut note = String::from(if done.verified { "verified" } else { "done" });
            if done.resumed_from > 0 {
                note.push_str(&format!(", resumed at byte {}", done.resumed_from));
            }
            if let Some(remark) = done.remark {
                note.push_str(&format!(" ({remark})"));
            }
            record.progress.end(Phase::Done, note);
        }
        Some(Err(e)) => record.progress.end(Phase::Failed, e.to_string()),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Duration;

    /// A job whose URL says how its test task ends.
    fn job(url: &str) -> Job {
        Job {
            url: url.to_owned(),
            expected: None,
            sha256: None,
        }
    }

    /// A finished download of `size` bytes.
    fn done(size: u64) -> Done {
        Done {
            size,
            resumed_from: 0,
            verified: false,
            remark: None,
            sha256: None,
        }
    }

    /// Panics for a URL ending in `/panics`, else succeeds at once.
    fn task(job: Job, _transferred: Box<dyn FnOnce()>) -> TestTask {
        Box::pin(async move {
            executor::yield_now().await;
            if job.url.ends_with("/panics") {
                panic!("a bug in the download of {}", job.url);
            }
            Ok(done(0))
        })
    }

    /// Runs `jobs` with `make`'s tasks, at most `limit` at once, on a thread of its own, so that
    /// a manager that hangs fails the test instead of hanging it; each download's size, or its
    /// error's message.
    fn results(
        make: fn(Job, Box<dyn FnOnce()>) -> TestTask,
        jobs: Vec<Job>,
        limit: usize,
    ) -> Vec<Option<Result<u64, String>>> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let outcome = executor::block_on(async {
                let settings = Arc::new(Settings {
                    dir: PathBuf::from("."),
                    force: false,
                    resume_unchecked: false,
                    claims: Arc::default(),
                    hash_on: crate::hash::HashOn::BlockingPool,
                    retry: crate::retry::Policy {
                        retries: 0,
                        first_wait: Duration::ZERO,
                    },
                    hosts: crate::semaphore::PerHost::new(6),
                });
                let board = Board::new(false, false);
                let design = Design::Tasks(make);
                run(design, jobs, settings, limit, &board, Arc::default()).await
            });
            let results: Vec<_> = outcome
                .records
                .into_iter()
                .map(|r| r.result.map(|r| r.map_err(|e| e.to_string())))
                .map(|r| r.map(|r| r.map(|done| done.size)))
                .collect();
            let _ = tx.send(results);
        });
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the manager ended (no hang) within 60 s")
    }

    #[test]
    fn a_panicking_download_task_is_a_failed_download_not_a_hang() {
        let jobs = vec![job("http://h/panics"), job("http://h/fine")];
        let results = results(task, jobs, 8);
        match &results[0] {
            Some(Err(message)) => assert!(
                message.contains("http://h/panics")
                    && message.contains("a bug in the download of http://h/panics"),
                "{message}"
            ),
            other => panic!("the panicking download is not a failure: {other:?}"),
        }
        assert_eq!(results[1], Some(Ok(0)));
    }

    thread_local! {
        /// The second download's start, which the first one's commit waits for.
        static SECOND_STARTED: std::cell::RefCell<Option<futures::channel::oneshot::Sender<()>>> =
            const { std::cell::RefCell::new(None) };
    }

    /// The first download receives its file, then waits for the second to start before it
    /// ends, as a file waits for its commit; the second says it started.
    fn first_waits_for_second(job: Job, transferred: Box<dyn FnOnce()>) -> TestTask {
        Box::pin(async move {
            if job.url.ends_with("/second") {
                if let Some(started) = SECOND_STARTED.with_borrow_mut(Option::take) {
                    let _ = started.send(());
                }
                return Ok(done(2));
            }
            let (started, second) = futures::channel::oneshot::channel();
            SECOND_STARTED.set(Some(started));
            transferred();
            let _ = second.await;
            Ok(done(1))
        })
    }

    /// Received, then a few turns of waiting for the disk before it ends.
    fn commits_after_a_while(_job: Job, transferred: Box<dyn FnOnce()>) -> TestTask {
        Box::pin(async move {
            transferred();
            for _ in 0..10 {
                executor::yield_now().await;
            }
            Ok(done(3))
        })
    }

    #[test]
    fn the_run_waits_for_the_downloads_that_no_longer_count() {
        let results = results(commits_after_a_while, vec![job("http://h/a")], 8);
        assert_eq!(results, vec![Some(Ok(3))]);
    }

    #[test]
    fn a_download_waiting_only_for_the_disk_leaves_its_place_to_the_next() {
        // `-j 1`: the second download can start only once the first no longer counts.
        let jobs = vec![job("http://h/first"), job("http://h/second")];
        let results = results(first_waits_for_second, jobs, 1);
        assert_eq!(results, vec![Some(Ok(1)), Some(Ok(2))]);
    }
}
