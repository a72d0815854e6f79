//! The `compare` table: how an [`Outcome`] becomes a row, the memory lines under the table and
//! the closing summary. Formatting only; what the figures mean is measured in `mod.rs`.

use std::fmt::Write as _;

use super::Outcome;
use crate::Contender;

/// `1.23 µs`, `456 ns`, `12.3 ms`: three significant digits.
pub fn format_time(seconds: f64) -> String {
    if seconds.is_nan() {
        return "-".into();
    }
    let (value, unit) = if seconds >= 1.0 {
        (seconds, "s")
    } else if seconds >= 1e-3 {
        (seconds * 1e3, "ms")
    } else if seconds >= 1e-6 {
        (seconds * 1e6, "µs")
    } else {
        (seconds * 1e9, "ns")
    };
    let digits = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.digits$} {unit}")
}

fn format_bytes(bytes: f64) -> String {
    if bytes >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB", bytes / 1024.0)
    }
}

/// The header line of the table.
pub fn table_header() -> String {
    format!(
        "{:<17} {:>6} {:<10} {:>8} {:>8} {:>8} {:>5} {:<11} {:>5} {:<11} {:>9} {:>8} {:>6} {:>5}  {}",
        "workload",
        "size",
        "op",
        "glass/op",
        "tokio/op",
        "smol/op",
        "t÷g",
        "[min-max]",
        "s÷g",
        "[min-max]",
        "cpu t,s",
        "std/op",
        "g÷std",
        "timed",
        "target"
    )
}

/// One row of the table.
pub fn table_row(o: &Outcome) -> String {
    let range = |peer| {
        let (lo, hi) = o.ratio_range(peer);
        format!("[{lo:.2}-{hi:.2}]")
    };
    let target = match o.verdict() {
        Ok(()) => "met".to_owned(),
        Err(missed) => format!("MISSED ({missed})"),
    };
    format!(
        "{:<17} {:>6} {:<10} {:>8} {:>8} {:>8} {:>5.2} {:<11} {:>5.2} {:<11} {:>9} {:>8} {:>6} {:>5}  {}",
        o.workload.name,
        o.size,
        o.workload.unit,
        format_time(o.median_per_op(Contender::Glass)),
        format_time(o.median_per_op(Contender::Tokio)),
        format_time(o.median_per_op(Contender::Smol)),
        o.ratio(Contender::Tokio),
        range(Contender::Tokio),
        o.ratio(Contender::Smol),
        range(Contender::Smol),
        format!(
            "{:.2},{:.2}",
            o.cpu_ratio(Contender::Tokio),
            o.cpu_ratio(Contender::Smol)
        ),
        format_time(o.median_per_op(Contender::Blocking)),
        o.vs_std(Contender::Glass)
            .map_or("-".into(), |v| format!("{v:.2}")),
        format_ratio(o.timing_cost()),
        target
    )
}

/// `1.04`, or `-` for NaN (not measured).
pub fn format_ratio(ratio: f64) -> String {
    if ratio.is_nan() {
        "-".into()
    } else {
        format!("{ratio:.2}")
    }
}

/// The lines about the serving process's peak memory and CPU time, for the workloads that
/// measured them.
pub fn memory_lines(outcomes: &[Outcome]) -> Vec<String> {
    outcomes
        .iter()
        .filter(|o| o.memory(Contender::Glass).is_some())
        .map(|o| {
            let mut line = format!(
                "{}: peak memory growth of the serving process (median):",
                o.workload.name
            );
            for c in Contender::ALL {
                if let Some(bytes) = o.memory(c) {
                    let per_op = bytes / (o.workload.ops)(o.size) as f64;
                    let _ = write!(
                        line,
                        " {c} {} ({} per {}),",
                        format_bytes(bytes),
                        format_bytes(per_op),
                        o.workload.unit
                    );
                }
            }
            line.pop();
            if o.server_cpu(Contender::Glass).is_some() {
                let _ = write!(line, "; serving process CPU per {}:", o.workload.unit);
                for c in Contender::ALL {
                    if let Some(cpu) = o.server_cpu(c) {
                        let _ = write!(line, " {c} {},", format_time(cpu));
                    }
                }
                line.pop();
            }
            line
        })
        .collect()
}

/// The last line: `compare: 12 workloads; glass faster than tokio on 10 (geomean 1.23), than
/// smol on 9 (geomean 1.10)`.
pub fn summary(outcomes: &[Outcome]) -> String {
    let mut line = format!("compare: {} workloads; glass faster", outcomes.len());
    for (k, peer) in Contender::PEERS.into_iter().enumerate() {
        let faster = outcomes.iter().filter(|o| o.ratio(peer) > 1.0).count();
        let logs = outcomes.iter().map(|o| o.ratio(peer).ln()).sum::<f64>();
        let geomean = (logs / outcomes.len().max(1) as f64).exp();
        let sep = if k == 0 { "" } else { "," };
        let _ = write!(line, "{sep} than {peer} on {faster} (geomean {geomean:.2})");
    }
    line
}
