//! Name resolution: `connect("localhost:PORT")` works, and resolving (which blocks in
//! `getaddrinfo`) happens on the blocking pool, so a slow resolution stops only the task that
//! asked while every other task goes on.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{LIMIT, read_exact, run};
use reactor::net::{TcpListener, TcpStream};
use reactor::time::interval;

/// The blocking pool is shared by the whole process: these tests use it one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Spawns a task that counts 10 ms ticks: proof that the loop keeps running.
fn spawn_ticker() -> Rc<Cell<u32>> {
    let ticks = Rc::new(Cell::new(0));
    let counter = ticks.clone();
    executor::spawn(async move {
        let mut every = interval(Duration::from_millis(10));
        loop {
            every.tick().await;
            counter.set(counter.get() + 1);
        }
    });
    ticks
}

/// Accepts one connection and answers "pong" to its "ping".
fn spawn_pong_server(listener: TcpListener) -> executor::JoinHandle<()> {
    executor::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let mut buf = [0u8; 4];
        read_exact(&stream, &mut buf).await.expect("server read");
        assert_eq!(&buf, b"ping");
        stream.write_all(b"pong").await.expect("server write");
    })
}

async fn ping(stream: &TcpStream) {
    stream.write_all(b"ping").await.expect("client write");
    let mut buf = [0u8; 4];
    read_exact(stream, &mut buf).await.expect("client read");
    assert_eq!(&buf, b"pong");
}

#[test]
fn connect_by_name_to_localhost_works() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    run(LIMIT, || async {
        for _ in 0..2 {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let server = spawn_pong_server(listener);
            let stream = TcpStream::connect(format!("localhost:{port}"))
                .await
                .expect("connect to localhost by name");
            assert_eq!(stream.peer_addr().unwrap().port(), port);
            assert!(stream.peer_addr().unwrap().ip().is_loopback());
            ping(&stream).await;
            server.await.unwrap();
        }
        // The (host, port) form resolves the same way, and binding by name works too.
        let listener = TcpListener::bind("localhost:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = spawn_pong_server(listener);
        let stream = TcpStream::connect(("localhost", port)).await.unwrap();
        ping(&stream).await;
        server.await.unwrap();
    });
}

#[test]
fn a_slow_blocking_job_does_not_stop_other_tasks() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    run(LIMIT, || async {
        let ticks = spawn_ticker();
        let loop_thread = std::thread::current().id();
        let start = Instant::now();
        let job_thread = reactor::blocking::unblock(|| {
            std::thread::sleep(Duration::from_millis(500));
            std::thread::current().id()
        })
        .expect("a helper thread")
        .await;
        assert!(start.elapsed() >= Duration::from_millis(500));
        assert_ne!(job_thread, loop_thread, "the job ran on the event loop");
        // About 50 ticks are due in 500 ms. Read right after the await, before this task lets
        // any other run, the count shows what happened while the job ran: a loop blocked by the
        // job would not have ticked at all.
        let during = ticks.get();
        assert!(during >= 10, "only {during} ticks while the job ran");
    });
}

#[test]
fn a_slow_name_resolution_does_not_stop_other_tasks() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    run(LIMIT, || async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = spawn_pong_server(listener);
        // Make resolution slow: occupy every thread of the blocking pool for 600 ms, so the
        // resolver's job waits in the queue behind them (as a slow DNS server would keep it).
        let hold = Duration::from_millis(600);
        let holders: Vec<_> = (0..reactor::blocking::MAX_THREADS)
            .map(|_| reactor::blocking::unblock(move || std::thread::sleep(hold)).unwrap())
            .collect();
        let ticks = spawn_ticker();
        let start = Instant::now();
        let stream = TcpStream::connect(format!("localhost:{port}"))
            .await
            .expect("connect by name");
        let waited = start.elapsed();
        let ticked = ticks.get();
        // Had the name been resolved on the loop thread, connect would not have waited for the
        // pool; had the wait blocked the loop, the ticker would not have ticked meanwhile.
        assert!(
            waited >= Duration::from_millis(400),
            "connect by name took only {waited:?}: it did not go through the blocking pool"
        );
        assert!(
            ticked >= 10,
            "only {ticked} ticks while the name was resolved"
        );
        ping(&stream).await;
        server.await.unwrap();
        for holder in holders {
            holder.await;
        }
    });
}
