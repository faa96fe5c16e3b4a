//! The integration platform around a connector, by concern:
//! - `authorization`: connections created from the panel, "Save and authorize" (state, PKCE
//!   verifier and nonce from a CSPRNG), the callback, the code exchange and the connection test;
//! - `tokens`: fresh access tokens, refreshed ahead of expiry one refresh at a time per
//!   connection (the rotated refresh token stored before the new access token is handed out),
//!   failures handled as their classification says;
//! - `api`: the platform's own requests with a connection's token, through the host's outbound
//!   path;
//! - `keepalive`: refreshes that keep idle refresh tokens alive;
//! - `api_keys`, `panel_access`: who may use the platform's HTTP API and its web panel;
//! - `retry`: the one backoff shared by refresh and api;
//! - `store` (the [`Store`] trait), `sqlite` (its embedded backend), `postgres` (its shared
//!   backend for several processes), `rows` (the row both write), `crypto` (sealing at rest).
//!
//! Generic: it knows the connector only through interface v1.

mod api;
mod api_keys;
mod authorization;
pub mod callback;
mod claims;
pub mod clock;
pub mod credentials;
pub mod crypto;
pub mod device;
pub mod error;
mod keepalive;
mod panel_access;
pub mod postgres;
mod postgres_pool;
pub mod retry;
mod rows;
pub mod sqlite;
pub mod store;
mod tokens;
mod verified_keys;
mod writer;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use connector_interface::DescribeInput;

use crate::host::ConnectorHost;
use crate::outbound::Outbound;

pub use authorization::{AuthorizationStart, Connected};
pub use clock::{random_token, sign_in_secrets, system_clock, unix_now, Clock};
pub use error::{KeyError, PlatformError, StateError, StoreError};
pub use keepalive::{KeepaliveCounts, KeepaliveOptions, KeepaliveOutcome};
pub use panel_access::{PanelSession, LINK_TTL_SECS, SESSION_TTL_SECS};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use store::{ApiKey, PanelGrant, PanelGrantKind, Pending, PendingSecrets, Purpose, Record, Secrets, Status, Store};
pub use verified_keys::VERIFIED_FOR as API_KEY_VERIFIED_FOR;

/// A pending authorization lives this long, and is used once.
pub const PENDING_TTL_SECS: i64 = 600;
/// Access tokens are refreshed this long before they expire.
pub const REFRESH_MARGIN_SECS: i64 = 300;
/// Connections idle longer than this get a keep-alive refresh.
pub const KEEPALIVE_AFTER_SECS: i64 = 86_400;
/// A refresh lease lasts this long by default: longer than a token request may take (the
/// manifest's call timeout, 30 s in the connectors this host ships), renewed before each retry.
pub const LEASE_SECS: i64 = 45;

/// The store at `location`: a `postgres://` (or `postgresql://`) URL names a PostgreSQL
/// database shared by several processes, whose sealing key comes from `CONNECTOR_HOST_KEY` or
/// `key_file`; anything else is the path of an embedded SQLite store (its key file beside it).
pub fn open_store(location: &std::path::Path, key_file: &std::path::Path) -> Result<Arc<dyn Store>, PlatformError> {
    match location.to_str() {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Arc::new(PostgresStore::open(url, key_file)?))
        }
        _ => Ok(Arc::new(SqliteStore::open(location)?)),
    }
}

/// The platform.
pub struct Platform {
    pub host: Arc<ConnectorHost>,
    pub store: Arc<dyn Store>,
    pub redirect_uri: String,
    clock: Clock,
    /// One refresh at a time per connection.
    locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// Settings the connector marks as secret: sealed, never shown again.
    secret_keys: Vec<String>,
    /// Settings that hold private keys: sealed, and never handed to the connector.
    private_keys: Vec<credentials::PrivateKeySetting>,
    /// Counts refresh requests sent (for tests and reports).
    pub refreshes: AtomicU64,
    /// The platform's own requests with a connection's token (`api`), held to the connector's
    /// allowed hosts like the connector's own.
    outbound: Outbound,
    /// This process's name on refresh leases (unique per process).
    owner: String,
    /// How long a refresh lease lasts.
    lease_secs: i64,
    /// API keys verified in the last second.
    verified_keys: verified_keys::VerifiedKeys,
}

impl Platform {
    pub fn new(
        host: Arc<ConnectorHost>,
        store: impl Store + 'static,
        redirect_uri: &str,
        clock: Clock,
    ) -> Result<Platform, PlatformError> {
        Self::on(host, Arc::new(store), redirect_uri, clock)
    }

    /// A platform on a store chosen at run time ([`open_store`]).
    pub fn on(
        host: Arc<ConnectorHost>,
        store: Arc<dyn Store>,
        redirect_uri: &str,
        clock: Clock,
    ) -> Result<Platform, PlatformError> {
        let d = host.v1().describe(&DescribeInput::default())??;
        let secret_keys = d.secret_keys().map(str::to_string).collect();
        let private_keys = d
            .private_keys()
            .map(|s| credentials::PrivateKeySetting {
                key: s.key.to_string(),
                certificate: s.certificate.as_deref().map(str::to_string),
            })
            .collect();
        let outbound = host.outbound().clone();
        Ok(Platform {
            host,
            store,
            redirect_uri: redirect_uri.to_string(),
            clock,
            locks: Mutex::new(HashMap::new()),
            secret_keys,
            private_keys,
            refreshes: Default::default(),
            outbound,
            owner: format!("{}-{}", std::process::id(), random_token(9)),
            lease_secs: LEASE_SECS,
            verified_keys: Default::default(),
        })
    }

    /// Leases last `secs` (at least the connector's call timeout: a lease that ends during a
    /// token request lets another process refresh with the same refresh token).
    pub fn with_lease_secs(mut self, secs: i64) -> Platform {
        self.lease_secs = secs.max(1);
        self
    }

    /// This process's name on the leases it holds.
    pub fn lease_owner(&self) -> &str {
        &self.owner
    }

    pub fn now(&self) -> i64 {
        (self.clock)()
    }
}
