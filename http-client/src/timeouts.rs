//! [`Timeouts`]: the time limits one request runs under, and [`Timeouts::guard`], which applies
//! them to each wait.
//!
//! A request has up to three limits: one on connecting, one on each silence while reading, and one
//! on the whole request from `send` to the body's last byte. Rather than race the whole request
//! against one timer (which would have to live as long as the [`Response`](crate::Response)), every
//! wait (a connect, a write, a read) is given the time left under whichever limit ends first, with
//! `reactor::time::timeout`. When it expires, the error names the limit that did it.
//!
//! A guard costs nothing when its future is ready at once: the timer registers only if the wait
//! actually has to sleep.

use std::future::Future;
use std::time::{Duration, Instant};

use http::Uri;

use crate::Error;

/// The limits a request runs under, copied into its [`Response`](crate::Response) so that reading
/// the body obeys them too.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// The client's `connect_timeout`: for resolving plus connecting, per connection.
    pub(crate) connect: Option<Duration>,
    /// The client's `read_timeout`: the longest wait for any single read.
    pub(crate) read: Option<Duration>,
    /// The client's `timeout` and the instant it ends, fixed when the request was sent.
    pub(crate) whole: Option<(Duration, Instant)>,
}

/// Which kind of wait a guard is for, and so which per-step limit applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    Connect,
    Read,
    /// Writing the request head: only the whole-request limit applies (a server that does not
    /// read is rare; a request head fits in the socket buffer).
    Write,
}

impl Timeouts {
    /// Runs `future` under the tightest limit that applies to `wait`; the error names it.
    pub(crate) async fn guard<F: Future>(
        &self,
        wait: Wait,
        url: &Uri,
        future: F,
    ) -> Result<F::Output, Error> {
        let step = match wait {
            Wait::Connect => self.connect,
            Wait::Read => self.read,
            Wait::Write => None,
        };
        // The limit that ends first decides both how long to wait and what to call it.
        let left = self
            .whole
            .map(|(_, end)| end.saturating_duration_since(Instant::now()));
        let (wait_for, whole_is_first) = match (step, left) {
            (None, None) => return Ok(future.await),
            (Some(step), Some(left)) if left <= step => (left, true),
            (Some(step), _) => (step, false),
            (None, Some(left)) => (left, true),
        };
        reactor::time::timeout(wait_for, future)
            .await
            .map_err(|_elapsed| {
                let url = url.clone();
                match (whole_is_first, self.whole) {
                    (true, Some((after, _))) => Error::Timeout { url, after },
                    _ if wait == Wait::Connect => Error::ConnectTimeout {
                        url,
                        after: wait_for,
                    },
                    _ => Error::ReadTimeout {
                        url,
                        after: wait_for,
                    },
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Uri {
        Uri::from_static("http://example.com/")
    }

    fn never() -> std::future::Pending<()> {
        std::future::pending()
    }

    const SHORT: Duration = Duration::from_millis(20);
    const LONG: Duration = Duration::from_secs(30);

    #[test]
    fn each_limit_names_itself_when_it_is_the_one_that_ends() {
        executor::block_on(async {
            let connect = Timeouts {
                connect: Some(SHORT),
                read: Some(LONG),
                whole: None,
            };
            let error = connect
                .guard(Wait::Connect, &url(), never())
                .await
                .unwrap_err();
            assert!(
                matches!(error, Error::ConnectTimeout { after: SHORT, .. }),
                "{error:?}"
            );
            let error = connect.guard(Wait::Write, &url(), async {}).await;
            assert!(error.is_ok(), "a write has no per-step limit");

            let read = Timeouts {
                connect: None,
                read: Some(SHORT),
                whole: Some((LONG, Instant::now() + LONG)),
            };
            let error = read.guard(Wait::Read, &url(), never()).await.unwrap_err();
            assert!(
                matches!(error, Error::ReadTimeout { after: SHORT, .. }),
                "{error:?}"
            );

            let whole = Timeouts {
                connect: Some(LONG),
                read: Some(LONG),
                whole: Some((SHORT, Instant::now() + SHORT)),
            };
            for wait in [Wait::Connect, Wait::Read, Wait::Write] {
                let error = whole.guard(wait, &url(), never()).await.unwrap_err();
                assert!(
                    matches!(error, Error::Timeout { after: SHORT, .. }),
                    "{error:?}"
                );
            }
        });
    }
}
