//! A stream's `timeout` and `throttle` are timers in the reactor, beside the stream.
//!
//! A sender task sends "a" at once and "b" 300 ms later; `timeout(100 ms)` reports the gap as
//! one `Elapsed(())` and goes on waiting. Then `throttle(100 ms)` spaces out five numbers that
//! are all ready at once.
//!
//! `GLASS_TRACE=1 cargo run -p trpl --example stream_timers`: while the stream waits,
//! `epoll_wait`'s timeout is the timeout's deadline, not the sender's; later each throttled item
//! is one timer and one wake.

use std::pin::pin;
use std::time::{Duration, Instant};

use trpl::{ReceiverStream, StreamExt};

fn main() {
    trpl::block_on(async {
        let (tx, rx) = trpl::channel();
        trpl::spawn_task(async move {
            tx.send("a").unwrap();
            trpl::sleep(Duration::from_millis(300)).await;
            tx.send("b").unwrap();
        });
        let mut messages = pin!(ReceiverStream::new(rx).timeout(Duration::from_millis(100)));
        while let Some(message) = messages.next().await {
            match message {
                Ok(text) => println!("message {text}"),
                Err(late) => println!("problem: {late:?}"),
            }
        }

        let start = Instant::now();
        let mut numbers = pin!(trpl::stream_from_iter(1..=5).throttle(Duration::from_millis(100)));
        while let Some(n) = numbers.next().await {
            println!(
                "number {n} after {} ms",
                start.elapsed().as_millis() / 100 * 100
            );
        }
    });
}
