//! Keep-alive: providers expire refresh tokens that go unused for a while, so a connection is
//! refreshed a day after its last token set. Due connections form a queue in the store:
//! workers claim them in batches (each claim leases them to this process, so other processes
//! skip them) and refresh with bounded concurrency. A failure is retried later with a growing
//! backoff and counted once per day; a connection whose keep-alive has failed on N days needs
//! attention, with the failure's classification.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};

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
    ///
    /// One thread claims and the workers refresh: the claimer keeps at least `concurrency`
    /// names queued ahead (a batch of `concurrency` claimed whenever fewer are left), so that a
    /// worker that finishes takes its next connection at once instead of waiting for the
    /// store's claim, and the workers do not fall into step (all waiting on one claim, then all
    /// starting their requests together).
    pub fn keepalive_each(
        &self,
        options: KeepaliveOptions,
        on_outcome: &(dyn Fn(&str, &Result<(), String>) + Sync),
    ) -> Result<KeepaliveCounts, PlatformError> {
        let workers = options.concurrency.max(1);
        let queue = ClaimQueue::default();
        let counts = Mutex::new(KeepaliveCounts::default());
        std::thread::scope(|scope| {
            scope.spawn(|| {
                while queue.wait_until_below(workers) {
                    let now = self.now();
                    queue.push(self.store.claim_due(now, workers, &self.owner, now + self.lease_secs));
                }
            });
            for _ in 0..workers {
                scope.spawn(|| {
                    while let Some(name) = queue.next(workers) {
                        let outcome = self.keepalive_one(&name, options);
                        on_outcome(&name, &outcome);
                        let mut c = lock(&counts);
                        match outcome {
                            Ok(()) => c.refreshed += 1,
                            Err(_) => c.failed += 1,
                        }
                    }
                });
            }
        });
        match queue.into_failure() {
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

/// Claimed names waiting for a worker, filled by one claimer.
#[derive(Default)]
struct ClaimQueue {
    state: Mutex<Claimed>,
    /// Signalled when names arrive or claiming has ended.
    filled: Condvar,
    /// Signalled when a worker took a name (the claimer may be due to claim more).
    taken: Condvar,
}

#[derive(Default)]
struct Claimed {
    names: VecDeque<String>,
    /// Nothing more will be claimed: the store had nothing due, or failed.
    ended: bool,
    failure: Option<PlatformError>,
}

impl ClaimQueue {
    /// Waits until fewer than `low` names are queued; false once claiming has ended.
    fn wait_until_below(&self, low: usize) -> bool {
        let mut s = lock(&self.state);
        while s.names.len() >= low && !s.ended {
            s = self.taken.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        !s.ended
    }

    /// A claim's result: its names queued, or (nothing due, or a failure) the end of claiming.
    fn push(&self, claimed: Result<Vec<String>, PlatformError>) {
        let mut s = lock(&self.state);
        match claimed {
            Ok(names) if !names.is_empty() => s.names.extend(names),
            Ok(_) => s.ended = true,
            Err(e) => {
                s.ended = true;
                s.failure.get_or_insert(e);
            }
        }
        self.filled.notify_all();
    }

    /// The next name for a worker, waiting for the claimer when none is queued; None once the
    /// queue is empty and claiming has ended. Wakes the claimer when fewer than `low` are left.
    fn next(&self, low: usize) -> Option<String> {
        let mut s = lock(&self.state);
        loop {
            if let Some(name) = s.names.pop_front() {
                if s.names.len() < low {
                    self.taken.notify_one();
                }
                return Some(name);
            }
            if s.ended {
                return None;
            }
            s = self.filled.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn into_failure(self) -> Option<PlatformError> {
        self.state.into_inner().unwrap_or_else(|e| e.into_inner()).failure
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::{backoff_secs, ClaimQueue};
    use crate::platform::error::PlatformError;

    #[test]
    fn the_claim_queue_keeps_names_ahead_hands_each_out_once_and_keeps_a_failure() {
        let queue = ClaimQueue::default();
        let taken = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut batch = 0;
                while queue.wait_until_below(4) {
                    // Asked again only when fewer than 4 are left.
                    assert!(super::lock(&queue.state).names.len() < 4);
                    batch += 1;
                    let claimed = match batch {
                        1..=3 => Ok((0..4).map(|i| format!("c{batch}-{i}")).collect()),
                        _ => Err(PlatformError::NotFound("the store went away".into())),
                    };
                    queue.push(claimed);
                }
            });
            for _ in 0..3 {
                s.spawn(|| {
                    while let Some(name) = queue.next(4) {
                        taken.lock().unwrap().push(name);
                    }
                });
            }
        });
        let mut taken = taken.into_inner().unwrap();
        taken.sort();
        let expected: Vec<String> = (1..=3).flat_map(|b| (0..4).map(move |i| format!("c{b}-{i}"))).collect();
        assert_eq!(taken, expected, "every claimed name once, none after the failure");
        assert!(matches!(queue.into_failure(), Some(PlatformError::NotFound(_))));
    }

    #[test]
    fn an_empty_claim_ends_the_run() {
        let queue = ClaimQueue::default();
        assert!(queue.wait_until_below(1));
        queue.push(Ok(Vec::new()));
        assert!(!queue.wait_until_below(1));
        assert_eq!(queue.next(1), None);
        assert!(queue.into_failure().is_none());
    }

    #[test]
    fn the_backoff_grows_and_stops_at_six_hours() {
        assert_eq!(backoff_secs(1), 900);
        assert_eq!(backoff_secs(2), 1800);
        assert_eq!(backoff_secs(3), 3600);
        assert_eq!(backoff_secs(6), 6 * 3600);
        assert_eq!(backoff_secs(60), 6 * 3600);
    }
}
