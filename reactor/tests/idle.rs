//! Idle is idle: a loop with nothing to do sleeps in `epoll_wait` and uses no CPU, even with
//! sockets registered. These tests measure the whole process's CPU time, so they live in a binary
//! of their own and run one at a time.

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{LIMIT, connected_pair, cpu_time, run};
use reactor::net::TcpListener;
use reactor::time::sleep;

/// The tests in this file measure process-wide CPU time: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Sleeps 2 s on the loop and returns (CPU used, wall time, `epoll_wait` calls) over the sleep.
async fn measure_idle_sleep() -> (Duration, Duration, u64) {
    let waits = reactor::metrics().epoll_waits;
    let cpu = cpu_time();
    let start = Instant::now();
    sleep(Duration::from_secs(2)).await;
    let wall = start.elapsed();
    (
        cpu_time() - cpu,
        wall,
        reactor::metrics().epoll_waits - waits,
    )
}

fn assert_idle((cpu, wall, waits): (Duration, Duration, u64)) {
    let share = cpu.as_secs_f64() / wall.as_secs_f64();
    assert!(
        share < 0.05,
        "used {cpu:?} of CPU in {wall:?} of sleeping ({:.1}% of a core)",
        share * 100.0
    );
    // A 2 s sleep is one `epoll_wait` (a few if the wait ends early); a spinning loop makes
    // thousands.
    assert!(waits < 50, "{waits} epoll_waits during one idle sleep");
}

#[test]
fn an_idle_sleep_uses_almost_no_cpu() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert_idle(run(LIMIT, || async { measure_idle_sleep().await }));
}

#[test]
fn an_idle_sleep_with_idle_sockets_registered_uses_almost_no_cpu() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert_idle(run(LIMIT, || async {
        // A listener waiting for a connection, a connection waiting to read, and a connection
        // that is writable the whole time: edge-triggered readiness must not make any of them
        // wake the loop again and again.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        executor::spawn(async move {
            let _ = listener.accept().await;
        });
        let (client, server) = connected_pair().await;
        executor::spawn(async move {
            let mut buf = [0u8; 64];
            let _ = server.read(&mut buf).await;
        });
        let measured = measure_idle_sleep().await;
        drop(client);
        measured
    }));
}
