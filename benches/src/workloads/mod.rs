//! The workloads, and [`ALL`]: the one list that criterion, `compare` and the tests iterate over.
//!
//! Each workload is a module with functions of one signature, [`Arm`]: `glass`, `tokio`, `smol`,
//! and for the I/O workloads `blocking`. Each takes the [`Harness`] and a size (how many tasks, round trips,
//! MiB...), does the work once, and returns a [`Run`]: the time the work took and a check value.

use std::io;

use crate::{Contender, Harness, Run};

pub mod cross_thread_wake;
pub mod http;
pub mod many_connections;
pub mod many_echo;
pub mod remote_wake;
pub mod tasks;
pub mod tcp;
pub mod timers;

/// One contender's version of a workload: runs it once at the given size.
pub type Arm = fn(&Harness, usize) -> io::Result<Run>;

/// A workload: its contenders, its sizes, and what a correct run returns.
pub struct Workload {
    /// The name on the command line and in the table.
    pub name: &'static str,
    /// What one operation is, for "time per operation" ("task", "MiB", ...).
    pub unit: &'static str,
    /// The size `compare` runs by default.
    pub size: usize,
    /// A smaller size for `compare --quick`: same shape, a fraction of the time.
    pub quick_size: usize,
    /// A size small enough for a unit test (a few milliseconds).
    pub test_size: usize,
    /// How many operations a run of the given size performs.
    pub ops: fn(usize) -> u64,
    /// The [`Run::check`] a correct run of the given size returns.
    pub expected: fn(usize) -> u64,
    /// glass's version.
    pub glass: Arm,
    /// tokio's version, on its `current_thread` runtime.
    pub tokio: Arm,
    /// smol's version: a `LocalExecutor` run by `async_io::block_on`.
    pub smol: Arm,
    /// The blocking `std::net` reference, for the I/O workloads only.
    pub blocking: Option<Arm>,
    /// The glass/tokio speed ratio aimed for (above 1: glass faster).
    pub target: f64,
    /// The speed relative to blocking std aimed for, where there is an aim.
    pub target_vs_std: Option<f64>,
    /// Whether the kernel's TCP stack takes most of the time (the same system calls on every
    /// runtime): glass is then asked only to be within the machine's noise (5%) of each peer,
    /// and the figure to look at is system calls per operation (`benches/syscalls.sh`), not
    /// instructions.
    pub kernel_bound: bool,
}

impl Workload {
    /// The contender's version, if this workload has one.
    pub fn arm(&self, contender: Contender) -> Option<Arm> {
        match contender {
            Contender::Glass => Some(self.glass),
            // Its server runs in a child process, which the switch in this one does not reach.
            Contender::GlassTimed => (self.name != "many_connections").then_some(self.glass),
            Contender::Tokio => Some(self.tokio),
            Contender::Smol => Some(self.smol),
            Contender::Blocking => self.blocking,
        }
    }

    /// Runs the contender's version once and checks its answer. A contender without a version
    /// of this workload is reported as `Unsupported`.
    pub fn run(&self, harness: &Harness, contender: Contender, size: usize) -> io::Result<Run> {
        let arm = self.arm(contender).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                format!("{}: no {contender} version", self.name),
            )
        })?;
        let run = if contender == Contender::GlassTimed {
            with_task_timing(|| arm(harness, size))?
        } else {
            arm(harness, size)?
        };
        let expected = (self.expected)(size);
        if run.check != expected {
            return Err(io::Error::other(format!(
                "{} on {contender} at size {size}: got check value {}, expected {expected}",
                self.name, run.check
            )));
        }
        Ok(run)
    }
}

/// Runs `f` with glass's task timing on, and turns it off again however `f` ends.
fn with_task_timing<R>(f: impl FnOnce() -> R) -> R {
    struct Off;
    impl Drop for Off {
        fn drop(&mut self) {
            executor::set_task_timing(false);
        }
    }
    executor::set_task_timing(true);
    let _off = Off;
    f()
}

fn identity(n: usize) -> u64 {
    n as u64
}

/// Every workload, in the table's order: the scheduler ones, timeouts and sleeps, then I/O (many_echo
/// after the other TCP ones).
pub static ALL: &[Workload] = &[
    Workload {
        name: "spawn_many",
        unit: "task",
        size: 10_000,
        quick_size: 10_000,
        test_size: 100,
        ops: identity,
        expected: tasks::spawn_many::expected,
        glass: tasks::spawn_many::glass,
        tokio: tasks::spawn_many::tokio,
        smol: tasks::spawn_many::smol,
        blocking: None,
        target: 1.5,
        target_vs_std: None,
        kernel_bound: false,
    },
    // The same shape at 50,000 tasks: every handle is still held (and awaited) when the last task
    // is spawned, so the tasks' memory all lives at once (allocation and page faults show).
    Workload {
        name: "spawn_join_50k",
        unit: "task",
        size: 50_000,
        quick_size: 50_000,
        test_size: 100,
        ops: identity,
        expected: tasks::spawn_many::expected,
        glass: tasks::spawn_many::glass,
        tokio: tasks::spawn_many::tokio,
        smol: tasks::spawn_many::smol,
        blocking: None,
        target: 1.5,
        target_vs_std: None,
        kernel_bound: false,
    },
    Workload {
        name: "yield_many",
        unit: "yield",
        size: 1_000,
        quick_size: 1_000,
        test_size: 10,
        ops: tasks::yield_many::ops,
        expected: tasks::yield_many::ops,
        glass: tasks::yield_many::glass,
        tokio: tasks::yield_many::tokio,
        smol: tasks::yield_many::smol,
        blocking: None,
        target: 1.5,
        target_vs_std: None,
        kernel_bound: false,
    },
    Workload {
        name: "ping_pong",
        unit: "round trip",
        size: 10_000,
        quick_size: 10_000,
        test_size: 100,
        ops: identity,
        expected: identity,
        glass: tasks::ping_pong::glass,
        tokio: tasks::ping_pong::tokio,
        smol: tasks::ping_pong::smol,
        blocking: None,
        target: 1.2,
        target_vs_std: None,
        kernel_bound: false,
    },
    Workload {
        name: "chained_spawn",
        unit: "spawn",
        size: 1_000,
        quick_size: 1_000,
        test_size: 50,
        ops: identity,
        expected: identity,
        glass: tasks::chained_spawn::glass,
        tokio: tasks::chained_spawn::tokio,
        smol: tasks::chained_spawn::smol,
        blocking: None,
        target: 1.5,
        target_vs_std: None,
        kernel_bound: false,
    },
    Workload {
        name: "cross_thread_wake",
        unit: "message",
        size: 100_000,
        quick_size: 20_000,
        test_size: 400,
        ops: identity,
        expected: cross_thread_wake::expected,
        glass: cross_thread_wake::glass,
        tokio: cross_thread_wake::tokio,
        smol: cross_thread_wake::smol,
        blocking: None,
        target: 1.0,
        target_vs_std: None,
        kernel_bound: false,
    },
    Workload {
        name: "remote_wake",
        unit: "round trip",
        size: 20_000,
        quick_size: 5_000,
        test_size: 50,
        ops: identity,
        expected: identity,
        glass: remote_wake::glass,
        tokio: remote_wake::tokio,
        smol: remote_wake::smol,
        blocking: None,
        target: 1.0,
        target_vs_std: None,
        kernel_bound: false,
    },
    Workload {
        name: "timeouts",
        unit: "timeout",
        size: 10_000,
        quick_size: 2_000,
        test_size: 20,
        ops: timers::timeouts::ops,
        expected: timers::timeouts::ops,
        glass: timers::timeouts::glass,
        tokio: timers::timeouts::tokio,
        smol: timers::timeouts::smol,
        blocking: None,
        target: 1.0,
        target_vs_std: None,
        kernel_bound: false,
    },
    Workload {
        name: "sleeps",
        unit: "sleep",
        size: 20_000,
        quick_size: 5_000,
        test_size: 50,
        ops: identity,
        expected: identity,
        glass: timers::sleeps::glass,
        tokio: timers::sleeps::tokio,
        smol: timers::sleeps::smol,
        blocking: None,
        target: 1.0,
        target_vs_std: None,
        kernel_bound: false,
    },
    Workload {
        name: "tcp_echo",
        unit: "round trip",
        size: 10_000,
        quick_size: 2_000,
        test_size: 50,
        ops: identity,
        expected: identity,
        glass: tcp::tcp_echo::glass,
        tokio: tcp::tcp_echo::tokio,
        smol: tcp::tcp_echo::smol,
        blocking: Some(tcp::tcp_echo::blocking),
        target: 1.0,
        target_vs_std: None,
        kernel_bound: true,
    },
    Workload {
        name: "bulk_transfer",
        unit: "MiB",
        size: 256,
        quick_size: 64,
        test_size: 2,
        ops: identity,
        expected: tcp::bulk_transfer::expected,
        glass: tcp::bulk_transfer::glass,
        tokio: tcp::bulk_transfer::tokio,
        smol: tcp::bulk_transfer::smol,
        blocking: Some(tcp::bulk_transfer::blocking),
        target: 1.0,
        // "within 10% of blocking std"
        target_vs_std: Some(0.9),
        kernel_bound: true,
    },
    Workload {
        name: "many_connections",
        unit: "connection",
        size: 10_000,
        quick_size: 2_000,
        test_size: 40,
        ops: identity,
        expected: identity,
        glass: many_connections::glass,
        tokio: many_connections::tokio,
        smol: many_connections::smol,
        blocking: Some(many_connections::blocking),
        target: 1.0,
        target_vs_std: None,
        kernel_bound: true,
    },
    Workload {
        name: "many_echo",
        unit: "round trip",
        size: 200,
        quick_size: 50,
        test_size: 4,
        ops: many_echo::ops,
        expected: many_echo::ops,
        glass: many_echo::glass,
        tokio: many_echo::tokio,
        smol: many_echo::smol,
        blocking: None,
        target: 1.0,
        target_vs_std: None,
        kernel_bound: false,
    },
    Workload {
        name: "http_get",
        unit: "request",
        size: 1_000,
        quick_size: 300,
        test_size: 10,
        ops: identity,
        expected: http::http_get::expected,
        glass: http::http_get::glass,
        tokio: http::http_get::hyper,
        smol: http::http_get::smol,
        blocking: Some(http::http_get::blocking),
        target: 1.0,
        target_vs_std: None,
        kernel_bound: false,
    },
    Workload {
        name: "downloads",
        unit: "download",
        size: 100,
        quick_size: 30,
        test_size: 4,
        ops: identity,
        expected: http::downloads::expected,
        glass: http::downloads::glass,
        tokio: http::downloads::hyper,
        smol: http::downloads::smol,
        blocking: Some(http::downloads::blocking),
        target: 1.0,
        target_vs_std: None,
        kernel_bound: false,
    },
];

/// The workload called `name`.
pub fn find(name: &str) -> Option<&'static Workload> {
    ALL.iter().find(|w| w.name == name)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Held by whoever runs glass+timing, whose switch is process-wide: the test of the switch
    /// must not see another test's run turn it on.
    pub(crate) static TIMING_SWITCH: Mutex<()> = Mutex::new(());

    /// Every workload, at its test size, returns the right check value on every contender it has.
    /// (The workloads are spread over one test per family so they run in parallel.)
    pub(crate) fn check_all(names: &[&str]) {
        let harness = Harness::new(None).expect("tokio runtime");
        for name in names {
            let workload = find(name).expect("a workload of that name");
            for contender in Contender::ALL {
                if workload.arm(contender).is_none() {
                    continue;
                }
                let _switch = (contender == Contender::GlassTimed)
                    .then(|| TIMING_SWITCH.lock().unwrap_or_else(|e| e.into_inner()));
                let run = workload
                    .run(&harness, contender, workload.test_size)
                    .unwrap_or_else(|e| panic!("{name} on {contender}: {e}"));
                assert!(
                    run.elapsed > std::time::Duration::ZERO,
                    "{name} on {contender}"
                );
            }
        }
    }

    #[test]
    fn every_workload_has_a_unique_name_and_sane_sizes() {
        for (i, w) in ALL.iter().enumerate() {
            assert!(ALL[..i].iter().all(|other| other.name != w.name));
            assert!(
                w.test_size <= w.quick_size && w.quick_size <= w.size,
                "{}",
                w.name
            );
            assert!((w.ops)(w.size) > 0, "{}", w.name);
        }
    }

    #[test]
    fn task_workloads_agree_on_both_runtimes() {
        check_all(&["spawn_many", "yield_many", "ping_pong", "chained_spawn"]);
    }

    #[test]
    fn cross_thread_wake_agrees_on_both_runtimes() {
        check_all(&["cross_thread_wake", "remote_wake"]);
    }

    #[test]
    fn tcp_workloads_agree_with_blocking_std() {
        check_all(&["tcp_echo", "bulk_transfer"]);
    }

    #[test]
    fn timer_workloads_agree_on_every_runtime() {
        check_all(&["timeouts", "sleeps"]);
    }

    #[test]
    fn many_echo_agrees_on_every_runtime() {
        check_all(&["many_echo"]);
    }

    #[test]
    fn many_connections_agrees_with_blocking_std() {
        check_all(&["many_connections"]);
    }

    #[test]
    fn http_workloads_agree_with_blocking_std() {
        check_all(&["http_get", "downloads"]);
    }

    #[test]
    fn a_wrong_check_value_is_an_error() {
        fn wrong(_: &Harness, _: usize) -> io::Result<Run> {
            Ok(Run::new(std::time::Duration::from_millis(1), 7))
        }
        let workload = Workload {
            glass: wrong,
            ..*find("spawn_many").unwrap()
        };
        let harness = Harness::new(None).unwrap();
        let err = workload.run(&harness, Contender::Glass, 10).unwrap_err();
        assert!(err.to_string().contains("expected 45"), "{err}");
    }

    #[test]
    fn glass_timed_runs_glass_with_task_timing_on_and_leaves_it_off() {
        fn timing_seen(_: &Harness, n: usize) -> io::Result<Run> {
            let on = executor::task_timing();
            Ok(Run::new(
                std::time::Duration::from_millis(1),
                u64::from(on) * n as u64,
            ))
        }
        let workload = Workload {
            glass: timing_seen,
            expected: |n| n as u64,
            ..*find("spawn_many").unwrap()
        };
        let harness = Harness::new(None).unwrap();
        let _switch = TIMING_SWITCH.lock().unwrap_or_else(|e| e.into_inner());
        workload.run(&harness, Contender::GlassTimed, 10).unwrap();
        assert!(!executor::task_timing(), "switched off after the run");
        let err = workload.run(&harness, Contender::Glass, 10).unwrap_err();
        assert!(err.to_string().contains("got check value 0"), "{err}");
    }
}
