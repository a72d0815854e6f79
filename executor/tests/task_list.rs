//! `executor::tasks()`, `Builder::name` and the time split of `TaskMetrics`, seen from inside a
//! running program.

mod common;

use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use common::{hog, oneshot, run};
use executor::{Builder, TaskState, spawn, tasks, yield_now};
use reactor::time::{sleep, sleep_until};

#[test]
fn tasks_lists_every_live_task_with_its_name_and_state() {
    let seen = run(|| async {
        let (tx, rx) = oneshot::<()>();
        let waiting = Builder::new().name("waiting").spawn(rx);
        let unnamed = spawn(async {});
        yield_now().await; // Both run once: `waiting` now waits, `unnamed` is done.
        let fresh = Builder::new().name(String::from("fresh")).spawn(async {});
        // A task that looks at the list from inside its own poll sees itself running.
        let looker = Builder::new().name("looker").spawn(async {
            tasks()
                .into_iter()
                .find(|t| t.name.as_deref() == Some("looker"))
                .map(|t| t.state)
        });
        let listed = tasks();
        let ids = (waiting.id(), unnamed.id(), fresh.id());
        let looker_saw = looker.await.unwrap();
        tx.send(());
        waiting.await.unwrap();
        let after = tasks();
        (listed, ids, looker_saw, after)
    });
    let (listed, (waiting, unnamed, fresh), looker_saw, after) = seen;
    let find = |name: &str| {
        listed
            .iter()
            .find(|t| t.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no task named {name:?} in {listed:?}"))
    };
    assert_eq!(find("waiting").state, TaskState::Idle);
    assert_eq!(find("waiting").id, waiting);
    assert_eq!(find("waiting").metrics.polls, 1);
    assert_eq!(find("fresh").state, TaskState::Scheduled);
    assert_eq!(find("fresh").id, fresh);
    assert_eq!(find("fresh").metrics.polls, 0);
    assert_eq!(find("looker").state, TaskState::Scheduled);
    assert!(
        listed.iter().all(|t| t.id != unnamed),
        "a finished task is not listed: {listed:?}"
    );
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert_eq!(looker_saw, Some(TaskState::Running));
    assert!(after.is_empty(), "every task has finished: {after:?}");
}

#[test]
fn the_time_split_of_a_task_that_sleeps_waits_for_a_hog_then_computes() {
    executor::set_task_timing(true);
    const SLEEP: Duration = Duration::from_millis(60);
    const HOG: Duration = Duration::from_millis(200);
    const WORK: Duration = Duration::from_millis(100);
    let (m, age) = run(|| async {
        let spawned = Instant::now();
        // Both timers have the same deadline, so they fire in the same turn of the reactor, the
        // hog's first (it was registered first): the subject is woken, then waits in the queue
        // while the hog holds the thread.
        let deadline = Instant::now() + SLEEP;
        let hogger = spawn(async move {
            sleep_until(deadline).await;
            hog(HOG);
        });
        let subject = Builder::new().name("subject").spawn(async move {
            sleep_until(deadline).await;
            hog(WORK);
        });
        hogger.await.unwrap();
        while !subject.is_finished() {
            sleep(Duration::from_millis(1)).await;
        }
        (subject.metrics(), spawned.elapsed())
    });
    assert_eq!(m.polls, 2, "{m:?}");
    let first = m.first_poll_delay.expect("timing was on at the spawn");
    // At least half the sleep: the first poll may end late on a loaded machine, but the wake
    // cannot come before the deadline.
    assert!(m.idle >= SLEEP / 2, "idle {:?}: asleep {SLEEP:?}", m.idle);
    assert!(
        m.scheduled >= HOG,
        "scheduled {:?}: queued while the hog ran for {HOG:?}",
        m.scheduled
    );
    assert!(m.busy >= WORK, "busy {:?}: computed {WORK:?}", m.busy);
    assert!(m.max_poll >= WORK && m.max_poll <= m.busy, "{m:?}");
    assert!(m.slow_polls >= 1, "the 100 ms poll is slow: {m:?}");
    // Each interval in its own bucket: with the three lower bounds above, the hog's 200 ms
    // counted as idle (or twice), or the computing as scheduled, would overshoot the task's age.
    let total = m.busy + m.scheduled + m.idle;
    assert!(total <= age, "{total:?} accounted, {age:?} lived: {m:?}");
    assert!(first <= age, "{m:?}");
    assert_eq!(m.self_wakes, 0);
}

#[test]
fn self_and_remote_wakes_are_counted_apart() {
    let m = run(|| async {
        let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
        let stored = slot.clone();
        let task = spawn(async move {
            for _ in 0..3 {
                yield_now().await;
            }
            // Wait once, for a wake that only another thread makes.
            let mut waited = false;
            poll_fn(|cx| {
                if waited {
                    return Poll::Ready(());
                }
                waited = true;
                *stored.lock().unwrap() = Some(cx.waker().clone());
                Poll::Pending
            })
            .await;
        });
        while slot.lock().unwrap().is_none() {
            yield_now().await;
        }
        let waker = slot.lock().unwrap().take().unwrap();
        std::thread::spawn(move || waker.wake()).join().unwrap();
        while !task.is_finished() {
            yield_now().await;
        }
        task.metrics()
    });
    assert_eq!(m.self_wakes, 3, "{m:?}");
    assert_eq!(m.remote_wakes, 1, "{m:?}");
    assert_eq!(m.wakes, 1 + 3 + 1, "spawn, three yields, one remote: {m:?}");
    assert_eq!(m.polls, 5, "{m:?}");
}

#[test]
fn a_spawn_blocking_task_is_listed_by_name() {
    let names = run(|| async {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let job = executor::spawn_blocking(move || wait.recv().is_ok());
        let listed = tasks();
        release.send(()).unwrap();
        assert!(job.await.unwrap(), "the blocking job saw its release");
        listed
            .iter()
            .filter_map(|t| t.name.as_deref().map(str::to_owned))
            .collect::<Vec<_>>()
    });
    assert!(
        names.iter().any(|n| n == "spawn_blocking"),
        "the pool's task is named in tasks(): {names:?}"
    );
}
