//! The parent: starts the server and one child process per run (a design at one N), collects
//! what each reports and what the kernel counted for it, and prints the table.

use std::io::{self, BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::measure::{listen_overflows, open_file_limit, read_number, wait4};
use crate::report::{Row, print_row, show, what_to_notice};
use crate::{BODY, GLASS_BACKLOG, HOLD, ROLE, SLICES};

/// `[--sizes 100,1000]`: every design at every N, each in a child of its own, then the lesson.
pub fn run(args: &[String]) -> io::Result<()> {
    let sizes = parse_sizes(args)?;
    let (soft, hard) = open_file_limit();
    println!(
        "threads vs tasks: N downloads at once of {} KiB each, which a throttled",
        BODY / 1024
    );
    println!("local server sends in {SLICES} slices over {HOLD:?}, so each waits about that long.");
    println!(
        "limits: open files {soft} (soft, raised to the hard {hard}); listen backlog {} \
         (glass {GLASS_BACKLOG}, somaxconn {}); threads-max {}",
        GLASS_BACKLOG.min(read_number("/proc/sys/net/core/somaxconn").unwrap_or(u64::MAX)),
        show(read_number("/proc/sys/net/core/somaxconn")),
        show(read_number("/proc/sys/kernel/threads-max")),
    );
    println!();

    let mut server = Server::start()?;
    println!(
        "{:<8} {:>9} {:>8} {:>8} {:>12} {:>17} {:>13} {:>10}  all finished",
        "design",
        "downloads",
        "wall",
        "threads",
        "peak memory",
        "context switches",
        "slowest head",
        "overflows"
    );
    let mut rows = Vec::new();
    for &n in &sizes {
        // Each end of each connection is a descriptor, in its own process; plus a margin.
        if n as u64 + 64 > hard {
            println!("N = {n}: skipped, it needs {n} open files and the hard limit is {hard}");
            continue;
        }
        for design in ["threads", "tasks"] {
            let row = run_child(design, n, server.addr)?;
            print_row(&row);
            rows.push(row);
        }
    }
    server.stop();
    println!();
    what_to_notice(&rows);
    Ok(())
}

/// `--sizes 100,1000` (default: 100, 1000 and 10000).
fn parse_sizes(args: &[String]) -> io::Result<Vec<usize>> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, what.to_owned());
    match args {
        [] => Ok(vec![100, 1_000, 10_000]),
        [flag, list] if flag == "--sizes" => list
            .split(',')
            .map(|n| n.trim().parse().ok().filter(|&n| n > 0))
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| bad("--sizes takes numbers above 0, such as --sizes 20,50")),
        _ => Err(bad("usage: threads_vs_tasks [--sizes 100,1000,10000]")),
    }
}

/// The server child: its address, and its stdin, whose closing tells it to exit.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start() -> io::Result<Server> {
        let mut child = Command::new(std::env::current_exe()?)
            .env(ROLE, "server")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().expect("stdout was piped");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .strip_prefix("listening ")
            .and_then(|addr| addr.trim().parse().ok())
            .ok_or_else(|| io::Error::other(format!("the server said {line:?}")))?;
        Ok(Server { child, addr })
    }

    /// Closes the server's stdin, which makes it exit, and reaps it.
    fn stop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Runs `design` for `n` downloads in a child process; its rusage comes from `wait4`.
fn run_child(design: &'static str, n: usize, addr: SocketAddr) -> io::Result<Row> {
    let overflows_before = listen_overflows();
    let mut child = Command::new(std::env::current_exe()?)
        .env(ROLE, design)
        .args([n.to_string(), addr.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout was piped")
        .read_to_string(&mut out)?;
    let (status, usage) = wait4(&child)?;
    let overflows = Option::zip(listen_overflows(), overflows_before).map(|(a, b)| a - b);
    let report = out
        .lines()
        .find_map(|line| line.strip_prefix("result "))
        .filter(|_| status == 0)
        .ok_or_else(|| io::Error::other(format!("the {design} run for {n} failed: {out}")))?;
    // `result <wall ns> <threads> <failed> <slowest head ns> <first error...>`
    let mut fields = report.splitn(5, ' ');
    let mut number = || -> io::Result<u64> {
        fields
            .next()
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| io::Error::other(format!("a bad report: {report:?}")))
    };
    let (wall, threads, failed, slowest_head) = (number()?, number()?, number()?, number()?);
    Ok(Row {
        design,
        n,
        wall: Duration::from_nanos(wall),
        threads: threads as usize,
        peak_memory: usage.ru_maxrss as u64 * 1024,
        switches: (usage.ru_nvcsw + usage.ru_nivcsw) as u64,
        failed: failed as usize,
        slowest_head: Duration::from_nanos(slowest_head),
        overflows,
        first_error: fields.next().unwrap_or("").to_owned(),
    })
}
