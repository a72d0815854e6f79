//! An unbounded channel with tokio's method shapes (`send(&self, T)`, `recv(&mut self).await`),
//! which is what trpl re-exports as `trpl::channel`.
//!
//! It is the smallest channel that works across threads: a queue and the receiver's waker, behind
//! one mutex. `send` pushes and takes the waker; the waker is called after the lock is released
//! (waking runs the executor's code, which should never wait on ours). A `Sender` moved into a
//! `std::thread` wakes the receiving task the same way: glass's wakers are `Send + Sync`, and a
//! wake from another thread ends the executor's `epoll_wait` through the reactor's `mio::Waker`.

use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// Creates an unbounded channel: sending never waits, receiving waits for a message.
///
/// ```
/// let (tx, mut rx) = trpl::channel();
/// let sender = std::thread::spawn(move || tx.send("from a thread").unwrap());
/// let received = trpl::block_on(async { rx.recv().await });
/// assert_eq!(received, Some("from a thread"));
/// sender.join().unwrap();
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            receiver_waker: None,
            senders: 1,
            receiver_closed: false,
        }),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

struct Shared<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    queue: VecDeque<T>,
    /// The waker of the task waiting in `recv`, if it is waiting.
    receiver_waker: Option<Waker>,
    /// Live `Sender`s: at zero, `recv` returns `None` once the queue is empty.
    senders: usize,
    /// The `Receiver` was dropped or `close`d: `send` fails.
    receiver_closed: bool,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing runs user code under this lock, so a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The sending half of [`channel`]: `Clone`, `Send` (if `T` is), usable from any thread.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving half of [`channel`].
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// The error of [`Sender::send`] once the receiver is gone; it gives the message back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

/// Why [`Receiver::try_recv`] returned no message.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum TryRecvError {
    /// No message now, but a sender is alive and may send one.
    Empty,
    /// No message, and none can come: every sender is gone (or the receiver was closed).
    Disconnected,
}

impl<T> Sender<T> {
    /// Queues `message` for the receiver, without waiting; wakes the receiver if it waits.
    /// Fails, handing the message back, once the receiver has been dropped or closed.
    pub fn send(&self, message: T) -> Result<(), SendError<T>> {
        let mut state = self.shared.lock();
        if state.receiver_closed {
            return Err(SendError(message));
        }
        state.queue.push_back(message);
        let waker = state.receiver_waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Whether the receiver has been dropped or closed (a `send` would fail).
    pub fn is_closed(&self) -> bool {
        self.shared.lock().receiver_closed
    }

    /// Whether `other` sends into the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.senders -= 1;
        // The last sender: a waiting receiver must see the end of the stream.
        let waker = if state.senders == 0 {
            state.receiver_waker.take()
        } else {
            None
        };
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Receiver<T> {
    /// Waits for the next message; `None` once every sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Takes the next message if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = self.shared.lock();
        match state.queue.pop_front() {
            Some(message) => Ok(message),
            None if state.senders == 0 || state.receiver_closed => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Waits for the next message outside any runtime, blocking the thread (for a plain thread
    /// that receives from async code).
    pub fn blocking_recv(&mut self) -> Option<T> {
        futures::executor::block_on(self.recv())
    }

    /// `recv` as a poll: `Ready(Some)` with a message, `Ready(None)` at the end, or `Pending`
    /// with `cx`'s waker stored for the next `send`.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut state = self.shared.lock();
        if let Some(message) = state.queue.pop_front() {
            return Poll::Ready(Some(message));
        }
        if state.senders == 0 || state.receiver_closed {
            return Poll::Ready(None);
        }
        let stored = &mut state.receiver_waker;
        if !stored.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *stored = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Refuses further sends; messages already queued can still be received.
    pub fn close(&mut self) {
        self.shared.lock().receiver_closed = true;
    }

    /// Whether no message can arrive any more (closed, or every sender gone).
    pub fn is_closed(&self) -> bool {
        let state = self.shared.lock();
        state.receiver_closed || state.senders == 0
    }

    /// Whether no message is queued now.
    pub fn is_empty(&self) -> bool {
        self.shared.lock().queue.is_empty()
    }

    /// How many messages are queued now.
    pub fn len(&self) -> usize {
        self.shared.lock().queue.len()
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receiver_closed = true;
        let unreceived = std::mem::take(&mut state.queue);
        let waker = state.receiver_waker.take();
        drop(state);
        // The messages' destructors run outside the lock: they may send on this channel.
        drop((unreceived, waker));
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// Prints as tokio's does, `SendError { .. }`: the message need not be `Debug` to `unwrap`.
impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError").finish_non_exhaustive()
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("channel closed")
    }
}

impl<T> std::error::Error for SendError<T> {}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "receiving on an empty channel",
            TryRecvError::Disconnected => "receiving on a closed channel",
        })
    }
}

impl std::error::Error for TryRecvError {}
