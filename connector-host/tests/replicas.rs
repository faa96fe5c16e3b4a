//! Several `serve` replicas on one PostgreSQL database (a real server, started by the test),
//! against one mock Microsoft Entra ID run as a process of its own, which counts what reaches
//! it (`/_mock/stats`) and answers as slowly as asked: one refresh for 150 concurrent token
//! requests spread over three replicas; a replica killed in the middle of its refresh, taken
//! over when its lease ends, never losing the newest refresh token; PostgreSQL restarted under
//! load, the replicas answering 503 meanwhile and reconnecting by themselves.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{bin, enc};
use host_harness::platform::{PostgresStore, Store};
use pg_cluster::Cluster;
use serde_json::{json, Value};

/// The same sealing key for every replica (and for the test, which reads the store).
const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// A child process with its banner's first URL; killed when dropped.
struct Proc {
    child: Child,
    base: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(args: &[&str]) -> Proc {
    let mut child =
        bin().args(args).env("CONNECTOR_HOST_KEY", KEY).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // The banner's line with the address ("serving on", "listening on").
    let base = lines.by_ref().map_while(Result::ok).find_map(|l| {
        (l.contains("serving on") || l.contains("listening on"))
            .then(|| l.split_whitespace().find(|w| w.starts_with("http://")).map(str::to_string))
            .flatten()
    });
    let Some(base) = base else {
        let _ = child.kill();
        let mut err = String::new();
        let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err);
        panic!("{args:?} did not start: {err}");
    };
    // Keep reading its output so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    std::thread::spawn(move || stderr.by_ref().for_each(drop));
    Proc { child, base }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn call(base: &str, key: &str, method: &str, path: &str) -> (u16, Value) {
    let req = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"))
        .header("Authorization", format!("Bearer {key}"))
        .body(String::new())
        .unwrap();
    match agent().run(req) {
        Ok(mut r) => {
            let status = r.status().as_u16();
            let text = r.body_mut().read_to_string().unwrap_or_default();
            (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
        }
        Err(e) => (0, Value::String(e.to_string())),
    }
}

fn stats(mock: &Proc) -> Value {
    serde_json::from_str(
        &agent().get(format!("{}/_mock/stats", mock.base)).call().unwrap().body_mut().read_to_string().unwrap(),
    )
    .unwrap()
}

fn token_requests(mock: &Proc) -> u64 {
    stats(mock)["requests"]["token"].as_u64().unwrap_or(0)
}

/// A database, a mock process, an API key, and `n` replicas.
struct Platform {
    cluster: Cluster,
    url: String,
    mock: Proc,
    key: String,
    replicas: Vec<Proc>,
}

fn platform(n: usize, mock_args: &[&str], serve_args: &[&str]) -> Platform {
    let cluster = Cluster::start();
    let url = cluster.database("platform");
    let mut args = vec!["mock-entra", "--port", "0"];
    args.extend(mock_args);
    let mock = spawn(&args);
    let out =
        bin().args(["api-keys", "create", "flows", "--store", &url]).env("CONNECTOR_HOST_KEY", KEY).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8_lossy(&out.stdout).lines().find(|l| l.starts_with("chk_")).unwrap().to_string();
    let replicas = (0..n).map(|_| replica(&url, &mock.base, serve_args)).collect();
    Platform { cluster, url, mock, key, replicas }
}

fn replica(url: &str, mock: &str, extra: &[&str]) -> Proc {
    let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--store", url, "--mock-url", mock];
    args.extend(extra);
    spawn(&args)
}

impl Platform {
    /// Creates and signs in a connection through replica 0.
    fn connect(&self, name: &str) {
        let base = &self.replicas[0].base;
        let body = json!({"settings": {"name": name, "scopes": ["User.Read"]}}).to_string();
        let mut r = agent()
            .post(format!("{base}/api/v1/connections"))
            .header("Authorization", format!("Bearer {}", self.key))
            .header("Content-Type", "application/json")
            .send(&body)
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "{}", r.body_mut().read_to_string().unwrap());
        let (s, v) = call(base, &self.key, "POST", &format!("/api/v1/connections/{}/authorize", enc(name)));
        assert_eq!(s, 200, "{v}");
        let location = mock_entra::browser::sign_in_redirect(v["url"].as_str().unwrap(), None, true).unwrap();
        assert_eq!(agent().get(&location).call().unwrap().status().as_u16(), 200);
    }

    /// The store as the replicas see it (the key from a file: the environment is shared with
    /// the other tests).
    fn store(&self) -> (PostgresStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("store.key");
        std::fs::write(&key_file, KEY).unwrap();
        (PostgresStore::open(&self.url, &key_file).unwrap(), dir)
    }
}

#[test]
fn one_refresh_for_150_requests_over_three_replicas() {
    // Access tokens live 305 s: inside the platform's 300 s refresh margin after 5 s.
    let p = platform(3, &["--token-lifetime", "305"], &[]);
    p.connect("Shared");
    std::thread::sleep(Duration::from_millis(5500));
    let before = token_requests(&p.mock);
    let bases: Vec<String> = p.replicas.iter().map(|r| r.base.clone()).collect();
    let key = Arc::new(p.key.clone());
    let callers: Vec<_> = (0..150)
        .map(|i| {
            let (base, key) = (bases[i % 3].clone(), key.clone());
            std::thread::spawn(move || call(&base, &key, "POST", "/api/v1/connections/Shared/token"))
        })
        .collect();
    let answers: Vec<(u16, Value)> = callers.into_iter().map(|c| c.join().unwrap()).collect();
    assert!(answers.iter().all(|(s, _)| *s == 200), "{:?}", answers.iter().find(|(s, _)| *s != 200));
    assert_eq!(token_requests(&p.mock) - before, 1, "one token request for all three replicas");
    let tokens: std::collections::BTreeSet<&str> =
        answers.iter().map(|(_, v)| v["access_token"].as_str().unwrap()).collect();
    assert_eq!(tokens.len(), 1, "every caller got the one new token");
    drop(p.cluster);
}

fn kill_rounds() -> usize {
    std::env::var("REPLICA_KILL_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(6)
}

/// The replica holding the lease is killed (SIGKILL) while its token request is at the mock
/// (which answers after 1 s); another replica's refresh waits for the lease to end, then takes
/// it over. After every round the stored refresh token is the newest the mock issued.
#[test]
fn a_killed_lease_holder_is_taken_over_and_no_refresh_token_is_lost() {
    let mut p = platform(2, &["--latency-ms", "1000"], &["--lease-secs", "3"]);
    p.connect("Contested");
    let (store, _key) = p.store();
    for round in 0..kill_rounds() {
        let holder = p.replicas[0].base.clone();
        let key = p.key.clone();
        let doomed = std::thread::spawn(move || call(&holder, &key, "POST", "/api/v1/connections/Contested/refresh"));
        // The holder has taken the lease and its request is at the mock: kill it.
        let started = Instant::now();
        while store.take_lease("Contested", "probe", 0, 0).unwrap() {
            store.release_lease("Contested", "probe").unwrap();
            assert!(started.elapsed() < Duration::from_secs(10), "round {round}: the holder never took the lease");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        let _ = p.replicas[0].child.kill();
        let _ = p.replicas[0].child.wait();
        let _ = doomed.join();
        let (s, v) = call(&p.replicas[1].base, &p.key, "POST", "/api/v1/connections/Contested/refresh");
        assert_eq!(s, 200, "round {round}: {v}");
        let issued = stats(&p.mock)["issued_refresh_tokens"].as_array().unwrap().clone();
        let newest = issued.last().and_then(Value::as_str).map(str::to_string);
        let stored = store.get("Contested").unwrap().secrets.refresh_token;
        assert_eq!(stored, newest, "round {round}: the stored refresh token is the newest issued");
        p.replicas[0] = replica(&p.url, &p.mock.base, &["--lease-secs", "3"]);
    }
}

/// PostgreSQL stops under load: answers meanwhile are 503 with the store's error, never
/// another failure; it starts again and the same replicas answer 200 without a restart.
#[test]
fn postgres_restarted_under_load() {
    let p = platform(2, &[], &[]);
    p.connect("Steady");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = Arc::new(std::sync::Mutex::new(Vec::<(u16, String)>::new()));
    let load: Vec<_> = p
        .replicas
        .iter()
        .map(|r| {
            let (base, key, stop, seen) = (r.base.clone(), p.key.clone(), stop.clone(), seen.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let (s, v) = call(&base, &key, "POST", "/api/v1/connections/Steady/token");
                    seen.lock().unwrap().push((s, v["error"]["code"].as_str().unwrap_or("").to_string()));
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    p.cluster.stop();
    std::thread::sleep(Duration::from_secs(4));
    let during: Vec<(u16, String)> = std::mem::take(&mut *seen.lock().unwrap());
    p.cluster.restart();
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    load.into_iter().for_each(|t| t.join().unwrap());
    let after: Vec<(u16, String)> = std::mem::take(&mut *seen.lock().unwrap());
    assert!(during.iter().any(|(s, _)| *s == 503), "the outage was seen: {during:?}");
    for (s, code) in &during {
        assert!(*s == 200 || (*s == 503 && code == "store_unavailable"), "during the outage: {s} {code}");
    }
    let tail = &after[after.len().saturating_sub(10)..];
    assert!(tail.len() >= 4 && tail.iter().all(|(s, _)| *s == 200), "after the restart: {after:?}");
    for r in &p.replicas {
        let (s, _) = call(&r.base, &p.key, "GET", "/readyz");
        assert_eq!(s, 200);
    }
}
