//! Rung 6 of the ladder: cancellation. Dropping a pending future is how async Rust cancels it.
//!
//! ```text
//! cargo run -p executor --example cancellation
//! ```
//!
//! Three ways a future is dropped while it waits, each printed as it happens, with glass's
//! `dropped` trace events between the example's own lines:
//! 1. A race: two futures, the first to finish wins; the loser is dropped mid-wait, half done.
//! 2. A timeout: a read that gets no byte in time is dropped with the `Timeout`.
//! 3. `block_on` returns while a spawned task is still pending: the task is dropped.
//!
//! The events (target `glass::executor` for a task, `glass::reactor` for a sleep or a socket
//! read) name the task and what it was waiting on; `--trace` in the demo shows the same lines.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures::future::{Either, select};
use reactor::net::{TcpListener, TcpStream};
use reactor::time::{sleep, timeout};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::prelude::*;

/// Prints when dropped: a destructor is the only code of a dropped future that still runs.
struct SaysWhenDropped(&'static str);

impl Drop for SaysWhenDropped {
    fn drop(&mut self) {
        println!(
            "   {}: dropped (its destructors run; its code after the .await never will)",
            self.0
        );
    }
}

/// Prints glass's `dropped` events on stdout as they happen (the other trace events are left out:
/// only those have a `waiting_on` field). What is not an event passes, so that glass's check
/// "does anybody want the trace?" is answered yes.
fn print_dropped_events() {
    let events = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stdout)
        .with_ansi(false)
        .without_time()
        .with_filter(filter_fn(|meta| {
            meta.target().starts_with("glass")
                && (!meta.is_event() || meta.fields().field("waiting_on").is_some())
        }));
    tracing_subscriber::registry().with(events).init();
}

/// 1. The loser of a race is dropped between its two steps.
fn race() {
    executor::block_on(async {
        let start = Instant::now();
        let steps_done = Rc::new(Cell::new(0));
        let done = steps_done.clone();
        let slow = async move {
            let _says = SaysWhenDropped("slow");
            done.set(1);
            println!("   slow: step 1 of 2 done; now waiting 1 s before step 2");
            sleep(Duration::from_secs(1)).await;
            done.set(2);
            println!("   slow: step 2 of 2 done");
        };
        let fast = async {
            sleep(Duration::from_millis(50)).await;
            println!("   fast: done at {} ms", start.elapsed().as_millis());
        };
        // Boxed, so that the loser select hands back is owned, and dropping it drops it.
        match select(Box::pin(fast), Box::pin(slow)).await {
            Either::Left(((), loser)) => {
                println!("   fast won; dropping the loser now");
                drop(loser);
            }
            Either::Right(_) => unreachable!("slow waits a second"),
        }
        println!(
            "   the loser did {} of its 2 steps: what it half did stays half done",
            steps_done.get()
        );
    });
    println!();
}

/// 2. A read that gets nothing within 100 ms is dropped with its `Timeout`.
fn read_with_timeout() {
    executor::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        // The peer connects, then says nothing.
        let _quiet_peer = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (stream, peer) = listener.accept().await.unwrap();
        println!("   reading from {peer}, giving up after 100 ms");
        let mut buf = [0; 64];
        match timeout(Duration::from_millis(100), stream.read(&mut buf)).await {
            Ok(read) => println!("   read {read:?}"),
            Err(elapsed) => println!("   timeout: {elapsed}; the read was dropped with it"),
        }
        println!("   the stream is still usable: no byte was taken from it by the dropped read");
    });
    println!();
}

/// 3. `block_on` returns while a spawned task still waits on its timer.
fn block_on_returns() {
    executor::block_on(async {
        executor::Builder::new().name("heartbeat").spawn(async {
            let _says = SaysWhenDropped("heartbeat");
            for beat in 1.. {
                println!("   heartbeat: {beat}");
                sleep(Duration::from_millis(40)).await;
            }
        });
        sleep(Duration::from_millis(100)).await;
        println!("   block_on's future returns; the heartbeat task is still pending");
    });
    println!("   block_on has returned");
    println!();
}

fn main() {
    print_dropped_events();

    println!("1. A race: the first of two futures to finish wins; the other is dropped.");
    race();

    println!("2. A timeout around a read that gets no byte in time.");
    read_with_timeout();

    println!("3. block_on returns while a spawned task is still pending.");
    block_on_returns();

    println!("What to notice:");
    println!("- A dropped future runs no more code: no step 2, no next heartbeat. Only its");
    println!(
        "  destructors run, at the .await where it was waiting (the `dropped` lines say which)."
    );
    println!("- What it had done stays done: the loser's step 1 is not undone. Code that must not");
    println!("  stop half way (two writes that go together) must not .await between its halves,");
    println!("  or must put things right in a destructor.");
    println!("- A future is cancellation-safe when dropping it while it waits loses nothing: a");
    println!("  pending TcpStream::read has taken no byte, so a read after the timeout gets them");
    println!(
        "  all. A half-done write_all is not: some bytes went out, and the caller cannot tell"
    );
    println!("  how many.");
}
