//! `compare --instructions`: user-space instructions per operation, counted by callgrind.
//!
//! Time on a shared 2-core machine moves with whatever else runs; the number of instructions a
//! program executes does not. So for the CPU-side workloads this is the figure to quote, and time
//! stays the figure for the kernel-bound ones (whose cost is in system calls, which callgrind
//! does not see: it counts user space only).
//!
//! ## How a count is taken
//! For each workload and runtime, the `compare` executable runs under
//! `valgrind --tool=callgrind` as `compare --once <workload> <runtime> <size> <runs>`, which runs
//! that one version `runs` times and nothing else. It does so twice, with 1 run and with
//! [`RUNS`] runs; the difference, divided by the operations of the extra runs, is the cost of an
//! operation in a warm process. Everything both invocations share cancels: loading the program,
//! building tokio's runtime, the first run's one-time costs (lazy statics, the allocator's first
//! pages).
//!
//! many_connections's server under test is a child process: there only the child runs under
//! callgrind (started through [`SERVER_WRAP`]), and the shared tokio client, natively, stays out
//! of the count. Each run is a new child, so there the count includes the child's start-up, a
//! few hundred thousand instructions spread over the run's connections.
//!
//! ## Caveats
//! - Valgrind runs one thread at a time. Where threads meet (cross_thread_wake's senders, the
//!   HTTP workloads' server threads, the blocking reference) the interleaving is not the one a
//!   real run has, and the counts include the other threads' work, which is the same for every
//!   runtime: the ratios are diluted towards 1 there.
//! - The sizes are the `--quick` ones: callgrind runs a program some 50 times slower.
//! - Instructions are not all equal: a 64-byte vector store is one, and so is an add. Bulk
//!   copying (bulk_transfer, the HTTP bodies) is mostly the kernel's, which is not counted; see
//!   [`NO_REP_STRINGS`] for the user-space copies.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::Contender;
use crate::compare::{Options, format_ratio};
use crate::workloads::Workload;
use crate::workloads::many_connections::SERVER_WRAP;

/// glibc copies and clears large blocks with `rep movsb` / `rep stosb`, and valgrind counts every
/// iteration of those as one instruction: a 64 KiB `memset` reads as tens of thousands of
/// instructions, though it costs about as much as a few thousand vector stores. These tunables
/// make glibc use its vector loops at every size, whose instructions are counted as executed.
pub const NO_REP_STRINGS: &str =
    "glibc.cpu.x86_rep_movsb_threshold=4294967295:glibc.cpu.x86_rep_stosb_threshold=4294967295";

/// The runs of the longer of the two invocations; the shorter has one.
pub const RUNS: usize = 3;

/// The runtimes counted, in the table's order (the blocking reference's cost is mostly other
/// threads' and the kernel's; it is left out), and glass again with task timing on.
pub const RUNTIMES: [Contender; 4] = [
    Contender::Glass,
    Contender::Tokio,
    Contender::Smol,
    Contender::GlassTimed,
];

/// What was counted for one workload.
pub struct Count {
    /// Which workload.
    pub workload: &'static Workload,
    /// The size it ran at.
    pub size: usize,
    /// User-space instructions per operation, for each of [`RUNTIMES`] (NaN for one that has no
    /// version of the workload).
    pub per_op: [f64; 4],
}

impl Count {
    /// `peer`'s instructions over glass's (above 1: glass executes fewer).
    pub fn ratio(&self, peer: Contender) -> f64 {
        let at = |c| RUNTIMES.iter().position(|&r| r == c).expect("a runtime");
        self.per_op[at(peer)] / self.per_op[at(Contender::Glass)]
    }
}

/// Counts one workload on every runtime, keeping callgrind's files in `dir`.
pub fn count(exe: &Path, dir: &Path, workload: &'static Workload) -> io::Result<Count> {
    let size = workload.quick_size;
    let extra_ops = ((RUNS - 1) as u64 * (workload.ops)(size)) as f64;
    let mut per_op = [f64::NAN; 4];
    for (slot, runtime) in per_op.iter_mut().zip(RUNTIMES) {
        if workload.arm(runtime).is_none() {
            continue;
        }
        let one = instructions(exe, dir, workload, runtime, size, 1)?;
        let many = instructions(exe, dir, workload, runtime, size, RUNS)?;
        *slot = many.saturating_sub(one) as f64 / extra_ops;
    }
    Ok(Count {
        workload,
        size,
        per_op,
    })
}

/// The instructions callgrind counted for `compare --once <workload> <runtime> <size> <runs>`
/// (for many_connections, in its server processes only).
fn instructions(
    exe: &Path,
    dir: &Path,
    workload: &Workload,
    runtime: Contender,
    size: usize,
    runs: usize,
) -> io::Result<u64> {
    let stem = format!("{}.{runtime}.{runs}", workload.name);
    let callgrind = format!(
        "valgrind --tool=callgrind -q --callgrind-out-file={}.%p",
        dir.join(&stem).display()
    );
    let mut command = if workload.name == "many_connections" {
        let mut command = Command::new(exe);
        command.env(SERVER_WRAP, &callgrind);
        command
    } else {
        let mut words = callgrind.split(' ');
        let mut command = Command::new(words.next().expect("valgrind"));
        command.args(words).arg(exe);
        command
    };
    let output = command
        .env("GLIBC_TUNABLES", NO_REP_STRINGS)
        .args(["--once", workload.name, runtime.name()])
        .args([size.to_string(), runs.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run valgrind: {e}")))?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "{stem} under callgrind failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let mut total = 0;
    let mut files = 0;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name
            .strip_prefix(&stem)
            .is_some_and(|rest| rest.starts_with('.'))
        {
            total += summary(&std::fs::read_to_string(&path)?)
                .ok_or_else(|| io::Error::other(format!("{}: no summary line", path.display())))?;
            files += 1;
        }
    }
    if files == 0 {
        return Err(io::Error::other(format!("{stem}: callgrind wrote no file")));
    }
    Ok(total)
}

/// The total instruction count in a callgrind output file (its `summary:` line, or `totals:`).
pub fn summary(callgrind_out: &str) -> Option<u64> {
    let line = |key: &str| {
        callgrind_out
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
    };
    line("summary:").or_else(|| line("totals:"))
}

/// The table's header.
pub fn table_header() -> String {
    format!(
        "{:<17} {:>6} {:<10} {:>10} {:>10} {:>10} {:>6} {:>6} {:>10} {:>6}",
        "workload",
        "size",
        "op",
        "glass Ir",
        "tokio Ir",
        "smol Ir",
        "t÷g",
        "s÷g",
        "timed Ir",
        "timed"
    )
}

/// One row: instructions per operation and the peers' over glass's.
pub fn table_row(c: &Count) -> String {
    format!(
        "{:<17} {:>6} {:<10} {:>10.0} {:>10.0} {:>10.0} {:>6.2} {:>6.2} {:>10} {:>6}",
        c.workload.name,
        c.size,
        c.workload.unit,
        c.per_op[0],
        c.per_op[1],
        c.per_op[2],
        c.ratio(Contender::Tokio),
        c.ratio(Contender::Smol),
        if c.per_op[3].is_nan() {
            "-".into()
        } else {
            format!("{:.0}", c.per_op[3])
        },
        format_ratio(c.ratio(Contender::GlassTimed))
    )
}

/// Counts the selected workloads and prints the table to `out` as rows complete.
pub fn run(exe: &Path, options: &Options, out: &mut impl Write) -> io::Result<Vec<Count>> {
    let dir = scratch_dir()?;
    let started = Instant::now();
    writeln!(out, "{}", table_header())?;
    let mut counts = Vec::new();
    let mut failed = Vec::new();
    for workload in options.workloads() {
        eprintln!("compare --instructions: counting {} ...", workload.name);
        match count(exe, &dir, workload) {
            Ok(c) => {
                writeln!(out, "{}", table_row(&c))?;
                counts.push(c);
            }
            Err(e) => {
                writeln!(out, "{:<17} failed: {e}", workload.name)?;
                failed.push(workload.name);
            }
        }
        out.flush()?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mut line = format!(
        "\nIr: user-space instructions per operation (callgrind; {RUNS} runs minus 1, quick sizes); \
         t÷g, s÷g: tokio's, smol's over glass's (>1: glass executes fewer); timed Ir: glass with \
         task timing on (glass+timing), timed: its instructions over glass's\ntook {:.0} s",
        started.elapsed().as_secs_f64()
    );
    if !failed.is_empty() {
        let _ = write!(line, "; not counted: {}", failed.join(", "));
    }
    writeln!(out, "{line}")?;
    Ok(counts)
}

/// A fresh directory for callgrind's files, under the system's temporary directory.
fn scratch_dir() -> io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("compare-callgrind-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_reads_callgrinds_total() {
        let out = "version: 1\ncmd: x\nevents: Ir\nfn=main\n1 5\nsummary: 123456\ntotals: 9\n";
        assert_eq!(summary(out), Some(123456));
        assert_eq!(summary("events: Ir\ntotals: 77\n"), Some(77));
        assert_eq!(summary("events: Ir\n"), None);
    }
}
