//! The scheduler workloads: no I/O, only tasks being spawned, woken and polled.
//!
//! Each submodule has a `glass`, a `tokio` and a `smol` function doing the same thing. The tokio
//! versions use `tokio::spawn` (every future here is `Send`), the glass versions `executor::spawn`,
//! the smol versions `LocalExecutor::spawn` on an executor made for the run (as glass's `block_on`
//! makes its queue); the channels come from `futures::channel`, which belongs to none of them.

use std::rc::Rc;
use std::time::Instant;

use smol::LocalExecutor;

use crate::Run;

/// Spawns `n` trivial tasks from inside `block_on`, then awaits every handle.
pub mod spawn_many {
    use super::*;

    /// The sum of the task outputs `0..n`.
    pub fn expected(n: usize) -> u64 {
        (n as u64) * (n as u64).saturating_sub(1) / 2
    }

    /// glass: `executor::spawn` and `JoinHandle`.
    pub fn glass(_: &crate::Harness, n: usize) -> std::io::Result<Run> {
        let start = Instant::now();
        let sum = executor::block_on(async move {
            let handles: Vec<_> = (0..n as u64)
                .map(|i| executor::spawn(async move { i }))
                .collect();
            let mut sum = 0;
            for handle in handles {
                sum += handle.await.expect("spawn_many: a task failed");
            }
            sum
        });
        Ok(Run::new(start.elapsed(), sum))
    }

    /// tokio: `tokio::spawn` and `JoinHandle`.
    pub fn tokio(h: &crate::Harness, n: usize) -> std::io::Result<Run> {
        let start = Instant::now();
        let sum = h.tokio().block_on(async move {
            let handles: Vec<_> = (0..n as u64)
                .map(|i| tokio::spawn(async move { i }))
                .collect();
            let mut sum = 0;
            for handle in handles {
                sum += handle.await.expect("spawn_many: a task failed");
            }
            sum
        });
        Ok(Run::new(start.elapsed(), sum))
    }

    /// smol: `LocalExecutor::spawn` and `Task`.
    pub fn smol(_: &crate::Harness, n: usize) -> std::io::Result<Run> {
        let start = Instant::now();
        let ex = LocalExecutor::new();
        let sum = smol::block_on(ex.run(async {
            let handles: Vec<_> = (0..n as u64).map(|i| ex.spawn(async move { i })).collect();
            let mut sum = 0;
            for handle in handles {
                sum += handle.await;
            }
            sum
        }));
        Ok(Run::new(start.elapsed(), sum))
    }
}

/// `n` tasks, each calling `yield_now` [`YIELDS`](yield_many::YIELDS) times.
pub mod yield_many {
    use super::*;

    /// How many times each task yields.
    pub const YIELDS: usize = 100;

    /// The number of yields in a run of `n` tasks (also the check value: each task counts its own).
    pub fn ops(n: usize) -> u64 {
        (n * YIELDS) as u64
    }

    /// glass: `executor::yield_now`.
    pub fn glass(_: &crate::Harness, n: usize) -> std::io::Result<Run> {
        let start = Instant::now();
        let total = executor::block_on(async move {
            let handles: Vec<_> = (0..n)
                .map(|_| {
                    executor::spawn(async {
                        for _ in 0..YIELDS {
                            executor::yield_now().await;
                        }
                        YIELDS as u64
                    })
                })
                .collect();
            let mut total = 0;
            for handle in handles {
                total += handle.await.expect("yield_many: a task failed");
            }
            total
        });
        Ok(Run::new(start.elapsed(), total))
    }

    /// tokio: `tokio::task::yield_now`.
    pub fn tokio(h: &crate::Harness, n: usize) -> std::io::Result<Run> {
        let start = Instant::now();
        let total = h.tokio().block_on(async move {
            let handles: Vec<_> = (0..n)
                .map(|_| {
                    tokio::spawn(async {
                        for _ in 0..YIELDS {
                            tokio::task::yield_now().await;
                        }
                        YIELDS as u64
                    })
                })
                .collect();
            let mut total = 0;
            for handle in handles {
                total += handle.await.expect("yield_many: a task failed");
            }
            total
        });
        Ok(Run::new(start.elapsed(), total))
    }

    /// smol: `futures_lite::future::yield_now`.
    pub fn smol(_: &crate::Harness, n: usize) -> std::io::Result<Run> {
        let start = Instant::now();
        let ex = LocalExecutor::new();
        let total = smol::block_on(ex.run(async {
            let handles: Vec<_> = (0..n)
                .map(|_| {
                    ex.spawn(async {
                        for _ in 0..YIELDS {
                            smol::future::yield_now().await;
                        }
                        YIELDS as u64
                    })
                })
                .collect();
            let mut total = 0;
            for handle in handles {
                total += handle.await;
            }
            total
        }));
        Ok(Run::new(start.elapsed(), total))
    }
}

/// Two tasks pass a counter back and forth `n` times through two `futures::channel::mpsc`
/// channels; each round trip is two wakes on the runtime's own thread.
pub mod ping_pong {
    use super::*;
    use futures::StreamExt;
    use futures::channel::mpsc;

    /// The two players, as one future per side so both runtimes run the very same code.
    /// Returns the counter after `n` round trips, which is `n`: the "pong" side adds one each time.
    fn players(n: usize) -> (impl Future<Output = u64>, impl Future<Output = ()>) {
        let (to_pong, mut pong_inbox) = mpsc::unbounded::<u64>();
        let (to_ping, mut ping_inbox) = mpsc::unbounded::<u64>();
        let ping = async move {
            let mut counter = 0;
            for _ in 0..n {
                to_pong
                    .unbounded_send(counter)
                    .expect("ping_pong: pong hung up");
                counter = ping_inbox.next().await.expect("ping_pong: pong hung up");
            }
            counter
        };
        let pong = async move {
            // Ends when `ping` drops its sender after the last round trip.
            while let Some(counter) = pong_inbox.next().await {
                if to_ping.unbounded_send(counter + 1).is_err() {
                    break;
                }
            }
        };
        (ping, pong)
    }

    /// glass: two `executor::spawn`ed tasks.
    pub fn glass(_: &crate::Harness, n: usize) -> std::io::Result<Run> {
        let start = Instant::now();
        let counter = executor::block_on(async move {
            let (ping, pong) = players(n);
            let pong = executor::spawn(pong);
            let counter = executor::spawn(ping).await.expect("ping_pong: ping failed");
            pong.await.expect("ping_pong: pong failed");
            counter
        });
        Ok(Run::new(start.elapsed(), counter))
    }

    /// tokio: two `tokio::spawn`ed tasks.
    pub fn tokio(h: &crate::Harness, n: usize) -> std::io::Result<Run> {
        let start = Instant::now();
        let counter = h.tokio().block_on(async move {
            let (ping, pong) = players(n);
            let pong = tokio::spawn(pong);
            let counter = tokio::spawn(ping).await.expect("ping_pong: ping failed");
            pong.await.expect("ping_pong: pong failed");
            counter
        });
        Ok(Run::new(start.elapsed(), counter))
    }

    /// smol: two `LocalExecutor::spawn`ed tasks.
    pub fn smol(_: &crate::Harness, n: usize) -> std::io::Result<Run> {
        let start = Instant::now();
        let ex = LocalExecutor::new();
        let counter = smol::block_on(ex.run(async {
            let (ping, pong) = players(n);
            let pong = ex.spawn(pong);
            let counter = ex.spawn(ping).await;
            pong.await;
            counter
        }));
        Ok(Run::new(start.elapsed(), counter))
    }
}

/// Each task spawns the next, `n` deep; the last one reports through a oneshot.
pub mod chained_spawn {
    use super::*;
    use futures::channel::oneshot;

    fn glass_link(left: usize, spawned: u64, done: oneshot::Sender<u64>) {
        if left == 0 {
            let _ = done.send(spawned);
        } else {
            // The handle is dropped: the task runs detached, as tokio's benchmark does.
            drop(executor::spawn(async move {
                glass_link(left - 1, spawned + 1, done)
            }));
        }
    }

    fn tokio_link(left: usize, spawned: u64, done: oneshot::Sender<u64>) {
        if left == 0 {
            let _ = done.send(spawned);
        } else {
            drop(tokio::spawn(async move {
                tokio_link(left - 1, spawned + 1, done)
            }));
        }
    }

    /// smol's tasks spawn from inside a task through a shared handle on the executor: a
    /// `LocalExecutor` only spawns futures that live as long as it does, and an `Rc` of a
    /// `'static` one is how a task gets hold of it (a non-atomic count, one per link).
    fn smol_link(
        ex: Rc<LocalExecutor<'static>>,
        left: usize,
        spawned: u64,
        done: oneshot::Sender<u64>,
    ) {
        if left == 0 {
            let _ = done.send(spawned);
        } else {
            let next = ex.clone();
            ex.spawn(async move { smol_link(next, left - 1, spawned + 1, done) })
                .detach();
        }
    }

    /// glass: `executor::spawn` from inside a task.
    pub fn glass(_: &crate::Harness, n: usize) -> std::io::Result<Run> {
        let start = Instant::now();
        let spawned = executor::block_on(async move {
            let (done, finished) = oneshot::channel();
            glass_link(n, 0, done);
            finished.await.expect("chained_spawn: the chain broke")
        });
        Ok(Run::new(start.elapsed(), spawned))
    }

    /// tokio: `tokio::spawn` from inside a task.
    pub fn tokio(h: &crate::Harness, n: usize) -> std::io::Result<Run> {
        let start = Instant::now();
        let spawned = h.tokio().block_on(async move {
            let (done, finished) = oneshot::channel();
            tokio_link(n, 0, done);
            finished.await.expect("chained_spawn: the chain broke")
        });
        Ok(Run::new(start.elapsed(), spawned))
    }

    /// smol: `LocalExecutor::spawn` from inside a task, each task detached.
    pub fn smol(_: &crate::Harness, n: usize) -> std::io::Result<Run> {
        let start = Instant::now();
        let ex = Rc::new(LocalExecutor::new());
        let spawned = smol::block_on(ex.run(async {
            let (done, finished) = oneshot::channel();
            smol_link(ex.clone(), n, 0, done);
            finished.await.expect("chained_spawn: the chain broke")
        }));
        Ok(Run::new(start.elapsed(), spawned))
    }
}
