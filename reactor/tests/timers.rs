//! Timers: `sleep` is never early, many timers fire in deadline order, `timeout` cancels its
//! future, `interval` ticks, and a dropped sleep leaves nothing behind.

mod common;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant};

use common::{LIMIT, Rng, run};
use reactor::time::{Elapsed, interval, sleep, sleep_until, timeout};

#[test]
fn sleep_never_returns_before_its_duration() {
    // Sub-millisecond and just-over-a-millisecond durations are where rounding would show.
    let durations_us = [0, 1, 100, 999, 1000, 1001, 1500, 2500, 10_000, 33_333];
    run(LIMIT, move || async move {
        for _ in 0..3 {
            for us in durations_us {
                let d = Duration::from_micros(us);
                let start = Instant::now();
                sleep(d).await;
                let slept = start.elapsed();
                assert!(slept >= d, "sleep({d:?}) returned after {slept:?}");
            }
        }
        // The same with many sleeps pending at once, and with `sleep_until`.
        let tasks: Vec<_> = (0..300u64)
            .map(|i| {
                executor::spawn(async move {
                    let d = Duration::from_micros(i * 977 % 40_000);
                    let start = Instant::now();
                    sleep(d).await;
                    let slept = start.elapsed();
                    assert!(slept >= d, "sleep({d:?}) returned after {slept:?}");
                    let deadline = Instant::now() + d;
                    sleep_until(deadline).await;
                    let now = Instant::now();
                    assert!(
                        now >= deadline,
                        "sleep_until woke {:?} early",
                        deadline - now
                    );
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
}

#[test]
fn a_thousand_timers_fire_in_deadline_order() {
    let fired = run(LIMIT, || async {
        // Deadlines start well after the tasks are spawned and first polled, so every one of them
        // has to be woken by the reactor rather than be found already due.
        let base = Instant::now() + Duration::from_millis(300);
        let mut rng = Rng::new(0x5eed);
        let fired = Rc::new(RefCell::new(Vec::new()));
        let tasks: Vec<_> = (0..1000)
            .map(|i| {
                let deadline = base + Duration::from_micros(rng.below(700_000));
                let fired = fired.clone();
                executor::spawn(async move {
                    sleep_until(deadline).await;
                    let now = Instant::now();
                    assert!(
                        now >= deadline,
                        "timer {i} fired {:?} early",
                        deadline - now
                    );
                    fired.borrow_mut().push((deadline, i));
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        Rc::try_unwrap(fired).unwrap().into_inner()
    });
    assert_eq!(fired.len(), 1000);
    for pair in fired.windows(2) {
        let ((a, i), (b, j)) = (pair[0], pair[1]);
        assert!(
            a <= b,
            "timer {i} fired before timer {j}, whose deadline is earlier"
        );
    }
}

/// Counts the drops of the value it guards.
struct DropCounter(Rc<Cell<u32>>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn timeout_drops_its_inner_future_and_returns_elapsed_when_time_runs_out() {
    run(LIMIT, || async {
        let drops = Rc::new(Cell::new(0));
        let polls = Rc::new(Cell::new(0));
        let guard = DropCounter(drops.clone());
        let polled = polls.clone();
        let never = async move {
            let _guard = guard;
            polled.set(polled.get() + 1);
            // Something that never finishes but does register with the reactor.
            sleep(Duration::from_secs(3600)).await;
        };
        let start = Instant::now();
        let result: Result<(), Elapsed> = timeout(Duration::from_millis(50), never).await;
        let took = start.elapsed();
        assert!(result.is_err(), "the inner future cannot have finished");
        assert_eq!(result.unwrap_err().to_string(), "deadline has elapsed");
        assert!(
            took >= Duration::from_millis(50),
            "timed out after {took:?}"
        );
        assert_eq!(polls.get(), 1, "the inner future was not run");
        assert_eq!(drops.get(), 1, "the inner future was not dropped");

        // A future that finishes in time wins, and is dropped as well.
        let guard = DropCounter(drops.clone());
        let quick = async move {
            let _guard = guard;
            sleep(Duration::from_millis(5)).await;
            42
        };
        assert_eq!(timeout(Duration::from_secs(30), quick).await, Ok(42));
        assert_eq!(drops.get(), 2);
    });
}

#[test]
fn interval_ticks_once_per_period_and_catches_up_after_a_delay() {
    run(LIMIT, || async {
        let period = Duration::from_millis(20);
        let mut ticks = interval(period);
        let start = Instant::now();
        let first = ticks.tick().await;
        assert!(first <= start, "the first tick is due at once");
        for k in 1..=10 {
            let t = ticks.tick().await;
            assert_eq!(t, first + period * k, "tick {k} not on its schedule");
            assert!(Instant::now() >= t, "tick {k} completed early");
        }
        assert!(start.elapsed() >= period * 10);
        // A busy task misses ticks; the missed ones complete at once and keep the schedule.
        std::thread::sleep(period * 5);
        let resumed = Instant::now();
        for k in 11..=14 {
            let t = ticks.tick().await;
            assert_eq!(t, first + period * k, "tick {k} not on its schedule");
            assert!(t <= resumed, "tick {k} was not a missed one");
        }
    });
}

/// A waker that does nothing but lets the test see how many copies of it are alive.
struct Probe;

impl Wake for Probe {
    fn wake(self: Arc<Self>) {}
}

#[test]
fn dropping_a_pending_sleep_removes_its_timer_and_waker() {
    run(LIMIT, || async {
        let probe = Arc::new(Probe);
        let waker = Waker::from(probe.clone());
        let fired_before = reactor::metrics().timers_fired;
        {
            let mut short = pin!(sleep(Duration::from_millis(20)));
            assert!(
                short
                    .as_mut()
                    .poll(&mut Context::from_waker(&waker))
                    .is_pending()
            );
            assert_eq!(Arc::strong_count(&probe), 3, "the sleep stored no waker");
        }
        assert_eq!(
            Arc::strong_count(&probe),
            2,
            "the dropped sleep left its waker"
        );
        // Had the 20 ms timer stayed registered it would fire during this sleep.
        sleep(Duration::from_millis(100)).await;
        assert_eq!(
            reactor::metrics().timers_fired - fired_before,
            1,
            "the dropped sleep's timer fired anyway"
        );
    });
}
