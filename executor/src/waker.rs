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
//! - **Clones and drops** only move the `Arc`'s count; the last drop frees the `WakerData`.

use std::mem::ManuallyDrop;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use std::task::{RawWaker, RawWakerVTable, Waker};

use crossbeam_channel::Sender;

use crate::runtime;

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
}

/// What every waker of one runtime shares.
pub(crate) struct Shared {
    /// The queue for wakes from other threads. Any thread may push a task id into it; only the
    /// executor's thread receives. (Wakes on the executor's thread use its local queue instead.)
    pub(crate) remote: Sender<TaskId>,
    /// True while the executor is (about to be) asleep in `epoll_wait`. A wake from another thread
    /// that finds it set must unpark the reactor, or the task would sit in the queue unseen.
    pub(crate) sleeping: AtomicBool,
    /// Ends the executor's `epoll_wait` from another thread.
    pub(crate) unparker: reactor::Unparker,
    /// Wakes that came from threads other than the executor's.
    pub(crate) remote_wakes: AtomicU64,
}

/// The data behind one task's waker.
pub(crate) struct WakerData {
    pub(crate) id: TaskId,
    /// Two things in one word, so that a wake costs one atomic instruction rather than two:
    /// - bit 0, `SCHEDULED`: set from the moment the task is put on a ready queue until the
    ///   executor is about to poll it. A wake that finds it set does nothing more: however often a
    ///   task is woken between two polls, it is queued, and so polled, once;
    /// - the bits above: how many times the waker was called (`TaskMetrics::wakes`).
    pub(crate) state: AtomicU64,
    pub(crate) shared: Arc<Shared>,
}

/// `WakerData::state`'s flag bit: the task is on a ready queue.
pub(crate) const SCHEDULED: u64 = 1;
/// `WakerData::state`'s unit for counting wakes, above the flag bit.
pub(crate) const ONE_WAKE: u64 = 2;

impl WakerData {
    /// A task's waker data; `queued`: the task starts out on a ready queue (a new task), which
    /// counts as its first wake.
    pub(crate) fn new(id: TaskId, shared: Arc<Shared>, queued: bool) -> WakerData {
        WakerData {
            id,
            state: AtomicU64::new(if queued { ONE_WAKE | SCHEDULED } else { 0 }),
            shared,
        }
    }

    /// Clears SCHEDULED just before the task is polled, so that a wake during the poll queues it
    /// again. Acquire pairs with the waker's release: the poll sees what the waker's thread did.
    pub(crate) fn clear_scheduled(&self) {
        self.state.fetch_and(!SCHEDULED, Ordering::AcqRel);
    }

    /// How many times the waker has been called.
    pub(crate) fn wakes(&self) -> u64 {
        self.state.load(Ordering::Relaxed) / ONE_WAKE
    }

    /// Puts the task on a ready queue unless it is already queued: the executor's local queue when
    /// called on its thread, the channel otherwise.
    pub(crate) fn wake(&self) {
        // Count the wake and set SCHEDULED in one compare-and-swap (a loop only when another
        // thread changed the word in between). Two separate atomics cost ~6 ns more per wake.
        let mut state = self.state.load(Ordering::Relaxed);
        while let Err(actual) = self.state.compare_exchange_weak(
            state,
            (state + ONE_WAKE) | SCHEDULED,
            Ordering::AcqRel,
            Ordering::Relaxed,
        ) {
            state = actual;
        }
        if state & SCHEDULED != 0 {
            return; // Already queued: one poll will see every wake-up since the last.
        }
        if runtime::push_local(&self.shared, self.id) {
            // On the executor's own thread the executor is busy right now (it is running whoever
            // called us) and will look at its queue before it sleeps: no unpark needed.
            tracing::trace!(target: "glass::executor", task = self.id.seq, "wake");
            return;
        }
        if self.shared.remote.send(self.id).is_err() {
            return; // The runtime is gone; there is nobody left to run the task.
        }
        // Release: whoever sees the new count also sees our id in the channel (`take_remote_wakes`).
        self.shared.remote_wakes.fetch_add(1, Ordering::Release);
        tracing::trace!(target: "glass::executor", task = self.id.seq, from_thread = ?std::thread::current().id(), "wake from another thread");
        // Pairs with the fence in `Runtime::park`: either the executor sees our id in the queue
        // before it sleeps, or we see its `sleeping` flag here and unpark it. Never neither.
        fence(Ordering::SeqCst);
        // The plain load first: while the executor is awake (the common case under load) the
        // flag is false, and a locked swap would only fight over its cache line.
        if self.shared.sleeping.load(Ordering::Relaxed)
            && self.shared.sleeping.swap(false, Ordering::Relaxed)
        {
            self.shared.unparker.unpark();
        }
    }

    /// Makes a `Waker` that owns one strong count of `data`.
    pub(crate) fn into_waker(data: Arc<WakerData>) -> Waker {
        let ptr = Arc::into_raw(data).cast::<()>();
        // SAFETY: `ptr` came from `Arc::into_raw` of an `Arc<WakerData>` and carries one strong
        // count, which the waker now owns; every function in `VTABLE` treats the pointer exactly so.
        unsafe { Waker::from_raw(RawWaker::new(ptr, &VTABLE)) }
    }
}

/// The four functions every `Waker` built here points to.
static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// Makes a second waker for the same task: one more strong count on the same `WakerData`.
unsafe fn clone(ptr: *const ()) -> RawWaker {
    // SAFETY: `ptr` is from `Arc::into_raw` (see `into_waker`) and the waker being cloned still owns
    // its count, so the allocation is alive; we add a count for the new waker.
    unsafe { Arc::increment_strong_count(ptr.cast::<WakerData>()) };
    RawWaker::new(ptr, &VTABLE)
}

/// Wakes, consuming the waker: its count is released when `data` goes out of scope.
unsafe fn wake(ptr: *const ()) {
    // SAFETY: `ptr` is from `Arc::into_raw` and this waker owns one count, which `wake` consumes:
    // rebuilding the `Arc` takes that count over, and dropping it releases it.
    let data = unsafe { Arc::from_raw(ptr.cast::<WakerData>()) };
    data.wake();
}

/// Wakes, keeping the waker: the count is borrowed, not taken.
unsafe fn wake_by_ref(ptr: *const ()) {
    // SAFETY: as in `wake`, but the waker keeps its count, so the rebuilt `Arc` must not release
    // it: `ManuallyDrop` skips its destructor.
    let data = ManuallyDrop::new(unsafe { Arc::from_raw(ptr.cast::<WakerData>()) });
    data.wake();
}

/// Drops the waker: releases its count; the last one frees the `WakerData`.
unsafe fn drop_waker(ptr: *const ()) {
    // SAFETY: `ptr` is from `Arc::into_raw` and this waker owns one count, which it gives up here.
    unsafe { drop(Arc::from_raw(ptr.cast::<WakerData>())) };
}
