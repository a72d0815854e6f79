//! Servers run as child processes (Python, Node.js, nginx): a free port to give them, and a wait
//! until they accept.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Child;
use std::time::{Duration, Instant};

/// How long a server may take to start accepting: interpreters start slowly on a loaded machine.
const STARTUP: Duration = Duration::from_secs(15);

/// An address on 127.0.0.1 that nothing listens on right now.
pub fn free_local_addr() -> SocketAddr {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Waits until `addr` accepts connections, failing the test if `child` (called `what`) exits
/// first or takes longer than [`STARTUP`]. `log` says where to look when it does.
pub fn wait_until_accepting(
    child: &mut Child,
    addr: SocketAddr,
    what: &str,
    log: &dyn Fn() -> String,
) {
    let started = Instant::now();
    while TcpStream::connect(addr).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "{what} exited before accepting connections: {status}\n{}",
                log()
            );
        }
        assert!(
            started.elapsed() < STARTUP,
            "{what} never accepted connections\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
