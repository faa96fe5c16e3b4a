//! `connector-bench serve [clients] [connections] [seconds]`: the service under load. A
//! `connector-host serve --mock` process with `connections` signed-in connections; `clients`
//! threads, each with its own keep-alive HTTP connection, ask for warm tokens of random
//! connections for `seconds`. Hand-outs per second, latency percentiles and errors, in
//! `target/bench-serve.json` and on stdout.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

/// A client of the load: every step but resolving bounded in time. A time limit on resolving
/// makes ureq resolve on a new thread for every request (even an address like 127.0.0.1), which
/// cost the clients about a sixth of their CPU, on the cores the server needs.
fn agent() -> ureq::Agent {
    let limit = Some(Duration::from_secs(30));
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(limit)
        .timeout_send_request(limit)
        .timeout_send_body(limit)
        .timeout_recv_response(limit)
        .timeout_recv_body(limit)
        .build()
        .into()
}

pub fn run(clients: usize, connections: usize, secs: u64) -> i32 {
    let bin = crate::root().join("target/release/connector-host");
    let dir = std::env::temp_dir().join(format!("connector-bench-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = dir.join("c.db");
    let store = store.to_str().unwrap();
    let out = Command::new(&bin).args(["api-keys", "create", "bench", "--store", store]).output().unwrap();
    let key = String::from_utf8_lossy(&out.stdout).lines().find(|l| l.starts_with("chk_")).unwrap().to_string();
    let mut child = Command::new(&bin)
        .args(["serve", "--mock", "--listen", "127.0.0.1:0", "--store", store, "--rate-limit", "1000000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let base = first.split_whitespace().find(|w| w.starts_with("http://")).unwrap().to_string();
    let auth = format!("Bearer {key}");

    // The connections, signed in through the API, the mock's consent page and the callback.
    let a = agent();
    let setup = Instant::now();
    for i in 0..connections {
        let name = format!("c{i}");
        let body = json!({"settings": {"name": name, "scopes": ["User.Read"]}}).to_string();
        a.post(format!("{base}/api/v1/connections"))
            .header("Authorization", &auth)
            .header("Content-Type", "application/json")
            .send(body)
            .unwrap();
        let mut r = a
            .post(format!("{base}/api/v1/connections/{name}/authorize"))
            .header("Authorization", &auth)
            .send_empty()
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        let location = mock_entra::browser::sign_in_redirect(v["url"].as_str().unwrap(), None, true).unwrap();
        a.get(&location).call().unwrap();
    }
    let setup_s = setup.elapsed().as_secs_f64();

    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|w| {
            let (base, auth, stop) = (base.clone(), auth.clone(), stop.clone());
            std::thread::spawn(move || {
                let a = agent();
                let (mut lat, mut errors) = (Vec::new(), 0usize);
                let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ w as u64;
                while !stop.load(Ordering::Relaxed) {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let name = format!("c{}", seed % connections as u64);
                    let t = Instant::now();
                    let ok = a
                        .post(format!("{base}/api/v1/connections/{name}/token"))
                        .header("Authorization", &auth)
                        .send_empty()
                        .map(|mut r| r.status().as_u16() == 200 && r.body_mut().read_to_string().is_ok())
                        .unwrap_or(false);
                    lat.push(t.elapsed().as_secs_f64() * 1e3);
                    if !ok {
                        errors += 1;
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let (mut lat, mut errors) = (Vec::new(), 0);
    for w in workers {
        let (l, e) = w.join().unwrap();
        lat.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    lat.sort_by(f64::total_cmp);
    let pct =
        |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0.0);
    let per_s = lat.len() as f64 / elapsed;
    let report = json!({
        "clients": clients, "connections": connections, "seconds": elapsed, "setup_seconds": setup_s,
        "handouts": lat.len(), "handouts_per_s": per_s, "errors": errors,
        "latency_ms": {"p50": pct(0.5), "p99": pct(0.99), "max": lat.last().copied().unwrap_or(0.0)},
        "machine": {"cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)},
    });
    let path = crate::root().join("target/bench-serve.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    println!(
        "serve: {per_s:.0} token hand-outs/s from {clients} clients over {connections} connections for {elapsed:.0} s; p50 {:.2} ms, p99 {:.2} ms; {errors} errors (setup {setup_s:.1} s); {}",
        pct(0.5),
        pct(0.99),
        path.display()
    );
    i32::from(errors > 0)
}
