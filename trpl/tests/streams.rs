//! `StreamExt` with timers, as tokio-stream defines them: `timeout`, `throttle`, `merge`,
//! `chunks_timeout`, `timeout_repeating`, and `IntervalStream`. Durations are checked only from
//! below (a timer never fires early); nothing here depends on how fast the machine is.

use std::pin::pin;
use std::time::{Duration, Instant};

use trpl::{IntervalStream, ReceiverStream, Stream, StreamExt};

/// A stream of `items`, each sent after the pause beside it, by a spawned task.
fn paced<T: 'static>(items: Vec<(u64, T)>) -> impl Stream<Item = T> {
    let (tx, rx) = trpl::channel();
    trpl::spawn_task(async move {
        for (pause, item) in items {
            trpl::sleep(Duration::from_millis(pause)).await;
            if tx.send(item).is_err() {
                break;
            }
        }
    });
    ReceiverStream::new(rx)
}

#[test]
fn timeout_reports_each_late_item_once_as_elapsed() {
    let results = trpl::block_on(async {
        // Each item has 200 ms from the one before: "b" and "c" (140 ms apart) are in time, "d"
        // and "e" (each 450 ms after the one before) are late once each.
        let items = paced(vec![
            (0, "a"),
            (140, "b"),
            (140, "c"),
            (450, "d"),
            (450, "e"),
        ]);
        let mut stream = pin!(items.timeout(Duration::from_millis(200)));
        let mut results = Vec::new();
        while let Some(result) = stream.next().await {
            results.push(result.map_err(|e| format!("{e:?}")));
        }
        results
    });
    let expected: Vec<Result<&str, String>> = vec![
        Ok("a"),
        Ok("b"),
        Ok("c"),
        Err("Elapsed(())".to_string()),
        Ok("d"),
        Err("Elapsed(())".to_string()),
        Ok("e"),
    ];
    assert_eq!(results, expected);
    let elapsed = trpl::block_on(async {
        let mut never = pin!(
            trpl::stream_from_iter(Vec::<u8>::new())
                .chain(futures_pending())
                .timeout(Duration::from_millis(1))
        );
        never.next().await
    });
    assert_eq!(
        elapsed.unwrap().unwrap_err().to_string(),
        "deadline has elapsed"
    );
}

/// A stream that never gives an item and never ends.
fn futures_pending() -> impl Stream<Item = u8> {
    trpl::stream_from_iter(std::iter::once(()))
        .filter_map(|()| None)
        .chain(Forever)
}

struct Forever;

impl Stream for Forever {
    type Item = u8;
    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<u8>> {
        std::task::Poll::Pending
    }
}

#[test]
fn throttle_spaces_items_and_drops_none() {
    let period = Duration::from_millis(30);
    let arrivals = trpl::block_on(async {
        let mut stream = pin!(trpl::stream_from_iter(0..5).throttle(period));
        let mut arrivals = Vec::new();
        while let Some(n) = stream.next().await {
            arrivals.push((n, Instant::now()));
        }
        arrivals
    });
    let numbers: Vec<i32> = arrivals.iter().map(|&(n, _)| n).collect();
    assert_eq!(numbers, [0, 1, 2, 3, 4], "every item, in order");
    for pair in arrivals.windows(2) {
        assert!(
            pair[1].1 - pair[0].1 >= period,
            "no two items closer than the period"
        );
    }
}

#[test]
fn merge_interleaves_two_streams_and_ends_when_both_have() {
    let merged: Vec<String> = trpl::block_on(async {
        let words = paced(vec![(0, "w1"), (100, "w2")]).map(String::from);
        let numbers = paced(vec![(50, 1), (100, 2), (100, 3)]).map(|n| format!("n{n}"));
        words.merge(numbers).collect().await
    });
    // Times: w1 0, n1 50, w2 100, n2 150, n3 250 ms.
    assert_eq!(merged, ["w1", "n1", "w2", "n2", "n3"]);
}

#[test]
fn merge_alternates_which_ready_stream_goes_first() {
    let merged: Vec<i32> = trpl::block_on(
        trpl::stream_from_iter([1, 1, 1])
            .merge(trpl::stream_from_iter([2, 2, 2]))
            .collect(),
    );
    assert_eq!(merged, [1, 2, 1, 2, 1, 2]);
}

#[test]
fn interval_stream_ticks_a_period_apart() {
    let period = Duration::from_millis(10);
    let ticks: Vec<Instant> = trpl::block_on(
        IntervalStream::new(trpl::interval(period))
            .take(4)
            .collect(),
    );
    assert_eq!(ticks.len(), 4);
    for pair in ticks.windows(2) {
        assert_eq!(
            pair[1] - pair[0],
            period,
            "each tick is due one period after the last"
        );
    }
}

#[test]
fn chunks_timeout_gives_full_chunks_and_late_partial_ones() {
    let chunks: Vec<Vec<u32>> = trpl::block_on(async {
        // 1 2 3 at once, 4 after 150 ms, then the end.
        let items = paced(vec![(0, 1), (0, 2), (0, 3), (150, 4)]);
        items
            .chunks_timeout(2, Duration::from_millis(20))
            .collect()
            .await
    });
    assert_eq!(chunks, [vec![1, 2], vec![3], vec![4]]);
}

#[test]
fn timeout_repeating_reports_every_empty_period() {
    let results: Vec<Result<u8, trpl::stream::Elapsed>> = trpl::block_on(async {
        // Ticks at 100, 200, 300 ms with no item, then 7 at 350 ms.
        let items = paced(vec![(350, 7)]);
        let stream = items.timeout_repeating(trpl::interval(Duration::from_millis(100)));
        stream.take_while(|r| r.is_err()).collect().await
    });
    assert!(
        results.len() >= 2,
        "an Elapsed at every empty period: {results:?}"
    );
}

#[test]
fn collect_into_a_result_stops_at_the_first_error() {
    let collected: Result<Vec<i32>, String> =
        trpl::block_on(trpl::stream_from_iter([Ok(1), Err("bad".to_string()), Ok(3)]).collect());
    assert_eq!(collected, Err("bad".to_string()));
    let all: Result<Vec<i32>, String> =
        trpl::block_on(trpl::stream_from_iter([Ok(1), Ok(2)]).collect());
    assert_eq!(all, Ok(vec![1, 2]));
}

#[test]
fn the_plain_closure_adapters_behave_as_tokio_streams() {
    trpl::block_on(async {
        let s = || trpl::stream_from_iter(1..=6);
        let v: Vec<i32> = s().take_while(|n| *n < 4).collect().await;
        assert_eq!(v, [1, 2, 3]);
        let v: Vec<i32> = s().skip_while(|n| *n < 4).collect().await;
        assert_eq!(v, [4, 5, 6]);
        let v: Vec<i32> = s().map_while(|n| (n < 3).then_some(n * 10)).collect().await;
        assert_eq!(v, [10, 20]);
        let v: Vec<i32> = s()
            .filter_map(|n| (n % 2 == 0).then_some(n))
            .collect()
            .await;
        assert_eq!(v, [2, 4, 6]);
        assert_eq!(s().fold(0, |a, n| a + n).await, 21);
        assert!(s().any(|n| n == 5).await);
        assert!(!s().all(|n| n < 6).await);
        let v: Vec<i32> = s()
            .skip(4)
            .chain(trpl::stream_from_iter([9]))
            .collect()
            .await;
        assert_eq!(v, [5, 6, 9]);
        let text: String = trpl::stream_from_iter(["a", "b"])
            .map(String::from)
            .collect()
            .await;
        assert_eq!(text, "ab");
    });
}

#[test]
fn a_long_iterator_stream_lets_other_tasks_run() {
    let interleaved = trpl::block_on(async {
        let (tx, mut rx) = trpl::channel();
        let other = trpl::spawn_task(async move {
            tx.send("other ran").unwrap();
        });
        let mut stream = trpl::stream_from_iter(0..100);
        let mut seen_before_other = 0;
        while stream.next().await.is_some() {
            if rx.try_recv().is_ok() {
                break;
            }
            seen_before_other += 1;
        }
        other.await.unwrap();
        seen_before_other
    });
    // The stream yields after 32 items in a row, and the other task runs then.
    assert_eq!(interleaved, 32);
}
