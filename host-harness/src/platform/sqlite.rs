//! The embedded store: SQLite (WAL, synchronous FULL), every change in a transaction (shared
//! with the changes submitted at the same moment: `writer.rs`), so a crash leaves the previous
//! or the new state. Tokens, secret settings and pending verifiers are sealed.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

use super::crypto::Sealer;
use super::error::{PlatformError, StoreError};
use super::rows::{open_pending, Row, COLUMNS};
use super::store::{ApiKey, PanelGrant, PanelGrantKind, Pending, Record, Store};
use super::writer::Writer;
use crate::files;

pub struct SqliteStore {
    path: PathBuf,
    /// The one writer: SQLite allows one write transaction at a time anyway.
    writer: Writer,
    /// Idle read-only connections: in WAL mode a read never waits for a write (or its fsync).
    readers: std::sync::Mutex<Vec<Connection>>,
    sealer: Sealer,
}

/// Idle readers kept open; more are opened on demand and closed after use.
const MAX_IDLE_READERS: usize = 8;

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish_non_exhaustive()
    }
}

/// Versioned migrations, applied in order when the store opens, each once (the first is the
/// schema stores had before versions were kept, so it is written to apply over it).
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE IF NOT EXISTS connections (
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
        CREATE TABLE IF NOT EXISTS api_keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            hash TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            revoked_at INTEGER
        );
        CREATE TABLE IF NOT EXISTS panel_grants (
            hash TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            last_used INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS pending (
            state_hash TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            secrets BLOB NOT NULL,
            created_at INTEGER NOT NULL
        );",
    ),
    (
        2,
        "ALTER TABLE connections ADD COLUMN lease_owner TEXT;
        ALTER TABLE connections ADD COLUMN lease_until INTEGER;
        ALTER TABLE connections ADD COLUMN next_keepalive_at INTEGER;
        ALTER TABLE connections ADD COLUMN keepalive TEXT NOT NULL DEFAULT '{}';
        UPDATE connections SET next_keepalive_at = COALESCE(last_refresh_at, updated_at) + 86400;
        CREATE INDEX IF NOT EXISTS connections_due ON connections (next_keepalive_at) WHERE status = 'connected';",
    ),
];

/// Applies the migrations `db` lacks, in one transaction.
fn migrate(db: &mut Connection) -> Result<(), PlatformError> {
    let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db_err)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )
    .map_err(db_err)?;
    let applied: Vec<i64> = {
        let mut st = tx.prepare("SELECT version FROM schema_migrations").map_err(db_err)?;
        let rows = st.query_map([], |r| r.get(0)).map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)?
    };
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| !applied.contains(v)) {
        tx.execute_batch(sql).map_err(db_err)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![version, super::clock::unix_now()],
        )
        .map_err(db_err)?;
    }
    tx.commit().map_err(db_err)
}

fn db_err(e: rusqlite::Error) -> PlatformError {
    StoreError::Database(e).into()
}

impl SqliteStore {
    /// Opens (or creates) the store at `path`; the key file sits beside it unless
    /// `CONNECTOR_HOST_KEY` is set. A directory it creates is 0700; the database and its WAL
    /// and SHM files are 0600 (an older store's are tightened).
    pub fn open(path: &Path) -> Result<SqliteStore, PlatformError> {
        let failed = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Directory { path, source }
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            files::create_private_dir(dir).map_err(failed(dir))?;
        }
        files::create_private_file(path).map_err(failed(path))?;
        let sealer = Sealer::load(&path.with_extension("key"))?;
        let mut conn = Connection::open(path).map_err(db_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(db_err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(db_err)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(db_err)?;
        migrate(&mut conn)?;
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            files::restrict(Path::new(&file), 0o600).map_err(failed(Path::new(&file)))?;
        }
        Ok(SqliteStore {
            path: path.to_path_buf(),
            writer: Writer::new(conn),
            readers: std::sync::Mutex::new(Vec::new()),
            sealer,
        })
    }

    /// API keys matching `filter` (a WHERE clause with one parameter), oldest first.
    fn api_keys_where(&self, filter: &'static str, arg: &str) -> Result<Vec<ApiKey>, PlatformError> {
        let arg = arg.to_string();
        self.read(move |db| {
            let sql =
                format!("SELECT id, name, hash, created_at, revoked_at FROM api_keys {filter} ORDER BY created_at, id");
            let mut st = db.prepare_cached(&sql).map_err(db_err)?;
            let rows = st
                .query_map(params![arg], |r| {
                    Ok(ApiKey {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        hash: r.get(2)?,
                        created_at: r.get(3)?,
                        revoked_at: r.get(4)?,
                    })
                })
                .map_err(db_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
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
}

impl Store for SqliteStore {
    fn commits(&self) -> u64 {
        self.writer.commits()
    }

    fn put_api_key(&self, key: &ApiKey) -> Result<(), PlatformError> {
        let k = key.clone();
        self.writer.write(move |db| {
            db.prepare_cached(
                "INSERT INTO api_keys (id, name, hash, created_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut st| st.execute(params![k.id, k.name, k.hash, k.created_at, k.revoked_at]))
            .map_err(db_err)
        })?;
        Ok(())
    }

    fn api_key(&self, id: &str) -> Result<Option<ApiKey>, PlatformError> {
        Ok(self.api_keys_where("WHERE id=?1", id)?.pop())
    }

    fn api_keys(&self) -> Result<Vec<ApiKey>, PlatformError> {
        self.api_keys_where("WHERE ?1 = ?1", "")
    }

    fn revoke_api_key(&self, id: &str, at: i64) -> Result<bool, PlatformError> {
        let id = id.to_string();
        let n = self.writer.write(move |db| {
            db.prepare_cached("UPDATE api_keys SET revoked_at=?2 WHERE id=?1 AND revoked_at IS NULL")
                .and_then(|mut st| st.execute(params![id, at]))
                .map_err(db_err)
        })?;
        Ok(n == 1)
    }

    fn put_panel_grant(&self, g: &PanelGrant) -> Result<(), PlatformError> {
        let g = g.clone();
        self.writer.write(move |db| {
            db.prepare_cached("INSERT INTO panel_grants (hash, kind, created_at, last_used) VALUES (?1, ?2, ?3, ?4)")
                .and_then(|mut st| st.execute(params![g.hash, g.kind.as_str(), g.created_at, g.last_used]))
                .map_err(db_err)
        })?;
        Ok(())
    }

    fn take_panel_grant(&self, hash: &str, kind: PanelGrantKind) -> Result<Option<PanelGrant>, PlatformError> {
        let hash = hash.to_string();
        self.writer.write(move |db| {
            db.prepare_cached(
                "DELETE FROM panel_grants WHERE hash=?1 AND kind=?2 RETURNING hash, created_at, last_used",
            )
            .and_then(|mut st| {
                st.query_row(params![hash, kind.as_str()], |r| {
                    Ok(PanelGrant { hash: r.get(0)?, kind, created_at: r.get(1)?, last_used: r.get(2)? })
                })
                .optional()
            })
            .map_err(db_err)
        })
    }

    fn panel_session(&self, hash: &str) -> Result<Option<PanelGrant>, PlatformError> {
        let hash = hash.to_string();
        self.read(move |db| {
            db.prepare_cached("SELECT hash, created_at, last_used FROM panel_grants WHERE hash=?1 AND kind='session'")
                .and_then(|mut st| {
                    st.query_row(params![hash], |r| {
                        Ok(PanelGrant {
                            hash: r.get(0)?,
                            kind: PanelGrantKind::Session,
                            created_at: r.get(1)?,
                            last_used: r.get(2)?,
                        })
                    })
                    .optional()
                })
                .map_err(db_err)
        })
    }

    fn touch_panel_session(&self, hash: &str, at: i64) -> Result<(), PlatformError> {
        let hash = hash.to_string();
        self.writer.write(move |db| {
            db.prepare_cached("UPDATE panel_grants SET last_used=?2 WHERE hash=?1 AND kind='session'")
                .and_then(|mut st| st.execute(params![hash, at]))
                .map_err(db_err)
        })?;
        Ok(())
    }

    fn expire_panel_grants(&self, link_cutoff: i64, session_cutoff: i64) -> Result<usize, PlatformError> {
        self.writer.write(move |db| {
            db.prepare_cached(
                "DELETE FROM panel_grants WHERE (kind='link' AND created_at < ?1) OR (kind='session' AND last_used < ?2)",
            )
            .and_then(|mut st| st.execute(params![link_cutoff, session_cutoff]))
            .map_err(db_err)
        })
    }

    fn insert(&self, r: &Record) -> Result<(), PlatformError> {
        let w = Row::of(&self.sealer, r);
        let n = self.writer.write(move |db| {
            db.prepare_cached(&format!("INSERT INTO connections ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) ON CONFLICT(name) DO NOTHING"))
                .and_then(|mut st| st.execute(params![w.name, w.settings, w.status, w.remedy, w.last_error, w.identity, w.expires_at, w.secrets, w.generation, w.created_at, w.updated_at, w.last_refresh_at, w.next_keepalive_at, w.keepalive]))
                .map_err(db_err)
        })?;
        if n == 0 {
            return Err(PlatformError::NameTaken(r.name.clone()));
        }
        Ok(())
    }

    fn update(&self, r: &Record, expected_generation: i64) -> Result<(), PlatformError> {
        let w = Row::of(&self.sealer, r);
        let (n, exists) = self.writer.write(move |db| {
            let n = db.prepare_cached("UPDATE connections SET settings=?2, status=?3, remedy=?4, last_error=?5, identity=?6, expires_at=?7, secrets=?8, generation=?9, updated_at=?10, last_refresh_at=?11, next_keepalive_at=?12, keepalive=?13 WHERE name=?1 AND generation=?14")
                .and_then(|mut st| st.execute(params![w.name, w.settings, w.status, w.remedy, w.last_error, w.identity, w.expires_at, w.secrets, w.generation, w.updated_at, w.last_refresh_at, w.next_keepalive_at, w.keepalive, expected_generation]))
                .map_err(db_err)?;
            let exists = n == 1
                || db
                    .prepare_cached("SELECT 1 FROM connections WHERE name=?1")
                    .and_then(|mut st| st.exists(params![w.name]))
                    .map_err(db_err)?;
            Ok((n, exists))
        })?;
        match (n, exists) {
            (0, false) => Err(PlatformError::NotFound(r.name.clone())),
            (0, true) => Err(PlatformError::Changed(r.name.clone())),
            _ => Ok(()),
        }
    }

    fn update_leased(&self, r: &Record, owner: &str, expected_generation: i64) -> Result<bool, PlatformError> {
        let w = Row::of(&self.sealer, r);
        let owner = owner.to_string();
        let n = self.writer.write(move |db| {
            db.prepare_cached("UPDATE connections SET settings=?2, status=?3, remedy=?4, last_error=?5, identity=?6, expires_at=?7, secrets=?8, generation=?9, updated_at=?10, last_refresh_at=?11, next_keepalive_at=?12, keepalive=?13, lease_owner=NULL, lease_until=NULL WHERE name=?1 AND generation=?14 AND lease_owner=?15")
                .and_then(|mut st| st.execute(params![w.name, w.settings, w.status, w.remedy, w.last_error, w.identity, w.expires_at, w.secrets, w.generation, w.updated_at, w.last_refresh_at, w.next_keepalive_at, w.keepalive, expected_generation, owner]))
                .map_err(db_err)
        })?;
        Ok(n == 1)
    }

    fn take_lease(&self, name: &str, owner: &str, now: i64, until: i64) -> Result<bool, PlatformError> {
        let (name, owner) = (name.to_string(), owner.to_string());
        let n = self.writer.write(move |db| {
            db.prepare_cached("UPDATE connections SET lease_owner=?2, lease_until=?4 WHERE name=?1 AND (lease_owner IS NULL OR lease_owner=?2 OR lease_until < ?3)")
                .and_then(|mut st| st.execute(params![name, owner, now, until]))
                .map_err(db_err)
        })?;
        Ok(n == 1)
    }

    fn release_lease(&self, name: &str, owner: &str) -> Result<(), PlatformError> {
        let (name, owner) = (name.to_string(), owner.to_string());
        self.writer.write(move |db| {
            db.prepare_cached(
                "UPDATE connections SET lease_owner=NULL, lease_until=NULL WHERE name=?1 AND lease_owner=?2",
            )
            .and_then(|mut st| st.execute(params![name, owner]))
            .map_err(db_err)
        })?;
        Ok(())
    }

    /// One process writes a SQLite store at a time, so the claim is one UPDATE of the due
    /// rows (the PostgreSQL store skips rows other processes hold instead).
    fn claim_due(&self, now: i64, limit: usize, owner: &str, until: i64) -> Result<Vec<String>, PlatformError> {
        let owner = owner.to_string();
        let limit = limit as i64;
        self.writer.write(move |db| {
            let mut st = db
                .prepare_cached(
                    "UPDATE connections SET lease_owner=?3, lease_until=?4 WHERE name IN (
                        SELECT name FROM connections
                        WHERE status='connected' AND next_keepalive_at <= ?1 AND (lease_owner IS NULL OR lease_until < ?1)
                        ORDER BY next_keepalive_at LIMIT ?2)
                     RETURNING name",
                )
                .map_err(db_err)?;
            let names = st.query_map(params![now, limit, owner, until], |r| r.get::<_, String>(0)).map_err(db_err)?;
            names.collect::<Result<Vec<_>, _>>().map_err(db_err)
        })
    }

    fn get(&self, name: &str) -> Result<Record, PlatformError> {
        let row = self
            .read(|db| {
                db.prepare_cached(&format!("SELECT {COLUMNS} FROM connections WHERE name=?1"))
                    .and_then(|mut st| {
                        st.query_row(params![name], |r| {
                            Ok(Row {
                                name: r.get(0)?,
                                settings: r.get(1)?,
                                status: r.get(2)?,
                                remedy: r.get(3)?,
                                last_error: r.get(4)?,
                                identity: r.get(5)?,
                                expires_at: r.get(6)?,
                                secrets: r.get(7)?,
                                generation: r.get(8)?,
                                created_at: r.get(9)?,
                                updated_at: r.get(10)?,
                                last_refresh_at: r.get(11)?,
                                next_keepalive_at: r.get(12)?,
                                keepalive: r.get(13)?,
                            })
                        })
                    })
                    .optional()
                    .map_err(db_err)
            })?
            .ok_or_else(|| PlatformError::NotFound(name.to_string()))?;
        row.record(&self.sealer)
    }

    fn names(&self) -> Result<Vec<String>, PlatformError> {
        self.read(|db| {
            let mut st = db.prepare_cached("SELECT name FROM connections ORDER BY name").map_err(db_err)?;
            let names = st.query_map([], |r| r.get::<_, String>(0)).map_err(db_err)?;
            names.collect::<Result<Vec<_>, _>>().map_err(db_err)
        })
    }

    fn delete(&self, name: &str) -> Result<(), PlatformError> {
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

    fn put_pending(&self, p: &Pending) -> Result<(), PlatformError> {
        // A string and an optional string always serialize.
        let sealed = self.sealer.seal(&p.state_hash, &serde_json::to_vec(&p.secrets).unwrap_or_default());
        let (state_hash, name, created_at) = (p.state_hash.clone(), p.name.clone(), p.created_at);
        self.writer.write(move |db| {
            db.prepare_cached("INSERT INTO pending (state_hash, name, secrets, created_at) VALUES (?1, ?2, ?3, ?4)")
                .and_then(|mut st| st.execute(params![state_hash, name, sealed, created_at]))
                .map_err(db_err)
        })?;
        Ok(())
    }

    /// Rows are found by a short prefix of the hash and the whole hash is compared in constant
    /// time, so the lookup's timing says nothing about it.
    fn take_pending(&self, state_hash: &str) -> Result<Option<Pending>, PlatformError> {
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
        open_pending(&self.sealer, hash, name, &sealed, at).map(Some)
    }

    fn expire_pending(&self, cutoff: i64) -> Result<usize, PlatformError> {
        self.writer.write(move |db| {
            db.prepare_cached("DELETE FROM pending WHERE created_at < ?1")
                .and_then(|mut st| st.execute(params![cutoff]))
                .map_err(db_err)
        })
    }
}
