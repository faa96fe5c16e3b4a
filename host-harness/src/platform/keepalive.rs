//! Keep-alive: providers expire refresh tokens that go unused for a while, so a connection is
//! refreshed a day after its last token set. Due connections form a queue in the store:
//! workers claim them in batches (each claim leases them to this process, so other processes
//! skip them) and refresh with bounded concurrency. A failure is retried later with a growing
//! backoff and counted once per day; a connection whose keep-alive has failed on N days needs
//! attention, with the failure's classification.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::error::PlatformError;
use super::store::{Record, Status};
use super::Platform;

/// A keep-alive refresh: the connection's name and what happened.
pub type KeepaliveOutcome = (String, Result<(), String>);

/// What a keep-alive run did, counted; the outcomes themselves go to the caller one by one
/// ([`Platform::keepalive_each`]), so a run over 100 000 connections keeps none of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeepaliveCounts {
    pub refreshed: usize,
    pub failed: usize,
}

/// How keep-alive runs.
#[derive(Debug, Clone, Copy)]
pub struct KeepaliveOptions {
    /// Refreshes in flight at once in this process.
    pub concurrency: usize,
    /// After failures on this many days a connection needs attention.
    pub failing_days: u32,
}

impl Default for KeepaliveOptions {
    fn default() -> Self {
        KeepaliveOptions { concurrency: 64, failing_days: 4 }
    }
}

/// The wait before the next try after `attempts` failures in a row: 15 minutes, doubling, at
/// most 6 hours (so a day with failures has several tries).
fn backoff_secs(attempts: u32) -> i64 {
    (900_i64 << attempts.saturating_sub(1).min(5)).min(6 * 3600)
}

impl Platform {
    /// Refreshes every connection due, with the default options.
    pub fn keepalive(&self) -> Result<Vec<KeepaliveOutcome>, PlatformError> {
        self.keepalive_with(KeepaliveOptions::default())
    }

    /// Refreshes every connection due, `options.concurrency` at a time; one outcome per
    /// connection claimed, all kept (see [`Self::keepalive_each`] for a run of any size).
    pub fn keepalive_with(&self, options: KeepaliveOptions) -> Result<Vec<KeepaliveOutcome>, PlatformError> {
        let outcomes = Mutex::new(Vec::new());
        self.keepalive_each(options, &|name, outcome| lock(&outcomes).push((name.to_string(), outcome.clone())))?;
        Ok(outcomes.into_inner().unwrap_or_else(|e| e.into_inner()))
    }

    /// Refreshes every connection due, `options.concurrency` at a time, handing each outcome to
    /// `on_outcome` as it comes (from the worker that refreshed it) and keeping only counts.
    pub fn keepalive_each(
        &self,
        options: KeepaliveOptions,
        on_outcome: &(dyn Fn(&str, &Result<(), String>) + Sync),
    ) -> Result<KeepaliveCounts, PlatformError> {
        let workers = options.concurrency.max(1);
        let queue = Mutex::new(VecDeque::<String>::new());
        let claiming = Mutex::new(false);
        let counts = Mutex::new(KeepaliveCounts::default());
        let failed: Mutex<Option<PlatformError>> = Mutex::new(None);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    let next = lock(&queue).pop_front();
                    let name = match next {
                        Some(n) => n,
                        None => {
                            // One worker claims the next batch; the others wait for it.
                            let _claim = lock(&claiming);
                            // (The guard of a scrutinee would live through the else branch.)
                            let claimed_meanwhile = lock(&queue).pop_front();
                            if let Some(n) = claimed_meanwhile {
                                n
                            } else {
                                let now = self.now();
                                match self.store.claim_due(now, workers, &self.owner, now + self.lease_secs) {
                                    Ok(names) if !names.is_empty() => {
                                        let mut q = lock(&queue);
                                        q.extend(names);
                                        match q.pop_front() {
                                            Some(n) => n,
                                            None => return,
                                        }
                                    }
                                    Ok(_) => return,
                                    Err(e) => {
                                        lock(&failed).get_or_insert(e);
                                        return;
                                    }
                                }
                            }
                        }
                    };
                    let outcome = self.keepalive_one(&name, options);
                    on_outcome(&name, &outcome);
                    let mut c = lock(&counts);
                    match outcome {
                        Ok(()) => c.refreshed += 1,
                        Err(_) => c.failed += 1,
                    }
                });
            }
        });
        match failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(e) => Err(e),
            None => Ok(counts.into_inner().unwrap_or_else(|e| e.into_inner())),
        }
    }

    /// One claimed connection: refreshed, or its failure counted and its next try scheduled.
    fn keepalive_one(&self, name: &str, options: KeepaliveOptions) -> Result<(), String> {
        let error = match self.refresh_due(name) {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        let now = self.now();
        let day = now.div_euclid(86_400);
        let reason = error.to_string();
        let classified = match &error {
            PlatformError::Connector(c) => Some((**c).clone()),
            _ => None,
        };
        let _ = self.change(name, |r: &mut Record| {
            let k = &mut r.keepalive;
            k.attempts += 1;
            if k.last_failed_day != Some(day) {
                k.failed_days += 1;
                k.last_failed_day = Some(day);
            }
            k.next_at = Some(now + backoff_secs(k.attempts));
            if k.failed_days >= options.failing_days && r.status == Status::Connected {
                r.status = Status::NeedsAttention;
                r.remedy = Some(format!(
                    "Keep-alive has failed on {} days: {}",
                    k.failed_days,
                    classified.as_ref().and_then(|c| c.remediation()).unwrap_or(reason.as_str())
                ));
                if let Some(c) = &classified {
                    r.last_error = Some(c.clone());
                }
            }
        });
        let _ = self.store.release_lease(name, &self.owner);
        Err(reason)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::backoff_secs;

    #[test]
    fn the_backoff_grows_and_stops_at_six_hours() {
        assert_eq!(backoff_secs(1), 900);
        assert_eq!(backoff_secs(2), 1800);
        assert_eq!(backoff_secs(3), 3600);
        assert_eq!(backoff_secs(6), 6 * 3600);
        assert_eq!(backoff_secs(60), 6 * 3600);
    }
}
