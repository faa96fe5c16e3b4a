//! A child process killed while it writes token sets: the store always opens and holds one
//! whole token set, the old or the new, never a mix; on SQLite and on PostgreSQL (a real
//! server started by the test). Rounds: CRASH_ROUNDS (default 200).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use host_harness::platform::{PostgresStore, SqliteStore, Store};

/// Kills a `store-writer` with `threads` writers at random moments, `rounds` times, and checks
/// after each kill that every connection in `names` holds one whole token set, never older
/// than the last seen.
fn kill_writers(threads: usize, names: &[&str], rounds: u32) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    kill_writers_of(
        db.to_str().unwrap(),
        &|| Ok(Box::new(SqliteStore::open(&db).map_err(|e| e.to_string())?)),
        None,
        threads,
        names,
        rounds,
    );
}

/// The same SQLite key file or PostgreSQL key for the writer and the checks.
const PG_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

type Open<'a> = &'a dyn Fn() -> Result<Box<dyn Store>, String>;

fn kill_writers_of(location: &str, open: Open<'_>, key: Option<&str>, threads: usize, names: &[&str], rounds: u32) {
    let mut last = vec![0; names.len()];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..rounds {
        let mut child = Command::new(env!("CARGO_BIN_EXE_connector-host"))
            .args(["store-writer", "--store", location, "--name", "victim", "--threads"])
            .arg(threads.to_string())
            .env_remove("CONNECTOR_HOST_KEY")
            .envs(key.map(|k| ("CONNECTOR_HOST_KEY", k)))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until it writes, then kill it at a random moment (SIGKILL: no clean-up).
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_micros(500 + seed % 40_000));
        child.kill().unwrap();
        child.wait().unwrap();
        let store = open().unwrap_or_else(|e| panic!("round {round}: the store does not open: {e}"));
        for (name, last) in names.iter().zip(&mut last) {
            let r = store.get(name).unwrap_or_else(|e| panic!("round {round}: {name}: {e}"));
            let g = r.generation;
            assert_eq!(r.secrets.refresh_token, Some(format!("rt-{g}")), "round {round}: {name}: a torn token set");
            assert_eq!(r.secrets.access_token, Some(format!("at-{g}")));
            assert_eq!(r.expires_at, Some(g));
            assert!(g >= *last, "round {round}: {name} went back from {last} to {g}");
            *last = g;
        }
    }
    assert!(last.iter().all(|&g| g > 0), "a writer never wrote: {last:?}");
}

fn rounds() -> u32 {
    std::env::var("CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
}

#[test]
fn a_killed_writer_leaves_the_old_or_the_new_token_set() {
    kill_writers(1, &["victim"], rounds());
}

/// Four writers at once: their changes share commits (the store's group commit), and a kill in
/// the middle of one still leaves each connection whole.
#[test]
fn killed_concurrent_writers_leave_each_connection_whole() {
    kill_writers(4, &["victim-1", "victim-2", "victim-3", "victim-4"], rounds() / 2);
}

/// On PostgreSQL: a writer killed at random moments (its server-side transaction is rolled
/// back when its connection drops); fewer rounds, each pays for a new pool.
#[test]
fn a_killed_writer_on_postgres_leaves_the_old_or_the_new_token_set() {
    let cluster = pg_cluster::Cluster::start();
    let url = cluster.database("crash");
    // The checks read the key from a file (the environment is shared with the other tests).
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("store.key");
    std::fs::write(&key_file, PG_KEY).unwrap();
    let open = || -> Result<Box<dyn Store>, String> {
        Ok(Box::new(PostgresStore::open(&url, &key_file).map_err(|e| e.to_string())?))
    };
    kill_writers_of(&url, &open, Some(PG_KEY), 4, &["victim-1", "victim-2", "victim-3", "victim-4"], rounds() / 4);
}
