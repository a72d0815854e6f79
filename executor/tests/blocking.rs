//! `spawn_blocking`: CPU-bound work runs on helper threads while the event loop keeps going.

mod common;

use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use common::{expect_panic, panic_message, run, with_deadline, yield_times};
use executor::{spawn, spawn_blocking};

/// Burns CPU for `duration` of wall time.
fn cpu_loop(duration: Duration) -> u64 {
    let started = Instant::now();
    let mut x = 1u64;
    while started.elapsed() < duration {
        for _ in 0..1000 {
            x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        }
    }
    x
}

#[test]
fn a_ticking_task_keeps_ticking_while_spawn_blocking_runs_a_300ms_cpu_loop() {
    let (ticks_during, window, same_thread) = run(|| async {
        let ticks = Rc::new(RefCell::new(Vec::new()));
        let recorded = ticks.clone();
        let ticker = spawn(async move {
            let mut interval = reactor::time::interval(Duration::from_millis(10));
            loop {
                interval.tick().await;
                recorded.borrow_mut().push(Instant::now());
            }
        });
        yield_times(1).await; // The ticker is running.
        let executor_thread = thread::current().id();
        let (started, ended, blocking_thread) = spawn_blocking(|| {
            let started = Instant::now();
            cpu_loop(Duration::from_millis(300));
            (started, Instant::now(), thread::current().id())
        })
        .await
        .unwrap();
        ticker.abort();
        let during = ticks
            .borrow()
            .iter()
            .filter(|&&t| t > started && t < ended)
            .count();
        (during, ended - started, blocking_thread == executor_thread)
    });
    assert!(
        !same_thread,
        "spawn_blocking ran its closure on the executor's thread"
    );
    assert!(window >= Duration::from_millis(300));
    // Thirty ticks fit in the window; three is a bound that only a blocked event loop misses,
    // even on a loaded machine (or under valgrind).
    assert!(
        ticks_during >= 3,
        "only {ticks_during} ticks during the {window:?} of blocking work: the event loop was blocked"
    );
}

#[test]
fn a_panic_in_spawn_blocking_is_reported_through_the_handle() {
    let (is_panic, message, after) = run(|| async {
        let error = spawn_blocking(|| -> u32 { panic!("blocking work failed") })
            .await
            .unwrap_err();
        let is_panic = error.is_panic();
        let message = panic_message(&*error.into_panic());
        // The pool survives the panic.
        let after = spawn_blocking(|| 11).await.unwrap();
        (is_panic, message, after)
    });
    assert!(is_panic);
    assert_eq!(message, "blocking work failed");
    assert_eq!(after, 11);
}

#[test]
fn spawn_blocking_runs_more_jobs_than_the_pool_has_threads() {
    let jobs = 4 * reactor::blocking::MAX_THREADS;
    let results = run(move || async move {
        let handles: Vec<_> = (0..jobs)
            .map(|i| {
                spawn_blocking(move || {
                    thread::sleep(Duration::from_millis(2));
                    i * i
                })
            })
            .collect();
        let mut results = Vec::new();
        for handle in handles {
            results.push(handle.await.unwrap());
        }
        results
    });
    assert_eq!(results, (0..jobs).map(|i| i * i).collect::<Vec<_>>());
}

#[test]
fn aborting_a_spawn_blocking_handle_reports_cancelled_and_the_closure_still_completes() {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let cancelled = run(move || async move {
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let handle = spawn_blocking(move || {
            release_rx.recv().unwrap();
            done_tx.send("completed").unwrap();
        });
        yield_times(2).await;
        handle.abort();
        let cancelled = handle.await.unwrap_err().is_cancelled();
        release_tx.send(()).unwrap();
        cancelled
    });
    assert!(cancelled);
    let done = done_rx
        .recv_timeout(common::deadline())
        .expect("the closure ran to completion");
    assert_eq!(done, "completed");
}

#[test]
fn spawn_blocking_outside_block_on_panics_with_a_clear_message() {
    let message = with_deadline(|| expect_panic(|| spawn_blocking(|| 1)));
    assert!(
        message.contains("must be called from inside executor::block_on"),
        "unclear message: {message:?}"
    );
}

#[test]
fn a_spawn_blocking_job_finishing_after_block_on_returned_is_harmless() {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    with_deadline(move || {
        executor::block_on(async move {
            // Never awaited: block_on returns while the job still runs, and the job's wake then
            // reaches a runtime that no longer exists.
            drop(spawn_blocking(move || {
                thread::sleep(Duration::from_millis(50));
                done_tx.send(()).unwrap();
            }));
        });
    });
    done_rx
        .recv_timeout(common::deadline())
        .expect("the job finished");
    // Give the job's wake a moment to happen after the send.
    thread::sleep(Duration::from_millis(20));
}
