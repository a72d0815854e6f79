//! Nothing leaks: after a runtime that has done everything (tasks that finish, panic, are aborted,
//! are still pending at shutdown; wakes and waker drops from other threads; wakers that outlive the
//! runtime) the heap holds exactly what it held before.
//!
//! The other tests count drops of futures; this one also sees what they cannot, such as the
//! waker data behind a hand-written `RawWaker` (a clone that forgot to release its count would
//! leave it on the heap). It counts every allocation through a global allocator, so it is the
//! only test in this binary: other tests running alongside would allocate too.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::pending;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::task::Waker;
use std::thread;
use std::time::Duration;

use common::{Drops, current_waker, oneshot, with_deadline};
use executor::{block_on, spawn, spawn_blocking, yield_now};

/// Forwards to the system allocator and keeps a count of live blocks and bytes.
struct Counting;

static LIVE_BLOCKS: AtomicIsize = AtomicIsize::new(0);
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so `System`'s
// guarantees are ours; the counters are plain atomics and never touch the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc_zeroed`'s contract.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` was allocated by `System` through us with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::realloc`'s contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE_BYTES.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> (isize, isize) {
    (
        LIVE_BLOCKS.load(Ordering::SeqCst),
        LIVE_BYTES.load(Ordering::SeqCst),
    )
}

/// One runtime that does a bit of everything, then returns the wakers that escaped it.
fn workout(drops: &Drops) -> Vec<Waker> {
    let guards = drops.clone();
    let escaped = block_on(async move {
        let mut escaped = Vec::new();

        // Tasks that finish, after waiting for wakes from other threads.
        let mut handles = Vec::new();
        for i in 0..50u64 {
            let guard = guards.guard();
            let (tx, rx) = oneshot();
            let sender = thread::spawn(move || tx.send(i));
            handles.push(spawn(async move {
                let _guard = guard;
                let value = rx.await.unwrap();
                sender.join().unwrap();
                value
            }));
        }
        for (i, handle) in handles.into_iter().enumerate() {
            assert_eq!(handle.await.unwrap(), i as u64);
        }

        // A task whose waker is cloned, woken and dropped on other threads, and kept past the end.
        let guard = guards.guard();
        let kept = spawn(async move {
            let _guard = guard;
            let waker = current_waker().await;
            let clones: Vec<Waker> = (0..200).map(|_| waker.clone()).collect();
            thread::spawn(move || {
                for (i, clone) in clones.into_iter().enumerate() {
                    if i % 2 == 0 {
                        clone.wake();
                    }
                }
            })
            .join()
            .unwrap();
            waker
        })
        .await
        .unwrap();
        escaped.push(kept);

        // A task that panics, and one that is aborted.
        let guard = guards.guard();
        let panicked = spawn(async move {
            let _guard = guard;
            yield_now().await;
            panic!("a panic whose payload must be freed");
        });
        let guard = guards.guard();
        let aborted = spawn(async move {
            let _guard = guard;
            pending::<()>().await
        });
        yield_now().await;
        aborted.abort();
        assert!(panicked.await.unwrap_err().is_panic());
        assert!(aborted.await.unwrap_err().is_cancelled());

        // spawn_blocking, and a timer.
        assert_eq!(spawn_blocking(|| 6 * 7).await.unwrap(), 42);
        reactor::time::sleep(Duration::from_millis(1)).await;

        // Tasks still pending when block_on returns, one of them on a long timer, one of them
        // with its waker escaped, and a detached one.
        for _ in 0..10 {
            let guard = guards.guard();
            spawn(async move {
                let _guard = guard;
                reactor::time::sleep(Duration::from_secs(3600)).await
            });
        }
        let guard = guards.guard();
        let (tx, rx) = std::sync::mpsc::channel();
        drop(spawn(async move {
            let _guard = guard;
            tx.send(current_waker().await).unwrap();
            pending::<()>().await
        }));
        yield_now().await;
        escaped.push(rx.recv().unwrap());
        escaped.push(current_waker().await); // The main future's own waker.
        escaped
    });
    // The runtime is gone; wake what escaped from here and from another thread.
    for waker in &escaped {
        waker.wake_by_ref();
    }
    escaped
}

#[test]
fn a_finished_runtime_leaves_no_task_future_or_waker_data_on_the_heap() {
    let result = with_deadline(|| {
        // Panics are expected (one per workout); the default hook would write them into the
        // test's captured output, which grows the heap. A silent hook keeps the count exact.
        let previous_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));

        // The first round pays for everything created once per thread or process: this thread's
        // reactor, the blocking pool's threads, lazily registered tracing call sites.
        let warmup_drops = Drops::new();
        let escaped = workout(&warmup_drops);
        thread::spawn(move || drop(escaped)).join().unwrap();
        // Let the blocking pool's thread go idle again, as it will be after each round.
        thread::sleep(Duration::from_millis(50));

        // Three runtimes in a row, measured together. A leak in the executor leaks in every
        // runtime, so it shows in every attempt; an attempt is repeated (at most three times) only
        // so that a once-per-process allocation outside the executor's control (the blocking pool
        // starting a second thread because the first was slow to go idle on a loaded machine)
        // cannot fail the test on its own.
        // Allocated before any count is taken, with room for every round and attempt.
        let mut futures_dropped = Vec::with_capacity(9);
        let mut growth = Vec::with_capacity(3);
        for _attempt in 0..3 {
            let before = live();
            for _ in 0..3 {
                let drops = Drops::new();
                let escaped = workout(&drops);
                // Dropped on another thread: the last count of each waker is released there.
                thread::spawn(move || drop(escaped)).join().unwrap();
                futures_dropped.push(drops.count());
                thread::sleep(Duration::from_millis(50));
            }
            let after = live();
            growth.push((after.0 - before.0, after.1 - before.1));
            if after == before {
                break;
            }
        }
        drop(std::panic::take_hook());
        std::panic::set_hook(previous_hook);
        (growth, futures_dropped, warmup_drops.count())
    });
    let (growth, futures_dropped, warmup_dropped) = result;
    // 50 + kept + panicked + aborted + 10 on timers + the detached one.
    assert_eq!(warmup_dropped, 64);
    assert!(
        futures_dropped.iter().all(|&n| n == 64),
        "futures dropped per runtime: {futures_dropped:?}"
    );
    assert_eq!(
        growth.last(),
        Some(&(0, 0)),
        "(live blocks, live bytes) grew over three runtimes, in every attempt: {growth:?}"
    );
}
