//! Ctrl-Z, `fg` and `bg` on a real terminal: the demo gives the terminal back while stopped, takes
//! it again when continued in the foreground, keeps downloading without touching the terminal
//! when continued in the background, and its downloads carry on.
//!
//! The terminal is a pseudo-terminal, and the job control is real: a forked "shell" process leads
//! a session whose controlling terminal is the pty, and runs the demo in a process group of its
//! own, in the foreground. (A demo that led its own session would be an orphaned process group,
//! which the kernel never stops on `SIGTSTP`; a shell's child is not.) As a shell does, it takes
//! the terminal back when the demo stops, and on the test's word continues it: `fg` gives the
//! demo the terminal and sends `SIGCONT`, `bg` only sends `SIGCONT`. The test plays the user: it
//! types into the pty, reads the terminal's flags as `stty -a` would, and tells the shell `fg` or
//! `bg`.

mod common;

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The pty's local flags (`ICANON`, `ECHO`...), read through the test's own descriptor of it.
fn local_flags(slave: &OwnedFd) -> libc::tcflag_t {
    // SAFETY: an all-zero `termios` is a valid value for `tcgetattr` to overwrite.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: `slave` is an open terminal descriptor and `t` a valid, writable `termios`.
    assert_eq!(unsafe { libc::tcgetattr(slave.as_raw_fd(), &mut t) }, 0);
    t.c_lflag
}

/// The state letter of process `pid` in `/proc` (`T`: stopped), `None` once it is gone.
fn state(pid: libc::pid_t) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The state follows the command name, which is in parentheses.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// Waits up to 60 s for `done`, failing with `what` otherwise.
fn wait_for(what: &str, output: &Mutex<Vec<u8>>, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        if Instant::now() > deadline {
            let output = String::from_utf8_lossy(&output.lock().unwrap()).into_owned();
            panic!("timed out waiting until {what}; the terminal showed:\n{output}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The shell and the demo, killed if the test fails half way (a stopped demo would otherwise
/// outlive the test, and its shell would keep the test's output open).
struct Children {
    /// The "shell"; `None` once reaped.
    shell: Option<libc::pid_t>,
    /// The demo, the shell's child (so its pid is not reused while the shell is unreaped).
    demo: libc::pid_t,
    /// The shell's commands: the byte `f` (`fg`) or `b` (`bg`). Closed, the shell waits for the
    /// demo to end.
    commands: Option<OwnedFd>,
}

impl Drop for Children {
    fn drop(&mut self) {
        if let Some(shell) = self.shell {
            // SAFETY: both pids are unreaped descendants of this process.
            unsafe {
                if self.demo > 0 {
                    libc::kill(self.demo, libc::SIGKILL);
                }
                libc::kill(shell, libc::SIGKILL);
                libc::waitpid(shell, std::ptr::null_mut(), 0);
            }
        }
    }
}

/// The demo, started by a "shell" on a new pty, in the foreground.
struct Session {
    master: OwnedFd,
    slave: OwnedFd,
    children: Children,
    /// One session at a time: the shell never calls `exec`, so it keeps a copy of every
    /// descriptor the test process had open at its `fork`, another session's included. That
    /// session's command pipe would then never reach its end, nor its pty its last close.
    _alone: MutexGuard<'static, ()>,
}

/// Held by the one [`Session`] running.
static ONE_SESSION: Mutex<()> = Mutex::new(());

/// Starts the shell and the demo on a pty of its own.
fn start() -> Session {
    // A session whose test failed has still ended: its children were killed in `drop`.
    let alone = ONE_SESSION.lock().unwrap_or_else(|e| e.into_inner());
    let (master, slave) = common::openpty(40, 120);
    let (mut pid_pipe, mut command_pipe) = ([0; 2], [0; 2]);
    // SAFETY: each array has room for the two descriptors.
    let piped = unsafe {
        libc::pipe2(pid_pipe.as_mut_ptr(), libc::O_CLOEXEC)
            | libc::pipe2(command_pipe.as_mut_ptr(), libc::O_CLOEXEC)
    };
    assert_eq!(piped, 0);

    // Everything the children need is made before `fork`: after it, only async-signal-safe calls.
    let exe = CString::new(env!("CARGO_BIN_EXE_demo")).unwrap();
    let argv = [exe.as_ptr(), std::ptr::null()];
    let env: Vec<CString> = std::env::vars()
        .filter(|(k, _)| k != "TERM")
        .map(|(k, v)| CString::new(format!("{k}={v}")).unwrap())
        .chain([CString::new("TERM=xterm").unwrap()])
        .collect();
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
    envp.push(std::ptr::null());
    let (master_fd, slave_fd) = (master.as_raw_fd(), slave.as_raw_fd());

    // SAFETY: the child only makes async-signal-safe calls (setsid, ioctl, fork, setpgid,
    // sigaction via `signal`, tcsetpgrp, kill, read, dup2, execve, waitpid, write, _exit) on data
    // made before the fork.
    let shell = unsafe { libc::fork() };
    assert!(shell >= 0, "fork failed");
    if shell == 0 {
        // SAFETY: see above; every call here is async-signal-safe.
        unsafe {
            libc::setsid();
            libc::ioctl(slave_fd, libc::TIOCSCTTY, 0);
            // Not the test's output: the shell must not hold it open.
            for fd in 0..3 {
                libc::dup2(slave_fd, fd);
            }
            // A shell ignores SIGTTOU, so that it can take the terminal back from a stopped job.
            libc::signal(libc::SIGTTOU, libc::SIG_IGN);
            let demo = libc::fork();
            if demo == 0 {
                libc::setpgid(0, 0);
                // Take the foreground as a shell's child does (SIGTTOU still ignored).
                libc::tcsetpgrp(slave_fd, libc::getpid());
                libc::signal(libc::SIGTTOU, libc::SIG_DFL);
                for fd in 0..3 {
                    libc::dup2(slave_fd, fd);
                }
                libc::close(master_fd);
                libc::execve(exe.as_ptr(), argv.as_ptr(), envp.as_ptr());
                libc::_exit(127);
            }
            libc::setpgid(demo, demo);
            libc::write(
                pid_pipe[1],
                (&raw const demo).cast(),
                size_of::<libc::pid_t>(),
            );
            libc::close(command_pipe[1]);
            // The user's commands, until the test has no more: `b` takes the terminal back (as a
            // shell does when its job stops) and continues the demo in the background; `f` gives
            // the demo the terminal and continues it, stopped or running in the background.
            let mut command = 0u8;
            while libc::read(command_pipe[0], (&raw mut command).cast(), 1) == 1 {
                let foreground = if command == b'f' {
                    demo
                } else {
                    libc::getpgrp()
                };
                libc::tcsetpgrp(slave_fd, foreground);
                libc::kill(-demo, libc::SIGCONT);
            }
            let mut status = 0;
            // Without WUNTRACED: returns when the demo ends, not when it stops.
            while libc::waitpid(demo, &mut status, 0) != demo {}
            let code = if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                100
            };
            libc::_exit(code);
        }
    }
    // SAFETY: the parent's copies of the ends the shell uses are closed once; `command_pipe[1]`
    // is open and owned by nothing else.
    let commands = unsafe {
        libc::close(command_pipe[0]);
        libc::close(pid_pipe[1]);
        Some(OwnedFd::from_raw_fd(command_pipe[1]))
    };
    let mut children = Children {
        shell: Some(shell),
        demo: 0,
        commands,
    };
    // SAFETY: the read end is read once, then closed.
    children.demo = unsafe {
        let mut pid: libc::pid_t = 0;
        let n = libc::read(pid_pipe[0], (&raw mut pid).cast(), size_of::<libc::pid_t>());
        libc::close(pid_pipe[0]);
        assert_eq!(
            n as usize,
            size_of::<libc::pid_t>(),
            "the shell did not start the demo"
        );
        pid
    };
    Session {
        master,
        slave,
        children,
        _alone: alone,
    }
}

impl Session {
    /// Whether the terminal is in the demo's mode (no line editing, no echo).
    fn raw(&self) -> bool {
        local_flags(&self.slave) & (libc::ICANON | libc::ECHO) == 0
    }

    /// Types `bytes` into the terminal.
    fn type_in(&self, bytes: &[u8]) {
        // SAFETY: `bytes` is valid for its length, written to the open master.
        let typed =
            unsafe { libc::write(self.master.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) };
        assert_eq!(typed, bytes.len() as isize);
    }

    /// Tells the shell `fg` (`b'f'`) or `bg` (`b'b'`).
    fn shell_command(&self, command: u8) {
        let commands = self.children.commands.as_ref().unwrap().as_raw_fd();
        // SAFETY: one valid byte written to the open pipe.
        let sent = unsafe { libc::write(commands, (&raw const command).cast(), 1) };
        assert_eq!(sent, 1);
    }

    /// Ctrl-Z, typed, and the demo seen stopped with the terminal given back.
    fn ctrl_z(&self, output: &Mutex<Vec<u8>>) {
        self.type_in(&[0x1a]);
        let demo = self.children.demo;
        wait_for("the demo is stopped", output, || state(demo) == Some('T'));
        let flags = local_flags(&self.slave);
        assert!(
            flags & libc::ICANON != 0 && flags & libc::ECHO != 0,
            "stopped with the terminal still raw: ICANON {}, ECHO {}",
            flags & libc::ICANON != 0,
            flags & libc::ECHO != 0
        );
    }

    /// `fg`, then the run to its end: it completes, and draws its bars again after `fg`.
    fn fg_to_the_end(mut self, output: &Mutex<Vec<u8>>, reader: std::thread::JoinHandle<()>) {
        let shown_before_fg = output.lock().unwrap().len();
        self.shell_command(b'f');
        // No more commands: the shell waits for the demo's end.
        self.children.commands = None;
        let demo = self.children.demo;
        wait_for("the demo takes the terminal again", output, || {
            state(demo) != Some('T') && self.raw()
        });
        let output = self.wait_for_the_end(output, reader);
        let after_fg = String::from_utf8_lossy(&output.as_bytes()[shown_before_fg..]);
        assert!(after_fg.contains("total"), "no bars after fg:\n{after_fg}");
    }

    /// Waits for the run's end, once the shell has had its last command: the run completed,
    /// every file verified. Returns all the terminal showed.
    fn wait_for_the_end(
        mut self,
        output: &Mutex<Vec<u8>>,
        reader: std::thread::JoinHandle<()>,
    ) -> String {
        let shell = self.children.shell.unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut status = 0;
        // SAFETY: `shell` is our child; WNOHANG polls without blocking.
        while unsafe { libc::waitpid(shell, &mut status, libc::WNOHANG) } == 0 {
            assert!(
                Instant::now() < deadline,
                "the demo did not finish (state {:?})",
                state(self.children.demo)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.children.shell = None;
        drop(self.slave);
        reader.join().unwrap();
        let output = String::from_utf8_lossy(&output.lock().unwrap()).into_owned();
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "status {status:#x}\n{output}"
        );
        assert!(
            output.contains("verified byte for byte: 8 of 8 files"),
            "{output}"
        );
        output
    }
}

/// Bytes process `pid` has read so far (`rchar` in `/proc/PID/io`: sockets included).
fn bytes_read(pid: libc::pid_t) -> u64 {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap();
    let line = io.lines().find_map(|l| l.strip_prefix("rchar: ")).unwrap();
    line.parse().unwrap()
}

#[test]
fn ctrl_z_gives_the_terminal_back_and_fg_takes_it_again() {
    let session = start();
    let (output, reader) = common::read_terminal(&session.master);
    wait_for("the demo puts the terminal in its mode", &output, || {
        session.raw()
    });
    session.ctrl_z(&output);
    session.fg_to_the_end(&output, reader);
}

#[test]
fn bg_keeps_downloading_without_the_terminal_until_fg() {
    let session = start();
    let demo = session.children.demo;
    let (output, reader) = common::read_terminal(&session.master);
    wait_for("the demo puts the terminal in its mode", &output, || {
        session.raw()
    });
    session.ctrl_z(&output);

    // `bg`: the demo runs on in the background. Taking the terminal (tcsetattr) or reading it
    // there would stop it again at once, with SIGTTOU or SIGTTIN.
    let (shown_before_bg, read_before_bg) = (output.lock().unwrap().len(), bytes_read(demo));
    session.shell_command(b'b');
    std::thread::sleep(Duration::from_secs(2));
    assert_ne!(state(demo), Some('T'), "stopped again after bg");
    assert!(
        bytes_read(demo) > read_before_bg,
        "no download went on after bg"
    );
    let drawn = output.lock().unwrap()[shown_before_bg..].to_vec();
    assert!(
        drawn.is_empty(),
        "drew on the shell's terminal after bg: {:?}",
        String::from_utf8_lossy(&drawn)
    );
    assert!(!session.raw(), "took the terminal after bg");
    // The user types a command to the shell, which reads it: not the demo's input.
    session.type_in(b"ls\n");
    std::thread::sleep(Duration::from_millis(500));
    let mut line = [0u8; 16];
    // SAFETY: `line` is valid for its length; the line typed is there to be read.
    let n = unsafe {
        libc::read(
            session.slave.as_raw_fd(),
            line.as_mut_ptr().cast(),
            line.len(),
        )
    };
    assert_eq!(&line[..n.max(0) as usize], b"ls\n");
    std::thread::sleep(Duration::from_millis(500));
    assert_ne!(
        state(demo),
        Some('T'),
        "stopped by the shell's input after bg"
    );

    // `fg` of the running job: the terminal is the demo's again, and so are the bars.
    session.fg_to_the_end(&output, reader);
}

#[test]
fn a_run_continued_with_bg_ends_in_the_background_and_leaves_the_terminal_alone() {
    let mut session = start();
    let (output, reader) = common::read_terminal(&session.master);
    wait_for("the demo puts the terminal in its mode", &output, || {
        session.raw()
    });
    session.ctrl_z(&output);
    session.shell_command(b'b');
    // No `fg`: the run ends in the background, where giving the terminal its settings back
    // (they are already the shell's) would stop it with SIGTTOU instead.
    session.children.commands = None;
    // The master reads the same settings (Linux), and outlives the session's slave.
    let master = session.master.try_clone().unwrap();
    session.wait_for_the_end(&output, reader);
    let flags = local_flags(&master);
    assert!(
        flags & libc::ICANON != 0 && flags & libc::ECHO != 0,
        "left the terminal raw"
    );
}
