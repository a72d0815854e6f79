//! `compare`: every workload on glass and tokio in alternation, one table.
//!
//! ```text
//! cargo run --release -p benches --bin compare                   # everything, about 1-3 minutes
//! cargo run --release -p benches --bin compare -- --quick        # smaller sizes, fewer pairs
//! cargo run --release -p benches --bin compare -- tcp ping       # only workloads whose name matches
//! cargo run --release -p benches --bin compare -- --pairs 20     # exactly 20 pairs per workload
//! ```
//!
//! The table goes to stdout, progress to stderr. See `benches::compare` for how samples are taken
//! and the crate docs for how to read the numbers.
//!
//! For profiling one side: `compare --profile <workload> <glass|tokio|std> [seconds]` runs just
//! that contender's version, at full size, over and over for the given time (default 10 s), e.g.
//! `perf record -e cpu-clock -g -- target/release/compare --profile tcp_echo glass 10`.
//!
//! The same executable is also many_connections's server under test, in a child process:
//! `compare --serve many_connections <glass|tokio|std> <n>` (see
//! `benches::workloads::many_connections`).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use benches::compare::{self, Options};
use benches::instructions;
use benches::workloads::many_connections;
use benches::{Contender, Harness};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--serve") => return serve(&args[1..]),
        Some("--profile") => return profile(&args[1..]),
        Some("--once") => return once(&args[1..]),
        _ => {}
    }
    let options = match Options::parse(args) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("compare: {e}");
            eprintln!("usage: compare [--quick | --instructions] [--pairs N] [WORKLOAD...]");
            return ExitCode::from(2);
        }
    };
    let Some(harness) = harness() else {
        return ExitCode::FAILURE;
    };
    println!("{}", machine_line(&options));
    if options.instructions {
        let counted = std::env::current_exe()
            .and_then(|exe| instructions::run(&exe, &options, &mut std::io::stdout().lock()));
        return match counted {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("compare --instructions: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match compare::run(&harness, &options, &mut std::io::stdout().lock()) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("compare: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--serve many_connections <contender> <n>`: the child-process side of many_connections.
fn serve(args: &[String]) -> ExitCode {
    let parsed = match args {
        [workload, contender, n] if workload == "many_connections" => {
            Contender::from_name(contender).zip(n.parse::<usize>().ok())
        }
        _ => None,
    };
    let Some((contender, n)) = parsed else {
        eprintln!(
            "usage: compare --serve many_connections <glass|tokio|smol|std|glass+timing> <connections>"
        );
        return ExitCode::from(2);
    };
    match many_connections::child_main(contender, n) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("compare --serve many_connections {contender}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--profile <workload> <contender> [seconds]`: one contender's version, in a loop.
fn profile(args: &[String]) -> ExitCode {
    let usage = "usage: compare --profile <workload> <glass|tokio|smol|std|glass+timing> [seconds]";
    let (workload, contender, seconds) = match args {
        [w, c] => (w, c, "10"),
        [w, c, s] => (w, c, s.as_str()),
        _ => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    let (Some(workload), Some(contender), Ok(seconds)) = (
        benches::workloads::find(workload),
        Contender::from_name(contender),
        seconds.parse::<f64>(),
    ) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let Some(harness) = harness() else {
        return ExitCode::FAILURE;
    };
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let (mut runs, mut busy) = (0u64, Duration::ZERO);
    // Bounded by the deadline, and by a run count no workload reaches in a sane time.
    while Instant::now() < deadline && runs < 100_000_000 {
        match workload.run(&harness, contender, workload.size) {
            Ok(run) => busy += run.elapsed,
            Err(e) => {
                eprintln!("compare --profile: {e}");
                return ExitCode::FAILURE;
            }
        }
        runs += 1;
    }
    let ops = runs as f64 * (workload.ops)(workload.size) as f64;
    println!(
        "{} on {contender}: {runs} runs, {} per {}",
        workload.name,
        compare::format_time(busy.as_secs_f64() / ops),
        workload.unit
    );
    ExitCode::SUCCESS
}

/// `--once <workload> <contender> <size> <runs>`: that version alone, `runs` times, nothing else
/// (what `compare --instructions` runs under callgrind, and `benches/syscalls.sh` under strace).
fn once(args: &[String]) -> ExitCode {
    let parsed = match args {
        [w, c, size, runs] => benches::workloads::find(w)
            .zip(Contender::from_name(c))
            .zip(size.parse::<usize>().ok().zip(runs.parse::<usize>().ok())),
        _ => None,
    };
    let Some(((workload, contender), (size, runs))) = parsed else {
        eprintln!(
            "usage: compare --once <workload> <glass|tokio|smol|std|glass+timing> <size> <runs>"
        );
        return ExitCode::from(2);
    };
    let Some(harness) = harness() else {
        return ExitCode::FAILURE;
    };
    for _ in 0..runs {
        if let Err(e) = workload.run(&harness, contender, size) {
            eprintln!("compare --once: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// What the table was measured on: date (UTC), CPU, cores, mode.
fn machine_line(options: &Options) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
                .map(|(_, name)| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "compare: glass vs tokio current_thread vs smol LocalExecutor, {} UTC, {cpu}, {cores} CPUs{}",
        today_utc(),
        if options.quick { ", --quick" } else { "" }
    )
}

/// The harness, which re-runs this very binary for the parts measured in a child process; `None`
/// (after saying why) when it cannot be set up.
fn harness() -> Option<Harness> {
    match std::env::current_exe().and_then(|exe| Harness::new(Some(exe))) {
        Ok(harness) => Some(harness),
        Err(e) => {
            eprintln!("compare: cannot set up: {e}");
            None
        }
    }
}

/// Today's date as `YYYY-MM-DD`, from the system clock (Howard Hinnant's civil-from-days).
fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
