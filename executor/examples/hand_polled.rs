//! Rung 1 of the ladder: futures are lazy, and `poll` is all there is.
//!
//! ```text
//! cargo run -p executor --example hand_polled
//! ```
//!
//! A small future, `Countdown`, is polled by hand with a waker built in this file from a
//! `RawWakerVTable` whose every function prints what it is asked to do. Then the same future is
//! run by `executor::block_on`, which does what the hand-written loop does, plus sleeping in the
//! reactor when nothing is ready.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

/// Returns `Pending` `left` times, waking its task each time, then `Ready("lift-off")`. A real
/// future (a socket read, a sleep) would hand its waker to whoever will see the event; this one is
/// its own event, so it wakes at once.
struct Countdown {
    left: u32,
}

impl Future for Countdown {
    type Output = &'static str;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        if self.left == 0 {
            println!("    Countdown::poll: nothing left to wait for: Ready(\"lift-off\")");
            return Poll::Ready("lift-off");
        }
        println!(
            "    Countdown::poll: {} to go; keeping a clone of the waker, waking it, Pending",
            self.left
        );
        self.left -= 1;
        // What every future that returns `Pending` must do: make sure somebody will wake it.
        let waker = cx.waker().clone();
        waker.wake();
        Poll::Pending
    }
}

/// Set by our waker's `wake`: "poll me again". The loop in `main` reads it.
static WOKEN: AtomicBool = AtomicBool::new(false);

/// The four functions every waker is made of. Ours ignore the data pointer (there is only one
/// task) and print what they are asked to do.
static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

fn raw_waker() -> RawWaker {
    RawWaker::new(std::ptr::null(), &VTABLE)
}

fn clone(_: *const ()) -> RawWaker {
    println!("      waker: clone");
    raw_waker()
}

fn wake(_: *const ()) {
    println!("      waker: wake (consumes this clone)");
    WOKEN.store(true, Ordering::Release);
}

fn wake_by_ref(_: *const ()) {
    println!("      waker: wake_by_ref");
    WOKEN.store(true, Ordering::Release);
}

fn drop_waker(_: *const ()) {
    println!("      waker: drop");
}

fn main() {
    println!("1. Create the futures. Nothing runs yet: an async block is only a value.");
    let greeting = async {
        println!("    the async block's body runs now, at its first poll");
        "hello"
    };
    let countdown = Countdown { left: 2 };
    println!("   (no line from the async block has been printed: futures are lazy)");
    println!();

    println!("2. Poll them by hand, with a waker made from a RawWakerVTable.");
    // SAFETY: every function of VTABLE ignores the data pointer (null here), so any pointer is
    // valid for them; they touch only an atomic and stdout, so calling them from any thread,
    // any number of times, is sound, as `Waker` requires.
    let waker = unsafe { Waker::from_raw(raw_waker()) };
    let mut cx = Context::from_waker(&waker);
    let mut greeting = pin!(greeting);
    println!("   poll #1 of the async block:");
    let result = greeting.as_mut().poll(&mut cx);
    println!("   -> {result:?}");

    let mut countdown = pin!(countdown);
    let mut polls = 0;
    let output = loop {
        polls += 1;
        println!("   poll #{polls} of Countdown:");
        WOKEN.store(false, Ordering::Relaxed);
        match countdown.as_mut().poll(&mut cx) {
            Poll::Ready(output) => break output,
            Poll::Pending if WOKEN.load(Ordering::Acquire) => {
                println!("   -> Pending, and it was woken: poll it again");
            }
            Poll::Pending => {
                // Our loop has nothing to wait on. An executor would sleep here until a wake.
                println!("   -> Pending and not woken: an executor would sleep now");
                return;
            }
        }
    };
    println!("   -> Ready({output:?}) after {polls} polls");
    drop(waker);
    println!();

    println!("3. The same future, run by executor::block_on.");
    let output = executor::block_on(Countdown { left: 2 });
    println!("   block_on returned {output:?} (its waker is glass's own, so it prints nothing)");
    println!();

    println!("What to notice:");
    println!("- Creating a future runs none of its code; the first poll does.");
    println!("- Pending means \"not yet, and I have arranged to be woken\"; the waker is how.");
    println!("- A wake only asks for another poll; the executor decides when that poll happens.");
    println!("- block_on is this loop, plus sleeping in the reactor while nothing was woken.");
}
