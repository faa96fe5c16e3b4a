//! The shared store: PostgreSQL, for several platform processes (replicas) at once. Same rows
//! and sealing as the embedded store; every method is one statement or one transaction on a
//! pooled connection that goes back to the pool before any network call of the platform (a
//! refresh's lease is a row's columns, not a held lock). A connection that failed is replaced
//! by the pool; while the server is down every method fails with [`StoreError::Unavailable`].
//!
//! The driver is the synchronous `postgres` crate with an r2d2 pool: the platform is
//! synchronous (its store commits and token requests run on blocking threads), so an async
//! driver would only add a runtime hop per statement.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use postgres::types::ToSql;
use postgres::NoTls;
use r2d2_postgres::PostgresConnectionManager;

use super::crypto::Sealer;
use super::error::{PlatformError, StoreError};
use super::postgres_pool::Manager;
use super::rows::{open_pending, Row, COLUMNS};
use super::store::{ApiKey, PanelGrant, PanelGrantKind, Pending, Record, Store};

type Pool = r2d2::Pool<Manager>;

/// How long a method waits for a pooled connection (the server down: then it fails).
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(3);

/// Versioned migrations, applied in order at start, each once, under an advisory lock so that
/// replicas starting together apply each exactly once.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "CREATE TABLE connections (
            name TEXT PRIMARY KEY,
            settings TEXT NOT NULL,
            status TEXT NOT NULL,
            remedy TEXT,
            last_error TEXT,
            identity TEXT,
            expires_at BIGINT,
            secrets BYTEA NOT NULL,
            generation BIGINT NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            last_refresh_at BIGINT
        );
        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            hash TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            revoked_at BIGINT
        );
        CREATE TABLE pending (
            state_hash TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            secrets BYTEA NOT NULL,
            created_at BIGINT NOT NULL
        );
        CREATE TABLE panel_grants (
            hash TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            last_used BIGINT NOT NULL
        );",
    ),
    (
        2,
        "ALTER TABLE connections
            ADD COLUMN lease_owner TEXT,
            ADD COLUMN lease_until BIGINT,
            ADD COLUMN next_keepalive_at BIGINT,
            ADD COLUMN keepalive TEXT NOT NULL DEFAULT '{}';
        UPDATE connections SET next_keepalive_at = COALESCE(last_refresh_at, updated_at) + 86400;
        CREATE INDEX connections_due ON connections (next_keepalive_at) WHERE status = 'connected';",
    ),
];

pub struct PostgresStore {
    pool: Pool,
    sealer: Sealer,
    commits: AtomicU64,
    /// Statements its connections have prepared (each once per connection).
    prepared: Arc<AtomicU64>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never shown.
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

fn db(e: postgres::Error) -> PlatformError {
    StoreError::from(e).into()
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db`), applies the migrations it lacks,
    /// and seals with the key from `CONNECTOR_HOST_KEY` or `key_file`.
    pub fn open(url: &str, key_file: &Path) -> Result<PostgresStore, PlatformError> {
        let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| StoreError::Url(e.to_string()))?;
        config.connect_timeout(Duration::from_secs(5));
        config.application_name("connector-host");
        let sealer = Sealer::load(key_file)?;
        let prepared = Arc::new(AtomicU64::new(0));
        let pool = r2d2::Pool::builder()
            .max_size(32)
            .min_idle(Some(1))
            .connection_timeout(CHECKOUT_TIMEOUT)
            .test_on_check_out(false)
            .error_handler(Box::new(r2d2::LoggingErrorHandler))
            .build(Manager::new(PostgresConnectionManager::new(config, NoTls), prepared.clone()))
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let store = PostgresStore { pool, sealer, commits: AtomicU64::new(0), prepared };
        store.migrate()?;
        Ok(store)
    }

    fn conn(&self) -> Result<r2d2::PooledConnection<Manager>, PlatformError> {
        self.pool.get().map_err(|e| StoreError::Unavailable(e.to_string()).into())
    }

    /// Runs one statement; rows changed. A connection the server closed is dropped by the pool.
    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, PlatformError> {
        let mut c = self.conn()?;
        let statement = c.statement(sql).map_err(db)?;
        let n = c.client.execute(&statement, params).map_err(db)?;
        self.commits.fetch_add(1, Ordering::Relaxed);
        Ok(n)
    }

    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<postgres::Row>, PlatformError> {
        let mut c = self.conn()?;
        let statement = c.statement(sql).map_err(db)?;
        c.client.query(&statement, params).map_err(db)
    }

    fn migrate(&self) -> Result<(), PlatformError> {
        let mut c = self.conn()?;
        let mut tx = c.client.transaction().map_err(db)?;
        tx.batch_execute(
            "SELECT pg_advisory_xact_lock(7402615103);
             CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .map_err(db)?;
        let applied: Vec<i32> =
            tx.query("SELECT version FROM schema_migrations", &[]).map_err(db)?.iter().map(|r| r.get(0)).collect();
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| !applied.contains(v)) {
            tx.batch_execute(sql).map_err(db)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, extract(epoch from now())::bigint)",
                &[version],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)
    }

    /// The schema versions applied, in order.
    /// Statements prepared on this store's connections so far: each connection prepares each
    /// statement it runs once, so this stays at most the pool's size times the store's
    /// statements however many calls are made.
    pub fn statements_prepared(&self) -> u64 {
        self.prepared.load(Ordering::Relaxed)
    }

    /// Connections this store's pool holds open now.
    pub fn connections_open(&self) -> u32 {
        self.pool.state().connections
    }

    pub fn schema_versions(&self) -> Result<Vec<i32>, PlatformError> {
        Ok(self
            .query("SELECT version FROM schema_migrations ORDER BY version", &[])?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn row_of(r: &postgres::Row) -> Row {
        Row {
            name: r.get(0),
            settings: r.get(1),
            status: r.get(2),
            remedy: r.get(3),
            last_error: r.get(4),
            identity: r.get(5),
            expires_at: r.get(6),
            secrets: r.get(7),
            generation: r.get(8),
            created_at: r.get(9),
            updated_at: r.get(10),
            last_refresh_at: r.get(11),
            next_keepalive_at: r.get(12),
            keepalive: r.get(13),
        }
    }

    fn api_key_of(r: &postgres::Row) -> ApiKey {
        ApiKey { id: r.get(0), name: r.get(1), hash: r.get(2), created_at: r.get(3), revoked_at: r.get(4) }
    }

    /// Whether a connection named `name` exists (to tell "not found" from "changed meanwhile").
    fn exists(&self, name: &str) -> Result<bool, PlatformError> {
        Ok(!self.query("SELECT 1 FROM connections WHERE name=$1", &[&name])?.is_empty())
    }
}

impl Store for PostgresStore {
    fn insert(&self, r: &Record) -> Result<(), PlatformError> {
        let w = Row::of(&self.sealer, r);
        let n = self.execute(
            &format!(
                "INSERT INTO connections ({COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) ON CONFLICT (name) DO NOTHING"
            ),
            &[&w.name, &w.settings, &w.status, &w.remedy, &w.last_error, &w.identity, &w.expires_at, &w.secrets, &w.generation, &w.created_at, &w.updated_at, &w.last_refresh_at, &w.next_keepalive_at, &w.keepalive],
        )?;
        if n == 0 {
            return Err(PlatformError::NameTaken(r.name.clone()));
        }
        Ok(())
    }

    fn update(&self, r: &Record, expected_generation: i64) -> Result<(), PlatformError> {
        let w = Row::of(&self.sealer, r);
        let n = self.execute(
            "UPDATE connections SET settings=$2, status=$3, remedy=$4, last_error=$5, identity=$6, expires_at=$7, secrets=$8, generation=$9, updated_at=$10, last_refresh_at=$11, next_keepalive_at=$12, keepalive=$13
             WHERE name=$1 AND generation=$14",
            &[&w.name, &w.settings, &w.status, &w.remedy, &w.last_error, &w.identity, &w.expires_at, &w.secrets, &w.generation, &w.updated_at, &w.last_refresh_at, &w.next_keepalive_at, &w.keepalive, &expected_generation],
        )?;
        // Only a write that did not happen asks why (a second query on the error path alone).
        match n {
            0 if self.exists(&r.name)? => Err(PlatformError::Changed(r.name.clone())),
            0 => Err(PlatformError::NotFound(r.name.clone())),
            _ => Ok(()),
        }
    }

    fn update_leased(&self, r: &Record, owner: &str, expected_generation: i64) -> Result<bool, PlatformError> {
        let w = Row::of(&self.sealer, r);
        let n = self.execute(
            "UPDATE connections SET settings=$2, status=$3, remedy=$4, last_error=$5, identity=$6, expires_at=$7, secrets=$8, generation=$9, updated_at=$10, last_refresh_at=$11, next_keepalive_at=$12, keepalive=$13, lease_owner=NULL, lease_until=NULL
             WHERE name=$1 AND generation=$14 AND lease_owner=$15",
            &[&w.name, &w.settings, &w.status, &w.remedy, &w.last_error, &w.identity, &w.expires_at, &w.secrets, &w.generation, &w.updated_at, &w.last_refresh_at, &w.next_keepalive_at, &w.keepalive, &expected_generation, &owner],
        )?;
        Ok(n == 1)
    }

    fn take_lease(&self, name: &str, owner: &str, now: i64, until: i64) -> Result<bool, PlatformError> {
        let n = self.execute(
            "UPDATE connections SET lease_owner=$2, lease_until=$4
             WHERE name=$1 AND (lease_owner IS NULL OR lease_owner=$2 OR lease_until < $3)",
            &[&name, &owner, &now, &until],
        )?;
        Ok(n == 1)
    }

    fn release_lease(&self, name: &str, owner: &str) -> Result<(), PlatformError> {
        self.execute(
            "UPDATE connections SET lease_owner=NULL, lease_until=NULL WHERE name=$1 AND lease_owner=$2",
            &[&name, &owner],
        )
        .map(drop)
    }

    fn claim_due(&self, now: i64, limit: usize, owner: &str, until: i64) -> Result<Vec<String>, PlatformError> {
        let limit = limit as i64;
        Ok(self
            .query(
                "UPDATE connections SET lease_owner=$3, lease_until=$4 WHERE name IN (
                    SELECT name FROM connections
                    WHERE status='connected' AND next_keepalive_at <= $1 AND (lease_owner IS NULL OR lease_until < $1)
                    ORDER BY next_keepalive_at LIMIT $2 FOR UPDATE SKIP LOCKED)
                 RETURNING name",
                &[&now, &limit, &owner, &until],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn get(&self, name: &str) -> Result<Record, PlatformError> {
        let rows = self.query(&format!("SELECT {COLUMNS} FROM connections WHERE name=$1"), &[&name])?;
        let row = rows.first().ok_or_else(|| PlatformError::NotFound(name.to_string()))?;
        Self::row_of(row).record(&self.sealer)
    }

    fn names(&self) -> Result<Vec<String>, PlatformError> {
        Ok(self.query("SELECT name FROM connections ORDER BY name", &[])?.iter().map(|r| r.get(0)).collect())
    }

    fn delete(&self, name: &str) -> Result<(), PlatformError> {
        let mut c = self.conn()?;
        let mut tx = c.client.transaction().map_err(db)?;
        let n = tx.execute("DELETE FROM connections WHERE name=$1", &[&name]).map_err(db)?;
        tx.execute("DELETE FROM pending WHERE name=$1", &[&name]).map_err(db)?;
        tx.commit().map_err(db)?;
        self.commits.fetch_add(1, Ordering::Relaxed);
        if n == 0 {
            return Err(PlatformError::NotFound(name.to_string()));
        }
        Ok(())
    }

    fn put_pending(&self, p: &Pending) -> Result<(), PlatformError> {
        let sealed = self.sealer.seal(&p.state_hash, &serde_json::to_vec(&p.secrets).unwrap_or_default());
        self.execute(
            "INSERT INTO pending (state_hash, name, secrets, created_at) VALUES ($1, $2, $3, $4)",
            &[&p.state_hash, &p.name, &sealed, &p.created_at],
        )
        .map(drop)
    }

    /// Found and removed in one statement by the hash's primary key: the hash of a 256-bit
    /// random state, so the lookup's timing tells nothing usable about any other state.
    fn take_pending(&self, state_hash: &str) -> Result<Option<Pending>, PlatformError> {
        let rows = self.query(
            "DELETE FROM pending WHERE state_hash=$1 RETURNING state_hash, name, secrets, created_at",
            &[&state_hash],
        )?;
        let Some(r) = rows.first() else { return Ok(None) };
        let (hash, name, sealed, at): (String, String, Vec<u8>, i64) = (r.get(0), r.get(1), r.get(2), r.get(3));
        open_pending(&self.sealer, hash, name, &sealed, at).map(Some)
    }

    fn expire_pending(&self, cutoff: i64) -> Result<usize, PlatformError> {
        Ok(self.execute("DELETE FROM pending WHERE created_at < $1", &[&cutoff])? as usize)
    }

    fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    fn put_api_key(&self, k: &ApiKey) -> Result<(), PlatformError> {
        self.execute(
            "INSERT INTO api_keys (id, name, hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5)",
            &[&k.id, &k.name, &k.hash, &k.created_at, &k.revoked_at],
        )
        .map(drop)
    }

    fn api_key(&self, id: &str) -> Result<Option<ApiKey>, PlatformError> {
        let rows = self.query("SELECT id, name, hash, created_at, revoked_at FROM api_keys WHERE id=$1", &[&id])?;
        Ok(rows.first().map(Self::api_key_of))
    }

    fn api_keys(&self) -> Result<Vec<ApiKey>, PlatformError> {
        let rows =
            self.query("SELECT id, name, hash, created_at, revoked_at FROM api_keys ORDER BY created_at, id", &[])?;
        Ok(rows.iter().map(Self::api_key_of).collect())
    }

    fn revoke_api_key(&self, id: &str, at: i64) -> Result<bool, PlatformError> {
        Ok(self.execute("UPDATE api_keys SET revoked_at=$2 WHERE id=$1 AND revoked_at IS NULL", &[&id, &at])? == 1)
    }

    fn put_panel_grant(&self, g: &PanelGrant) -> Result<(), PlatformError> {
        self.execute(
            "INSERT INTO panel_grants (hash, kind, created_at, last_used) VALUES ($1, $2, $3, $4)",
            &[&g.hash, &g.kind.as_str(), &g.created_at, &g.last_used],
        )
        .map(drop)
    }

    fn take_panel_grant(&self, hash: &str, kind: PanelGrantKind) -> Result<Option<PanelGrant>, PlatformError> {
        let rows = self.query(
            "DELETE FROM panel_grants WHERE hash=$1 AND kind=$2 RETURNING hash, created_at, last_used",
            &[&hash, &kind.as_str()],
        )?;
        Ok(rows.first().map(|r| PanelGrant { hash: r.get(0), kind, created_at: r.get(1), last_used: r.get(2) }))
    }

    fn panel_session(&self, hash: &str) -> Result<Option<PanelGrant>, PlatformError> {
        let rows = self
            .query("SELECT hash, created_at, last_used FROM panel_grants WHERE hash=$1 AND kind='session'", &[&hash])?;
        Ok(rows.first().map(|r| PanelGrant {
            hash: r.get(0),
            kind: PanelGrantKind::Session,
            created_at: r.get(1),
            last_used: r.get(2),
        }))
    }

    fn touch_panel_session(&self, hash: &str, at: i64) -> Result<(), PlatformError> {
        self.execute("UPDATE panel_grants SET last_used=$2 WHERE hash=$1 AND kind='session'", &[&hash, &at]).map(drop)
    }

    fn expire_panel_grants(&self, link_cutoff: i64, session_cutoff: i64) -> Result<usize, PlatformError> {
        Ok(self.execute(
            "DELETE FROM panel_grants WHERE (kind='link' AND created_at < $1) OR (kind='session' AND last_used < $2)",
            &[&link_cutoff, &session_cutoff],
        )? as usize)
    }
}
