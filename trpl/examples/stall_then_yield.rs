//! A `thread::sleep` inside a task holds the whole thread: nothing else runs until the task
//! reaches an `.await` that is `Pending`. With `trpl::yield_now()` between the slow steps, the
//! tasks take turns.
//!
//! `GLASS_TRACE=1 cargo run -p trpl --example stall_then_yield`: the slow-poll warning names the
//! task that held the thread and for how long; after the yields each poll is short, and each
//! task is woken by itself (`cause=self`).

use std::thread;
use std::time::Duration;

/// A step of blocking work: the kind of call that must not run on an executor's thread.
fn slow(name: &str, ms: u64) {
    thread::sleep(Duration::from_millis(ms));
    println!("{name} worked {ms} ms");
}

fn main() {
    trpl::block_on(async {
        let stalls = trpl::spawn_task(async {
            slow("stalling", 60);
            slow("stalling", 40);
        });
        let waits = trpl::spawn_task(async {
            println!("waiting task ran");
        });
        stalls.await.unwrap();
        waits.await.unwrap();

        let first = trpl::spawn_task(async {
            slow("first", 10);
            trpl::yield_now().await;
            slow("first", 10);
        });
        let second = trpl::spawn_task(async {
            slow("second", 10);
            trpl::yield_now().await;
            slow("second", 10);
        });
        first.await.unwrap();
        second.await.unwrap();
    });
}
