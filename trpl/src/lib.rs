//! # trpl: the Rust book's support crate, on glass
//!
//! The async chapter of *The Rust Programming Language* (chapter 17) runs its listings with a
//! support crate, `trpl` 0.3, a thin layer over tokio. This crate has the same name, a 0.3
//! version and the same public API, but runs everything on glass: each [`block_on`] is one of
//! glass's single-threaded executors (the `executor` crate), every timer and socket waits in
//! glass's reactor (`reactor`), and [`get`] fetches with glass's HTTP client (`http-client`). So a
//! reader can point the book's listings at it, unchanged, and see what the chapter describes
//! happen:
//!
//! ```toml
//! # in the listing's Cargo.toml
//! [patch.crates-io]
//! trpl = { path = "/path/to/glass/trpl" }
//! ```
//!
//! `GLASS_TRACE=1 cargo run` then prints glass's readable trace on stderr: every spawn, poll and
//! wake with its cause, every timer and `epoll_wait`, and the slow-poll warning that names a
//! `thread::sleep` inside an async block. `docs/BOOK.md` walks the chapter's listings with it.
//!
//! ## Where each item comes from
//! - From `futures`, as the book's trpl takes them: [`join`](fn@join), [`join3`], [`join_all`], the
//!   [`join!`] macro, [`Either`], and the [`Stream`] trait. [`select`] and [`race`] wrap
//!   `futures::future::select` the way trpl does (the loser is dropped).
//! - From `scraper`: [`Html`] (a thin wrapper, as in trpl).
//! - On glass: [`block_on`]/[`run`] and [`Runtime`] (executor), [`spawn_task`] and
//!   [`JoinHandle`], [`yield_now`], [`sleep`] and [`interval`] (reactor timers),
//!   [`read_to_string`] (the blocking pool), [`get`]/[`Response`] (http-client), the channel
//!   ([`channel`], [`Sender`], [`Receiver`]: a queue and a waker behind a mutex), and the streams
//!   ([`StreamExt`] with tokio-stream's semantics, its timer adapters built on reactor sleeps,
//!   [`stream_from_iter`], [`IntervalStream`], [`ReceiverStream`]).
//!
//! ## Differences a reader can notice
//! - One thread. tokio's `Runtime` has worker threads, glass has none: a spawned task runs only
//!   while `block_on`'s future waits, so a listing whose output depends on tasks running in
//!   parallel (the chapter's first `spawn_task` listing) prints one line fewer; `docs/BOOK.md`
//!   says why. For the same reason [`spawn_task`] needs no `Send`.
//! - Pending tasks are dropped when [`block_on`] returns, as on tokio.
//! - `get` trusts the system's certificate store (the book's trpl bundles Mozilla's roots).

#![warn(missing_docs)]

mod channel;
mod runtime;
pub mod stream;
mod time;
mod web;

pub use channel::{Receiver, SendError, Sender, TryRecvError, channel};
pub use executor::{JoinError, JoinHandle, spawn as spawn_task, yield_now};
pub use futures::future::{Either, join, join_all, join3};
pub use futures::join;
pub use futures::stream::Stream;
pub use runtime::{Runtime, block_on, read_to_string, run};
pub use stream::{IntervalStream, ReceiverStream, StreamExt, stream_from_iter};
pub use time::{Interval, interval, sleep};
pub use web::{Html, Response, get};

use std::future::Future;
use std::pin::pin;

/// Runs two futures, returns the output of whichever finishes first, and drops the other.
///
/// Built on `futures::future::select`, which hands back the slower future so that it can be
/// finished later; like the book's trpl, this drops it instead. Dropping a future that is
/// waiting is how async Rust cancels: the loser runs no more code, and whatever it had
/// registered (a timer, a socket's waker) is removed by its destructor.
///
/// ```
/// use std::time::Duration;
/// use trpl::Either;
///
/// let winner = trpl::block_on(async {
///     let slow = async {
///         trpl::sleep(Duration::from_secs(60)).await;
///         "slow"
///     };
///     trpl::select(slow, async { "fast" }).await
/// });
/// assert!(matches!(winner, Either::Right("fast")));
/// ```
pub async fn select<A, B, F1, F2>(f1: F1, f2: F2) -> Either<A, B>
where
    F1: Future<Output = A>,
    F2: Future<Output = B>,
{
    let f1 = pin!(f1);
    let f2 = pin!(f2);
    match futures::future::select(f1, f2).await {
        Either::Left((a, _loser)) => Either::Left(a),
        Either::Right((b, _loser)) => Either::Right(b),
    }
}

/// The older name of [`select`], which some online versions of the book use.
pub async fn race<A, B, F1, F2>(f1: F1, f2: F2) -> Either<A, B>
where
    F1: Future<Output = A>,
    F2: Future<Output = B>,
{
    select(f1, f2).await
}
