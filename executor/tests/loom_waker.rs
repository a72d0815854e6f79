//! A `loom` model of the waker's atomics: every interleaving of a few threads, checked, rather
//! than argued in a comment. Run it with
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p executor --release --test loom_waker
//! ```
//!
//! ## How the model maps to the real code
//! The functions under test are the real ones: `executor::state::{WakeState, Parking}` is the
//! module `WakerData::wake` and the executor's loop call (`executor/src/state.rs`), compiled here
//! with loom's atomics and fences instead of std's (`cfg(loom)` makes the module public and swaps
//! the imports). So the model cannot drift from the code. What is modelled around them:
//! - **the ready queue / the channel** is an atomic counter of entries, accessed `Relaxed`: the
//!   model grants the real channel (crossbeam's, with its own locks and fences) no ordering at all,
//!   so whatever ordering the properties need must come from `state.rs` itself;
//! - **the eventfd** that `Unparker::unpark` writes is a flag: set means "the sleep will end";
//! - **`epoll_wait`** is the executor's decision to sleep: it sleeps if, after
//!   `Parking::announce_sleep`, it still finds the channel empty (`Runtime::park`);
//! - **a poll** is the executor taking the entry off the queue and calling
//!   `WakeState::clear_scheduled` (`Runtime::poll_task`), then reading what the waker wrote.
//!
//! ## The properties
//! 1. No lost wake: if the executor goes to sleep, a wake from another thread that queued a task
//!    has also decided to unpark it (`Parking`).
//! 2. A task is queued at most once per burst of wakes, and a wake is never lost between the
//!    executor's clear and the next poll: at the end, the task is queued exactly when its
//!    `SCHEDULED` bit is set, and every wake is counted (`WakeState`).
//! 3. A poll sees what the thread that woke the task wrote before waking it (the AcqRel pair of
//!    `WakeState::wake` and `clear_scheduled`), and an executor that sees a new send count finds
//!    the ids in the channel (`Parking::sent_one`'s Release, `sent_since`'s Acquire).
//! 4. The count of a task's wakers is exact: of wakers dropped at once, exactly one is told it
//!    left a single waker (so exactly one asks for the lost-waker check), and exactly one that it
//!    was the last (so the data is freed once), whatever clones happen meanwhile (`WakerCount`).
//!
//! `LOOM_MAX_PREEMPTIONS=3` bounds the search (each model then takes well under a second in a
//! release build); the bugs these guard against (a missing fence, a wrong ordering) need one or
//! two preemptions to show.
#![cfg(loom)]

use executor::state::{Parking, Released, WakeState, WakerCount};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use loom::thread;

#[test]
fn a_wake_from_another_thread_always_ends_the_sleep() {
    loom::model(|| {
        let parking = Arc::new(Parking::default());
        let channel = Arc::new(AtomicU64::new(0));
        let eventfd = Arc::new(AtomicBool::new(false));

        let waker = {
            let (parking, channel, eventfd) = (parking.clone(), channel.clone(), eventfd.clone());
            thread::spawn(move || {
                channel.fetch_add(1, Relaxed); // shared.remote.send(id)
                if parking.sent_one() {
                    eventfd.store(true, Relaxed); // shared.unparker.unpark()
                }
            })
        };

        // Runtime::park: announce the sleep, look at the channel once more.
        parking.announce_sleep();
        let sleeps = channel.load(Relaxed) == 0;
        waker.join().unwrap();
        if sleeps {
            assert!(
                eventfd.load(Relaxed),
                "lost wake: the executor slept with a task in the channel and nobody unparked it"
            );
        }
        parking.awake();
    });
}

#[test]
fn two_remote_wakers_and_a_sleeping_executor_lose_no_wake() {
    loom::model(|| {
        let parking = Arc::new(Parking::default());
        let channel = Arc::new(AtomicU64::new(0));
        let eventfd = Arc::new(AtomicBool::new(false));
        let wakers: Vec<_> = (0..2)
            .map(|_| {
                let (parking, channel, eventfd) =
                    (parking.clone(), channel.clone(), eventfd.clone());
                thread::spawn(move || {
                    channel.fetch_add(1, Relaxed);
                    if parking.sent_one() {
                        eventfd.store(true, Relaxed);
                    }
                })
            })
            .collect();
        parking.announce_sleep();
        let sleeps = channel.load(Relaxed) == 0;
        for waker in wakers {
            waker.join().unwrap();
        }
        if sleeps {
            assert!(eventfd.load(Relaxed), "lost wake with two wakers");
        }
    });
}

#[test]
fn a_task_is_queued_at_most_once_per_burst_of_wakes() {
    loom::model(|| {
        let state = Arc::new(WakeState::new(false));
        // Entries for this task in the ready queue.
        let queue = Arc::new(AtomicU64::new(0));
        // What the waking threads wrote before waking; the poll must see it.
        let written = Arc::new(AtomicU64::new(0));

        let wakers: Vec<_> = (0..2)
            .map(|_| {
                let (state, queue, written) = (state.clone(), queue.clone(), written.clone());
                thread::spawn(move || {
                    written.fetch_add(1, Relaxed);
                    if state.wake() {
                        let before = queue.fetch_add(1, Relaxed);
                        assert_eq!(before, 0, "the task was queued twice in one burst");
                    }
                })
            })
            .collect();

        // The executor: if the task is queued, take it off and poll it once.
        if queue.load(Relaxed) == 1 {
            queue.fetch_sub(1, Relaxed);
            state.clear_scheduled();
            // The poll sees at least the write of the wake that queued it.
            assert!(
                written.load(Relaxed) >= 1,
                "the poll missed the waker's write"
            );
        }
        for waker in wakers {
            waker.join().unwrap();
        }
        assert_eq!(state.wakes(), 2, "every wake is counted");
        assert_eq!(
            state.is_scheduled(),
            queue.load(Relaxed) == 1,
            "a wake was lost (flag set, nothing queued) or a queued task has no flag"
        );
    });
}

#[test]
fn an_executor_that_sees_a_new_send_count_finds_the_ids() {
    loom::model(|| {
        let parking = Arc::new(Parking::default());
        let channel = Arc::new(AtomicU64::new(0));
        let waker = {
            let (parking, channel) = (parking.clone(), channel.clone());
            thread::spawn(move || {
                channel.store(1, Relaxed);
                let _ = parking.sent_one();
            })
        };
        // Runtime::take_remote_wakes.
        if let Some(sent) = parking.sent_since(0) {
            assert_eq!(sent, 1);
            assert_eq!(channel.load(Relaxed), 1, "the count came before the id");
        }
        waker.join().unwrap();
    });
}

/// A waker's drop as `drop_waker` does it: the quick swap, else the slow way. `queued`: whether
/// the task is on a ready queue (with `false`, a drop that leaves one waker takes the slow way).
fn drop_waker(count: &WakerCount, queued: bool) -> Released {
    count
        .release_quietly(|| queued)
        .unwrap_or_else(|| count.release(|| {}))
}

#[test]
fn of_two_clones_dropped_at_once_exactly_one_leaves_a_single_waker() {
    for queued in [false, true] {
        loom::model(move || {
            let count = Arc::new(WakerCount::default()); // The task's own waker...
            count.cloned(); // ...and two stored clones.
            count.cloned();
            let other = {
                let count = count.clone();
                thread::spawn(move || drop_waker(&count, queued))
            };
            let here = drop_waker(&count, queued);
            let there = other.join().unwrap();
            let mut both = [here, there];
            both.sort_by_key(|r| matches!(r, Released::More));
            assert_eq!(
                both,
                [Released::OneLeft, Released::More],
                "queued: {queued}"
            );
            assert!(count.only_one(), "the task's own waker is left");
        });
    }
}

#[test]
fn the_last_waker_is_released_once_and_a_clone_meanwhile_is_counted() {
    loom::model(|| {
        let count = Arc::new(WakerCount::default()); // The task's own waker...
        count.cloned(); // ...and one stored clone, dropped on another thread...
        let other = {
            let count = count.clone();
            thread::spawn(move || drop_waker(&count, false))
        };
        // ...while the task, here, stores a new clone and drops it, then finishes.
        count.cloned();
        let mut released = vec![drop_waker(&count, false), drop_waker(&count, false)];
        released.push(other.join().unwrap());
        let last = released.iter().filter(|r| **r == Released::Last).count();
        assert_eq!(last, 1, "{released:?}");
        assert!(
            released.contains(&Released::OneLeft),
            "a drop that left a single waker was not told so: {released:?}"
        );
    });
}
