//! The blocking pool with no worker (issue 9, item 6): when the pool has no thread and the system
//! refuses to start one, the caller gets an error instead of a job queued for nobody, which
//! would make it wait for ever.
//!
//! A real refusal is made in a child process: it lowers its own address-space limit
//! (`RLIMIT_AS`) to just above what it already uses, so the 2 MiB stack of a new thread cannot be
//! mapped and `std::thread::Builder::spawn` fails. (A tiny `RLIMIT_NPROC` would be the other way,
//! but root, as in CI, is exempt from it.) The parent kills a child that hangs.

mod common;

use std::time::Duration;

use common::{child_done_marker, in_child, run_in_child};

/// Lowers this process's address-space limit to what it maps now plus `margin` bytes.
fn limit_address_space(margin: u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let vm_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmSize in /proc/self/status");
    let limit = libc::rlimit {
        rlim_cur: vm_kib * 1024 + margin,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: `limit` is a valid, initialised `rlimit`; the call only reads it.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) }, 0);
}

#[test]
fn with_no_thread_to_be_had_spawn_blocking_and_name_resolution_fail_instead_of_hanging() {
    const NAME: &str =
        "with_no_thread_to_be_had_spawn_blocking_and_name_resolution_fail_instead_of_hanging";
    if !in_child() {
        run_in_child(NAME, Duration::from_secs(30));
        return;
    }
    // Everything this test needs later that could map memory is made before the limit.
    let marker = child_done_marker(NAME);
    let outcome = executor::block_on(async {
        executor::yield_now().await; // The reactor and the runtime exist now.
        limit_address_space(256 * 1024);
        let probe = std::thread::Builder::new().spawn(|| {});
        assert!(
            probe.is_err(),
            "the lowered limit must make thread creation fail for this test to mean anything"
        );

        let blocking = executor::spawn_blocking(|| 42).await;
        let resolving = reactor::net::TcpStream::connect("localhost:9").await;
        let unblocked = reactor::blocking::unblock(|| ()).err();
        (blocking, resolving.err(), unblocked)
    });
    let (blocking, resolving, unblocked) = outcome;
    let Err(executor::JoinError::ThreadUnavailable(e)) = blocking else {
        panic!("spawn_blocking: {blocking:?}");
    };
    assert!(
        e.to_string()
            .starts_with("could not start a thread for the blocking pool"),
        "{e}"
    );
    let resolving = resolving.expect("resolving a name needs the pool: it must fail");
    assert!(
        resolving.to_string().contains("could not start a thread"),
        "{resolving}"
    );
    assert!(unblocked.is_some(), "unblock returns the error itself");
    println!("{marker}");
}
