//! What every workload function is given ([`Harness`]) and what it gives back ([`Run`]).

use std::cell::OnceCell;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::http_server::HttpServer;

/// Who runs a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contender {
    /// glass: `executor::block_on` with `reactor` sockets and `http_client`.
    Glass,
    /// tokio's `current_thread` runtime (and `hyper` for HTTP).
    Tokio,
    /// smol: async-executor's `LocalExecutor` run by `async_io::block_on` (which is what
    /// `smol::block_on` is), smol's `net` types, and `hyper` over them for HTTP.
    Smol,
    /// Plain blocking `std::net` on threads: the reference for the I/O workloads.
    Blocking,
    /// glass again, with task timing on (`executor::set_task_timing(true)`, what
    /// `GLASS_TASK_TIMING=1` does): the price of the busy/scheduled/idle split, reported beside
    /// glass as programs run it by default (timing off).
    GlassTimed,
}

impl Contender {
    /// Every contender, in the order the table shows them.
    pub const ALL: [Contender; 5] = [
        Contender::Glass,
        Contender::Tokio,
        Contender::Smol,
        Contender::Blocking,
        Contender::GlassTimed,
    ];

    /// The runtimes glass is compared with, in the table's order.
    pub const PEERS: [Contender; 2] = [Contender::Tokio, Contender::Smol];

    /// This contender's place in [`Contender::ALL`], for arrays indexed by contender.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The name used on the command line and in the table.
    pub fn name(self) -> &'static str {
        match self {
            Contender::Glass => "glass",
            Contender::Tokio => "tokio",
            Contender::Smol => "smol",
            Contender::Blocking => "std",
            Contender::GlassTimed => "glass+timing",
        }
    }

    /// The contender called `name`, if any.
    pub fn from_name(name: &str) -> Option<Contender> {
        Contender::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl fmt::Display for Contender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one complete run of a workload reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    /// Wall time of the work itself, measured by the workload around the part that matters.
    pub elapsed: Duration,
    /// A number the workload computed (a sum, a byte count) that the caller compares with what it
    /// should be: a benchmark that got the wrong answer quickly has measured nothing.
    pub check: u64,
    /// How much the peak resident memory of the process doing the work grew, in bytes, for the
    /// workloads that can measure it (many_connections run in a child process).
    pub peak_memory: Option<u64>,
    /// CPU time (user and system) the serving process spent, for the workloads whose server
    /// under test runs in a child process: where the client bounds the wall time, this still
    /// tells the servers apart.
    pub server_cpu: Option<Duration>,
}

impl Run {
    /// A run without a memory reading.
    pub fn new(elapsed: Duration, check: u64) -> Run {
        Run {
            elapsed,
            check,
            peak_memory: None,
            server_cpu: None,
        }
    }
}

/// What the workloads share across runs, so that per-run setup stays out of the measurements.
pub struct Harness {
    /// tokio's runtime, built once as a tokio program would (building one costs tens of
    /// microseconds, which would otherwise land in every sample of the short workloads).
    tokio: tokio::runtime::Runtime,
    /// The executable that serves many_connections in a child process (`compare --serve ...`).
    /// `None` serves it on a thread of this process instead, which only fits small sizes: both
    /// ends of 10,000 connections need more files than one process may open.
    server_exe: Option<PathBuf>,
    /// The local HTTP server that every contender's client talks to, started on first use.
    http: OnceCell<HttpServer>,
}

impl Harness {
    /// A harness whose many_connections server runs as `server_exe --serve ...` if given.
    pub fn new(server_exe: Option<PathBuf>) -> io::Result<Harness> {
        Ok(Harness {
            tokio: current_thread_runtime()?,
            server_exe,
            http: OnceCell::new(),
        })
    }

    /// The tokio `current_thread` runtime the tokio versions run on.
    pub fn tokio(&self) -> &tokio::runtime::Runtime {
        &self.tokio
    }

    /// See [`Harness::new`].
    pub fn server_exe(&self) -> Option<&PathBuf> {
        self.server_exe.as_ref()
    }

    /// The shared local HTTP server, started on the first call.
    pub fn http_server(&self) -> io::Result<&HttpServer> {
        if let Some(server) = self.http.get() {
            return Ok(server);
        }
        let server = HttpServer::start()?;
        Ok(self.http.get_or_init(|| server))
    }
}

/// A tokio `current_thread` runtime with I/O and timers, as the workloads need.
pub(crate) fn current_thread_runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// User plus system CPU time of this whole process so far, all threads included.
pub(crate) fn process_cpu_time() -> io::Result<Duration> {
    cpu_clock(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// User plus system CPU time of the calling thread so far: with both runtimes running every task
/// on the calling thread, this is what a run cost the runtime, whatever the wall clock says.
pub(crate) fn thread_cpu_time() -> io::Result<Duration> {
    cpu_clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// Reads a CPU-time clock. These clocks count nanoseconds of actual running time; `getrusage`
/// would do too, but on this kernel it moves in scheduler ticks (4 ms), too coarse for a sample.
fn cpu_clock(clock: libc::clockid_t) -> io::Result<Duration> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable `timespec` for the duration of the call.
    if unsafe { libc::clock_gettime(clock, &mut now) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Duration::new(now.tv_sec as u64, now.tv_nsec as u32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn spin(for_how_long: Duration) {
        let start = Instant::now();
        let mut x = 0u64;
        while start.elapsed() < for_how_long {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
    }

    #[test]
    fn cpu_times_grow_with_work() {
        let (process, thread) = (process_cpu_time().unwrap(), thread_cpu_time().unwrap());
        spin(Duration::from_millis(2));
        let spent = thread_cpu_time().unwrap() - thread;
        // Fine-grained: 2 ms of spinning reads as about 2 ms, not as 0 or a 4 ms tick.
        assert!(
            spent >= Duration::from_micros(1500) && spent < Duration::from_millis(100),
            "{spent:?}"
        );
        assert!(process_cpu_time().unwrap() > process);
    }

    #[test]
    fn contender_names_round_trip() {
        for (i, c) in Contender::ALL.into_iter().enumerate() {
            assert_eq!(Contender::from_name(c.name()), Some(c));
            assert_eq!(c.index(), i);
        }
        assert_eq!(Contender::from_name("rayon"), None);
    }
}
