//! An echo server on glass: every byte a client sends comes straight back.
//!
//! One thread runs everything: an accept loop, and a task per connection that reads and writes
//! the bytes back, all waiting in the same `epoll_wait` when there is nothing to do.
//!
//! Try it:
//!
//! ```text
//! cargo run -p reactor --example echo_server                # listens on 127.0.0.1:7878
//! cargo run -p reactor --example echo_server -- 0.0.0.0:9000  # or on any address you name
//!
//! nc 127.0.0.1 7878        # in another terminal (or several): type a line, get it back;
//!                          # Ctrl-D closes your side, Ctrl-C quits nc
//! ```
//!
//! The server logs each connection and disconnection on stderr. If `accept` fails (for example
//! with "too many open files" once every descriptor is in use) it logs the error and pauses
//! briefly before trying again, instead of retrying in a busy loop.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use reactor::net::{TcpListener, TcpStream};
use reactor::time::sleep;

const DEFAULT_ADDR: &str = "127.0.0.1:7878";

/// How long to pause after a failed `accept` before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_ADDR.to_owned());
    if let Err(e) = executor::block_on(serve(&addr)) {
        eprintln!("echo server: cannot listen on {addr}: {e}");
        std::process::exit(1);
    }
}

/// Listens on `addr` and serves until the process is stopped; returns only if it cannot listen.
async fn serve(addr: &str) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    eprintln!(
        "echo server listening on {} (try: nc {} {})",
        listener.local_addr()?,
        listener.local_addr()?.ip(),
        listener.local_addr()?.port()
    );
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                eprintln!("{peer}: connected");
                executor::spawn(echo(stream, peer));
            }
            Err(e) => {
                // The pending connection stays queued; retrying at once would fail the same way
                // and spin. Pause so that other connections can finish and free descriptors.
                eprintln!("accept failed: {e}; retrying in {ACCEPT_BACKOFF:?}");
                sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// Echoes one connection until the client closes its side.
async fn echo(stream: TcpStream, peer: SocketAddr) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut total = 0u64;
    let result: io::Result<()> = async {
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            stream.write_all(&buf[..n]).await?;
            total += n as u64;
        }
    }
    .await;
    match result {
        Ok(()) => eprintln!("{peer}: closed after echoing {total} bytes"),
        Err(e) => eprintln!("{peer}: error after echoing {total} bytes: {e}"),
    }
}
