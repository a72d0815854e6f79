//! An async semaphore on glass's wakers, and the per-host limit built on it (`--per-host`).
//!
//! ## A semaphore is a queue of wakers
//! [`Semaphore`] holds a count of free permits and, when there are none, the [`Waker`]s of the
//! tasks waiting for one, in the order they asked. Taking a permit when one is free is a
//! decrement; otherwise the task's waker joins the back of the queue and the task returns
//! `Pending`, costing nothing until woken. Giving a permit back does not increment the count
//! while someone waits: it hands the permit to the first waiter and wakes it (so a task that
//! arrives later cannot overtake: first come, first served).
//!
//! Cancellation: a task is dropped mid-wait when its download is cancelled (the `c` key) or the
//! run stops. Its [`Acquire`] leaves the queue as it is dropped, so no stale waker is left to
//! wake; and if a permit had been handed to it but it had not yet run to take it, the permit
//! goes on to the next waiter rather than being lost.
//!
//! The state is behind a `Mutex`, not a `RefCell`, so that `--threads` downloads can share the
//! same limit: a thread waits with [`Semaphore::acquire_blocking`], whose waker unparks it.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

/// At most a fixed number of holders at once; the others wait in line.
#[derive(Debug)]
pub struct Semaphore {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Permits nobody holds and nobody has been handed.
    free: usize,
    /// The tasks waiting, first come first served.
    queue: VecDeque<Waiter>,
    /// The next [`Waiter::id`].
    next_id: u64,
}

#[derive(Debug)]
struct Waiter {
    /// Which [`Acquire`] this is.
    id: u64,
    /// Woken when a permit is handed to it.
    waker: Waker,
    /// A permit was handed to it; it takes it at its next poll (or passes it on if dropped).
    granted: bool,
}

impl Semaphore {
    /// A semaphore with `permits` free permits.
    pub fn new(permits: usize) -> Arc<Semaphore> {
        Arc::new(Semaphore {
            state: Mutex::new(State {
                free: permits,
                queue: VecDeque::new(),
                next_id: 0,
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A free permit now, or `None` (without joining the queue).
    pub fn try_acquire(self: &Arc<Self>) -> Option<Permit> {
        let mut state = self.state();
        (state.free > 0).then(|| {
            state.free -= 1;
            Permit(self.clone())
        })
    }

    /// Waits for a permit, in line behind those who asked before.
    pub fn acquire(self: &Arc<Self>) -> Acquire {
        Acquire {
            semaphore: self.clone(),
            id: None,
        }
    }

    /// [`acquire`](Semaphore::acquire) for an OS thread: parks it until a permit is its own.
    pub fn acquire_blocking(self: &Arc<Self>) -> Permit {
        /// Wakes a parked thread.
        struct Unpark(std::thread::Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut acquire = self.acquire();
        loop {
            if let Poll::Ready(permit) = Pin::new(&mut acquire).poll(&mut cx) {
                return permit;
            }
            // An unpark that comes first makes this return at once; a spurious one polls again.
            std::thread::park();
        }
    }

    /// Gives a permit back: to the first waiter not yet handed one, or to the free count.
    fn release(&self) {
        let waker = {
            let mut state = self.state();
            match state.queue.iter_mut().find(|w| !w.granted) {
                Some(waiter) => {
                    waiter.granted = true;
                    Some(waiter.waker.clone())
                }
                None => {
                    state.free += 1;
                    None
                }
            }
        };
        // Woken outside the lock: waking may run the executor's bookkeeping.
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// How many wait now (for the tests).
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.state().queue.len()
    }
}

/// One permit of a [`Semaphore`], given back when dropped.
#[derive(Debug)]
pub struct Permit(Arc<Semaphore>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// The future of [`Semaphore::acquire`]: a place in the queue while pending.
#[derive(Debug)]
pub struct Acquire {
    semaphore: Arc<Semaphore>,
    /// Its id in the queue once it has joined it; `None` before, and after it got its permit.
    id: Option<u64>,
}

impl Future for Acquire {
    type Output = Permit;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Permit> {
        let this = &mut *self;
        let mut state = this.semaphore.state();
        let Some(id) = this.id else {
            if state.free > 0 {
                state.free -= 1;
                drop(state);
                return Poll::Ready(Permit(this.semaphore.clone()));
            }
            let id = state.next_id;
            state.next_id += 1;
            state.queue.push_back(Waiter {
                id,
                waker: cx.waker().clone(),
                granted: false,
            });
            this.id = Some(id);
            return Poll::Pending;
        };
        let at = state.queue.iter().position(|w| w.id == id);
        let waiter = &mut state.queue[at.expect("a pending Acquire is in the queue")];
        if waiter.granted {
            state.queue.remove(at.unwrap_or_default());
            drop(state);
            this.id = None;
            return Poll::Ready(Permit(this.semaphore.clone()));
        }
        // Polled again by another task's waker (or the same): the latest one is woken.
        if !waiter.waker.will_wake(cx.waker()) {
            waiter.waker = cx.waker().clone();
        }
        Poll::Pending
    }
}

impl Drop for Acquire {
    fn drop(&mut self) {
        let Some(id) = self.id else { return };
        let granted = {
            let mut state = self.semaphore.state();
            let at = state.queue.iter().position(|w| w.id == id);
            at.and_then(|at| state.queue.remove(at))
                .is_some_and(|w| w.granted)
        };
        // Handed a permit it never took: it goes on to the next in line, not lost.
        if granted {
            self.semaphore.release();
        }
    }
}

/// One [`Semaphore`] per `host:port`, made on first use: at most `per_host` connections at once
/// to each server, whichever downloads ask.
#[derive(Debug)]
pub struct PerHost {
    /// Permits of each host's semaphore.
    per_host: usize,
    /// `host:port` → its semaphore.
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl PerHost {
    /// At most `per_host` connections to each host.
    pub fn new(per_host: usize) -> PerHost {
        PerHost {
            per_host,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// The limit per host.
    pub fn limit(&self) -> usize {
        self.per_host
    }

    /// The `host:port` of `url` (with the scheme's default port). A URL that does not parse is
    /// its own host: its download fails before connecting anyway.
    pub fn key(&self, url: &str) -> String {
        match url.parse::<http::Uri>() {
            Ok(uri) if uri.host().is_some() => {
                let default = if uri.scheme_str() == Some("https") {
                    443
                } else {
                    80
                };
                let host = uri.host().unwrap_or_default().to_ascii_lowercase();
                format!("{host}:{}", uri.port_u16().unwrap_or(default))
            }
            _ => url.to_owned(),
        }
    }

    /// [`key`](PerHost::key) of `url`, and its semaphore.
    pub fn for_url(&self, url: &str) -> (String, Arc<Semaphore>) {
        let key = self.key(url);
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        let semaphore = hosts
            .entry(key.clone())
            .or_insert_with(|| Semaphore::new(self.per_host))
            .clone();
        (key, semaphore)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A waker that counts its wakes.
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    fn poll(acquire: &mut Acquire, waker: &Waker) -> Poll<Permit> {
        Pin::new(acquire).poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn permits_go_to_waiters_first_come_first_served() {
        let semaphore = Semaphore::new(1);
        let held = semaphore.try_acquire().unwrap();
        assert!(semaphore.try_acquire().is_none());
        let (first_woken, first_waker) = counting();
        let (second_woken, second_waker) = counting();
        let (mut first, mut second) = (semaphore.acquire(), semaphore.acquire());
        assert!(poll(&mut first, &first_waker).is_pending());
        assert!(poll(&mut second, &second_waker).is_pending());
        drop(held);
        // Handed to the first, and only the first is woken; a newcomer cannot take it.
        assert_eq!(first_woken.0.load(Ordering::SeqCst), 1);
        assert_eq!(second_woken.0.load(Ordering::SeqCst), 0);
        assert!(semaphore.try_acquire().is_none());
        assert!(poll(&mut second, &second_waker).is_pending());
        let permit = match poll(&mut first, &first_waker) {
            Poll::Ready(permit) => permit,
            Poll::Pending => panic!("the first waiter did not get the permit"),
        };
        drop(permit);
        assert_eq!(second_woken.0.load(Ordering::SeqCst), 1);
        assert!(poll(&mut second, &second_waker).is_ready());
        assert_eq!(semaphore.waiting(), 0);
    }

    #[test]
    fn a_waiter_dropped_in_line_leaves_no_waker_and_loses_no_permit() {
        let semaphore = Semaphore::new(1);
        let held = semaphore.try_acquire().unwrap();
        let (dropped_woken, dropped_waker) = counting();
        let (next_woken, next_waker) = counting();
        let mut dropped = semaphore.acquire();
        let mut next = semaphore.acquire();
        assert!(poll(&mut dropped, &dropped_waker).is_pending());
        assert!(poll(&mut next, &next_waker).is_pending());
        // Dropped while queued: out of the line at once.
        drop(dropped);
        assert_eq!(semaphore.waiting(), 1);
        drop(held);
        assert_eq!(dropped_woken.0.load(Ordering::SeqCst), 0);
        assert_eq!(next_woken.0.load(Ordering::SeqCst), 1);
        assert!(poll(&mut next, &next_waker).is_ready());

        // Dropped after being handed a permit, before taking it: the permit is not lost.
        let semaphore = Semaphore::new(1);
        let held = semaphore.try_acquire().unwrap();
        let mut granted = semaphore.acquire();
        assert!(poll(&mut granted, &dropped_waker).is_pending());
        drop(held);
        drop(granted);
        assert_eq!(semaphore.waiting(), 0);
        assert!(semaphore.try_acquire().is_some());
    }

    #[test]
    fn a_thread_waits_for_a_permit_given_back_by_another() {
        let semaphore = Semaphore::new(1);
        let held = semaphore.try_acquire().unwrap();
        let other = semaphore.clone();
        let waiter = std::thread::spawn(move || drop(other.acquire_blocking()));
        while semaphore.waiting() == 0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        drop(held);
        waiter.join().unwrap();
        assert!(semaphore.try_acquire().is_some());
    }

    #[test]
    fn hosts_are_told_apart_by_host_and_port() {
        let hosts = PerHost::new(2);
        let (a, sa) = hosts.for_url("http://Example.com/x");
        let (b, sb) = hosts.for_url("http://example.com:80/y");
        let (c, _) = hosts.for_url("https://example.com/y");
        assert_eq!(a, "example.com:80");
        assert_eq!(a, b);
        assert!(Arc::ptr_eq(&sa, &sb));
        assert_eq!(c, "example.com:443");
    }
}
