//! The hand-written `Waker`.
//!
//! A `std::task::Waker` is a data pointer plus a table of four functions (a `RawWakerVTable`):
//! `clone`, `wake`, `wake_by_ref` and `drop`. Here the data pointer is an `Arc<WakerData>` turned
//! into a raw pointer, and the four functions are the four things one does with an `Arc`: bump the
//! count, use it and drop it, use it, drop it. Waking means "put my task's id on the ready queue".
//!
//! ## Why it is safe to wake from anywhere, at any time
//! - **Other threads.** `WakerData` is `Send + Sync`: a task id, atomics, and an `Arc<Shared>` whose
//!   `crossbeam_channel::Sender` and `reactor::Unparker` are themselves thread-safe. It never points
//!   at the task's future, which is not `Send` and stays on the executor's thread.
//! - **After the task finished.** The id carries a sequence number that is never reused; the
//!   executor ignores ids whose task is gone (or whose slab slot now holds a newer task).
//! - **After `block_on` returned.** The runtime is no longer current on any thread and the
//!   receiving end of the channel is gone, so `send` fails and the wake does nothing.
//! - **Clones and drops** only move the count of wakers (`WakerData::wakers`), which together hold
//!   one strong count of the `Arc`; the last drop gives it up. A drop that leaves only the task's
//!   own waker is also the moment a waker is lost (`drop_waker`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{RawWaker, RawWakerVTable, Waker};
use std::time::Instant;

use crossbeam_channel::Sender;

use crate::runtime;
use crate::state::{Parking, Released, WakeState, WakerCount};

/// Identifies a task: its slot in the executor's slab, and a sequence number that is unique for
/// the life of the runtime (so a stale id can never name the slot's next occupant).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskId {
    pub(crate) index: usize,
    pub(crate) seq: u64,
}

impl TaskId {
    /// The future passed to `block_on` is not in the slab; it gets this id.
    pub(crate) const MAIN: TaskId = TaskId {
        index: usize::MAX,
        seq: 0,
    };

    /// Set in `seq` of an id sent through the channel to ask "is this task's last waker gone?"
    /// rather than to wake it (see `drop_waker`). Sequence numbers never reach this bit.
    const LOST_CHECK: u64 = 1 << 63;

    pub(crate) fn lost_check(self) -> TaskId {
        TaskId {
            seq: self.seq | TaskId::LOST_CHECK,
            ..self
        }
    }

    /// The task a lost-waker check is about, if this id is one.
    pub(crate) fn as_lost_check(self) -> Option<TaskId> {
        (self.seq & TaskId::LOST_CHECK != 0).then_some(TaskId {
            seq: self.seq & !TaskId::LOST_CHECK,
            ..self
        })
    }
}

/// What every waker of one runtime shares.
pub(crate) struct Shared {
    /// The queue for wakes from other threads. Any thread may push a task id into it; only the
    /// executor's thread receives. (Wakes on the executor's thread use its local queue instead.)
    pub(crate) remote: Sender<TaskId>,
    /// The `sleeping` flag and the count of ids sent: how a remote wake ends the executor's sleep.
    pub(crate) parking: Parking,
    /// Ends the executor's `epoll_wait` from another thread.
    pub(crate) unparker: reactor::Unparker,
    /// Of `parking`'s sends, those that were lost-waker checks rather than wakes.
    pub(crate) lost_checks_sent: AtomicU64,
    /// The time origin of `WakerData::woken_at` (nanoseconds since this instant).
    pub(crate) epoch: Instant,
    /// Whether wakes note their time: the runtime's task-timing switch, copied here once per turn
    /// of its loop so that wakers on other threads can read it (see `crate::timing`).
    pub(crate) timing: std::sync::atomic::AtomicBool,
    /// The next `wake_id` of a traced wake (trace events only).
    pub(crate) next_wake_id: AtomicU64,
}

impl Shared {
    /// Nanoseconds since `epoch`, never 0 (0 means "no time noted" in `woken_at`).
    pub(crate) fn now(&self) -> u64 {
        (self.epoch.elapsed().as_nanos() as u64).max(1)
    }

    /// Sends `id` to the executor from another thread, and ends its sleep if it is asleep.
    /// `false` if the runtime is gone.
    fn send_remote(&self, id: TaskId) -> bool {
        if self.remote.send(id).is_err() {
            return false; // The runtime is gone; there is nobody left to run the task.
        }
        if self.parking.sent_one() {
            self.unparker.unpark();
        }
        true
    }
}

/// The data behind one task's waker.
pub(crate) struct WakerData {
    pub(crate) id: TaskId,
    /// The `SCHEDULED` flag and the wake count (see `crate::state`).
    pub(crate) state: WakeState,
    /// When the wake that queued the task was made, in nanoseconds since `Shared::epoch`; 0 when
    /// it was made during the task's own poll (the wait then starts when the poll ends) or when
    /// timing was off. Written only by the wake that set `SCHEDULED`, before it queues the task,
    /// and read by the executor before it clears the flag: nobody else writes it meanwhile.
    pub(crate) woken_at: AtomicU64,
    /// The `wake_id` of the wake that queued the task, for the `woken_by` field of the poll it
    /// causes (0 when tracing was off). Written and read as `woken_at` is.
    pub(crate) wake_id: AtomicU64,
    /// Wakes made from threads other than the executor's (`TaskMetrics::remote_wakes`).
    pub(crate) remote_wakes: AtomicU64,
    /// Wakes made during the task's own poll (`TaskMetrics::self_wakes`). Only the executor's
    /// thread writes it (a load and a store, no locked instruction); here rather than in the
    /// task's header because the wake that counts it holds only this data, and counting it at
    /// the wake costs nothing on polls that do not wake themselves.
    pub(crate) self_wakes: AtomicU64,
    /// How many `Waker`s of the task exist (its own and every clone): exact, so that the drop
    /// that leaves only the task's own is known (`drop_waker`). Together they hold one strong
    /// count of this data.
    pub(crate) wakers: WakerCount,
    pub(crate) shared: Arc<Shared>,
}

impl WakerData {
    /// A task's waker data; `queued`: the task starts out on a ready queue (a new task), which
    /// counts as its first wake.
    pub(crate) fn new(id: TaskId, shared: Arc<Shared>, queued: bool) -> WakerData {
        WakerData {
            id,
            state: WakeState::new(queued),
            woken_at: AtomicU64::new(0),
            wake_id: AtomicU64::new(0),
            remote_wakes: AtomicU64::new(0),
            self_wakes: AtomicU64::new(0),
            wakers: WakerCount::default(),
            shared,
        }
    }

    /// Puts the task on a ready queue unless it is already queued: the executor's local queue when
    /// called on its thread, the channel otherwise.
    pub(crate) fn wake(&self) {
        let queue = self.state.wake();
        // On the executor's own thread: counted, timed, traced and queued there, no atomics.
        if runtime::wake_local(self, queue) {
            return;
        }
        self.remote_wakes.fetch_add(1, Ordering::Relaxed);
        if !queue {
            return; // Already queued: one poll will see every wake-up since the last.
        }
        if self.shared.timing.load(Ordering::Relaxed) {
            self.woken_at.store(self.shared.now(), Ordering::Relaxed);
        }
        crate::trace::remote_wake(self);
        // The channel's send publishes `woken_at` and `wake_id` to the executor that receives it.
        self.shared.send_remote(self.id);
    }

    /// Counts a wake made during the task's own poll; on the executor's thread only.
    pub(crate) fn count_self_wake(&self) {
        let count = self.self_wakes.load(Ordering::Relaxed);
        self.self_wakes.store(count + 1, Ordering::Relaxed);
    }

    /// Makes the task's own `Waker` (once per `WakerData`: it is the one `wakers` starts at). It
    /// takes over `data`'s strong count, which it and its clones hold together.
    pub(crate) fn into_waker(data: Arc<WakerData>) -> Waker {
        let ptr = Arc::into_raw(data).cast::<()>();
        // SAFETY: `ptr` came from `Arc::into_raw` of an `Arc<WakerData>` and carries one strong
        // count, which the wakers counted in `wakers` now own together; every function in `VTABLE`
        // treats the pointer exactly so.
        unsafe { Waker::from_raw(RawWaker::new(ptr, &VTABLE)) }
    }
}

/// The four functions every `Waker` built here points to.
static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// Makes a second waker for the same task: one more in the count of wakers.
unsafe fn clone(ptr: *const ()) -> RawWaker {
    // SAFETY: `ptr` is from `Arc::into_raw` (see `into_waker`), and the waker being cloned still
    // counts, so the wakers' strong count keeps the allocation alive.
    let data = unsafe { &*ptr.cast::<WakerData>() };
    data.wakers.cloned();
    RawWaker::new(ptr, &VTABLE)
}

/// Wakes, consuming the waker: a wake by reference, then the same drop as any other, so that a
/// wake that gives up the last stored clone is checked as a plain drop is.
unsafe fn wake(ptr: *const ()) {
    // SAFETY: this waker is alive until `drop_waker`, which consumes it.
    unsafe {
        wake_by_ref(ptr);
        drop_waker(ptr);
    }
}

/// Wakes, keeping the waker.
unsafe fn wake_by_ref(ptr: *const ()) {
    // SAFETY: `ptr` is from `Arc::into_raw`, and this waker counts, so the data is alive.
    let data = unsafe { &*ptr.cast::<WakerData>() };
    data.wake();
}

/// Drops the waker; the last one gives up the wakers' strong count on the `WakerData`.
///
/// This is also where a lost waker is caught: if this drop leaves only the task's own waker and
/// the task is not queued, nothing can wake the task any more. Whether that is a mistake depends
/// on what the task is doing (it may be running, and about to store a new clone), which only the
/// executor's thread knows: the executor checks (`runtime::last_waker_dropped`). The count is
/// exact, so of two clones dropped at once on two threads, exactly one drop sees it.
unsafe fn drop_waker(ptr: *const ()) {
    // SAFETY: `ptr` is from `Arc::into_raw`, and this waker counts until it is released here.
    let data = unsafe { &*ptr.cast::<WakerData>() };
    // The hot paths inline, one swap each: a wake by value (it leaves the task queued and its
    // own waker) and a task's last drop. With the check's path inline too, a round trip of
    // `ping_pong` cost 7.6% more instructions than the `Arc`-count waker did; with the last drop
    // out of line, a task of `spawn_many` 2.7% more (`compare --instructions`). Now: +1.2%, 0%.
    match data.wakers.release_quietly(|| data.state.is_scheduled()) {
        // SAFETY: no waker is left, so the strong count they held together (from
        // `into_waker`) is given up, once.
        Some(Released::Last) => unsafe { Arc::decrement_strong_count(ptr.cast::<WakerData>()) },
        Some(_) => {}
        // SAFETY: this waker still counts; the slow path releases it.
        None => unsafe { drop_waker_slow(ptr) },
    }
}

/// `drop_waker` for a drop that may lose the task (or lost a race), out of line.
#[cold]
#[inline(never)]
unsafe fn drop_waker_slow(ptr: *const ()) {
    // SAFETY: as in `drop_waker`: this waker counts until `release` below.
    let data = unsafe { &*ptr.cast::<WakerData>() };
    let mut check = None;
    let released = data.wakers.release(|| {
        // Taken while this waker still counts: once it does not, `data` may be freed at any
        // moment (the task may finish on its thread).
        if check.is_none() && !data.state.is_scheduled() {
            check = Some((data.id, data.shared.clone()));
        }
    });
    match (released, check) {
        (Released::OneLeft, Some((id, shared))) => runtime::last_waker_dropped(&shared, id),
        (Released::Last, _) => {
            // SAFETY: no waker is left, so the strong count they held together (from
            // `into_waker`) is given up, once.
            unsafe { Arc::decrement_strong_count(ptr.cast::<WakerData>()) }
        }
        _ => {}
    }
}

/// Asks the executor, from another thread, whether task `id` has just lost its last waker; the
/// executor answers on its own thread, when it empties the channel.
pub(crate) fn send_lost_check(shared: &Shared, id: TaskId) {
    shared.lost_checks_sent.fetch_add(1, Ordering::Relaxed);
    shared.send_remote(id.lost_check());
}
