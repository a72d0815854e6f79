//! Rung 2 of the ladder: serial, concurrent and parallel are three different things.
//!
//! ```text
//! cargo run -p executor --example concurrency
//! ```
//!
//! Three "downloads" (jobs `a`, `b`, `c`), each of which waits three times for 100 ms (as a
//! download waits for the network), are run four ways:
//! 1. serially, one `.await` after another, on one thread;
//! 2. concurrently, as three tasks on one thread: they interleave at their `.await`s;
//! 3. in parallel, on three OS threads (blocking sleeps);
//! 4. concurrently again, but `b` needs `a`'s result first: the dependency makes them serial.
//!
//! Each run prints its steps as they happen, then a timeline with one row per job (one column per
//! 25 ms; `=` while the job is under way).

use std::cell::RefCell;
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use reactor::time::sleep;

/// How long each of a job's three waits lasts.
const STEP: Duration = Duration::from_millis(100);
const STEPS: u32 = 3;
/// One timeline column.
const COLUMN: Duration = Duration::from_millis(25);

/// When each job started and ended, relative to the start of the run.
struct Timeline {
    start: Instant,
    spans: Vec<(&'static str, Duration, Duration)>,
}

impl Timeline {
    fn new() -> Timeline {
        Timeline {
            start: Instant::now(),
            spans: Vec::new(),
        }
    }

    fn since_start(&self) -> Duration {
        self.start.elapsed()
    }

    /// Prints one row per job, then the total.
    fn print(&self) {
        let total = self.since_start();
        for (job, from, to) in &self.spans {
            let columns = |d: Duration| (d.as_millis() / COLUMN.as_millis()) as usize;
            let (from, to) = (columns(*from), columns(*to).max(columns(*from) + 1));
            println!("   {job} |{}{}|", " ".repeat(from), "=".repeat(to - from));
        }
        println!("   total: {} ms", total.as_millis());
    }
}

/// The steps a job reports, with the thread it runs on, so that the interleaving shows.
fn report(job: &str, step: u32, at: Duration) {
    let thread = thread::current();
    let thread = thread.name().unwrap_or("unnamed");
    println!(
        "   {job}: step {step} done at {:>4} ms on thread {thread}",
        at.as_millis()
    );
}

/// An async job: three waits of `STEP`, each an `.await` where other tasks may run.
async fn job(name: &'static str, timeline: Rc<RefCell<Timeline>>) -> u32 {
    let started = timeline.borrow().since_start();
    for step in 1..=STEPS {
        sleep(STEP).await;
        report(name, step, timeline.borrow().since_start());
    }
    let ended = timeline.borrow().since_start();
    timeline.borrow_mut().spans.push((name, started, ended));
    name.len() as u32 * 10
}

fn serially() {
    println!("1. Serially: job a, then b, then c, each awaited before the next starts.");
    let timeline = Rc::new(RefCell::new(Timeline::new()));
    executor::block_on(async {
        for name in ["a", "b", "c"] {
            job(name, timeline.clone()).await;
        }
    });
    timeline.borrow().print();
    println!();
}

fn concurrently() {
    println!("2. Concurrently: three tasks on one thread; each .await lets the others run.");
    let timeline = Rc::new(RefCell::new(Timeline::new()));
    executor::block_on(async {
        let handles: Vec<_> = ["a", "b", "c"]
            .into_iter()
            .map(|name| {
                executor::Builder::new()
                    .name(format!("job {name}"))
                    .spawn(job(name, timeline.clone()))
            })
            .collect();
        for handle in handles {
            handle.await.expect("a job does not panic");
        }
    });
    timeline.borrow().print();
    println!();
}

fn in_parallel() {
    println!("3. In parallel: one OS thread per job, each blocking in thread::sleep.");
    let start = Instant::now();
    let spans: Vec<_> = ["a", "b", "c"]
        .into_iter()
        .map(|name| {
            thread::Builder::new()
                .name(format!("thread-{name}"))
                .spawn(move || {
                    let started = start.elapsed();
                    for step in 1..=STEPS {
                        thread::sleep(STEP);
                        report(name, step, start.elapsed());
                    }
                    (name, started, start.elapsed())
                })
                .expect("spawning a thread")
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().expect("a job does not panic"))
        .collect();
    Timeline { start, spans }.print();
    println!();
}

fn dependent() {
    println!("4. Concurrently, but b needs a's result: b's task awaits a's JoinHandle first.");
    let timeline = Rc::new(RefCell::new(Timeline::new()));
    executor::block_on(async {
        let a = executor::spawn(job("a", timeline.clone()));
        let t = timeline.clone();
        let b = executor::spawn(async move {
            let from_a = a.await.expect("job a does not panic");
            println!(
                "   b: got {from_a} from a at {} ms; starting",
                t.borrow().since_start().as_millis()
            );
            job("b", t).await
        });
        b.await.expect("job b does not panic");
    });
    timeline.borrow().print();
    println!();
}

fn main() {
    serially();
    concurrently();
    in_parallel();
    dependent();
    println!("What to notice:");
    println!(
        "- Serially, the total is the sum of the jobs' waits ({} ms here).",
        (STEP * STEPS * 3).as_millis()
    );
    println!(
        "- Concurrently, one thread ran all three: their steps interleave (a, b, c, a, b, c...)"
    );
    println!("  and the total is about one job's time, because each job spent it waiting.");
    println!("- In parallel, three threads did the same: the same total, at the cost of three");
    println!("  threads (stacks, context switches) for work that was only waiting.");
    println!("- A dependency (b needs a's result) makes concurrent work serial again.");
}
