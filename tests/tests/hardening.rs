//! Hardening through the real .wasm and the platform: hostile inputs, fault scenarios that
//! lose no refresh token, and load. Figures are printed for docs/reliability.md.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::mock_entra::browser::{sign_in, BrowserOutcome};
use e2e::mock_entra::{Calls, Endpoint, Fault};
use e2e::*;
use host_harness::platform::{Platform, Status};
use serde_json::{json, Value};

#[test]
fn hostile_inputs_get_an_answer_within_the_timeout_and_the_instance_survives() {
    let host = shared_host();
    let described = host.v1().describe(&Default::default()).unwrap().unwrap();
    let exports: Vec<&str> = described.exports.iter().map(|e| e.as_ref()).collect();
    let ten_mb = format!("{{\"settings\":{{\"name\":\"{}\",\"scopes\":[]}}}}", "x".repeat(10 * 1024 * 1024));
    let deep = format!("{{\"settings\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let many_scopes = json!({"settings": {"name": "n", "scopes": (0..100_000).map(|i| format!("S{i}.Read")).collect::<Vec<_>>()}, "redirect_uri": "https://a.example/cb", "state": STATE, "code_verifier": VERIFIER});
    let inputs: Vec<(String, Vec<u8>)> = vec![
        ("10 MB".into(), ten_mb.into_bytes()),
        ("deep nesting".into(), deep.into_bytes()),
        ("invalid UTF-8".into(), b"{\"settings\":\"\xc3\x28\"}".to_vec()),
        ("NUL bytes".into(), b"{\"settings\":{\"name\":\"a\x00b\",\"scopes\":[\"User.Read\"]},\"now\":\x00}".to_vec()),
        ("NUL in a string".into(), json!({"settings": {"name": "a\u{0}b", "scopes": ["User\u{0}Read"]}, "redirect_uri": "https://a.example/cb", "state": STATE, "code_verifier": VERIFIER}).to_string().into_bytes()),
        ("numbers out of range".into(), br#"{"phase":"graph","status":1e999,"now":-99999999999999999999999}"#.to_vec()),
        ("huge number".into(), json!({"settings": {"name": "n", "scopes": ["User.Read"]}, "refresh_token": "r", "now": u64::MAX}).to_string().into_bytes()),
        ("100k scopes".into(), many_scopes.to_string().into_bytes()),
        ("empty".into(), Vec::new()),
    ];
    let timeout = host.timeout();
    let mut answered = 0;
    for export in exports {
        for (what, input) in &inputs {
            let started = Instant::now();
            let text = host.call_raw(export, input).unwrap_or_else(|e| panic!("{export} <- {what}: host error {e}"));
            assert!(started.elapsed() < timeout, "{export} <- {what}");
            match host_harness::error::parse_envelope::<Value>(export, &text).unwrap() {
                Ok(_) => assert!(export == "describe" && what == "empty", "{export} <- {what} was accepted"),
                Err(e) => assert_eq!(e.code(), "invalid_input", "{export} <- {what}: {e}"),
            }
            answered += 1;
        }
        assert!(host.v1().describe(&Default::default()).unwrap().is_ok(), "the instance broke after {export}");
    }
    println!("hostile inputs: {answered} answered, 0 traps");
}

fn platform_for(world: &World, clock: Arc<AtomicI64>, backend: Backend) -> (Platform, TestStore) {
    platform_with_timeout(world, clock, None, backend)
}

fn platform_with_timeout(
    world: &World,
    clock: Arc<AtomicI64>,
    timeout_ms: Option<u64>,
    backend: Backend,
) -> (Platform, TestStore) {
    let host = Arc::new(World::host_with(&world.mock, timeout_ms));
    let store = backend.open();
    let p = Platform::on(host, store.store.clone(), REDIRECT_URI, Arc::new(move || clock.load(Ordering::SeqCst)));
    (p.unwrap(), store)
}

fn connect(p: &Platform, name: &str) {
    p.create(&json!({"name": name, "scopes": ["User.Read"]})).unwrap();
    let start = p.begin_authorization(name).unwrap();
    let loc = match sign_in(&start.url, None, true).unwrap() {
        BrowserOutcome::Redirected(l) => l,
        other => panic!("{other:?}"),
    };
    let q = form_urlencoded_pairs(loc.split_once('?').unwrap().1);
    p.complete_authorization(&q).unwrap();
}

#[test]
fn fault_scenarios_end_in_their_documented_state_and_lose_no_refresh_token_on_sqlite() {
    fault_scenarios(Backend::Sqlite);
}

#[test]
fn fault_scenarios_end_in_their_documented_state_and_lose_no_refresh_token_on_postgres() {
    fault_scenarios(Backend::Postgres);
}

/// The load tests count this process's file descriptors and memory, so the tests that open
/// stores (a PostgreSQL pool holds sockets) take turns.
static ONE_STORE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn fault_scenarios(backend: Backend) {
    let _turn = ONE_STORE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let world = World::new();
    let clock = Arc::new(AtomicI64::new(now()));
    let (p, _store) = platform_for(&world, clock.clone(), backend);
    connect(&p, "F");
    let scenarios: Vec<(&str, Vec<Fault>, Status, bool)> = vec![
        (
            "429 then success",
            vec![Fault::Status { status: 429, retry_after: Some("0".into()) }],
            Status::Connected,
            true,
        ),
        (
            "503 then success",
            vec![Fault::Status { status: 503, retry_after: Some("0".into()) }],
            Status::Connected,
            true,
        ),
        ("dropped connection then success", vec![Fault::Drop], Status::Connected, true),
        ("HTML page then success", vec![Fault::Html { status: 502 }], Status::Connected, true),
        ("truncated JSON (400)", vec![Fault::TruncatedJson { status: 400 }], Status::NeedsAttention, false),
        (
            "503 three times",
            vec![Fault::Status { status: 503, retry_after: Some("0".into()) }; 3],
            Status::Connected,
            false,
        ),
        ("revoked refresh token", vec![Fault::RevokedRefreshToken], Status::NeedsReauthorization, false),
    ];
    let mut injected = 0;
    for (what, faults, status, succeeds) in scenarios {
        // Back to a good state before each scenario.
        if p.store.get("F").unwrap().status != Status::Connected {
            p.store.delete("F").unwrap();
            connect(&p, "F");
        }
        for f in &faults {
            world.mock.script(Endpoint::Token, Calls::Next(1), f.clone());
            injected += 1;
        }
        let result = p.refresh("F");
        assert_eq!(result.is_ok(), succeeds, "{what}: {result:?}");
        let r = p.store.get("F").unwrap();
        assert_eq!(r.status, status, "{what}");
        // No refresh token lost: the stored one is the newest the mock issued.
        assert_eq!(
            r.secrets.refresh_token,
            world.mock.latest_refresh_token(),
            "{what}: the stored refresh token is not the newest"
        );
        world.mock.clear_faults();
    }
    // A slow answer past the call's timeout: transient, the token kept.
    let slow_world = World::new();
    let (sp, _d) = platform_with_timeout(&slow_world, Arc::new(AtomicI64::new(now())), Some(1000), backend);
    connect(&sp, "S");
    slow_world.mock.script(Endpoint::Token, Calls::Next(3), Fault::Slow { delay_ms: 1500 });
    assert!(sp.refresh("S").is_err());
    injected += 3;
    let r = sp.store.get("S").unwrap();
    assert_eq!(r.status, Status::Connected);
    assert_eq!(r.secrets.refresh_token, slow_world.mock.latest_refresh_token());
    println!("fault scenarios on {backend:?}: {injected} faults injected, refresh tokens lost = 0");
}

#[test]
fn load_flows_and_token_handouts_with_eight_workers_on_sqlite() {
    load(Backend::Sqlite);
}

#[test]
fn load_flows_and_token_handouts_with_eight_workers_on_postgres() {
    load(Backend::Postgres);
}

fn load(backend: Backend) {
    let _turn = ONE_STORE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let flows: usize = std::env::var("LOAD_FLOWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let handouts: usize = std::env::var("LOAD_HANDOUTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let fds_before = open_fds();
    let rss_before = rss_kib();
    let started = Instant::now();
    {
        let world = Arc::new(World::new());
        let clock = Arc::new(AtomicI64::new(now()));
        let (p, _store) = platform_for(&world, clock, backend);
        let p = Arc::new(p);
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let (p, next) = (p.clone(), next.clone());
                std::thread::spawn(move || {
                    let mut done = 0;
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= flows {
                            return done;
                        }
                        let name = format!("conn-{i}");
                        connect(&p, &name);
                        p.refresh(&name).unwrap();
                        done += 1;
                    }
                })
            })
            .collect();
        let completed: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
        assert_eq!(completed, flows);
        let flow_secs = started.elapsed().as_secs_f64();
        let t = Instant::now();
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let (p, next) = (p.clone(), next.clone());
                std::thread::spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= handouts {
                        return;
                    }
                    let token: Value = json!(p.access_token(&format!("conn-{}", i % flows)).unwrap());
                    assert!(token.as_str().unwrap().starts_with("eyJ"));
                })
            })
            .collect();
        workers.into_iter().for_each(|w| w.join().unwrap());
        println!("load on {backend:?}: {flows} flows in {flow_secs:.1} s ({:.0}/s), {handouts} token hand-outs in {:.2} s, 8 workers, 0 failures", flows as f64 / flow_secs, t.elapsed().as_secs_f64());
    }
    std::thread::sleep(Duration::from_millis(300));
    let (fds_after, rss_after) = (open_fds(), rss_kib());
    println!("load on {backend:?}: open fds {fds_before} -> {fds_after}, RSS {rss_before} KiB -> {rss_after} KiB");
    assert!(fds_after <= fds_before + 8, "file descriptors leaked: {fds_before} -> {fds_after}");
    assert!(rss_after < rss_before + 256 * 1024, "RSS grew from {rss_before} to {rss_after} KiB");
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

fn rss_kib() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
