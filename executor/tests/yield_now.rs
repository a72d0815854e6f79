//! `yield_now`: the caller goes to the back of the ready queue, behind every task already there.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use std::task::Waker;

use common::{Gate, oneshot, run};
use executor::{spawn, yield_now};

#[test]
fn yield_now_lets_every_other_ready_task_run_once_before_the_caller_resumes() {
    let log = run(|| async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let handles: Vec<_> = ["a", "b", "c", "d"]
            .into_iter()
            .map(|name| {
                let log = log.clone();
                spawn(async move {
                    for step in 1..=3 {
                        log.borrow_mut().push(format!("{name}{step}"));
                        yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        Rc::try_unwrap(log).unwrap().into_inner()
    });
    // Round robin: had yield_now resumed at once, or put the task at the front of the queue,
    // each task would run all its steps in a row.
    assert_eq!(
        log,
        [
            "a1", "b1", "c1", "d1", "a2", "b2", "c2", "d2", "a3", "b3", "c3", "d3"
        ]
    );
}

#[test]
fn yield_now_in_the_block_on_future_lets_the_ready_tasks_run_once_each() {
    let snapshots = run(|| async {
        let log = Rc::new(RefCell::new(Vec::new()));
        for name in ["x", "y"] {
            let log = log.clone();
            spawn(async move {
                loop {
                    log.borrow_mut().push(name);
                    yield_now().await;
                }
            });
        }
        let mut snapshots = Vec::new();
        for _ in 0..3 {
            yield_now().await;
            snapshots.push(log.borrow().join(""));
        }
        snapshots
    });
    assert_eq!(snapshots, ["xy", "xyxy", "xyxyxy"]);
}

#[test]
fn yield_now_lets_tasks_woken_from_other_threads_run_before_the_caller_resumes() {
    // Tasks woken from another thread before the yield are ready too: they must run before the
    // yielding task resumes, exactly like tasks woken on the executor's own thread.
    let (polls_after_yield, order) = run(|| async {
        let order = Rc::new(RefCell::new(Vec::new()));
        let gates: Vec<Gate> = (0..3).map(|_| Gate::new()).collect();
        let handles: Vec<_> = gates
            .iter()
            .enumerate()
            .map(|(i, gate)| {
                let (gate, order) = (gate.clone(), order.clone());
                spawn(async move {
                    gate.wait().await;
                    order.borrow_mut().push(format!("remote{i}"));
                })
            })
            .collect();
        yield_now().await; // Every task waits on its gate.
        for gate in &gates {
            gate.open.set(true);
        }
        let wakers: Vec<_> = gates.iter().map(Gate::waker).collect();
        // The executor's thread blocks here until the other thread has woken all three.
        std::thread::scope(|s| {
            s.spawn(|| wakers.iter().for_each(Waker::wake_by_ref));
        });
        yield_now().await;
        order.borrow_mut().push("caller".to_string());
        let polls: Vec<u32> = gates.iter().map(Gate::polls).collect();
        for handle in handles {
            handle.await.unwrap();
        }
        (polls, Rc::try_unwrap(order).unwrap().into_inner())
    });
    assert_eq!(polls_after_yield, [2, 2, 2]);
    assert_eq!(order, ["remote0", "remote1", "remote2", "caller"]);
}

#[test]
fn a_task_yielding_in_a_loop_does_not_starve_timers_or_remote_wakes() {
    // A busy task that always yields keeps the ready queue non-empty; the executor must still
    // look at the reactor now and then, or the sleep and the remote wake would never be seen (the
    // deadline would fail the test).
    let spins = run(|| async {
        let spinning = Rc::new(RefCell::new(0u64));
        let counter = spinning.clone();
        let spinner = spawn(async move {
            loop {
                *counter.borrow_mut() += 1;
                yield_now().await;
            }
        });
        let started = Instant::now();
        reactor::time::sleep(Duration::from_millis(20)).await;
        assert!(started.elapsed() >= Duration::from_millis(20));

        let (tx, rx) = oneshot();
        let sender = std::thread::spawn(move || tx.send(7));
        assert_eq!(rx.await, Some(7));
        sender.join().unwrap();

        spinner.abort();
        assert!(spinner.await.unwrap_err().is_cancelled());
        *spinning.borrow()
    });
    assert!(spins > 0);
}
