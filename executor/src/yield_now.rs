//! [`yield_now`]: step aside once.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Lets every other ready task run once before the caller resumes.
///
/// It wakes its own task and returns `Pending` once: the task goes to the back of the ready queue,
/// behind every task that was already waiting. It is the simplest future there is, and a good
/// first one to read.
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
///
/// let order = Rc::new(RefCell::new(Vec::new()));
/// executor::block_on(async {
///     let log = order.clone();
///     let other = executor::spawn(async move { log.borrow_mut().push("other task") });
///     order.borrow_mut().push("before yield_now");
///     executor::yield_now().await; // the spawned task runs here
///     order.borrow_mut().push("after yield_now");
///     other.await.unwrap();
/// });
/// assert_eq!(*order.borrow(), ["before yield_now", "other task", "after yield_now"]);
/// ```
pub async fn yield_now() {
    YieldNow { yielded: false }.await
}

struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
