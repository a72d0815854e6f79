//! A `loom` model of the waker's atomics: every interleaving of a few threads, checked, rather
//! than argued in a comment. Run it with
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p executor --release --test loom_waker
//! ```
//!
//! ## How the model maps to the real code
//! The functions under test are the real ones: `executor::state::{Scheduled, Parking}` is the
//! module `Header::wake` and the executor's loop call (`executor/src/state.rs`: the core's sleep
//! protocol), and `executor::clones::Clones` is what the instrumentation layer adds, the count of
//! a task's stored wakers behind the lost-waker check (`executor/src/layer/clones.rs`). Both are
//! compiled here with loom's atomics and fences instead of std's (`cfg(loom)` makes the modules
//! public and swaps the imports), so the model cannot drift from the code. Modelled around them:
//! - **the ready queue / the channel** is an atomic counter of entries, accessed `Relaxed`: the
//!   model grants the real channel (crossbeam's, with its own locks and fences) no ordering at all,
//!   so whatever ordering the properties need must come from `state.rs` itself;
//! - **the eventfd** that `Unparker::unpark` writes is a flag: set means "the sleep will end";
//! - **`epoll_wait`** is the executor's decision to sleep: it sleeps if, after
//!   `Parking::announce_sleep`, it still finds the channel empty (`Runtime::park`);
//! - **a poll** is the executor taking the entry off the queue and calling
//!   `Scheduled::clear` (`Runtime::poll_task`), then reading what the waker wrote.
//!
//! ## The properties
//! 1. No lost wake: if the executor goes to sleep, a wake from another thread that queued a task
//!    has also decided to unpark it (`Parking`).
//! 2. A task is queued at most once per burst of wakes, and a wake is never lost between the
//!    executor's clear and the next poll: at the end, the task is queued exactly when its
//!    flag is set (`Scheduled`).
//! 3. A poll sees what the thread that woke the task wrote before waking it (the AcqRel pair of
//!    `Scheduled::set` and `clear`), and an executor that sees a new send count finds the ids in
//!    the channel (`Parking::sent_one`'s Release, `sent_since`'s Acquire).
//! 4. The count of a task's stored wakers is exact: of clones dropped at once, exactly one is
//!    told it left none (so exactly one asks for the lost-waker check), whatever clones happen
//!    meanwhile; and a clone that woke the task before its drop is seen to have set the flag by
//!    the drop that leaves none (`Clones`).
//!
//! `LOOM_MAX_PREEMPTIONS=3` bounds the search (each model then takes well under a second in a
//! release build); the bugs these guard against (a missing fence, a wrong ordering) need one or
//! two preemptions to show.
#![cfg(loom)]

use executor::clones::Clones;
use executor::state::{Parking, Scheduled};
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
        let state = Arc::new(Scheduled::new(false));
        // Entries for this task in the ready queue.
        let queue = Arc::new(AtomicU64::new(0));
        // What the waking threads wrote before waking; the poll must see it.
        let written = Arc::new(AtomicU64::new(0));

        let wakers: Vec<_> = (0..2)
            .map(|_| {
                let (state, queue, written) = (state.clone(), queue.clone(), written.clone());
                thread::spawn(move || {
                    written.fetch_add(1, Relaxed);
                    if state.set() {
                        let before = queue.fetch_add(1, Relaxed);
                        assert_eq!(before, 0, "the task was queued twice in one burst");
                    }
                })
            })
            .collect();

        // The executor: if the task is queued, take it off and poll it once.
        if queue.load(Relaxed) == 1 {
            queue.fetch_sub(1, Relaxed);
            state.clear();
            // The poll sees at least the write of the wake that queued it.
            assert!(
                written.load(Relaxed) >= 1,
                "the poll missed the waker's write"
            );
        }
        for waker in wakers {
            waker.join().unwrap();
        }
        assert_eq!(
            state.is_set(),
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

#[test]
fn of_two_clones_dropped_at_once_exactly_one_leaves_none() {
    loom::model(|| {
        let clones = Arc::new(Clones::default());
        clones.cloned(); // Two stored clones.
        clones.cloned();
        let other = {
            let clones = clones.clone();
            thread::spawn(move || clones.dropped())
        };
        let here = clones.dropped();
        let there = other.join().unwrap();
        let mut both = [here, there];
        both.sort();
        assert_eq!(both, [0, 1], "exactly one drop left none");
        assert_eq!(clones.get(), 0);
    });
}

#[test]
fn a_clone_made_meanwhile_is_counted_and_the_last_drop_is_told() {
    loom::model(|| {
        let clones = Arc::new(Clones::default());
        clones.cloned(); // One stored clone, dropped on another thread...
        let other = {
            let clones = clones.clone();
            thread::spawn(move || clones.dropped())
        };
        // ...while the task, here, stores a new clone and drops it.
        clones.cloned();
        let here = clones.dropped();
        let there = other.join().unwrap();
        // Whichever drop came last left none and was told so (the other may have been told so
        // too, if it came before the clone: then the task had been without a clone meanwhile).
        assert!(here == 0 || there == 0, "here {here}, there {there}");
        assert_eq!(clones.get(), 0);
    });
}

#[test]
fn a_drop_that_leaves_none_sees_the_wake_its_clone_made_first() {
    loom::model(|| {
        let clones = Arc::new(Clones::default());
        let flag = Arc::new(Scheduled::new(false));
        clones.cloned(); // Two stored clones: one wakes then drops, the other just drops.
        clones.cloned();
        let waker = {
            let (clones, flag) = (clones.clone(), flag.clone());
            thread::spawn(move || {
                flag.set();
                clones.dropped() == 0 && !flag.is_set()
            })
        };
        let here = clones.dropped() == 0 && !flag.is_set();
        let there = waker.join().unwrap();
        assert!(!here && !there, "a woken task was reported lost");
    });
}
