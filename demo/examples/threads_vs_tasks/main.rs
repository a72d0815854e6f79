//! N slow downloads at once, one OS thread each versus one glass task each: where "the overhead
//! of those threads would be a problem" (the Rust book's async chapter), and where it is not.
//!
//! ```text
//! cargo run --release -p demo --example threads_vs_tasks                 # N = 100, 1000, 10000
//! cargo run --release -p demo --example threads_vs_tasks -- --sizes 20,50
//! ```
//!
//! Every download fetches 16 KiB from a throttled local server that sends it in 8 slices over
//! about two seconds, so each connection stays open that long and a download spends nearly all
//! its time waiting. The two designs do the same HTTP (the tasks use `http_client`; the threads
//! use blocking `std::net` sockets and `http_client::proto`, the same response rules on plain
//! bytes, as the demo's `--threads` mode does) and differ only in how they wait: a thread asleep
//! in `read(2)` each, or tasks parked while one thread sleeps in `epoll_wait`.
//!
//! For each design and N it prints the wall time, the threads used (the most seen in
//! `/proc/self/status` while the downloads ran), the peak memory (`ru_maxrss`: resident memory,
//! not the 2 MiB of address space a thread's stack reserves, most of which is never touched), the
//! context switches (`ru_nvcsw + ru_nivcsw`, every thread of the process together), and whether
//! every download finished.
//!
//! # Implementation
//!
//! Three kinds of process, all this binary (started again with `GLASS_THREADS_VS_TASKS` set, as
//! the benches' `many_connections` does), so that one design's memory and switches are not mixed
//! with the other's or the server's: the **parent** prints the table; the **server** (a glass
//! accept loop, one task per connection) lives as long as the parent keeps its stdin open; each
//! **run** (one design, one N) is a child of its own whose resource usage the parent collects
//! with `wait4`. Fitted to the machine's limits: every process raises its soft `RLIMIT_NOFILE`
//! to the hard limit (a size needing more descriptors than that is skipped, saying so); the
//! server's listen backlog is glass's 1024 (capped by `somaxconn`, printed), so a burst of
//! connections beyond it waits for a SYN retry, in both designs alike; downloads have connect
//! and read timeouts, so a lost connection counts as a failure instead of hanging the run.
//!
//! # Reading order
//!
//! `main.rs` (this: the constants and which process is which), `parent.rs` (the table's process:
//! starts the server and each run), `run.rs` (one run: the two designs, side by side),
//! `server.rs` (the throttled server), `report.rs` (the table's rows and what to notice in them)
//! and `measure.rs` (what the kernel says about a process and the machine).

mod measure;
mod parent;
mod report;
mod run;
mod server;

use std::time::Duration;

/// Set in a child process to what it is: `server`, `threads` or `tasks`.
pub const ROLE: &str = "GLASS_THREADS_VS_TASKS";
/// The body of every download.
pub const BODY: usize = 16 * 1024;
/// It is sent in this many slices...
pub const SLICES: usize = 8;
/// ...the last one this long after the head: how long each connection stays open.
pub const HOLD: Duration = Duration::from_secs(2);
/// Generous: a connect beyond the backlog waits a SYN retry (1 s, then 3 s more).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Far more than the 250 ms between two slices.
pub const READ_TIMEOUT: Duration = Duration::from_secs(15);
/// How many bytes each blocking read asks for (`http_client` starts at 8 KiB too).
pub const READ_SIZE: usize = 8 * 1024;
/// How often a run looks at its thread count while the downloads are in flight.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// glass's listen backlog (`reactor/src/net/tcp.rs`), printed beside the kernel's cap.
pub const GLASS_BACKLOG: u64 = 1024;

fn main() {
    measure::raise_open_file_limit();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match std::env::var(ROLE).as_deref() {
        Ok("server") => server::run(),
        Ok(design) => run::run_design(design, &args),
        Err(_) => parent::run(&args),
    };
    if let Err(e) = result {
        eprintln!("threads_vs_tasks: {e}");
        std::process::exit(1);
    }
}
