//! A small pool of helper threads for work that would block the event loop: name resolution here,
//! and `executor::spawn_blocking` for CPU-bound closures.
//!
//! The pool starts no thread until one is needed, reuses idle threads, never runs more than
//! [`MAX_THREADS`] at once (further jobs wait in the queue), and lets a thread exit after it has been
//! idle for [`KEEP_ALIVE`]. If the system refuses a new thread (out of memory or processes), the job
//! waits for the threads already running; with none running, [`unblock`] returns the error rather
//! than queue a job that nobody would ever run. The result travels back through a slot shared with [`Unblock`], the
//! future that awaits it, and the job wakes that future's waker: the pool knows nothing of tasks.

use std::future::Future;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

/// The most helper threads alive at once.
pub const MAX_THREADS: usize = 16;
/// How long an idle helper thread waits for work before it exits.
pub const KEEP_ALIVE: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    jobs: Sender<Job>,
    queue: Receiver<Job>,
    /// Thread and job counts; jobs are sent, and received jobs counted, while this lock is held,
    /// which keeps the counts exact.
    state: Mutex<PoolState>,
}

/// The pool's counts. `idle - queued`, when positive, is how many threads are free for a new
/// job: each queued job will be taken by one of the idle threads (when negative, that many jobs
/// wait for a busy thread to come back). So `execute` starts a thread when
/// `idle <= queued`, and an idle thread retires only while `idle > queued`: however the two
/// interleave, every queued job keeps a thread that will take it.
struct PoolState {
    /// Threads alive.
    threads: usize,
    /// Threads waiting in (or about to return from) `recv`, kept by the workers themselves: +1
    /// before they wait, -1 when they take a job or retire.
    idle: usize,
    /// Jobs sent that no worker has taken yet: +1 by `execute` as it sends, -1 by the worker that
    /// receives the job.
    queued: usize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let (jobs, queue) = crossbeam_channel::unbounded();
        Pool {
            jobs,
            queue,
            state: Mutex::new(PoolState {
                threads: 0,
                idle: 0,
                queued: 0,
            }),
        }
    })
}

/// Queues `job` for a helper thread, starting one if no idle thread is free for it. `Err` (and
/// the job dropped, unrun) only if no thread could be started and none is alive to run it later.
fn execute(job: Job) -> io::Result<()> {
    let pool = pool();
    let mut state = pool.state.lock().unwrap_or_else(|e| e.into_inner());
    // Every idle thread is already spoken for by a queued job: this one needs a thread of its own.
    if state.idle <= state.queued && state.threads < MAX_THREADS {
        state.threads += 1;
        let spawned = thread::Builder::new()
            .name("glass-blocking".into())
            .spawn(move || worker(pool));
        if let Err(e) = spawned {
            state.threads -= 1;
            if state.threads == 0 {
                // Queued, the job would wait for ever: say so to the caller instead.
                return Err(io::Error::new(
                    e.kind(),
                    format!("could not start a thread for the blocking pool: {e}"),
                ));
            }
            // Otherwise the job waits for one of the threads already running.
        }
    }
    // The receiver lives in the pool forever, so sending cannot fail.
    let _ = pool.jobs.send(job);
    state.queued += 1;
    Ok(())
}

fn worker(pool: &'static Pool) {
    let lock = || pool.state.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        lock().idle += 1;
        let job = loop {
            match pool.queue.recv_timeout(KEEP_ALIVE) {
                Ok(job) => break job,
                Err(_) => {
                    let mut state = lock();
                    // Retire only if the queued jobs keep enough idle threads without us (a job
                    // sent just as we timed out may be waiting for us).
                    if state.idle > state.queued {
                        state.idle -= 1;
                        state.threads -= 1;
                        return;
                    }
                }
            }
        };
        {
            let mut state = lock();
            state.idle -= 1;
            state.queued -= 1;
        }
        // A job catches its closure's panics, but the waker it calls is anyone's code: a panic
        // there must not kill the thread, or the pool would lose it for good.
        let _ = panic::catch_unwind(AssertUnwindSafe(job));
    }
}

/// What a job leaves for the future that awaits it.
struct Slot<T> {
    result: Option<thread::Result<T>>,
    waker: Option<Waker>,
}

/// Runs `f` on the blocking pool; the returned future completes with its result. A panic in `f` is
/// caught on the helper thread and resumed in whoever polls the future.
///
/// # Errors
/// If the pool has no thread and the system refuses to start one (`f` is then dropped, unrun).
pub fn unblock<T, F>(f: F) -> io::Result<Unblock<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let slot = Arc::new(Mutex::new(Slot {
        result: None,
        waker: None,
    }));
    let job_slot = slot.clone();
    let in_flight = crate::watch::JobInFlight::new();
    execute(Box::new(move || {
        let _in_flight = in_flight; // Dropped last, after the wake.
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        let waker = {
            let mut slot = job_slot.lock().unwrap_or_else(|e| e.into_inner());
            slot.result = Some(result);
            slot.waker.take()
        };
        // Woken outside the lock: the waker may run code that polls us on another thread.
        if let Some(waker) = waker {
            waker.wake();
        }
    }))?;
    Ok(Unblock { slot })
}

/// The future returned by [`unblock`]. Dropping it does not stop the closure; its result is discarded.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Unblock<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T> Future for Unblock<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        match slot.result.take() {
            Some(Ok(value)) => Poll::Ready(value),
            Some(Err(panic)) => {
                drop(slot);
                panic::resume_unwind(panic)
            }
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
