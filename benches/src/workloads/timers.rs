//! The timer workloads: [`timeouts`] (a timer armed and cancelled around every operation) and
//! [`sleeps`] (many timers that all fire within a few milliseconds).
//!
//! Each runtime's own timers: glass's `reactor::time`, tokio's `tokio::time` (a hierarchical
//! timing wheel), smol's `async_io::Timer` (an ordered map in the reactor, with a queue of
//! insertions and removals in front of it). smol has no `timeout` function; its users race the
//! future against a `Timer` with `futures_lite::future::or`, which is what the smol versions do.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::Run;

/// smol's timeout idiom: the future first, a [`smol::Timer`] second; `Err(())` if the timer won.
async fn smol_timeout<T>(duration: Duration, future: impl Future<Output = T>) -> Result<T, ()> {
    let expire = async {
        smol::Timer::after(duration).await;
        Err(())
    };
    smol::future::or(async { Ok(future.await) }, expire).await
}

/// `n` tasks, each awaiting [`OPERATIONS`](timeouts::OPERATIONS) quick operations (a
/// `yield_now`), every one under its own [`TIMEOUT`](timeouts::TIMEOUT) that never fires: each
/// operation arms a timer and cancels it. The check value counts the operations that finished
/// in time.
pub mod timeouts {
    use super::*;

    /// Operations per task, each under its own timeout.
    pub const OPERATIONS: usize = 20;
    /// Far beyond any run: the timeout is there to be armed and cancelled, never to fire.
    pub const TIMEOUT: Duration = Duration::from_secs(60);

    /// The number of timeouts (and operations) in a run of `n` tasks.
    pub fn ops(n: usize) -> u64 {
        (n * OPERATIONS) as u64
    }

    /// glass: `reactor::time::timeout` around `executor::yield_now`.
    pub fn glass(_: &crate::Harness, n: usize) -> std::io::Result<Run> {
        let start = Instant::now();
        let done = executor::block_on(async move {
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    executor::spawn(async {
                        let mut in_time = 0;
                        for _ in 0..OPERATIONS {
                            let op = executor::yield_now();
                            in_time += u64::from(reactor::time::timeout(TIMEOUT, op).await.is_ok());
                        }
                        in_time
                    })
                })
                .collect();
            let mut done = 0;
            for task in tasks {
                done += task.await.expect("timeouts: a task failed");
            }
            done
        });
        Ok(Run::new(start.elapsed(), done))
    }

    /// tokio: `tokio::time::timeout` around `tokio::task::yield_now`.
    pub fn tokio(h: &crate::Harness, n: usize) -> std::io::Result<Run> {
        let start = Instant::now();
        let done = h.tokio().block_on(async move {
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    tokio::spawn(async {
                        let mut in_time = 0;
                        for _ in 0..OPERATIONS {
                            let op = tokio::task::yield_now();
                            in_time += u64::from(tokio::time::timeout(TIMEOUT, op).await.is_ok());
                        }
                        in_time
                    })
                })
                .collect();
            let mut done = 0;
            for task in tasks {
                done += task.await.expect("timeouts: a task failed");
            }
            done
        });
        Ok(Run::new(start.elapsed(), done))
    }

    /// smol: a `Timer` raced against `futures_lite::future::yield_now`.
    pub fn smol(_: &crate::Harness, n: usize) -> std::io::Result<Run> {
        let start = Instant::now();
        let ex = smol::LocalExecutor::new();
        let done = smol::block_on(ex.run(async {
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    ex.spawn(async {
                        let mut in_time = 0;
                        for _ in 0..OPERATIONS {
                            let op = smol::future::yield_now();
                            in_time += u64::from(smol_timeout(TIMEOUT, op).await.is_ok());
                        }
                        in_time
                    })
                })
                .collect();
            let mut done = 0;
            for task in tasks {
                done += task.await;
            }
            done
        }));
        Ok(Run::new(start.elapsed(), done))
    }
}

/// `n` tasks each sleep once, task `i` for `i / n` of [`SPREAD`](sleeps::SPREAD): every deadline
/// a different one, all within a few milliseconds. The check value counts the sleeps that did not
/// end before their deadline (all of them, on a correct runtime).
pub mod sleeps {
    use super::*;

    /// The deadlines are spread evenly over this much time from the start.
    pub const SPREAD: Duration = Duration::from_millis(2);

    /// Task `i`'s sleep, of `n`.
    fn duration(i: usize, n: usize) -> Duration {
        SPREAD.mul_f64(i as f64 / n as f64)
    }

    /// 1 if the sleep that began at `began` for `slept` did not end early.
    fn on_time(began: Instant, slept: Duration) -> u64 {
        u64::from(began.elapsed() >= slept)
    }

    /// glass: `reactor::time::sleep`.
    pub fn glass(_: &crate::Harness, n: usize) -> std::io::Result<Run> {
        let start = Instant::now();
        let done = executor::block_on(async move {
            let tasks: Vec<_> = (0..n)
                .map(|i| {
                    executor::spawn(async move {
                        let (began, slept) = (Instant::now(), duration(i, n));
                        reactor::time::sleep(slept).await;
                        on_time(began, slept)
                    })
                })
                .collect();
            let mut done = 0;
            for task in tasks {
                done += task.await.expect("sleeps: a task failed");
            }
            done
        });
        Ok(Run::new(start.elapsed(), done))
    }

    /// tokio: `tokio::time::sleep`.
    pub fn tokio(h: &crate::Harness, n: usize) -> std::io::Result<Run> {
        let start = Instant::now();
        let done = h.tokio().block_on(async move {
            let tasks: Vec<_> = (0..n)
                .map(|i| {
                    tokio::spawn(async move {
                        let (began, slept) = (Instant::now(), duration(i, n));
                        tokio::time::sleep(slept).await;
                        on_time(began, slept)
                    })
                })
                .collect();
            let mut done = 0;
            for task in tasks {
                done += task.await.expect("sleeps: a task failed");
            }
            done
        });
        Ok(Run::new(start.elapsed(), done))
    }

    /// smol: `smol::Timer::after`.
    pub fn smol(_: &crate::Harness, n: usize) -> std::io::Result<Run> {
        let start = Instant::now();
        let ex = smol::LocalExecutor::new();
        let done = smol::block_on(ex.run(async {
            let tasks: Vec<_> = (0..n)
                .map(|i| {
                    ex.spawn(async move {
                        let (began, slept) = (Instant::now(), duration(i, n));
                        smol::Timer::after(slept).await;
                        on_time(began, slept)
                    })
                })
                .collect();
            let mut done = 0;
            for task in tasks {
                done += task.await;
            }
            done
        }));
        Ok(Run::new(start.elapsed(), done))
    }
}
