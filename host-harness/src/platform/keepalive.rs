//! Keep-alive: providers expire refresh tokens that go unused for a while, so connections idle
//! for a day are refreshed.

use super::error::PlatformError;
use super::store::Status;
use super::{Platform, KEEPALIVE_AFTER_SECS};

/// A keep-alive refresh: the connection's name and what happened.
pub type KeepaliveOutcome = (String, Result<(), String>);

impl Platform {
    /// Refreshes every connected connection not refreshed for a day. Returns (name, outcome)
    /// per connection refreshed.
    pub fn keepalive(&self) -> Result<Vec<KeepaliveOutcome>, PlatformError> {
        let mut out = Vec::new();
        for name in self.store.names()? {
            let r = self.store.get(&name)?;
            let idle_since = r.last_refresh_at.unwrap_or(r.updated_at);
            if r.status != Status::Connected || self.now() - idle_since < KEEPALIVE_AFTER_SECS {
                continue;
            }
            let res = self.refresh(&name).map(|_| ()).map_err(|e| e.to_string());
            out.push((name, res));
        }
        Ok(out)
    }
}
