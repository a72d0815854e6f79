//! # demo: the Rust book's download manager, made real on glass
//!
//! The async chapter of the Rust book motivates `async` with a program that downloads files: it
//! should start many downloads at once, and starting one must not lock up the display. This binary
//! is that program, and the first thing to run in glass. Everything happens on **one thread**:
//!
//! ```text
//!   one thread, one executor::block_on ───────────────────────────────────────────────┐
//!   │ download tasks (http_client)   server tasks (embedded files, paced by timers)   │
//!   │ display task (interval, 10/s)  keyboard task (stdin)  signal task (Ctrl-C)      │
//!   │ the manager: the main future, awaiting its mailbox                              │
//!   └─ when none can run: reactor::park ── epoll_wait until a socket, a timer, a key ─┘
//! ```
//!
//! With no arguments it starts its own HTTP server on `127.0.0.1` (same thread), downloads eight
//! generated files of 1 to 64 MiB from it, checks every byte, and prints a summary showing how
//! little of the time the thread was busy. With URLs (on the command line, or one a line in `-i
//! FILE`, each optionally with the SHA-256 its file must have) it is a small downloader that
//! resumes `.part` files, retries what may work next time (`--retry`), opens at most
//! `--per-host` connections to one server, and never overwrites without `--force`; the same
//! command run again after a crash finishes the job, skipping what is already complete.
//! `https://` is verified against the system's root certificates, or only those in `--cacert
//! FILE`, and `--https` puts the embedded demo itself behind TLS. `--threads` runs the same
//! downloads with an OS thread each, for comparison; `--trace` and `--trace-file` show the
//! machinery. On a terminal, the arrow keys select a download, `c` cancels it (its task is
//! dropped where it waits) and `r` restarts it.
//!
//! ## Seeing through it
//! Every task has a name (`download file-1MiB.bin`, `server conn`, `display`, `keyboard`,
//! `signals`). On a terminal, `t` shows the task table under the bars: each task's state, polls,
//! and where its time went (busy, sched, idle), what each waits on, and what the runtime does
//! per second; `d` (or Ctrl-\, `SIGQUIT`, with or without a terminal) prints `executor::dump()`
//! on stderr: every task, how long in its state, where it was spawned and what it waits on (a
//! socket, a timer, a task, a blocking job). Each download's SHA-256 is computed on the
//! blocking pool as its bytes arrive: the CPU-bound half beside the IO-bound one.
//! `--hash-on-loop` computes it on the event loop instead, and the executor's
//! slow-poll warning names the task that held the thread; the summary says what it cost.
//! Warnings are printed above the bars and listed in the summary. `--trace` says why each task
//! woke (`cause=io fd=7 readable`, `timer`, `task`, `self`, `thread`, `spawn`), and
//! `--trace-file`'s Chrome trace draws an arrow from each wake to the poll it caused;
//! `--timeline FILE` writes the run as one HTML page that any browser opens offline.
//!
//! ## Reading order
//! `manager.rs` (the loop), `download.rs` (one download) and `download/resume.rs` (what a
//! `.part` and a response head decide), then `server.rs`, `progress.rs`,
//! `keyboard.rs` and `signal.rs` (the other things the thread does while it waits),
//! `threads.rs` (the design this replaces), and `tls.rs` (whom `https://` trusts, and the
//! `--https` certificate). `retry.rs` (what is tried again, and when) and `semaphore.rs` (the
//! per-host limit: a queue of wakers) are small lessons of their own. `part.rs`,
//! `validator.rs`, `complete.rs`, `claims.rs`, `names.rs` and `url_file.rs` are the careful
//! parts: what touches the disk, what ties a `.part` (or a finished file) to one version of a
//! file, and what comes from strangers. `hash.rs` is the CPU-bound half; what a learner sees of the
//! machinery (the trace, the task table, the warnings) is the `glass-console` crate's.
//!
//! ## Implementation
//! - **Redraws** come from a glass `interval` task, not from `indicatif`'s own ticker thread: a
//!   display that keeps moving is only evidence if the downloads' thread is the one drawing it.
//!   The same task measures how late each redraw came: the display's longest stall.
//! - **Task timing is on** (`executor::set_task_timing`): the table, the trace and the
//!   slow-poll warning need the clock reads that programs which do not look are spared. A
//!   `tracing` reader of the warnings is always installed (`glass_console::init`); the trace
//!   events stay off unless `--trace` or `--trace-file` asks.
//! - **Output**: bars on stderr when both stdout and stderr are terminals; otherwise (and with
//!   `--trace`, whose lines would fight the bars) plain lines on stdout. The summary goes to
//!   stdout, failures to stderr. Writes to stdout are best effort (`progress::write_stdout`): a
//!   closed pipe (`demo ... | head -1`) loses the output, not the downloads or the exit status.
//! - **Exit status**: 0 when every download completed (or was already complete), 1 when any
//!   failed (or its task panicked, or it was cancelled with `c`), 130 when stopped by `q`,
//!   Ctrl-C or `SIGTERM`, 2 for bad usage (a bad line in `-i FILE` included).
//! - **Ctrl-C** (and Ctrl-Z, `fg`, `bg`) reaches the loop through a self-pipe (`signal.rs` says why not `signalfd` or a
//!   polled flag); **stdin** is the terminal opened a second time, non-blocking, so `O_NONBLOCK`
//!   never leaks into stdout or the shell (`keyboard.rs`).
//! - **Checked, not trusted**: every embedded file is compared byte for byte with what the server
//!   generated (`catalog.rs`), and every file name passes two independent checks before it
//!   becomes a path (`names.rs`, then `part::inside`).
//! - **Stopping and going on**: Ctrl-Z gives the terminal back before the process stops, and `fg`
//!   takes it again and redraws (`signal.rs`); a download task that panics is a failed download,
//!   seen through its `JoinHandle` (`manager.rs`); "done" on screen means the file and its name
//!   are on disk (`fsync` of the file, then of the folder, `part.rs`).
//! - **Resumes** are tied to the version of the file: a `.part` keeps its first response's
//!   strong `ETag`, or with no `ETag` a strong `Last-Modified` (`validator.rs`), as an attribute
//!   of the file, and a resume sends it as `If-Range`; a `.part` with no validator starts over
//!   unless `--continue` (`-c`) is given (`part.rs`). A finished file carries a record of its
//!   length and validator (`complete.rs`, an attribute too), so a rerun skips it as "already
//!   complete" (after a `304` to `If-None-Match` when there is a validator to ask with).
//! - **Retries** (`retry.rs`): a connection refused, reset or cut, a timeout, a `5xx`, `408` or
//!   `429` is tried again after a doubling wait with jitter, `Retry-After` a minimum; a body cut
//!   short is resumed, not started over. `--per-host` is one semaphore per `host:port`
//!   (`semaphore.rs`), held for an attempt and given back during a retry's wait.
//! - Honest limits: the manager starts first the queued downloads whose host has room (looking
//!   256 deep), but a download that does wait for its host holds one of the `-j` slots
//!   meanwhile; a file finished where extended attributes cannot be set is not recognised as
//!   complete by a rerun (it is kept, as any existing file); the run ends once no download is
//!   left, so `r` can restart only while another still runs; a download cancelled while its
//!   file is being committed still gets its name. File writes block the event loop
//!   (microseconds into the page cache; see `part.rs`; the hash and the `fsync` at the end run
//!   on the blocking pool); `--threads` follows no redirects; a `.part` is found by the URL's
//!   name only. A `.part` resumed with `--continue` is resumed on trust. A body sent with
//!   neither `Content-Length` nor chunked framing ends
//!   when the server closes the connection, so it cannot be length-checked: a connection cut
//!   early is saved as the whole file (over `https`, only a missing `close_notify` gives it
//!   away). A name ending in `.part` is saved with a `_` after it (`names.rs` says why).

mod catalog;
mod claims;
mod cli;
mod complete;
mod download;
mod hash;
mod keyboard;
mod manager;
mod names;
mod part;
mod progress;
mod retry;
mod semaphore;
mod server;
mod signal;
mod summary;
mod threads;
mod tls;
mod url_file;
mod validator;
mod xattr;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;

use crate::catalog::{Catalog, Scale};
use crate::claims::Claims;
use crate::cli::Cli;
use crate::download::{Job, Settings};
use crate::hash::HashOn;
use crate::manager::{Design, Event, Mailbox};
use crate::progress::{Board, write_stdout};

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the display is redrawn.
const REDRAW_EVERY: Duration = Duration::from_millis(100);

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo shows where each task's time goes (the task table, the trace, the slow-poll
    // warning), so it pays the clock reads that programs which do not look are spared.
    executor::set_task_timing(true);
    let _console = match glass_console::init(console_options(&cli)) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("error: cannot start the trace: {e}");
            return ExitCode::from(2);
        }
    };
    let roots = match tls::Roots::new(cli.cacert.as_deref()) {
        Ok(roots) => roots,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if cli.serve {
        return executor::block_on(serve_forever(cli.demo_scale, cli.https));
    }
    // Read and checked whole before anything starts: a bad line downloads nothing.
    let listed = match &cli.input_file {
        Some(path) => match url_file::read(path) {
            Ok(entries) => entries,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        None => Vec::new(),
    };
    let (dir, temporary) = match output_dir(&cli) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let bars = !cli.trace && std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
    let code = executor::block_on(run(&cli, listed, roots, &dir, bars));
    if temporary && let Err(e) = std::fs::remove_dir_all(&dir) {
        eprintln!("warning: could not remove {}: {e}", dir.display());
    }
    code
}

/// What glass's console shows: `--trace`, `--trace-file`, `--timeline`; warnings always, printed by the display
/// through the board so that they never tear the bars.
fn console_options(cli: &Cli) -> glass_console::Options {
    let mut options = glass_console::Options::new().warnings(glass_console::Warnings::Collect);
    if cli.trace {
        options = options.trace(glass_console::Trace::ALL);
    }
    if let Some(path) = &cli.trace_file {
        options = options.chrome_trace(path);
    }
    if let Some(path) = &cli.timeline {
        options = options.timeline(path);
    }
    options
}

/// The output folder, and whether it is a temporary one to remove at the end.
fn output_dir(cli: &Cli) -> Result<(PathBuf, bool), String> {
    if let Some(dir) = &cli.output {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        return Ok((dir.clone(), false));
    }
    if !cli.urls.is_empty() || cli.input_file.is_some() {
        return Ok((PathBuf::from("."), false));
    }
    use std::os::unix::fs::DirBuilderExt;
    for attempt in 0..100 {
        let dir = std::env::temp_dir().join(format!("glass-demo-{}-{attempt}", std::process::id()));
        // `create`, not `create_all`: a folder that already exists is someone else's.
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok((dir, true)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("creating {}: {e}", dir.display())),
        }
    }
    Err("could not create a temporary folder".into())
}

/// The whole run, as the future `block_on` drives.
async fn run(
    cli: &Cli,
    listed: Vec<url_file::Entry>,
    mut roots: tls::Roots,
    dir: &Path,
    bars: bool,
) -> ExitCode {
    let started = Instant::now();
    let embedded = cli.urls.is_empty() && cli.input_file.is_none();
    let jobs = if embedded {
        let catalog = Rc::new(Catalog::new(cli.demo_scale));
        let (addr, scheme) = match start_server(catalog.clone(), cli.https).await {
            Ok((addr, ca)) => {
                roots.extra.extend(ca.map(|ca| ca.cert));
                (addr, if cli.https { "https" } else { "http" })
            }
            Err(e) => {
                eprintln!("error: could not start the embedded server: {e}");
                return ExitCode::FAILURE;
            }
        };
        catalog
            .files
            .iter()
            .map(|f| Job {
                url: format!("{scheme}://{addr}/files/{}", f.name),
                expected: Some(Arc::new(f.clone())),
                sha256: None,
            })
            .collect()
    } else {
        let urls = cli.urls.iter().map(|url| Job {
            url: url.clone(),
            expected: None,
            sha256: None,
        });
        let listed = listed.into_iter().map(|entry| Job {
            url: entry.url,
            expected: None,
            sha256: entry.sha256,
        });
        urls.chain(listed).collect()
    };

    let board = Rc::new(Board::new(bars, cli.tasks));
    let mailbox = Arc::new(Mailbox::default());
    let helpers = spawn_helpers(&board, &mailbox, bars);

    let read_timeout = Duration::from_millis(cli.read_timeout_ms);
    let design = if cli.threads {
        threads::trust(roots);
        Design::Threads(threads::Timeouts {
            connect: CONNECT_TIMEOUT,
            read: read_timeout,
        })
    } else {
        let client = roots
            .apply(http_client::Client::builder())
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(read_timeout)
            .build();
        Design::Glass(Rc::new(client))
    };
    let hash_on = if cli.hash_on_loop {
        HashOn::EventLoop
    } else {
        HashOn::BlockingPool
    };
    let settings = Arc::new(Settings {
        dir: dir.to_owned(),
        force: cli.force,
        resume_unchecked: cli.resume_unchecked,
        claims: Arc::new(Claims::default()),
        hash_on,
        retry: retry::Policy {
            retries: cli.retry,
            first_wait: Duration::from_millis(cli.retry_delay_ms),
        },
        hosts: semaphore::PerHost::new(match (cli.per_host, embedded) {
            (Some(n), _) => usize::from(n),
            (None, false) => 6,
            (None, true) => usize::from(cli.jobs),
        }),
    });
    let limit = usize::from(cli.jobs);
    let outcome = manager::run(design, jobs, settings, limit, &board, mailbox).await;

    // Stop the helpers first: the keyboard's drop puts the terminal back before we print.
    for helper in &helpers {
        helper.abort();
    }
    executor::yield_now().await;
    for warning in glass_console::take_new_warnings() {
        board.warn(&warning);
    }
    board.close();
    let wall = started.elapsed();
    let design = if cli.threads {
        summary::Design::Threads {
            started: outcome.threads_started,
        }
    } else {
        let (runtime, reactor) = (executor::metrics(), reactor::metrics());
        summary::Design::Glass {
            polls: runtime.polls,
            epoll_waits: reactor.epoll_waits,
            asleep: reactor.time_asleep,
            running: runtime.time_running,
        }
    };
    let hashing = (!cli.threads).then(|| summary::Hashing {
        on: hash_on,
        longest_gap: board.longest_gap(),
        every: REDRAW_EVERY,
    });
    let warnings = glass_console::warnings();
    let summary = summary::Summary {
        records: &outcome.records,
        design,
        wall,
        peak_memory: summary::peak_memory(),
        embedded_server: embedded,
        hashing,
        warnings: &warnings,
    };
    write_stdout(&summary.render());
    if embedded {
        let verified = outcome
            .records
            .iter()
            .filter(|r| matches!(&r.result, Some(Ok(done)) if done.verified))
            .count();
        write_stdout(&format!(
            "verified byte for byte: {verified} of {} files\n",
            outcome.records.len()
        ));
        if cli.output.is_some() {
            write_stdout(&format!("files are in {}\n", dir.display()));
        }
    }
    // A cancelled download is not there: the run did not do all it was asked.
    let mut failed = outcome.records.iter().any(|r| r.cancelled);
    for record in &outcome.records {
        if let Some(Err(e)) = &record.result {
            failed = true;
            let url = names::for_display(&record.progress.url);
            eprintln!("FAILED {url}\n  {}", names::for_display(&e.to_string()));
        }
    }
    if outcome.stopped {
        eprintln!("stopped: partial downloads are kept as .part files, ready to resume");
        ExitCode::from(130)
    } else if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Starts the tasks that run beside the downloads: redraws, signals, and the keyboard.
fn spawn_helpers(
    board: &Rc<Board>,
    mailbox: &Arc<Mailbox<Event>>,
    bars: bool,
) -> Vec<executor::JoinHandle<()>> {
    let mut helpers = Vec::new();
    let redraw = board.clone();
    let display = executor::Builder::new().name("display");
    helpers.push(display.spawn(async move {
        let mut ticks = reactor::time::interval(REDRAW_EVERY);
        loop {
            ticks.tick().await;
            for warning in glass_console::take_new_warnings() {
                redraw.warn(&warning);
            }
            redraw.tick();
        }
    }));
    let keyboard = match keyboard::Keyboard::open(bars) {
        Ok(keyboard) => keyboard,
        Err(e) => {
            board.note(&format!("warning: typing URLs is off: {e}"));
            None
        }
    };
    let mode = keyboard.as_ref().and_then(keyboard::Keyboard::mode);
    match signal::Signals::install() {
        Ok(signals) => {
            let (board, mailbox) = (board.clone(), mailbox.clone());
            let task = executor::Builder::new().name("signals");
            helpers.push(task.spawn(handle_signals(signals, mailbox, board, mode)));
        }
        Err(e) => board.note(&format!("warning: Ctrl-C will not stop cleanly: {e}")),
    }
    if let Some(mut keyboard) = keyboard {
        let (board, mailbox) = (board.clone(), mailbox.clone());
        board.set_prompt("");
        let task = executor::Builder::new().name("keyboard");
        helpers.push(task.spawn(async move {
            while let Ok(Some(key)) = keyboard.next().await {
                match key {
                    keyboard::Key::Typing(line) => board.set_prompt(&line),
                    keyboard::Key::Line(url) => mailbox.push(Event::Add(url)),
                    keyboard::Key::Quit => mailbox.push(Event::Stop),
                    keyboard::Key::ToggleTasks => board.toggle_tasks(),
                    keyboard::Key::Dump => board.warn(executor::dump().to_string().trim_end()),
                    keyboard::Key::Up => board.select(-1),
                    keyboard::Key::Down => board.select(1),
                    keyboard::Key::Cancel => {
                        if let Some(id) = board.selected() {
                            mailbox.push(Event::Cancel(id));
                        }
                    }
                    keyboard::Key::Restart => {
                        if let Some(id) = board.selected() {
                            mailbox.push(Event::Restart(id));
                        }
                    }
                }
            }
        }));
    }
    helpers
}

/// The signal task: Ctrl-C and `SIGTERM` stop the run; Ctrl-Z gives the terminal back and stops
/// the process; `fg` (`SIGCONT`) takes the terminal again and redraws. While stopped, nothing
/// runs, downloads included; they carry on where they were (a server may time out meanwhile).
/// After `bg` (`SIGCONT` in the background) the downloads carry on, and the display stays
/// paused until `fg`: touching the terminal from there would stop the process again.
async fn handle_signals(
    signals: signal::Signals,
    mailbox: Arc<Mailbox<Event>>,
    board: Rc<Board>,
    mode: Option<Rc<keyboard::TerminalMode>>,
) {
    while let Ok(signal) = signals.recv().await {
        match signal {
            signal::Signal::Interrupt => mailbox.push(Event::Stop),
            // On stderr (through the bars, if drawn), and the run goes on.
            signal::Signal::Dump => board.warn(executor::dump().to_string().trim_end()),
            signal::Signal::TerminalStop => {
                board.pause();
                if let Some(mode) = &mode {
                    mode.restore();
                }
                if let Err(e) = signal::stop_self() {
                    board.note(&format!("warning: could not stop: {e}"));
                }
                // Running again: the `SIGCONT` that woke us is next in the pipe.
            }
            // The shell kept the terminal (`bg`): leave it alone, undrawn, until `fg`.
            signal::Signal::Continue if signal::in_background() => {}
            signal::Signal::Continue => {
                if let Some(mode) = &mode
                    && let Err(e) = mode.reenter()
                {
                    board.note(&format!(
                        "warning: the terminal stays as the shell left it: {e}"
                    ));
                }
                board.resume();
            }
        }
    }
}

/// Starts the embedded server, over TLS with `https`; returns its address and, for TLS, the CA
/// to trust for it.
async fn start_server(
    catalog: Rc<Catalog>,
    https: bool,
) -> Result<(std::net::SocketAddr, Option<tls::RunCa>), String> {
    let identity = match https {
        true => Some(tls::embedded_server_identity()?),
        false => None,
    };
    let (acceptor, ca) = identity.map(|i| (i.acceptor, i.ca)).unzip();
    let addr = server::start(catalog, acceptor)
        .await
        .map_err(|e| e.to_string())?;
    Ok((addr, ca))
}

/// `--serve`: the embedded server alone, for trying the downloader against it by hand.
async fn serve_forever(scale: Scale, https: bool) -> ExitCode {
    let catalog = Rc::new(Catalog::new(scale));
    match start_server(catalog.clone(), https).await {
        Ok((addr, ca)) => {
            let scheme = if https { "https" } else { "http" };
            if let Some(ca) = ca {
                // Printed so that another program (`curl --cacert`) can trust this run's server.
                write_stdout(&format!("trust this run's CA (--cacert):\n{}", ca.pem));
            }
            write_stdout(&format!("serving on {scheme}://{addr}/ (Ctrl-C stops)\n"));
            for f in &catalog.files {
                write_stdout(&format!("{scheme}://{addr}/files/{}\n", f.name));
            }
            std::future::pending::<ExitCode>().await
        }
        Err(e) => {
            eprintln!("error: could not start the server: {e}");
            ExitCode::FAILURE
        }
    }
}
