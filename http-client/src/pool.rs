//! [`Pool`]: idle keep-alive connections, by the scheme, host and port they go to.
//!
//! A connection enters the pool only when the body of its last response has been read to its end
//! and nothing follows it (see `Response`), so the next response on it starts at a clean
//! boundary. Taking one out checks, without waiting, that the server has not closed it meanwhile;
//! a close that comes later still (the race between our request and the server's idle timeout) is
//! handled by the client, which retries an idempotent request once on a fresh connection.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::connection::Connection;
use crate::url::Scheme;

/// The most idle connections kept per host and port; the oldest goes first when one more comes.
/// Enough for a downloader's parallel fetches (the demo runs up to 64 at once: with 32 kept, it
/// opened 375 connections for 2,000 files where curl opened 65), few enough not to hoard file
/// descriptors.
const MAX_IDLE_PER_HOST: usize = 128;
/// An idle connection older than this is closed rather than reused: servers close idle
/// connections after a while (nginx: 75 s), often without the close reaching us in time.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Which server a connection goes to: scheme, host and port, as in the URL. The scheme is part of
/// it because a TLS session to a port is not interchangeable with plain TCP to the same port
/// (a server may well speak both on one), and because a connection that was verified for a name
/// must only carry requests for that name.
pub(crate) type Key = (Scheme, String, u16);

/// The idle connections of one [`Client`](crate::Client).
#[derive(Debug, Default)]
pub(crate) struct Pool {
    /// Idle connections per server, most recently used last. The last is taken first: it is the
    /// one least likely to have been closed by the server.
    idle: RefCell<HashMap<Key, Vec<Idle>>>,
}

/// A connection waiting in the pool.
#[derive(Debug)]
struct Idle {
    /// The connection, its buffer empty.
    conn: Connection,
    /// When it went idle, for [`IDLE_TIMEOUT`].
    since: Instant,
}

impl Pool {
    /// An idle connection to `key` that still looks usable, if there is one. Stale ones found on
    /// the way are closed.
    pub(crate) fn checkout(&self, key: &Key) -> Option<Connection> {
        let mut idle = self.idle.borrow_mut();
        let waiting = idle.get_mut(key)?;
        while let Some(Idle { mut conn, since }) = waiting.pop() {
            if since.elapsed() < IDLE_TIMEOUT && !conn.is_stale() {
                return Some(conn);
            }
            tracing::debug!(target: "glass::http", host = %key.1, port = key.2, "closing a stale idle connection");
        }
        None
    }

    /// Puts a connection whose last response has been read to the end back, for the next request
    /// to `key`.
    pub(crate) fn checkin(&self, key: Key, conn: Connection) {
        let mut idle = self.idle.borrow_mut();
        let waiting = idle.entry(key).or_default();
        if waiting.len() == MAX_IDLE_PER_HOST {
            waiting.remove(0);
        }
        waiting.push(Idle {
            conn,
            since: Instant::now(),
        });
    }
}
