//! Runtime-neutral futures from the `futures` crate run unchanged on glass: they only ever see a
//! `std::task::Waker`, and glass's wakers work from any thread.

mod common;

use std::thread;
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::{FutureExt, SinkExt, StreamExt};

use common::run;
use executor::{spawn, yield_now};

#[test]
fn futures_unbounded_mpsc_fed_from_four_threads_delivers_everything() {
    let per_thread = 5_000u64;
    let (count, sum) = run(move || async move {
        let (tx, mut rx) = mpsc::unbounded::<u64>();
        let producers: Vec<_> = (0..4u64)
            .map(|t| {
                let tx = tx.clone();
                thread::spawn(move || {
                    for i in 0..per_thread {
                        tx.unbounded_send(t * per_thread + i).unwrap();
                        if i % 500 == 0 {
                            thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        drop(tx); // The stream ends when the last producer's sender is dropped.
        let (mut count, mut sum) = (0u64, 0u64);
        while let Some(value) = rx.next().await {
            count += 1;
            sum += value;
        }
        for producer in producers {
            producer.join().unwrap();
        }
        (count, sum)
    });
    let n = 4 * per_thread;
    assert_eq!(count, n);
    assert_eq!(sum, n * (n - 1) / 2);
}

#[test]
fn futures_bounded_mpsc_applies_backpressure_across_threads() {
    // A producer thread blocks on a channel of capacity 1 until a glass task makes room; glass
    // tasks block on it until the thread fills it.
    let received = run(|| async {
        let (mut tx, rx) = mpsc::channel::<u32>(1);
        let (mut back_tx, mut back_rx) = mpsc::channel::<u32>(1);
        let producer = thread::spawn(move || {
            futures::executor::block_on(async move {
                for i in 0..200 {
                    tx.send(i).await.unwrap();
                }
            })
        });
        let consumer = spawn(async move {
            let mut rx = rx;
            while let Some(value) = rx.next().await {
                back_tx.send(value * 10).await.unwrap();
            }
        });
        let mut received = Vec::new();
        while let Some(value) = back_rx.next().await {
            received.push(value);
        }
        consumer.await.unwrap();
        producer.join().unwrap();
        received
    });
    assert_eq!(received, (0..200).map(|i| i * 10).collect::<Vec<_>>());
}

#[test]
fn futures_oneshot_sent_from_another_thread_completes_the_waiting_task() {
    let values = run(|| async {
        let mut handles = Vec::new();
        for i in 0..50u32 {
            let (tx, rx) = oneshot::channel::<u32>();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(u64::from(i % 5)));
                tx.send(i * 2).unwrap();
            });
            handles.push(spawn(async move { rx.await.unwrap() }));
        }
        let mut values = Vec::new();
        for handle in handles {
            values.push(handle.await.unwrap());
        }
        values
    });
    assert_eq!(values, (0..50).map(|i| i * 2).collect::<Vec<_>>());
}

#[test]
fn futures_oneshot_whose_sender_is_dropped_on_another_thread_reports_canceled() {
    let result = run(|| async {
        let (tx, rx) = oneshot::channel::<u32>();
        let dropper = thread::spawn(move || {
            thread::sleep(Duration::from_millis(10));
            drop(tx);
        });
        let result = rx.await;
        dropper.join().unwrap();
        result
    });
    assert_eq!(result, Err(oneshot::Canceled));
}

#[test]
fn futures_join_runs_its_branches_concurrently() {
    // The two branches ping-pong through channels: run one after the other, they would deadlock.
    let (a, b) = run(|| async {
        let (mut to_b, mut from_a) = mpsc::channel::<u32>(0);
        let (mut to_a, mut from_b) = mpsc::channel::<u32>(0);
        let a = async move {
            let mut last = 0;
            for i in 0..100 {
                to_b.send(i).await.unwrap();
                last = from_b.next().await.unwrap();
            }
            last
        };
        let b = async move {
            let mut count = 0;
            while let Some(value) = from_a.next().await {
                count += 1;
                to_a.send(value + 1000).await.unwrap();
                if count == 100 {
                    break;
                }
            }
            count
        };
        futures::join!(a, b)
    });
    assert_eq!((a, b), (1099, 100));
}

#[test]
fn futures_join_awaits_glass_join_handles_and_a_remote_oneshot() {
    let (x, y, z) = run(|| async {
        let (tx, rx) = oneshot::channel::<&str>();
        let sender = thread::spawn(move || tx.send("remote").unwrap());
        let x = spawn(async {
            yield_now().await;
            1
        });
        let y = spawn(async { 2 });
        let (x, y, z) = futures::join!(x, y, rx);
        sender.join().unwrap();
        (x.unwrap(), y.unwrap(), z.unwrap())
    });
    assert_eq!((x, y, z), (1, 2, "remote"));
}

#[test]
fn futures_select_takes_the_branch_that_is_ready_first() {
    let (first, second) = run(|| async {
        // A message from another thread beats an hour-long sleep...
        let (tx, rx) = oneshot::channel::<u32>();
        let sender = thread::spawn(move || {
            thread::sleep(Duration::from_millis(10));
            tx.send(5).unwrap();
        });
        let mut rx = rx.fuse();
        let mut long_sleep = reactor::time::sleep(Duration::from_secs(3600)).fuse();
        let first = futures::select! {
            value = rx => format!("message {}", value.unwrap()),
            () = long_sleep => "slept".to_string(),
        };
        sender.join().unwrap();

        // ...and a short sleep beats a message that never comes.
        let (_keep_open, never) = oneshot::channel::<u32>();
        let mut never = never.fuse();
        let mut short_sleep = reactor::time::sleep(Duration::from_millis(10)).fuse();
        let second = futures::select! {
            value = never => format!("message {value:?}"),
            () = short_sleep => "slept".to_string(),
        };
        (first, second)
    });
    assert_eq!(first, "message 5");
    assert_eq!(second, "slept");
}

#[test]
fn futures_unordered_and_join_all_drive_many_futures_inside_one_task() {
    let (unordered_sum, join_all) = run(|| async {
        let mut unordered: futures::stream::FuturesUnordered<_> = (0..100u64)
            .map(|i| async move {
                for _ in 0..(i % 7) {
                    yield_now().await;
                }
                i
            })
            .collect();
        let mut unordered_sum = 0;
        while let Some(i) = unordered.next().await {
            unordered_sum += i;
        }
        let handles = (0..100u64).map(|i| spawn(async move { i * 2 }));
        let join_all: Vec<u64> = futures::future::join_all(handles)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        (unordered_sum, join_all)
    });
    assert_eq!(unordered_sum, 99 * 100 / 2);
    assert_eq!(join_all, (0..100).map(|i| i * 2).collect::<Vec<_>>());
}

#[test]
fn a_futures_async_mutex_is_shared_between_glass_tasks() {
    let total = run(|| async {
        let counter = std::rc::Rc::new(futures::lock::Mutex::new(0u32));
        let handles: Vec<_> = (0..10)
            .map(|_| {
                let counter = counter.clone();
                spawn(async move {
                    for _ in 0..10 {
                        let mut guard = counter.lock().await;
                        let seen = *guard;
                        // Hold the lock across a yield: the other tasks must wait their turn.
                        yield_now().await;
                        *guard = seen + 1;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        *counter.lock().await
    });
    assert_eq!(total, 100);
}
