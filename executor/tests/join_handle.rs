//! `JoinHandle` and `JoinError`: results, panic isolation, `abort`, `is_finished`, per-task
//! metrics, and what `JoinError` says about itself.

mod common;

use std::cell::{Cell, RefCell};
use std::future::{Future, pending, poll_fn};
use std::pin::Pin;
use std::rc::Rc;

use common::{Drops, Gate, expect_panic, panic_message, run, with_deadline, yield_times};
use executor::{JoinHandle, block_on, spawn, yield_now};

#[test]
fn a_panicking_task_reports_is_panic_and_into_panic_gives_its_payload() {
    let (is_panic, is_cancelled, message, static_message) = run(|| async {
        let code = std::hint::black_box(42); // Not a constant: the payload is a `String`.
        let error = spawn(async move {
            yield_now().await;
            panic!("task exploded: {code}");
        })
        .await
        .unwrap_err();
        let (is_panic, is_cancelled) = (error.is_panic(), error.is_cancelled());
        let payload = error.into_panic();
        let message = payload.downcast_ref::<String>().cloned();

        let error = spawn(async { panic!("a static message") })
            .await
            .unwrap_err();
        let static_message = error.into_panic().downcast_ref::<&str>().copied();
        (is_panic, is_cancelled, message, static_message)
    });
    assert!(is_panic);
    assert!(!is_cancelled);
    assert_eq!(message.as_deref(), Some("task exploded: 42"));
    assert_eq!(static_message, Some("a static message"));
}

#[test]
fn a_panic_with_a_non_string_payload_is_reported_with_that_payload() {
    let payload = run(|| async {
        let error = spawn(async { std::panic::panic_any(1234_u32) })
            .await
            .unwrap_err();
        assert!(error.is_panic());
        *error.into_panic().downcast::<u32>().expect("a u32 payload")
    });
    assert_eq!(payload, 1234);
}

#[test]
fn a_panicking_task_does_not_stop_the_other_tasks() {
    let (survivors, panicked) = run(|| async {
        let progress = Rc::new(Cell::new(0u32));
        // Ten tasks that keep running across the panics, yielding between steps.
        let survivors: Vec<_> = (0..10)
            .map(|_| {
                let progress = progress.clone();
                spawn(async move {
                    for _ in 0..20 {
                        progress.set(progress.get() + 1);
                        yield_now().await;
                    }
                    "survived"
                })
            })
            .collect();
        // Five tasks that panic in the middle of all that.
        let panickers: Vec<JoinHandle<()>> = (0..5)
            .map(|i| {
                spawn(async move {
                    yield_times(i).await;
                    panic!("panicker {i}");
                })
            })
            .collect();
        let mut panicked = 0;
        for handle in panickers {
            panicked += usize::from(handle.await.unwrap_err().is_panic());
        }
        let mut results = Vec::new();
        for handle in survivors {
            results.push(handle.await.unwrap());
        }
        assert_eq!(progress.get(), 200);
        (results, panicked)
    });
    assert_eq!(survivors, vec!["survived"; 10]);
    assert_eq!(panicked, 5);
}

#[test]
fn a_panic_in_the_block_on_future_reaches_the_caller() {
    let message = with_deadline(|| {
        expect_panic(|| {
            block_on(async {
                spawn(async { pending::<()>().await });
                yield_now().await;
                panic!("the main future gave up");
            })
        })
    });
    assert_eq!(message, "the main future gave up");
}

#[test]
fn a_panic_in_the_block_on_future_still_drops_the_pending_tasks_and_frees_the_thread() {
    let drops = Drops::new();
    let guards = drops.clone();
    let after = with_deadline(move || {
        let outcome = std::panic::catch_unwind(move || {
            block_on(async move {
                for _ in 0..10 {
                    let guard = guards.guard();
                    spawn(async move {
                        let _guard = guard;
                        pending::<()>().await
                    });
                }
                yield_now().await;
                panic!("boom");
            })
        });
        assert!(
            outcome.is_err(),
            "the panic did not reach block_on's caller"
        );
        block_on(async { spawn(async { 3 }).await.unwrap() })
    });
    assert_eq!(drops.count(), 10, "the pending tasks were not dropped");
    assert_eq!(after, 3);
}

#[test]
fn abort_drops_the_future_and_the_handle_reports_cancelled() {
    let drops = Drops::new();
    let guard = drops.guard();
    let (cancelled, panic, drops_at_abort_time, message) = run(move || async move {
        let handle = spawn(async move {
            let _guard = guard;
            pending::<()>().await
        });
        yield_now().await; // The task starts and waits forever.
        handle.abort();
        let error = handle.await.unwrap_err();
        (
            error.is_cancelled(),
            error.is_panic(),
            drops.count(),
            error.to_string(),
        )
    });
    assert!(cancelled);
    assert!(!panic);
    assert_eq!(drops_at_abort_time, 1, "the aborted future was not dropped");
    assert_eq!(message, "task was cancelled");
}

#[test]
fn abort_before_the_first_poll_drops_the_future_without_polling_it() {
    let (polls, cancelled, task_polls) = run(|| async {
        let polls = Rc::new(Cell::new(0));
        let counter = polls.clone();
        let handle = spawn(std::future::poll_fn(move |_| {
            counter.set(counter.get() + 1);
            std::task::Poll::<()>::Pending
        }));
        handle.abort();
        let task_polls = handle.metrics().polls;
        let cancelled = handle.await.unwrap_err().is_cancelled();
        (polls.get(), cancelled, task_polls)
    });
    assert_eq!(polls, 0);
    assert_eq!(task_polls, 0);
    assert!(cancelled);
}

#[test]
fn abort_wakes_a_task_that_awaits_the_handle() {
    let outcome = run(|| async {
        // The watcher awaits the target's handle while the main future keeps a way to abort it.
        let target = Rc::new(RefCell::new(spawn(pending::<u8>())));
        let watched = target.clone();
        let watcher = spawn(async move {
            let result = poll_fn(|cx| Pin::new(&mut *watched.borrow_mut()).poll(cx)).await;
            match result {
                Err(e) if e.is_cancelled() => "saw cancelled",
                Err(_) => "saw a panic",
                Ok(_) => "saw a result",
            }
        });
        yield_now().await; // The watcher now waits on the target's handle.
        assert!(!watcher.is_finished());
        target.borrow().abort();
        watcher.await.unwrap()
    });
    assert_eq!(outcome, "saw cancelled");
}

#[test]
fn abort_after_the_task_finished_keeps_its_result() {
    let result = run(|| async {
        let handle = spawn(async { 99 });
        yield_now().await;
        assert!(handle.is_finished());
        handle.abort();
        handle.await
    });
    assert_eq!(result.unwrap(), 99);
}

#[test]
fn a_task_can_abort_itself() {
    let drops = Drops::new();
    let guard = drops.guard();
    let (cancelled, steps, dropped_by_then) = run(move || async move {
        let steps = Rc::new(Cell::new(0));
        let slot: Rc<RefCell<Option<JoinHandle<()>>>> = Rc::new(RefCell::new(None));
        let (task_slot, task_steps) = (slot.clone(), steps.clone());
        let handle = spawn(async move {
            let _guard = guard;
            yield_now().await; // Let the spawner store our handle.
            task_slot.borrow().as_ref().expect("own handle").abort();
            task_steps.set(1);
            // Still running until the executor next picks the task; then it is dropped here.
            yield_now().await;
            task_steps.set(2);
        });
        slot.borrow_mut().replace(handle);
        yield_times(5).await;
        let handle = slot.borrow_mut().take().unwrap();
        let cancelled = handle.await.unwrap_err().is_cancelled();
        (cancelled, steps.get(), drops.count())
    });
    assert!(cancelled);
    assert_eq!(steps, 1, "the task ran past its own abort");
    assert_eq!(
        dropped_by_then, 1,
        "the self-aborted future was not dropped"
    );
}

#[test]
fn is_finished_turns_true_when_the_task_completes_panics_or_is_aborted() {
    let states = run(|| async {
        let gate = Gate::new();
        let completes = spawn(gate.wait());
        let panics = spawn(async {
            yield_now().await;
            panic!("expected");
        });
        let aborted = spawn(pending::<()>());
        let before = (
            completes.is_finished(),
            panics.is_finished(),
            aborted.is_finished(),
        );
        yield_now().await; // Everything has started; nothing has finished.
        let started = (
            completes.is_finished(),
            panics.is_finished(),
            aborted.is_finished(),
        );
        gate.open();
        aborted.abort();
        yield_times(3).await;
        let after = (
            completes.is_finished(),
            panics.is_finished(),
            aborted.is_finished(),
        );
        let results = (
            completes.await.is_ok(),
            panics.await.unwrap_err().is_panic(),
            aborted.await.unwrap_err().is_cancelled(),
        );
        (before, started, after, results)
    });
    let (before, started, after, results) = states;
    assert_eq!(before, (false, false, false));
    assert_eq!(started, (false, false, false));
    assert_eq!(after, (true, true, true));
    assert_eq!(results, (true, true, true));
}

#[test]
fn join_error_display_and_debug_say_what_happened() {
    let texts = run(|| async {
        let cancelled = {
            let handle = spawn(pending::<()>());
            handle.abort();
            handle.await.unwrap_err()
        };
        let with_str = spawn(async { panic!("static text") }).await.unwrap_err();
        let with_string = spawn(async { panic!("formatted {}", 7) })
            .await
            .unwrap_err();
        let opaque = spawn(async { std::panic::panic_any(5_i64) })
            .await
            .unwrap_err();
        let as_error: &dyn std::error::Error = &cancelled;
        [
            cancelled.to_string(),
            with_str.to_string(),
            with_string.to_string(),
            opaque.to_string(),
            format!("{cancelled:?}"),
            format!("{with_string:?}"),
            as_error.to_string(),
        ]
    });
    assert_eq!(
        texts,
        [
            "task was cancelled",
            "task panicked: static text",
            "task panicked: formatted 7",
            "task panicked",
            "JoinError::Cancelled",
            "JoinError::Panic(Some(\"formatted 7\"))",
            "task was cancelled",
        ]
    );
}

#[test]
#[should_panic(expected = "into_panic on a cancelled task")]
fn into_panic_on_a_cancelled_task_panics() {
    let error = run(|| async {
        let handle = spawn(pending::<()>());
        handle.abort();
        handle.await.unwrap_err()
    });
    let _ = error.into_panic();
}

#[test]
fn a_handle_awaited_after_the_task_finished_returns_the_stored_result() {
    let value = run(|| async {
        let handle = spawn(async { String::from("kept") });
        yield_times(3).await;
        assert!(handle.is_finished());
        handle.await.unwrap()
    });
    assert_eq!(value, "kept");
}

#[test]
fn a_handle_can_be_awaited_by_a_task_other_than_the_spawner() {
    let value = run(|| async {
        let gate = Gate::new();
        let inner = spawn({
            let gate = gate.clone();
            async move {
                gate.wait().await;
                21
            }
        });
        let outer = spawn(async move { inner.await.unwrap() * 2 });
        yield_times(2).await;
        gate.open();
        outer.await.unwrap()
    });
    assert_eq!(value, 42);
}

#[test]
fn a_panic_in_a_finished_futures_destructor_is_reported_as_a_panic() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("destructor panicked");
        }
    }
    let (message, after) = run(|| async {
        let error = spawn(async {
            let _bomb = PanicsOnDrop;
            yield_now().await;
            1
        })
        .await
        .unwrap_err();
        let after = spawn(async { 2 }).await.unwrap();
        (panic_message(&*error.into_panic()), after)
    });
    assert_eq!(message, "destructor panicked");
    assert_eq!(after, 2);
}

#[test]
fn a_panic_in_an_aborted_futures_destructor_is_reported_and_the_runtime_goes_on() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("destructor panicked on abort");
        }
    }
    let (message, after) = run(|| async {
        let handle = spawn(async {
            let _bomb = PanicsOnDrop;
            pending::<()>().await
        });
        yield_now().await;
        handle.abort();
        let error = handle.await.unwrap_err();
        let after = spawn(async { 2 }).await.unwrap();
        (panic_message(&*error.into_panic()), after)
    });
    assert_eq!(message, "destructor panicked on abort");
    assert_eq!(after, 2);
}

#[test]
fn join_handle_metrics_count_polls_and_wakes() {
    let (first, second) = run(|| async {
        let gate = Gate::new();
        let handle = spawn(gate.wait());
        yield_now().await;
        let first = handle.metrics();
        gate.waker().wake_by_ref();
        yield_now().await;
        let second = handle.metrics();
        gate.open();
        handle.await.unwrap();
        (first, second)
    });
    // Spawning queues the task the way a wake does, so it counts as one.
    assert_eq!((first.polls, first.wakes), (1, 1));
    assert_eq!((second.polls, second.wakes), (2, 2));
}

/// An output whose destructor panics.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("output dropped");
    }
}

#[test]
fn a_detached_task_whose_output_panics_on_drop_does_not_take_down_block_on() {
    let finished_after = run(|| async {
        drop(spawn(async { PanicsOnDrop }));
        // Let the detached task finish and be cleaned up, then show the runtime goes on.
        yield_now().await;
        yield_now().await;
        spawn(async { 7 }).await.unwrap()
    });
    assert_eq!(finished_after, 7);
}
