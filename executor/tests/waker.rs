//! The hand-written waker: one poll per burst of wakes, wakes from many threads at once, and wakes
//! (and drops) at awkward times: after the task finished, after `block_on` returned, on other
//! threads. Every test runs under a deadline, so a lost wake-up fails instead of hanging.

#![allow(
    clippy::waker_clone_wake,
    reason = "cloning then waking by value is a separate path through the hand-written vtable \
              (`clone`, then `wake`, which consumes the count), and these tests exercise it"
)]

mod common;

use std::cell::Cell;
use std::future::{Future, pending, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll, Waker};
use std::thread;

use common::{Drops, Gate, OneshotSender, current_waker, oneshot, run, with_deadline, yield_times};
use executor::{block_on, spawn, yield_now};

#[test]
fn task_woken_1000_times_between_polls_is_polled_once() {
    let gate_polls = run(|| async {
        let gate = Gate::new();
        let handle = spawn(gate.wait());
        yield_now().await;
        assert_eq!(gate.polls(), 1);
        let waker = gate.waker();
        // 1,000 wakes with no poll in between: half by reference, half through clones by value.
        for i in 0..1000 {
            if i % 2 == 0 {
                waker.wake_by_ref();
            } else {
                waker.clone().wake();
            }
        }
        // Had each wake queued the task, all 1,000 entries would sit ahead of us in the queue
        // and be polled before we resume.
        yield_times(3).await;
        let gate_polls = gate.polls();
        gate.open();
        handle.await.unwrap();
        gate_polls
    });
    assert_eq!(
        gate_polls, 2,
        "1,000 wakes between two polls gave more than one poll"
    );
}

#[test]
fn task_woken_1000_times_from_another_thread_between_polls_is_polled_once() {
    let (gate_polls, task_metrics, remote_wakes) = run(|| async {
        let gate = Gate::new();
        let handle = spawn(gate.wait());
        yield_now().await;
        let waker = gate.waker();
        // The executor's thread blocks in the scope until all 1,000 wakes are done, so they all
        // land between the same two polls.
        thread::scope(|s| {
            s.spawn(|| {
                for _ in 0..1000 {
                    waker.wake_by_ref();
                }
            });
        });
        yield_times(3).await;
        let gate_polls = gate.polls();
        let task_metrics = handle.metrics();
        let remote_wakes = executor::metrics().remote_wakes;
        gate.open();
        handle.await.unwrap();
        (gate_polls, task_metrics, remote_wakes)
    });
    assert_eq!(
        gate_polls, 2,
        "1,000 remote wakes between two polls gave more than one poll"
    );
    assert_eq!(task_metrics.polls, 2);
    // The spawn counts as one wake; then 1,000 wakes, of which only the first queued the task.
    assert_eq!(task_metrics.wakes, 1001);
    assert_eq!(remote_wakes, 1);
}

#[test]
fn a_task_that_wakes_itself_during_its_poll_is_polled_again() {
    // The `scheduled` flag is cleared before the poll, so a wake during the poll queues the task
    // again (this is how yield_now works, spelt out by hand).
    let polls = run(|| async {
        let polls = Rc::new(Cell::new(0));
        let counter = polls.clone();
        spawn(poll_fn(move |cx| {
            counter.set(counter.get() + 1);
            if counter.get() == 5 {
                return Poll::Ready(());
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        }))
        .await
        .unwrap();
        polls.get()
    });
    assert_eq!(polls, 5);
}

/// A request to a worker thread: a value, and where to send the answer.
type Request = (u64, OneshotSender<u64>);

#[test]
fn eight_threads_each_wake_waiting_tasks_10000_times_through_oneshots_and_every_task_finishes() {
    const THREADS: usize = 8;
    const TASKS_PER_THREAD: usize = 10;
    let per_thread = 10_000;
    let rounds_per_task = per_thread / TASKS_PER_THREAD;

    let (sums, remote_wakes) = run(move || async move {
        let mut workers = Vec::new();
        let mut handles = Vec::new();
        for t in 0..THREADS {
            let (requests, inbox) = mpsc::channel::<Request>();
            // Each worker answers exactly `per_thread` requests, waking a waiting task each time
            // (the task is usually parked on the oneshot by then).
            workers.push(thread::spawn(move || {
                for _ in 0..per_thread {
                    let (value, reply) = inbox.recv().expect("a request");
                    reply.send(value * 2);
                }
            }));
            for k in 0..TASKS_PER_THREAD {
                let requests = requests.clone();
                handles.push(spawn(async move {
                    let mut sum = 0;
                    for round in 0..rounds_per_task {
                        let value = (t * 1_000_000 + k * 10_000 + round) as u64;
                        let (reply, answer) = oneshot();
                        requests.send((value, reply)).unwrap();
                        let doubled = answer.await.expect("the worker answers");
                        assert_eq!(doubled, value * 2);
                        sum += doubled;
                    }
                    sum
                }));
            }
        }
        let mut sums = Vec::new();
        for handle in handles {
            sums.push(handle.await.expect("every task finishes"));
        }
        for worker in workers {
            worker.join().unwrap();
        }
        (sums, executor::metrics().remote_wakes)
    });

    assert_eq!(sums.len(), THREADS * TASKS_PER_THREAD);
    for t in 0..THREADS {
        for k in 0..TASKS_PER_THREAD {
            let expected: u64 = (0..rounds_per_task)
                .map(|round| 2 * (t * 1_000_000 + k * 10_000 + round) as u64)
                .sum();
            assert_eq!(sums[t * TASKS_PER_THREAD + k], expected);
        }
    }
    assert!(remote_wakes > 0, "no wake came from the worker threads");
}

/// What a counting task shares with the threads that wake it.
struct Progress {
    count: AtomicU64,
    waker: Mutex<Option<Waker>>,
}

/// Waits until `progress.count` reaches `target`: the usual register-then-check pattern, which
/// loses no wake-up as long as the executor does not.
fn wait_for_count(
    progress: Arc<Progress>,
    target: u64,
    polls: Rc<Cell<u64>>,
) -> impl Future<Output = ()> {
    poll_fn(move |cx| {
        polls.set(polls.get() + 1);
        {
            let mut slot = progress.waker.lock().unwrap();
            if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *slot = Some(cx.waker().clone());
            }
        }
        if progress.count.load(Ordering::SeqCst) >= target {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
}

#[test]
fn eight_threads_waking_tasks_10000_times_each_while_they_are_polled_lose_no_wake() {
    // Every thread bumps the tasks' counters round-robin and wakes them, racing the executor's
    // polls; a wake that arrives during a poll must queue the task again, or a task would wait
    // forever for a count it has already reached (and the deadline would fail the test).
    const THREADS: usize = 8;
    const TASKS: usize = 8;
    let per_thread = 10_000u64;
    let target = per_thread * THREADS as u64 / TASKS as u64;

    let (polls, remote_wakes) = run(move || async move {
        let progress: Vec<Arc<Progress>> = (0..TASKS)
            .map(|_| {
                Arc::new(Progress {
                    count: AtomicU64::new(0),
                    waker: Mutex::new(None),
                })
            })
            .collect();
        let polls: Vec<Rc<Cell<u64>>> = (0..TASKS).map(|_| Rc::default()).collect();
        let handles: Vec<_> = (0..TASKS)
            .map(|i| {
                spawn(wait_for_count(
                    progress[i].clone(),
                    target,
                    polls[i].clone(),
                ))
            })
            .collect();
        yield_now().await; // Every task has registered its waker once.
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let progress = progress.clone();
                thread::spawn(move || {
                    for k in 0..per_thread as usize {
                        let p = &progress[(t + k) % TASKS];
                        p.count.fetch_add(1, Ordering::SeqCst);
                        let waker = p.waker.lock().unwrap().clone();
                        if let Some(waker) = waker {
                            waker.wake();
                        }
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("every task finishes");
        }
        for thread in threads {
            thread.join().unwrap();
        }
        for p in &progress {
            assert_eq!(p.count.load(Ordering::SeqCst), target);
        }
        let polls: Vec<u64> = polls.iter().map(|p| p.get()).collect();
        (polls, executor::metrics().remote_wakes)
    });
    for (i, &p) in polls.iter().enumerate() {
        assert!(p >= 2, "task {i} finished without being woken");
        assert!(
            p <= target + 1,
            "task {i} was polled {p} times for {target} wakes"
        );
    }
    assert!(remote_wakes > 0);
}

#[test]
fn a_wake_from_another_thread_ends_the_executors_sleep() {
    // No timers and no I/O: the executor sleeps with no timeout, and only the remote wake's
    // unpark can end that sleep. If it did not, the deadline would fail the test.
    let values = run(|| async {
        let mut values = Vec::new();
        for i in 0..20u32 {
            let (tx, rx) = oneshot();
            let sender = thread::spawn(move || {
                thread::sleep(std::time::Duration::from_millis(5));
                tx.send(i);
            });
            values.push(rx.await.unwrap());
            sender.join().unwrap();
        }
        let metrics = executor::metrics();
        assert!(metrics.remote_wakes >= 1);
        values
    });
    assert_eq!(values, (0..20).collect::<Vec<_>>());
}

#[test]
fn waking_a_finished_task_is_harmless_and_does_not_poll_the_task_that_reuses_its_slot() {
    let (next_polls, next_result) = run(|| async {
        let first = spawn(async { current_waker().await });
        let stale = first.await.unwrap();
        // The first task is gone; the next spawn reuses its slot in the executor's slab.
        let next = Gate::new();
        let next_handle = spawn(next.wait());
        yield_now().await;
        assert_eq!(next.polls(), 1);
        assert!(
            !stale.will_wake(&next.waker()),
            "a new task must get new waker data"
        );

        // Wake the finished task every way there is, here and from another thread.
        for _ in 0..100 {
            stale.wake_by_ref();
        }
        stale.clone().wake();
        let remote = stale.clone();
        thread::spawn(move || {
            remote.wake_by_ref();
            remote.wake();
        })
        .join()
        .unwrap();
        yield_times(3).await;
        let next_polls = next.polls();
        next.open();
        let next_result = next_handle.await;
        drop(stale);
        (next_polls, next_result.is_ok())
    });
    assert_eq!(next_polls, 1, "a stale wake polled the slot's next task");
    assert!(next_result);
}

#[test]
fn waking_after_block_on_returned_is_harmless_even_with_a_new_runtime_on_the_thread() {
    let drops = Drops::new();
    let guard = drops.guard();
    let (dropped_at_return, new_task_polls) = with_deadline(move || {
        let (task_waker, main_waker) = block_on(async move {
            let (tx, rx) = std::sync::mpsc::channel();
            spawn(async move {
                let _guard = guard;
                tx.send(current_waker().await).unwrap();
                pending::<()>().await
            });
            yield_now().await;
            (rx.recv().unwrap(), current_waker().await)
        });
        let dropped_at_return = drops.count();

        // The runtime is gone: these wakes must do nothing, on this thread or another.
        task_waker.wake_by_ref();
        main_waker.wake_by_ref();
        task_waker.clone().wake();
        let (remote_task, remote_main) = (task_waker.clone(), main_waker.clone());
        thread::spawn(move || {
            remote_task.wake();
            remote_main.wake();
        })
        .join()
        .unwrap();

        // A second runtime on the same thread, whose first task takes the same slab slot and
        // whose main future has the same id as the old ones: the old wakers must not reach it.
        let new_task_polls = block_on(async {
            let gate = Gate::new();
            let handle = spawn(gate.wait());
            yield_now().await;
            task_waker.wake_by_ref();
            main_waker.wake_by_ref();
            yield_times(3).await;
            let polls = gate.polls();
            gate.open();
            handle.await.unwrap();
            polls
        });

        // And finally the last wakers are dropped on another thread.
        thread::spawn(move || drop((task_waker, main_waker)))
            .join()
            .unwrap();
        (dropped_at_return, new_task_polls)
    });
    assert_eq!(dropped_at_return, 1, "the pending task outlived block_on");
    assert_eq!(
        new_task_polls, 1,
        "a waker from the old runtime polled a task of the new one"
    );
}

#[test]
fn waker_clones_woken_and_dropped_on_other_threads_leave_nothing_behind() {
    let drops = Drops::new();
    let marker = Arc::new(());
    let (guard, held) = (drops.guard(), marker.clone());
    let kept = with_deadline(move || {
        let kept = block_on(async move {
            let handle = spawn(async move {
                let _guard = guard;
                let _held = held;
                let waker = current_waker().await;
                // 4,000 clones, sent to four threads: half woken by value, half just dropped.
                let threads: Vec<_> = (0..4)
                    .map(|_| {
                        let clones: Vec<Waker> = (0..1000).map(|_| waker.clone()).collect();
                        thread::spawn(move || {
                            for (i, clone) in clones.into_iter().enumerate() {
                                if i % 2 == 0 {
                                    clone.wake();
                                } else {
                                    drop(clone);
                                }
                            }
                        })
                    })
                    .collect();
                let (tx, rx) = oneshot();
                let finisher = thread::spawn(move || {
                    for thread in threads {
                        thread.join().unwrap();
                    }
                    tx.send(());
                });
                rx.await.unwrap();
                finisher.join().unwrap();
                // One clone outlives the task, the runtime, and everything else.
                waker
            });
            handle.await.unwrap()
        });
        // Still a valid waker: waking it and cloning it must work, harmlessly.
        kept.wake_by_ref();
        kept.clone().wake();
        kept
    });
    assert_eq!(
        drops.count(),
        1,
        "the task's future was not dropped exactly once"
    );
    assert_eq!(
        Arc::strong_count(&marker),
        1,
        "something the future held was not released"
    );
    thread::spawn(move || kept.wake()).join().unwrap();
}

#[test]
fn wakers_of_the_same_task_will_wake_each_other_and_not_other_tasks() {
    let (same, other) = run(|| async {
        let a = spawn(async { (current_waker().await, current_waker().await) });
        let b = spawn(current_waker());
        let (a1, a2) = a.await.unwrap();
        let b = b.await.unwrap();
        (
            a1.will_wake(&a2) && a1.clone().will_wake(&a1),
            a1.will_wake(&b),
        )
    });
    assert!(same);
    assert!(!other);
}

#[test]
fn two_runtimes_on_two_threads_wake_each_others_tasks() {
    // Runtime A's task waits on a oneshot that a task of runtime B (another thread, busy running
    // its own executor) completes, and the other way round.
    let (to_b, from_a) = oneshot::<u32>();
    let (to_a, from_b) = oneshot::<u32>();
    let a = thread::spawn(move || {
        run(move || async move {
            spawn(async move {
                to_b.send(1);
                from_b.await.unwrap()
            })
            .await
            .unwrap()
        })
    });
    let b = thread::spawn(move || {
        run(move || async move {
            spawn(async move {
                let got = from_a.await.unwrap();
                to_a.send(got + 1);
                got
            })
            .await
            .unwrap()
        })
    });
    assert_eq!(a.join().unwrap(), 2);
    assert_eq!(b.join().unwrap(), 1);
}

/// A future whose `poll` reports the waker it was given to a shared slot; used to check that a
/// task is always polled with its own waker.
struct ReportWaker(Rc<Cell<Option<Waker>>>);

impl Future for ReportWaker {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let previous = self.0.replace(Some(cx.waker().clone()));
        if let Some(previous) = previous {
            assert!(previous.will_wake(cx.waker()), "the task's waker changed");
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn a_task_is_polled_with_the_same_waker_every_time() {
    run(|| async {
        spawn(ReportWaker(Rc::default())).await.unwrap();
    });
}
