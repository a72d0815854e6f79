//! Fairness: a task that is always ready (it yields in a loop, forever) must not starve timers or
//! sockets. The loop checks the reactor, without sleeping, after a bounded number of polls.
//!
//! Without that check, a yielding task keeps the ready queue non-empty forever, the loop never
//! looks at the reactor, and the timer or socket below is never seen: infinitely late. The bound
//! on lateness is generous because the machine running the tests may be busy.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{LIMIT, connected_pair, run};
use reactor::time::sleep;

/// Lateness the tests tolerate: far above the microseconds it really takes, far below forever.
const LATE: Duration = Duration::from_millis(50);

/// Timing tests: one at a time, so they do not compete with each other for the two cores.
static SERIAL: Mutex<()> = Mutex::new(());

/// Spawns a task that yields in a loop forever, counting its turns.
fn spawn_spinner() -> Rc<Cell<u64>> {
    let turns = Rc::new(Cell::new(0));
    let counter = turns.clone();
    executor::spawn(async move {
        loop {
            counter.set(counter.get() + 1);
            executor::yield_now().await;
        }
    });
    turns
}

#[test]
fn a_task_yielding_forever_does_not_delay_a_sleep() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (late, turns) = run(LIMIT, || async {
        let turns = spawn_spinner();
        executor::yield_now().await; // Let the spinner start.
        let d = Duration::from_millis(50);
        let start = Instant::now();
        sleep(d).await;
        (start.elapsed() - d, turns.get())
    });
    assert!(turns > 100, "the spinner hardly ran ({turns} turns)");
    assert!(
        late < LATE,
        "sleep(50 ms) was {late:?} late next to a yielding task"
    );
}

#[test]
fn a_task_yielding_forever_does_not_delay_a_read_on_a_ready_socket() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (delay, turns) = run(LIMIT, || async {
        let (client, server) = connected_pair().await;
        let reader = executor::spawn(async move {
            let mut buf = [0u8; 16];
            let n = server.read(&mut buf).await.expect("read");
            assert_eq!(&buf[..n], b"ping");
            Instant::now()
        });
        executor::yield_now().await; // The reader is now waiting for data.
        let turns = spawn_spinner();
        executor::yield_now().await;
        let sent = Instant::now();
        client.write_all(b"ping").await.unwrap();
        let received = reader.await.unwrap();
        (received - sent, turns.get())
    });
    assert!(turns > 0, "the spinner never ran");
    assert!(
        delay < LATE,
        "a ready read waited {delay:?} next to a yielding task"
    );
}
