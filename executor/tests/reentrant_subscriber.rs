//! A `tracing` subscriber is anyone's code, and it runs inside the executor: a subscriber that
//! forwards warnings to a glass task (the demo's pattern: a channel that a task drains) wakes that
//! task, or spawns one, from inside the event. That must work like any other wake or spawn on the
//! executor's thread, not find the run queue still borrowed by whoever emitted the event.
//!
//! The event used is the lost-waker warning answered for a check that another thread sent: once
//! emitted while the run queue was borrowed, it made the wake or spawn panic with `RefCell
//! already borrowed` through `block_on`.

mod common;

use std::fmt;
use std::future::poll_fn;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Poll, Waker};
use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc::{UnboundedReceiver, unbounded};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// A layer that calls its function for each lost-waker warning (and no other event: under
/// valgrind, polls are slow enough for slow-poll warnings too).
struct OnLostWaker<F>(F);

impl<S: Subscriber, F: Fn() + Send + Sync + 'static> Layer<S> for OnLostWaker<F> {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() != Level::WARN {
            return;
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        if message.0.contains("nothing can ever wake it") {
            (self.0)();
        }
    }
}

/// The `message` field of an event.
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

/// Runs `block_on` on a fresh thread with `on_lost` called for each lost-waker warning on that
/// thread. Inside, `setup` runs first; then a task loses its waker (its only stored clone is
/// dropped on another thread), which the executor answers with a lost-waker warning; then
/// `block_on`'s future waits (up to 10 s) for a message on `done`, sent by whatever the
/// subscriber made run.
fn lose_a_waker_with(
    setup: impl FnOnce() + Send + 'static,
    on_lost: impl Fn() + Send + Sync + 'static,
    mut done: UnboundedReceiver<()>,
) {
    common::with_deadline(move || {
        let subscriber = tracing_subscriber::registry().with(OnLostWaker(on_lost));
        tracing::subscriber::with_default(subscriber, || {
            executor::block_on(async {
                setup();
                let (tx, rx) = mpsc::channel::<Waker>();
                let lost = executor::spawn(poll_fn(move |cx| {
                    let _ = tx.send(cx.waker().clone());
                    Poll::<()>::Pending
                }));
                executor::yield_now().await;
                let waker = rx.recv().expect("the task sent its waker");
                std::thread::spawn(move || drop(waker)).join().unwrap();
                let arrived = reactor::time::timeout(Duration::from_secs(10), done.next()).await;
                assert!(arrived.is_ok(), "what the subscriber made run never ran");
                lost.abort();
            })
        })
    })
}

#[test]
fn a_subscriber_that_wakes_a_task_on_a_warning_wakes_it() {
    // Where the task that displays warnings keeps its waker for the subscriber.
    let listener = Arc::new(Mutex::new(None::<Waker>));
    let polls = Arc::new(AtomicUsize::new(0));
    let (display_listener, display_polls) = (listener.clone(), polls.clone());
    let (done, done_rx) = unbounded();
    let setup = move || {
        // Detached: the handle is dropped, the task runs on.
        drop(executor::spawn(poll_fn(move |cx| {
            if display_polls.fetch_add(1, Ordering::SeqCst) == 1 {
                let _ = done.unbounded_send(()); // Polled again: woken by the subscriber.
            }
            *display_listener.lock().unwrap() = Some(cx.waker().clone());
            Poll::<()>::Pending
        })));
    };
    let wake_display = move || {
        if let Some(waker) = listener.lock().unwrap().take() {
            waker.wake();
        }
    };
    lose_a_waker_with(setup, wake_display, done_rx);
    // Polled when spawned, and again for the one warning.
    assert_eq!(polls.load(Ordering::SeqCst), 2);
}

#[test]
fn a_subscriber_that_spawns_a_task_on_a_warning_runs_it() {
    let ran = Arc::new(AtomicUsize::new(0));
    let spawned = ran.clone();
    let (done, done_rx) = unbounded();
    let spawn_one = move || {
        let (spawned, done) = (spawned.clone(), done.clone());
        drop(executor::spawn(async move {
            spawned.fetch_add(1, Ordering::SeqCst);
            let _ = done.unbounded_send(());
        }));
    };
    lose_a_waker_with(|| {}, spawn_one, done_rx);
    assert_eq!(
        ran.load(Ordering::SeqCst),
        1,
        "one warning, one task spawned and run"
    );
}
