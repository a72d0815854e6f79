//! The clock of the time split, read once per poll, so it must be cheap: it returns *ticks*, and
//! only a reader (`metrics`, `tasks()`, a warning) turns them into nanoseconds.
//!
//! On x86-64 a tick is one of the CPU's time-stamp counter (`rdtsc`): the read is one
//! instruction, and the conversion, a factor measured against `Instant` when the clock is made,
//! is left to whoever reads the totals. Elsewhere, or where the TSC cannot be trusted, a tick is
//! a nanosecond of `Instant`. `rdtsc` costs about a third of `Instant::now()` on the virtual
//! machine this was written on (figures in `benches/README.md`): the kernel's vDSO reads the same
//! counter, then converts and checks it.
//!
//! The TSC is trusted only when the kernel itself uses it for `CLOCK_MONOTONIC` (the clock source
//! is `tsc`): Linux picks it only when it ticks at a constant rate, in every power state, in step
//! on every core, which is what makes it monotonic and precise enough here.

use std::time::{Duration, Instant};

/// A monotonic clock in ticks, never 0.
pub(crate) struct Clock {
    origin: Instant,
    /// Nanoseconds per TSC tick, as a 32.32 fixed-point factor; `None`: ticks are nanoseconds
    /// of `Instant` since `origin`.
    #[cfg(target_arch = "x86_64")]
    nanos_per_tick: Option<u64>,
}

impl Clock {
    /// Makes the clock; where it uses the TSC, the first clock of the process measures its rate
    /// against `Instant` over `CALIBRATION`.
    pub(crate) fn new() -> Clock {
        Clock {
            origin: Instant::now(),
            #[cfg(target_arch = "x86_64")]
            nanos_per_tick: tsc_rate(),
        }
    }

    /// The time now, in ticks.
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        #[cfg(target_arch = "x86_64")]
        if self.nanos_per_tick.is_some() {
            return read_tsc();
        }
        self.origin.elapsed().as_nanos() as u64 + 1
    }

    /// A number of ticks as nanoseconds.
    pub(crate) fn nanos(&self, ticks: u64) -> u64 {
        #[cfg(target_arch = "x86_64")]
        if let Some(rate) = self.nanos_per_tick {
            return ((u128::from(ticks) * u128::from(rate)) >> 32) as u64;
        }
        ticks
    }

    /// A number of ticks as a `Duration`.
    pub(crate) fn duration(&self, ticks: u64) -> Duration {
        Duration::from_nanos(self.nanos(ticks))
    }

    /// A `Duration` as a number of ticks (rounded down).
    pub(crate) fn ticks(&self, duration: Duration) -> u64 {
        let nanos = duration.as_nanos();
        #[cfg(target_arch = "x86_64")]
        if let Some(rate) = self.nanos_per_tick {
            return u64::try_from((nanos << 32) / u128::from(rate.max(1))).unwrap_or(u64::MAX);
        }
        u64::try_from(nanos).unwrap_or(u64::MAX)
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn read_tsc() -> u64 {
    // SAFETY: `rdtsc` exists on every x86-64 processor and only reads a counter.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// How long the TSC's rate is measured against `Instant`: the one pause a program pays for the
/// cheap clock, on the thread that first turns timing or the warnings on. The error is that of
/// the two paired readings (a few nanoseconds each, see `paired_reading`) over this window: a few
/// parts in 100,000, so a second of measured time is off by tens of microseconds.
#[cfg(target_arch = "x86_64")]
const CALIBRATION: Duration = Duration::from_micros(100);

/// Nanoseconds per TSC tick (32.32 fixed point), measured once per process; `None` if the TSC
/// is not to be trusted.
#[cfg(target_arch = "x86_64")]
fn tsc_rate() -> Option<u64> {
    static RATE: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *RATE.get_or_init(|| {
        let path = "/sys/devices/system/clocksource/clocksource0/current_clocksource";
        if std::fs::read_to_string(path).ok()?.trim() != "tsc" {
            return None;
        }
        let (start, start_ticks) = paired_reading();
        std::thread::sleep(CALIBRATION);
        let (end, end_ticks) = paired_reading();
        let nanos = end.duration_since(start).as_nanos();
        let ticks = u128::from(end_ticks.checked_sub(start_ticks)?).max(1);
        u64::try_from((nanos << 32) / ticks)
            .ok()
            .filter(|&rate| rate > 0)
    })
}

/// `Instant::now()` and the TSC read at (nearly) the same moment. A thread preempted between two
/// reads would pair readings milliseconds apart, and the rate measured over `CALIBRATION` would
/// be off by as much as the preemption lasted (on a loaded machine a preemption lasts tens of
/// milliseconds), and every duration of the run with it. So `Instant::now()` is bracketed by two
/// TSC reads, and of a few tries the one whose brackets are closest is kept: a preempted try shows
/// as a wide bracket.
#[cfg(target_arch = "x86_64")]
fn paired_reading() -> (Instant, u64) {
    let read = || {
        let before = read_tsc();
        let now = Instant::now();
        let width = read_tsc().wrapping_sub(before);
        (width, now, before.wrapping_add(width / 2))
    };
    let mut narrowest = read();
    for _ in 1..16 {
        let next = read();
        if next.0 < narrowest.0 {
            narrowest = next;
        }
    }
    (narrowest.1, narrowest.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The clock's interval, converted, against `Instant`'s over the same sleep: a clock read
    /// inside two `Instant` reads measures no more than they do, one outside them no less. A
    /// preemption between reads only widens the outer interval, so this holds on a loaded
    /// machine; a rate off by more than 0.1% breaks one side.
    #[test]
    fn ticks_convert_to_the_nanoseconds_instant_measures() {
        let clock = Clock::new();
        let slack = |nanos: u128| nanos / 1000 + 1000;
        for _ in 0..3 {
            let outer_start = Instant::now();
            let ticks_start = clock.now();
            let inner_start = Instant::now();
            std::thread::sleep(Duration::from_millis(20));
            let inner = inner_start.elapsed().as_nanos();
            let ticks = clock.now() - ticks_start;
            let outer = outer_start.elapsed().as_nanos();
            let measured = u128::from(clock.nanos(ticks));
            assert!(
                measured + slack(inner) >= inner && measured <= outer + slack(outer),
                "the clock measured {measured} ns between Instant's {inner} and {outer} ns"
            );
        }
        let second = Duration::from_secs(1);
        let back = clock.duration(clock.ticks(second));
        assert!(
            second - back < Duration::from_micros(1),
            "1 s became {} ticks, then {back:?}",
            clock.ticks(second)
        );
    }
}
