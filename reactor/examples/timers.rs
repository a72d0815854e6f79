//! Rung 5 of the ladder: timers are deadlines, and the next deadline is `epoll_wait`'s timeout.
//!
//! ```text
//! cargo run -p reactor --example timers
//! ```
//!
//! Three timers run at once on one thread: a `sleep` of 250 ms, an `interval` ticking every
//! 100 ms, and a `timeout` of 50 ms around a sleep of a whole second. With the reactor's trace
//! on (target `glass::reactor`, level TRACE), every `epoll_wait` prints the timeout it was given
//! (the time left until the earliest deadline), how many events it returned, and how long the
//! thread actually slept.

#[path = "../../executor/examples/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use reactor::time::{interval, sleep, timeout};

fn main() {
    // The reactor's own events: `epoll_wait timeout=.. events=.. asleep=..` and `timers fired`.
    common::print_events("glass::reactor", tracing::Level::TRACE);

    println!(
        "Deadlines: the timeout at 50 ms, the ticks at 0, 100, 200, 300 ms, the sleep at 250."
    );
    println!("The sleep of 1 s inside the timeout would end at 1000 ms.");
    executor::block_on(async {
        let start = Instant::now();
        let at = move || start.elapsed().as_millis();

        let sleeper = executor::Builder::new().name("sleeper").spawn(async move {
            sleep(Duration::from_millis(250)).await;
            println!("   [{:>4} ms] sleeper: my 250 ms sleep is over", at());
        });
        let ticker = executor::Builder::new().name("ticker").spawn(async move {
            let mut ticks = interval(Duration::from_millis(100));
            for n in 0..4 {
                ticks.tick().await;
                println!("   [{:>4} ms] ticker: tick {n}", at());
            }
        });
        let gave_up = timeout(Duration::from_millis(50), sleep(Duration::from_secs(1))).await;
        println!(
            "   [{:>4} ms] main: the timeout {}; the 1 s sleep inside it was dropped with it",
            at(),
            if gave_up.is_err() {
                "gave up"
            } else {
                "did not fire (?)"
            }
        );
        sleeper.await.expect("the sleeper does not panic");
        ticker.await.expect("the ticker does not panic");
        println!("   [{:>4} ms] every timer is done", at());
    });
    println!();
    println!("What to notice:");
    println!("- Each epoll_wait's timeout is the time left until the earliest deadline: 50 ms");
    println!("  to the timeout, 50 to tick 1, 100 to tick 2, then about 50 each. It shrinks and");
    println!("  grows with the next deadline, and `asleep` shows the thread slept that long.");
    println!("- The thread sleeps between deadlines: no timer is checked by looping.");
    println!("- The 1 s sleep never became a timeout: it was dropped at 50 ms with its `timeout`,");
    println!("  and dropping a timer removes its deadline.");
    println!("- A `timeout=Some(0ns)`, if you see one, is a quick look for I/O between two");
    println!("  batches of polls, not a sleep.");
}
