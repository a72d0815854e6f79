//! Rung 4 of the ladder: a future that returns `Pending` must arrange its own wake-up.
//!
//! ```text
//! cargo run -p executor --example lost_wakeup
//! ```
//!
//! A thread sets a flag after 200 ms. Two hand-written futures wait for it:
//! 1. `Forgetful` checks the flag and returns `Pending`, but keeps no waker. Nobody can wake its
//!    task, so it would hang forever; a `timeout` around it gives up after one second, and the
//!    executor's lost-waker warning says what went wrong.
//! 2. `Remembering` stores `cx.waker().clone()` where the thread will find it; the thread calls
//!    `wake` after setting the flag, and the future completes.
//!
//! A small `tracing` subscriber prints the executor's warnings (target `glass::executor`, level
//! WARN) as they happen.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use reactor::time::timeout;

/// When the thread sets the flag.
const SET_AFTER: Duration = Duration::from_millis(200);
/// How long we are willing to wait.
const PATIENCE: Duration = Duration::from_secs(1);

/// What the waiting future and the setting thread share.
#[derive(Default)]
struct Flag {
    set: AtomicBool,
    /// The waker to call once `set` is true; only `Remembering` puts one here.
    waker: Mutex<Option<Waker>>,
}

/// Sets the flag from another thread after `SET_AFTER`, then wakes whoever stored a waker.
fn set_later(flag: Arc<Flag>, start: Instant) {
    thread::spawn(move || {
        thread::sleep(SET_AFTER);
        flag.set.store(true, Ordering::Release);
        let waker = flag.waker.lock().expect("not poisoned").take();
        println!(
            "   thread: flag set at {} ms; waker to call: {}",
            start.elapsed().as_millis(),
            if waker.is_some() { "yes" } else { "none" }
        );
        if let Some(waker) = waker {
            waker.wake();
        }
    });
}

/// The bug: returns `Pending` without keeping the waker.
struct Forgetful(Arc<Flag>);

impl Future for Forgetful {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.0.set.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        println!("   Forgetful::poll: flag not set; Pending (and no waker kept)");
        Poll::Pending
    }
}

/// The fix: stores the waker, then checks the flag again, so a set that raced with the store is
/// seen now rather than missed.
struct Remembering(Arc<Flag>);

impl Future for Remembering {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.0.waker.lock().expect("not poisoned") = Some(cx.waker().clone());
        if self.0.set.load(Ordering::Acquire) {
            println!("   Remembering::poll: flag set: Ready");
            return Poll::Ready(());
        }
        println!("   Remembering::poll: flag not set; waker stored; Pending");
        Poll::Pending
    }
}

/// Starts the thread that sets the flag, spawns the waiting future (made by `waiter`) as the
/// task `name`, and waits for it at most `PATIENCE`.
fn wait_for<F: Future<Output = ()> + 'static>(name: &str, waiter: impl FnOnce(Arc<Flag>) -> F) {
    executor::block_on(async {
        let start = Instant::now();
        let flag = Arc::new(Flag::default());
        set_later(flag.clone(), start);
        let task = executor::Builder::new().name(name).spawn(waiter(flag));
        match timeout(PATIENCE, task).await {
            Ok(_) => println!("   `{name}` finished at {} ms", start.elapsed().as_millis()),
            Err(_) => println!(
                "   gave up on `{name}` at {} ms: the flag was set long ago, but nothing woke the task",
                start.elapsed().as_millis()
            ),
        }
    });
    println!();
}

fn main() {
    common::print_events("glass::executor", tracing::Level::WARN);

    println!("1. Forgetful: Pending without a waker, inside a timeout of 1 s.");
    wait_for("forgetful wait", Forgetful);

    println!("2. Remembering: stores cx.waker() where the thread will find it.");
    wait_for("remembering wait", Remembering);

    println!("What to notice:");
    println!("- Pending is a promise: \"somebody will wake me\". Forgetful broke it; its task was");
    println!("  never polled again, although the flag was set after 200 ms.");
    println!("- Without the timeout, the program would have hung without a word. The executor's");
    println!("  warning named the task and the mistake at the moment it was made.");
    println!("- The fix is the pattern every leaf future follows: store cx.waker().clone() where");
    println!("  the event will find it, check once more, and let the event call wake().");
}
