//! The [`Board`]: every download's [`Progress`] drawn, as `indicatif` bars on a terminal or as
//! plain lines for a pipe or a log, with the total, the prompt, the selected row (the arrow
//! keys) and the task table. `progress.rs` says who draws and when.

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::time::{Duration, Instant};

use glass_console::TaskTable;
use indicatif::{BinaryBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Info, Phase, Progress, write_stdout};
use crate::names::for_display;

/// The display of every download.
pub struct Board {
    /// Bars or plain lines.
    kind: Kind,
    /// One row per download, in the order they were added.
    rows: RefCell<Vec<Row>>,
    /// When the board was made: the plain lines' clock.
    started: Instant,
    /// The task table, shown under the bars (or with each plain status line) when asked for.
    tasks: TaskTable,
    /// When the display last ticked ([`Board::tick`]); `None` before the first tick and after
    /// a stop (Ctrl-Z), whose pause is not the program's stall.
    last_tick: Cell<Option<Instant>>,
    /// The longest time between two ticks: how long the display was frozen, at worst.
    longest_gap: Cell<Duration>,
    /// What the prompt shows as typed, to draw it again when its hint changes.
    typed: RefCell<String>,
    /// The row the arrow keys have selected, for `c` and `r` (bars with a keyboard only).
    selected: Cell<usize>,
}

enum Kind {
    /// `indicatif` bars, redrawn in place.
    Bars {
        /// Holds the bars and draws them together.
        multi: MultiProgress,
        /// The sum of all downloads, kept below them.
        total: ProgressBar,
        /// The line the user types a URL into, below the total; `None` without a keyboard.
        prompt: RefCell<Option<ProgressBar>>,
        /// The task table, between the total and the prompt, while it is shown.
        table: RefCell<Option<ProgressBar>>,
    },
    /// One line per event, and a status line now and then: for pipes and logs.
    Plain {
        /// When the last status line was printed: one a second is plenty for a log.
        last_status: Cell<Instant>,
    },
}

struct Row {
    /// What the row shows.
    progress: Arc<Progress>,
    /// `None` in plain mode.
    bar: Option<ProgressBar>,
    /// The phase the display last showed, to notice changes.
    shown: Phase,
    /// The retries the display has told of (plain mode prints a line for each new one).
    shown_retries: u32,
}

/// How often plain mode prints a status line.
const PLAIN_STATUS_EVERY: Duration = Duration::from_secs(1);

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("the bar templates are valid")
        .progress_chars("=> ")
}

const SIZED: &str = "{prefix:<24!} [{bar:30}] {binary_bytes:>10}/{binary_total_bytes:<10} \
                     {binary_bytes_per_sec:>12} ETA {eta:>3} {wide_msg}";
/// For a body of unknown length: no bar, no ETA.
const UNSIZED: &str = "{prefix:<24!} {spinner:^32} {binary_bytes:>10}{binary_bytes_per_sec:>25}    \
                       {wide_msg}";

impl Board {
    /// Bars (drawn on stderr) when `bars`, plain lines on stdout otherwise; the task table shown
    /// from the start with `tasks`. Call inside `block_on` (the table reads the runtime).
    pub fn new(bars: bool, tasks: bool) -> Board {
        let kind = if bars {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let total = multi.add(ProgressBar::new(0));
            total.set_style(style(SIZED));
            total.set_prefix("total");
            Kind::Bars {
                multi,
                total,
                prompt: RefCell::new(None),
                table: RefCell::new(None),
            }
        } else {
            Kind::Plain {
                last_status: Cell::new(Instant::now()),
            }
        };
        Board {
            kind,
            rows: RefCell::new(Vec::new()),
            started: Instant::now(),
            tasks: TaskTable::new(tasks),
            last_tick: Cell::new(None),
            longest_gap: Cell::new(Duration::ZERO),
            typed: RefCell::new(String::new()),
            selected: Cell::new(0),
        }
    }

    /// Whether rows can be selected: bars, with a keyboard typing into the prompt.
    fn selecting(&self) -> bool {
        matches!(&self.kind, Kind::Bars { prompt, .. } if prompt.borrow().is_some())
    }

    /// The arrow keys: moves the selection `by` rows (up is negative), staying on the board.
    pub fn select(&self, by: isize) {
        let rows = self.rows.borrow().len();
        let at = self.selected.get().saturating_add_signed(by);
        self.selected.set(at.min(rows.saturating_sub(1)));
        self.refresh();
    }

    /// The selected row (the download's index, in the order they were added), if any.
    pub fn selected(&self) -> Option<usize> {
        let rows = self.rows.borrow().len();
        (self.selecting() && self.selected.get() < rows).then(|| self.selected.get())
    }

    /// `r`: shows row `index` as queued again, on a fresh bar in the same place.
    pub fn requeue(&self, index: usize) {
        let mut rows = self.rows.borrow_mut();
        let Some(row) = rows.get_mut(index) else {
            return;
        };
        row.shown = Phase::Queued;
        row.shown_retries = 0;
        if let (Kind::Bars { multi, .. }, Some(old)) = (&self.kind, &row.bar) {
            let bar = multi.insert_after(old, ProgressBar::new(0));
            bar.set_style(style(UNSIZED));
            bar.set_prefix(old.prefix());
            bar.set_message("queued");
            multi.remove(old);
            row.bar = Some(bar);
        }
    }

    /// The display's regular redraw (the display task calls it at each tick of its interval):
    /// [`refresh`](Board::refresh), and the time since the last tick measured. A gap longer than
    /// the interval is time when the display task could not run: the thread was held.
    pub fn tick(&self) {
        let now = Instant::now();
        if let Some(last) = self.last_tick.get() {
            self.longest_gap.set(self.longest_gap.get().max(now - last));
        }
        self.last_tick.set(Some(now));
        self.refresh();
    }

    /// The longest time between two ticks so far.
    pub fn longest_gap(&self) -> Duration {
        self.longest_gap.get()
    }

    /// `t`: shows or hides the task table, at once.
    pub fn toggle_tasks(&self) {
        self.tasks.toggle();
        // The prompt says what `t` does next.
        if let Kind::Bars { prompt, .. } = &self.kind
            && prompt.borrow().is_some()
        {
            let typed = self.typed.borrow().clone();
            self.set_prompt(&typed);
        }
        self.refresh();
    }

    /// Prints a warning on stderr: above the bars (through them, so they are not torn), or as a
    /// plain line.
    pub fn warn(&self, line: &str) {
        match &self.kind {
            Kind::Bars { multi, .. } => {
                let _ = multi.println(line);
            }
            Kind::Plain { .. } => eprintln!("{line}"),
        }
    }

    /// Shows a new download.
    pub fn add(&self, progress: Arc<Progress>) {
        let bar = match &self.kind {
            Kind::Bars { multi, total, .. } => {
                let bar = multi.insert_before(total, ProgressBar::new(0));
                bar.set_style(style(UNSIZED));
                bar.set_prefix(short(&progress.snapshot().name, 24));
                bar.set_message("queued");
                Some(bar)
            }
            Kind::Plain { .. } => None,
        };
        self.rows.borrow_mut().push(Row {
            progress,
            bar,
            shown: Phase::Queued,
            shown_retries: 0,
        });
    }

    /// Brings the display up to date with every download's counters.
    pub fn refresh(&self) {
        let mut rows = self.rows.borrow_mut();
        // Sizes come from servers (a `Content-Length` may be anything up to `u64::MAX`): the
        // totals saturate rather than overflow. A saturated total is wrong only for as long as
        // such a download runs; its length check then fails it.
        let (mut received, mut size) = (0u64, 0u64);
        let selecting = self.selecting();
        for (i, row) in rows.iter_mut().enumerate() {
            received = received.saturating_add(row.progress.received());
            size = size.saturating_add(row.progress.size().unwrap_or(row.progress.received()));
            let info = row.progress.snapshot();
            match &row.bar {
                Some(bar) => {
                    let prefix = match (selecting, i == self.selected.get()) {
                        (false, _) => short(&info.name, 24),
                        (true, true) => format!("\u{25b6} {}", short(&info.name, 22)),
                        (true, false) => format!("  {}", short(&info.name, 22)),
                    };
                    show_bar(bar, &row.progress, &info, row.shown, prefix)
                }
                None => {
                    if info.retries > row.shown_retries {
                        let name = for_display(&info.name);
                        let n = info.retries;
                        let message = retry_message(&info, false);
                        write_stdout(&format!("retry  {name}: attempt {n} failed, {message}\n"));
                    }
                    print_change(&row.progress, &info, row.shown);
                }
            }
            row.shown = info.phase;
            row.shown_retries = info.retries;
        }
        let running = rows
            .iter()
            .filter(|r| matches!(r.shown, Phase::Running | Phase::Retrying | Phase::Hashing))
            .count();
        let done = rows.iter().filter(|r| r.shown == Phase::Done).count();
        let failed = rows.iter().filter(|r| r.shown == Phase::Failed).count();
        match &self.kind {
            Kind::Bars { total, .. } => {
                total.set_length(size);
                total.set_position(received);
                total.set_message(format!("{done} done, {failed} failed"));
                self.show_table();
            }
            Kind::Plain { last_status } if last_status.get().elapsed() >= PLAIN_STATUS_EVERY => {
                last_status.set(Instant::now());
                let elapsed = self.started.elapsed().as_secs_f64();
                let mut status = format!(
                    "[{elapsed:5.1} s] {} of {}, {running} running, {done} done, {failed} failed\n",
                    BinaryBytes(received),
                    BinaryBytes(size)
                );
                if self.tasks.shown() {
                    status.push_str(&self.tasks.text(usize::MAX));
                    status.push('\n');
                }
                write_stdout(&status);
            }
            Kind::Plain { .. } => {}
        }
    }

    /// Bars only: draws the task table between the total and the prompt while it is shown, and
    /// takes it away once it is hidden.
    fn show_table(&self) {
        let Kind::Bars {
            multi,
            total,
            table,
            ..
        } = &self.kind
        else {
            return;
        };
        let mut table = table.borrow_mut();
        match (self.tasks.shown(), table.as_ref()) {
            (true, bar) => {
                let bar = bar.cloned().unwrap_or_else(|| {
                    let bar = multi.insert_after(total, ProgressBar::new(0));
                    bar.set_style(ProgressStyle::with_template("{msg}").expect("valid template"));
                    bar
                });
                // One message of many lines: indicatif draws each as a line of its own.
                bar.set_message(self.tasks.text(terminal_width()));
                *table = Some(bar);
            }
            (false, Some(bar)) => {
                bar.finish_and_clear();
                multi.remove(bar);
                *table = None;
            }
            (false, None) => {}
        }
    }

    /// Ctrl-Z: takes the bars off the screen and draws nothing more until [`resume`], so the
    /// shell gets the terminal clean.
    ///
    /// [`resume`]: Board::resume
    pub fn pause(&self) {
        self.last_tick.set(None);
        if let Kind::Bars { multi, .. } = &self.kind {
            let _ = multi.clear();
            multi.set_draw_target(ProgressDrawTarget::hidden());
        }
    }

    /// After `fg`: draws the bars again, from scratch (the screen has the shell's lines now).
    pub fn resume(&self) {
        self.last_tick.set(None);
        if let Kind::Bars { multi, .. } = &self.kind {
            multi.set_draw_target(ProgressDrawTarget::stderr());
        }
        self.refresh();
    }

    /// Prints a line: above the bars, or as one more plain line.
    pub fn note(&self, line: &str) {
        match &self.kind {
            Kind::Bars { multi, .. } => {
                let _ = multi.println(line);
            }
            Kind::Plain { .. } => write_stdout(&format!("{line}\n")),
        }
    }

    /// Shows what the user is typing (bars only; in plain mode the terminal echoes it).
    pub fn set_prompt(&self, typed: &str) {
        if let Kind::Bars { multi, prompt, .. } = &self.kind {
            let mut prompt = prompt.borrow_mut();
            let bar = prompt.get_or_insert_with(|| {
                let bar = multi.add(ProgressBar::new(0));
                bar.set_style(ProgressStyle::with_template("{msg}").expect("valid template"));
                bar
            });
            let t = if self.tasks.shown() { "hides" } else { "shows" };
            bar.set_message(format!(
                "add a URL (Enter starts it, q quits, t {t} the tasks, \u{2191}\u{2193} select, c \
                 cancels, r restarts): {}\u{2588}",
                for_display(typed)
            ));
        }
        *self.typed.borrow_mut() = typed.to_owned();
    }

    /// Leaves the bars on screen as they last were, and stops all drawing, before the summary is
    /// printed below them. (A bar still running when dropped would otherwise be cleared and the
    /// others redrawn, over whatever was printed since.)
    pub fn close(&self) {
        self.refresh();
        if let Kind::Bars {
            multi,
            total,
            prompt,
            table,
        } = &self.kind
        {
            let lines = [prompt.borrow_mut().take(), table.borrow_mut().take()];
            for line in lines.into_iter().flatten() {
                line.finish_and_clear();
                multi.remove(&line);
            }
            for bar in self.rows.borrow().iter().filter_map(|row| row.bar.as_ref()) {
                if !bar.is_finished() {
                    bar.abandon();
                }
            }
            total.abandon();
            multi.set_draw_target(ProgressDrawTarget::hidden());
        }
    }
}

/// The terminal's width in columns (stderr's, where the bars are), or 100 if it does not say.
fn terminal_width() -> usize {
    // SAFETY: an all-zero `winsize` is a valid value for the ioctl to overwrite.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one `winsize` through the valid pointer, or fails.
    let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    if ok && size.ws_col > 0 {
        usize::from(size.ws_col)
    } else {
        100
    }
}

/// A name cut to `width` characters, to fit the bars' name column.
fn short(name: &str, width: usize) -> String {
    let name = for_display(name);
    if name.chars().count() <= width {
        return name;
    }
    let head: String = name.chars().take(width - 1).collect();
    format!("{head}\u{2026}")
}

fn show_bar(bar: &ProgressBar, progress: &Progress, info: &Info, shown: Phase, prefix: String) {
    if bar.prefix() != prefix {
        bar.set_prefix(prefix); // The name, or the selection mark moved.
    }
    if info.phase == Phase::Queued || bar.is_finished() {
        return;
    }
    if shown == Phase::Queued {
        bar.set_message("");
    }
    match (progress.size(), bar.length()) {
        (Some(size), Some(len)) if size != len || len == 0 => {
            bar.set_style(style(SIZED));
            bar.set_length(size);
        }
        _ => {}
    }
    bar.set_position(progress.received());
    if progress.size().is_none() {
        bar.tick(); // Turns the spinner: bytes may arrive without a length to fill.
    }
    match info.phase {
        Phase::Done => bar.finish_with_message(for_display(&info.note)),
        Phase::Failed | Phase::Stopped | Phase::Cancelled => {
            bar.abandon_with_message(format!("\u{2717} {}", for_display(&info.note)))
        }
        Phase::Hashing => bar.set_message("hashing (SHA-256)"),
        Phase::Retrying => bar.set_message(retry_message(info, true)),
        Phase::Waiting => bar.set_message(for_display(&info.waiting_for)),
        Phase::Running if matches!(shown, Phase::Retrying | Phase::Waiting) => bar.set_message(""),
        Phase::Queued | Phase::Running => {}
    }
}

/// `retrying in 2 s (503)`, counting down on the bars (`left`), the whole wait otherwise.
fn retry_message(info: &Info, left: bool) -> String {
    match &info.retry {
        Some(retry) => {
            let wait = match left {
                true => retry.until.saturating_duration_since(Instant::now()),
                false => retry.wait,
            };
            let wait = crate::retry::show_wait(wait);
            format!("retrying in {wait} ({})", retry.reason)
        }
        None => "retrying".to_owned(),
    }
}

fn print_change(progress: &Progress, info: &Info, shown: Phase) {
    if info.phase == shown {
        return;
    }
    let name = for_display(&info.name);
    let line = match info.phase {
        Phase::Queued => return,
        Phase::Running if shown == Phase::Retrying => return,
        Phase::Waiting => format!("wait   {name}: {}", for_display(&info.waiting_for)),
        Phase::Running => format!("start  {name}  <- {}", for_display(&progress.url)),
        Phase::Done => {
            let secs = info
                .finished
                .zip(info.started)
                .map_or(0.0, |(f, s)| (f - s).as_secs_f64());
            format!(
                "done   {name}  {} in {secs:.2} s ({})",
                BinaryBytes(progress.received()),
                for_display(&info.note)
            )
        }
        Phase::Hashing => format!("hash   {name}  (SHA-256 of the file on disk)"),
        // Printed by the retry count instead (`print_retries`): a short wait falls between
        // two refreshes.
        Phase::Retrying => return,
        Phase::Failed => format!("failed {name}: {}", for_display(&info.note)),
        Phase::Stopped => format!("stop   {name}: {}", for_display(&info.note)),
        Phase::Cancelled => format!("cancel {name}: {}", for_display(&info.note)),
    };
    write_stdout(&format!("{line}\n"));
}
