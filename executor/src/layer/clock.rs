//! The clock of the time split: nanoseconds since the runtime's clock was made, read once per
//! poll, so it must be cheap.
//!
//! On x86-64 it counts the CPU's time-stamp counter (`rdtsc`), scaled to nanoseconds by a factor
//! measured against `Instant` when the clock is made; elsewhere, or where the TSC cannot be
//! trusted, it is `Instant::now()`. Measured on the 2-vCPU AMD EPYC virtual machine this was
//! written on: `rdtsc` 40-47 ns a read, `Instant::now()` 121-143 ns (the kernel's vDSO reads the
//! same counter, then converts and checks it; under this hypervisor that is three times the
//! cost). The time split reads the clock on every poll, so this is most of what timing costs.
//!
//! The TSC is trusted only when the kernel itself uses it for `CLOCK_MONOTONIC` (the clock source
//! is `tsc`): Linux picks it only when it ticks at a constant rate, in every power state, in step
//! on every core, which is what makes it monotonic and precise enough here.

use std::time::{Duration, Instant};

/// A monotonic clock in nanoseconds since it was made.
pub(crate) struct Clock {
    origin: Instant,
    #[cfg(target_arch = "x86_64")]
    tsc: Option<Tsc>,
}

/// The TSC's reading at the origin, and nanoseconds per tick as a 32.32 fixed-point factor.
#[cfg(target_arch = "x86_64")]
struct Tsc {
    origin: u64,
    nanos_per_tick: u64,
}

impl Clock {
    /// Makes the clock; where it uses the TSC, the first clock of the process measures its rate
    /// against `Instant` over 2 ms.
    pub(crate) fn new() -> Clock {
        Clock {
            origin: Instant::now(),
            #[cfg(target_arch = "x86_64")]
            tsc: Tsc::rate().map(|nanos_per_tick| Tsc {
                origin: read_tsc(),
                nanos_per_tick,
            }),
        }
    }

    /// Nanoseconds since the clock was made.
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        #[cfg(target_arch = "x86_64")]
        if let Some(tsc) = &self.tsc {
            let ticks = read_tsc().saturating_sub(tsc.origin);
            return ((u128::from(ticks) * u128::from(tsc.nanos_per_tick)) >> 32) as u64;
        }
        self.origin.elapsed().as_nanos() as u64
    }
}

#[cfg(target_arch = "x86_64")]
fn read_tsc() -> u64 {
    // SAFETY: `rdtsc` exists on every x86-64 processor and only reads a counter.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(target_arch = "x86_64")]
impl Tsc {
    /// Nanoseconds per tick (32.32 fixed point), measured once per process; `None` if the TSC
    /// is not to be trusted.
    fn rate() -> Option<u64> {
        static RATE: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
        *RATE.get_or_init(|| {
            let path = "/sys/devices/system/clocksource/clocksource0/current_clocksource";
            if std::fs::read_to_string(path).ok()?.trim() != "tsc" {
                return None;
            }
            let (start, start_ticks) = (Instant::now(), read_tsc());
            std::thread::sleep(Duration::from_millis(2));
            let (end, end_ticks) = (Instant::now(), read_tsc());
            let nanos = end.duration_since(start).as_nanos();
            let ticks = u128::from(end_ticks.checked_sub(start_ticks)?).max(1);
            u64::try_from((nanos << 32) / ticks).ok()
        })
    }
}
