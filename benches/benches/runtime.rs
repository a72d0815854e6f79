//! Criterion benchmarks: one group per workload, one benchmark per contender in it, so criterion's
//! report puts glass, tokio, smol and blocking std side by side.
//!
//! ```text
//! cargo bench -p benches                    # every workload, a few minutes
//! cargo bench -p benches -- tcp_echo        # one group
//! cargo bench -p benches -- glass           # glass's side of every group
//! cargo bench -p benches -- 'glass|smol'    # glass and smol only
//! ```
//!
//! Every workload runs at the size `compare` runs, with criterion's flat sampling and ten
//! samples, so the slow ones (a quarter of a gigabyte, ten thousand connections) finish in seconds;
//! criterion warns that it cannot fit ten samples in the target time for those, which is expected.
//! Each iteration's time is the one the workload measured itself (`iter_custom`), so set-up such
//! as starting many_connections's server process is left out, as in `compare`.

use std::path::PathBuf;
use std::time::Duration;

use benches::workloads::ALL;
use benches::{Contender, Harness};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

fn workloads(c: &mut Criterion) {
    // many_connections's server runs in a child process, started from the compare binary.
    let server_exe = PathBuf::from(env!("CARGO_BIN_EXE_compare"));
    let harness = Harness::new(Some(server_exe)).expect("cannot build the tokio runtime");
    for workload in ALL {
        let size = workload.size;
        let mut group = c.benchmark_group(workload.name);
        group.throughput(Throughput::Elements((workload.ops)(size)));
        group.sampling_mode(SamplingMode::Flat);
        for contender in Contender::ALL {
            if workload.arm(contender).is_none() {
                continue;
            }
            // A contender that cannot run this workload at all (say, a client still being
            // written) is left out of the group, not allowed to abort every other benchmark.
            if let Err(e) = workload.run(&harness, contender, workload.test_size) {
                eprintln!("{}/{contender}: skipped: {e}", workload.name);
                continue;
            }
            group.bench_function(contender.name(), |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| {
                            workload
                                .run(&harness, contender, size)
                                .unwrap_or_else(|e| panic!("{}/{contender}: {e}", workload.name))
                                .elapsed
                        })
                        .sum()
                })
            });
        }
        group.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = runtime;
    config = config();
    targets = workloads
}
criterion_main!(runtime);
