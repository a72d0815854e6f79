//! Open files: the runtime raises the soft `RLIMIT_NOFILE`, thousands of connections work on one
//! thread, connect/close cycles leak neither descriptors nor registrations, and running out of
//! descriptors in an accept loop is an error for the caller, not a hang or a busy loop.
//!
//! The tests that change the process's limits run in a child process (this test binary started
//! again with [`common::CHILD_ENV`] set and only that test selected). The others count the
//! process's open files, so the tests of this file run one at a time.

mod common;

use std::fs::File;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{
    CpuClock, LIMIT, child_done_marker, in_child, nofile_limit, open_fds, read_exact, run,
    run_in_child, set_soft_nofile_limit,
};
use reactor::net::{TcpListener, TcpStream};
use reactor::time::{sleep, timeout};

/// These tests count the open files of the whole process: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn creating_the_reactor_raises_the_soft_open_file_limit_to_the_hard_limit() {
    const NAME: &str = "creating_the_reactor_raises_the_soft_open_file_limit_to_the_hard_limit";
    if in_child() {
        // A fresh process: no reactor exists yet. Start from a low soft limit, as on a system
        // whose default is 1024.
        let (_, hard) = nofile_limit();
        let low = (hard / 2).clamp(64, 1024);
        assert!(
            low < hard,
            "the hard limit ({hard}) is too low to test raising"
        );
        set_soft_nofile_limit(low);
        assert_eq!(nofile_limit(), (low, hard));
        let _ = reactor::metrics(); // Creates this thread's reactor.
        assert_eq!(
            nofile_limit(),
            (hard, hard),
            "the soft limit was not raised"
        );
        println!("{}", child_done_marker(NAME));
        return;
    }
    let _serial = serial();
    run_in_child(NAME, LIMIT);
    // And in this process too, whose reactors already exist. On a thread of its own, joined
    // before the serial lock is released: this thread's reactor would otherwise close its two
    // descriptors (epoll, eventfd) when the test harness's thread exits, in the middle of the
    // next test's count of open files.
    std::thread::spawn(|| {
        let _ = reactor::metrics();
    })
    .join()
    .unwrap();
    let (soft, hard) = nofile_limit();
    assert_eq!(soft, hard);
}

#[test]
fn two_thousand_concurrent_connections_work_on_one_thread() {
    const N: usize = 2000;
    let _serial = serial();
    let (_, hard) = nofile_limit();
    assert!(
        hard >= 2 * N as libc::rlim_t + 200,
        "the hard open-file limit ({hard}) is too low for {N} connections"
    );
    run(LIMIT, || async {
        let _ = reactor::metrics();
        let (fds, registrations) = (open_fds(), reactor::metrics().registrations);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepter = executor::spawn(async move {
            let mut accepted = Vec::with_capacity(N);
            for _ in 0..N {
                accepted.push(listener.accept().await.expect("accept").0);
            }
            accepted // The listener is dropped here.
        });
        let connecting: Vec<_> = (0..N)
            .map(|_| executor::spawn(async move { TcpStream::connect(addr).await }))
            .collect();
        let mut clients = Vec::with_capacity(N);
        for connect in connecting {
            clients.push(connect.await.unwrap().expect("connect"));
        }
        let servers = accepter.await.unwrap();

        // All 4,000 ends are open at the same time, all registered with this thread's reactor.
        assert!(
            open_fds() >= fds + 2 * N,
            "{} open files, expected at least {}",
            open_fds(),
            fds + 2 * N
        );
        assert_eq!(
            reactor::metrics().registrations,
            registrations + 2 * N as u64
        );

        // And every one of them carries data: each server end echoes 4 bytes.
        for server in servers {
            executor::spawn(async move {
                let mut buf = [0u8; 4];
                read_exact(&server, &mut buf).await.expect("server read");
                server.write_all(&buf).await.expect("server write");
            });
        }
        let talking: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(i, client)| {
                executor::spawn(async move {
                    let sent = (i as u32).to_le_bytes();
                    client.write_all(&sent).await.expect("client write");
                    let mut back = [0u8; 4];
                    read_exact(&client, &mut back).await.expect("client read");
                    assert_eq!(back, sent);
                })
            })
            .collect();
        for task in talking {
            task.await.unwrap();
        }
        // Give the echo tasks their last turn (they finish right after their write).
        executor::yield_now().await;
        assert_eq!(reactor::metrics().registrations, registrations);
    });
}

#[test]
fn twenty_thousand_connect_close_cycles_leak_no_files_or_registrations() {
    const CYCLES: usize = 20_000;
    let _serial = serial();
    let (fds_leaked, registrations_leaked) = run(LIMIT, || async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cycle = || async {
            let client = TcpStream::connect(addr).await.expect("connect");
            let (server, _) = listener.accept().await.expect("accept");
            // The server end closes first, so the TIME_WAIT state stays on the listener's side
            // and the client's ephemeral ports are free for reuse at once.
            drop(server);
            drop(client);
        };
        cycle().await; // Anything created lazily on first use now exists.
        let (fds, registrations) = (open_fds(), reactor::metrics().registrations);
        for _ in 0..CYCLES {
            cycle().await;
        }
        (
            open_fds() as i64 - fds as i64,
            reactor::metrics().registrations as i64 - registrations as i64,
        )
    });
    assert_eq!(fds_leaked, 0, "open files grew over {CYCLES} cycles");
    assert_eq!(
        registrations_leaked, 0,
        "registrations grew over {CYCLES} cycles"
    );
}

/// The highest file descriptor number this process has open.
fn highest_fd() -> libc::rlim_t {
    std::fs::read_dir("/proc/self/fd")
        .expect("list /proc/self/fd")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .max()
        .expect("no open files at all?")
}

#[test]
fn accept_at_the_open_file_limit_returns_an_error_and_does_not_spin() {
    const NAME: &str = "accept_at_the_open_file_limit_returns_an_error_and_does_not_spin";
    if !in_child() {
        let _serial = serial();
        run_in_child(NAME, LIMIT);
        return;
    }
    // Shorter than the parent's guard, so a hang or a busy loop is reported by the child itself.
    run(Duration::from_secs(20), || async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // A connection that waits in the listener's backlog for the whole test.
        let client = TcpStream::connect(addr).await.expect("connect");

        // The reactor exists (it raised the limit when it was created); now lower the soft limit
        // to just above what is open, and use up every descriptor that is left.
        let mut clock = CpuClock::open(); // Opened now: there will be no descriptor left later.
        set_soft_nofile_limit(highest_fd() + 8);
        let mut filler = Vec::new();
        loop {
            match File::open("/dev/null") {
                Ok(file) => filler.push(file),
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
                    break;
                }
            }
        }
        assert!(!filler.is_empty());

        // A well-behaved accept loop: on error, pause, then try again.
        let cpu = clock.read();
        let waits = reactor::metrics().epoll_waits;
        let start = Instant::now();
        let mut errors = 0;
        while start.elapsed() < Duration::from_secs(1) {
            match timeout(Duration::from_secs(5), listener.accept()).await {
                Err(_) => panic!("accept at the open-file limit hung instead of failing"),
                Ok(Ok(_)) => panic!("accept succeeded with no file descriptor left"),
                Ok(Err(e)) => assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}"),
            }
            errors += 1;
            sleep(Duration::from_millis(50)).await;
        }
        let cpu = clock.read() - cpu;
        let waits = reactor::metrics().epoll_waits - waits;
        assert!(errors >= 5, "only {errors} accept attempts in a second");
        // Twenty-odd attempts a second cost next to nothing; a loop that retried on its own, or
        // that readiness kept waking, would burn the whole second.
        assert!(cpu < Duration::from_millis(300), "{cpu:?} of CPU in 1 s");
        assert!(waits < 500, "{waits} epoll_waits in 1 s");

        // With descriptors free again, the connection that waited in the backlog is accepted.
        filler.truncate(filler.len().saturating_sub(4));
        let (server, _) = timeout(Duration::from_secs(5), listener.accept())
            .await
            .expect("accept hung once descriptors were free")
            .expect("accept failed once descriptors were free");
        client.write_all(b"hi").await.unwrap();
        let mut buf = [0u8; 2];
        read_exact(&server, &mut buf).await.unwrap();
        assert_eq!(&buf, b"hi");
    });
    println!("{}", child_done_marker(NAME));
}
