//! The durable store of connections: SQLite (WAL, synchronous FULL), every change in a
//! transaction (shared with the changes submitted at the same moment: `writer.rs`), so a crash
//! leaves the previous or the new state. Tokens and secret settings are sealed.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::crypto::Sealer;
use super::writer::Writer;
use super::PlatformError;

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
    pub fn as_str(self) -> &'static str {
        match self {
            Status::PendingAuthorization => "pending_authorization",
            Status::Connected => "connected",
            Status::NeedsReauthorization => "needs_reauthorization",
            Status::NeedsAttention => "needs_attention",
        }
    }

    fn parse(s: &str) -> Status {
        match s {
            "connected" => Status::Connected,
            "needs_reauthorization" => Status::NeedsReauthorization,
            "needs_attention" => Status::NeedsAttention,
            _ => Status::PendingAuthorization,
        }
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
    pub settings: serde_json::Map<String, Value>,
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
    pub settings: Value,
    pub status: Status,
    pub remedy: Option<String>,
    pub last_error: Option<Value>,
    pub identity: Option<Value>,
    pub expires_at: Option<i64>,
    pub secrets: Secrets,
    /// Bumped on every token change (how many token sets this connection has had).
    pub generation: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_refresh_at: Option<i64>,
}

impl Record {
    /// Settings as the connector wants them: public ones plus the sealed secret ones.
    pub fn full_settings(&self) -> Value {
        let mut s = self.settings.clone();
        if let Some(obj) = s.as_object_mut() {
            for (k, v) in &self.secrets.settings {
                obj.insert(k.clone(), v.clone());
            }
        }
        s
    }
}

/// A connection's row, secrets sealed.
struct Row {
    name: String,
    settings: String,
    status: &'static str,
    remedy: Option<String>,
    last_error: Option<String>,
    identity: Option<String>,
    expires_at: Option<i64>,
    secrets: Vec<u8>,
    generation: i64,
    created_at: i64,
    updated_at: i64,
    last_refresh_at: Option<i64>,
}

pub struct Store {
    path: PathBuf,
    /// The one writer: SQLite allows one write transaction at a time anyway.
    writer: Writer,
    /// Idle read-only connections: in WAL mode a read never waits for a write (or its fsync).
    readers: std::sync::Mutex<Vec<Connection>>,
    sealer: Sealer,
}

/// Idle readers kept open; more are opened on demand and closed after use.
const MAX_IDLE_READERS: usize = 8;

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish_non_exhaustive()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS connections (
    name TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    status TEXT NOT NULL,
    remedy TEXT,
    last_error TEXT,
    identity TEXT,
    expires_at INTEGER,
    secrets BLOB NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_refresh_at INTEGER
);
CREATE TABLE IF NOT EXISTS pending (
    state_hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secrets BLOB NOT NULL,
    created_at INTEGER NOT NULL
);";

fn db_err(e: rusqlite::Error) -> PlatformError {
    PlatformError::Store(e.to_string())
}

impl Store {
    /// Opens (or creates) the store at `path`; the key file sits beside it unless
    /// `CONNECTOR_HOST_KEY` is set.
    pub fn open(path: &Path) -> Result<Store, PlatformError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| PlatformError::Store(format!("cannot create {}: {e}", dir.display())))?;
        }
        let sealer = Sealer::load(&path.with_extension("key"))?;
        let conn = Connection::open(path).map_err(db_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(db_err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(db_err)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(db_err)?;
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        Ok(Store {
            path: path.to_path_buf(),
            writer: Writer::new(conn),
            readers: std::sync::Mutex::new(Vec::new()),
            sealer,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Transactions committed so far (fewer than the changes when they shared them).
    pub fn commits(&self) -> u64 {
        self.writer.commits()
    }

    /// Runs `f` on an idle read-only connection (opening one when none is idle).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, PlatformError>) -> Result<T, PlatformError> {
        let idle = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(c) => c,
            None => {
                let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let c = Connection::open_with_flags(&self.path, flags).map_err(db_err)?;
                c.busy_timeout(std::time::Duration::from_secs(10)).map_err(db_err)?;
                c
            }
        };
        let result = f(&conn);
        let mut readers = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        if readers.len() < MAX_IDLE_READERS {
            readers.push(conn);
        }
        result
    }

    fn seal(&self, name: &str, s: &Secrets) -> Vec<u8> {
        self.sealer.seal(name, &serde_json::to_vec(s).unwrap_or_default())
    }

    /// A record as its row's values, secrets sealed: what a change takes to the writer.
    fn row(&self, r: &Record) -> Row {
        Row {
            name: r.name.clone(),
            settings: r.settings.to_string(),
            status: r.status.as_str(),
            remedy: r.remedy.clone(),
            last_error: r.last_error.as_ref().map(Value::to_string),
            identity: r.identity.as_ref().map(Value::to_string),
            expires_at: r.expires_at,
            secrets: self.seal(&r.name, &r.secrets),
            generation: r.generation,
            created_at: r.created_at,
            updated_at: r.updated_at,
            last_refresh_at: r.last_refresh_at,
        }
    }

    /// Inserts a new connection; refuses a name in use.
    pub fn insert(&self, r: &Record) -> Result<(), PlatformError> {
        let row = self.row(r);
        let n = self.writer.write(move |db| {
            db.prepare_cached("INSERT INTO connections (name, settings, status, remedy, last_error, identity, expires_at, secrets, generation, created_at, updated_at, last_refresh_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT(name) DO NOTHING")
                .and_then(|mut st| st.execute(params![row.name, row.settings, row.status, row.remedy, row.last_error, row.identity, row.expires_at, row.secrets, row.generation, row.created_at, row.updated_at, row.last_refresh_at]))
                .map_err(db_err)
        })?;
        if n == 0 {
            return Err(PlatformError::NameTaken(r.name.clone()));
        }
        Ok(())
    }

    /// Writes every field of an existing connection in one transaction.
    pub fn update(&self, r: &Record) -> Result<(), PlatformError> {
        let row = self.row(r);
        let n = self.writer.write(move |db| {
            db.prepare_cached("UPDATE connections SET settings=?2, status=?3, remedy=?4, last_error=?5, identity=?6, expires_at=?7, secrets=?8, generation=?9, updated_at=?10, last_refresh_at=?11 WHERE name=?1")
                .and_then(|mut st| st.execute(params![row.name, row.settings, row.status, row.remedy, row.last_error, row.identity, row.expires_at, row.secrets, row.generation, row.updated_at, row.last_refresh_at]))
                .map_err(db_err)
        })?;
        if n == 0 {
            return Err(PlatformError::NotFound(r.name.clone()));
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Result<Record, PlatformError> {
        let row = self.read(|db| {
            db.prepare_cached(
                "SELECT name, settings, status, remedy, last_error, identity, expires_at, secrets, generation, created_at, updated_at, last_refresh_at FROM connections WHERE name=?1",
            )
            .and_then(|mut st| st.query_row(
                params![name],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, Option<String>>(3)?,
                        row.get::<_, Option<String>>(4)?,
                        row.get::<_, Option<String>>(5)?,
                        row.get::<_, Option<i64>>(6)?,
                        row.get::<_, Vec<u8>>(7)?,
                        row.get::<_, i64>(8)?,
                        row.get::<_, i64>(9)?,
                        row.get::<_, i64>(10)?,
                        row.get::<_, Option<i64>>(11)?,
                    ))
                },
            ))
            .optional()
            .map_err(db_err)
        })?
        .ok_or_else(|| PlatformError::NotFound(name.to_string()))?;
        let parse = |t: Option<String>| t.and_then(|t| serde_json::from_str(&t).ok());
        let secrets: Secrets = serde_json::from_slice(&self.sealer.open(&row.0, &row.7)?)
            .map_err(|_| PlatformError::Store("sealed secrets are not readable".into()))?;
        Ok(Record {
            name: row.0,
            settings: serde_json::from_str(&row.1).unwrap_or(Value::Null),
            status: Status::parse(&row.2),
            remedy: row.3,
            last_error: parse(row.4),
            identity: parse(row.5),
            expires_at: row.6,
            secrets,
            generation: row.8,
            created_at: row.9,
            updated_at: row.10,
            last_refresh_at: row.11,
        })
    }

    pub fn names(&self) -> Result<Vec<String>, PlatformError> {
        self.read(|db| {
            let mut st = db.prepare_cached("SELECT name FROM connections ORDER BY name").map_err(db_err)?;
            let names = st.query_map([], |r| r.get::<_, String>(0)).map_err(db_err)?;
            names.collect::<Result<Vec<_>, _>>().map_err(db_err)
        })
    }

    /// Deletes a connection and its pending authorizations, together.
    pub fn delete(&self, name: &str) -> Result<(), PlatformError> {
        let owned = name.to_string();
        let n = self.writer.write(move |db| {
            let n = db
                .prepare_cached("DELETE FROM connections WHERE name=?1")
                .and_then(|mut st| st.execute(params![owned]))
                .map_err(db_err)?;
            db.prepare_cached("DELETE FROM pending WHERE name=?1")
                .and_then(|mut st| st.execute(params![owned]))
                .map_err(db_err)?;
            Ok(n)
        })?;
        if n == 0 {
            return Err(PlatformError::NotFound(name.to_string()));
        }
        Ok(())
    }

    /// Keeps a pending authorization (its verifier and nonce sealed) under the hash of its state.
    pub fn put_pending(
        &self,
        state_hash: &str,
        name: &str,
        secrets: &Value,
        created_at: i64,
    ) -> Result<(), PlatformError> {
        let sealed = self.sealer.seal(state_hash, secrets.to_string().as_bytes());
        let (state_hash, name) = (state_hash.to_string(), name.to_string());
        self.writer.write(move |db| {
            db.prepare_cached("INSERT INTO pending (state_hash, name, secrets, created_at) VALUES (?1, ?2, ?3, ?4)")
                .and_then(|mut st| st.execute(params![state_hash, name, sealed, created_at]))
                .map_err(db_err)
        })?;
        Ok(())
    }

    /// Removes and returns the pending authorization whose state hashes to `state_hash` (single
    /// use): (name, secrets, created_at). Rows are found by a short prefix of the hash and the
    /// whole hash is compared in constant time, so the lookup's timing says nothing about it.
    pub fn take_pending(&self, state_hash: &str) -> Result<Option<(String, Value, i64)>, PlatformError> {
        let prefix: String = state_hash.chars().take(8).collect();
        let wanted = state_hash.to_string();
        let found = self.writer.write(move |db| {
            let mut rows: Vec<(String, String, Vec<u8>, i64)> = Vec::new();
            {
                let mut st = db
                    .prepare_cached(
                        "SELECT state_hash, name, secrets, created_at FROM pending WHERE substr(state_hash, 1, 8) = ?1",
                    )
                    .map_err(db_err)?;
                for row in st
                    .query_map(params![prefix], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                    .map_err(db_err)?
                {
                    rows.push(row.map_err(db_err)?);
                }
            }
            let found = rows
                .into_iter()
                .find(|(h, ..)| bool::from(subtle::ConstantTimeEq::ct_eq(h.as_bytes(), wanted.as_bytes())));
            if let Some((hash, ..)) = &found {
                db.prepare_cached("DELETE FROM pending WHERE state_hash=?1")
                    .and_then(|mut st| st.execute(params![hash]))
                    .map_err(db_err)?;
            }
            Ok(found)
        })?;
        let Some((hash, name, sealed, at)) = found else {
            return Ok(None);
        };
        let plain = self.sealer.open(&hash, &sealed)?;
        Ok(Some((name, serde_json::from_slice(&plain).unwrap_or(Value::Null), at)))
    }

    /// Drops pending authorizations older than `cutoff`.
    pub fn expire_pending(&self, cutoff: i64) -> Result<usize, PlatformError> {
        self.writer.write(move |db| {
            db.prepare_cached("DELETE FROM pending WHERE created_at < ?1")
                .and_then(|mut st| st.execute(params![cutoff]))
                .map_err(db_err)
        })
    }
}
