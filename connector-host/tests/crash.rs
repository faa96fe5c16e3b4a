//! A child process killed while it writes token sets: the store always opens and holds one
//! whole token set, the old or the new, never a mix. Rounds: CRASH_ROUNDS (default 200).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use host_harness::platform::{SqliteStore, Store};

/// Kills a `store-writer` with `threads` writers at random moments, `rounds` times, and checks
/// after each kill that every connection in `names` holds one whole token set, never older
/// than the last seen.
fn kill_writers(threads: usize, names: &[&str], rounds: u32) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let mut last = vec![0; names.len()];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..rounds {
        let mut child = Command::new(env!("CARGO_BIN_EXE_connector-host"))
            .args(["store-writer", "--store", db.to_str().unwrap(), "--name", "victim", "--threads"])
            .arg(threads.to_string())
            .env_remove("CONNECTOR_HOST_KEY")
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
        let store = SqliteStore::open(&db).unwrap_or_else(|e| panic!("round {round}: the store does not open: {e}"));
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
