//! A small pool of helper threads for work that would block the event loop: name resolution here,
//! and `executor::spawn_blocking` for CPU-bound closures.
//!
//! The pool starts no thread until one is needed, reuses idle threads, never runs more than
//! [`MAX_THREADS`] at once (further jobs wait in the queue), and lets a thread exit after it has been
//! idle for [`KEEP_ALIVE`]. If the system refuses a new thread (out of memory or processes), the job
//! waits for the threads already running; with none running, [`unblock`] returns the error rather
//! than queue a job that nobody would ever run. The result travels back through a slot shared with [`Unblock`], the
//! future that awaits it, and the job wakes that future's waker: the pool knows nothing of tasks.
//!
//! The queue is a `VecDeque` under the pool's one mutex, and an idle thread sleeps on a condition
//! variable (a futex) until a job is pushed: it parks at once. A lock-free channel would spin and
//! `sched_yield` a while before parking, on the bet that a job comes soon; with as many threads as
//! the pool has and jobs arriving in bursts, that bet burnt a core (16,000 `sched_yield`s for 2,000
//! jobs), the one the event loop needed.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

/// The most helper threads alive at once.
pub const MAX_THREADS: usize = 16;
/// How long an idle helper thread waits for work before it exits.
pub const KEEP_ALIVE: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    /// The queue and the counts, kept together so that they always agree.
    state: Mutex<PoolState>,
    /// Signalled once per job pushed: wakes one idle thread.
    work: Condvar,
}

/// The pool's queue and counts. `idle - queue.len()`, when positive, is how many threads are free
/// for a new job: each queued job will be taken by one of the idle threads. So `execute` starts a
/// thread when `idle <= queue.len()`, and an idle thread retires only when it finds the queue
/// empty: every queued job keeps a thread that will take it.
struct PoolState {
    /// Jobs not taken yet, oldest first.
    queue: VecDeque<Job>,
    /// Threads alive.
    threads: usize,
    /// Threads waiting for a job.
    idle: usize,
}

static POOL: Pool = Pool {
    state: Mutex::new(PoolState {
        queue: VecDeque::new(),
        threads: 0,
        idle: 0,
    }),
    work: Condvar::new(),
};

/// The pool's state. A job never runs under this lock, so a panic cannot poison it with a
/// half-made change; if one ever did, the counts are still whole numbers worth going on with.
fn lock() -> MutexGuard<'static, PoolState> {
    POOL.state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Queues `job` for a helper thread, starting one if no idle thread is free for it. `Err` (and
/// the job dropped, unrun) only if no thread could be started and none is alive to run it later.
fn execute(job: Job) -> io::Result<()> {
    let mut state = lock();
    // Every idle thread is already spoken for by a queued job: this one needs a thread of its own.
    if state.idle <= state.queue.len() && state.threads < MAX_THREADS {
        let spawned = thread::Builder::new()
            .name("glass-blocking".into())
            .spawn(worker);
        match spawned {
            Ok(_) => state.threads += 1,
            // Queued, the job would wait for ever: say so to the caller instead.
            Err(e) if state.threads == 0 => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("could not start a thread for the blocking pool: {e}"),
                ));
            }
            // Otherwise the job waits for one of the threads already running.
            Err(_) => {}
        }
    }
    state.queue.push_back(job);
    drop(state);
    POOL.work.notify_one();
    Ok(())
}

/// A helper thread: takes jobs until none has come for [`KEEP_ALIVE`].
fn worker() {
    let mut state = lock();
    loop {
        let job = match state.queue.pop_front() {
            Some(job) => job,
            None => {
                let idle_until = Instant::now() + KEEP_ALIVE;
                state.idle += 1;
                let job = loop {
                    if let Some(job) = state.queue.pop_front() {
                        break Some(job);
                    }
                    let left = idle_until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break None;
                    }
                    // Sleeps in the kernel until `notify_one` (or the time is up, or a spurious
                    // wake-up, after which the queue is simply looked at again).
                    state = POOL
                        .work
                        .wait_timeout(state, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                };
                state.idle -= 1;
                match job {
                    Some(job) => job,
                    None => {
                        // Checked under the lock that `execute` pushes under: the queue is empty,
                        // so no job is left counting on this thread.
                        state.threads -= 1;
                        return;
                    }
                }
            }
        };
        drop(state);
        // A job catches its closure's panics, but the waker it calls is anyone's code: a panic
        // there must not kill the thread, or the pool would lose it for good.
        let _ = panic::catch_unwind(AssertUnwindSafe(job));
        state = lock();
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
