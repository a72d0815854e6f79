//! What the kernel says about a process and the machine: a child's resource usage, this
//! process's thread count, the open-file limit, the listen queue's overflows.

use std::io;
use std::process::Child;

/// Waits for `child` with `wait4(2)`, which (unlike `Child::wait`) also returns its resource
/// usage: peak resident memory and context switches, all of its threads together.
pub fn wait4(child: &Child) -> io::Result<(i32, libc::rusage)> {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `rusage` is plain integers, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live locals of the right types for the whole call; `pid`
        // is our own unreaped child (std's `Child` never waited for it), so it cannot be reused.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
            return Ok((code.unwrap_or(-1), usage));
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// The soft and hard `RLIMIT_NOFILE`.
pub fn open_file_limit() -> (u64, u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a live, writable `rlimit` for the whole call.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (limit.rlim_cur, limit.rlim_max)
}

/// Raises the soft `RLIMIT_NOFILE` to the hard one, as glass's reactor does when it starts (the
/// threads design has no reactor, and must not have fewer descriptors than the tasks).
pub fn raise_open_file_limit() {
    let (_, hard) = open_file_limit();
    let limit = libc::rlimit {
        rlim_cur: hard,
        rlim_max: hard,
    };
    // SAFETY: `limit` is a live, initialised `rlimit`; the call only reads it.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
}

/// This process's `Threads:` line in `/proc/self/status`.
pub fn thread_count() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Threads:")?.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The kernel's count of connections that found a listen queue full (`TcpExt: ListenOverflows`
/// in `/proc/net/netstat`, for the whole machine).
pub fn listen_overflows() -> Option<u64> {
    let netstat = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let mut tcp_ext = netstat.lines().filter(|line| line.starts_with("TcpExt:"));
    let (names, values) = (tcp_ext.next()?, tcp_ext.next()?);
    let at = names
        .split_whitespace()
        .position(|name| name == "ListenOverflows")?;
    values.split_whitespace().nth(at)?.parse().ok()
}

pub fn read_number(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}
