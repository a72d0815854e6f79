//! Streams: [`StreamExt`] with tokio-stream's semantics, and the three sources the book uses,
//! [`stream_from_iter`], [`ReceiverStream`] and [`IntervalStream`].
//!
//! A stream is an iterator whose `next` may have to wait: `poll_next` returns `Pending` and keeps
//! the task's waker, like a future's `poll`. The [`Stream`] trait is the `futures` crate's (the
//! one tokio-stream re-exports too). The adapters that only pass items along (`map`, `take`,
//! `skip`, `chain`, `fuse`, `peekable`, `then`, and the `next` and `try_next` futures) are
//! `futures`' own, whose behaviour is the same as tokio-stream's; those whose closures differ
//! (tokio-stream's `filter` takes a plain `FnMut(&Item) -> bool`, `futures`' an async one) are
//! written here, in `adapters.rs`, and the ones that keep time (`timeout`, `throttle`,
//! `chunks_timeout`, `timeout_repeating`) in `timed.rs`, each on reactor sleeps.

mod adapters;
mod timed;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub use adapters::{Filter, FilterMap, MapWhile, Merge, SkipWhile, TakeWhile};
pub use futures::stream::{Chain, Fuse, Map, Next, Peekable, Skip, Stream, Take, Then, TryNext};
pub use timed::{ChunksTimeout, Elapsed, Throttle, Timeout, TimeoutRepeating};

use crate::channel::Receiver;
use crate::time::Interval;

/// What `.next()`, `.map()`, `.timeout()`... add to every [`Stream`]: tokio-stream's
/// `StreamExt`, on glass. Like the book's, it must be in scope (`use trpl::StreamExt;`) for a
/// stream to have a `next` method at all.
pub trait StreamExt: Stream {
    /// The next item, or `None` at the end: `while let Some(item) = stream.next().await`.
    fn next(&mut self) -> Next<'_, Self>
    where
        Self: Unpin,
    {
        futures::StreamExt::next(self)
    }

    /// For a stream of `Result`s: the next `Ok` item as `Ok(Some(item))`, an error as `Err`.
    fn try_next<T, E>(&mut self) -> TryNext<'_, Self>
    where
        Self: Stream<Item = Result<T, E>> + Unpin,
    {
        futures::TryStreamExt::try_next(self)
    }

    /// Each item passed through `f`.
    fn map<T, F>(self, f: F) -> Map<Self, F>
    where
        F: FnMut(Self::Item) -> T,
        Self: Sized,
    {
        futures::StreamExt::map(self, f)
    }

    /// Each item passed through `f`, until `f` returns `None`, which ends the stream.
    fn map_while<T, F>(self, f: F) -> MapWhile<Self, F>
    where
        F: FnMut(Self::Item) -> Option<T>,
        Self: Sized,
    {
        MapWhile::new(self, f)
    }

    /// Each item passed through the async `f`, awaited before the next item is taken.
    fn then<F, Fut>(self, f: F) -> Then<Self, Fut, F>
    where
        F: FnMut(Self::Item) -> Fut,
        Fut: Future,
        Self: Sized,
    {
        futures::StreamExt::then(self, f)
    }

    /// The items of both streams, as each arrives; ends when both have ended. The streams must
    /// have the same item type (`map` one of them first if not):
    ///
    /// ```compile_fail
    /// use trpl::StreamExt;
    /// let numbers = trpl::stream_from_iter([1, 2, 3]);
    /// let words = trpl::stream_from_iter(["one", "two"]);
    /// let merged = numbers.merge(words); // error: expected `i32`, found `&str`
    /// ```
    ///
    /// ```
    /// use trpl::StreamExt;
    /// let numbers = trpl::stream_from_iter([1, 2, 3]).map(|n| n.to_string());
    /// let words = trpl::stream_from_iter(["one", "two"]).map(String::from);
    /// let merged: Vec<String> = trpl::block_on(numbers.merge(words).collect());
    /// assert_eq!(merged.len(), 5);
    /// ```
    ///
    /// When both have an item ready, the one polled first wins, and which goes first alternates
    /// from one poll to the next, so neither stream can starve the other.
    fn merge<U>(self, other: U) -> Merge<Self, U>
    where
        U: Stream<Item = Self::Item>,
        Self: Sized,
    {
        Merge::new(self, other)
    }

    /// Only the items for which `f` returns `true`.
    fn filter<F>(self, f: F) -> Filter<Self, F>
    where
        F: FnMut(&Self::Item) -> bool,
        Self: Sized,
    {
        Filter::new(self, f)
    }

    /// Each item passed through `f`, keeping the `Some`s and skipping the `None`s.
    fn filter_map<T, F>(self, f: F) -> FilterMap<Self, F>
    where
        F: FnMut(Self::Item) -> Option<T>,
        Self: Sized,
    {
        FilterMap::new(self, f)
    }

    /// A stream that, once it has returned `None`, returns `None` for ever without polling the
    /// one inside again.
    fn fuse(self) -> Fuse<Self>
    where
        Self: Sized,
    {
        futures::StreamExt::fuse(self)
    }

    /// The first `n` items, then the end.
    fn take(self, n: usize) -> Take<Self>
    where
        Self: Sized,
    {
        futures::StreamExt::take(self, n)
    }

    /// The items up to the first for which `f` returns `false`, then the end.
    fn take_while<F>(self, f: F) -> TakeWhile<Self, F>
    where
        F: FnMut(&Self::Item) -> bool,
        Self: Sized,
    {
        TakeWhile::new(self, f)
    }

    /// All but the first `n` items.
    fn skip(self, n: usize) -> Skip<Self>
    where
        Self: Sized,
    {
        futures::StreamExt::skip(self, n)
    }

    /// The items from the first for which `f` returns `false` on.
    fn skip_while<F>(self, f: F) -> SkipWhile<Self, F>
    where
        F: FnMut(&Self::Item) -> bool,
        Self: Sized,
    {
        SkipWhile::new(self, f)
    }

    /// Whether `f` holds for every item (stops at the first that fails it).
    fn all<F>(&mut self, mut f: F) -> impl Future<Output = bool>
    where
        F: FnMut(Self::Item) -> bool,
        Self: Unpin,
    {
        async move {
            while let Some(item) = self.next().await {
                if !f(item) {
                    return false;
                }
            }
            true
        }
    }

    /// Whether `f` holds for some item (stops at the first that passes it).
    fn any<F>(&mut self, mut f: F) -> impl Future<Output = bool>
    where
        F: FnMut(Self::Item) -> bool,
        Self: Unpin,
    {
        async move {
            while let Some(item) = self.next().await {
                if f(item) {
                    return true;
                }
            }
            false
        }
    }

    /// This stream's items, then `other`'s.
    fn chain<U>(self, other: U) -> Chain<Self, U>
    where
        U: Stream<Item = Self::Item>,
        Self: Sized,
    {
        futures::StreamExt::chain(self, other)
    }

    /// Folds every item into an accumulator: `f(f(init, first), second)`...
    fn fold<B, F>(self, init: B, mut f: F) -> impl Future<Output = B>
    where
        F: FnMut(B, Self::Item) -> B,
        Self: Sized,
    {
        async move {
            let mut stream = std::pin::pin!(self);
            let mut acc = init;
            while let Some(item) = stream.next().await {
                acc = f(acc, item);
            }
            acc
        }
    }

    /// Every item, gathered into a collection: a `Vec`, a `String`, a `Box<[T]>`, `()`, or a
    /// `Result` of one of those, which stops at the first `Err`.
    fn collect<T>(self) -> impl Future<Output = T>
    where
        T: FromStream<Self::Item>,
        Self: Sized,
    {
        T::from_stream(self)
    }

    /// Each item as `Ok`, or `Err(Elapsed)` when the next item takes longer than `duration` to
    /// come (counted from the previous item, or from the first poll). After an `Elapsed` the
    /// stream goes on waiting for the same item; it gives no second `Elapsed` before that item
    /// arrives. `Elapsed` prints `Elapsed(())`, as tokio-stream's does.
    fn timeout(self, duration: Duration) -> Timeout<Self>
    where
        Self: Sized,
    {
        Timeout::new(self, duration)
    }

    /// Like [`timeout`](StreamExt::timeout), but gives an `Elapsed` at every tick of `interval`
    /// that passes without an item.
    fn timeout_repeating(self, interval: Interval) -> TimeoutRepeating<Self>
    where
        Self: Sized,
    {
        TimeoutRepeating::new(self, interval)
    }

    /// At most one item per `duration`: after each item, the stream is not polled again until
    /// `duration` has passed. Nothing is dropped; items wait in the stream below.
    fn throttle(self, duration: Duration) -> Throttle<Self>
    where
        Self: Sized,
    {
        Throttle::new(self, duration)
    }

    /// The items in `Vec`s of up to `max_size`; a chunk is also given, not full, once `duration`
    /// has passed since its first item arrived.
    ///
    /// # Panics
    /// If `max_size` is zero.
    fn chunks_timeout(self, max_size: usize, duration: Duration) -> ChunksTimeout<Self>
    where
        Self: Sized,
    {
        ChunksTimeout::new(self, max_size, duration)
    }

    /// A stream whose next item can be looked at (`peek`) without being taken.
    fn peekable(self) -> Peekable<Self>
    where
        Self: Sized,
    {
        futures::StreamExt::peekable(self)
    }
}

impl<St: Stream + ?Sized> StreamExt for St {}

/// A collection [`StreamExt::collect`] can gather a stream's items into.
pub trait FromStream<T>: Sized {
    /// Gathers every item of `stream`.
    fn from_stream<S: Stream<Item = T>>(stream: S) -> impl Future<Output = Self>;
}

impl<T> FromStream<T> for Vec<T> {
    async fn from_stream<S: Stream<Item = T>>(stream: S) -> Self {
        let mut stream = std::pin::pin!(stream);
        let mut items = Vec::with_capacity(stream.size_hint().0);
        while let Some(item) = stream.next().await {
            items.push(item);
        }
        items
    }
}

impl<T> FromStream<T> for Box<[T]> {
    async fn from_stream<S: Stream<Item = T>>(stream: S) -> Self {
        Vec::from_stream(stream).await.into_boxed_slice()
    }
}

impl FromStream<String> for String {
    async fn from_stream<S: Stream<Item = String>>(stream: S) -> Self {
        stream.fold(String::new(), |all, piece| all + &piece).await
    }
}

impl<T> FromStream<T> for () {
    async fn from_stream<S: Stream<Item = T>>(stream: S) -> Self {
        stream.fold((), |(), _| ()).await
    }
}

impl<T, U, E> FromStream<Result<T, E>> for Result<U, E>
where
    U: FromStream<T>,
{
    async fn from_stream<S: Stream<Item = Result<T, E>>>(stream: S) -> Self {
        let mut error = None;
        let oks = stream.map_while(|item| item.map_err(|e| error = Some(e)).ok());
        let collected = U::from_stream(oks).await;
        match error {
            Some(e) => Err(e),
            None => Ok(collected),
        }
    }
}

/// A stream of `iter`'s items, each ready at once.
///
/// The result is a plain [`Stream`]: it has no `next` method of its own, so, as the book shows,
/// this does not compile until `StreamExt` is in scope:
///
/// ```compile_fail
/// trpl::block_on(async {
///     let mut stream = trpl::stream_from_iter([1, 2, 3]);
///     while let Some(n) = stream.next().await { // error: no method named `next` found
///         println!("{n}");
///     }
/// });
/// ```
///
/// ```
/// use trpl::StreamExt;
///
/// trpl::block_on(async {
///     let mut stream = trpl::stream_from_iter([1, 2, 3]);
///     while let Some(n) = stream.next().await {
///         println!("{n}");
///     }
/// });
/// ```
///
/// After every 32 items in a row it returns `Pending` once (waking its own task first), as
/// tokio-stream's `iter` does, so a long iterator cannot keep the other tasks from running.
pub fn stream_from_iter<I: IntoIterator>(iter: I) -> Iter<I::IntoIter> {
    Iter {
        iter: iter.into_iter(),
        in_a_row: 0,
    }
}

/// The stream [`stream_from_iter`] returns.
#[derive(Debug, Clone)]
#[must_use = "streams do nothing unless polled"]
pub struct Iter<I> {
    iter: I,
    /// Items given since the last time it let other tasks run.
    in_a_row: u32,
}

/// How many items [`Iter`] gives before it yields to the other tasks.
const ITEMS_BEFORE_YIELD: u32 = 32;

impl<I: Iterator + Unpin> Stream for Iter<I> {
    type Item = I::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<I::Item>> {
        if self.in_a_row >= ITEMS_BEFORE_YIELD {
            self.in_a_row = 0;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.in_a_row += 1;
        Poll::Ready(self.iter.next())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

/// A [`Receiver`] as a stream: each message is an item, and the stream ends when every sender is
/// gone.
#[derive(Debug)]
pub struct ReceiverStream<T> {
    inner: Receiver<T>,
}

impl<T> ReceiverStream<T> {
    /// Wraps `receiver`.
    pub fn new(receiver: Receiver<T>) -> Self {
        ReceiverStream { inner: receiver }
    }

    /// The receiver back.
    pub fn into_inner(self) -> Receiver<T> {
        self.inner
    }

    /// Refuses further sends; queued messages are still given.
    pub fn close(&mut self) {
        self.inner.close();
    }
}

impl<T> Stream for ReceiverStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.inner.poll_recv(cx)
    }
}

impl<T> From<Receiver<T>> for ReceiverStream<T> {
    fn from(receiver: Receiver<T>) -> Self {
        ReceiverStream::new(receiver)
    }
}

impl<T> AsRef<Receiver<T>> for ReceiverStream<T> {
    fn as_ref(&self) -> &Receiver<T> {
        &self.inner
    }
}

impl<T> AsMut<Receiver<T>> for ReceiverStream<T> {
    fn as_mut(&mut self) -> &mut Receiver<T> {
        &mut self.inner
    }
}

/// An [`Interval`] as a stream: each tick is an item (the instant it was due); it never ends.
#[derive(Debug)]
pub struct IntervalStream {
    inner: Interval,
}

impl IntervalStream {
    /// Wraps `interval`.
    pub fn new(interval: Interval) -> Self {
        IntervalStream { inner: interval }
    }

    /// The interval back.
    pub fn into_inner(self) -> Interval {
        self.inner
    }
}

impl Stream for IntervalStream {
    type Item = Instant;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.inner.poll_tick(cx).map(Some)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

impl AsRef<Interval> for IntervalStream {
    fn as_ref(&self) -> &Interval {
        &self.inner
    }
}

impl AsMut<Interval> for IntervalStream {
    fn as_mut(&mut self) -> &mut Interval {
        &mut self.inner
    }
}
