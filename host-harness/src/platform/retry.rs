//! The platform's one backoff: what a failure classified `retry` waits before the next attempt,
//! shared by refresh and the platform's own requests.

use std::time::Duration;

use connector_interface::ConnectorError;

use super::clock::random_below;

/// Attempts for a failure classified `retry`.
pub const MAX_ATTEMPTS: u32 = 3;
/// The longest wait between attempts the platform accepts from Retry-After.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// Retry-After when the service gave one (capped), else exponential backoff with jitter.
pub fn backoff(attempt: u32, retry_after: Option<f64>) -> Duration {
    if let Some(s) = retry_after.filter(|s| s.is_finite() && *s >= 0.0) {
        return Duration::from_secs_f64(s).min(MAX_WAIT);
    }
    let base = 500u64 << attempt.min(6);
    let jitter = random_below(base / 2 + 1);
    Duration::from_millis(base / 2 + jitter).min(MAX_WAIT)
}

/// The wait before attempt `attempt + 1` after `e`, or None when `e` is not to be retried or
/// the attempts are spent.
pub fn wait_after(attempt: u32, e: &ConnectorError) -> Option<Duration> {
    let c = e.classification()?;
    (c.action == connector_interface::Action::Retry && attempt < MAX_ATTEMPTS)
        .then(|| backoff(attempt, c.retry_after_seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_wins_and_is_capped_and_backoff_grows() {
        assert_eq!(backoff(1, Some(2.5)), Duration::from_millis(2500));
        assert_eq!(backoff(1, Some(1e9)), MAX_WAIT);
        for attempt in 1..=3 {
            let base = 500u64 << attempt;
            let w = backoff(attempt, None).as_millis() as u64;
            assert!((base / 2..=base).contains(&w), "{attempt}: {w}");
        }
        assert!(backoff(1, Some(f64::NAN)) <= Duration::from_millis(1000));
    }
}
