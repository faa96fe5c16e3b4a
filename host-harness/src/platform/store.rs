//! What the platform keeps of a connection, and the [`Store`] that keeps it. A backend seals
//! the secret part ([`Secrets`], the pending sign-ins' verifiers) and writes each change whole:
//! after a crash a connection is in its previous state or its new one, never between.

use connector_interface::io::Settings;
use connector_interface::{ConnectorError, Identity, Secret};
use serde::{Deserialize, Serialize};

use super::error::{PlatformError, StoreError};

/// Where a connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Created; nobody has signed in yet.
    PendingAuthorization,
    Connected,
    /// Someone must sign in again (tokens kept until replaced).
    NeedsReauthorization,
    /// An administrator or the configuration must change something (the remedy says what).
    NeedsAttention,
}

impl Status {
    pub const ALL: [Status; 4] =
        [Status::PendingAuthorization, Status::Connected, Status::NeedsReauthorization, Status::NeedsAttention];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::PendingAuthorization => "pending_authorization",
            Status::Connected => "connected",
            Status::NeedsReauthorization => "needs_reauthorization",
            Status::NeedsAttention => "needs_attention",
        }
    }

    /// The stored word of a status; an unknown word is a store error, never a guess.
    pub fn parse(owner: &str, s: &str) -> Result<Status, StoreError> {
        Status::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| StoreError::UnknownStatus {
            owner: owner.chars().take(64).collect(),
            status: s.chars().take(32).collect(),
        })
    }
}

/// The secret part of a connection, sealed in the store.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Secrets {
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Settings the connector marks as secret (a client secret).
    #[serde(default)]
    pub settings: Settings,
    /// The claims a provider's claims challenge asked for (decoded JSON), carried into the next
    /// token request and sign-in until a token set is issued with them. Kept here, not in a
    /// column, so that it changes in the same sealed write as the tokens it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets([redacted])")
    }
}

/// A connection as stored.
#[derive(Debug, Clone)]
pub struct Record {
    pub name: String,
    /// Settings without the secret ones.
    pub settings: Settings,
    pub status: Status,
    pub remedy: Option<String>,
    /// The last failure as the connector classified it.
    pub last_error: Option<ConnectorError>,
    pub identity: Option<Identity>,
    pub expires_at: Option<i64>,
    pub secrets: Secrets,
    /// Bumped on every token change (how many token sets this connection has had).
    pub generation: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_refresh_at: Option<i64>,
    /// When keep-alive next refreshes the connection, and its failures so far.
    pub keepalive: Keepalive,
}

/// A connection's place in the keep-alive queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keepalive {
    /// When the connection is next due (Unix seconds); None: never (not connected).
    #[serde(skip)]
    pub next_at: Option<i64>,
    /// Failed keep-alive refreshes in a row (the backoff grows with them).
    #[serde(default)]
    pub attempts: u32,
    /// On how many days a keep-alive refresh failed, counted once per day.
    #[serde(default)]
    pub failed_days: u32,
    /// The day (Unix seconds / 86 400) of the last failure counted.
    #[serde(default)]
    pub last_failed_day: Option<i64>,
}

impl Record {
    /// Settings as the connector wants them: public ones plus the sealed secret ones.
    pub fn full_settings(&self) -> Settings {
        let mut s = self.settings.clone();
        for (k, v) in &self.secrets.settings {
            s.insert(k.clone(), v.clone());
        }
        s
    }
}

/// A "Save and authorize" waiting for its redirect: kept under the hash of its state (never the
/// state itself), its verifier and nonce sealed, usable once.
#[derive(Debug, Clone)]
pub struct Pending {
    pub state_hash: String,
    pub name: String,
    pub secrets: PendingSecrets,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSecrets {
    /// The PKCE verifier of a sign-in (an admin consent has none).
    #[serde(default)]
    pub code_verifier: Option<Secret>,
    pub nonce: Option<String>,
    #[serde(default)]
    pub purpose: Purpose,
}

/// What a redirect back answers: a person's sign-in (a code to exchange) or an administrator's
/// consent for the tenant (`admin_consent=True` and the tenant, no code).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    #[default]
    SignIn,
    AdminConsent,
}

/// An API key of the platform: its public id and name, and the SHA-256 of its secret part
/// (the key itself is shown once and never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub hash: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// What a panel grant is: a one-time sign-in link, or the session it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelGrantKind {
    Link,
    Session,
}

impl PanelGrantKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PanelGrantKind::Link => "link",
            PanelGrantKind::Session => "session",
        }
    }
}

/// A panel sign-in link or session, kept under the SHA-256 of its token (never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelGrant {
    pub hash: String,
    pub kind: PanelGrantKind,
    pub created_at: i64,
    pub last_used: i64,
}

/// The durable store of connections. Every method is one transaction; `insert` refuses a name
/// in use ([`PlatformError::NameTaken`]), `update`, `get` and `delete` an unknown one
/// ([`PlatformError::NotFound`]).
///
/// Several processes may share a store. A refresh is guarded by a lease on the connection (an
/// owner and an expiry in its row, taken with one conditional write, never a lock held across
/// the token request), and every write is fenced by the generation it read: a writer that read
/// an older token set can never put it over a newer one.
pub trait Store: Send + Sync + std::fmt::Debug {
    fn insert(&self, r: &Record) -> Result<(), PlatformError>;
    /// Writes every field of an existing connection whose stored generation is still
    /// `expected_generation` ([`PlatformError::Changed`] when another writer came first).
    fn update(&self, r: &Record, expected_generation: i64) -> Result<(), PlatformError>;
    /// Writes a refreshed token set and gives the lease back, only while `owner` holds the lease
    /// and the stored generation is `expected_generation`; false when it did not write.
    fn update_leased(&self, r: &Record, owner: &str, expected_generation: i64) -> Result<bool, PlatformError>;
    /// Takes (or extends) the connection's refresh lease for `owner` until `until`: when no one
    /// holds it, `owner` does, or the holder's lease ended before `now`. True when taken.
    fn take_lease(&self, name: &str, owner: &str, now: i64, until: i64) -> Result<bool, PlatformError>;
    /// Gives `owner`'s lease back.
    fn release_lease(&self, name: &str, owner: &str) -> Result<(), PlatformError>;
    /// Keep-alive's queue: up to `limit` connected connections due at `now` whose lease is free,
    /// leased to `owner` until `until` as they are claimed (another process skips them).
    fn claim_due(&self, now: i64, limit: usize, owner: &str, until: i64) -> Result<Vec<String>, PlatformError>;
    fn get(&self, name: &str) -> Result<Record, PlatformError>;
    /// Every connection's name, in order.
    fn names(&self) -> Result<Vec<String>, PlatformError>;
    /// Deletes a connection and its pending authorizations, together.
    fn delete(&self, name: &str) -> Result<(), PlatformError>;
    fn put_pending(&self, pending: &Pending) -> Result<(), PlatformError>;
    /// Removes and returns the pending authorization whose state hashes to `state_hash`
    /// (compared in constant time).
    fn take_pending(&self, state_hash: &str) -> Result<Option<Pending>, PlatformError>;
    /// Drops pending authorizations created before `cutoff`; how many.
    fn expire_pending(&self, cutoff: i64) -> Result<usize, PlatformError>;
    /// Transactions committed so far (for reports; fewer than the changes when they share them).
    fn commits(&self) -> u64;
    fn put_api_key(&self, key: &ApiKey) -> Result<(), PlatformError>;
    fn api_key(&self, id: &str) -> Result<Option<ApiKey>, PlatformError>;
    /// Every key, revoked ones included, oldest first.
    fn api_keys(&self) -> Result<Vec<ApiKey>, PlatformError>;
    /// Marks the key revoked at `at`; false when there is no such key.
    fn revoke_api_key(&self, id: &str, at: i64) -> Result<bool, PlatformError>;
    fn put_panel_grant(&self, grant: &PanelGrant) -> Result<(), PlatformError>;
    /// Removes and returns the grant under `hash` when it is of `kind` (a link is taken once; a
    /// session is taken when its person signs out).
    fn take_panel_grant(&self, hash: &str, kind: PanelGrantKind) -> Result<Option<PanelGrant>, PlatformError>;
    /// The session under `hash`.
    fn panel_session(&self, hash: &str) -> Result<Option<PanelGrant>, PlatformError>;
    /// Moves the session's last use to `at`.
    fn touch_panel_session(&self, hash: &str, at: i64) -> Result<(), PlatformError>;
    /// Drops links made before `link_cutoff` and sessions unused since `session_cutoff`.
    fn expire_panel_grants(&self, link_cutoff: i64, session_cutoff: i64) -> Result<usize, PlatformError>;
}
