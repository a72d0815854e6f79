//! Ctrl-C (`SIGINT`) and `SIGTERM` as something a task can `.await`: the self-pipe trick.
//!
//! A signal handler may do almost nothing (only async-signal-safe calls, no locks, no allocation),
//! so it writes one byte into a pipe whose other end is registered with the reactor through
//! [`AsyncFd`]. `epoll_wait` returns at once, and the task awaiting [`Signals::recv`] runs on the
//! next turn like any other woken task. tokio's signal handling works the same way.
//!
//! Alternatives not taken: `signalfd` needs the signal blocked in *every* thread, including the
//! blocking pool's, which are started by code that knows nothing of it; an atomic flag checked by
//! a glass `interval` would work but would wake the thread ten times a second for nothing and
//! answer Ctrl-C up to a tick late.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

use reactor::io::{AsyncFd, Interest};

/// The pipe's write end, for the handler; -1 when no [`Signals`] exists.
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);

/// The signals handled, and what each was handled by before, to put back on drop.
const SIGNALS: [libc::c_int; 2] = [libc::SIGINT, libc::SIGTERM];

extern "C" fn on_signal(_signal: libc::c_int) {
    let fd = WRITE_FD.load(Ordering::Relaxed);
    if fd < 0 {
        return;
    }
    // SAFETY: `__errno_location` returns this thread's errno slot, valid for the thread's life.
    let errno = unsafe { libc::__errno_location() };
    // SAFETY: reading errno through the valid pointer; saved so the interrupted code does not see
    // `write`'s errno in place of its own.
    let saved = unsafe { *errno };
    // SAFETY: `write` is async-signal-safe; `fd` is the pipe's write end (closed only after the
    // handlers are put back), and the buffer is one valid byte. A full pipe (EAGAIN) already holds
    // a pending notification, so a failed write loses nothing.
    unsafe { libc::write(fd, [1u8].as_ptr().cast(), 1) };
    // SAFETY: as above.
    unsafe { *errno = saved };
}

/// Delivers `SIGINT` and `SIGTERM` to a task; the previous handlers come back when dropped.
pub struct Signals {
    /// The pipe's read end, registered with the reactor.
    read: AsyncFd<OwnedFd>,
    /// The write end the handler writes to: owned here so it stays open while handlers may run.
    _write: OwnedFd,
    /// The actions the handlers replaced.
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

impl Signals {
    /// Creates the pipe and installs the handlers. Call inside `block_on` (it registers the pipe).
    pub fn install() -> io::Result<Signals> {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors `pipe2` writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `pipe2` succeeded, so both are open descriptors that nothing else owns.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let read = AsyncFd::with_interest(read, Interest::READABLE)?;
        WRITE_FD.store(write.as_raw_fd(), Ordering::Relaxed);
        let mut signals = Signals {
            read,
            _write: write,
            previous: Vec::new(),
        };
        for signal in SIGNALS {
            // SAFETY: an all-zero `sigaction` is a valid value (empty mask, no flags) to fill in.
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            // SA_RESTART: blocking calls elsewhere (the `--threads` sockets) resume, not fail.
            action.sa_flags = libc::SA_RESTART;
            // SAFETY: as above, to receive the previous action.
            let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: both pointers are to valid `sigaction`s; the handler only touches atomics,
            // errno and `write`, which are async-signal-safe.
            if unsafe { libc::sigaction(signal, &action, &mut previous) } != 0 {
                return Err(io::Error::last_os_error()); // `signals` drops: earlier ones restored.
            }
            signals.previous.push((signal, previous));
        }
        Ok(signals)
    }

    /// Waits for the next signal.
    pub async fn recv(&self) -> io::Result<()> {
        let mut byte = [0u8; 64];
        self.read
            .async_io(Interest::READABLE, |fd| {
                // SAFETY: `fd` is the pipe's open read end and `byte` is valid for its length.
                let n = unsafe { libc::read(fd.as_raw_fd(), byte.as_mut_ptr().cast(), byte.len()) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(())
                }
            })
            .await
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        for (signal, previous) in self.previous.drain(..) {
            // SAFETY: `previous` is what `sigaction` gave back for this signal.
            unsafe { libc::sigaction(signal, &previous, std::ptr::null_mut()) };
        }
        // Only now may the write end close: no handler of ours can run any more.
        WRITE_FD.store(-1, Ordering::Relaxed);
    }
}
