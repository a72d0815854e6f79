//! The table printed at the end: what each download took, and what the runtime did meanwhile.
//!
//! The numbers that matter for the lesson are at the bottom. "asleep in epoll_wait" near 100% of
//! wall time means the one thread mostly *waited*: the work was IO-bound, so one thread was enough
//! for every download at once. "one after another" is the sum of the per-download times: what the
//! same downloads would have cost done in sequence, each blocking the program until it was done.

use std::fmt::Write as _;
use std::time::Duration;

use indicatif::BinaryBytes;

use crate::hash::{self, HashOn};
use crate::manager::Record;
use crate::names::for_display;

/// How the downloads ran, and what the runtime counted.
#[derive(Debug)]
pub enum Design {
    /// Tasks on one glass thread.
    Glass {
        /// Polls of every task (the embedded server's included), from `executor::metrics()`.
        polls: u64,
        /// From `reactor::metrics()`.
        epoll_waits: u64,
        /// Time inside `epoll_wait`, from `reactor::metrics()`.
        asleep: Duration,
        /// Time spent polling tasks, from `executor::metrics()`.
        running: Duration,
    },
    /// An OS thread per download.
    Threads {
        /// Threads started for downloads.
        started: usize,
    },
}

/// Everything the table shows.
pub struct Summary<'a> {
    /// One row each.
    pub records: &'a [Record],
    /// Which runtime section to print.
    pub design: Design,
    /// From the start of the downloads to the end.
    pub wall: Duration,
    /// The process's peak resident memory, if `/proc` tells.
    pub peak_memory: Option<u64>,
    /// Whether the files were served by the embedded server on the same thread.
    pub embedded_server: bool,
    /// Where the glass tasks hashed their files, and what that cost the display.
    pub hashing: Option<Hashing>,
    /// glass's warnings of the run, in order (`trace::warnings`).
    pub warnings: &'a [String],
}

/// Where the hashes ran, and the display's longest freeze.
#[derive(Clone, Copy, Debug)]
pub struct Hashing {
    /// The blocking pool, or the event loop (`--hash-on-loop`).
    pub on: HashOn,
    /// The longest time between two redraws.
    pub longest_gap: Duration,
    /// The time between two redraws when nothing holds the thread.
    pub every: Duration,
}

impl Hashing {
    /// How much longer than planned the display waited, at worst.
    fn stall(&self) -> Duration {
        self.longest_gap.saturating_sub(self.every)
    }
}

/// A short duration in whole milliseconds.
fn millis(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// `VmHWM` from `/proc/self/status`: the most resident memory the process has had.
pub fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn percent(part: Duration, whole: Duration) -> String {
    format!(
        "{:.0}%",
        100.0 * part.as_secs_f64() / whole.as_secs_f64().max(1e-9)
    )
}

impl Summary<'_> {
    /// What the runtime's shares are shares of: the wall time, or the time asleep and the time
    /// running added up if that is more. Those two come from the runtime's own clocks, which do
    /// not start and stop exactly with `wall`, and a thread cannot be busy more than 100% of
    /// the time, nor asleep and busy more than all of it.
    fn runtime_whole(&self) -> Duration {
        match self.design {
            Design::Glass {
                asleep, running, ..
            } => self.wall.max(asleep.saturating_add(running)),
            Design::Threads { .. } => self.wall,
        }
    }

    /// The longest poll of any download task, and that download's name.
    fn longest_download_poll(&self) -> Option<(Duration, String)> {
        let (metrics, record) = self
            .records
            .iter()
            .filter_map(|r| Some((r.metrics?, r)))
            .max_by_key(|(m, _)| m.max_poll)?;
        Some((metrics.max_poll, record.progress.snapshot().name))
    }

    /// The table, as text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n{:<28} {:>11} {:>9} {:>13} {:>7} {:>7}  result",
            "download", "size", "time", "rate", "polls", "wakes"
        );
        let mut sum = Duration::ZERO;
        let (mut ok, mut failed, mut stopped, mut bytes) = (0, 0, 0, 0u64);
        let mut cancelled = Vec::new();
        let mut threads = Vec::new();
        for record in self.records {
            let info = record.progress.snapshot();
            if let Some(thread) = info.thread
                && !threads.contains(&thread)
            {
                threads.push(thread);
            }
            let time = info
                .finished
                .zip(info.started)
                .map_or(Duration::ZERO, |(f, s)| f - s);
            sum = sum.saturating_add(time);
            let received = match &record.result {
                Some(Ok(done)) => done.size,
                _ => record.progress.received(),
            };
            let fresh = received.saturating_sub(info.resumed_from);
            bytes = bytes.saturating_add(fresh);
            let rate = fresh as f64 / time.as_secs_f64().max(1e-9);
            let (polls, wakes) = record.metrics.map_or(("-".into(), "-".into()), |m| {
                (m.polls.to_string(), m.wakes.to_string())
            });
            let result = match &record.result {
                Some(Ok(_)) => {
                    ok += 1;
                    for_display(&info.note)
                }
                Some(Err(_)) => {
                    failed += 1;
                    "FAILED".to_owned()
                }
                None if record.cancelled => {
                    cancelled.push(for_display(&info.name));
                    "cancelled".to_owned()
                }
                None => {
                    stopped += 1;
                    "stopped".to_owned()
                }
            };
            let result = match info.retries {
                0 => result,
                1 => format!("{result} (1 retry)"),
                n => format!("{result} ({n} retries)"),
            };
            let _ = writeln!(
                out,
                "{:<28} {:>11} {:>9} {:>11}/s {polls:>7} {wakes:>7}  {result}",
                short(&info.name),
                BinaryBytes(received).to_string(),
                seconds(time),
                BinaryBytes(rate as u64).to_string(),
            );
        }
        let digests: Vec<_> = self
            .records
            .iter()
            .filter_map(|r| match &r.result {
                Some(Ok(done)) => Some((done.sha256?, r.progress.snapshot().name)),
                _ => None,
            })
            .collect();
        if !digests.is_empty() {
            let _ = writeln!(
                out,
                "\nSHA-256 of each file, of its bytes in order, known before it got its name \
                 (sha256sum's format):"
            );
            for (digest, name) in digests {
                let _ = writeln!(out, "{}  {}", hash::hex(&digest), for_display(&name));
            }
        }
        let also_cancelled = match cancelled.len() {
            0 => String::new(),
            n => format!(", {n} cancelled"),
        };
        let _ = writeln!(
            out,
            "\n{} downloads: {ok} complete, {failed} failed, {stopped} stopped{also_cancelled}; {} \
             received in {} of wall time",
            self.records.len(),
            BinaryBytes(bytes),
            seconds(self.wall)
        );
        if !cancelled.is_empty() {
            let _ = writeln!(
                out,
                "cancelled (each .part is kept; the same command resumes it): {}",
                cancelled.join(", ")
            );
        }
        let _ = writeln!(
            out,
            "one after another (the sum of the times above) they would have taken {}",
            seconds(sum)
        );
        match self.design {
            Design::Glass {
                polls,
                epoll_waits,
                asleep,
                running,
            } => {
                let whole = self.runtime_whole();
                let _ = writeln!(out, "\nruntime: glass, every download a task on one thread");
                let _ = writeln!(out, "  threads that ran tasks {:>13}", threads.len());
                let server = if self.embedded_server {
                    " (the embedded server's tasks included)"
                } else {
                    ""
                };
                let _ = writeln!(out, "  polls {polls:>30}{server}");
                let _ = writeln!(out, "  epoll_wait calls {epoll_waits:>19}");
                let _ = writeln!(
                    out,
                    "  asleep in epoll_wait {:>15}  {:>4} of wall time",
                    seconds(asleep),
                    percent(asleep, whole)
                );
                let _ = writeln!(
                    out,
                    "  running tasks {:>22}  {:>4} of wall time",
                    seconds(running),
                    percent(running, whole)
                );
            }
            Design::Threads { started } => {
                let _ = writeln!(
                    out,
                    "\nruntime: --threads, every download an OS thread with blocking sockets"
                );
                let _ = writeln!(
                    out,
                    "  threads that ran downloads {:>9} (started: {started}; plus the main \
                     thread, drawing{})",
                    threads.len(),
                    if self.embedded_server {
                        " and serving"
                    } else {
                        ""
                    }
                );
            }
        }
        if let Some(hashing) = self.hashing {
            let on = match hashing.on {
                HashOn::BlockingPool => "on the blocking pool (spawn_blocking)",
                HashOn::EventLoop => "on the event loop (--hash-on-loop)",
            };
            let _ = writeln!(out, "  hashing                {on}");
            // The cost on the thread itself: the longest poll of a download, with its name.
            if let Some((longest, name)) = self.longest_download_poll() {
                let slow: u64 = self
                    .records
                    .iter()
                    .filter_map(|r| r.metrics)
                    .map(|m| m.slow_polls)
                    .sum();
                let _ = writeln!(
                    out,
                    "  longest download poll {:>14}  ({}; polls over the slow-poll threshold: {slow})",
                    millis(longest),
                    short(&name)
                );
            }
            let _ = writeln!(
                out,
                "  display's longest stall {:>12}  (longest gap between redraws {}, planned {})",
                millis(hashing.stall()),
                millis(hashing.longest_gap),
                millis(hashing.every)
            );
        }
        if let Some(peak) = self.peak_memory {
            let peak = BinaryBytes(peak).to_string();
            let _ = writeln!(out, "  peak memory (VmHWM) {peak:>16}");
        }
        if let Design::Glass {
            asleep, running, ..
        } = self.design
        {
            let whole = self.runtime_whole();
            match Lesson::from_measurement(bytes, asleep, running, whole) {
                Lesson::IoBound => {
                    let _ = writeln!(
                        out,
                        "\nThe thread was asleep {} of the time, waiting on the network: the \
                         downloads are IO-bound,\nwhich is why one thread can serve them all at \
                         once.",
                        percent(asleep, whole)
                    );
                }
                Lesson::ThreadBound => {
                    let work = if self.embedded_server {
                        "generating, sending, checking and writing the bytes"
                    } else {
                        "copying and writing the bytes"
                    };
                    let _ = writeln!(
                        out,
                        "\nThe thread was running tasks {} of the time, {work}:\nthe thread was \
                         the bottleneck, not the network (one thread is enough only while the \
                         work per byte is small next to the wait).",
                        percent(running, whole)
                    );
                }
                Lesson::None => {}
            }
        }
        if let Some(hashing) = self.hashing {
            let _ = match hashing.on {
                HashOn::EventLoop => writeln!(
                    out,
                    "\nThe hashes ran on the event loop, each file inside one poll of its task: \
                     for up to {} at a time nothing\nelse ran, no byte moved and no redraw could \
                     happen (the display's longest stall, {}, is the part of that when a\nredraw \
                     was due). Without --hash-on-loop they run on the blocking pool.",
                    millis(
                        self.longest_download_poll()
                            .map_or(Duration::ZERO, |(d, _)| d)
                    ),
                    millis(hashing.stall())
                ),
                HashOn::BlockingPool => writeln!(
                    out,
                    "\nThe hashes ran on the blocking pool: the event loop went on meanwhile, and \
                     the display's longest stall\nwas {}. --hash-on-loop runs them on the event \
                     loop instead, to see the difference.",
                    millis(hashing.stall())
                ),
            };
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(out, "\nwarnings ({}):", self.warnings.len());
            for warning in self.warnings {
                let _ = writeln!(out, "  {}", for_display(warning));
            }
        }
        out
    }
}

/// The one-line lesson the measurement supports, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lesson {
    /// Asleep in `epoll_wait` more than half of the time: the thread mostly waited on the network.
    IoBound,
    /// Running tasks more than half of the time: the thread's own work set the pace.
    ThreadBound,
    /// Nothing was downloaded, or neither share is a majority: no honest one-liner.
    None,
}

impl Lesson {
    /// Decides from `bytes` received, and the time `asleep` and `running` out of `whole`.
    fn from_measurement(bytes: u64, asleep: Duration, running: Duration, whole: Duration) -> Self {
        if bytes == 0 || whole.is_zero() {
            Lesson::None
        } else if asleep * 2 > whole {
            Lesson::IoBound
        } else if running * 2 > whole {
            Lesson::ThreadBound
        } else {
            Lesson::None
        }
    }
}

/// A name cut to the table's column.
fn short(name: &str) -> String {
    let name = for_display(name);
    if name.chars().count() <= 28 {
        return name;
    }
    let head: String = name.chars().take(27).collect();
    format!("{head}\u{2026}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The percentages in `text`, in order.
    fn percentages(text: &str) -> Vec<u32> {
        text.split_whitespace()
            .filter_map(|word| word.strip_suffix('%')?.parse().ok())
            .collect()
    }

    #[test]
    fn runtime_shares_never_exceed_the_whole() {
        let secs = Duration::from_secs;
        let summary = Summary {
            records: &[],
            design: Design::Glass {
                polls: 10,
                epoll_waits: 5,
                asleep: secs(1),
                running: secs(3),
            },
            wall: secs(2),
            peak_memory: None,
            embedded_server: false,
            hashing: None,
            warnings: &[],
        };
        let text = summary.render();
        // No download, so no lesson line with a third percentage.
        assert_eq!(percentages(&text), [25, 75], "{text}");
    }

    /// A summary of one glass run that received `size` bytes (0: nothing arrived), with the
    /// thread asleep and running for these many milliseconds of a 1 s run.
    fn glass_run(size: u64, asleep_ms: u64, running_ms: u64) -> String {
        let ms = Duration::from_millis;
        let progress = crate::progress::Progress::new("http://h/f", "f");
        progress.start();
        let result = if size > 0 {
            Ok(crate::download::Done {
                size,
                resumed_from: 0,
                verified: true,
                remark: None,
                sha256: None,
            })
        } else {
            Err(crate::download::DownloadError::Status {
                url: "http://h/f".into(),
                status: 404,
                retry_after: None,
            })
        };
        let records = [Record {
            job: crate::download::Job {
                url: "http://h/f".into(),
                expected: None,
                sha256: None,
            },
            progress,
            result: Some(result),
            cancelled: false,
            metrics: None,
        }];
        let summary = Summary {
            records: &records,
            design: Design::Glass {
                polls: 10,
                epoll_waits: 5,
                asleep: ms(asleep_ms),
                running: ms(running_ms),
            },
            wall: ms(1000),
            peak_memory: None,
            embedded_server: true,
            hashing: None,
            warnings: &[],
        };
        summary.render()
    }

    #[test]
    fn the_lesson_follows_the_measurement() {
        let ms = Duration::from_millis;
        let decide = |bytes, asleep, running| {
            Lesson::from_measurement(bytes, ms(asleep), ms(running), ms(1000))
        };
        assert_eq!(decide(1, 960, 40), Lesson::IoBound);
        assert_eq!(decide(1, 10, 990), Lesson::ThreadBound);
        assert_eq!(decide(1, 500, 500), Lesson::None);
        assert_eq!(decide(1, 300, 300), Lesson::None);
        assert_eq!(decide(0, 960, 40), Lesson::None);
        assert_eq!(decide(0, 0, 0), Lesson::None);
        assert_eq!(
            Lesson::from_measurement(1, ms(0), ms(0), ms(0)),
            Lesson::None
        );
    }

    #[test]
    fn mostly_asleep_is_io_bound() {
        let text = glass_run(1 << 30, 960, 40);
        assert!(text.contains("asleep 96% of the time"), "{text}");
        assert!(text.contains("IO-bound"), "{text}");
    }

    #[test]
    fn mostly_running_is_not_io_bound() {
        let text = glass_run(1 << 30, 10, 990);
        assert!(!text.contains("IO-bound"), "{text}");
        assert!(text.contains("the thread was the bottleneck"), "{text}");
        assert!(text.contains("99% of the time"), "{text}");
    }

    #[test]
    fn nothing_downloaded_teaches_nothing() {
        let text = glass_run(0, 0, 0);
        assert!(!text.contains("IO-bound"), "{text}");
        assert!(!text.contains("bottleneck"), "{text}");
    }
}
