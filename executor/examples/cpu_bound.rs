//! Rung 3 of the ladder: CPU-bound work in a task stops every other task; `spawn_blocking` does
//! not; IO-bound waiting never did.
//!
//! ```text
//! cargo run -p executor --example cpu_bound
//! ```
//!
//! A `ticker` task prints a tick every 100 ms. Beside it runs, in turn:
//! 1. a CPU-heavy "video export" (400 ms of arithmetic) inside a task: the ticker stops, and
//!    the executor's slow-poll warning names the task that held the thread;
//! 2. the same export in `executor::spawn_blocking`, on a helper thread: the ticker keeps ticking;
//! 3. an IO-bound "download" that waits 400 ms for a local server's reply: it keeps ticking too,
//!    because waiting on a socket is a `Pending`, not a busy thread.
//!
//! A small `tracing` subscriber prints the executor's warnings (target `glass::executor`, level
//! WARN) as they happen, on stdout between the example's own lines.

mod common;

use std::cell::RefCell;
use std::future::Future;
use std::io::Write;
use std::net::TcpListener as StdListener;
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use reactor::net::TcpStream;
use reactor::time::sleep;

const TICK: Duration = Duration::from_millis(100);
/// How long the export and the download take (wall time).
const WORK: Duration = Duration::from_millis(400);

/// The video export: encode frames (here, mix numbers) until `WORK` has passed, never yielding.
fn export_video() -> u64 {
    let started = Instant::now();
    let mut frames = 0u64;
    let mut checksum = 0u64;
    while started.elapsed() < WORK {
        for pixel in 0..10_000u64 {
            checksum = std::hint::black_box(checksum.rotate_left(5) ^ pixel.wrapping_mul(frames));
        }
        frames += 1;
    }
    println!(
        "   export: {frames} frames encoded in {} ms (checksum {checksum:x})",
        started.elapsed().as_millis()
    );
    frames
}

/// A download that only waits: a server thread replies after `WORK`.
async fn download() -> usize {
    let listener = StdListener::bind("127.0.0.1:0").expect("binding a local port");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    thread::spawn(move || {
        let (mut socket, _) = listener.accept().expect("the download connects");
        thread::sleep(WORK);
        socket
            .write_all(&[7; 64 * 1024])
            .expect("the download reads");
    });
    let stream = TcpStream::connect(addr).await.expect("connecting locally");
    let mut buf = vec![0; 16 * 1024];
    let mut total = 0;
    loop {
        match stream.read(&mut buf).await.expect("reading the reply") {
            0 => break,
            n => total += n,
        }
    }
    println!("   download: {total} bytes received");
    total
}

/// Runs `work` beside a ticker task and says how often the ticker ticked while `work` ran.
fn beside_ticker<F: Future>(what: &str, work: impl FnOnce() -> F) {
    executor::block_on(async {
        let start = Instant::now();
        let ticks = Rc::new(RefCell::new(Vec::new()));
        let ticker_ticks = ticks.clone();
        executor::Builder::new().name("ticker").spawn(async move {
            for n in 1.. {
                sleep(TICK).await;
                println!("   tick {n} at {:>4} ms", start.elapsed().as_millis());
                ticker_ticks.borrow_mut().push(start.elapsed());
            }
        });
        sleep(TICK * 2 + TICK / 2).await;
        let from = start.elapsed();
        println!("   starting {what} at {} ms", from.as_millis());
        work().await;
        let to = start.elapsed();
        println!("   {what} done at {} ms", to.as_millis());
        sleep(TICK * 2).await;
        let during = ticks
            .borrow()
            .iter()
            .filter(|&&t| t > from && t < to)
            .count();
        println!("   => the ticker ticked {during} times while {what} ran");
    });
    println!();
}

fn main() {
    common::print_events("glass::executor", tracing::Level::WARN);

    println!("1. The export in a task: it never reaches an .await, so nothing else can run.");
    beside_ticker("the export in a task", || {
        executor::Builder::new()
            .name("export video")
            .spawn(async { export_video() })
    });

    println!("2. The same export in spawn_blocking: a helper thread does it, the task awaits.");
    beside_ticker("the export in spawn_blocking", || {
        executor::spawn_blocking(export_video)
    });

    println!("3. An IO-bound download: the task waits on a socket (Pending) most of the time.");
    beside_ticker("the download", download);

    println!("What to notice:");
    println!("- One thread runs every task, and a task gives it back only at an .await that");
    println!("  returns Pending. The export had none: the ticker stopped, then caught up late,");
    println!("  and the executor warned, naming the task that held the thread.");
    println!("- spawn_blocking moved the export onto another thread; the ticker did not notice.");
    println!("- Waiting for the network costs the thread nothing: the download's task was");
    println!("  Pending, and the ticker ticked as usual. CPU-bound work needs a thread of its");
    println!("  own; IO-bound work only needs to wait well.");
}
