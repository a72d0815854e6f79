//! The hand-written `Waker`.
//!
//! A `std::task::Waker` is a data pointer plus a table of four functions (a `RawWakerVTable`):
//! `clone`, `wake`, `wake_by_ref` and `drop`. Here the data pointer is an `Arc<Task<F>>` turned
//! into a raw pointer, and the four functions are the four things one does with an `Arc`: bump the
//! count, use it and drop it, use it, drop it. Waking means "put my task's id on a ready queue".
//! The task and its wakers share one allocation: the task's.
//!
//! ## Why it is safe to wake from anywhere, at any time
//! - **Other threads** touch only the task's [`Header`]: its id, an atomic flag and an `Arc` of
//!   what all wakers share (the channel's `Sender`, the unparker), all thread-safe. The future,
//!   which need not be `Send`, is never touched off the executor's thread.
//! - **The last drop only frees memory.** The executor itself drops every future (when it
//!   finishes, is aborted, or when `block_on` returns) and every output (when its `JoinHandle`
//!   takes it or is dropped), so a waker dropped last, on any thread, finds nothing to run.
//! - **After the task finished** its id is stale: the sequence number in it is never reused, and
//!   the executor ignores ids whose task is gone.
//! - **After `block_on` returned** the channel's receiver is gone: `send` fails, nothing happens.

use std::sync::Arc;
use std::task::{RawWaker, RawWakerVTable};

use crossbeam_channel::Sender;

use crate::layer;
use crate::runtime;
use crate::state::{Parking, Scheduled};
use crate::task::Task;

/// Identifies a task: its slot in the executor's slab, and a sequence number unique for the life
/// of the runtime (so a stale id can never name the slot's next occupant).
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
    /// Wakes from other threads send the task's id here; only the executor receives.
    pub(crate) remote: Sender<TaskId>,
    /// The `sleeping` flag and the count of ids sent (`crate::state`).
    pub(crate) parking: Parking,
    /// Ends the executor's `epoll_wait` from another thread.
    pub(crate) unparker: reactor::Unparker,
    /// The instrumentation layer's part (a clock, switches other threads read).
    pub(crate) watch: layer::SharedWatch,
}

/// The part of a task a waker may touch, from any thread. It is the first field of the task
/// (`Task` and `TaskBase` are `repr(C)`), so a pointer to the task also points to its header.
pub(crate) struct Header {
    pub(crate) id: TaskId,
    pub(crate) scheduled: Scheduled,
    pub(crate) shared: Arc<Shared>,
    /// How to count and free the task's allocation, whose type only `spawn` knew.
    pub(crate) refs: &'static Refs,
    /// The instrumentation layer's part (wake counters, the wake's time).
    pub(crate) watch: layer::WakeWatch,
}

impl Header {
    /// Puts the task on a ready queue unless it is already on one: the executor's own queue on
    /// its thread, the channel from any other.
    #[inline]
    pub(crate) fn wake(&self) {
        let queue = self.scheduled.set();
        if runtime::wake_here(self, queue) {
            return;
        }
        layer::woken_elsewhere(self, queue);
        if queue && self.shared.remote.send(self.id).is_ok() && self.shared.parking.sent_one() {
            self.shared.unparker.unpark();
        }
    }
}

/// The `Arc` operations on a `Task<F>`, behind pointers: one table of waker functions serves
/// every task (a waker's table is compared by address in `Waker::will_wake`, so there must be
/// one per kind of waker, not one per future type).
pub(crate) struct Refs {
    pub(crate) clone: unsafe fn(*const ()),
    pub(crate) drop: unsafe fn(*const ()),
}

impl<F: Future> Task<F> {
    pub(crate) const REFS: Refs = Refs {
        clone: clone_ref::<F>,
        drop: drop_ref::<F>,
    };
}

// In both, `ptr` is from `Arc::into_raw` of an `Arc<Task<F>>`; the caller borrows (to clone) or
// owns (to drop) one of its strong counts.

unsafe fn clone_ref<F: Future>(ptr: *const ()) {
    // SAFETY: see above.
    unsafe { Arc::increment_strong_count(ptr.cast::<Task<F>>()) }
}

unsafe fn drop_ref<F: Future>(ptr: *const ()) {
    // SAFETY: see above.
    drop(unsafe { Arc::from_raw(ptr.cast::<Task<F>>()) })
}

/// The four functions of every task's waker.
pub(crate) static VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// The header `ptr` points to. `ptr` came from `Arc::into_raw` of an `Arc<Task<F>>` (or points
/// into one the executor holds while it polls: `Task::waker_ref`), and a live waker owns one
/// strong count of it (the one a poll lends borrows the executor's): the memory is valid while
/// the waker lives.
pub(crate) unsafe fn header<'a>(ptr: *const ()) -> &'a Header {
    // SAFETY: see above; `Task` and `TaskBase` are `repr(C)` with the header first.
    unsafe { &*ptr.cast::<Header>() }
}

unsafe fn clone(ptr: *const ()) -> RawWaker {
    // SAFETY: see `header`; the new waker owns the count added here.
    unsafe { (header(ptr).refs.clone)(ptr) };
    RawWaker::new(ptr, &VTABLE)
}

unsafe fn wake(ptr: *const ()) {
    // SAFETY: see `header`; this waker is alive until `drop_waker`, which consumes it.
    unsafe {
        header(ptr).wake();
        drop_waker(ptr);
    }
}

unsafe fn wake_by_ref(ptr: *const ()) {
    // SAFETY: see `header`.
    unsafe { header(ptr) }.wake();
}

unsafe fn drop_waker(ptr: *const ()) {
    // SAFETY: see `header`; this waker's count is given up. If it was the last, the task's
    // future and output are long gone (module docs): only memory is freed.
    unsafe { (header(ptr).refs.drop)(ptr) };
}
