//! Waking the loop from another thread: a wake must end `epoll_wait` at once, even when no timer
//! would end it, and no wake may be lost however the two threads interleave.

mod common;

use std::time::{Duration, Instant};

use common::{LIMIT, run};
use futures::StreamExt;
use futures::channel::{mpsc, oneshot};

#[test]
fn a_wake_from_another_thread_ends_epoll_wait_promptly_with_no_timer_pending() {
    run(LIMIT, || async {
        for round in 0..3 {
            let (tx, rx) = oneshot::channel::<Instant>();
            let asleep_before = reactor::metrics().time_asleep;
            // No timer, no socket: the only thing that can end the loop's `epoll_wait` is the
            // other thread's wake. Without the unpark it would sleep forever.
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                let _ = tx.send(Instant::now());
            });
            let sent = rx.await.expect("sender dropped");
            let latency = sent.elapsed();
            let asleep = reactor::metrics().time_asleep - asleep_before;
            assert!(
                asleep >= Duration::from_millis(200),
                "round {round}: the loop was not blocked in epoll_wait ({asleep:?} asleep)"
            );
            // A few milliseconds in practice; the bound is loose for loaded machines.
            assert!(
                latency < Duration::from_secs(1),
                "round {round}: woke {latency:?} after the other thread's wake"
            );
        }
        let metrics = executor::metrics();
        assert!(metrics.remote_wakes >= 3, "{metrics:?}");
    });
}

#[test]
fn ping_pong_with_another_thread_never_loses_a_wake() {
    // Many round trips with no pause: the wakes race the loop's going to sleep in every possible
    // way. A lost one shows as a hang (caught by the deadline).
    const ROUNDS: u64 = 20_000;
    let last = run(LIMIT, || async {
        let (to_thread, from_loop) = std::sync::mpsc::channel::<u64>();
        let (to_loop, mut from_thread) = mpsc::unbounded::<u64>();
        let echo = std::thread::spawn(move || {
            for n in from_loop {
                if to_loop.unbounded_send(n + 1).is_err() {
                    break;
                }
            }
        });
        let mut n = 0;
        for _ in 0..ROUNDS {
            to_thread.send(n).unwrap();
            n = from_thread.next().await.expect("echo thread gone");
        }
        drop(to_thread);
        echo.join().unwrap();
        n
    });
    assert_eq!(last, ROUNDS);
}
