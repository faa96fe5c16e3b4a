//! The platform on PostgreSQL, against a real server started for each test (Debian's
//! postgresql; `pg-cluster` makes a throwaway cluster): the lifecycle with secrets sealed,
//! versioned migrations, one refresh per connection across processes (a lease in the row, never
//! a lock held across the token request), a crashed holder's lease taken over, the fence that
//! keeps a late writer from putting an older token set over a newer one, and keep-alive as a
//! queue that two processes share.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use e2e::mock_entra::browser::{sign_in, BrowserOutcome};
use e2e::mock_entra::{Endpoint, MockConfig, MockEntra};
use e2e::*;
use host_harness::platform::{
    KeepaliveOptions, Platform, PlatformError, PostgresStore, Status, Store, KEEPALIVE_AFTER_SECS,
};
use pg_cluster::Cluster;
use serde_json::json;

/// A mock whose every answer waits `latency_ms`.
fn mock(latency_ms: u64) -> MockEntra {
    MockEntra::start_with(MockConfig { redirect_uris: vec![REDIRECT_URI.into()], latency_ms, ..Default::default() })
        .unwrap()
}

/// A "process": its own pool to the database, its own lease owner, the shared clock.
fn platform(url: &str, key: &std::path::Path, mock: &MockEntra, clock: &Arc<AtomicI64>) -> Platform {
    let store = PostgresStore::open(url, key).unwrap();
    let c = clock.clone();
    let host = Arc::new(World::new_host_for(mock));
    Platform::new(host, store, REDIRECT_URI, Arc::new(move || c.load(Ordering::SeqCst))).unwrap().with_lease_secs(30)
}

fn connect(p: &Platform, name: &str) {
    p.create(&json!({"name": name, "scopes": ["User.Read"]})).unwrap();
    let start = p.begin_authorization(name).unwrap();
    let location = match sign_in(&start.url, None, true).unwrap() {
        BrowserOutcome::Redirected(l) => l,
        other => panic!("{other:?}"),
    };
    let q = form_urlencoded_pairs(location.split_once('?').unwrap().1);
    p.complete_authorization(&q).unwrap();
}

fn refresh_grants(mock: &MockEntra) -> usize {
    mock.requests_to(Endpoint::Token)
        .iter()
        .filter(|r| r.form.get("grant_type").map(String::as_str) == Some("refresh_token"))
        .count()
}

struct Db {
    cluster: Cluster,
    url: String,
    key: tempfile::TempDir,
}

fn db() -> Db {
    let cluster = Cluster::start();
    let url = cluster.database("platform");
    Db { cluster, url, key: tempfile::tempdir().unwrap() }
}

impl Db {
    fn key_file(&self) -> std::path::PathBuf {
        self.key.path().join("store.key")
    }
}

#[test]
fn the_lifecycle_on_postgres_with_secrets_sealed_and_migrations_versioned() {
    let d = db();
    let m = mock(0);
    let clock = Arc::new(AtomicI64::new(now()));
    let p = platform(&d.url, &d.key_file(), &m, &clock);
    connect(&p, "HR");
    let r = p.store.get("HR").unwrap();
    assert_eq!(r.status, Status::Connected);
    assert_eq!(r.secrets.refresh_token, m.latest_refresh_token());
    assert_eq!(r.keepalive.next_at, Some(r.last_refresh_at.unwrap() + KEEPALIVE_AFTER_SECS));
    let token = p.access_token("HR").unwrap();
    assert_eq!(Some(token), r.secrets.access_token);
    let refreshed = p.refresh("HR").unwrap();
    assert_eq!(refreshed.generation, r.generation + 1);
    assert_eq!(refreshed.secrets.refresh_token, m.latest_refresh_token());
    assert!(matches!(p.create(&json!({"name": "HR", "scopes": ["User.Read"]})), Err(PlatformError::NameTaken(_))));

    // Statements are prepared once per pooled connection, not once per call.
    let store = PostgresStore::open(&d.url, &d.key_file()).unwrap();
    let before = store.statements_prepared();
    for _ in 0..50 {
        store.get("HR").unwrap();
        assert!(store.take_lease("HR", "me", now(), now() + 30).unwrap());
        store.release_lease("HR", "me").unwrap();
    }
    // At most the three statements on each connection the pool opened (it opens more in the
    // background to keep one idle), never one per call: the pool holds at most 32, so this also
    // stays under the 150 a statement prepared per call would make.
    let prepared = store.statements_prepared() - before;
    let connections = u64::from(store.connections_open());
    assert!(
        (1..=3 * connections).contains(&prepared) && prepared < 150,
        "{prepared} statements prepared on {connections} connections for 150 calls of three statements"
    );

    // No token in clear anywhere in the row.
    let mut raw = postgres::Client::connect(&d.url, postgres::NoTls).unwrap();
    let row = raw.query_one("SELECT row_to_json(c)::text FROM connections c WHERE name='HR'", &[]).unwrap();
    let text: String = row.get(0);
    for secret in [refreshed.secrets.access_token.unwrap(), refreshed.secrets.refresh_token.unwrap()] {
        assert!(!text.contains(&secret[..40]), "a token in clear");
    }
    // Migrations are versioned and applied once, however many processes open the store.
    let again = PostgresStore::open(&d.url, &d.key_file()).unwrap();
    assert_eq!(again.schema_versions().unwrap(), vec![1, 2]);
    // Another key cannot open the sealed part.
    let other_key = tempfile::tempdir().unwrap();
    let stranger = PostgresStore::open(&d.url, &other_key.path().join("k")).unwrap();
    assert!(matches!(stranger.get("HR"), Err(PlatformError::Key(_) | PlatformError::Store(_))));
    drop(d.cluster);
}

/// Two processes, 20 callers each, one connection whose access token expired, a token endpoint
/// that takes 300 ms: one refresh reaches it, and every caller gets the new token.
#[test]
fn one_refresh_across_processes() {
    let d = db();
    let m = mock(300);
    let clock = Arc::new(AtomicI64::new(now()));
    let a = Arc::new(platform(&d.url, &d.key_file(), &m, &clock));
    let b = Arc::new(platform(&d.url, &d.key_file(), &m, &clock));
    connect(&a, "Shared");
    clock.fetch_add(3600, Ordering::SeqCst);
    m.advance_clock(3600);
    let before = refresh_grants(&m);
    let callers: Vec<_> = (0..40)
        .map(|i| {
            let p = if i % 2 == 0 { a.clone() } else { b.clone() };
            std::thread::spawn(move || p.access_token("Shared").unwrap())
        })
        .collect();
    let tokens: Vec<String> = callers.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(refresh_grants(&m) - before, 1, "one refresh for both processes");
    let stored = a.store.get("Shared").unwrap();
    assert!(tokens.iter().all(|t| Some(t) == stored.secrets.access_token.as_ref()));
    assert_eq!(stored.secrets.refresh_token, m.latest_refresh_token());
}

/// A holder that crashed keeps its lease until it ends; then another process takes it over
/// and refreshes once.
#[test]
fn a_crashed_holders_lease_is_taken_over_when_it_ends() {
    let d = db();
    let m = mock(0);
    let clock = Arc::new(AtomicI64::new(now()));
    let p = Arc::new(platform(&d.url, &d.key_file(), &m, &clock));
    connect(&p, "Orphaned");
    clock.fetch_add(3600, Ordering::SeqCst);
    m.advance_clock(3600);
    let t = clock.load(Ordering::SeqCst);
    assert!(p.store.take_lease("Orphaned", "crashed-process", t, t + 20).unwrap());
    assert!(!p.store.take_lease("Orphaned", "someone-else", t, t + 20).unwrap(), "a live lease is not taken");
    let before = refresh_grants(&m);
    let waiter = {
        let p = p.clone();
        std::thread::spawn(move || p.access_token("Orphaned"))
    };
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(refresh_grants(&m), before, "no refresh while the crashed holder's lease lasts");
    clock.fetch_add(21, Ordering::SeqCst);
    let token = waiter.join().unwrap().unwrap();
    assert_eq!(refresh_grants(&m) - before, 1);
    assert_eq!(Some(token), p.store.get("Orphaned").unwrap().secrets.access_token);
}

/// The fence: a writer whose lease ended and was taken over cannot write its older token set,
/// and a change made from an old read is refused as changed.
#[test]
fn a_late_writer_never_puts_an_older_token_set_over_a_newer_one() {
    let d = db();
    let m = mock(0);
    let clock = Arc::new(AtomicI64::new(now()));
    let p = platform(&d.url, &d.key_file(), &m, &clock);
    connect(&p, "Fenced");
    let read = p.store.get("Fenced").unwrap();
    let g = read.generation;
    let t = clock.load(Ordering::SeqCst);
    assert!(p.store.take_lease("Fenced", "late", t, t + 10).unwrap());
    // The late holder's lease ends; another takes over and writes its newer set.
    assert!(p.store.take_lease("Fenced", "prompt", t + 11, t + 40).unwrap());
    let mut newer = read.clone();
    newer.generation = g + 1;
    newer.secrets.refresh_token = Some("newer-refresh-token".into());
    assert!(p.store.update_leased(&newer, "prompt", g).unwrap());
    // The late one comes back with the set it got from its own (older) refresh.
    let mut older = read.clone();
    older.generation = g + 1;
    older.secrets.refresh_token = Some("older-refresh-token".into());
    assert!(!p.store.update_leased(&older, "late", g).unwrap(), "not its lease any more");
    assert!(p.store.take_lease("Fenced", "late", t + 12, t + 60).unwrap());
    assert!(!p.store.update_leased(&older, "late", g).unwrap(), "its lease again, but an old generation");
    assert!(matches!(p.store.update(&read, g), Err(PlatformError::Changed(_))));
    assert_eq!(p.store.get("Fenced").unwrap().secrets.refresh_token.as_deref(), Some("newer-refresh-token"));
}

/// 120 connections due for keep-alive, two processes claiming from one queue with 8 refreshes
/// in flight each: every connection refreshed exactly once, by one of them.
#[test]
fn two_processes_share_the_keepalive_queue() {
    let d = db();
    let m = mock(50);
    let clock = Arc::new(AtomicI64::new(now()));
    let a = Arc::new(platform(&d.url, &d.key_file(), &m, &clock));
    let b = Arc::new(platform(&d.url, &d.key_file(), &m, &clock));
    connect(&a, "Template");
    // Copies of one signed-in connection (the mock keeps a used refresh token valid, as Entra ID does).
    let template = a.store.get("Template").unwrap();
    for i in 0..119 {
        let mut r = template.clone();
        r.name = format!("Copy {i:03}");
        a.store.insert(&r).unwrap();
    }
    clock.fetch_add(KEEPALIVE_AFTER_SECS + 1, Ordering::SeqCst);
    m.advance_clock(KEEPALIVE_AFTER_SECS + 1);
    let before = refresh_grants(&m);
    let options = KeepaliveOptions { concurrency: 8, failing_days: 4 };
    let runs: Vec<_> = [a.clone(), b.clone()]
        .into_iter()
        .map(|p| std::thread::spawn(move || p.keepalive_with(options).unwrap()))
        .collect();
    let outcomes: Vec<Vec<_>> = runs.into_iter().map(|r| r.join().unwrap()).collect();
    let mut names: Vec<String> = outcomes
        .iter()
        .flatten()
        .map(|(n, o)| {
            assert!(o.is_ok(), "{n}: {o:?}");
            n.clone()
        })
        .collect();
    names.sort();
    let before_dedup = names.len();
    names.dedup();
    assert_eq!((before_dedup, names.len()), (120, 120), "each connection claimed once");
    assert!(
        outcomes.iter().all(|o| !o.is_empty()),
        "both processes took part: {:?}",
        outcomes.iter().map(Vec::len).collect::<Vec<_>>()
    );
    assert_eq!(refresh_grants(&m) - before, 120);
    // Nothing is due any more, and no per-connection state is left behind in either process.
    assert!(a.keepalive().unwrap().is_empty());
    assert_eq!((a.refreshing(), b.refreshing()), (0, 0));
}
