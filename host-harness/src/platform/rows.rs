//! A connection as a backend's row: public columns in JSON text, the secret part sealed with
//! the connection's name as associated data. Both backends write and read the same row.

use serde::de::DeserializeOwned;

use super::crypto::Sealer;
use super::error::{PlatformError, StoreError};
use super::store::{Keepalive, Pending, PendingSecrets, Record, Secrets, Status};

/// The columns of a connection, in the order every backend's SQL names them.
pub(super) const COLUMNS: &str = "name, settings, status, remedy, last_error, identity, expires_at, secrets, generation, created_at, updated_at, last_refresh_at, next_keepalive_at, keepalive";

/// A connection's row, secrets sealed.
pub(super) struct Row {
    pub name: String,
    pub settings: String,
    pub status: String,
    pub remedy: Option<String>,
    pub last_error: Option<String>,
    pub identity: Option<String>,
    pub expires_at: Option<i64>,
    pub secrets: Vec<u8>,
    pub generation: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_refresh_at: Option<i64>,
    pub next_keepalive_at: Option<i64>,
    pub keepalive: String,
}

/// A value as JSON text (strings, numbers and maps of JSON values always serialize).
fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A JSON column's value, or a store error naming what and whose.
pub(super) fn column<T: DeserializeOwned>(
    what: &'static str,
    owner: &str,
    text: Option<String>,
) -> Result<Option<T>, StoreError> {
    text.map(|t| serde_json::from_str(&t)).transpose().map_err(|source| StoreError::Corrupt {
        what,
        owner: owner.chars().take(64).collect(),
        source,
    })
}

impl Row {
    /// A record as its row's values, secrets sealed.
    pub fn of(sealer: &Sealer, r: &Record) -> Row {
        Row {
            name: r.name.clone(),
            settings: serde_json::Value::Object(r.settings.clone()).to_string(),
            status: r.status.as_str().to_string(),
            remedy: r.remedy.clone(),
            last_error: r.last_error.as_ref().map(to_json),
            identity: r.identity.as_ref().map(to_json),
            expires_at: r.expires_at,
            secrets: sealer.seal(&r.name, &serde_json::to_vec(&r.secrets).unwrap_or_default()),
            generation: r.generation,
            created_at: r.created_at,
            updated_at: r.updated_at,
            last_refresh_at: r.last_refresh_at,
            next_keepalive_at: r.keepalive.next_at,
            keepalive: to_json(&r.keepalive),
        }
    }

    /// The record of a row, its secrets opened.
    pub fn record(self, sealer: &Sealer) -> Result<Record, PlatformError> {
        let owner = self.name.as_str();
        let secrets: Secrets = serde_json::from_slice(&sealer.open(owner, &self.secrets)?).map_err(|source| {
            StoreError::Corrupt { what: "sealed secrets", owner: owner.chars().take(64).collect(), source }
        })?;
        let mut keepalive: Keepalive = column("keep-alive", owner, Some(self.keepalive))?.unwrap_or_default();
        keepalive.next_at = self.next_keepalive_at;
        Ok(Record {
            settings: column("settings", owner, Some(self.settings))?.unwrap_or_default(),
            status: Status::parse(owner, &self.status)?,
            remedy: self.remedy,
            last_error: column("last error", owner, self.last_error)?,
            identity: column("identity", owner, self.identity)?,
            expires_at: self.expires_at,
            secrets,
            generation: self.generation,
            created_at: self.created_at,
            updated_at: self.updated_at,
            last_refresh_at: self.last_refresh_at,
            keepalive,
            name: self.name,
        })
    }
}

/// A pending sign-in's row, its verifier and nonce opened (sealed under the state's hash).
pub(super) fn open_pending(
    sealer: &Sealer,
    state_hash: String,
    name: String,
    sealed: &[u8],
    created_at: i64,
) -> Result<Pending, PlatformError> {
    let plain = sealer.open(&state_hash, sealed)?;
    let secrets: PendingSecrets = serde_json::from_slice(&plain).map_err(|source| StoreError::Corrupt {
        what: "pending sign-in",
        owner: name.chars().take(64).collect(),
        source,
    })?;
    Ok(Pending { state_hash, name, secrets, created_at })
}
