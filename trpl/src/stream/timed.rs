//! The adapters that keep time: [`Timeout`], [`TimeoutRepeating`], [`Throttle`] and
//! [`ChunksTimeout`]. Each holds a reactor [`Sleep`] beside the stream it wraps and polls both:
//! when the stream has nothing, the task's waker is filed both with the stream's source and under
//! the sleep's deadline in the reactor's timers, and whichever comes first wakes it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use futures::stream::{Fuse, Stream};
use reactor::time::Sleep;

use crate::time::Interval;

/// The error item of [`Timeout`] and [`TimeoutRepeating`]: no item came in time. Its `Debug`
/// output, `Elapsed(())`, is tokio-stream's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

pin_project_lite::pin_project! {
    /// The stream [`StreamExt::timeout`](super::StreamExt::timeout) returns.
    #[must_use = "streams do nothing unless polled"]
    pub struct Timeout<St> {
        #[pin]
        stream: St,
        // Due when the next item is late.
        deadline: Sleep,
        duration: Duration,
        // Whether a late item is still to be reported (once per item).
        armed: bool,
    }
}

pin_project_lite::pin_project! {
    /// The stream [`StreamExt::timeout_repeating`](super::StreamExt::timeout_repeating) returns.
    #[must_use = "streams do nothing unless polled"]
    pub struct TimeoutRepeating<St> {
        #[pin]
        stream: Fuse<St>,
        interval: Interval,
    }
}

pin_project_lite::pin_project! {
    /// The stream [`StreamExt::throttle`](super::StreamExt::throttle) returns.
    #[must_use = "streams do nothing unless polled"]
    pub struct Throttle<St> {
        #[pin]
        stream: St,
        // Due when the next item may be taken.
        delay: Sleep,
        duration: Duration,
        // Whether `delay` has passed since the last item.
        waited: bool,
    }
}

pin_project_lite::pin_project! {
    /// The stream [`StreamExt::chunks_timeout`](super::StreamExt::chunks_timeout) returns.
    #[must_use = "streams do nothing unless polled"]
    pub struct ChunksTimeout<St: Stream> {
        #[pin]
        stream: Fuse<St>,
        // Due when the chunk being gathered must be given, full or not; `None` while it is empty.
        deadline: Option<Sleep>,
        duration: Duration,
        items: Vec<St::Item>,
        max_size: usize,
    }
}

/// A sleep of `duration` from now (the reactor's timer is armed at its first poll).
fn sleep_from_now(duration: Duration) -> Sleep {
    reactor::time::sleep(duration)
}

/// `deadline` moved to `duration` from now.
fn restart(deadline: &mut Sleep, duration: Duration) {
    let now = Instant::now();
    deadline.reset(now.checked_add(duration).unwrap_or(now));
}

impl<St> Timeout<St> {
    pub(super) fn new(stream: St, duration: Duration) -> Self {
        Timeout {
            stream,
            deadline: sleep_from_now(duration),
            duration,
            armed: true,
        }
    }
}

impl<St: Stream> Stream for Timeout<St> {
    type Item = Result<St::Item, Elapsed>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if let Poll::Ready(item) = this.stream.poll_next(cx) {
            if item.is_some() {
                // The next item has `duration` from now.
                restart(this.deadline, *this.duration);
                *this.armed = true;
            }
            return Poll::Ready(item.map(Ok));
        }
        if *this.armed {
            ready!(Pin::new(this.deadline).poll(cx));
            *this.armed = false;
            return Poll::Ready(Some(Err(Elapsed(()))));
        }
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Each item may be preceded by one `Elapsed`.
        let (low, high) = self.stream.size_hint();
        (low, high.and_then(|h| h.checked_mul(2)))
    }
}

impl<St: Stream> TimeoutRepeating<St> {
    pub(super) fn new(stream: St, mut interval: Interval) -> Self {
        // The first `Elapsed` a whole period from now, not at once.
        interval.reset();
        TimeoutRepeating {
            stream: futures::StreamExt::fuse(stream),
            interval,
        }
    }
}

impl<St: Stream> Stream for TimeoutRepeating<St> {
    type Item = Result<St::Item, Elapsed>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if let Poll::Ready(item) = this.stream.poll_next(cx) {
            if item.is_some() {
                this.interval.reset();
            }
            return Poll::Ready(item.map(Ok));
        }
        ready!(this.interval.poll_tick(cx));
        Poll::Ready(Some(Err(Elapsed(()))))
    }
}

impl<St> Throttle<St> {
    pub(super) fn new(stream: St, duration: Duration) -> Self {
        Throttle {
            stream,
            delay: sleep_from_now(duration),
            duration,
            // The first item is taken at once.
            waited: true,
        }
    }
}

impl<St: Stream> Stream for Throttle<St> {
    type Item = St::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<St::Item>> {
        let this = self.project();
        if !*this.waited && !this.duration.is_zero() {
            // The stream below is not even polled meanwhile: its items wait where they are.
            ready!(Pin::new(&mut *this.delay).poll(cx));
            *this.waited = true;
        }
        let item = ready!(this.stream.poll_next(cx));
        if item.is_some() {
            restart(this.delay, *this.duration);
            *this.waited = false;
        }
        Poll::Ready(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}

impl<St: Stream> ChunksTimeout<St> {
    pub(super) fn new(stream: St, max_size: usize, duration: Duration) -> Self {
        assert!(max_size > 0, "chunks_timeout: max_size must be non-zero");
        ChunksTimeout {
            stream: futures::StreamExt::fuse(stream),
            deadline: None,
            duration,
            items: Vec::new(),
            max_size,
        }
    }
}

impl<St: Stream> Stream for ChunksTimeout<St> {
    type Item = Vec<St::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        // Take every item that is ready, up to a full chunk.
        loop {
            match this.stream.as_mut().poll_next(cx) {
                Poll::Pending => break,
                Poll::Ready(Some(item)) => {
                    if this.items.is_empty() {
                        *this.deadline = Some(sleep_from_now(*this.duration));
                        this.items.reserve_exact(*this.max_size);
                    }
                    this.items.push(item);
                    if this.items.len() >= *this.max_size {
                        *this.deadline = None;
                        return Poll::Ready(Some(std::mem::take(this.items)));
                    }
                }
                Poll::Ready(None) => {
                    // The end: what is gathered goes out first (the stream is fused, so the
                    // next poll gets `None` again).
                    *this.deadline = None;
                    let last = (!this.items.is_empty()).then(|| std::mem::take(this.items));
                    return Poll::Ready(last);
                }
            }
        }
        // Nothing more for now: give the partial chunk once its time is up.
        let Some(deadline) = this.deadline.as_mut() else {
            return Poll::Pending;
        };
        ready!(Pin::new(deadline).poll(cx));
        *this.deadline = None;
        Poll::Ready(Some(std::mem::take(this.items)))
    }
}
