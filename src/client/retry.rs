//! `--retry`: which failures are worth another attempt and how long to wait, as curl 7.88
//! decides it. Pure: the client asks [`next_delay`] after each attempt.
//!
//! Transient: a timeout or a host name — the origin's or the proxy's — that did not resolve
//! (curl counts them as "timeouts": a resolver that did not answer in time), or an HTTP 408,
//! 429, 500, 502, 503 or 504 answer (whether or not `-f` turned it into an error); a refused
//! connection (to the origin or the proxy) with `--retry-connrefused`; any error with
//! `--retry-all-errors` — except the ones another attempt cannot fix and must not repeat:
//! rejected or missing credentials (a rejected credential is never sent again), a 401 or 407,
//! the proxy's refusal, usage and output errors, Ctrl-C.
//! The wait: the server's `Retry-After` (seconds, or an HTTP-date) on a transient status, even
//! over `--retry-delay` — and no retry if that wait would pass `--retry-max-time`; else
//! `--retry-delay` if given; else 1 s, doubled after each retry, at most 10 minutes. With
//! `--retry-max-time`, no retry is decided once that much time has passed since the first
//! attempt.

use crate::config::RetryConfig;
use crate::error::Exit;
use std::time::{Duration, SystemTime};

const TRANSIENT_STATUS: [u16; 6] = [408, 429, 500, 502, 503, 504];
const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// How an attempt ended, as far as retrying is concerned.
#[derive(Clone, Copy, Debug)]
pub struct Attempt<'a> {
    /// The error that ended it, if any.
    pub error: Option<Exit>,
    /// The final response's status (0: none).
    pub status: u16,
    /// The final response's `Retry-After`, if any.
    pub retry_after: Option<&'a str>,
    /// Retries already made (0 after the first attempt).
    pub retried: u32,
    /// Time since the first attempt started.
    pub elapsed: Duration,
    /// The wall clock, for a `Retry-After` that is a date.
    pub now: SystemTime,
}

/// The wait before the next attempt, or `None` to stop here.
pub fn next_delay(cfg: &RetryConfig, a: &Attempt<'_>) -> Option<Duration> {
    if a.retried >= cfg.retries || !worth_retrying(cfg, a) {
        return None;
    }
    // curl 7.88 takes the server's word for any status it retries, over --retry-delay.
    let after = if transient_status(a) { a.retry_after.and_then(|v| retry_after(v, a.now)) } else { None };
    let delay = match (after, cfg.delay) {
        (Some(secs), _) => {
            if cfg.max_time.is_some_and(|max| a.elapsed.as_secs().saturating_add(secs) > max.as_secs()) {
                return None;
            }
            Duration::from_secs(secs)
        }
        (None, Some(d)) => d,
        (None, None) => Duration::from_secs(1u64 << a.retried.min(10)).min(MAX_BACKOFF),
    };
    // As curl 7.88: the limit is checked when deciding, the wait itself may pass it.
    if cfg.max_time.is_some_and(|max| a.elapsed >= max) {
        return None;
    }
    Some(delay)
}

/// A `Retry-After` value in seconds from `now`: delay-seconds or an HTTP-date (RFC 9110
/// §10.2.3). `None` for nothing usable (0, a date gone by, neither).
fn retry_after(value: &str, now: SystemTime) -> Option<u64> {
    let v = value.trim();
    let secs = match v.parse::<u64>() {
        Ok(s) => s,
        Err(_) => httpdate::parse_http_date(v).ok()?.duration_since(now).ok()?.as_secs(),
    };
    (secs > 0).then_some(secs)
}

/// Retried for its HTTP status (with or without `-f`).
fn transient_status(a: &Attempt<'_>) -> bool {
    matches!(a.error, None | Some(Exit::HttpStatus)) && TRANSIENT_STATUS.contains(&a.status)
}

fn worth_retrying(cfg: &RetryConfig, a: &Attempt<'_>) -> bool {
    if matches!(a.status, 401 | 407) {
        return false;
    }
    match a.error {
        _ if transient_status(a) => true,
        None => false,
        Some(Exit::Timeout | Exit::ResolveHost) => true,
        Some(Exit::Connect) if cfg.connrefused => true,
        Some(
            Exit::AuthNoCredentials
            | Exit::AuthRejected
            | Exit::AuthNoUsableScheme
            | Exit::ProxyDenied
            | Exit::Usage
            | Exit::Write
            | Exit::Interrupted
            | Exit::Internal,
        ) => false,
        Some(_) => cfg.all_errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(retries: u32) -> RetryConfig {
        RetryConfig { retries, ..RetryConfig::default() }
    }

    fn attempt(error: Option<Exit>, status: u16, retried: u32) -> Attempt<'static> {
        Attempt {
            error,
            status,
            retry_after: None,
            retried,
            elapsed: Duration::ZERO,
            now: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn transient_statuses_and_timeouts_are_retried_with_backoff() {
        let c = cfg(5);
        for s in TRANSIENT_STATUS {
            assert_eq!(next_delay(&c, &attempt(None, s, 0)), Some(Duration::from_secs(1)), "{s}");
            assert!(next_delay(&c, &attempt(Some(Exit::HttpStatus), s, 0)).is_some(), "-f {s}");
        }
        assert_eq!(next_delay(&c, &attempt(None, 503, 1)), Some(Duration::from_secs(2)));
        assert_eq!(next_delay(&c, &attempt(None, 503, 3)), Some(Duration::from_secs(8)));
        assert_eq!(next_delay(&cfg(100), &attempt(None, 503, 40)), Some(MAX_BACKOFF));
        assert_eq!(next_delay(&c, &attempt(Some(Exit::Timeout), 0, 0)), Some(Duration::from_secs(1)));
        assert_eq!(next_delay(&c, &attempt(Some(Exit::ResolveHost), 0, 0)), Some(Duration::from_secs(1)));
        for s in [200, 404, 501, 505] {
            assert_eq!(next_delay(&c, &attempt(None, s, 0)), None, "{s}");
        }
    }

    #[test]
    fn the_count_the_delay_and_the_time_limit_are_respected() {
        assert_eq!(next_delay(&cfg(0), &attempt(None, 503, 0)), None);
        assert_eq!(next_delay(&cfg(2), &attempt(None, 503, 2)), None);
        let fixed = RetryConfig { delay: Some(Duration::from_millis(250)), ..cfg(3) };
        assert_eq!(next_delay(&fixed, &attempt(None, 503, 2)), Some(Duration::from_millis(250)));
        let after = Attempt { retry_after: Some("7"), ..attempt(None, 429, 0) };
        assert_eq!(next_delay(&cfg(1), &after), Some(Duration::from_secs(7)));
        // The server's word wins over --retry-delay, on every transient status, as in curl 7.88.
        assert_eq!(next_delay(&fixed, &after), Some(Duration::from_secs(7)));
        let on_500 = Attempt { retry_after: Some("7"), ..attempt(Some(Exit::HttpStatus), 500, 0) };
        assert_eq!(next_delay(&cfg(1), &on_500), Some(Duration::from_secs(7)));
        // An HTTP-date; one gone by, 0 and nonsense count as none.
        let now = httpdate::parse_http_date("Thu, 03 Dec 2026 12:00:00 GMT").unwrap();
        let dated = |v| Attempt { retry_after: Some(v), now, ..attempt(None, 503, 0) };
        assert_eq!(
            next_delay(&cfg(1), &dated("Thu, 03 Dec 2026 12:00:30 GMT")),
            Some(Duration::from_secs(30))
        );
        for none in ["Thu, 03 Dec 2026 11:00:00 GMT", "0", "soon"] {
            assert_eq!(next_delay(&cfg(1), &dated(none)), Some(Duration::from_secs(1)), "{none}");
        }
        // Not for a timeout, whatever the last answer said.
        let timed_out = Attempt { retry_after: Some("7"), ..attempt(Some(Exit::Timeout), 503, 0) };
        assert_eq!(next_delay(&cfg(1), &timed_out), Some(Duration::from_secs(1)));
        // A wait that would pass --retry-max-time: no retry at all.
        let capped = RetryConfig { max_time: Some(Duration::from_secs(5)), ..cfg(3) };
        assert_eq!(next_delay(&capped, &after), None);
        let limited = RetryConfig { max_time: Some(Duration::from_secs(3)), ..cfg(9) };
        let early = Attempt { elapsed: Duration::from_millis(2500), ..attempt(None, 503, 0) };
        assert_eq!(next_delay(&limited, &early), Some(Duration::from_secs(1)));
        let late = Attempt { elapsed: Duration::from_secs(3), ..attempt(None, 503, 0) };
        assert_eq!(next_delay(&limited, &late), None);
    }

    #[test]
    fn credentials_and_refusals_are_never_retried() {
        let all = RetryConfig { all_errors: true, connrefused: true, ..cfg(3) };
        for e in
            [Exit::AuthRejected, Exit::AuthNoCredentials, Exit::ProxyDenied, Exit::Usage, Exit::Interrupted]
        {
            assert_eq!(next_delay(&all, &attempt(Some(e), 0, 0)), None, "{e:?}");
        }
        assert_eq!(next_delay(&all, &attempt(Some(Exit::HttpStatus), 401, 0)), None);
        assert_eq!(next_delay(&all, &attempt(None, 407, 0)), None);
        assert!(next_delay(&all, &attempt(Some(Exit::HttpStatus), 404, 0)).is_some());
        assert!(next_delay(&all, &attempt(Some(Exit::Receive), 200, 0)).is_some());
        assert_eq!(next_delay(&cfg(3), &attempt(Some(Exit::Connect), 0, 0)), None);
        let refused = RetryConfig { connrefused: true, ..cfg(3) };
        assert!(next_delay(&refused, &attempt(Some(Exit::Connect), 0, 0)).is_some());
    }
}
