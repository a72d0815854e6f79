//! [`Unparker`]: how another thread ends this thread's `epoll_wait`; and the open-file limit
//! raised when the first reactor is made.

use std::sync::{Arc, Once};

/// A handle that any thread may use to interrupt this thread's `epoll_wait`.
///
/// The executor's wakers carry one: a wake from another thread queues the task and then, if the
/// executor is asleep, calls [`Unparker::unpark`], which writes to an eventfd the reactor watches.
#[derive(Clone, Debug)]
pub struct Unparker {
    pub(crate) waker: Arc<mio::Waker>,
}

impl Unparker {
    /// Ends the reactor's current (or next) `epoll_wait` at once.
    pub fn unpark(&self) {
        // A saturated eventfd is mio's business: its `Waker::wake` resets the counter and writes
        // again (mio's `src/sys/unix/waker/eventfd.rs`). Otherwise it fails only if the eventfd
        // cannot be written at all, which cannot happen while this handle's `Arc` keeps it open;
        // and a waker, which calls this, would have nobody to report an error to.
        let _ = self.waker.wake();
    }
}

/// Raises the soft limit on open files to the hard limit, once per process, so that thousands of
/// connections work out of the box (the soft limit is often 1024). Failure leaves the limit as it is.
pub(crate) fn raise_open_file_limit() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `limit` is a valid, writable `rlimit` for the duration of the call.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return;
        }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            // SAFETY: `limit` is a valid, initialised `rlimit`; the call only reads it.
            unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
        }
    });
}
