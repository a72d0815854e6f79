//! trpl across threads: a `Sender` used on a plain thread wakes a `block_on` asleep in
//! `epoll_wait`, and several threads each run a `block_on` of their own at once.

use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::Duration;

/// Runs `f` on a thread of its own and returns its result, failing the test instead of hanging if
/// it has not finished after a minute (a lost cross-thread wake leaves `block_on` asleep for ever).
fn within_a_minute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    thread::spawn(move || done.send(f()));
    result
        .recv_timeout(Duration::from_secs(60))
        .expect("block_on was never woken: a wake from another thread was lost")
}

#[test]
fn a_sender_on_another_thread_wakes_the_waiting_block_on() {
    let (tx, mut rx) = trpl::channel();
    // The thread sends only once the receiver is surely asleep: each send must end a real
    // `epoll_wait`, not be found by a poll that happened to come later.
    let sender = thread::spawn(move || {
        for i in 1..=5 {
            thread::sleep(Duration::from_millis(20));
            tx.send(i).unwrap();
        }
    });
    let received = within_a_minute(move || {
        trpl::block_on(async {
            let mut all = Vec::new();
            while let Some(i) = rx.recv().await {
                all.push(i);
            }
            all
        })
    });
    sender.join().unwrap();
    assert_eq!(received, [1, 2, 3, 4, 5]);
}

#[test]
fn many_threads_sending_at_once_lose_no_message() {
    const THREADS: u64 = 4;
    const EACH: u64 = 2_000;
    let (tx, rx) = trpl::channel();
    let senders: Vec<_> = (0..THREADS)
        .map(|t| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..EACH {
                    tx.send(t * EACH + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let mut received: Vec<u64> = within_a_minute(move || {
        use trpl::StreamExt;
        trpl::block_on(trpl::ReceiverStream::new(rx).collect())
    });
    for sender in senders {
        sender.join().unwrap();
    }
    received.sort_unstable();
    assert_eq!(received, (0..THREADS * EACH).collect::<Vec<_>>());
}

#[test]
fn blocking_recv_waits_on_a_plain_thread_for_async_code() {
    let (tx, mut rx) = trpl::channel();
    let (done, received) = mpsc::channel();
    thread::spawn(move || done.send(rx.blocking_recv()));
    trpl::block_on(async move {
        trpl::sleep(Duration::from_millis(10)).await;
        tx.send("from block_on").unwrap();
    });
    let received = received.recv_timeout(Duration::from_secs(60));
    assert_eq!(
        received,
        Ok(Some("from block_on")),
        "the waiting thread was never woken"
    );
}

#[test]
fn several_threads_each_run_their_own_block_on_at_once() {
    const THREADS: usize = 4;
    let together = Arc::new(Barrier::new(THREADS));
    let runs: Vec<_> = (0..THREADS)
        .map(|t| {
            let together = together.clone();
            thread::spawn(move || {
                trpl::block_on(async move {
                    // Every thread is inside its block_on before any goes on.
                    together.wait();
                    let spawned = trpl::spawn_task(async move {
                        trpl::sleep(Duration::from_millis(5)).await;
                        t * 10
                    });
                    let (a, b) = trpl::join(spawned, async {
                        trpl::yield_now().await;
                        t
                    })
                    .await;
                    a.unwrap() + b
                })
            })
        })
        .collect();
    let results: Vec<usize> = runs.into_iter().map(|r| r.join().unwrap()).collect();
    assert_eq!(results, (0..THREADS).map(|t| t * 11).collect::<Vec<_>>());
}
