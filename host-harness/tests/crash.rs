//! A child process killed while it writes token sets: the store always opens and holds one
//! whole token set, the old or the new, never a mix. Rounds: CRASH_ROUNDS (default 200).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use host_harness::platform::Store;

#[test]
fn a_killed_writer_leaves_the_old_or_the_new_token_set() {
    let rounds: u32 = std::env::var("CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let mut last = 0;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..rounds {
        let mut child = Command::new(env!("CARGO_BIN_EXE_connector-host"))
            .args(["store-writer", "--store", db.to_str().unwrap(), "--name", "victim"])
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
        let store = Store::open(&db).unwrap_or_else(|e| panic!("round {round}: the store does not open: {e}"));
        let r = store.get("victim").unwrap_or_else(|e| panic!("round {round}: {e}"));
        let g = r.generation;
        assert_eq!(r.secrets.refresh_token, Some(format!("rt-{g}")), "round {round}: a torn token set");
        assert_eq!(r.secrets.access_token, Some(format!("at-{g}")));
        assert_eq!(r.expires_at, Some(g));
        assert!(g >= last, "round {round}: the store went back from {last} to {g}");
        last = g;
    }
    assert!(last > 0, "the writer never wrote");
}
