//! The keyboard, read through the reactor while downloads run: the proof that the program is not
//! locked up. A URL and Enter starts another download; `q` stops; the arrow keys select a
//! download, `c` cancels it and `r` restarts it.
//!
//! ## How stdin is read without blocking the thread
//! The terminal behind stdin is opened again (`/proc/self/fd/0`) with `O_NONBLOCK`, and that
//! descriptor is registered with the reactor as an [`AsyncFd`]. Opening it again matters: stdin,
//! stdout and stderr are usually one open file description shared by the three descriptors (and by
//! the shell), so setting `O_NONBLOCK` on fd 0 itself would also make writes to stdout fail with
//! `EAGAIN` when the terminal is slow, and would leak into the shell if the program died. The new
//! description is ours alone and vanishes with the process.
//!
//! With bars on screen, the terminal is put in non-canonical mode without echo, so each key
//! arrives at once and the line being typed is drawn by the board, below the bars, instead of
//! being scribbled over them. `ISIG` stays on: Ctrl-C still raises `SIGINT` (see `signal.rs`).
//! The terminal's settings are put back when the [`Keyboard`] is dropped, on every way out of
//! `main` including a panic, and while the demo is stopped by Ctrl-Z: the [`TerminalMode`] is
//! shared with the signal task, which gives the terminal back before stopping and takes it again
//! on `fg` (`signal.rs`). In the background, after `bg`, the keyboard reads nothing: the keys are
//! the shell's, and a read would stop the demo with `SIGTTIN`.

use std::cell::Cell;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::rc::Rc;

use reactor::io::{AsyncFd, Interest};

/// What the user did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    /// Typed a line and pressed Enter.
    Line(String),
    /// The line being typed changed (to show it).
    Typing(String),
    /// Pressed `q` on an empty line.
    Quit,
    /// Pressed `t` on an empty line: show or hide the task table.
    ToggleTasks,
    /// Pressed `d` on an empty line: print every task and what it waits on.
    Dump,
    /// Pressed the up arrow on an empty line: select the download above.
    Up,
    /// Pressed the down arrow on an empty line: select the download below.
    Down,
    /// Pressed `c` on an empty line: cancel the selected download.
    Cancel,
    /// Pressed `r` on an empty line: restart the selected download, if cancelled or failed.
    Restart,
}

/// Stdin, when it is a terminal, as a source of [`Key`]s.
pub struct Keyboard {
    /// The terminal, opened again in non-blocking mode and registered with the reactor.
    tty: AsyncFd<File>,
    /// The demo's terminal mode and the settings to give back; `None` if we changed nothing.
    mode: Option<Rc<TerminalMode>>,
    /// Turns bytes into keys and keeps the line being typed.
    editor: LineEditor,
    /// Keys decoded but not yet handed out.
    pending: VecDeque<Key>,
}

impl Keyboard {
    /// `None` when stdin is not a terminal. With `raw`, keys arrive one by one and are not echoed
    /// (the caller shows [`Key::Typing`]); otherwise the terminal edits and echoes lines itself.
    pub fn open(raw: bool) -> io::Result<Option<Keyboard>> {
        if !io::stdin().is_terminal() {
            return Ok(None);
        }
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open("/proc/self/fd/0")?;
        let mode = if raw {
            Some(Rc::new(TerminalMode::enter(file.try_clone()?)?))
        } else {
            None
        };
        let keyboard = Keyboard {
            tty: AsyncFd::with_interest(file, Interest::READABLE)?,
            mode,
            editor: LineEditor::default(),
            pending: VecDeque::new(),
        };
        Ok(Some(keyboard))
    }

    /// The terminal mode, for the signal task to give back and take again (`None`: not raw).
    pub fn mode(&self) -> Option<Rc<TerminalMode>> {
        self.mode.clone()
    }

    /// The next key; `None` once stdin is closed.
    pub async fn next(&mut self) -> io::Result<Option<Key>> {
        loop {
            if let Some(key) = self.pending.pop_front() {
                return Ok(Some(key));
            }
            let mut buf = [0u8; 256];
            let n = self
                .tty
                .async_io(Interest::READABLE, |file| {
                    // After `bg` what is typed is the shell's, and reading it would stop the
                    // demo (`SIGTTIN`). Not ready, then: the next key after `fg` wakes us again.
                    if crate::signal::in_background() {
                        return Err(io::ErrorKind::WouldBlock.into());
                    }
                    io::Read::read(&mut &*file, &mut buf)
                })
                .await?;
            if n == 0 {
                return Ok(None);
            }
            self.pending.extend(self.editor.feed(&buf[..n]));
        }
    }
}

/// The demo's terminal mode (non-canonical, no echo), and the settings it replaced.
pub struct TerminalMode {
    /// The terminal, a descriptor of its own (the keyboard's is inside its `AsyncFd`).
    tty: File,
    /// The settings to give back: found when the mode was last entered.
    saved: Cell<libc::termios>,
    /// Set when the keyboard is dropped: from then on the terminal is never taken again.
    closed: Cell<bool>,
    /// Whether the terminal is in the demo's mode now. Only then does [`restore`] touch it: a
    /// terminal given back before a stop stays the shell's, and from the background (after
    /// `bg`) a `tcsetattr` would stop the process with `SIGTTOU`, at the end of the run too.
    ///
    /// [`restore`]: TerminalMode::restore
    entered: Cell<bool>,
}

impl TerminalMode {
    /// Puts `tty` in the demo's mode.
    fn enter(tty: File) -> io::Result<TerminalMode> {
        let saved = enter_raw_mode(&tty)?;
        Ok(TerminalMode {
            tty,
            saved: Cell::new(saved),
            closed: Cell::new(false),
            entered: Cell::new(true),
        })
    }

    /// Gives the terminal its settings back (before a stop, or at the end), if it has the
    /// demo's.
    pub fn restore(&self) {
        if !self.entered.replace(false) {
            return;
        }
        // SAFETY: `tty` is an open descriptor, and `saved` is what `tcgetattr` returned for it.
        unsafe { libc::tcsetattr(self.tty.as_raw_fd(), libc::TCSANOW, &self.saved.get()) };
    }

    /// Takes the terminal again after a stop, if it was given back. The settings found now are
    /// the ones given back next: the user may have changed them (`stty`) while the demo was
    /// stopped. (A `SIGCONT` that stopped nothing finds the mode entered, and so does not take
    /// the demo's own settings for the shell's.)
    pub fn reenter(&self) -> io::Result<()> {
        if self.closed.get() || self.entered.get() {
            return Ok(());
        }
        self.saved.set(enter_raw_mode(&self.tty)?);
        self.entered.set(true);
        Ok(())
    }
}

/// Switches the terminal to non-canonical mode without echo; returns the settings to restore.
fn enter_raw_mode(tty: &File) -> io::Result<libc::termios> {
    // SAFETY: an all-zero `termios` is a valid value for `tcgetattr` to overwrite.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: `tty` is an open descriptor and `saved` a valid, writable `termios`.
    if unsafe { libc::tcgetattr(tty.as_raw_fd(), &mut saved) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut raw = saved;
    raw.c_lflag &= !(libc::ICANON | libc::ECHO);
    raw.c_cc[libc::VMIN] = 1;
    raw.c_cc[libc::VTIME] = 0;
    // SAFETY: `raw` is a valid `termios` derived from the terminal's own.
    if unsafe { libc::tcsetattr(tty.as_raw_fd(), libc::TCSANOW, &raw) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(saved)
}

impl Drop for Keyboard {
    fn drop(&mut self) {
        if let Some(mode) = &self.mode {
            mode.closed.set(true);
            mode.restore();
        }
    }
}

/// Turns bytes from the terminal into [`Key`]s: a small line editor (Backspace, Ctrl-U) that skips
/// escape sequences rather than typing them, save the up and down arrows on an empty line.
#[derive(Debug, Default)]
struct LineEditor {
    /// The line so far, as bytes (a multi-byte character may arrive in two reads).
    line: Vec<u8>,
    /// Keys inside an escape sequence are skipped, not typed.
    escape: Escape,
}

/// Where the editor is inside an escape sequence.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Escape {
    #[default]
    None,
    /// Just saw ESC.
    Started,
    /// Inside `ESC [ ...` (or `ESC O ...`), until a final byte in `@..=~`; `true` while no
    /// parameter byte has come (a bare arrow key is `ESC [ A`, a modified one `ESC [ 1 ; 5 A`).
    Csi(bool),
}

impl LineEditor {
    fn feed(&mut self, bytes: &[u8]) -> Vec<Key> {
        let mut keys = Vec::new();
        let mut changed = false;
        for &b in bytes {
            match (self.escape, b) {
                (Escape::Started, b'[' | b'O') => self.escape = Escape::Csi(true),
                (Escape::Started, _) => self.escape = Escape::None,
                (Escape::Csi(bare), 0x40..=0x7e) => {
                    self.escape = Escape::None;
                    match b {
                        b'A' if bare && self.line.is_empty() => keys.push(Key::Up),
                        b'B' if bare && self.line.is_empty() => keys.push(Key::Down),
                        _ => {}
                    }
                }
                (Escape::Csi(_), _) => self.escape = Escape::Csi(false),
                (Escape::None, 0x1b) => self.escape = Escape::Started,
                (Escape::None, b'\n' | b'\r') => {
                    let line = String::from_utf8_lossy(&self.line).trim().to_owned();
                    self.line.clear();
                    changed = true;
                    if !line.is_empty() {
                        keys.push(Key::Line(line));
                    }
                }
                (Escape::None, b'q' | b'Q') if self.line.is_empty() => keys.push(Key::Quit),
                (Escape::None, b't' | b'T') if self.line.is_empty() => keys.push(Key::ToggleTasks),
                (Escape::None, b'd' | b'D') if self.line.is_empty() => keys.push(Key::Dump),
                (Escape::None, b'c' | b'C') if self.line.is_empty() => keys.push(Key::Cancel),
                (Escape::None, b'r' | b'R') if self.line.is_empty() => keys.push(Key::Restart),
                (Escape::None, 0x7f | 0x08) => {
                    // Remove one character: its continuation bytes, then its first byte.
                    while self.line.pop().is_some_and(|b| b & 0xc0 == 0x80) {}
                    changed = true;
                }
                (Escape::None, 0x15) => {
                    self.line.clear();
                    changed = true;
                }
                (Escape::None, b) if b < 0x20 => {}
                (Escape::None, b) => {
                    self.line.push(b);
                    changed = true;
                }
            }
        }
        if changed {
            keys.push(Key::Typing(
                String::from_utf8_lossy(&self.line).into_owned(),
            ));
        }
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typing(s: &str) -> Key {
        Key::Typing(s.to_owned())
    }

    #[test]
    fn a_line_and_enter_is_a_url() {
        let mut e = LineEditor::default();
        assert_eq!(e.feed(b"http://h/x"), vec![typing("http://h/x")]);
        assert_eq!(
            e.feed(b"y\n"),
            vec![Key::Line("http://h/xy".into()), typing("")]
        );
    }

    #[test]
    fn q_quits_only_on_an_empty_line() {
        let mut e = LineEditor::default();
        assert_eq!(e.feed(b"q"), vec![Key::Quit]);
        assert_eq!(e.feed(b"aq"), vec![typing("aq")]);
        // Canonical mode delivers "q\n" at once: Enter on the empty line does nothing.
        let mut e = LineEditor::default();
        assert_eq!(e.feed(b"q\n"), vec![Key::Quit, typing("")]);
    }

    #[test]
    fn t_toggles_the_task_table_only_on_an_empty_line() {
        let mut e = LineEditor::default();
        assert_eq!(e.feed(b"tt"), vec![Key::ToggleTasks, Key::ToggleTasks]);
        assert_eq!(e.feed(b"d"), vec![Key::Dump]);
        assert_eq!(e.feed(b"ht"), vec![typing("ht")]);
    }

    #[test]
    fn arrows_c_and_r_act_on_an_empty_line_only() {
        let mut e = LineEditor::default();
        assert_eq!(
            e.feed(b"\x1b[A\x1b[B\x1bOBcr"),
            vec![Key::Up, Key::Down, Key::Down, Key::Cancel, Key::Restart]
        );
        // A modified arrow (Ctrl-Up) is not a bare one; on a line being typed, keys are typed.
        assert_eq!(e.feed(b"\x1b[1;5A"), vec![]);
        assert_eq!(e.feed(b"hc\x1b[Ar"), vec![typing("hcr")]);
    }

    #[test]
    fn editing_keys_and_escape_sequences() {
        let mut e = LineEditor::default();
        e.feed("ab\u{e9}".as_bytes());
        assert_eq!(e.feed(b"\x7f"), vec![typing("ab")]);
        assert_eq!(e.feed(b"\x1b[D\x1b[1;5Cc"), vec![typing("abc")]);
        assert_eq!(e.feed(b"\x15"), vec![typing("")]);
        assert_eq!(e.feed(b"\x01\x02"), vec![]);
    }
}
