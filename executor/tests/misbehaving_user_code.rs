//! User code that misbehaves in the awkward places (a foreign waker that panics or polls inline, a
//! panic payload whose destructor panics, `spawn_blocking` outside `block_on`) must leave the
//! executor consistent: no panic escaping where it has nowhere to go, no dangling runtime, no
//! closure started by a call that then panics.

use std::cell::{Cell, RefCell};
use std::future::{Future, pending};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use executor::{JoinHandle, block_on, spawn, yield_now};

/// A foreign waker whose `wake` panics.
struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("wake panicked");
    }
}

fn spawn_outside_block_on_panics_cleanly() {
    let message = std::panic::catch_unwind(|| drop(spawn(async {})))
        .expect_err("spawn outside block_on must panic");
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| message.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(message.contains("inside executor::block_on"), "{message}");
}

#[test]
fn a_join_waker_that_panics_at_shutdown_leaves_no_runtime_behind() {
    block_on(async {
        let mut handle = spawn(pending::<()>());
        let waker = Waker::from(Arc::new(PanickingWaker));
        assert!(
            Pin::new(&mut handle)
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        // Returning cancels the pending task, which wakes that waker.
    });
    // Before the fix the thread still pointed at the freed runtime here.
    spawn_outside_block_on_panics_cleanly();
    assert_eq!(block_on(async { 7 }), 7);
}

/// Panics when dropped.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("a panic payload's destructor panicked");
    }
}

/// Panics, with a `Bomb` as the payload, when dropped.
struct PanicsWithBomb;

impl Drop for PanicsWithBomb {
    fn drop(&mut self) {
        std::panic::panic_any(Bomb);
    }
}

#[test]
fn a_destructor_panicking_with_a_bomb_payload_at_shutdown_leaves_no_runtime_behind() {
    block_on(async {
        drop(spawn(async {
            let _guard = PanicsWithBomb;
            pending::<()>().await
        }));
        yield_now().await; // Let it start, so shutdown has a live future to drop.
    });
    spawn_outside_block_on_panics_cleanly();
    assert_eq!(block_on(async { 7 }), 7);
}

thread_local! {
    static STASHED: RefCell<Option<JoinHandle<u32>>> = const { RefCell::new(None) };
    /// What the stashed handle gave when `PollsOnWake` polled it: `None` until it was ready.
    static FOUND: Cell<Option<u32>> = const { Cell::new(None) };
}

/// A foreign waker that polls the stashed handle as soon as it is woken, as an inline-polling
/// combinator might.
struct PollsOnWake;

impl Wake for PollsOnWake {
    fn wake(self: Arc<Self>) {
        let waker = Waker::from(self.clone());
        STASHED.with(|stashed| {
            if let Some(handle) = stashed.borrow_mut().as_mut()
                && let std::task::Poll::Ready(result) =
                    Pin::new(handle).poll(&mut Context::from_waker(&waker))
            {
                FOUND.set(result.ok());
            }
        });
    }
}

#[test]
fn a_join_waker_that_polls_the_handle_at_once_finds_the_result() {
    block_on(async {
        let mut handle = spawn(async {
            yield_now().await;
            5u32
        });
        let waker = Waker::from(Arc::new(PollsOnWake));
        let first = Pin::new(&mut handle).poll(&mut Context::from_waker(&waker));
        assert!(first.is_pending(), "the task yields before it returns");
        STASHED.with(|stashed| *stashed.borrow_mut() = Some(handle));
        for _ in 0..3 {
            yield_now().await;
        }
    });
    STASHED.with(|stashed| stashed.borrow_mut().take());
    assert_eq!(
        FOUND.get(),
        Some(5),
        "the waker never found the handle ready"
    );
}

#[test]
fn spawn_blocking_outside_block_on_panics_without_starting_the_closure() {
    static RAN: AtomicBool = AtomicBool::new(false);
    let result = std::panic::catch_unwind(|| {
        drop(executor::spawn_blocking(|| {
            RAN.store(true, Ordering::SeqCst)
        }))
    });
    assert!(result.is_err());
    // Were it started, the pool would have run it by now, even on a loaded machine.
    std::thread::sleep(Duration::from_millis(300));
    assert!(!RAN.load(Ordering::SeqCst));
}
