//! The download manager of the Rust book's example: a queue of URLs, at most `-j` downloads at
//! once, more URLs arriving from the keyboard at any time, and a clean stop on `q` or Ctrl-C.
//!
//! Everything that can happen reaches [`run`] as an [`Event`] in one [`Mailbox`]: a download
//! finished, the user typed a URL, the user asked to stop. `run` is a plain loop over
//! `mailbox.recv().await`, so it sleeps (and so does the thread, if nothing else is ready) until
//! something happens; nothing polls on a timer.
//!
//! The same loop drives both designs: with [`Design::Glass`] each download is a task on this
//! thread; with [`Design::Threads`] each is an OS thread running blocking code (`threads.rs`),
//! whose result arrives through the mailbox from that other thread.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use executor::{JoinHandle, TaskMetrics};

use crate::download::{self, Done, DownloadError, Job, Settings};
use crate::names;
use crate::progress::{Board, Phase, Progress};
use crate::threads::{self, Timeouts};

/// Something the manager must react to.
#[derive(Debug)]
pub enum Event {
    /// The user typed a URL.
    Add(String),
    /// `q`, Ctrl-C or `SIGTERM`.
    Stop,
    /// Download number `id` ended.
    Finished {
        id: usize,
        result: Result<Done, DownloadError>,
    },
}

/// A queue any thread can push to and one task awaits: an unbounded channel in 30 lines.
/// A `Mutex` rather than a `RefCell` because `--threads` downloads push from their own threads.
#[derive(Debug)]
pub struct Mailbox<T> {
    /// The items not yet received, and the waker of the task waiting in `recv`, if any.
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
    /// Queues `item` and wakes the task awaiting [`recv`](Mailbox::recv), from any thread.
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

    /// The next item, waiting for one if the queue is empty.
    pub async fn recv(&self) -> T {
        poll_fn(|cx| {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            match inner.0.pop_front() {
                Some(item) => Poll::Ready(item),
                None => {
                    inner.1 = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }
}

/// How each download runs.
pub enum Design {
    /// As a glass task, with this client (shared: it pools connections).
    Glass(Rc<http_client::Client>),
    /// On an OS thread of its own, with blocking sockets.
    Threads(Timeouts),
}

/// One download, as the summary sees it.
#[derive(Debug)]
pub struct Record {
    /// Its URL, name, byte count and times.
    pub progress: Arc<Progress>,
    /// `None`: stopped before it ended (or before it started).
    pub result: Option<Result<Done, DownloadError>>,
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
    let mut tasks: Vec<(usize, JoinHandle<()>)> = Vec::new();
    let mut running = 0;
    let mut threads_started = 0;
    let add = |job: Job, records: &mut Vec<Record>, queue: &mut VecDeque<(usize, Job)>| {
        let progress = Progress::new(&job.url, &names::from_url(&job.url));
        board.add(progress.clone());
        queue.push_back((records.len(), job));
        records.push(Record {
            progress,
            result: None,
            metrics: None,
        });
    };
    for job in jobs {
        add(job, &mut records, &mut queue);
    }
    let stopped = loop {
        while running < limit
            && let Some((id, job)) = queue.pop_front()
        {
            let progress = records[id].progress.clone();
            let (settings, mailbox) = (settings.clone(), mailbox.clone());
            match &design {
                Design::Glass(client) => {
                    let client = client.clone();
                    let handle = executor::spawn(async move {
                        let result = download::run(&client, &job, &settings, &progress).await;
                        mailbox.push(Event::Finished { id, result });
                    });
                    let name = names::for_display(&names::from_url(&records[id].progress.url));
                    crate::trace::name_task(&name);
                    tasks.push((id, handle));
                }
                Design::Threads(timeouts) => {
                    let timeouts = *timeouts;
                    let spawned = std::thread::Builder::new()
                        .name(format!("download-{id}"))
                        .spawn(move || {
                            let result = threads::fetch(&job, &settings, &progress, timeouts);
                            mailbox.push(Event::Finished { id, result });
                        });
                    match spawned {
                        Ok(_) => threads_started += 1,
                        Err(e) => {
                            let what = format!("could not start a thread: {e}");
                            records[id].progress.start();
                            records[id].result = Some(Err(DownloadError::Blocking {
                                url: records[id].progress.url.clone(),
                                what,
                            }));
                            end_progress(&records[id]);
                            continue;
                        }
                    }
                }
            }
            running += 1;
        }
        if running == 0 && queue.is_empty() {
            break false;
        }
        match mailbox.recv().await {
            Event::Add(url) => add(
                Job {
                    url,
                    expected: None,
                },
                &mut records,
                &mut queue,
            ),
            Event::Stop => break true,
            Event::Finished { id, result } => {
                running -= 1;
                if let Some(i) = tasks.iter().position(|(t, _)| *t == id) {
                    records[id].metrics = Some(tasks.swap_remove(i).1.metrics());
                }
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
        for record in records.iter().filter(|r| r.result.is_none()) {
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

/// Shows a record's result in its progress.
fn end_progress(record: &Record) {
    match &record.result {
        Some(Ok(done)) => {
            let mut note = String::from(if done.verified { "verified" } else { "done" });
            if done.resumed_from > 0 {
                note.push_str(&format!(", resumed at byte {}", done.resumed_from));
            }
            record.progress.end(Phase::Done, note);
        }
        Some(Err(e)) => record.progress.end(Phase::Failed, e.to_string()),
        None => {}
    }
}
