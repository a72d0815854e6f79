//! # benches: glass against tokio and smol, side by side
//!
//! Every workload here is written once for glass (`executor` + `reactor` + `http_client`), once
//! for tokio's `current_thread` runtime (with `hyper` for HTTP), once for smol (async-executor's
//! `LocalExecutor` run by `async_io::block_on`, smol's `net` types, hyper over them via
//! `smol-hyper`), and the I/O workloads once more with plain blocking `std::net` on threads: the
//! reference, the best a program can do with the same system calls. The three versions do the same work and return the same check value, which
//! the callers compare against what the workload should produce, so a fast wrong answer is caught.
//!
//! ```text
//!   workloads::ALL ──► criterion  (benches/runtime.rs: one group per workload, one
//!        │                          bench per contender, `cargo bench -p benches`)
//!        ├─────────► compare      (src/bin/compare.rs: contenders in alternation, one table,
//!        │                          `cargo run --release -p benches --bin compare`)
//!        └─────────► compare --instructions   (src/instructions.rs: each runtime's version
//!                                   under callgrind, instructions per operation)
//!   benches/syscalls.sh      system calls per operation (strace), kernel-bound workloads
//!   benches/downloaders.sh   the demo against curl, wget and aria2c, files served by nginx
//! ```
//!
//! ## What is measured
//! | workload | one operation | what it stresses |
//! |---|---|---|
//! | spawn_many | one task spawned, run and joined | task allocation, the ready queue, `JoinHandle` |
//! | spawn_join_50k | spawn_many with 50,000 tasks alive at once | the same, with the tasks' memory all live |
//! | yield_many | one `yield_now` | the poll loop itself: wake, queue, poll |
//! | ping_pong | one round trip between two tasks | local wakes through a runtime-neutral channel |
//! | chained_spawn | one spawn from inside a task | spawning from a task, queue latency |
//! | cross_thread_wake | one message from another thread | remote wakes, unparking the reactor |
//! | remote_wake | one round trip with an OS thread | waking a sleeping runtime from outside |
//! | timeouts | one `timeout` around a `yield_now` (never fires) | timer insertion and removal |
//! | sleeps | one of 20,000 sleeps that end within 2 ms | many timers firing at once |
//! | tcp_echo | one 64-byte round trip | the reactor's turn on a latency-bound socket pair |
//! | bulk_transfer | one MiB | the read/write path under throughput |
//! | many_connections | one connection served | per-connection memory and accept/spawn cost |
//! | many_echo | one round trip, 200 connections at once | batches of readiness events |
//! | http_get | one keep-alive GET of 1 KiB | glass's HTTP client against hyper's |
//! | downloads | one 1 MiB download (100 at once) | concurrent streaming bodies |
//!
//! Each contender measures its own elapsed time ([`Run::elapsed`]) around the work only: building
//! a tokio runtime (done once, in [`Harness`]), spawning a helper process or starting the local
//! HTTP server are left out. glass's `block_on` sets up its ready queue on every call; that is
//! part of using glass, so it is inside the measurement.
//!
//! ## How to read the numbers
//! - **time per operation** is a median over several samples; a sample is one or more complete
//!   runs of the workload, long enough (tens of milliseconds) for the clock to be precise.
//! - **t÷g, s÷g** are tokio's and smol's time divided by glass's, per round of samples taken back
//!   to back: above 1 means glass is faster. The median is the headline; min and max over the
//!   rounds show how much the machine's noise moved it. A range that straddles 1 means "no clear
//!   winner".
//! - **cpu t,s** is the same pair of ratios for CPU time (the calling thread's, where every
//!   runtime runs every task): which runtime did the work more cheaply, even when the wall clock
//!   is bound by something they share.
//! - **Ir** (`compare --instructions`) is user-space instructions per operation, counted by
//!   callgrind: the figure that does not move with the machine's load, so the one to quote for
//!   CPU-side work ([`instructions`]).
//! - **timed** is glass with task timing on ([`Contender::GlassTimed`], `glass+timing`) over
//!   glass as programs run it by default: what the busy/scheduled/idle split costs, in time (the
//!   time table) or instructions (`--instructions`).
//! - **vs std** is the blocking reference's time divided by the contender's: 1.0 means as fast as
//!   blocking threads, 0.5 means twice as slow. On a 2-core machine the blocking version runs its
//!   two ends in parallel while a single-threaded runtime runs them in turn, so 1.0 is a ceiling,
//!   not a promise.
//! - **peak memory** (many_connections only) is how much the serving process's peak resident set
//!   (`VmHWM`) grew above what it used before the runtime started; next to it, the serving
//!   process's CPU time per connection, which tells the servers apart even where the shared client
//!   bounds the wall time.
//!
//! ## Implementation
//! - The workloads are plain functions ([`workloads`]), one module per family, each with a
//!   `glass`, a `tokio`, a `smol` and (for I/O) a `blocking` version of the same signature, listed
//!   once in
//!   [`workloads::ALL`]. Criterion and `compare` iterate over that list; neither knows a workload
//!   by name.
//! - tokio's side uses `tokio::spawn`, as tokio users do (every future here is `Send`); glass's
//!   uses `executor::spawn`; smol's uses `LocalExecutor::spawn` on an executor made for the run
//!   (tasks need not be `Send`, as on glass). Channels between tasks come from `futures::channel`,
//!   which belongs to none of the runtimes.
//! - Every runtime's tasks run on the calling thread; the only other threads are the ones a
//!   workload is about (cross_thread_wake's senders), the blocking reference's, and the local HTTP
//!   server's ([`http_server`]), which serves every contender alike. (smol's `async_io::block_on`
//!   may start async-io's fallback thread; its work counts as smol's.)
//! - many_connections needs 10,000 sockets at each end, and this machine allows 20,000 open files
//!   per process: the server under test runs in a child process (`compare --serve ...`), which
//!   also gives it a peak-memory reading of its own. See [`workloads::many_connections`].

#![warn(missing_docs)]

pub mod compare;
mod harness;
pub mod http_server;
pub mod instructions;
pub mod workloads;

pub use harness::{Contender, Harness, Run};
