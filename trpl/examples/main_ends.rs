//! A spawned task runs only while `block_on`'s future waits, and is dropped when that future
//! finishes: the counter below is cut off after its second line, with no error.
//!
//! `GLASS_TRACE=1 cargo run -p trpl --example main_ends`: both tasks' timers fire in the same
//! turn, the main future (task 0) is polled first, finishes, and `block_on` returns; task 1's
//! wake is never followed by a poll.

use std::time::Duration;

fn main() {
    trpl::block_on(async {
        trpl::spawn_task(async {
            for i in 1..=5 {
                println!("counter {i}");
                trpl::sleep(Duration::from_millis(50)).await;
            }
        });
        for i in 1..=2 {
            println!("main {i}");
            trpl::sleep(Duration::from_millis(50)).await;
        }
    });
}
