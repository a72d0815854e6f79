//! The table's rows, and the lesson drawn from the numbers just measured.

use std::time::Duration;

use crate::{GLASS_BACKLOG, HOLD};

/// What one run (a design at one N) reported about itself, and what the kernel did for it.
pub struct Row {
    /// `threads` or `tasks`.
    pub design: &'static str,
    /// How many downloads ran at once.
    pub n: usize,
    /// As the run measured it: from before its first download started to after its last ended.
    pub wall: Duration,
    /// The most threads the run's process had at once.
    pub threads: usize,
    /// `ru_maxrss` of the run's process, in bytes.
    pub peak_memory: u64,
    /// Voluntary plus involuntary context switches of all its threads.
    pub switches: u64,
    /// The longest any download waited for its response head: past `HOLD`'s first slice, a
    /// connection that queued (for a thread to start, or for a SYN retry past the backlog).
    pub slowest_head: Duration,
    /// How many times, during the run, a connection found the server's accept queue full (the
    /// kernel's `ListenOverflows`, counted for the whole machine; `None` where unreadable).
    pub overflows: Option<u64>,
    /// Downloads that failed (0: all finished), and the first one's error.
    pub failed: usize,
    pub first_error: String,
}

pub fn print_row(row: &Row) {
    let finished = match row.failed {
        0 => "yes".to_owned(),
        failed => format!("no: {failed} failed ({})", row.first_error),
    };
    println!(
        "{:<8} {:>9} {:>6.2} s {:>8} {:>8.1} MiB {:>17} {:>11.2} s {:>10}  {finished}",
        row.design,
        row.n,
        row.wall.as_secs_f64(),
        row.threads,
        mib(row.peak_memory),
        row.switches,
        row.slowest_head.as_secs_f64(),
        show(row.overflows),
    );
}

/// The lesson, from the numbers just measured: per N, how far apart the designs were.
pub fn what_to_notice(rows: &[Row]) {
    println!("what to notice:");
    for pair in rows.chunks(2) {
        let [threads, tasks] = pair else { continue };
        let n = threads.n;
        let memory = mib(threads.peak_memory) - mib(tasks.peak_memory);
        let per_download = (threads.peak_memory as f64 - tasks.peak_memory as f64) / n as f64;
        let slower = threads.wall.as_secs_f64() / tasks.wall.as_secs_f64();
        let mut said = format!(
            "- N = {n}: {} threads against {}; {:.1} MiB more memory for threads ({:+.1} KiB a \
             download), {}x the context switches",
            threads.threads,
            tasks.threads,
            memory,
            per_download / 1024.0,
            ratio(threads.switches, tasks.switches),
        );
        let both = format!(
            "{:.1} s and {:.1} s",
            threads.wall.as_secs_f64(),
            tasks.wall.as_secs_f64()
        );
        said += &if threads.failed > 0 || tasks.failed > 0 {
            format!(
                "; not all finished (threads {} failed, tasks {})",
                threads.failed, tasks.failed
            )
        } else if slower > 1.25 {
            format!("; threads took {slower:.1}x as long ({both})")
        } else if slower < 0.8 {
            format!("; tasks took {:.1}x as long ({both})", 1.0 / slower)
        } else if threads.wall.max(tasks.wall) < HOLD + HOLD / 4 {
            "; both took about the server's 2 s".to_owned()
        } else {
            format!("; both took about as long ({both})")
        };
        let overflows = threads.overflows.unwrap_or(0) + tasks.overflows.unwrap_or(0);
        if overflows > 0 && threads.slowest_head.max(tasks.slowest_head) > HOLD / 4 {
            said += &format!(
                ". {overflows} connects found the server's accept queue ({GLASS_BACKLOG}) full, \
                 and the slowest head came after {:.2} s (threads) and {:.2} s (tasks): those \
                 connects waited for a SYN retry. The tasks' connects all leave at once, the \
                 threads' only as fast as threads start; that wait is the server's queue, not \
                 the cost of either design",
                threads.slowest_head.as_secs_f64(),
                tasks.slowest_head.as_secs_f64(),
            );
        }
        println!("{said}.");
    }
    println!(
        "- Waiting costs a thread its stack's touched pages and a kernel task to schedule; a task \
         costs its future's size. Each thread reserves 2 MiB of address space, but only what it \
         touches is resident: that is the memory column."
    );
    println!(
        "- Where the wall times match, the threads were not the bottleneck: the server was. The \
         overhead shows as memory and context switches first, and as time only when there are \
         enough threads that creating and scheduling them is a part of the wait."
    );
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn ratio(a: u64, b: u64) -> String {
    match b {
        0 => "∞".to_owned(),
        b => format!("{:.0}", a as f64 / b as f64),
    }
}

pub fn show(value: Option<u64>) -> String {
    value.map_or("?".to_owned(), |v| v.to_string())
}
