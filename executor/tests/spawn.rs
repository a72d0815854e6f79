//! `spawn` and `block_on`: many tasks, tasks spawning tasks, non-`Send` tasks, detached tasks, and
//! the clear panics for misuse (spawn outside `block_on`, `block_on` inside `block_on`).

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{expect_panic, panic_message, run, with_deadline, yield_times};
use executor::{JoinHandle, block_on, spawn, yield_now};

#[test]
fn hundred_thousand_spawned_tasks_all_finish_with_their_own_results() {
    let n = 100_000u64;
    let (results, metrics) = run(move || async move {
        let handles: Vec<JoinHandle<u64>> = (0..n)
            .map(|i| {
                spawn(async move {
                    // Every task is suspended once, so each is queued, polled, woken and polled again.
                    yield_now().await;
                    i * 3 + 1
                })
            })
            .collect();
        let mut results = Vec::with_capacity(handles.len());
        for handle in handles {
            results.push(handle.await.expect("no task fails"));
        }
        (results, executor::metrics())
    });
    assert_eq!(results.len() as u64, n);
    for (i, value) in results.iter().enumerate() {
        assert_eq!(
            *value,
            i as u64 * 3 + 1,
            "task {i} returned another task's result"
        );
    }
    assert_eq!(metrics.tasks_spawned, n);
    assert_eq!(metrics.tasks_finished, n);
}

#[test]
fn tasks_spawned_from_tasks_all_run() {
    // A binary tree of tasks 12 levels deep (4,096 leaves): every inner task spawns two more.
    fn tree(depth: u32) -> JoinHandle<u64> {
        spawn(async move {
            if depth == 0 {
                return 1;
            }
            let left = tree(depth - 1);
            let right = tree(depth - 1);
            left.await.unwrap() + right.await.unwrap()
        })
    }
    let depth = 12;
    let leaves = run(move || async move { tree(depth).await.unwrap() });
    assert_eq!(leaves, 1 << depth);
}

#[test]
fn spawned_tasks_may_hold_rc_and_refcell_across_awaits() {
    // No `Send` bound: this does not compile if `spawn` requires one.
    let log = run(|| async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let handles: Vec<_> = (0..3)
            .map(|i| {
                let log = log.clone();
                spawn(async move {
                    let local = Rc::new(Cell::new(i));
                    yield_now().await;
                    local.set(local.get() * 10);
                    log.borrow_mut().push(local.get());
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        Rc::try_unwrap(log).unwrap().into_inner()
    });
    assert_eq!(log, vec![0, 10, 20]);
}

#[test]
fn a_dropped_join_handle_detaches_the_task_which_still_runs_to_completion() {
    let done = run(|| async {
        let done = Rc::new(Cell::new(false));
        let flag = done.clone();
        drop(spawn(async move {
            yield_times(3).await;
            flag.set(true);
        }));
        yield_times(10).await;
        done.get()
    });
    assert!(done, "the detached task did not run to completion");
}

#[test]
fn block_on_returns_the_futures_output_and_runs_spawned_tasks_before_it() {
    let value = run(|| async {
        let handle = spawn(async { 40 });
        handle.await.unwrap() + 2
    });
    assert_eq!(value, 42);
}

#[test]
fn block_on_runs_again_on_the_same_thread_after_returning() {
    let total = with_deadline(|| {
        (0..5u32)
            .map(|round| block_on(async move { spawn(async move { round }).await.unwrap() }))
            .sum::<u32>()
    });
    assert_eq!(total, 1 + 2 + 3 + 4);
}

#[test]
fn each_thread_runs_its_own_executor_independently() {
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            std::thread::spawn(move || {
                with_deadline(move || {
                    block_on(async move {
                        let handles: Vec<_> = (0..1000u64)
                            .map(|i| {
                                spawn(async move {
                                    yield_now().await;
                                    t * 1_000_000 + i
                                })
                            })
                            .collect();
                        let mut sum = 0;
                        for handle in handles {
                            sum += handle.await.unwrap();
                        }
                        (sum, executor::metrics().tasks_spawned)
                    })
                })
            })
        })
        .collect();
    for (t, thread) in threads.into_iter().enumerate() {
        let (sum, spawned) = thread.join().unwrap();
        let t = t as u64;
        assert_eq!(sum, t * 1_000_000 * 1000 + 999 * 1000 / 2);
        assert_eq!(spawned, 1000, "thread {t} saw another thread's tasks");
    }
}

#[test]
fn spawn_outside_block_on_panics_with_a_clear_message() {
    let message = with_deadline(|| expect_panic(|| spawn(async {})));
    assert!(
        message.contains("executor::spawn must be called from inside executor::block_on"),
        "unclear message: {message:?}"
    );
}

#[test]
fn spawn_after_block_on_returned_panics_with_a_clear_message() {
    // block_on must leave the thread with no current runtime when it returns.
    let message = with_deadline(|| {
        block_on(async {});
        expect_panic(|| spawn(async {}))
    });
    assert!(
        message.contains("must be called from inside executor::block_on"),
        "unclear message: {message:?}"
    );
}

#[test]
fn metrics_outside_block_on_panics_with_a_clear_message() {
    let message = with_deadline(|| expect_panic(executor::metrics));
    assert!(
        message.contains("executor::metrics must be called from inside executor::block_on"),
        "unclear message: {message:?}"
    );
}

#[test]
fn nested_block_on_panics_with_a_clear_message() {
    let (message, rerun) = with_deadline(|| {
        let message = expect_panic(|| block_on(async { block_on(async { 1 }) }));
        // The failed inner call must not have broken the thread: block_on works again.
        (
            message,
            block_on(async { spawn(async { 7 }).await.unwrap() }),
        )
    });
    assert!(
        message.contains("block_on called inside block_on"),
        "unclear message: {message:?}"
    );
    assert_eq!(rerun, 7);
}

#[test]
fn nested_block_on_in_a_spawned_task_is_reported_through_its_handle_and_the_runtime_goes_on() {
    let (message, after) = run(|| async {
        let error = spawn(async { block_on(async { 1 }) }).await.unwrap_err();
        assert!(error.is_panic());
        let message = panic_message(&*error.into_panic());
        // The outer runtime is intact: it still spawns and runs tasks.
        let after = spawn(async { 5 }).await.unwrap();
        (message, after)
    });
    assert!(
        message.contains("block_on called inside block_on"),
        "unclear message: {message:?}"
    );
    assert_eq!(after, 5);
}

#[test]
fn tasks_spawned_but_never_awaited_still_run() {
    let count = run(|| async {
        let counter = Arc::new(AtomicU64::new(0));
        for _ in 0..100 {
            let counter = counter.clone();
            // Handles dropped at once: the tasks are detached.
            drop(spawn(async move {
                counter.fetch_add(1, Ordering::SeqCst);
            }));
        }
        yield_now().await;
        counter.load(Ordering::SeqCst)
    });
    assert_eq!(count, 100);
}
