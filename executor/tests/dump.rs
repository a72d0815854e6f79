//! `executor::dump()`: every live task, its state, where it was spawned, and everything it waits
//! on, named as the reactor and the executor know it.

mod common;

use std::cell::RefCell;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Duration;

use executor::{Dump, TaskDump, TaskState, WaitingOn};
use reactor::net::{TcpListener, TcpStream};
use reactor::time::{sleep, timeout};

/// The line of task `id` in `dump`.
fn task(dump: &Dump, id: u64) -> &TaskDump {
    dump.tasks
        .iter()
        .find(|t| t.id == id)
        .unwrap_or_else(|| panic!("task {id} in the dump:\n{dump}"))
}

/// Lets every task run until it waits (a few turns of the loop).
async fn settle() {
    for _ in 0..5 {
        executor::yield_now().await;
    }
}

#[test]
fn a_read_with_a_timeout_waits_on_its_socket_and_its_timer() {
    common::run(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let fd = server.as_raw_fd();
        let (local, peer) = (server.local_addr().unwrap(), server.peer_addr().unwrap());
        let line = line!() + 1;
        let reader = executor::Builder::new().name("reader").spawn(async move {
            let mut buf = [0; 16];
            let _ = timeout(Duration::from_secs(60), server.read(&mut buf)).await;
        });
        settle().await;
        let dump = executor::dump();
        let text = dump.to_string();
        let t = task(&dump, reader.id());
        assert_eq!(t.state, TaskState::Idle, "{text}");
        assert_eq!(t.name.as_deref(), Some("reader"));
        assert_eq!(
            (t.spawned_at.file(), t.spawned_at.line()),
            (file!(), line),
            "{text}"
        );
        assert!(
            t.waiting_on.contains(&WaitingOn::Io {
                fd,
                direction: reactor::Direction::Readable,
                local: Some(local),
                peer: Some(peer),
            }),
            "{text}"
        );
        assert!(
            t.waiting_on
                .iter()
                .any(|w| matches!(w, WaitingOn::Timer { left } if *left > Duration::from_secs(50))),
            "{text}"
        );
        let expected = format!("waiting on fd {fd} readable ({local} -> {peer}), timer in ");
        assert!(text.contains(&expected), "{expected:?} in\n{text}");
        assert!(
            text.contains(&format!("spawned at {}:{line}", file!())),
            "{text}"
        );
        // The main future is task 0, running (it called `dump`).
        assert_eq!(task(&dump, 0).state, TaskState::Running, "{text}");
        reader.abort();
        drop(client);
    });
}

#[test]
fn a_task_awaiting_a_join_handle_waits_on_that_task() {
    let text = common::run(|| async {
        let slow = executor::spawn(sleep(Duration::from_secs(60)));
        let slow_id = slow.id();
        let waiter = executor::spawn(async move {
            let _ = slow.await;
        });
        let waiter_id = waiter.id();
        settle().await;
        let dump = executor::dump();
        let text = dump.to_string();
        assert_eq!(
            task(&dump, waiter_id).waiting_on,
            [WaitingOn::Task(slow_id)],
            "{text}"
        );
        assert!(
            text.contains(&format!("task {waiter_id}: idle for")),
            "{text}"
        );
        assert!(
            text.contains(&format!("waiting on task {slow_id}")),
            "{text}"
        );
        waiter.abort();
        text
    });
    println!("{text}");
}

#[test]
fn spawn_blocking_waits_on_a_blocking_job_and_a_channel_on_a_waker_held_outside_glass() {
    common::run(|| async {
        let gate = std::sync::Arc::new(std::sync::Barrier::new(2));
        let job_gate = gate.clone();
        let job = executor::spawn_blocking(move || {
            job_gate.wait();
        });
        let job_id = job.id();
        let (sender, receiver) = common::oneshot::<()>();
        let listener = executor::spawn(receiver);
        settle().await;
        let dump = executor::dump();
        let text = dump.to_string();
        let blocking = task(&dump, job_id);
        assert_eq!(blocking.name.as_deref(), Some("spawn_blocking"));
        assert_eq!(blocking.waiting_on, [WaitingOn::BlockingJob], "{text}");
        assert!(text.contains("waiting on blocking job"), "{text}");
        assert_eq!(
            task(&dump, listener.id()).waiting_on,
            [WaitingOn::Elsewhere],
            "{text}"
        );
        assert!(
            text.contains("waiting on a waker held outside glass"),
            "{text}"
        );
        gate.wait();
        job.await.unwrap();
        sender.send(());
        listener.await.unwrap();
    });
}

#[test]
fn states_and_their_durations() {
    common::run(|| async {
        let sleeper = executor::spawn(sleep(Duration::from_secs(60)));
        let dumps = Rc::new(RefCell::new(Vec::new()));
        settle().await;
        sleep(Duration::from_millis(50)).await;
        // A task woken and not yet polled is scheduled.
        let woken = executor::spawn(async {});
        dumps.borrow_mut().push(executor::dump());
        let dump = dumps.borrow()[0].clone();
        let text = dump.to_string();
        let idle = task(&dump, sleeper.id());
        assert_eq!(idle.state, TaskState::Idle, "{text}");
        assert!(idle.state_for >= Duration::from_millis(50), "{text}");
        assert!(idle.state_for < Duration::from_secs(50), "{text}");
        assert_eq!(task(&dump, woken.id()).state, TaskState::Scheduled);
        assert!(text.starts_with("glass: 3 tasks, "), "{text}");
        sleeper.abort();
    });
}
