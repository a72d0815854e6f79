//! Ctrl-Z and `fg` on a real terminal: the demo gives the terminal back while stopped, takes it
//! again when continued, and its downloads carry on.
//!
//! The terminal is a pseudo-terminal, and the job control is real: a forked "shell" process leads
//! a session whose controlling terminal is the pty, and runs the demo in a process group of its
//! own, in the foreground. (A demo that led its own session would be an orphaned process group,
//! which the kernel never stops on `SIGTSTP`; a shell's child is not.) The test plays the user:
//! it types Ctrl-Z into the pty, reads the terminal's flags as `stty -a` would, and sends
//! `SIGCONT` as `fg` does.

mod common;

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The pty's local flags (`ICANON`, `ECHO`...), read through the test's own slave descriptor.
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

#[test]
fn ctrl_z_gives_the_terminal_back_and_fg_takes_it_again() {
    let (master, slave) = common::openpty(40, 120);
    let mut pid_pipe = [0; 2];
    // SAFETY: `pid_pipe` has room for the two descriptors.
    let piped = unsafe { libc::pipe2(pid_pipe.as_mut_ptr(), libc::O_CLOEXEC) };
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
    // sigaction via `signal`, dup2, execve, waitpid, write, _exit) on data made before the fork.
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
            let demo = libc::fork();
            if demo == 0 {
                libc::setpgid(0, 0);
                // Take the foreground as a shell's child does (SIGTTOU ignored meanwhile).
                libc::signal(libc::SIGTTOU, libc::SIG_IGN);
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
    let mut children = Children {
        shell: Some(shell),
        demo: 0,
    };
    // SAFETY: the parent's copy of the write end is closed once; the read end is read once.
    children.demo = unsafe {
        libc::close(pid_pipe[1]);
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
    let demo = children.demo;

    let (output, reader) = common::read_terminal(&master);
    let raw = || local_flags(&slave) & (libc::ICANON | libc::ECHO) == 0;
    wait_for("the demo puts the terminal in its mode", &output, raw);

    // Ctrl-Z, typed.
    // SAFETY: one valid byte written to the open master.
    let typed = unsafe { libc::write(master.as_raw_fd(), [0x1au8].as_ptr().cast(), 1) };
    assert_eq!(typed, 1);
    wait_for("the demo is stopped", &output, || state(demo) == Some('T'));
    let flags = local_flags(&slave);
    assert!(
        flags & libc::ICANON != 0 && flags & libc::ECHO != 0,
        "stopped with the terminal still raw: ICANON {}, ECHO {}",
        flags & libc::ICANON != 0,
        flags & libc::ECHO != 0
    );

    // `fg`. What the terminal shows from here on must include the bars, drawn again.
    let shown_before_fg = output.lock().unwrap().len();
    // SAFETY: `demo` is the shell's unreaped child, so its pid cannot have been reused.
    let continued = unsafe { libc::kill(demo, libc::SIGCONT) };
    assert_eq!(continued, 0);
    wait_for("the demo takes the terminal again", &output, || {
        state(demo) != Some('T') && raw()
    });

    let deadline = Instant::now() + Duration::from_secs(120);
    let mut status = 0;
    // SAFETY: `shell` is our child; WNOHANG polls without blocking.
    while unsafe { libc::waitpid(shell, &mut status, libc::WNOHANG) } == 0 {
        assert!(
            Instant::now() < deadline,
            "the demo did not finish after fg"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    children.shell = None;
    drop(slave);
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
    let after_fg = String::from_utf8_lossy(&output.as_bytes()[shown_before_fg..]);
    assert!(after_fg.contains("total"), "no bars after fg:\n{after_fg}");
}
