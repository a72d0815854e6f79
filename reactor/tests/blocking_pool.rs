//! The blocking pool with no worker: when the pool has no thread and the system
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

/// How many of this process's threads are the blocking pool's (named `glass-blocking`).
fn pool_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("list /proc/self/task")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == "glass-blocking")
        .count()
}

/// Once more jobs are queued than the pool has threads, the count of idle threads must not drift
/// above the truth: when the threads retire, the next job would be "claimed" by a thread that no
/// longer exists and never run (nor would name resolution after it).
///
/// The wait for the threads to retire is the real `KEEP_ALIVE` (about 10 s): the test watches the
/// pool's threads go rather than sleeping a guessed time, and gives up well after they should have.
#[test]
fn after_a_saturated_pool_has_retired_its_threads_a_new_job_still_runs() {
    let ran = common::run(common::LIMIT, || async {
        // One job more than the pool has threads: the last one waits in the queue, unclaimed.
        let jobs: Vec<_> = (0..reactor::blocking::MAX_THREADS + 1)
            .map(|_| {
                reactor::blocking::unblock(|| std::thread::sleep(Duration::from_millis(200)))
                    .unwrap()
            })
            .collect();
        for job in jobs {
            job.await;
        }
        let retire_by = std::time::Instant::now() + reactor::blocking::KEEP_ALIVE * 3;
        while pool_threads() > 0 {
            assert!(
                std::time::Instant::now() < retire_by,
                "{} pool threads still alive long after KEEP_ALIVE",
                pool_threads()
            );
            reactor::time::sleep(Duration::from_millis(100)).await;
        }
        let job = reactor::blocking::unblock(|| 7).expect("a thread for the job");
        reactor::time::timeout(Duration::from_secs(10), job).await
    });
    assert_eq!(
        ran.ok(),
        Some(7),
        "the job queued after the pool retired never ran"
    );
}
