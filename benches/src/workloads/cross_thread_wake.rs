//! [`SENDERS`] OS threads send `n` messages, in total, to one task through an unbounded
//! `futures::channel::mpsc` channel. Every message that finds the task waiting wakes it from
//! another thread, which is the path that has to interrupt the runtime's `epoll_wait`.
//!
//! The senders are started inside the measured time, on both runtimes alike; four thread spawns
//! cost a few hundred microseconds, small next to 100,000 messages.

use std::io;
use std::thread;
use std::time::Instant;

use futures::StreamExt;
use futures::channel::mpsc;

use crate::{Harness, Run};

/// How many OS threads send.
pub const SENDERS: usize = 4;

/// The check value: the sum of every message, each sender sending its share of `0..n`.
pub fn expected(n: usize) -> u64 {
    (n as u64) * (n as u64).saturating_sub(1) / 2
}

/// Starts the senders and returns the receiving half plus the threads to join. Sender `t`
/// sends the numbers `t, t + SENDERS, t + 2*SENDERS, ...` below `n`.
fn start_senders(n: usize) -> (mpsc::UnboundedReceiver<u64>, Vec<thread::JoinHandle<()>>) {
    let (tx, rx) = mpsc::unbounded();
    let threads = (0..SENDERS)
        .map(|t| {
            let tx = tx.clone();
            thread::spawn(move || {
                for value in (t..n).step_by(SENDERS) {
                    tx.unbounded_send(value as u64)
                        .expect("cross_thread_wake: the receiver hung up");
                }
            })
        })
        .collect();
    (rx, threads)
}

/// The receiving task: sums messages until every sender has hung up.
async fn receive(mut rx: mpsc::UnboundedReceiver<u64>) -> u64 {
    let mut sum = 0;
    // Ends when the last sender thread drops its sender.
    while let Some(value) = rx.next().await {
        sum += value;
    }
    sum
}

fn join(threads: Vec<thread::JoinHandle<()>>) {
    for t in threads {
        t.join().expect("cross_thread_wake: a sender panicked");
    }
}

/// glass: the receiver is an `executor::spawn`ed task.
pub fn glass(_: &Harness, n: usize) -> io::Result<Run> {
    let start = Instant::now();
    let sum = executor::block_on(async move {
        let (rx, threads) = start_senders(n);
        let sum = executor::spawn(receive(rx)).await;
        join(threads);
        sum.expect("cross_thread_wake: the receiver failed")
    });
    Ok(Run::new(start.elapsed(), sum))
}

/// tokio: the receiver is a `tokio::spawn`ed task.
pub fn tokio(h: &Harness, n: usize) -> io::Result<Run> {
    let start = Instant::now();
    let sum = h.tokio().block_on(async move {
        let (rx, threads) = start_senders(n);
        let sum = tokio::spawn(receive(rx)).await;
        join(threads);
        sum.expect("cross_thread_wake: the receiver failed")
    });
    Ok(Run::new(start.elapsed(), sum))
}

/// smol: the receiver is a `LocalExecutor::spawn`ed task; the senders' wakes reach it through
/// async-io's `block_on`, which parks in the reactor (or on a parker) and is unparked by them.
pub fn smol(_: &Harness, n: usize) -> io::Result<Run> {
    let start = Instant::now();
    let ex = smol::LocalExecutor::new();
    let sum = smol::block_on(ex.run(async {
        let (rx, threads) = start_senders(n);
        let sum = ex.spawn(receive(rx)).await;
        join(threads);
        sum
    }));
    Ok(Run::new(start.elapsed(), sum))
}
