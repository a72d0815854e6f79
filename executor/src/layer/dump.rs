//! [`dump`](crate::dump): every live task and what it waits on, asked of the executor and the
//! reactor at one moment (a Java VM's thread dump, for tasks).
//!
//! The executor knows nothing of sockets, and the reactor nothing of tasks, so the answer is put
//! together here from what each knows:
//! - the reactor lists the wakers it holds, each with its descriptor and direction or its
//!   deadline (`reactor::waiting`); a waker whose function table is the executor's own (one
//!   static table, two while the lost-waker check is on) points at its task's header, which
//!   names the task;
//! - a `JoinHandle` that is awaited keeps the awaiting task's waker in the awaited task;
//! - a task of `spawn_blocking` waits on the blocking pool;
//! - any other waker (a channel's, another crate's future's) is held where glass cannot see:
//!   a task with no waker the reactor or a `JoinHandle` holds must have given its waker to
//!   someone else. While the lost-waker check counts a task's wakers, a waker held elsewhere
//!   *besides* those is seen too (the count is higher than the wakers glass holds).

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::panic::Location;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use super::lost_waker;
use crate::layer::task_list::TaskState;
use crate::runtime::{Runtime, with_current};
use crate::task::Runnable;
use crate::waker::{self, TaskId};

/// Every live task at one moment, from [`dump`]. Its `Display` is one line per task:
///
/// ```text
/// glass: 3 tasks, 1.52 s after block_on started
///   task 0 block_on's future: idle for 1.50 s, spawned at src/main.rs:9, waiting on task 1
///   task 1 `fetch`: idle for 1.50 s, spawned at src/main.rs:12, waiting on fd 7 readable (127.0.0.1:40312 -> 127.0.0.1:8080), timer in 3498 ms
///   task 2: idle for 1.50 s, spawned at src/main.rs:20, waiting on a waker held outside glass
/// ```
#[derive(Debug, Clone)]
pub struct Dump {
    /// How long the runtime had been running.
    pub uptime: Duration,
    /// Every live task, by id; the future given to `block_on` is task 0.
    pub tasks: Vec<TaskDump>,
}

/// One task of a [`Dump`].
#[derive(Debug, Clone)]
pub struct TaskDump {
    /// The task's id ([`JoinHandle::id`](crate::JoinHandle::id)); 0 is `block_on`'s future.
    pub id: u64,
    /// The name given with [`Builder::name`](crate::Builder::name).
    pub name: Option<Arc<str>>,
    /// What it is doing.
    pub state: TaskState,
    /// How long it has been in that state, counted from the start of the turn of the loop in
    /// which it changed (the clock is read once a turn, not once a poll): over by at most one
    /// turn.
    pub state_for: Duration,
    /// Where it was spawned (`block_on`'s caller for task 0).
    pub spawned_at: &'static Location<'static>,
    /// What an idle task waits on: everything that holds one of its wakers (empty while it is
    /// scheduled or running).
    pub waiting_on: Vec<WaitingOn>,
}

/// Something a task waits on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitingOn {
    /// A registered descriptor (a socket, a pipe) to become ready: `fd 7 readable`, with the
    /// socket's addresses when it is one.
    Io {
        /// The descriptor.
        fd: RawFd,
        /// Which direction.
        direction: reactor::Direction,
        /// The socket's own address, if it is a socket.
        local: Option<SocketAddr>,
        /// The address of its peer, if connected.
        peer: Option<SocketAddr>,
    },
    /// A sleep or timeout: `timer in 38 ms`.
    Timer {
        /// The time left (zero when due).
        left: Duration,
    },
    /// Another task to finish (its `JoinHandle` is awaited): `task 3`.
    Task(u64),
    /// A closure on the blocking pool (`spawn_blocking`): `blocking job`.
    BlockingJob,
    /// A waker glass does not hold: a channel's, another crate's, a thread's.
    Elsewhere,
}

impl fmt::Display for WaitingOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitingOn::Io {
                fd,
                direction,
                local,
                peer,
            } => {
                write!(f, "fd {fd} {direction}")?;
                match (local, peer) {
                    (Some(local), Some(peer)) => write!(f, " ({local} -> {peer})"),
                    (Some(local), None) => write!(f, " ({local})"),
                    _ => Ok(()),
                }
            }
            WaitingOn::Timer { left } => write!(f, "timer in {} ms", left.as_millis()),
            WaitingOn::Task(id) => write!(f, "task {id}"),
            WaitingOn::BlockingJob => f.write_str("blocking job"),
            WaitingOn::Elsewhere => f.write_str("a waker held outside glass"),
        }
    }
}

impl TaskDump {
    /// `task 3 \`fetch\``, `task 0 block_on's future`, `task 5`.
    pub fn label(&self) -> String {
        match (&self.name, self.id) {
            (Some(name), id) => format!("task {id} `{name}`"),
            (None, 0) => "task 0 block_on's future".to_owned(),
            (None, id) => format!("task {id}"),
        }
    }

    /// What it waits on, as one phrase: `fd 7 readable, timer in 38 ms`.
    pub fn waiting_on_text(&self) -> String {
        join(&self.waiting_on)
    }
}

/// `a, b, c`.
pub(super) fn join(waits: &[WaitingOn]) -> String {
    let texts: Vec<String> = waits.iter().map(ToString::to_string).collect();
    texts.join(", ")
}

impl fmt::Display for TaskDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            TaskState::Idle => "idle",
            TaskState::Scheduled => "scheduled",
            TaskState::Running => "running",
        };
        write!(
            f,
            "{}: {state} for {}, spawned at {}:{}",
            self.label(),
            short(self.state_for),
            self.spawned_at.file(),
            self.spawned_at.line()
        )?;
        if !self.waiting_on.is_empty() {
            write!(f, ", waiting on {}", self.waiting_on_text())?;
        }
        Ok(())
    }
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.tasks.len();
        let s = if count == 1 { "" } else { "s" };
        writeln!(
            f,
            "glass: {count} task{s}, {} after block_on started",
            short(self.uptime)
        )?;
        for task in &self.tasks {
            writeln!(f, "  {task}")?;
        }
        Ok(())
    }
}

/// `812 µs`, `38 ms`, `1.52 s`.
fn short(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.2} s", d.as_secs_f64())
    } else if d >= Duration::from_millis(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} µs", d.as_micros())
    }
}

/// Every live task of the runtime on this thread (the future given to `block_on` as task 0),
/// with its state, how long it has been in it, where it was spawned, and what it waits on. Its
/// `Display` prints one line per task; the demo prints it on `SIGQUIT` (Ctrl-\) and the `d` key.
///
/// ```
/// use std::time::Duration;
///
/// executor::block_on(async {
///     let sleeper = executor::Builder::new()
///         .name("sleeper")
///         .spawn(reactor::time::sleep(Duration::from_secs(60)));
///     executor::yield_now().await; // The sleeper runs once and arms its timer.
///     let dump = executor::dump();
///     let line = dump.to_string();
///     assert!(line.contains("task 1 `sleeper`: idle for"), "{line}");
///     assert!(line.contains("waiting on timer in"), "{line}");
///     sleeper.abort();
/// });
/// ```
///
/// # Panics
/// If called outside `block_on`.
pub fn dump() -> Dump {
    with_current("executor::dump", collect)
}

fn collect(rt: &Runtime) -> Dump {
    let now = Instant::now();
    let since = |at: Instant| now.saturating_duration_since(at);
    let mut waits = waits(rt, true, None);
    let tasks = every_task(rt);
    let running = rt.watch.running.get();
    let awake = rt.watch.awake_since.get();
    let tasks = tasks
        .iter()
        .map(|task| {
            let header = task.header();
            let id = header.id.seq;
            let (state, state_for) = if running == id {
                (TaskState::Running, since(awake))
            } else if header.scheduled.is_set() {
                (TaskState::Scheduled, since(awake))
            } else {
                (TaskState::Idle, since(task.watch().since.get()))
            };
            let waiting_on = match state {
                TaskState::Idle => waits.remove(&id).unwrap_or_default(),
                _ => Vec::new(),
            };
            TaskDump {
                id,
                name: task.watch().name().cloned(),
                state,
                state_for,
                spawned_at: task.watch().site,
                waiting_on,
            }
        })
        .collect();
    Dump {
        uptime: since(rt.watch.started),
        tasks,
    }
}

/// The main future and every task in the slab, by id.
pub(super) fn every_task(rt: &Runtime) -> Vec<Arc<dyn Runnable>> {
    let mut tasks: Vec<Arc<dyn Runnable>> = vec![rt.main.clone()];
    if let Ok(slab) = rt.tasks.try_borrow() {
        tasks.extend(slab.iter().map(|(_, (_, task))| task.clone()));
    }
    tasks.sort_by_key(|t| t.header().id.seq);
    tasks
}

/// The task of `rt` that `waker` wakes, if it is one of the executor's own wakers.
fn task_of(rt: &Runtime, waker: &Waker) -> Option<u64> {
    let vtable = waker.vtable();
    if !std::ptr::eq(vtable, &waker::VTABLE) && !lost_waker::is_counted(vtable) {
        return None;
    }
    // SAFETY: the table is the executor's, so the data pointer is a task's (`waker::header`),
    // valid while `waker`, which the caller holds, lives.
    let header = unsafe { waker::header(waker.data()) };
    Arc::ptr_eq(&header.shared, &rt.shared).then_some(header.id.seq)
}

/// What each task of `rt` waits on, by task id (tasks that wait on nothing glass can name are
/// given `Elsewhere`; tasks not waiting at all may be given nothing or stale entries: the caller
/// looks only at idle ones). `addrs`: look up the sockets' addresses. `only`: just that task's
/// (a task being dropped: at `block_on`'s end, one after another, each asks for its own).
pub(super) fn waits(rt: &Runtime, addrs: bool, only: Option<u64>) -> HashMap<u64, Vec<WaitingOn>> {
    let mut waits: HashMap<u64, Vec<WaitingOn>> = HashMap::new();
    // Per task: wakers the reactor holds, and wakers `JoinHandle`s hold.
    let mut held: HashMap<u64, (usize, usize)> = HashMap::new();
    let now = Instant::now();
    let in_reactor = reactor::waiting();
    for (what, waker) in &in_reactor {
        let Some(id) = task_of(rt, waker) else {
            continue; // Another executor's waker, or a wrapper's: not one of our tasks by name.
        };
        if only.is_some_and(|only| only != id) {
            continue;
        }
        let wait = match *what {
            reactor::WaitingFor::Io { fd, direction } => {
                let (local, peer) = match addrs.then(|| reactor::socket_addrs(fd)).flatten() {
                    Some((local, peer)) => (Some(local), peer),
                    None => (None, None),
                };
                WaitingOn::Io {
                    fd,
                    direction,
                    local,
                    peer,
                }
            }
            reactor::WaitingFor::Timer { deadline } => WaitingOn::Timer {
                left: deadline.saturating_duration_since(now),
            },
        };
        waits.entry(id).or_default().push(wait);
        held.entry(id).or_default().0 += 1;
    }
    let tasks = every_task(rt);
    for task in &tasks {
        let slot = &task.base().join_waker;
        let waker = slot.take();
        let waiter = waker.as_ref().and_then(|w| task_of(rt, w));
        if let Some(waiter) = waiter.filter(|&w| only.is_none_or(|only| only == w)) {
            let awaited = task.header().id.seq;
            waits
                .entry(waiter)
                .or_default()
                .push(WaitingOn::Task(awaited));
            held.entry(waiter).or_default().1 += 1;
        }
        slot.set(waker);
    }
    for task in &tasks {
        let id = task.header().id.seq;
        let list = waits.entry(id).or_default();
        if task.watch().blocking {
            list.push(WaitingOn::BlockingJob);
            continue;
        }
        let (in_reactor_count, joins) = held.get(&id).copied().unwrap_or_default();
        // Counted wakers: each the reactor holds is counted twice now (its own and the clone in
        // `in_reactor`), each a `JoinHandle` holds once; any more are held elsewhere.
        let elsewhere = task.header().watch.counted
            && task.header().watch.clones.get() > 2 * in_reactor_count + joins;
        if list.is_empty() || elsewhere {
            list.push(WaitingOn::Elsewhere);
        }
    }
    drop(in_reactor);
    waits
}

/// A task's label as the warnings give it: `task 3 \`fetch\``.
pub(super) fn label_of(task: &dyn Runnable) -> String {
    match (task.watch().name(), task.header().id) {
        (Some(name), id) => format!("task {} `{name}`", id.seq),
        (None, TaskId::MAIN) => "task 0 (block_on's future)".to_owned(),
        (None, id) => format!("task {}", id.seq),
    }
}
