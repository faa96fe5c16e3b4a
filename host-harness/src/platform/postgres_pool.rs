//! The PostgreSQL store's pool: r2d2 over `postgres` clients that keep each statement they have
//! prepared. A statement sent as text is parsed and planned by the server and costs the client a
//! round trip to prepare it, every time; a prepared one is bound and run in one round trip. A
//! keep-alive refresh runs the same two statements (the row read, the fenced write) on every
//! connection, so each connection prepares them once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use postgres::{Client, NoTls, Statement};
use r2d2_postgres::PostgresConnectionManager;

/// Statements a connection keeps at most (the store has about thirty; a bound in case a caller
/// ever builds its text at run time).
const MAX_STATEMENTS: usize = 128;

/// A pooled client and the statements prepared on it.
pub struct Conn {
    pub client: Client,
    statements: HashMap<String, Statement>,
    prepared: Arc<AtomicU64>,
}

impl Conn {
    /// `sql` prepared on this connection, prepared now if it was not.
    pub fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.prepared.fetch_add(1, Ordering::Relaxed);
        if self.statements.len() >= MAX_STATEMENTS {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }
}

/// Makes [`Conn`]s with r2d2_postgres's manager, and counts the statements they prepare.
pub struct Manager {
    inner: PostgresConnectionManager<NoTls>,
    prepared: Arc<AtomicU64>,
}

impl Manager {
    /// A manager whose connections count each statement they prepare in `prepared`.
    pub fn new(inner: PostgresConnectionManager<NoTls>, prepared: Arc<AtomicU64>) -> Self {
        Manager { inner, prepared }
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Conn, postgres::Error> {
        Ok(Conn { client: self.inner.connect()?, statements: HashMap::new(), prepared: self.prepared.clone() })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        self.inner.is_valid(&mut conn.client)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        self.inner.has_broken(&mut conn.client)
    }
}
