//! remote_wake: a task and an OS thread pass a counter back and forth `n` times. The task waits
//! on a `futures::channel::mpsc` receiver with nothing else to run, so its runtime goes to sleep
//! (in `epoll_wait`, or on a parker); the thread's send must then wake it from outside. Where
//! cross_thread_wake keeps the receiver busy (four senders, so it rarely sleeps), this isolates
//! the path that matters here: one wake from another thread into a sleeping runtime per
//! round trip, plus one wake of the thread (a `std::sync::mpsc` receive), the same for every
//! runtime.

use std::io;
use std::sync::mpsc as std_mpsc;
use std::thread;
use std::time::Instant;

use futures::StreamExt;
use futures::channel::mpsc;

use crate::{Harness, Run};

/// The thread's side: answers every counter it receives with the counter plus one, until the
/// task hangs up.
fn start_echo_thread() -> (
    std_mpsc::Sender<u64>,
    mpsc::UnboundedReceiver<u64>,
    thread::JoinHandle<()>,
) {
    let (to_thread, inbox) = std_mpsc::channel::<u64>();
    let (to_task, task_inbox) = mpsc::unbounded();
    let echo = thread::spawn(move || {
        // Ends when the task drops its sender.
        while let Ok(counter) = inbox.recv() {
            if to_task.unbounded_send(counter + 1).is_err() {
                break;
            }
        }
    });
    (to_thread, task_inbox, echo)
}

/// The task's side: `n` round trips; returns the counter, which is `n`.
async fn ping(
    n: usize,
    to_thread: std_mpsc::Sender<u64>,
    mut inbox: mpsc::UnboundedReceiver<u64>,
) -> u64 {
    let mut counter = 0;
    for _ in 0..n {
        to_thread
            .send(counter)
            .expect("remote_wake: the thread hung up");
        counter = inbox.next().await.expect("remote_wake: the thread hung up");
    }
    counter
}

fn join(echo: thread::JoinHandle<()>) {
    echo.join().expect("remote_wake: the thread panicked");
}

/// glass: the task is an `executor::spawn`ed task.
pub fn glass(_: &Harness, n: usize) -> io::Result<Run> {
    let (to_thread, inbox, echo) = start_echo_thread();
    let start = Instant::now();
    let counter = executor::block_on(async move {
        executor::spawn(ping(n, to_thread, inbox))
            .await
            .expect("remote_wake: the task failed")
    });
    let elapsed = start.elapsed();
    join(echo);
    Ok(Run::new(elapsed, counter))
}

/// tokio: the task is a `tokio::spawn`ed task.
pub fn tokio(h: &Harness, n: usize) -> io::Result<Run> {
    let (to_thread, inbox, echo) = start_echo_thread();
    let start = Instant::now();
    let counter = h.tokio().block_on(async move {
        tokio::spawn(ping(n, to_thread, inbox))
            .await
            .expect("remote_wake: the task failed")
    });
    let elapsed = start.elapsed();
    join(echo);
    Ok(Run::new(elapsed, counter))
}

/// smol: the task is a `LocalExecutor::spawn`ed task.
pub fn smol(_: &Harness, n: usize) -> io::Result<Run> {
    let (to_thread, inbox, echo) = start_echo_thread();
    let start = Instant::now();
    let ex = smol::LocalExecutor::new();
    let counter = smol::block_on(ex.run(ex.spawn(ping(n, to_thread, inbox))));
    let elapsed = start.elapsed();
    join(echo);
    Ok(Run::new(elapsed, counter))
}
