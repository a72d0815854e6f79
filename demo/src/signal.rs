//! Ctrl-C (`SIGINT`), `SIGTERM`, Ctrl-Z (`SIGTSTP`), `SIGCONT` and Ctrl-\ (`SIGQUIT`) as
//! something a task can `.await`: the self-pipe trick. `SIGQUIT` asks for `executor::dump()` on
//! stderr, as a Java VM prints its threads, and the run carries on.
//!
//! A signal handler may do almost nothing (only async-signal-safe calls, no locks, no allocation),
//! so it writes one byte, the signal's number, into a pipe whose other end is registered with the
//! reactor through [`AsyncFd`]. `epoll_wait` returns at once, and the task awaiting
//! [`Signals::recv`] runs on the next turn like any other woken task. tokio's signal handling
//! works the same way.
//!
//! ## Ctrl-Z
//! The default action of `SIGTSTP` stops the process at once, with the terminal still in the
//! demo's mode (no echo, no line editing), which leaves the shell unusable. So `SIGTSTP` is caught
//! like Ctrl-C: the task that receives it puts the terminal back, then calls [`stop_self`], which
//! raises `SIGTSTP` again with its default action. `fg` sends `SIGCONT`; the process goes on from
//! inside `stop_self`, and the handler's byte for `SIGCONT` tells the task to put the terminal back
//! into the demo's mode and redraw. (`SIGCONT` after a `SIGSTOP`, which cannot be caught, is
//! handled the same way.)
//!
//! `bg` sends `SIGCONT` too, but leaves the terminal to the shell: the demo is then in a
//! background process group, where changing the terminal's settings, or reading it, stops the
//! process again at once (`SIGTTOU`, `SIGTTIN`; writing too, under `stty tostop`). So on
//! `SIGCONT` the task first asks [`in_background`]; if so, the downloads go on but the terminal
//! stays the shell's, undrawn, until a later `SIGCONT` finds the demo in the foreground (`fg`).
//!
//! ## The pipe lives as long as the process
//! The handler loads the write end's number and then writes to it; a handler running on another
//! thread may sit between the two while the main thread drops [`Signals`]. Closing the write end
//! then could let the number be reused by a file opened meanwhile, and the late byte would land in
//! it. No amount of ordering in `drop` closes that window (the handler cannot take a lock), so the
//! pipe is made once and never closed: two descriptors for the life of the process. Each
//! [`Signals`] registers a duplicate of the read end, which it may close freely.
//!
//! Alternatives not taken: `signalfd` needs the signal blocked in *every* thread, including the
//! blocking pool's, which are started by code that knows nothing of it; an atomic flag checked by
//! a glass `interval` would work but would wake the thread ten times a second for nothing and
//! answer Ctrl-C up to a tick late.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};

use reactor::io::{AsyncFd, Interest};

/// The process-wide pipe's write end, for the handler; -1 until the pipe exists. Never closed
/// once set (see the module docs).
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);

/// The process-wide pipe's read end, once made; never closed either. Behind a lock so that two
/// threads installing at once make one pipe.
static READ_FD: Mutex<Option<RawFd>> = Mutex::new(None);

/// The signals handled.
const SIGNALS: [libc::c_int; 5] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGTSTP,
    libc::SIGCONT,
    libc::SIGQUIT,
];

/// What a signal asks of the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// `SIGINT` (Ctrl-C) or `SIGTERM`: stop cleanly.
    Interrupt,
    /// `SIGTSTP` (Ctrl-Z): put the terminal back, then [`stop_self`].
    TerminalStop,
    /// `SIGCONT` (`fg`, `bg`): running again; in the foreground, take the terminal back and
    /// redraw (after `bg`, see [`in_background`]).
    Continue,
    /// `SIGQUIT` (Ctrl-\\): print every task and what it waits on, and carry on.
    Dump,
}

impl Signal {
    /// The signal whose number the handler wrote, if it is one of ours.
    fn from_byte(byte: u8) -> Option<Signal> {
        match libc::c_int::from(byte) {
            libc::SIGINT | libc::SIGTERM => Some(Signal::Interrupt),
            libc::SIGTSTP => Some(Signal::TerminalStop),
            libc::SIGCONT => Some(Signal::Continue),
            libc::SIGQUIT => Some(Signal::Dump),
            _ => None,
        }
    }
}

extern "C" fn on_signal(signal: libc::c_int) {
    let fd = WRITE_FD.load(Ordering::Relaxed);
    if fd < 0 {
        return;
    }
    // SAFETY: `__errno_location` returns this thread's errno slot, valid for the thread's life.
    let errno = unsafe { libc::__errno_location() };
    // SAFETY: reading errno through the valid pointer; saved so the interrupted code does not see
    // `write`'s errno in place of its own.
    let saved = unsafe { *errno };
    // Signal numbers of the handled signals are all below 256.
    let byte = [signal as u8];
    // SAFETY: `write` is async-signal-safe; `fd` is the pipe's write end, never closed (module
    // docs), and the buffer is one valid byte. A full pipe (EAGAIN) already holds pending
    // notifications, so a failed write loses at most a repeat.
    unsafe { libc::write(fd, byte.as_ptr().cast(), 1) };
    // SAFETY: as above.
    unsafe { *errno = saved };
}

/// The process-wide pipe's read end, made (with the write end published for the handler) on
/// first use.
fn pipe_read_end() -> io::Result<RawFd> {
    let mut read = READ_FD.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(fd) = *read {
        return Ok(fd);
    }
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors `pipe2` writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    WRITE_FD.store(fds[1], Ordering::Relaxed);
    *read = Some(fds[0]);
    Ok(fds[0])
}

/// Sets `handler` for `signal`, returning the action it replaces.
fn set_action(signal: libc::c_int, handler: libc::sighandler_t) -> io::Result<libc::sigaction> {
    // SAFETY: an all-zero `sigaction` is a valid value (empty mask, no flags) to fill in.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler;
    // SA_RESTART: blocking calls elsewhere (the `--threads` sockets) resume, not fail.
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: as above, to receive the previous action.
    let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to valid `sigaction`s; our handler only touches atomics, errno
    // and `write`, which are async-signal-safe.
    if unsafe { libc::sigaction(signal, &action, &mut previous) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(previous)
}

/// The handler, as `sigaction` takes it.
fn our_handler() -> libc::sighandler_t {
    on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t
}

/// Stops the process as Ctrl-Z would have without our handler, and returns once it is continued
/// (`fg`, `bg`, `kill -CONT`; after `bg`, in the background). Call it after putting the
/// terminal back.
pub fn stop_self() -> io::Result<()> {
    set_action(libc::SIGTSTP, libc::SIG_DFL)?;
    // SAFETY: `raise` has no memory-safety preconditions; with the default action the whole
    // process stops here until `SIGCONT`.
    let raised = unsafe { libc::raise(libc::SIGTSTP) };
    // Whatever `raise` said, catch the next Ctrl-Z again.
    set_action(libc::SIGTSTP, our_handler())?;
    if raised != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether the process runs in a background process group of its terminal (after `bg`, or
/// started with `&`): stdin, stdout or stderr is a terminal whose foreground group is another.
/// There, touching the terminal's settings or reading it would stop the process (`SIGTTOU`,
/// `SIGTTIN`). Asking costs nothing of the kind: `tcgetpgrp` is allowed from the background.
pub fn in_background() -> bool {
    // SAFETY: `getpgrp` cannot fail and has no preconditions.
    let ours = unsafe { libc::getpgrp() };
    (0..3).any(|fd| {
        // SAFETY: `tcgetpgrp` only reads; a descriptor that is closed or not a terminal makes it
        // return -1, which is not another group.
        let foreground = unsafe { libc::tcgetpgrp(fd) };
        foreground > 0 && foreground != ours
    })
}

/// Delivers the [`SIGNALS`] to a task; the previous handlers come back when dropped.
pub struct Signals {
    /// A duplicate of the pipe's read end, registered with the reactor.
    read: AsyncFd<OwnedFd>,
    /// Signals read from the pipe and not yet handed out (one read may bring several).
    pending: RefCell<VecDeque<Signal>>,
    /// The actions the handlers replaced.
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

impl Signals {
    /// Installs the handlers. Call inside `block_on` (it registers the pipe).
    pub fn install() -> io::Result<Signals> {
        let shared = pipe_read_end()?;
        // SAFETY: `shared` is the open read end, never closed; the duplicate is ours alone.
        let dup = unsafe { libc::fcntl(shared, libc::F_DUPFD_CLOEXEC, 0) };
        if dup < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fcntl` succeeded, so `dup` is an open descriptor that nothing else owns.
        let read = unsafe { OwnedFd::from_raw_fd(dup) };
        // Bytes left by signals delivered before this install are not for this `Signals`.
        drain(read.as_raw_fd());
        let mut signals = Signals {
            read: AsyncFd::with_interest(read, Interest::READABLE)?,
            pending: RefCell::new(VecDeque::new()),
            previous: Vec::new(),
        };
        for signal in SIGNALS {
            // On an error `signals` drops: the ones set so far are restored.
            let previous = set_action(signal, our_handler())?;
            signals.previous.push((signal, previous));
        }
        Ok(signals)
    }

    /// Waits for the next signal.
    pub async fn recv(&self) -> io::Result<Signal> {
        loop {
            if let Some(signal) = self.pending.borrow_mut().pop_front() {
                return Ok(signal);
            }
            let mut bytes = [0u8; 64];
            let n = self
                .read
                .async_io(Interest::READABLE, |fd| read(fd.as_raw_fd(), &mut bytes))
                .await?;
            let signals = bytes[..n].iter().filter_map(|&b| Signal::from_byte(b));
            self.pending.borrow_mut().extend(signals);
        }
    }
}

/// One non-blocking `read` from the pipe.
fn read(fd: RawFd, bytes: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `fd` is an open descriptor and `bytes` is valid for its length.
    let n = unsafe { libc::read(fd, bytes.as_mut_ptr().cast(), bytes.len()) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// Reads the pipe empty (it is non-blocking: the loop ends at `EAGAIN`).
fn drain(fd: RawFd) {
    let mut bytes = [0u8; 64];
    while read(fd, &mut bytes).is_ok_and(|n| n > 0) {}
}

impl Drop for Signals {
    fn drop(&mut self) {
        for (signal, previous) in self.previous.drain(..) {
            // SAFETY: `previous` is what `sigaction` gave back for this signal.
            unsafe { libc::sigaction(signal, &previous, std::ptr::null_mut()) };
        }
        // The pipe stays open: a handler already running may still write to it.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `fd` is an open descriptor of a pipe.
    fn is_open_pipe(fd: libc::c_int) -> bool {
        // SAFETY: an all-zero `stat` is a valid value for `fstat` to overwrite.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `fstat` only writes into `stat`; a closed `fd` makes it fail with EBADF.
        let ok = unsafe { libc::fstat(fd, &mut stat) } == 0;
        ok && stat.st_mode & libc::S_IFMT == libc::S_IFIFO
    }

    #[test]
    fn the_descriptor_a_handler_may_hold_is_never_closed() {
        executor::block_on(async {
            let signals = Signals::install().unwrap();
            // What a handler running on another thread may have loaded, and be about to write to.
            let fd = WRITE_FD.load(Ordering::Relaxed);
            assert!(is_open_pipe(fd));
            drop(signals);
            // Were it closed, the next `open` could reuse its number, and a late handler's byte
            // would land in that file.
            assert!(is_open_pipe(fd), "the handler's descriptor {fd} was closed");
        });
    }
}
