//! A waker is anyone's code, and it may panic. The reactor calls foreign `Waker::wake`s in the
//! middle of its turn; a panic there must not unwind through `block_on` and leave the other wakers
//! of that turn unwoken. It is caught around each wake, reported as an ERROR event, and the turn
//! goes on.

mod common;

// The executor's tests' event recorder, shared rather than copied.
#[path = "../../executor/tests/common/capture.rs"]
#[allow(dead_code)]
mod capture;

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::time::{Duration, Instant};

use common::{LIMIT, run};
use reactor::net::{TcpListener, TcpStream};
use reactor::time::{sleep_until, timeout};
use tracing::Level;

/// A panic payload whose own `drop` panics too.
struct PanicsWhenDropped;

impl Drop for PanicsWhenDropped {
    fn drop(&mut self) {
        panic!("this panic payload panics when dropped");
    }
}

/// A waker whose `wake` panics: what a buggy foreign executor or combinator might install. With
/// `payload_panics_on_drop`, the panic's payload is a [`PanicsWhenDropped`].
fn panicking_waker(payload_panics_on_drop: bool) -> Waker {
    // The data pointer says which panic: null for a plain one, dangling (never read) for the other.
    fn clone(data: *const ()) -> RawWaker {
        RawWaker::new(data, &VTABLE)
    }
    fn wake(data: *const ()) {
        if data.is_null() {
            panic!("this waker panics when woken");
        }
        std::panic::panic_any(PanicsWhenDropped);
    }
    fn drop(_: *const ()) {}
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, drop);
    let data = if payload_panics_on_drop {
        std::ptr::dangling()
    } else {
        std::ptr::null()
    };
    // SAFETY: the vtable's functions never dereference the data pointer, so any pointer is valid.
    unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) }
}

/// Polls `future` once with `bad` (a [`panicking_waker`]) instead of the task's own waker: the
/// reactor now holds that waker for the event `future` waits on.
async fn install_panicking_waker(future: &mut Pin<&mut impl Future>, bad: Waker) {
    poll_fn(|_| {
        let pending = future
            .as_mut()
            .poll(&mut Context::from_waker(&bad))
            .is_pending();
        assert!(pending, "the future must wait, so that its waker is stored");
        Poll::Ready(())
    })
    .await
}

fn errors(events: &[capture::Captured]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.level == Level::ERROR && e.target == "glass::reactor")
        .map(|e| e.message.clone())
        .collect()
}

/// Two sleeps due in the same turn, the first with `bad` as its waker, the second a task's:
/// whether the task was woken, and the events meanwhile.
fn two_sleepers_of_one_turn(bad: Waker) -> (bool, Vec<capture::Captured>) {
    capture::capture(|| {
        run(LIMIT, || async {
            // Same deadline: both entries expire in the same turn, the bad one first (it was
            // registered first).
            let deadline = Instant::now() + Duration::from_millis(20);
            let mut bad_sleep = Box::pin(sleep_until(deadline));
            install_panicking_waker(&mut bad_sleep.as_mut(), bad).await;
            let good = executor::spawn(sleep_until(deadline));
            timeout(Duration::from_secs(10), good).await.is_ok()
        })
    })
}

#[test]
fn a_panicking_timer_waker_is_caught_and_the_other_timers_of_the_turn_still_fire() {
    let (woken, events) = two_sleepers_of_one_turn(panicking_waker(false));
    assert!(woken, "the well-behaved sleeper of the same turn was woken");
    let errors = errors(&events);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("a waker panicked when the reactor woke it (for timer)"),
        "{}",
        errors[0]
    );
}

#[test]
fn a_panicking_socket_waker_is_caught_and_the_other_waiters_are_still_woken() {
    let (read, events) = capture::capture(|| {
        run(LIMIT, || async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (server, _) = listener.accept().await.unwrap();
            let server = std::rc::Rc::new(server);
            // Two waiters on the server's read side: first the panicking waker, then a task.
            let mut buf = [0u8; 1];
            let reader = server.clone();
            let mut bad = Box::pin(async move {
                let mut buf = [0u8; 1];
                reader.read(&mut buf).await
            });
            install_panicking_waker(&mut bad.as_mut(), panicking_waker(false)).await;
            let good = executor::spawn(async move {
                server.read(&mut buf).await.unwrap();
                buf[0]
            });
            executor::yield_now().await; // `good` waits now too.
            client.write_all(b"x").await.unwrap();
            timeout(Duration::from_secs(10), good)
                .await
                .map(Result::unwrap)
        })
    });
    assert_eq!(read, Ok(b'x'), "the well-behaved reader was woken");
    let errors = errors(&events);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("(for fd=") && errors[0].contains(" readable)"),
        "{}",
        errors[0]
    );
}

/// The payload of a caught waker panic is anyone's value too: dropped outside any catch, a payload
/// whose `drop` panics would unwind out of the reactor's turn (and `block_on`), and the other
/// sleeper of that turn would never be woken.
#[test]
fn a_panic_payload_that_panics_when_dropped_does_not_stop_the_turn() {
    let (woken, events) = two_sleepers_of_one_turn(panicking_waker(true));
    assert!(woken, "the well-behaved sleeper of the same turn was woken");
    let errors = errors(&events);
    assert_eq!(errors.len(), 1, "{errors:?}");
    let reported = events.iter().find_map(|e| e.field("panic"));
    assert_eq!(reported, Some("(a non-string panic payload)"));
}
