//! The adapters whose closures differ from `futures`' (tokio-stream's take plain closures), and
//! [`Merge`]. Each is a stream holding the stream below it; `pin_project!` gives `poll_next` a
//! pinned reference to that stream and a plain one to the rest, without `unsafe`.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures::stream::{Fuse, FusedStream, Stream};

pin_project_lite::pin_project! {
    /// The stream [`StreamExt::filter`](super::StreamExt::filter) returns.
    #[must_use = "streams do nothing unless polled"]
    pub struct Filter<St, F> {
        #[pin]
        stream: St,
        f: F,
    }
}

pin_project_lite::pin_project! {
    /// The stream [`StreamExt::filter_map`](super::StreamExt::filter_map) returns.
    #[must_use = "streams do nothing unless polled"]
    pub struct FilterMap<St, F> {
        #[pin]
        stream: St,
        f: F,
    }
}

pin_project_lite::pin_project! {
    /// The stream [`StreamExt::map_while`](super::StreamExt::map_while) returns.
    #[must_use = "streams do nothing unless polled"]
    pub struct MapWhile<St, F> {
        #[pin]
        stream: St,
        f: F,
        done: bool,
    }
}

pin_project_lite::pin_project! {
    /// The stream [`StreamExt::take_while`](super::StreamExt::take_while) returns.
    #[must_use = "streams do nothing unless polled"]
    pub struct TakeWhile<St, F> {
        #[pin]
        stream: St,
        f: F,
        done: bool,
    }
}

pin_project_lite::pin_project! {
    /// The stream [`StreamExt::skip_while`](super::StreamExt::skip_while) returns.
    #[must_use = "streams do nothing unless polled"]
    pub struct SkipWhile<St, F> {
        #[pin]
        stream: St,
        // `None` once an item has failed the test: from then on everything passes.
        f: Option<F>,
    }
}

pin_project_lite::pin_project! {
    /// The stream [`StreamExt::merge`](super::StreamExt::merge) returns.
    #[must_use = "streams do nothing unless polled"]
    pub struct Merge<A, B> {
        #[pin]
        a: Fuse<A>,
        #[pin]
        b: Fuse<B>,
        // Which stream the next poll asks first; flipped at every poll.
        a_first: bool,
    }
}

impl<St, F> Filter<St, F> {
    pub(super) fn new(stream: St, f: F) -> Self {
        Filter { stream, f }
    }
}

impl<St, F> FilterMap<St, F> {
    pub(super) fn new(stream: St, f: F) -> Self {
        FilterMap { stream, f }
    }
}

impl<St, F> MapWhile<St, F> {
    pub(super) fn new(stream: St, f: F) -> Self {
        MapWhile {
            stream,
            f,
            done: false,
        }
    }
}

impl<St, F> TakeWhile<St, F> {
    pub(super) fn new(stream: St, f: F) -> Self {
        TakeWhile {
            stream,
            f,
            done: false,
        }
    }
}

impl<St, F> SkipWhile<St, F> {
    pub(super) fn new(stream: St, f: F) -> Self {
        SkipWhile { stream, f: Some(f) }
    }
}

impl<A: Stream, B: Stream> Merge<A, B> {
    pub(super) fn new(a: A, b: B) -> Self {
        Merge {
            a: futures::StreamExt::fuse(a),
            b: futures::StreamExt::fuse(b),
            a_first: true,
        }
    }
}

impl<St: Stream, F: FnMut(&St::Item) -> bool> Stream for Filter<St, F> {
    type Item = St::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<St::Item>> {
        let mut this = self.project();
        // Items the filter rejects are skipped in this same poll; only the stream below waits.
        loop {
            match ready!(this.stream.as_mut().poll_next(cx)) {
                Some(item) if !(this.f)(&item) => continue,
                other => return Poll::Ready(other),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, self.stream.size_hint().1)
    }
}

impl<St: Stream, T, F: FnMut(St::Item) -> Option<T>> Stream for FilterMap<St, F> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut this = self.project();
        loop {
            let Some(item) = ready!(this.stream.as_mut().poll_next(cx)) else {
                return Poll::Ready(None);
            };
            if let Some(mapped) = (this.f)(item) {
                return Poll::Ready(Some(mapped));
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, self.stream.size_hint().1)
    }
}

impl<St: Stream, T, F: FnMut(St::Item) -> Option<T>> Stream for MapWhile<St, F> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        let mapped = ready!(this.stream.poll_next(cx)).and_then(this.f);
        *this.done = mapped.is_none();
        Poll::Ready(mapped)
    }
}

impl<St: Stream, F: FnMut(&St::Item) -> bool> Stream for TakeWhile<St, F> {
    type Item = St::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<St::Item>> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        let item = ready!(this.stream.poll_next(cx)).filter(|item| (this.f)(item));
        *this.done = item.is_none();
        Poll::Ready(item)
    }
}

impl<St: Stream, F: FnMut(&St::Item) -> bool> Stream for SkipWhile<St, F> {
    type Item = St::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<St::Item>> {
        let mut this = self.project();
        loop {
            let item = ready!(this.stream.as_mut().poll_next(cx));
            if let (Some(item), Some(skip)) = (&item, this.f.as_mut())
                && skip(item)
            {
                continue;
            }
            *this.f = None;
            return Poll::Ready(item);
        }
    }
}

impl<A: Stream, B: Stream<Item = A::Item>> Stream for Merge<A, B> {
    type Item = A::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<A::Item>> {
        let this = self.project();
        let a_first = *this.a_first;
        *this.a_first = !a_first;
        if a_first {
            poll_both(this.a, this.b, cx)
        } else {
            poll_both(this.b, this.a, cx)
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (a_low, a_high) = self.a.size_hint();
        let (b_low, b_high) = self.b.size_hint();
        let high = a_high.zip(b_high).and_then(|(a, b)| a.checked_add(b));
        (a_low.saturating_add(b_low), high)
    }
}

/// One poll of [`Merge`]: `first`'s item if it has one, else `second`'s; `None` only when both
/// have ended (each is fused, so an ended one is never polled again); `Pending` otherwise, with
/// the task's waker kept by both (whichever has an item first wakes it).
fn poll_both<T, U>(
    first: Pin<&mut T>,
    second: Pin<&mut U>,
    cx: &mut Context<'_>,
) -> Poll<Option<T::Item>>
where
    T: FusedStream,
    U: FusedStream<Item = T::Item>,
{
    // One after the other: `second` is not polled when `first` has an item, or its item would
    // be taken from it and lost.
    let mut ended = true;
    match first.poll_next(cx) {
        Poll::Ready(Some(item)) => return Poll::Ready(Some(item)),
        Poll::Ready(None) => {}
        Poll::Pending => ended = false,
    }
    match second.poll_next(cx) {
        Poll::Ready(Some(item)) => return Poll::Ready(Some(item)),
        Poll::Ready(None) => {}
        Poll::Pending => ended = false,
    }
    if ended {
        Poll::Ready(None)
    } else {
        Poll::Pending
    }
}
