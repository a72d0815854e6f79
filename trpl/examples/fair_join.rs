//! `trpl::join` is fair: each time its task is woken, it polls both futures, in order. Two loops
//! that each print and sleep therefore take turns, in the same order on every run.
//!
//! `GLASS_TRACE=1 cargo run -p trpl --example fair_join` shows why there is one task here, not
//! two: both loops live inside the future given to `block_on` (task 0), and each round is one
//! `epoll_wait` until both timers are due, then one wake and one poll that runs both loops.

use std::time::Duration;

fn main() {
    trpl::block_on(async {
        let tick = async {
            for i in 1..=2 {
                println!("tick {i}");
                trpl::sleep(Duration::from_millis(50)).await;
            }
        };
        let tock = async {
            for i in 1..=2 {
                println!("tock {i}");
                trpl::sleep(Duration::from_millis(50)).await;
            }
        };
        trpl::join(tick, tock).await;
    });
}
