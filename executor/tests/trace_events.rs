//! The trace says why: every `wake` event carries its cause, every `poll` names its task and the
//! wake that caused it, and the reactor's events give descriptors and interests.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::thread;
use std::time::Duration;

use common::capture::{Captured, capture};
use common::{oneshot, run};
use executor::{Builder, spawn, yield_now};
use futures::AsyncReadExt;
use reactor::net::{TcpListener, TcpStream};
use reactor::time::sleep;

/// A program that wakes tasks in every way there is: I/O, a timer, another task, itself, another
/// thread, a spawn.
fn every_kind_of_wake() -> Vec<Captured> {
    let ((), events) = capture(|| {
        run(|| async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = Builder::new().name("server").spawn(async move {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 4];
                stream.read_exact(&mut buf).await.unwrap();
            });
            let client = Builder::new().name("client").spawn(async move {
                sleep(Duration::from_millis(5)).await;
                let stream = TcpStream::connect(addr).await.unwrap();
                stream.write_all(b"ping").await.unwrap();
            });
            let (tx, rx) = oneshot::<()>();
            let receiver = Builder::new()
                .name("receiver")
                .spawn(async { rx.await.unwrap() });
            let sender = spawn(async move {
                yield_now().await;
                tx.send(());
            });
            let (ttx, trx) = oneshot::<()>();
            let from_thread = Builder::new()
                .name("from-thread")
                .spawn(async { trx.await.unwrap() });
            let thread = thread::Builder::new()
                .name("feeder".into())
                .spawn(move || {
                    thread::sleep(Duration::from_millis(5));
                    ttx.send(());
                })
                .unwrap();
            for task in [server, client, receiver, sender, from_thread] {
                task.await.unwrap();
            }
            thread.join().unwrap();
        })
    });
    events
}

#[test]
fn every_wake_event_has_a_cause_and_each_cause_its_details() {
    let events = every_kind_of_wake();
    let wakes: Vec<_> = events
        .iter()
        .filter(|e| e.is("glass::executor", "wake"))
        .collect();
    assert!(!wakes.is_empty());
    let mut causes = BTreeSet::new();
    for wake in &wakes {
        let cause = wake
            .field("cause")
            .unwrap_or_else(|| panic!("no cause: {wake:?}"));
        causes.insert(cause.to_owned());
        assert!(
            wake.field("task").is_some() && wake.field("wake_id").is_some(),
            "{wake:?}"
        );
        match cause {
            "io" => {
                assert!(wake.field("fd").is_some(), "{wake:?}");
                assert!(
                    matches!(wake.field("direction"), Some("readable" | "writable")),
                    "{wake:?}"
                );
            }
            "task" => assert!(wake.field("by").is_some(), "{wake:?}"),
            "thread" => assert_eq!(wake.field("thread"), Some("feeder"), "{wake:?}"),
            "timer" | "self" | "spawn" => {}
            other => panic!("cause {other:?} is not one of the documented ones: {wake:?}"),
        }
        if cause != "thread" {
            assert!(wake.field("queued").is_some(), "{wake:?}");
        }
    }
    let expected: BTreeSet<String> = ["io", "timer", "task", "self", "thread", "spawn"]
        .map(String::from)
        .into();
    assert_eq!(causes, expected);
}

#[test]
fn each_poll_names_its_task_and_the_wake_that_caused_it() {
    let events = every_kind_of_wake();
    // wake_id → the task it woke, in the order the events came.
    let mut woke: HashMap<String, String> = HashMap::new();
    let mut polls = 0;
    for event in &events {
        if event.is("glass::executor", "wake") {
            let id = event.field("wake_id").unwrap().to_owned();
            let task = event.field("task").unwrap().to_owned();
            assert!(
                woke.insert(id, task).is_none(),
                "wake ids are unique: {event:?}"
            );
        } else if event.is("glass::executor", "poll") {
            polls += 1;
            let task = event.field("task").expect("poll names its task");
            let by = event
                .field("woken_by")
                .unwrap_or_else(|| panic!("{event:?}"));
            assert_eq!(
                woke.get(by).map(String::as_str),
                Some(task),
                "the wake a poll names came before it and was for the same task: {event:?}"
            );
            assert!(event.field("took").is_some() && event.field("ready").is_some());
            assert!(event.field("queued").is_some());
        }
    }
    assert!(polls >= 10, "{polls} polls");
    let named = events
        .iter()
        .find(|e| e.is("glass::executor", "poll") && e.field("name") == Some("server"));
    assert!(named.is_some(), "a named task's polls carry its name");
}

#[test]
fn the_reactor_names_descriptors_and_interests() {
    let events = every_kind_of_wake();
    for kind in ["register", "deregister"] {
        let found: Vec<_> = events
            .iter()
            .filter(|e| e.is("glass::reactor", kind))
            .collect();
        assert!(!found.is_empty(), "no {kind} event");
        for event in found {
            let fd: i32 = event.field("fd").unwrap().parse().unwrap();
            assert!(fd >= 0);
            assert!(event.field("interest").is_some(), "{event:?}");
        }
    }
    let epoll = events
        .iter()
        .find(|e| e.is("glass::reactor", "epoll_wait"))
        .expect("an epoll_wait event");
    for field in ["timeout", "events", "asleep"] {
        assert!(epoll.field(field).is_some(), "{epoll:?}");
    }
}
