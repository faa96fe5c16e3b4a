//! `connector-bench scale [connections] [latency_ms]`: keep-alive at scale on PostgreSQL.
//! `connections` signed-in connections (100 000 by default), all due, a mock Microsoft Entra ID
//! process whose every answer takes `latency_ms` (100 by default, about the real token
//! endpoint's), and `connector-host keepalive` processes as the replicas (64 refreshes in flight
//! each): refreshes per second with 1 and with 2 replicas, store bytes per connection, and each
//! replica's memory over its run. Figures in `target/bench-scale.json` and on stdout.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use host_harness::platform::{system_clock, Platform, PostgresStore, Store};
use host_harness::ConnectorHost;
use serde_json::json;

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const CONCURRENCY: usize = 64;

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `replicas` keep-alive processes at once; (seconds until the last one ended, each one's
/// RSS samples in KiB, how many ended with a failed refresh).
fn run_replicas(bin: &std::path::Path, url: &str, mock: &str, replicas: usize) -> (f64, Vec<Vec<u64>>, usize) {
    let started = Instant::now();
    let mut children: Vec<Child> = (0..replicas)
        .map(|_| {
            Command::new(bin)
                .args(["keepalive", "--store", url, "--mock-url", mock, "--concurrency"])
                .arg(CONCURRENCY.to_string())
                .env("CONNECTOR_HOST_KEY", KEY)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut samples = vec![Vec::new(); replicas];
    let mut ended = vec![None; replicas];
    while ended.iter().any(Option::is_none) {
        for (i, c) in children.iter_mut().enumerate() {
            match c.try_wait().unwrap() {
                Some(status) => ended[i] = Some(status.success()),
                None => samples[i].extend(rss_kib(c.id())),
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let failed = ended.iter().filter(|e| **e == Some(false)).count();
    (started.elapsed().as_secs_f64(), samples, failed)
}

fn summary(samples: &[u64]) -> serde_json::Value {
    let n = samples.len();
    let at = |pct: usize| samples.get(n * pct / 100).copied().unwrap_or(0) / 1024;
    // Ten points over the run: warm-up (instances and pooled connections made as the load
    // reaches them) shows at the start, a leak as a slope to the end.
    let deciles: Vec<u64> = (0..10).map(|d| at(d * 10 + 5)).collect();
    json!({"mib_at_25pct": at(25), "mib_at_50pct": at(50), "mib_at_75pct": at(75), "mib_by_decile": deciles,
           "mib_max": samples.iter().max().copied().unwrap_or(0) / 1024, "samples": n})
}

pub fn run(connections: usize, latency_ms: u64) -> i32 {
    let bin = crate::root().join("target/release/connector-host");
    // Shared buffers that hold the table (about 3.4 KB a connection, twice over for the versions an
    // update leaves until vacuum), as a server holding 100 000 connections would be sized; the
    // tests' 32 MB would make every claim and read a trip through the kernel's page cache.
    let cluster = pg_cluster::Cluster::start_with_buffers(&format!("{}MB", (connections * 8 / 1024).max(128)));
    let url = cluster.database("scale");
    let mut mock = Command::new(&bin)
        .args(["mock-entra", "--port", "0", "--latency-ms", &latency_ms.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(mock.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let mock_url = first.split_whitespace().find(|w| w.starts_with("http://")).unwrap().to_string();

    // One connection signed in at the mock, copied: the mock keeps a used refresh token valid,
    // as Entra ID does, so every copy refreshes.
    std::env::set_var("CONNECTOR_HOST_KEY", KEY);
    let store: Arc<dyn Store> = Arc::new(PostgresStore::open(&url, std::path::Path::new("/nonexistent")).unwrap());
    let manifest = crate::root().join("manifests/microsoft-entra-id.json");
    let host = Arc::new(ConnectorHost::load(&manifest, &connector_host::mock_idp::load_options(&mock_url)).unwrap());
    let p = Platform::on(host, store.clone(), "http://localhost/callback", system_clock()).unwrap();
    p.create(&json!({"name": "template", "scopes": ["User.Read"]})).unwrap();
    let start = p.begin_authorization("template").unwrap();
    let location = mock_entra::browser::sign_in_redirect(&start.url, None, true).unwrap();
    p.complete_authorization(&mock_entra::browser::query_of(&location)).unwrap();
    let template = store.get("template").unwrap();
    let seeding = Instant::now();
    let workers = 16;
    std::thread::scope(|s| {
        for w in 0..workers {
            let (store, template) = (store.clone(), template.clone());
            s.spawn(move || {
                for i in (w..connections.saturating_sub(1)).step_by(workers) {
                    let mut r = template.clone();
                    r.name = format!("c{i:06}");
                    r.keepalive.next_at = Some(0);
                    store.insert(&r).unwrap();
                }
            });
        }
    });
    let seeded_s = seeding.elapsed().as_secs_f64();
    let mut sql = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let due = "UPDATE connections SET next_keepalive_at = 0, lease_owner = NULL, lease_until = NULL";
    sql.batch_execute(due).unwrap();
    let row =
        sql.query_one("SELECT pg_total_relation_size('connections')::bigint, count(*) FROM connections", &[]).unwrap();
    let (bytes, count): (i64, i64) = (row.get(0), row.get(1));

    let (one_s, one_mem, one_failed) = run_replicas(&bin, &url, &mock_url, 1);
    sql.batch_execute(due).unwrap();
    let (two_s, two_mem, two_failed) = run_replicas(&bin, &url, &mock_url, 2);
    let left: i64 = sql
        .query_one("SELECT count(*) FROM connections WHERE next_keepalive_at <= extract(epoch from now())::bigint", &[])
        .unwrap()
        .get(0);
    let _ = mock.kill();
    let _ = mock.wait();

    let n = count as f64;
    let ideal = CONCURRENCY as f64 / (latency_ms as f64 / 1000.0);
    let report = json!({
        "connections": count,
        "latency_ms": latency_ms,
        "concurrency_per_replica": CONCURRENCY,
        "seed_seconds": seeded_s,
        "store_bytes_per_connection": bytes / count.max(1),
        "one_replica": {"seconds": one_s, "refreshes_per_s": n / one_s, "of_ideal": n / one_s / ideal, "memory": summary(&one_mem[0])},
        "two_replicas": {"seconds": two_s, "refreshes_per_s": n / two_s, "speedup": one_s / two_s,
                         "memory": two_mem.iter().map(|m| summary(m)).collect::<Vec<_>>()},
        "left_due": left,
        "replicas_with_failures": one_failed + two_failed,
    });
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    let _ = std::fs::write(crate::root().join("target/bench-scale.json"), report.to_string());
    i32::from(left != 0 || one_failed + two_failed > 0)
}
