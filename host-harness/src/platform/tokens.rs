//! Fresh access tokens: the stored one while it outlives the refresh margin, otherwise a
//! refresh, one at a time per connection: in this process a mutex per connection, across
//! processes on one store a lease in the connection's row. The holder re-reads the connection
//! and skips the refresh when another process already made it; no database connection is held
//! across the token request; the lease outlives the request's timeout and is renewed before each
//! retry; a crashed holder's lease expires and is taken over. The new token set is written only
//! while the lease is held and the stored generation is the one read (a fence), before the new
//! access token is handed out. A failure is handled as its classification says.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use connector_interface::io::{ClientCredentialsInput, RefreshTokenInput};
use connector_interface::{Action, ConnectorError, Secret, TokenSet};

use super::error::PlatformError;
use super::retry::wait_after;
use super::store::{Keepalive, Record, Status};
use super::{Platform, KEEPALIVE_AFTER_SECS, REFRESH_MARGIN_SECS};

/// How often a process waiting for another's refresh looks at the store.
const LEASE_POLL: std::time::Duration = std::time::Duration::from_millis(50);

impl Platform {
    pub(super) fn is_app_only(r: &Record) -> bool {
        r.settings.get("grant").and_then(|g| g.as_str()) == Some("client_credentials")
    }

    /// Writes a token set into the record: a new refresh token replaces the old one.
    pub(super) fn apply_tokens(&self, r: &mut Record, t: TokenSet, initial: bool) {
        let now = self.now();
        r.secrets.access_token = Some(t.access_token.into_exposed());
        if let Some(rt) = t.refresh_token {
            r.secrets.refresh_token = Some(rt.into_exposed());
        }
        r.expires_at = Some(t.expires_at);
        if let Some(id) = t.identity {
            r.identity = Some(id);
        }
        r.status = Status::Connected;
        r.remedy = None;
        r.last_error = None;
        // The token set was asked for with the claims a challenge named: they are met.
        r.secrets.claims = None;
        r.generation += 1;
        r.updated_at = now;
        r.keepalive = Keepalive { next_at: Some(now + KEEPALIVE_AFTER_SECS), ..Keepalive::default() };
        if !initial {
            r.last_refresh_at = Some(now);
        } else {
            r.last_refresh_at.get_or_insert(now);
        }
    }

    /// Connections with a caller in or waiting for their in-process refresh mutex now.
    pub fn refreshing(&self) -> usize {
        self.locks.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Runs `f` while holding the connection's in-process refresh mutex. The mutex is made on
    /// first use and dropped when its last user is done, so the map holds only connections
    /// being refreshed (not every connection keep-alive ever touched).
    fn serially<T>(&self, name: &str, f: impl FnOnce() -> T) -> T {
        let lock = self.locks.lock().unwrap_or_else(|e| e.into_inner()).entry(name.to_string()).or_default().clone();
        let out = {
            let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
            f()
        };
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        // The map's reference and this one: nobody else waits for it.
        if Arc::strong_count(&lock) == 2 {
            locks.remove(name);
        }
        out
    }

    pub(super) fn usable(r: &Record) -> Result<(), PlatformError> {
        let status = match r.status {
            Status::Connected => return Ok(()),
            Status::PendingAuthorization => "is waiting for sign-in",
            Status::NeedsReauthorization => "needs someone to sign in again",
            Status::NeedsAttention => "needs attention",
        };
        Err(PlatformError::Unusable { name: r.name.clone(), status, remedy: r.remedy.clone().unwrap_or_default() })
    }

    /// A fresh access token: refreshed when it expires within the margin, one refresh at a
    /// time per connection (the others wait and use its result).
    pub fn access_token(&self, name: &str) -> Result<String, PlatformError> {
        self.access_token_until(name).map(|(token, _)| token)
    }

    /// [`Platform::access_token`] and when it expires (Unix seconds), from one read of the store.
    pub fn access_token_until(&self, name: &str) -> Result<(String, Option<i64>), PlatformError> {
        let r = self.store.get(name)?;
        Self::usable(&r)?;
        if let Some(at) = self.fresh(&r) {
            return Ok((at, r.expires_at));
        }
        self.serially(name, || {
            // Another caller may have refreshed while this one waited.
            let r = self.store.get(name)?;
            Self::usable(&r)?;
            if let Some(at) = self.fresh(&r) {
                return Ok((at, r.expires_at));
            }
            let r = self.refresh_leased(name, false, |r| self.fresh(r).is_some())?;
            Self::usable(&r)?;
            Ok((r.secrets.access_token.clone().unwrap_or_default(), r.expires_at))
        })
    }

    /// The stored access token if it outlives the refresh margin.
    fn fresh(&self, r: &Record) -> Option<String> {
        let exp = r.expires_at?;
        r.secrets.access_token.clone().filter(|_| exp - REFRESH_MARGIN_SECS > self.now())
    }

    /// Refreshes now (the `connections refresh` command and keep-alive).
    pub fn refresh(&self, name: &str) -> Result<Record, PlatformError> {
        self.serially(name, || {
            let r = self.store.get(name)?;
            if r.status == Status::PendingAuthorization && r.secrets.refresh_token.is_none() && !Self::is_app_only(&r) {
                return Err(PlatformError::Unusable {
                    name: name.into(),
                    status: "is waiting for sign-in",
                    remedy: "Click Save and authorize to sign in.".into(),
                });
            }
            // Done when another caller or process refreshed after this read.
            let seen = r.generation;
            self.refresh_leased(name, false, |r| r.generation != seen)
        })
    }

    /// The keep-alive refresh of a connection it claimed: skipped when the connection was
    /// refreshed after it was due.
    pub(super) fn refresh_due(&self, name: &str) -> Result<Record, PlatformError> {
        self.serially(name, || {
            let now = self.now();
            // The claim leased it to this process already: no second write to take the lease.
            self.refresh_leased(name, true, |r| r.keepalive.next_at.is_some_and(|t| t > now))
        })
    }

    /// Refreshes under the connection's lease (taken here unless `held`) unless `done` says the
    /// stored connection no longer needs it (another process refreshed); the connection as
    /// stored afterwards.
    fn refresh_leased(&self, name: &str, held: bool, done: impl Fn(&Record) -> bool) -> Result<Record, PlatformError> {
        if !held {
            loop {
                let now = self.now();
                if self.store.take_lease(name, &self.owner, now, now + self.lease_secs)? {
                    break;
                }
                // Another process holds the lease: wait for its token set (or for its lease to end).
                std::thread::sleep(LEASE_POLL);
                let r = self.store.get(name)?;
                if done(&r) {
                    return Ok(r);
                }
            }
        }
        // Holding the lease: another process may have refreshed just before it was taken.
        let r = self.store.get(name)?;
        if done(&r) {
            self.store.release_lease(name, &self.owner)?;
            return Ok(r);
        }
        let result = self.refresh_holding(r);
        if result.is_err() {
            // A failed refresh gives the lease back at once (a written one gave it back already).
            let _ = self.store.release_lease(name, &self.owner);
        }
        result
    }

    /// One token request for the connection: client credentials for an app-only one, else its
    /// refresh token.
    fn request_tokens(&self, r: &Record) -> Result<Result<TokenSet, ConnectorError>, PlatformError> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        let (settings, keys) = self.for_connector(r)?;
        let now = self.now();
        let assertion_id = Some(super::credentials::assertion_id());
        let claims = r.secrets.claims.clone();
        let connector = self.host.v1_with(&keys);
        Ok(if Self::is_app_only(r) {
            let client_request_id = Some(super::credentials::request_id(&r.name, "client_credentials"));
            connector.client_credentials(&ClientCredentialsInput {
                settings,
                now,
                assertion_id,
                client_request_id,
                claims,
            })?
        } else {
            let refresh_token = r.secrets.refresh_token.clone().map(Secret::new);
            let client_request_id = Some(super::credentials::request_id(&r.name, "refresh_token"));
            connector.refresh_token(&RefreshTokenInput {
                settings,
                refresh_token,
                now,
                assertion_id,
                client_request_id,
                claims,
            })?
        })
    }

    fn refresh_holding(&self, mut r: Record) -> Result<Record, PlatformError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            // The lease outlives this attempt's token request (taken just before the first,
            // renewed before each retry).
            let now = self.now();
            if attempt > 1 && !self.store.take_lease(&r.name, &self.owner, now, now + self.lease_secs)? {
                return Err(PlatformError::Changed(r.name.clone()));
            }
            match self.request_tokens(&r)? {
                Ok(t) => {
                    // The rotated refresh token is stored durably before the new access token is
                    // used, and only over the token set this refresh started from.
                    let read = r.generation;
                    self.apply_tokens(&mut r, t, false);
                    if !self.store.update_leased(&r, &self.owner, read)? {
                        tracing::warn!(connection = %r.name, "refresh lease lost before the token set was written");
                        return Err(PlatformError::Changed(r.name.clone()));
                    }
                    tracing::info!(connection = %r.name, generation = r.generation, "token refreshed");
                    return Ok(r);
                }
                Err(e) => match wait_after(attempt, &e) {
                    Some(wait) => {
                        tracing::info!(connection = %r.name, attempt, wait_ms = wait.as_millis() as u64, code = %e.code(), "refresh failed; retrying");
                        std::thread::sleep(wait);
                    }
                    None => {
                        self.mark_failure(&r.name, &e)?;
                        return Err(e.into());
                    }
                },
            }
        }
    }

    /// Records a classified failure: `reauthorize` marks the connection as needing sign-in
    /// (tokens kept until replaced); configuration and admin problems mark it with the remedy;
    /// transient ones leave it connected.
    pub fn mark_failure(&self, name: &str, e: &ConnectorError) -> Result<(), PlatformError> {
        self.change(name, |r| Self::record_failure(r, e))
    }

    /// Changes a stored connection: read, `edit`, write fenced by the generation read; read
    /// again when another writer came first.
    pub(super) fn change(&self, name: &str, edit: impl Fn(&mut Record)) -> Result<(), PlatformError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let mut r = self.store.get(name)?;
            let read = r.generation;
            edit(&mut r);
            r.updated_at = self.now();
            match self.store.update(&r, read) {
                Err(PlatformError::Changed(_)) if tries < 5 => continue,
                other => return other,
            }
        }
    }

    fn record_failure(r: &mut Record, e: &ConnectorError) {
        let status = match e.action() {
            Some(Action::Reauthorize) => Status::NeedsReauthorization,
            Some(Action::FixConfiguration | Action::GrantAdminConsent | Action::AssignRole | Action::ContactAdmin) => {
                Status::NeedsAttention
            }
            _ => r.status,
        };
        r.status = status;
        if status != Status::Connected {
            r.remedy = Some(e.remediation().unwrap_or(e.message()).to_string());
        }
        r.last_error = Some(e.clone());
    }
}
