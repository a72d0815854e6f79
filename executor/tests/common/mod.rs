//! Helpers shared by the executor's integration tests: a deadline for anything that could hang, a
//! tiny oneshot channel written by hand (so the tests depend on nothing but `std` for their
//! wake-ups), drop counters, and a few small futures.
//!
//! Each test binary uses a different subset, hence the `allow(dead_code)`.
#![allow(dead_code)]

pub mod capture;

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

/// Set by `.ci/valgrind-executor.sh`. Under valgrind everything runs 10 to 50 times slower, so the
/// deadlines grow; the counts stay the same (the whole suite takes about a minute there).
pub fn under_valgrind() -> bool {
    std::env::var_os("GLASS_UNDER_VALGRIND").is_some()
}

/// How long a test may take before it is declared hung. Generous: the tests must pass on a loaded
/// 2-core machine, and this is only here to turn a hang into a failure.
pub fn deadline() -> Duration {
    if under_valgrind() {
        Duration::from_secs(900)
    } else {
        Duration::from_secs(60)
    }
}

/// Runs `f` on a fresh thread and waits for it at most [`deadline`]. A panic in `f` is re-raised
/// here with its original payload (so `#[should_panic(expected = ...)]` works); if `f` does not
/// finish in time the test fails instead of hanging (the stuck thread is left behind).
pub fn with_deadline<T, F>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let thread = thread::Builder::new()
        .name("test-body".into())
        .spawn(move || {
            let result = panic::catch_unwind(AssertUnwindSafe(f));
            let _ = tx.send(result);
        })
        .expect("spawn the test thread");
    let limit = deadline();
    match rx.recv_timeout(limit) {
        Ok(Ok(value)) => {
            thread.join().expect("the test thread already reported");
            value
        }
        Ok(Err(payload)) => panic::resume_unwind(payload),
        Err(_) => panic!("the test did not finish within {limit:?}: the executor hung"),
    }
}

/// `executor::block_on(make())` on a fresh thread, under [`with_deadline`]. The future is built on
/// that thread, so it may hold `Rc`s; only its output must be `Send`.
pub fn run<M, Fut>(make: M) -> Fut::Output
where
    M: FnOnce() -> Fut + Send + 'static,
    Fut: Future,
    Fut::Output: Send + 'static,
{
    with_deadline(move || executor::block_on(make()))
}

/// The text of a panic payload (`panic!("...")` gives a `&str` or a `String`).
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

/// Runs `f`, expecting it to panic, and returns the panic's message.
pub fn expect_panic<R>(f: impl FnOnce() -> R) -> String {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic, but the call returned"),
        Err(payload) => panic_message(&*payload),
    }
}

/// Counts how many of its guards have been dropped, on any thread.
#[derive(Clone, Default)]
pub struct Drops(Arc<AtomicUsize>);

impl Drops {
    pub fn new() -> Self {
        Self::default()
    }

    /// A value that adds one to the count when it is dropped. Move it into a future to count the
    /// future's drop.
    pub fn guard(&self) -> DropGuard {
        DropGuard(self.0.clone())
    }

    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

pub struct DropGuard(Arc<AtomicUsize>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A one-value channel written by hand: `send` stores the value and wakes the receiver's waker,
/// from whatever thread it is called on. The receiver resolves to `Some(value)`, or `None` once
/// the sender is dropped without sending.
pub fn oneshot<T>() -> (OneshotSender<T>, OneshotReceiver<T>) {
    let inner = Arc::new(Mutex::new(OneshotState {
        value: None,
        waker: None,
        closed: false,
    }));
    (
        OneshotSender {
            inner: Some(inner.clone()),
        },
        OneshotReceiver { inner },
    )
}

struct OneshotState<T> {
    value: Option<T>,
    waker: Option<Waker>,
    closed: bool,
}

pub struct OneshotSender<T> {
    inner: Option<Arc<Mutex<OneshotState<T>>>>,
}

pub struct OneshotReceiver<T> {
    inner: Arc<Mutex<OneshotState<T>>>,
}

impl<T> OneshotSender<T> {
    pub fn send(mut self, value: T) {
        let inner = self.inner.take().expect("a sender sends once");
        Self::close(&inner, Some(value));
    }

    fn close(inner: &Mutex<OneshotState<T>>, value: Option<T>) {
        let waker = {
            let mut state = inner.lock().unwrap();
            state.value = value;
            state.closed = true;
            state.waker.take()
        };
        // Woken outside the lock, as a well-behaved channel does.
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Drop for OneshotSender<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            Self::close(&inner, None);
        }
    }
}

impl<T> Future for OneshotReceiver<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut state = self.inner.lock().unwrap();
        if state.closed {
            return Poll::Ready(state.value.take());
        }
        if !state
            .waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            state.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// The waker of the task that awaits this.
pub async fn current_waker() -> Waker {
    poll_fn(|cx| Poll::Ready(cx.waker().clone())).await
}

/// A future that counts its polls, hands out its waker, and stays pending until released. Used to
/// see exactly how often the executor polls a task.
#[derive(Clone, Default)]
pub struct Gate {
    pub polls: Rc<Cell<u32>>,
    pub waker: Rc<RefCell<Option<Waker>>>,
    pub open: Rc<Cell<bool>>,
}

impl Gate {
    pub fn new() -> Self {
        Self::default()
    }

    /// A future that completes once the gate is opened (and it is polled again).
    pub fn wait(&self) -> impl Future<Output = ()> + 'static {
        let gate = self.clone();
        poll_fn(move |cx| {
            gate.polls.set(gate.polls.get() + 1);
            *gate.waker.borrow_mut() = Some(cx.waker().clone());
            if gate.open.get() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }

    /// The waker the gate's task left at its last poll.
    pub fn waker(&self) -> Waker {
        self.waker
            .borrow()
            .clone()
            .expect("the gate's task has been polled")
    }

    pub fn polls(&self) -> u32 {
        self.polls.get()
    }

    /// Opens the gate and wakes its task.
    pub fn open(&self) {
        self.open.set(true);
        self.waker().wake();
    }
}

/// Yields to the executor `n` times, letting every queued task run `n` times.
pub async fn yield_times(n: usize) {
    for _ in 0..n {
        executor::yield_now().await;
    }
}

/// Spins on the thread for `d` without yielding: CPU-bound work on the event loop.
pub fn hog(d: Duration) {
    let start = std::time::Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}
