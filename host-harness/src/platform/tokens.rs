//! Fresh access tokens: the stored one while it outlives the refresh margin, otherwise a
//! refresh, one at a time per connection (the others wait and use its result). The rotated
//! refresh token is stored durably before the new access token is handed out; a failure is
//! handled as its classification says.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use connector_interface::io::{ClientCredentialsInput, RefreshTokenInput};
use connector_interface::{Action, ConnectorError, Secret, TokenSet};

use super::error::PlatformError;
use super::retry::wait_after;
use super::store::{Record, Status};
use super::{Platform, REFRESH_MARGIN_SECS};

impl Platform {
    fn is_app_only(r: &Record) -> bool {
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
        r.generation += 1;
        r.updated_at = now;
        if !initial {
            r.last_refresh_at = Some(now);
        } else {
            r.last_refresh_at.get_or_insert(now);
        }
    }

    fn lock_for(&self, name: &str) -> Arc<Mutex<()>> {
        self.locks.lock().unwrap_or_else(|e| e.into_inner()).entry(name.to_string()).or_default().clone()
    }

    fn usable(r: &Record) -> Result<(), PlatformError> {
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
        let lock = self.lock_for(name);
        let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        // Another caller may have refreshed while this one waited.
        let r = self.store.get(name)?;
        Self::usable(&r)?;
        match self.fresh(&r) {
            Some(at) => Ok((at, r.expires_at)),
            None => self.refresh_locked(r),
        }
    }

    /// The stored access token if it outlives the refresh margin.
    fn fresh(&self, r: &Record) -> Option<String> {
        let exp = r.expires_at?;
        r.secrets.access_token.clone().filter(|_| exp - REFRESH_MARGIN_SECS > self.now())
    }

    /// Refreshes now (the `connections refresh` command and keep-alive).
    pub fn refresh(&self, name: &str) -> Result<Record, PlatformError> {
        let lock = self.lock_for(name);
        let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        let r = self.store.get(name)?;
        if r.status == Status::PendingAuthorization && r.secrets.refresh_token.is_none() && !Self::is_app_only(&r) {
            return Err(PlatformError::Unusable {
                name: name.into(),
                status: "is waiting for sign-in",
                remedy: "Click Save and authorize to sign in.".into(),
            });
        }
        self.refresh_locked(r)?;
        self.store.get(name)
    }

    /// One token request for the connection: client credentials for an app-only one, else its
    /// refresh token.
    fn request_tokens(&self, r: &Record) -> Result<Result<TokenSet, ConnectorError>, PlatformError> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        let settings = r.full_settings();
        let now = self.now();
        Ok(if Self::is_app_only(r) {
            self.host.v1().client_credentials(&ClientCredentialsInput { settings, now })?
        } else {
            let refresh_token = r.secrets.refresh_token.clone().map(Secret::new);
            self.host.v1().refresh_token(&RefreshTokenInput { settings, refresh_token, now })?
        })
    }

    fn refresh_locked(&self, mut r: Record) -> Result<(String, Option<i64>), PlatformError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.request_tokens(&r)? {
                Ok(t) => {
                    // The rotated refresh token is stored durably before the new access token is used.
                    self.apply_tokens(&mut r, t, false);
                    self.store.update(&r)?;
                    tracing::info!(connection = %r.name, generation = r.generation, "token refreshed");
                    return Ok((r.secrets.access_token.clone().unwrap_or_default(), r.expires_at));
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
        let mut r = self.store.get(name)?;
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
        r.updated_at = self.now();
        self.store.update(&r)
    }
}
