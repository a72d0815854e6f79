//! [`JoinError`]: why a task did not produce its result.

use std::any::Any;
use std::fmt;

/// Why a task did not produce its result.
pub enum JoinError {
    /// The task panicked; the payload is what `panic!` was given.
    Panic(Box<dyn Any + Send + 'static>),
    /// The task was aborted, or the runtime shut down before it finished.
    Cancelled,
    /// A [`spawn_blocking`](crate::spawn_blocking) closure never ran: the blocking pool had no
    /// thread and the system refused to start one (out of memory or of processes).
    ThreadUnavailable(std::io::Error),
}

impl JoinError {
    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panic(_))
    }

    /// Whether the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// The panic's payload, to rethrow with `std::panic::resume_unwind`.
    ///
    /// # Panics
    /// If the task did not panic.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self {
            JoinError::Panic(payload) => payload,
            JoinError::Cancelled => panic!("JoinError::into_panic on a cancelled task"),
            JoinError::ThreadUnavailable(e) => {
                panic!("JoinError::into_panic on a blocking task that never ran: {e}")
            }
        }
    }

    fn panic_message(&self) -> Option<&str> {
        match self {
            JoinError::Panic(payload) => payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str)),
            JoinError::Cancelled | JoinError::ThreadUnavailable(_) => None,
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self, self.panic_message()) {
            (JoinError::Cancelled, _) => f.write_str("task was cancelled"),
            (JoinError::Panic(_), Some(message)) => write!(f, "task panicked: {message}"),
            (JoinError::Panic(_), None) => f.write_str("task panicked"),
            (JoinError::ThreadUnavailable(e), _) => {
                write!(f, "the blocking task never ran: {e}")
            }
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("JoinError::Cancelled"),
            JoinError::Panic(_) => write!(f, "JoinError::Panic({:?})", self.panic_message()),
            JoinError::ThreadUnavailable(e) => write!(f, "JoinError::ThreadUnavailable({e:?})"),
        }
    }
}

impl std::error::Error for JoinError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JoinError::ThreadUnavailable(e) => Some(e),
            _ => None,
        }
    }
}
