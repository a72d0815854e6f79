//! `trpl::select` returns as soon as one future finishes and drops the other: dropping a future
//! that waits is how async Rust cancels it. The loser's 10-second timer is removed from the
//! reactor with it, so the program ends at once.
//!
//! `GLASS_TRACE=1 cargo run -p trpl --example select_drops`: one `epoll_wait` whose timeout is
//! the winner's deadline, one timer fired, and `block_on`'s future ready; no wait for the loser.

use std::time::Duration;

use trpl::Either;

fn main() {
    trpl::block_on(async {
        let slow = async {
            trpl::sleep(Duration::from_secs(10)).await;
            println!("slow finished");
        };
        let quick = async {
            trpl::sleep(Duration::from_millis(100)).await;
            println!("quick finished");
        };
        match trpl::select(slow, quick).await {
            Either::Left(()) => println!("slow won"),
            Either::Right(()) => println!("quick won; slow was dropped"),
        }
    });
}
