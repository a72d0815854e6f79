//! trpl's API used the way the Rust book's async chapter uses it (in this project's own words, not
//! the book's listings), with the output order the book says is deterministic checked exactly.

use std::cell::RefCell;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use trpl::{Either, StreamExt};

/// A log the futures of one test write to instead of stdout.
#[derive(Clone, Default)]
struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    fn say(&self, line: impl Into<String>) {
        self.0.borrow_mut().push(line.into());
    }

    fn lines(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
}

fn strings(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|s| s.to_string()).collect()
}

#[test]
fn join_alternates_two_loops_in_the_same_order_every_run() {
    let log = Log::default();
    trpl::block_on(async {
        let counting = async {
            for i in 1..=3 {
                log.say(format!("count {i}"));
                trpl::sleep(Duration::from_millis(5)).await;
            }
        };
        let lettering = async {
            for c in ['a', 'b'] {
                log.say(format!("letter {c}"));
                trpl::sleep(Duration::from_millis(5)).await;
            }
        };
        trpl::join(counting, lettering).await;
    });
    // join polls its futures in order, each time it is woken: the first, then the second.
    let expected = ["count 1", "letter a", "count 2", "letter b", "count 3"];
    assert_eq!(log.lines(), strings(&expected));
}

#[test]
fn a_spawned_task_is_dropped_unfinished_when_block_on_returns() {
    struct Dropped(Rc<RefCell<bool>>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            *self.0.borrow_mut() = true;
        }
    }
    let log = Log::default();
    let dropped = Rc::new(RefCell::new(false));
    let (main_log, spawned_log) = (log.clone(), log.clone());
    let guard = Dropped(dropped.clone());
    trpl::block_on(async move {
        trpl::spawn_task(async move {
            let _guard = guard;
            for i in 1.. {
                spawned_log.say(format!("spawned {i}"));
                trpl::sleep(Duration::from_millis(5)).await;
            }
        });
        for i in 1..=2 {
            main_log.say(format!("main {i}"));
            trpl::sleep(Duration::from_millis(5)).await;
        }
    });
    assert!(*dropped.borrow(), "the pending task's future was dropped");
    // One thread: the spawned task runs only while main waits, and main returns as soon as its
    // second sleep ends (its timer was armed first, so it fires first).
    assert_eq!(
        log.lines(),
        strings(&["main 1", "spawned 1", "main 2", "spawned 2"])
    );
}

#[test]
fn awaiting_a_join_handle_waits_for_the_task_and_gives_a_result() {
    let log = Log::default();
    let spawned_log = log.clone();
    let result = trpl::block_on(async move {
        let handle = trpl::spawn_task(async move {
            for i in 1..=3 {
                spawned_log.say(format!("spawned {i}"));
                trpl::sleep(Duration::from_millis(2)).await;
            }
            "done"
        });
        log.say("main");
        handle.await
    });
    assert_eq!(result.unwrap(), "done");
}

#[test]
fn a_panicking_task_reports_through_its_handle() {
    let result = trpl::block_on(async { trpl::spawn_task(async { panic!("on purpose") }).await });
    assert!(result.is_err());
}

#[test]
fn messages_arrive_in_send_order_and_recv_ends_when_the_senders_are_gone() {
    let received = trpl::block_on(async {
        let (tx, mut rx) = trpl::channel();
        let tx2 = tx.clone();
        let slow = async move {
            for word in ["one", "two", "three"] {
                tx.send(word.to_string()).unwrap();
                trpl::sleep(Duration::from_millis(4)).await;
            }
        };
        let fast = async move {
            for word in ["uno", "dos", "tres"] {
                tx2.send(word.to_string()).unwrap();
                trpl::sleep(Duration::from_millis(10)).await;
            }
        };
        let receive = async {
            let mut all = Vec::new();
            while let Some(word) = rx.recv().await {
                all.push(word);
            }
            all
        };
        // `async move` blocks own their senders: they are dropped as each finishes, so `recv`
        // returns `None` after the last message and the join completes.
        let ((), (), all) = trpl::join!(slow, fast, receive);
        all
    });
    assert_eq!(received.len(), 6);
    let position = |w: &str| received.iter().position(|r| r == w).unwrap();
    assert!(position("one") < position("two") && position("two") < position("three"));
    assert!(position("uno") < position("dos") && position("dos") < position("tres"));
    assert_eq!(&received[..2], ["one", "uno"]);
}

#[test]
fn send_fails_once_the_receiver_is_gone_and_says_so() {
    let (tx, rx) = trpl::channel::<u32>();
    assert!(!tx.is_closed());
    drop(rx);
    let error = tx.send(7).unwrap_err();
    assert_eq!(error.0, 7, "the message comes back");
    assert_eq!(error.to_string(), "channel closed");
    assert_eq!(format!("{error:?}"), "SendError { .. }");
    assert!(tx.is_closed());
}

#[test]
fn try_recv_tells_empty_from_disconnected() {
    let (tx, mut rx) = trpl::channel();
    assert_eq!(rx.try_recv(), Err(trpl::TryRecvError::Empty));
    tx.send(1).unwrap();
    assert_eq!((rx.len(), rx.try_recv()), (1, Ok(1)));
    drop(tx);
    assert_eq!(rx.try_recv(), Err(trpl::TryRecvError::Disconnected));
}

#[test]
fn select_returns_the_first_and_drops_the_loser_mid_wait() {
    struct Cancelled(Rc<RefCell<bool>>);
    impl Drop for Cancelled {
        fn drop(&mut self) {
            *self.0.borrow_mut() = true;
        }
    }
    let cancelled = Rc::new(RefCell::new(false));
    let loser_ran_on = Rc::new(RefCell::new(false));
    let guard = Cancelled(cancelled.clone());
    let ran_on = loser_ran_on.clone();
    let started = Instant::now();
    let winner = trpl::block_on(async move {
        let slow = async move {
            let _guard = guard;
            trpl::sleep(Duration::from_secs(30)).await;
            *ran_on.borrow_mut() = true;
        };
        let fast = async {
            trpl::sleep(Duration::from_millis(5)).await;
            "fast"
        };
        trpl::select(slow, fast).await
    });
    assert!(matches!(winner, Either::Right("fast")));
    assert!(*cancelled.borrow(), "the loser was dropped");
    assert!(!*loser_ran_on.borrow(), "and ran no more code");
    assert!(started.elapsed() < Duration::from_secs(30));
    // `race` is the same function under its older name.
    let raced = trpl::block_on(trpl::race(async { 1 }, std::future::pending::<()>()));
    assert!(matches!(raced, Either::Left(1)));
}

/// The book's point about `thread::sleep` in an async block: nothing else runs until the block
/// reaches an `.await` that is `Pending`; with `yield_now` between the slow steps, the two blocks
/// take turns.
#[test]
fn blocking_steps_take_turns_only_at_yields() {
    fn step(log: &Log, name: &str, ms: u64) {
        thread::sleep(Duration::from_millis(ms));
        log.say(format!("{name} {ms}"));
    }
    let without = Log::default();
    trpl::block_on(async {
        let a = async {
            step(&without, "a", 3);
            step(&without, "a", 1);
            trpl::sleep(Duration::from_millis(5)).await;
        };
        let b = async {
            step(&without, "b", 2);
            step(&without, "b", 1);
            trpl::sleep(Duration::from_millis(5)).await;
        };
        trpl::select(a, b).await;
    });
    assert_eq!(without.lines(), strings(&["a 3", "a 1", "b 2", "b 1"]));

    let with = Log::default();
    trpl::block_on(async {
        let a = async {
            step(&with, "a", 3);
            trpl::yield_now().await;
            step(&with, "a", 1);
            trpl::yield_now().await;
        };
        let b = async {
            step(&with, "b", 2);
            trpl::yield_now().await;
            step(&with, "b", 1);
            trpl::yield_now().await;
            step(&with, "b", 1);
        };
        trpl::select(a, b).await;
    });
    assert_eq!(with.lines(), strings(&["a 3", "b 2", "a 1", "b 1"]));
}

#[test]
fn join_all_takes_boxed_and_pinned_futures_of_one_type() {
    let log = Log::default();
    let outputs = trpl::block_on(async {
        let first = pin!(async {
            log.say("first");
            1
        });
        let second = pin!(async {
            trpl::yield_now().await;
            log.say("second");
            2
        });
        let pinned: Vec<Pin<&mut dyn Future<Output = i32>>> = vec![first, second];
        let from_pinned = trpl::join_all(pinned).await;
        let boxed: Vec<Pin<Box<dyn Future<Output = i32>>>> =
            vec![Box::pin(async { 3 }), Box::pin(async { 4 })];
        (from_pinned, trpl::join_all(boxed).await)
    });
    assert_eq!(outputs, (vec![1, 2], vec![3, 4]));
    assert_eq!(log.lines(), strings(&["first", "second"]));
    let three = trpl::block_on(trpl::join3(async { 'x' }, async { 2 }, async { "z" }));
    assert_eq!(three, ('x', 2, "z"));
}

#[test]
fn a_timeout_built_from_select_and_sleep_gives_up_on_the_slow_future() {
    async fn within<F: Future>(future: F, limit: Duration) -> Result<F::Output, Duration> {
        match trpl::select(future, trpl::sleep(limit)).await {
            Either::Left(output) => Ok(output),
            Either::Right(()) => Err(limit),
        }
    }
    let started = Instant::now();
    let (slow, quick) = trpl::block_on(async {
        let slow = within(
            trpl::sleep(Duration::from_secs(30)),
            Duration::from_millis(20),
        )
        .await;
        let quick = within(async { "quick" }, Duration::from_secs(30)).await;
        (slow, quick)
    });
    assert_eq!(slow, Err(Duration::from_millis(20)));
    assert_eq!(quick, Ok("quick"));
    assert!(
        started.elapsed() >= Duration::from_millis(20),
        "never early"
    );
}

#[test]
fn runtime_new_block_on_and_run_are_block_on() {
    let runtime = trpl::Runtime::new().unwrap();
    assert_eq!(runtime.block_on(async { 1 }), 1);
    assert_eq!(trpl::run(async { 2 }), 2);
}

#[test]
fn read_to_string_reads_on_the_blocking_pool() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let text = trpl::block_on(trpl::read_to_string(path)).unwrap();
    assert_eq!(text, std::fs::read_to_string(path).unwrap());
    let missing = trpl::block_on(trpl::read_to_string("/nonexistent/trpl-test"));
    assert_eq!(missing.unwrap_err().kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn html_select_first_finds_the_first_match_or_none() {
    let page = trpl::Html::parse(
        "<html><head><title>Glass &amp; trpl</title></head>\
         <body><p class=x>one</p><p class=x>two</p></body></html>",
    );
    let title = page.select_first("title").map(|t| t.inner_html());
    assert_eq!(title.as_deref(), Some("Glass &amp; trpl"));
    let first = page.select_first("p.x").map(|p| p.inner_html());
    assert_eq!(first.as_deref(), Some("one"));
    assert!(page.select_first("h1").is_none());
}

#[test]
fn stream_from_iter_with_stream_ext_gives_every_item_in_order() {
    let doubled: Vec<i32> = trpl::block_on(async {
        let mut stream = trpl::stream_from_iter([1, 2, 3].iter().map(|n| n * 2));
        let mut all = Vec::new();
        while let Some(n) = stream.next().await {
            all.push(n);
        }
        all
    });
    assert_eq!(doubled, [2, 4, 6]);
    let filtered: Vec<u32> = trpl::block_on(
        trpl::stream_from_iter(1..=30)
            .filter(|n| n % 3 == 0 || n % 5 == 0)
            .collect(),
    );
    assert_eq!(
        filtered,
        [3, 5, 6, 9, 10, 12, 15, 18, 20, 21, 24, 25, 27, 30]
    );
}

#[test]
fn sleep_counts_in_whole_milliseconds_so_even_a_nanosecond_hands_the_thread_over() {
    let log = Log::default();
    let started = Instant::now();
    trpl::block_on(async {
        let sleeper = async {
            trpl::sleep(Duration::from_nanos(1)).await;
            log.say("slept");
        };
        let other = async {
            log.say("other ran");
        };
        trpl::join(sleeper, other).await;
    });
    assert_eq!(log.lines(), strings(&["other ran", "slept"]));
    assert!(started.elapsed() >= Duration::from_millis(1));
}
