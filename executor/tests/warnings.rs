//! The two warnings for the classic mistakes, a slow poll and a lost waker: each fires for the
//! faulty case, names the task and says what to do, and never fires for the ordinary cases
//! (sleeps, sockets, a channel fed from another thread, a `JoinHandle`, a waker held through a
//! wrapper such as `futures::future::select`).

mod common;

use std::cell::RefCell;
use std::future::poll_fn;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Poll, Waker};
use std::thread;
use std::time::Duration;

use common::capture::{Captured, capture, executor_warnings, so_far};
use common::{hog, oneshot, run, under_valgrind};
use executor::{Builder, spawn, spawn_blocking, yield_now};
use futures::StreamExt;
use futures::future::{Either, select};
use reactor::io::{AsyncFd, Interest};
use reactor::net::{TcpListener, TcpStream};
use reactor::time::{sleep, timeout};

/// The warnings about spawned tasks. (`block_on`'s own future, task 0, only awaits here; on a
/// loaded machine a preemption in one of its polls could still look slow.)
fn task_warnings(events: &[Captured]) -> Vec<&Captured> {
    executor_warnings(events)
        .into_iter()
        .filter(|w| w.field("task") != Some("0"))
        .collect()
}

fn messages(warnings: &[&Captured]) -> Vec<String> {
    warnings.iter().map(|w| w.message.clone()).collect()
}

#[test]
fn a_slow_poll_is_reported_with_the_task_name_and_what_to_do() {
    let ((), events) = capture(|| {
        run(|| async {
            let task = Builder::new().name("hash file-1MiB.bin").spawn(async {
                hog(Duration::from_millis(60));
            });
            task.await.unwrap();
        })
    });
    let warnings = task_warnings(&events);
    assert_eq!(warnings.len(), 1, "{:?}", messages(&warnings));
    let message = &warnings[0].message;
    assert!(
        message.starts_with("task `hash file-1MiB.bin` held the thread for "),
        "{message}"
    );
    assert!(
        message.ends_with(
            " ms in one poll; nothing else ran meanwhile. Move blocking or CPU-heavy work into \
             `spawn_blocking`."
        ),
        "{message}"
    );
    let millis: u64 = message
        .trim_start_matches("task `hash file-1MiB.bin` held the thread for ")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a number of milliseconds");
    assert!(millis >= 60, "{message}");
    assert_eq!(warnings[0].field("name"), Some("hash file-1MiB.bin"));
}

#[test]
fn an_unnamed_slow_task_is_named_by_its_id_and_the_threshold_can_be_raised() {
    let (id, events) = capture(|| {
        run(|| async {
            let task = spawn(async { hog(Duration::from_millis(40)) });
            let id = task.id();
            task.await.unwrap();
            executor::set_slow_poll_threshold(Duration::from_secs(3600));
            spawn(async { hog(Duration::from_millis(40)) })
                .await
                .unwrap();
            executor::set_slow_poll_threshold(executor::DEFAULT_SLOW_POLL_THRESHOLD);
            id
        })
    });
    let warnings = task_warnings(&events);
    assert_eq!(warnings.len(), 1, "{:?}", messages(&warnings));
    assert!(
        warnings[0]
            .message
            .starts_with(&format!("task #{id} held the thread for ")),
        "{}",
        warnings[0].message
    );
}

/// The lost-waker warnings among `events`.
fn lost(events: &[Captured]) -> Vec<String> {
    messages(&executor_warnings(events))
        .into_iter()
        .filter(|m| m.contains("nothing can ever wake it"))
        .collect()
}

#[test]
fn a_task_that_returns_pending_without_keeping_its_waker_is_reported() {
    let ((), events) = capture(|| {
        run(|| async {
            let forgetful = Builder::new()
                .name("forgetful")
                .spawn(poll_fn(|_| Poll::<()>::Pending));
            yield_now().await;
            yield_now().await;
            forgetful.abort();
        })
    });
    let lost = lost(&events);
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert!(
        lost[0].starts_with("task `forgetful` returned `Pending` but kept no clone of its waker"),
        "{}",
        lost[0]
    );
    assert!(
        lost[0].contains("must store `cx.waker().clone()`"),
        "{}",
        lost[0]
    );
}

#[test]
fn dropping_the_last_stored_waker_without_waking_is_reported() {
    let ((), events) = capture(|| {
        run(|| async {
            let slot: Rc<RefCell<Option<Waker>>> = Rc::default();
            let stored = slot.clone();
            let task = Builder::new()
                .name("dropped-on-this-thread")
                .spawn(poll_fn(move |cx| {
                    *stored.borrow_mut() = Some(cx.waker().clone());
                    Poll::<()>::Pending
                }));
            yield_now().await;
            // Stored: nothing to report yet. The warning must come from the drop below.
            assert!(lost(&so_far()).is_empty(), "{:?}", lost(&so_far()));
            drop(slot.borrow_mut().take()); // The mistake: dropped, never woken.
            task.abort();
        })
    });
    let lost = lost(&events);
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert!(
        lost[0].starts_with(
            "task `dropped-on-this-thread` is waiting, and the last clone of its waker was just \
             dropped without waking it"
        ),
        "{}",
        lost[0]
    );
}

#[test]
fn a_waker_dropped_on_another_thread_without_waking_is_reported() {
    let ((), events) = capture(|| {
        run(|| async {
            let (tx, rx) = std::sync::mpsc::channel::<Waker>();
            let task = Builder::new()
                .name("dropped-elsewhere")
                .spawn(poll_fn(move |cx| {
                    tx.send(cx.waker().clone()).unwrap();
                    Poll::<()>::Pending
                }));
            yield_now().await;
            let thread = thread::spawn(move || drop(rx.recv().unwrap()));
            thread.join().unwrap();
            // The check is answered on this thread, after the channel is read: let the loop turn.
            sleep(Duration::from_millis(10)).await;
            task.abort();
        })
    });
    let lost = lost(&events);
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert!(
        lost[0].starts_with("task `dropped-elsewhere` is waiting"),
        "{}",
        lost[0]
    );
}

/// A drop that read the count of clones before its own decrement would let two threads dropping
/// the last two stored clones at the same moment both see one more left, and neither ask the
/// executor to check: the task would be lost without a warning. Each trial loses
/// a task that way; every one must be reported. (The race needs many trials to show: 347 of 2000
/// went unreported before the fix, on a 2-core machine. Valgrind runs one thread at a time and
/// cannot show it; there, 20 trials check the memory.)
#[test]
fn the_last_two_clones_dropped_at_once_on_two_threads_are_reported() {
    let trials = if under_valgrind() { 20 } else { 2000 };
    let ((), events) = capture(move || {
        run(move || async move {
            for i in 0..trials {
                let (tx, rx) = std::sync::mpsc::channel::<Waker>();
                let task = Builder::new()
                    .name(format!("t{i}"))
                    .spawn(poll_fn(move |cx| {
                        tx.send(cx.waker().clone()).unwrap();
                        tx.send(cx.waker().clone()).unwrap();
                        Poll::<()>::Pending
                    }));
                yield_now().await;
                // Both threads drop their clone as soon as both have started.
                let started = Arc::new(AtomicUsize::new(0));
                let drop_when_both_started = |waker: Waker| {
                    let started = started.clone();
                    thread::spawn(move || {
                        started.fetch_add(1, Ordering::SeqCst);
                        while started.load(Ordering::SeqCst) < 2 {
                            std::hint::spin_loop();
                        }
                        drop(waker)
                    })
                };
                let a = drop_when_both_started(rx.recv().unwrap());
                let b = drop_when_both_started(rx.recv().unwrap());
                a.join().unwrap();
                b.join().unwrap();
                // The check is answered on this thread, after the channel is read.
                sleep(Duration::from_millis(1)).await;
                task.abort();
                yield_now().await;
            }
        })
    });
    let reported = lost(&events).len();
    assert_eq!(
        reported,
        trials,
        "{} of {trials} lost tasks went unreported",
        trials - reported
    );
}

#[test]
fn no_warning_for_sleeps_sockets_channels_join_handles_select_and_the_blocking_pool() {
    // Nothing here computes, so no poll is slow; but on a loaded machine (or under valgrind) a
    // thread can be preempted for tens of milliseconds in the middle of an ordinary poll, and the
    // wall clock would call that slow. The threshold is raised for this test: what it checks is
    // that the lost-waker warning has no false alarms, and that no poll here is anywhere near
    // slow.
    executor::set_slow_poll_threshold(if under_valgrind() {
        Duration::from_secs(10)
    } else {
        Duration::from_secs(1)
    });
    let ((), events) = capture(|| {
        run(|| async {
            let mut tasks = Vec::new();
            tasks.push(Builder::new().name("sleeper").spawn(async {
                sleep(Duration::from_millis(20)).await;
            }));

            // A socket: a server task waits on accept, then on read; a client writes later.
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tasks.push(Builder::new().name("server").spawn(async move {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 5];
                futures::AsyncReadExt::read_exact(&mut stream, &mut buf)
                    .await
                    .unwrap();
                assert_eq!(&buf, b"hello");
            }));
            tasks.push(Builder::new().name("client").spawn(async move {
                sleep(Duration::from_millis(10)).await;
                let mut stream = TcpStream::connect(addr).await.unwrap();
                futures::AsyncWriteExt::write_all(&mut stream, b"hello")
                    .await
                    .unwrap();
            }));

            // A socket pair through AsyncFd, written from another thread after a while.
            let (reader, mut writer) = UnixStream::pair().unwrap();
            reader.set_nonblocking(true).unwrap();
            tasks.push(Builder::new().name("pipe").spawn(async move {
                let fd = AsyncFd::with_interest(reader, Interest::READABLE).unwrap();
                let mut buf = [0u8; 1];
                let n = fd
                    .async_io(Interest::READABLE, |r| (&mut &*r).read(&mut buf))
                    .await
                    .unwrap();
                assert_eq!(n, 1);
            }));
            let pipe_thread = thread::spawn(move || {
                thread::sleep(Duration::from_millis(20));
                writer.write_all(b"x").unwrap();
            });

            // A channel fed from another thread, with pauses, then closed there.
            let (tx, mut rx) = futures::channel::mpsc::unbounded::<u32>();
            let feeder = thread::spawn(move || {
                for i in 0..5 {
                    thread::sleep(Duration::from_millis(5));
                    tx.unbounded_send(i).unwrap();
                }
            });
            tasks.push(Builder::new().name("channel").spawn(async move {
                let mut sum = 0;
                while let Some(i) = rx.next().await {
                    sum += i;
                }
                assert_eq!(sum, 10);
            }));

            // A JoinHandle awaited by another task.
            let inner = spawn(async { sleep(Duration::from_millis(15)).await });
            tasks.push(Builder::new().name("joiner").spawn(async move {
                inner.await.unwrap();
            }));

            // A waker held through `select`: the sleep loses and is dropped after the oneshot
            // (sent from another thread) wins; then a timeout that fires.
            let (otx, orx) = oneshot::<u8>();
            let sender = thread::spawn(move || {
                thread::sleep(Duration::from_millis(10));
                otx.send(7);
            });
            tasks.push(Builder::new().name("select").spawn(async move {
                let long = Box::pin(sleep(Duration::from_secs(30)));
                match select(long, orx).await {
                    Either::Right((Some(7), _)) => {}
                    _ => panic!("the oneshot wins"),
                }
                let never = std::future::pending::<()>();
                assert!(timeout(Duration::from_millis(5), never).await.is_err());
            }));

            tasks.push(Builder::new().name("blocking").spawn(async {
                assert_eq!(spawn_blocking(|| 6 * 7).await.unwrap(), 42);
            }));
            tasks.push(Builder::new().name("yielder").spawn(async {
                for _ in 0..100 {
                    yield_now().await;
                }
            }));

            for task in tasks {
                task.await.unwrap();
            }
            for thread in [pipe_thread, feeder, sender] {
                thread.join().unwrap();
            }
        })
    });
    executor::set_slow_poll_threshold(executor::DEFAULT_SLOW_POLL_THRESHOLD);
    let warnings = executor_warnings(&events);
    assert!(
        warnings.is_empty(),
        "false alarms: {:?}",
        messages(&warnings)
    );
    // The run did go through the paths the warnings watch.
    assert!(events.iter().any(|e| e.is("glass::executor", "poll")));
}
