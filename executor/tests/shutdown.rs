//! What `block_on` leaves behind when it returns: nothing. Pending tasks are dropped (their
//! destructors run before `block_on` returns), their handles report them cancelled, and wakers and
//! handles that outlive the runtime stay harmless.

mod common;

use std::cell::RefCell;
use std::future::pending;
use std::rc::Rc;
use std::time::Duration;

use common::{Drops, current_waker, oneshot, run, with_deadline, yield_times};
use executor::{JoinHandle, block_on, spawn, yield_now};

#[test]
fn pending_tasks_destructors_run_before_block_on_returns() {
    let drops = Drops::new();
    let guards = drops.clone();
    let seen_inside = with_deadline(move || {
        block_on(async move {
            // Tasks pending in every way there is: forever, on a timer, on a channel no one sends
            // to, and queued but never polled.
            for _ in 0..10 {
                let guard = guards.guard();
                spawn(async move {
                    let _guard = guard;
                    pending::<()>().await
                });
            }
            for _ in 0..10 {
                let guard = guards.guard();
                spawn(async move {
                    let _guard = guard;
                    reactor::time::sleep(Duration::from_secs(3600)).await
                });
            }
            let mut senders = Vec::new();
            for _ in 0..10 {
                let guard = guards.guard();
                let (tx, rx) = oneshot::<()>();
                senders.push(tx);
                spawn(async move {
                    let _guard = guard;
                    rx.await
                });
            }
            yield_now().await; // Everything above is now waiting.
            for _ in 0..10 {
                let guard = guards.guard();
                spawn(async move {
                    let _guard = guard;
                });
            }
            let seen = guards.count();
            // The senders stay alive until this future completes, so those tasks never finish.
            drop(senders);
            seen
        })
    });
    assert_eq!(seen_inside, 0);
    // block_on has returned: every pending task's future has been dropped by now.
    assert_eq!(drops.count(), 40);
}

#[test]
fn handles_of_tasks_dropped_at_shutdown_report_cancelled() {
    let (finished, results) = with_deadline(|| {
        let handles: Vec<JoinHandle<u32>> = block_on(async {
            let handles: Vec<_> = (0..5).map(|_| spawn(pending::<u32>())).collect();
            yield_now().await;
            handles
        });
        let finished: Vec<bool> = handles.iter().map(JoinHandle::is_finished).collect();
        // Aborting after the runtime is gone is harmless.
        for handle in &handles {
            handle.abort();
        }
        // The handles can still be awaited, on a new runtime, and report cancellation.
        let results = block_on(async move {
            let mut results = Vec::new();
            for handle in handles {
                results.push(handle.await.unwrap_err().is_cancelled());
            }
            results
        });
        (finished, results)
    });
    assert_eq!(finished, vec![true; 5]);
    assert_eq!(results, vec![true; 5]);
}

#[test]
fn a_destructor_that_spawns_during_shutdown_has_its_task_dropped_too() {
    struct SpawnOnDrop(Drops);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let guard = self.0.guard();
            spawn(async move {
                let _guard = guard;
                pending::<()>().await
            });
        }
    }
    let drops = Drops::new();
    let spawner = SpawnOnDrop(drops.clone());
    run(move || async move {
        spawn(async move {
            let _spawner = spawner;
            pending::<()>().await
        });
        yield_now().await;
    });
    assert_eq!(
        drops.count(),
        1,
        "the task spawned during shutdown was not dropped"
    );
}

#[test]
fn a_destructor_that_wakes_or_aborts_other_tasks_during_shutdown_is_harmless() {
    /// Wakes its wakers and aborts the task in its slot when dropped, counting each in `.2`.
    struct WakeOnDrop(
        Vec<std::task::Waker>,
        Rc<RefCell<Option<JoinHandle<()>>>>,
        Drops,
    );
    impl Drop for WakeOnDrop {
        fn drop(&mut self) {
            for waker in self.0.drain(..) {
                waker.wake();
                drop(self.2.guard());
            }
            if let Some(handle) = self.1.borrow().as_ref() {
                handle.abort();
                drop(self.2.guard());
            }
        }
    }
    let drops = Drops::new();
    let guards = drops.clone();
    let acted = Drops::new();
    let acts = acted.clone();
    run(move || async move {
        let mut wakers = Vec::new();
        let other = Rc::new(RefCell::new(None));
        for _ in 0..5 {
            let guard = guards.guard();
            let (tx, rx) = std::sync::mpsc::channel();
            spawn(async move {
                let _guard = guard;
                tx.send(current_waker().await).unwrap();
                pending::<()>().await
            });
            yield_now().await;
            wakers.push(rx.recv().unwrap());
        }
        let guard = guards.guard();
        other.borrow_mut().replace(spawn(async move {
            let _guard = guard;
            pending::<()>().await
        }));
        let waker_task = WakeOnDrop(wakers, other, acts);
        spawn(async move {
            let _w = waker_task;
            pending::<()>().await
        });
        yield_times(2).await;
    });
    assert_eq!(drops.count(), 6);
    // Five wakes and one abort really happened during shutdown (a skipped branch would pass
    // unseen otherwise).
    assert_eq!(acted.count(), 6);
}

#[test]
fn a_panicking_destructor_at_shutdown_does_not_stop_the_other_tasks_from_being_dropped() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("destructor panicked at shutdown");
        }
    }
    let drops = Drops::new();
    let guards = drops.clone();
    let value = run(move || async move {
        for i in 0..10 {
            let guard = guards.guard();
            spawn(async move {
                let _guard = guard;
                let _bomb = (i % 2 == 0).then_some(PanicsOnDrop);
                pending::<()>().await
            });
        }
        yield_now().await;
        "returned"
    });
    assert_eq!(value, "returned");
    assert_eq!(drops.count(), 10);
}

#[test]
fn a_detached_task_that_is_still_pending_is_dropped_at_shutdown() {
    let drops = Drops::new();
    let guard = drops.guard();
    run(move || async move {
        drop(spawn(async move {
            let _guard = guard;
            yield_times(1_000_000).await;
        }));
        yield_times(3).await;
    });
    assert_eq!(drops.count(), 1);
}
