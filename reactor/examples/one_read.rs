//! The smallest example that does real I/O: one `read` on a `TcpStream`, the `.await` that
//! `docs/TOUR.md` follows hop by hop and `docs/STEPPING.md` steps through in a debugger.
//!
//! ```text
//! cargo run -p reactor --example one_read              # the steps, in plain words
//! cargo run -p reactor --example one_read -- --trace   # the same, with glass's trace events
//! ```
//!
//! A listener and a client connect on 127.0.0.1 before anything waits (the kernel finishes the
//! handshake on its own), so `accept` succeeds at once. Then a plain thread writes five bytes
//! into the client's end after 100 ms, and the example's one task reads them: its first `read`
//! finds nothing (`WouldBlock`), so the task sleeps in the reactor until the bytes arrive.

#[path = "../../executor/examples/common/mod.rs"]
mod common;

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use reactor::net::TcpListener;

/// How long the writing thread waits before it writes.
const DELAY: Duration = Duration::from_millis(100);

fn main() {
    if std::env::args().any(|arg| arg == "--trace") {
        // Every event glass emits (targets `glass::executor` and `glass::reactor`), one a line.
        common::print_events("glass", tracing::Level::TRACE);
    }
    let start = Instant::now();
    let at = move || start.elapsed().as_millis();
    let read = executor::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let client = std::net::TcpStream::connect(listener.local_addr().expect("bound"))
            .expect("connect to our own listener");
        let (stream, _) = listener.accept().await.expect("accept");
        println!(
            "[{:>3} ms] connected; a thread will write in {DELAY:?}",
            at()
        );
        thread::spawn(move || {
            thread::sleep(DELAY);
            (&client).write_all(b"hello").expect("write");
            println!("[{:>3} ms] thread: wrote 5 bytes", at());
            // `client` is dropped here: the reader would see end-of-file next.
        });

        let mut buf = [0u8; 64];
        println!("[{:>3} ms] task: stream.read(&mut buf).await", at());
        // The `.await` the tour follows: `read` returns `Pending` once (nothing has arrived), the
        // thread sleeps in `epoll_wait`, the bytes arrive, and the second poll returns them.
        let n = stream.read(&mut buf).await.expect("read");
        println!(
            "[{:>3} ms] task: read returned {n} bytes: {:?}",
            at(),
            String::from_utf8_lossy(&buf[..n])
        );
        n
    });
    println!();
    println!("What to notice:");
    println!("- The read was asked for at once and answered about {DELAY:?} later: in between,");
    println!("  the task was Pending and the thread slept in epoll_wait (run with --trace).");
    println!("- The second poll found the {read} bytes because the reactor woke the task when");
    println!("  the kernel said the socket was readable: nothing was checked in a loop.");
}
