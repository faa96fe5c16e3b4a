//! The two store backends a test can run on: SQLite in a temporary directory, or a real
//! PostgreSQL server started for the test (`pg-cluster`) and stopped when the store is dropped.

use std::sync::Arc;

use host_harness::platform::{PostgresStore, SqliteStore, Store};

/// Which store a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// An open store and what keeps it alive: its directory, and for PostgreSQL its server.
pub struct TestStore {
    pub store: Arc<dyn Store>,
    // Dropped after the store: the server stops, then the directory goes.
    _cluster: Option<pg_cluster::Cluster>,
    _dir: tempfile::TempDir,
}

impl TestStore {
    /// The directory the store's files are in (SQLite's database and WAL, or the key file).
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }
}

impl Backend {
    pub const ALL: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

    /// A new, empty store on this backend.
    pub fn open(self) -> TestStore {
        let dir = tempfile::tempdir().expect("a temporary directory");
        match self {
            Backend::Sqlite => {
                let store = SqliteStore::open(&dir.path().join("connections.db")).expect("SQLite opens");
                TestStore { store: Arc::new(store), _cluster: None, _dir: dir }
            }
            Backend::Postgres => {
                let cluster = pg_cluster::Cluster::start();
                let url = cluster.database("platform");
                let store = PostgresStore::open(&url, &dir.path().join("store.key")).expect("PostgreSQL opens");
                TestStore { store: Arc::new(store), _cluster: Some(cluster), _dir: dir }
            }
        }
    }
}
