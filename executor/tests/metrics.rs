//! `executor::metrics()`: the always-on counters move as the executor works.

mod common;

use std::future::pending;
use std::thread;
use std::time::Duration;

use common::{Gate, oneshot, run, yield_times};
use executor::{block_on, spawn, yield_now};

#[test]
fn metrics_count_spawned_and_finished_tasks_and_polls() {
    let (start, after) = run(|| async {
        let start = executor::metrics();
        let handles: Vec<_> = (0..10)
            .map(|_| {
                spawn(async {
                    yield_now().await;
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        (start, executor::metrics())
    });
    assert_eq!(start.tasks_spawned, 0);
    assert_eq!(start.tasks_finished, 0);
    assert_eq!(
        start.polls, 1,
        "the first poll of the main future is counted"
    );
    assert_eq!(after.tasks_spawned, 10);
    assert_eq!(after.tasks_finished, 10);
    // Each task is polled twice (it yields once), and the main future at least twice.
    assert!(after.polls >= 10 * 2 + 2, "polls: {}", after.polls);
}

#[test]
fn metrics_count_panicked_and_aborted_tasks_as_finished() {
    let m = run(|| async {
        let panics = spawn(async { panic!("counted") });
        let aborted = spawn(pending::<()>());
        yield_now().await;
        aborted.abort();
        assert!(panics.await.unwrap_err().is_panic());
        assert!(aborted.await.unwrap_err().is_cancelled());
        executor::metrics()
    });
    assert_eq!(m.tasks_spawned, 2);
    assert_eq!(m.tasks_finished, 2);
}

#[test]
fn metrics_count_remote_wakes_from_another_thread() {
    let (before, after) = run(|| async {
        let before = executor::metrics();
        for _ in 0..5 {
            let (tx, rx) = oneshot::<()>();
            let sender = thread::spawn(move || {
                thread::sleep(Duration::from_millis(5));
                tx.send(());
            });
            rx.await.unwrap();
            sender.join().unwrap();
        }
        (before, executor::metrics())
    });
    assert_eq!(before.remote_wakes, 0);
    assert!(after.remote_wakes > 0, "no remote wake was counted");
    assert!(after.remote_wakes <= 5);
}

#[test]
fn metrics_count_local_wakes_but_not_wakes_of_an_already_queued_task() {
    let (before, after) = run(|| async {
        let gate = Gate::new();
        let handle = spawn(gate.wait());
        yield_now().await;
        let before = executor::metrics();
        let waker = gate.waker();
        for _ in 0..100 {
            waker.wake_by_ref();
        }
        let after = executor::metrics();
        gate.open();
        handle.await.unwrap();
        (before, after)
    });
    assert_eq!(after.local_wakes - before.local_wakes, 1);
    assert_eq!(after.remote_wakes, 0);
}

#[test]
fn the_executor_sleeps_while_waiting_instead_of_spinning() {
    let (before, after) = run(|| async {
        let before = executor::metrics();
        reactor::time::sleep(Duration::from_millis(100)).await;
        (before, executor::metrics())
    });
    let parks = after.parks - before.parks;
    let polls = after.polls - before.polls;
    // A spinning loop would park (and poll) thousands of times in 100 ms; a sleeping one parks
    // about once. The bounds are loose on purpose: only spinning can reach them.
    assert!(parks >= 1);
    assert!(parks <= 50, "parked {parks} times during a 100 ms sleep");
    assert!(polls <= 50, "polled {polls} times during a 100 ms sleep");
    assert!(
        after.time_parked - before.time_parked >= Duration::from_millis(50),
        "only {:?} parked during a 100 ms sleep",
        after.time_parked - before.time_parked
    );
}

#[test]
fn each_block_on_starts_its_counters_from_zero() {
    let (first, second) = common::with_deadline(|| {
        let first = block_on(async {
            spawn(async {}).await.unwrap();
            executor::metrics()
        });
        let second = block_on(async { executor::metrics() });
        (first, second)
    });
    assert_eq!(first.tasks_spawned, 1);
    assert_eq!(second.tasks_spawned, 0);
    assert_eq!(second.tasks_finished, 0);
    assert_eq!(second.polls, 1);
    assert_eq!(second.remote_wakes, 0);
}

#[test]
fn time_running_and_time_parked_add_up_to_no_more_than_the_elapsed_time() {
    let started = std::time::Instant::now();
    let m = run(|| async {
        yield_times(10).await;
        reactor::time::sleep(Duration::from_millis(20)).await;
        executor::metrics()
    });
    let elapsed = started.elapsed();
    assert!(m.time_parked + m.time_running <= elapsed);
    assert!(m.time_parked >= Duration::from_millis(10));
}
