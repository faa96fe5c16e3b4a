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
//! - `store` (the [`Store`] trait), `sqlite` (its embedded backend), `crypto` (sealing at rest).
//!
//! Generic: it knows the connector only through interface v1.

mod api;
mod api_keys;
mod authorization;
pub mod callback;
pub mod clock;
pub mod crypto;
pub mod error;
mod keepalive;
mod panel_access;
pub mod retry;
pub mod sqlite;
pub mod store;
mod tokens;
mod writer;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use connector_interface::DescribeInput;

use crate::host::ConnectorHost;
use crate::outbound::Outbound;

pub use authorization::{AuthorizationStart, Connected};
pub use clock::{random_token, system_clock, unix_now, Clock};
pub use error::{KeyError, PlatformError, StateError, StoreError};
pub use keepalive::KeepaliveOutcome;
pub use panel_access::{PanelSession, LINK_TTL_SECS, SESSION_TTL_SECS};
pub use sqlite::SqliteStore;
pub use store::{ApiKey, PanelGrant, PanelGrantKind, Pending, PendingSecrets, Purpose, Record, Secrets, Status, Store};

/// A pending authorization lives this long, and is used once.
pub const PENDING_TTL_SECS: i64 = 600;
/// Access tokens are refreshed this long before they expire.
pub const REFRESH_MARGIN_SECS: i64 = 300;
/// Connections idle longer than this get a keep-alive refresh.
pub const KEEPALIVE_AFTER_SECS: i64 = 86_400;

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
    /// Counts refresh requests sent (for tests and reports).
    pub refreshes: AtomicU64,
    /// The platform's own requests with a connection's token (`api`), held to the connector's
    /// allowed hosts like the connector's own.
    outbound: Outbound,
}

impl Platform {
    pub fn new(
        host: Arc<ConnectorHost>,
        store: impl Store + 'static,
        redirect_uri: &str,
        clock: Clock,
    ) -> Result<Platform, PlatformError> {
        let d = host.v1().describe(&DescribeInput::default())??;
        let secret_keys = d.secret_keys().map(str::to_string).collect();
        let outbound = host.outbound().clone();
        Ok(Platform {
            host,
            store: Arc::new(store),
            redirect_uri: redirect_uri.to_string(),
            clock,
            locks: Mutex::new(HashMap::new()),
            secret_keys,
            refreshes: Default::default(),
            outbound,
        })
    }

    pub fn now(&self) -> i64 {
        (self.clock)()
    }
}
