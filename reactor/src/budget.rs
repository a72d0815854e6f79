//! The cooperative budget: a task draining a fast socket must still let the others run.

use std::cell::Cell;

/// How many I/O operations in a row may complete at once before the next one yields. Without it, a
/// task reading a socket that always has data would never return `Pending`, and every other task
/// on the thread would starve. tokio's budget is also 128, but per task poll (its executor resets
/// it before each poll); this one is per thread, reset whenever an operation blocks, so the
/// reactor needs no help from the executor. The price: the task that happens to make the 129th
/// operation in a row yields once, even if it had made only a few of them.
const COOP_BUDGET_MAX: u32 = 128;

thread_local! {
    /// Operations left before a forced yield; reset whenever an operation would block.
    static COOP_BUDGET: Cell<u32> = const { Cell::new(COOP_BUDGET_MAX) };
}

/// Spends one unit of the budget; `false` (and a fresh budget) once it has run out.
#[inline]
pub(crate) fn left() -> bool {
    let left = COOP_BUDGET.get();
    if left == 0 {
        COOP_BUDGET.set(COOP_BUDGET_MAX);
        return false;
    }
    COOP_BUDGET.set(left - 1);
    true
}

/// An operation blocked: the thread is not hogged, the count starts again.
#[inline]
pub(crate) fn reset() {
    COOP_BUDGET.set(COOP_BUDGET_MAX);
}
