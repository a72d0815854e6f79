//! Retries: which failures are worth another attempt ([`transient`]), and how long to wait
//! before it ([`Policy::wait`]).
//!
//! Worth another attempt: what a server or a network may not do next time. A connection
//! refused, reset or cut mid-body, a timeout, a `5xx`, `408 Request Timeout` and `429 Too Many
//! Requests`. Not worth it: any other `4xx` (the request itself is wrong: asking again asks the
//! same), a malformed response, a TLS failure, a full disk, a checksum that differs.
//!
//! The wait doubles with each attempt (exponential backoff), so a struggling server is asked
//! less and less often, and a random part is added to it (jitter), so that downloads which
//! failed together do not all come back at the same instant. A `Retry-After` from the server is
//! a minimum: the jitter only adds to it. A body cut short is not started over: the next
//! attempt resumes the `.part` with `Range` and `If-Range` (`download/resume.rs`).

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::download::DownloadError;

/// How many times to retry, and the first wait.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Retries after the first attempt (`--retry`, curl's name); 0 disables them.
    pub retries: u32,
    /// The wait before the first retry; each next one waits twice as long.
    pub first_wait: Duration,
}

/// The longest wait the doubling reaches.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// The longest `Retry-After` honoured: a server asking for more gets this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Why an attempt failed, when another one may succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transient {
    /// A few words for the bar: `503`, `connection reset`, `read timeout`...
    pub reason: String,
    /// The server's `Retry-After`, read and capped.
    pub retry_after: Option<Duration>,
}

impl Policy {
    /// How long to wait before retry number `retry` (0 for the first) after `failure`.
    pub fn wait(&self, retry: u32, failure: &Transient) -> Duration {
        let backoff = self
            .first_wait
            .saturating_mul(1 << retry.min(16))
            .min(MAX_BACKOFF);
        let floor = backoff.max(failure.retry_after.unwrap_or_default());
        floor + jitter(floor / 4)
    }
}

/// A random duration from zero up to `most`.
fn jitter(most: Duration) -> Duration {
    // `RandomState` is seeded randomly, and each one made differs from the last: random enough
    // to spread retries apart, with no dependency for it.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let nanos = u64::try_from(most.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(random % nanos.saturating_add(1))
}

/// `Some` when `error` may go away if the download is tried again.
pub fn transient(error: &DownloadError) -> Option<Transient> {
    let reason = |reason: &str| {
        Some(Transient {
            reason: reason.to_owned(),
            retry_after: None,
        })
    };
    match error {
        DownloadError::Client(e) => {
            use http_client::Error::*;
            match e {
                Connect { source, .. } => reason(io_reason(source, "connection failed")),
                Io { source, .. } => reason(io_reason(source, "connection failed")),
                BodyTruncated { .. } => reason("cut short"),
                ReadTimeout { .. } => reason("read timeout"),
                e if e.is_timeout() => reason("timeout"),
                _ => None,
            }
        }
        DownloadError::Blocking {
            retry: Some(why), ..
        } => reason(why),
        DownloadError::Status {
            status,
            retry_after,
            ..
        } if *status >= 500 || *status == 408 || *status == 429 => Some(Transient {
            reason: status.to_string(),
            retry_after: retry_after.as_deref().and_then(|v| {
                parse_retry_after(v, SystemTime::now()).map(|d| d.min(MAX_RETRY_AFTER))
            }),
        }),
        _ => None,
    }
}

/// A few words for an I/O error on a connection.
pub fn io_reason(e: &std::io::Error, otherwise: &'static str) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused",
        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted => {
            "connection reset"
        }
        std::io::ErrorKind::BrokenPipe => "connection closed",
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => "timeout",
        _ => otherwise,
    }
}

/// A `Retry-After` value (RFC 9110, section 10.2.3): a number of seconds, or an HTTP date
/// (read as of `now`; a date in the past is no wait). `None` if it is neither.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for a u64 is a very long time.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = crate::validator::http_date(value)?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(
        u64::try_from(at).unwrap_or(0).saturating_sub(now),
    ))
}

/// A wait as the bar shows it: `2 s`, or `0.3 s` under a second.
pub fn show_wait(wait: Duration) -> String {
    if wait < Duration::from_secs(1) {
        format!("{:.1} s", wait.as_secs_f64())
    } else {
        format!("{} s", wait.as_secs_f64().round())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        // Already past: no wait.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        for bad in ["", "-1", "1.5", "soon", "Sun, 06 Nov 1994 08:50:07 CET"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
        assert!(parse_retry_after("99999999999999999999999", now).is_some());
    }

    #[test]
    fn the_wait_doubles_and_jitter_only_adds() {
        let policy = Policy {
            retries: 3,
            first_wait: Duration::from_secs(1),
        };
        let plain = Transient {
            reason: "503".into(),
            retry_after: None,
        };
        for retry in 0..4 {
            let base = Duration::from_secs(1 << retry);
            for _ in 0..50 {
                let wait = policy.wait(retry, &plain);
                assert!(wait >= base && wait <= base + base / 4, "{retry}: {wait:?}");
            }
        }
        assert!(policy.wait(30, &plain) <= MAX_BACKOFF + MAX_BACKOFF / 4);
        // Retry-After is a minimum, whatever the backoff says.
        let later = Transient {
            reason: "429".into(),
            retry_after: Some(Duration::from_secs(10)),
        };
        for _ in 0..50 {
            let wait = policy.wait(0, &later);
            assert!(wait >= Duration::from_secs(10), "{wait:?}");
        }
    }

    #[test]
    fn only_what_may_change_is_retried() {
        let status = |status, retry_after: Option<&str>| DownloadError::Status {
            url: "u".into(),
            status,
            retry_after: retry_after.map(str::to_owned),
        };
        for code in [500, 502, 503, 504, 408, 429] {
            assert!(transient(&status(code, None)).is_some(), "{code}");
        }
        for code in [400, 401, 403, 404, 410, 416] {
            assert_eq!(transient(&status(code, None)), None, "{code}");
        }
        let capped = transient(&status(503, Some("86400"))).unwrap();
        assert_eq!(capped.retry_after, Some(MAX_RETRY_AFTER));
        assert_eq!(capped.reason, "503");
    }
}
