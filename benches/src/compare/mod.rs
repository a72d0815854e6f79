//! The `compare` command's engine: runs each workload on glass, tokio, smol and (for I/O) blocking
//! std in alternation, and prints one table.
//!
//! ## How a workload is measured
//! 1. **Warm-up**: one run per contender, which also checks every answer and tells how long a run
//!    takes.
//! 2. **Samples**: a sample is `reps` back-to-back runs, `reps` chosen so a sample lasts about
//!    [`Plan::sample_target`] (short workloads need many runs for the clock to be precise).
//! 3. **Rounds** (called pairs, from when there were two): one sample per contender, back to
//!    back, the order rotating from round to round so no runtime always runs first (right after the other has warmed the caches, or while a
//!    neighbour's compile is starting). A heavy workload gets fewer pairs, to stay within
//!    [`Plan::budget`]; never fewer than [`MIN_PAIRS`].
//! 4. **Ratios**: per pair, each peer's time over glass's (tokio's, smol's; above 1: glass
//!    faster). The table shows the median ratio and its range; times per operation are medians
//!    over samples.
//! 5. **CPU**: per pair, each peer's CPU time over glass's, the same way. Both runtimes run every task
//!    on the calling thread, so that thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`) is what the
//!    work cost the runtime; for many_connections, whose server under test is a child process,
//!    the child's CPU time. Where the wall clock is bound by something both share (a cross-CPU
//!    wake-up, the kernel's TCP stack, a shared client), this still shows which runtime did the
//!    work more cheaply.
//!
//! Comparing within a pair, rather than median against median, cancels what the machine was doing
//! at that moment: on a shared 2-core machine, other processes slow both sides of a pair alike.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use crate::harness::thread_cpu_time;
use crate::workloads::{ALL, Workload};
use crate::{Contender, Harness};

mod table;
pub use table::{format_ratio, format_time, memory_lines, summary, table_header, table_row};

/// How far behind a peer glass may be on a kernel-bound workload and still count as level: this
/// machine's run-to-run noise on those workloads.
pub const KERNEL_BOUND_NOISE: f64 = 0.05;

/// Every workload gets at least this many pairs.
pub const MIN_PAIRS: usize = 3;

/// What the command line asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `--quick`: smaller sizes, fewer pairs, shorter samples.
    pub quick: bool,
    /// `--pairs N`: exactly this many pairs per workload.
    pub pairs: Option<usize>,
    /// `--instructions`: count instructions under callgrind instead of timing
    /// (see [`crate::instructions`]).
    pub instructions: bool,
    /// Workload names (or parts of names) to run; empty runs them all.
    pub filter: Vec<String>,
}

impl Options {
    /// Parses the arguments after the program name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut options = Options::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => options.quick = true,
                "--instructions" => options.instructions = true,
                "--pairs" => {
                    let value = args.next().ok_or("--pairs needs a number")?;
                    let pairs = value
                        .parse()
                        .map_err(|_| format!("--pairs: {value:?} is not a number"))?;
                    if pairs == 0 {
                        return Err("--pairs: at least 1".into());
                    }
                    options.pairs = Some(pairs);
                }
                flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
                _ => options.filter.push(arg),
            }
        }
        if let Some(unknown) = options
            .filter
            .iter()
            .find(|f| !ALL.iter().any(|w| w.name.contains(f.as_str())))
        {
            let names: Vec<_> = ALL.iter().map(|w| w.name).collect();
            return Err(format!(
                "no workload matches {unknown:?}; workloads: {}",
                names.join(", ")
            ));
        }
        Ok(options)
    }

    /// The workloads the filter selects, in table order. A filter word that is a workload's
    /// whole name selects that workload only; any other selects every name containing it.
    pub fn workloads(&self) -> Vec<&'static Workload> {
        let selects = |f: &String, w: &Workload| {
            let exact = ALL.iter().any(|other| other.name == f);
            if exact {
                w.name == f
            } else {
                w.name.contains(f.as_str())
            }
        };
        ALL.iter()
            .filter(|w| self.filter.is_empty() || self.filter.iter().any(|f| selects(f, w)))
            .collect()
    }

    /// How this run samples.
    pub fn plan(&self) -> Plan {
        if self.quick {
            Plan {
                max_pairs: self.pairs.unwrap_or(MIN_PAIRS),
                min_pairs: self.pairs.unwrap_or(MIN_PAIRS),
                sample_target: Duration::from_millis(15),
                budget: Duration::from_secs(3),
                quick: true,
            }
        } else {
            Plan {
                max_pairs: self.pairs.unwrap_or(21),
                min_pairs: self.pairs.unwrap_or(MIN_PAIRS),
                sample_target: Duration::from_millis(50),
                budget: Duration::from_secs(16),
                quick: false,
            }
        }
    }
}

/// How many samples of what length.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Pairs for a workload that fits the budget.
    pub max_pairs: usize,
    /// Pairs for a workload whose runs are so long that `max_pairs` would blow the budget.
    pub min_pairs: usize,
    /// How long one sample should last, at least.
    pub sample_target: Duration,
    /// Roughly how long one workload's pairs may take in all.
    pub budget: Duration,
    /// Use the workloads' quick sizes.
    pub quick: bool,
}

/// What was measured for one workload.
pub struct Outcome {
    /// Which workload.
    pub workload: &'static Workload,
    /// The size it ran at.
    pub size: usize,
    /// Runs per sample.
    pub reps: usize,
    /// Seconds per operation, one entry per sample, for each contender (in [`Contender::ALL`]
    /// order; empty for a contender the workload does not have).
    pub per_op: [Vec<f64>; Contender::ALL.len()],
    /// Peak memory growth in bytes, one entry per sample (where the workload measures it).
    pub memory: [Vec<u64>; Contender::ALL.len()],
    /// The serving process's CPU seconds per operation, one entry per sample (where measured).
    pub server_cpu: [Vec<f64>; Contender::ALL.len()],
    /// Per pair, for each of [`Contender::PEERS`]: the peer's time over glass's.
    pub ratios: [Vec<f64>; 2],
    /// Per pair, for each of [`Contender::PEERS`]: the peer's CPU time over glass's (see
    /// [`Outcome::cpu_ratio`]).
    pub cpu_ratios: [Vec<f64>; 2],
    /// Per pair: glass+timing's time over glass's (see [`Outcome::timing_cost`]); empty where
    /// glass+timing does not run.
    pub timing_costs: Vec<f64>,
}

fn index(c: Contender) -> usize {
    c.index()
}

/// `peer`'s place in [`Contender::PEERS`].
fn peer_index(peer: Contender) -> usize {
    Contender::PEERS
        .iter()
        .position(|&p| p == peer)
        .expect("a peer of glass")
}

/// Measures one workload (see the module docs).
pub fn measure(harness: &Harness, workload: &'static Workload, plan: &Plan) -> io::Result<Outcome> {
    let size = if plan.quick {
        workload.quick_size
    } else {
        workload.size
    };
    let ops = (workload.ops)(size) as f64;
    let contenders: Vec<Contender> = Contender::ALL
        .into_iter()
        .filter(|&c| workload.arm(c).is_some())
        .collect();

    // 1. Warm-up, which also checks every answer.
    let mut longest = Duration::ZERO;
    for &c in &contenders {
        longest = longest.max(workload.run(harness, c, size)?.elapsed);
    }
    // 2. Runs per sample.
    let reps = (plan.sample_target.as_secs_f64() / longest.as_secs_f64().max(1e-9)).ceil();
    let reps = (reps as usize).clamp(1, 100_000);
    // 3. Pairs, within the budget.
    let pair_time = longest.as_secs_f64() * reps as f64 * contenders.len() as f64;
    let affordable = (plan.budget.as_secs_f64() / pair_time.max(1e-9)) as usize;
    let pairs = affordable.clamp(plan.min_pairs, plan.max_pairs.max(plan.min_pairs));

    let mut outcome = Outcome {
        workload,
        size,
        reps,
        per_op: Default::default(),
        memory: Default::default(),
        server_cpu: Default::default(),
        ratios: Default::default(),
        cpu_ratios: Default::default(),
        timing_costs: Vec::new(),
    };
    for pair in 0..pairs {
        let mut this_pair = [0.0; Contender::ALL.len()];
        let mut this_pair_cpu = [0.0; Contender::ALL.len()];
        for k in 0..contenders.len() {
            let c = contenders[(pair + k) % contenders.len()];
            let thread_cpu_before = thread_cpu_time()?;
            let mut total = Duration::ZERO;
            let mut peak = None;
            let mut server_cpu = None;
            for _ in 0..reps {
                let run = workload.run(harness, c, size)?;
                total += run.elapsed;
                peak = peak.max(run.peak_memory);
                if let Some(cpu) = run.server_cpu {
                    *server_cpu.get_or_insert(Duration::ZERO) += cpu;
                }
            }
            let per_op = total.as_secs_f64() / (reps as f64 * ops);
            this_pair[index(c)] = per_op;
            outcome.per_op[index(c)].push(per_op);
            outcome.memory[index(c)].extend(peak);
            let thread_cpu = thread_cpu_time()?.saturating_sub(thread_cpu_before);
            this_pair_cpu[index(c)] =
                server_cpu.unwrap_or(thread_cpu).as_secs_f64() / (reps as f64 * ops);
            outcome.server_cpu[index(c)]
                .extend(server_cpu.map(|cpu| cpu.as_secs_f64() / (reps as f64 * ops)));
        }
        for (k, peer) in Contender::PEERS.into_iter().enumerate() {
            let (g, p) = (index(Contender::Glass), index(peer));
            outcome.ratios[k].push(this_pair[p] / this_pair[g]);
            outcome.cpu_ratios[k].push(this_pair_cpu[p] / this_pair_cpu[g]);
        }
        if contenders.contains(&Contender::GlassTimed) {
            let (g, t) = (index(Contender::Glass), index(Contender::GlassTimed));
            outcome.timing_costs.push(this_pair[t] / this_pair[g]);
        }
    }
    Ok(outcome)
}

/// The median of `values` (the mean of the middle two for an even count); NaN if empty.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

impl Outcome {
    /// Median seconds per operation.
    pub fn median_per_op(&self, c: Contender) -> f64 {
        median(&self.per_op[index(c)])
    }

    /// The median speed ratio of glass to `peer` (peer's time over glass's; above 1: glass
    /// faster).
    pub fn ratio(&self, peer: Contender) -> f64 {
        median(&self.ratios[peer_index(peer)])
    }

    /// The smallest and largest per-pair speed ratio to `peer`.
    pub fn ratio_range(&self, peer: Contender) -> (f64, f64) {
        self.ratios[peer_index(peer)]
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)))
    }

    /// The median CPU-time ratio of glass to `peer` (above 1: glass used less CPU for the same
    /// work). The CPU time is the calling thread's, where every runtime runs every task; for a
    /// workload whose server under test runs in a child process, the child's.
    pub fn cpu_ratio(&self, peer: Contender) -> f64 {
        median(&self.cpu_ratios[peer_index(peer)])
    }

    /// The median of glass+timing's time over glass's, per pair: what task timing costs (1.05:
    /// 5% slower with it on); NaN where glass+timing did not run.
    pub fn timing_cost(&self) -> f64 {
        median(&self.timing_costs)
    }

    /// The contender's speed relative to blocking std (1: as fast; below 1: slower).
    pub fn vs_std(&self, c: Contender) -> Option<f64> {
        let reference = self.median_per_op(Contender::Blocking);
        (!reference.is_nan()).then(|| reference / self.median_per_op(c))
    }

    /// Median peak memory growth, if measured.
    pub fn memory(&self, c: Contender) -> Option<f64> {
        let values: Vec<f64> = self.memory[index(c)].iter().map(|&b| b as f64).collect();
        (!values.is_empty()).then(|| median(&values))
    }

    /// Median CPU seconds per operation of the serving process, if measured.
    pub fn server_cpu(&self, c: Contender) -> Option<f64> {
        let values = &self.server_cpu[index(c)];
        (!values.is_empty()).then(|| median(values))
    }

    /// Whether the targets for this workload are met, and if not, what is missed: the
    /// ratio to tokio, and "not behind either peer" (within [`KERNEL_BOUND_NOISE`] on
    /// a kernel-bound workload).
    pub fn verdict(&self) -> Result<(), String> {
        let w = self.workload;
        let mut missed = Vec::new();
        let floor = if w.kernel_bound {
            1.0 - KERNEL_BOUND_NOISE
        } else {
            1.0
        };
        let tokio_goal = if w.kernel_bound {
            w.target.min(floor)
        } else {
            w.target
        };
        if self.ratio(Contender::Tokio) < tokio_goal {
            missed.push(format!("tokio < {tokio_goal}"));
        }
        if self.ratio(Contender::Smol) < floor {
            missed.push(format!("smol < {floor}"));
        }
        if let (Some(goal), Some(vs)) = (w.target_vs_std, self.vs_std(Contender::Glass))
            && vs < goal
        {
            missed.push(format!("vs std < {goal}"));
        }
        if let (Some(glass), Some(tokio)) =
            (self.memory(Contender::Glass), self.memory(Contender::Tokio))
            && glass > tokio
        {
            missed.push("memory > tokio".into());
        }
        if missed.is_empty() {
            Ok(())
        } else {
            Err(missed.join(", "))
        }
    }
}

/// Runs the selected workloads and prints the table to `out` as rows complete; progress and
/// failures go to stderr. Returns the outcomes.
pub fn run(harness: &Harness, options: &Options, out: &mut impl Write) -> io::Result<Vec<Outcome>> {
    let plan = options.plan();
    let started = Instant::now();
    writeln!(out, "{}", table_header())?;
    let mut outcomes = Vec::new();
    let mut failures = Vec::new();
    for workload in options.workloads() {
        eprintln!("compare: measuring {} ...", workload.name);
        match measure(harness, workload, &plan) {
            Ok(outcome) => {
                writeln!(out, "{}", table_row(&outcome))?;
                outcomes.push(outcome);
            }
            Err(e) => {
                writeln!(out, "{:<18} failed: {e}", workload.name)?;
                failures.push(workload.name);
            }
        }
        out.flush()?;
    }
    writeln!(out)?;
    for line in memory_lines(&outcomes) {
        writeln!(out, "{line}")?;
    }
    writeln!(
        out,
        "t÷g, s÷g: tokio's, smol's time / glass's time per round of samples (>1: glass faster); \
         cpu t,s: the same for CPU time of the side under test; g÷std: blocking std time / \
         glass time (1: as fast as blocking threads); timed: glass with task timing on \
         (glass+timing: executor::set_task_timing(true), as GLASS_TASK_TIMING=1) over glass as \
         programs run it (timing off), per round: the cost of the busy/scheduled/idle split"
    )?;
    if !failures.is_empty() {
        writeln!(out, "not measured: {}", failures.join(", "))?;
    }
    writeln!(
        out,
        "took {:.0} s; {}",
        started.elapsed().as_secs_f64(),
        plan_description(&plan)
    )?;
    writeln!(out, "{}", summary(&outcomes))?;
    Ok(outcomes)
}

fn plan_description(plan: &Plan) -> String {
    format!(
        "{} sizes, {}-{} pairs per workload, samples of at least {} ms",
        if plan.quick { "quick" } else { "full" },
        plan.min_pairs,
        plan.max_pairs,
        plan.sample_target.as_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_parse_quick_pairs_and_filters() {
        let o = Options::parse(args(&["--quick", "tcp", "--pairs", "4"])).unwrap();
        assert!(o.quick);
        assert_eq!(o.pairs, Some(4));
        let names: Vec<_> = o.workloads().iter().map(|w| w.name).collect();
        assert_eq!(names, ["tcp_echo"]);
        let o = Options::parse(args(&["many"])).unwrap();
        assert_eq!(
            o.workloads().len(),
            4,
            "a part of a name selects every match (spawn_many, yield_many, many_connections, \
             many_echo)"
        );
        let o = Options::parse(args(&["many_connections"])).unwrap();
        assert_eq!(o.workloads().len(), 1, "a whole name selects that one");
        assert_eq!(
            Options::parse(args(&[])).unwrap().workloads().len(),
            ALL.len()
        );
    }

    #[test]
    fn options_reject_unknown_flags_and_workloads() {
        assert!(Options::parse(args(&["--fast"])).is_err());
        assert!(
            Options::parse(args(&["nope"]))
                .unwrap_err()
                .contains("spawn_many")
        );
        assert!(Options::parse(args(&["--pairs"])).is_err());
        assert!(Options::parse(args(&["--pairs", "0"])).is_err());
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn times_are_printed_with_three_significant_digits() {
        assert_eq!(format_time(123e-9), "123 ns");
        assert_eq!(format_time(1.234e-6), "1.23 µs");
        assert_eq!(format_time(12.34e-3), "12.3 ms");
        assert_eq!(format_time(2.0), "2.00 s");
    }

    #[test]
    fn a_quick_run_measures_and_summarises() {
        let harness = Harness::new(None).unwrap();
        let workload = crate::workloads::find("chained_spawn").unwrap();
        let plan = Plan {
            max_pairs: 2,
            min_pairs: 2,
            sample_target: Duration::from_millis(1),
            budget: Duration::from_millis(10),
            quick: true,
        };
        let outcome = {
            let _switch = crate::workloads::tests::TIMING_SWITCH
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            measure(&harness, workload, &plan).unwrap()
        };
        for peer in Contender::PEERS {
            assert_eq!(outcome.ratios[peer_index(peer)].len(), 2);
            assert!(outcome.ratio(peer) > 0.0);
        }
        assert_eq!(
            outcome.timing_costs.len(),
            2,
            "glass+timing ran in every pair"
        );
        assert!(outcome.timing_cost() > 0.0);
        assert!(table_row(&outcome).starts_with("chained_spawn"));
        let line = summary(&[outcome]);
        assert!(
            line.starts_with("compare: 1 workloads; glass faster than tokio on ")
                && line.contains(", than smol on "),
            "{line}"
        );
    }
}
