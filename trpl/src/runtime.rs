//! [`block_on`], [`Runtime`], and [`read_to_string`]: where a listing enters glass.

use std::future::Future;
use std::io;
use std::path::Path;

use executor::JoinError;

/// Runs `future` to completion on a new single-threaded glass runtime on this thread, with every
/// task it spawns, and returns its output. Tasks still pending when `future` finishes are dropped.
///
/// Each call is a runtime of its own: several threads may each be inside `block_on` at once.
/// Calling it from inside `block_on` on the same thread panics (a thread runs one executor).
///
/// ```
/// let answer = trpl::block_on(async {
///     let handle = trpl::spawn_task(async { 6 * 7 });
///     handle.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    // Held for the length of the run: its drop writes the timeline, if one was asked for.
    let _console = watching_asked().then(glass_console::init_from_env);
    executor::block_on(future)
}

/// Whether `GLASS_TRACE` or `GLASS_TIMELINE` is set: then each `block_on` calls the console's
/// `init_from_env`, which installs it the first time and starts a new run in its timeline after.
///
/// Unset, nothing is installed at all, not even the console's default warnings printer: a
/// listing then prints exactly what it prints on the book's trpl, and pays for no clock reads.
/// `GLASS_TRACE=0` is how to ask for the warnings alone.
fn watching_asked() -> bool {
    [glass_console::TRACE_ENV, glass_console::TIMELINE_ENV]
        .iter()
        .any(|name| std::env::var_os(name).is_some())
}

/// The older name of [`block_on`], which some online versions of the book use.
pub fn run<F: Future>(future: F) -> F::Output {
    block_on(future)
}

/// A runtime, for listings that build one themselves: `Runtime::new()?.block_on(future)`.
///
/// glass makes its runtime when `block_on` starts and tears it down when it returns, so this
/// holds nothing; it exists so that code written against tokio's `Runtime` (which trpl
/// re-exports) keeps compiling.
#[derive(Debug, Default)]
pub struct Runtime {
    _private: (),
}

impl Runtime {
    /// A runtime. Never fails on glass (tokio's can, starting its threads); the `Result` is
    /// there for the same signature.
    pub fn new() -> io::Result<Runtime> {
        Ok(Runtime { _private: () })
    }

    /// Runs `future` to completion on this thread: see [`block_on`].
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        block_on(future)
    }
}

/// Reads a whole file into a `String`, on glass's blocking pool (as tokio does it: a file read
/// can block, and the event loop must not). Errors are those of `std::fs::read_to_string`.
///
/// # Panics
/// If called outside `block_on`, or if the read itself panicked.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref().to_owned();
    match executor::spawn_blocking(move || std::fs::read_to_string(path)).await {
        Ok(read) => read,
        Err(JoinError::Panic(payload)) => std::panic::resume_unwind(payload),
        Err(other) => Err(io::Error::other(other.to_string())),
    }
}
