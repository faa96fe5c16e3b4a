//! Whole flows through the platform, one and eight workers at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use host_harness::platform::{Platform, PostgresStore, SqliteStore, Store};
use mock_entra::browser::{query_of, sign_in_redirect};
use mock_entra::MockEntra;
use serde_json::json;

use crate::clients::host_for;
use crate::figures::Flows;
use crate::inputs::REDIRECT;

/// Whole flows (create, Save and authorize, consent, exchange, test, refresh) for `secs` with
/// `workers` threads, on an embedded SQLite store.
pub fn flows(mock: &MockEntra, workers: usize, secs: f64) -> Flows {
    let dir = std::env::temp_dir().join(format!("connector-bench-{}-{workers}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let f = flows_on(mock, Arc::new(SqliteStore::open(&dir.join("b.db")).unwrap()), workers, secs);
    let _ = std::fs::remove_dir_all(&dir);
    f
}

/// The same flows on PostgreSQL: a throwaway server on this machine, stopped afterwards.
pub fn flows_on_postgres(mock: &MockEntra, workers: usize, secs: f64) -> Flows {
    let cluster = pg_cluster::Cluster::start();
    let dir = tempfile_dir(workers);
    let store = PostgresStore::open(&cluster.database("bench"), &dir.join("store.key")).unwrap();
    let f = flows_on(mock, Arc::new(store), workers, secs);
    let _ = std::fs::remove_dir_all(&dir);
    f
}

fn tempfile_dir(workers: usize) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("connector-bench-pg-{}-{workers}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn flows_on(mock: &MockEntra, store: Arc<dyn Store>, workers: usize, secs: f64) -> Flows {
    let p = Arc::new(
        Platform::on(Arc::new(host_for(mock)), store, REDIRECT, host_harness::platform::system_clock()).unwrap(),
    );
    let (done, failed, next) =
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let threads: Vec<_> = (0..workers)
        .map(|_| {
            let (p, done, failed, next) = (p.clone(), done.clone(), failed.clone(), next.clone());
            std::thread::spawn(move || {
                while Instant::now() < deadline {
                    let name = format!("flow-{}", next.fetch_add(1, Ordering::SeqCst));
                    let ok = (|| -> Option<()> {
                        p.create(&json!({"name": name, "scopes": ["User.Read"]})).ok()?;
                        let start = p.begin_authorization(&name).ok()?;
                        let location = sign_in_redirect(&start.url, None, true).ok()?;
                        p.complete_authorization(&query_of(&location)).ok()?;
                        p.refresh(&name).ok()?;
                        Some(())
                    })();
                    if ok.is_some() {
                        done.fetch_add(1, Ordering::SeqCst);
                    } else {
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let per_s = done.load(Ordering::SeqCst) as f64 / started.elapsed().as_secs_f64();
    let commits = p.store.commits();
    drop(p);
    Flows { per_s, flows: done.load(Ordering::SeqCst), failures: failed.load(Ordering::SeqCst), store_commits: commits }
}
