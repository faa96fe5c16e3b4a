//! `make bench`: what the connector costs beside the floor extism itself imposes, measured side
//! by side in one run (ratios, not absolute times, carry the budgets), plus cold start, size,
//! memory and whole flows against the mock. Writes `target/bench-report.json`, prints a table,
//! and exits 1 when a budget is missed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod measure;

use entra_id_connector::http::{HttpClient, HttpOutcome, HttpRequest, HttpResponse, TransportError};
use entra_id_connector::secret::Secret;
use entra_id_connector::settings::Platform as ConnectorPlatform;
use extism::{CompiledPlugin, Function, Manifest, Plugin, PluginBuilder, UserData, Wasm, PTR};
use host_harness::mock_entra::browser::{sign_in, BrowserOutcome};
use host_harness::mock_entra::{self, MockEntra};
use host_harness::platform::{Platform, Store};
use host_harness::ConnectorHost;
use measure::{fig, measure, measure_in_turn, median_of, ratio, Figure};
use serde_json::{json, Value};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REDIRECT: &str = "http://localhost:8400/callback";
/// Instances a bare engine of the bench holds at once, at most (it keeps batches of 25 alive).
const BENCH_MAX_INSTANCES: u32 = 64;

/// The connector's HTTP boundary natively, over ureq, for native figures of network exports.
struct NativeHttp(ureq::Agent);

impl HttpClient for NativeHttp {
    fn send(&mut self, r: &HttpRequest) -> HttpOutcome {
        let mut b = ureq::http::Request::builder().method(r.method.as_str()).uri(r.url.as_str());
        for (k, v) in &r.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        let req = b.body(r.body.clone().unwrap_or_default().into_bytes()).unwrap();
        match self.0.run(req) {
            Ok(mut resp) => HttpOutcome::Response(HttpResponse {
                status: resp.status().as_u16(),
                headers: resp
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                    .collect(),
                body: resp.body_mut().read_to_string().unwrap_or_default(),
                truncated: false,
            }),
            Err(e) => HttpOutcome::TransportError(TransportError { kind: "io".into(), message: e.to_string() }),
        }
    }
}

/// A table row: label, the floor taken in turn with it, wasm, native, answer bytes, moving us,
/// own work us (the last three 0 for rows that carry no comparison).
type Row = (String, Figure, Figure, Figure, usize, f64, f64);

/// What the bench knows of one measured export call: its figures, the floor and the moving
/// cost taken in turn with it, and the bytes it carried.
struct Measured<'a> {
    label: &'a str,
    in_turn: InTurn,
    native: Figure,
    input_bytes: usize,
    answer_bytes: usize,
    budgeted: bool,
}

/// The input of `sized_noop` that carries what a call with `input_bytes` in and `answer_bytes`
/// out carries: the answer's length, padded to the input's.
fn sized_input(input_bytes: usize, answer_bytes: usize) -> Vec<u8> {
    let mut sized = answer_bytes.to_string().into_bytes();
    sized.resize(input_bytes.max(sized.len()), b' ');
    sized
}

/// A call timed in turn with the floor and with what moving its bytes costs.
struct InTurn {
    floor: Figure,
    moved: Figure,
    wasm: Figure,
}

/// `call` timed in turn with the floor (`noop`) and with `sized_noop` carrying the same bytes
/// (`(input, answer)`); the floor's raw samples are added to `floor_samples`.
fn with_floor_and_moving(
    host: &ConnectorHost,
    samples: usize,
    (noop, floor_samples): (&mut dyn FnMut(), &mut Vec<f64>),
    (input_bytes, answer_bytes): (usize, usize),
    call: &mut dyn FnMut(),
) -> InTurn {
    let sized = sized_input(input_bytes, answer_bytes);
    let [fl, moved, w] = measure_in_turn(
        samples,
        [
            noop,
            &mut || {
                host.call_raw("sized_noop", &sized).unwrap();
            },
            call,
        ],
    );
    floor_samples.extend_from_slice(&fl);
    InTurn { floor: median_of(fl), moved: median_of(moved), wasm: median_of(w) }
}

/// The export's row and report entry, beside the floor and beside what extism charges for moving
/// this input and this answer with no work (`sized_noop`), both taken in turn with it.
fn sized_row(m: Measured) -> (Row, Value) {
    let InTurn { floor, moved, wasm } = m.in_turn;
    let own = (wasm.median - moved.median).max(0.0);
    let entry = json!({
        "wasm_us": fig(wasm),
        "native_us": fig(m.native),
        "floor_us": fig(floor),
        "ratio_to_floor": ratio(wasm.median, floor.median),
        "input_bytes": m.input_bytes,
        "answer_bytes": m.answer_bytes,
        "moving_floor_us": fig(moved),
        "own_work_us": (own * 10.0).round() / 10.0,
        "own_work_to_floor": ratio(own, floor.median),
        "budgeted": m.budgeted,
    });
    ((m.label.to_string(), floor, wasm, m.native, m.answer_bytes, moved.median, own), entry)
}

/// A network export's row and report entry: no moving cost, the export's time is the network's.
fn network_row(label: &str, floor: Figure, wasm: Figure, native: Figure) -> (Row, Value) {
    let entry = json!({"wasm_us": fig(wasm), "native_us": fig(native), "floor_us": fig(floor), "ratio_to_floor": ratio(wasm.median, floor.median)});
    ((label.to_string(), floor, wasm, native, 0, 0.0, 0.0), entry)
}

/// Keeps the last outcome a client gave, to replay it.
struct Recording<C>(C, Option<HttpOutcome>);

impl<C: HttpClient> HttpClient for Recording<C> {
    fn send(&mut self, r: &HttpRequest) -> HttpOutcome {
        let outcome = self.0.send(r);
        self.1 = Some(outcome.clone());
        outcome
    }
}

/// Answers every request with the same outcome.
struct Canned(HttpOutcome);

impl HttpClient for Canned {
    fn send(&mut self, _: &HttpRequest) -> HttpOutcome {
        self.0.clone()
    }
}

/// A bare instance configured as the host configures the connector for the mock, whose
/// `connector_http` answers every request with `outcome`: a network export's own work, without the
/// network and without the host's outbound path.
fn canned_instance(wasm: &[u8], mock: &MockEntra, outcome: &HttpOutcome) -> Plugin {
    let config = mock_entra::load_options(&mock.base_url()).config;
    let manifest = Manifest::new([Wasm::data(wasm.to_vec())]).with_config(config.into_iter());
    bare_builder(manifest, serde_json::to_string(outcome).unwrap(), true).build().unwrap()
}

/// A connector built outside `ConnectorHost`, with the host's engine configuration and compile
/// cache, whose `connector_http` answers every request with `answer`, with or without fuel.
fn bare_builder(manifest: Manifest, answer: String, fuel: bool) -> PluginBuilder<'static> {
    let http = Function::new("connector_http", [PTR], [PTR], UserData::new(()), move |plugin, _inputs, outputs, _| {
        let h = plugin.memory_new(&answer)?;
        outputs[0] = plugin.memory_to_val(h);
        Ok(())
    });
    let b = PluginBuilder::new(manifest)
        .with_wasmtime_config(host_harness::host::engine_config(BENCH_MAX_INSTANCES))
        .with_wasi(false)
        .with_functions([http]);
    let b = host_harness::cache::apply(b, &host_harness::CompileCache::Platform).expect("the compile cache");
    if fuel {
        b.with_fuel_limit(5_000_000_000)
    } else {
        b
    }
}

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn settings() -> Value {
    json!({"name": "Bench", "scopes": ["User.Read", "User.ReadBasic.All"]})
}

fn large_graph_error() -> String {
    let mut inner = json!({"date": "2026-11-27T10:00:00", "request-id": "3ed2d3e5-0b9a-4b1a-8c8f-7a1e2f3d4c5b", "client-request-id": "9a8b7c6d-0b9a-4b1a-8c8f-7a1e2f3d4c5b"});
    for i in 0..8 {
        inner = json!({"code": format!("inner{i}"), "message": "x".repeat(200), "innerError": inner});
    }
    json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation.", "innerError": inner}}).to_string()
}

const TOKEN_ERROR: &str = r#"{"error":"invalid_grant","error_description":"AADSTS70008: The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.\r\nTrace ID: 255d1aef-8c98-452f-ac51-23d051240864\r\nCorrelation ID: fb3d2015-bc17-4bb9-bb85-30c5cf1aaaa7\r\nTimestamp: 2026-01-09 02:02:12Z","error_codes":[70008],"timestamp":"2026-01-09 02:02:12Z","trace_id":"255d1aef-8c98-452f-ac51-23d051240864","correlation_id":"fb3d2015-bc17-4bb9-bb85-30c5cf1aaaa7"}"#;

fn code_for(host: &ConnectorHost) -> String {
    let out = host.authorize_url(&json!({"settings": settings(), "redirect_uri": REDIRECT, "state": "bench-state-0123456789", "code_verifier": VERIFIER})).unwrap().unwrap();
    match sign_in(out["url"].as_str().unwrap(), None, true).unwrap() {
        BrowserOutcome::Redirected(loc) => form_urlencoded::parse(loc.split_once('?').unwrap().1.as_bytes())
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned(),
        other => panic!("{other:?}"),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn host_for(mock: &MockEntra) -> ConnectorHost {
    let options = mock_entra::load_options(&mock.base_url());
    ConnectorHost::load(&root().join("manifests/microsoft-entra-id.json"), &options)
        .expect("the connector loads (make build)")
}

/// Bytes of machine code wasmtime makes of the module with the host's engine configuration plus the
/// fuel metering and epoch checks extism adds: what a warm-cache load reads and decompresses.
fn compiled_bytes(wasm: &[u8]) -> usize {
    let mut config = host_harness::host::engine_config(BENCH_MAX_INSTANCES);
    config.consume_fuel(true).epoch_interruption(true);
    wasmtime::Engine::new(&config).and_then(|engine| engine.precompile_module(wasm)).map_or(0, |code| code.len())
}

fn builder(wasm: &[u8]) -> PluginBuilder<'static> {
    builder_fuel(wasm, true)
}

/// The connector with the platform's app configured, every request refused.
fn builder_fuel(wasm: &[u8], fuel: bool) -> PluginBuilder<'static> {
    let manifest = Manifest::new([Wasm::data(wasm.to_vec())]).with_config_key("client_id", mock_entra::TEST_CLIENT_ID);
    bare_builder(manifest, r#"{"transport_error":{"kind":"blocked_host","message":"bench"}}"#.into(), fuel)
}

fn rss(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// Whole flows (create, Save and authorize, consent, exchange, test, refresh) for `secs` with
/// `workers` threads: (flows per second, flows, failures, store transactions committed).
fn flows(mock: &MockEntra, workers: usize, secs: f64) -> (f64, usize, usize, u64) {
    let dir = std::env::temp_dir().join(format!("connector-bench-{}-{workers}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let p = Arc::new(
        Platform::new(
            Arc::new(host_for(mock)),
            Store::open(&dir.join("b.db")).unwrap(),
            REDIRECT,
            host_harness::platform::system_clock(),
        )
        .unwrap(),
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
                        let BrowserOutcome::Redirected(loc) = sign_in(&start.url, None, true).ok()? else {
                            return None;
                        };
                        let q = form_urlencoded::parse(loc.split_once('?')?.1.as_bytes()).into_owned().collect();
                        p.complete_authorization(&q).ok()?;
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
    let _ = std::fs::remove_dir_all(&dir);
    (per_s, done.load(Ordering::SeqCst), failed.load(Ordering::SeqCst), commits)
}

fn main() {
    std::process::exit(run());
}

fn run() -> i32 {
    let mock = MockEntra::start().expect("the mock starts");
    // `connector-bench flows [workers] [seconds]`: only the flows, for looking into them.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("flows") {
        let workers = args.get(1).and_then(|w| w.parse().ok()).unwrap_or(8);
        let secs = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(4.0);
        let (per_s, n, failed, commits) = flows(&mock, workers, secs);
        println!(
            "flows: {per_s:.1}/s with {workers} workers ({n} flows, {failed} failures, {commits} store commits, {:.2} per flow)",
            commits as f64 / n.max(1) as f64
        );
        return i32::from(failed > 0);
    }
    let host = host_for(&mock);
    let wasm = host.loaded().wasm.clone();
    let wasm_bytes = wasm.len();
    let platform = ConnectorPlatform {
        client_id: Some(mock_entra::TEST_CLIENT_ID.into()),
        client_secret: Some(Secret::new(mock_entra::TEST_CLIENT_SECRET)),
        login_base_url: Some(mock.base_url()),
        graph_base_url: Some(mock.base_url()),
    };

    // The floor: the cheapest export through the same host path (`noop`, a constant answer). It
    // is taken in turn with every figure that is compared with it; `floor_us` pools those samples.
    let mut floor_samples: Vec<f64> = Vec::new();
    let mut noop = || {
        host.call_raw("noop", b"").unwrap();
    };

    let auth = json!({"settings": settings(), "redirect_uri": REDIRECT, "state": "bench-state-0123456789", "code_verifier": VERIFIER, "nonce": "bench-nonce-0123456789"});
    let consent = json!({"settings": settings(), "redirect_uri": REDIRECT, "state": "bench-state-0123456789"});
    let graph_error =
        json!({"phase": "graph", "status": 403, "headers": {"request-id": "r"}, "body": large_graph_error()});
    let token_error = json!({"phase": "token", "status": 400, "body": TOKEN_ERROR});
    // (label, export, input, another input: when set, calls alternate between the two so that
    // the instance's remembered answer never serves; such rows are information, not budgets).
    let cases: Vec<(&str, &str, Value, Option<Value>)> = vec![
        ("describe", "describe", json!({}), None),
        ("describe (not remembered)", "describe", json!({}), Some(json!({"settings": null}))),
        ("list_scopes", "list_scopes", json!({}), None),
        ("list_scopes (not remembered)", "list_scopes", json!({}), Some(json!({"settings": null}))),
        ("authorize_url", "authorize_url", auth, None),
        ("admin_consent_url", "admin_consent_url", consent, None),
        ("classify_error (large Graph error)", "classify_error", graph_error, None),
        ("classify_error (token error)", "classify_error", token_error, None),
    ];
    let mut exports = serde_json::Map::new();
    let mut violations = Vec::new();
    let mut rows = Vec::new();
    let mut memo = entra_id_connector::api::Memo::default();
    for (label, export, input, other) in &cases {
        let bytes = input.to_string().into_bytes();
        let other = other.as_ref().map(|o| o.to_string().into_bytes());
        let answer_bytes = host.call_raw(export, &bytes).unwrap().len();
        let mut flip = false;
        let mut next_input = || {
            flip = !flip;
            match (&other, flip) {
                (Some(o), true) => o.clone(),
                _ => bytes.clone(),
            }
        };
        let in_turn = with_floor_and_moving(
            &host,
            2000,
            (&mut noop, &mut floor_samples),
            (bytes.len(), answer_bytes),
            &mut || {
                let input = next_input();
                host.call_raw(export, &input).unwrap();
            },
        );
        let n = measure(2000, || {
            let input = next_input();
            if other.is_some() {
                entra_id_connector::api::call(export, &input, &platform, &mut entra_id_connector::http::NoHttp);
            } else {
                memo.call(export, &input, &platform, &mut entra_id_connector::http::NoHttp);
            }
        });
        let budgeted = other.is_none();
        let measured = Measured { label, in_turn, native: n, input_bytes: bytes.len(), answer_bytes, budgeted };
        let (row, entry) = sized_row(measured);
        // The row's wasm figure over the floor taken beside it, as the table shows it.
        let r = row.2.median / row.1.median;
        if budgeted && r > 1.5 {
            violations.push(format!("{label}: ratio_to_floor {r:.2} > 1.5"));
        }
        rows.push(row);
        exports.insert(label.to_string(), entry);
    }
    // Network exports against the mock on loopback.
    let codes: Vec<String> = (0..60).map(|_| code_for(&host)).collect();
    let mut it = codes.into_iter();
    let [fl, w] = measure_in_turn(
        50,
        [&mut noop, &mut || {
            let code = it.next().unwrap_or_default();
            host.exchange_code(&json!({"settings": settings(), "redirect_uri": REDIRECT, "code": code, "code_verifier": VERIFIER, "now": now()})).unwrap().ok();
        }],
    );
    floor_samples.extend_from_slice(&fl);
    let (fl, w) = (median_of(fl), median_of(w));
    let native_codes: Vec<String> = (0..60).map(|_| code_for(&host)).collect();
    let mut it = native_codes.into_iter();
    let mut nh = NativeHttp(ureq::Agent::config_builder().http_status_as_error(false).build().into());
    let n = measure(50, || {
        let code = it.next().unwrap_or_default();
        let input = json!({"settings": settings(), "redirect_uri": REDIRECT, "code": code, "code_verifier": VERIFIER, "now": now()}).to_string();
        entra_id_connector::api::call("exchange_code", input.as_bytes(), &platform, &mut nh);
    });
    let (row, entry) = network_row("exchange_code (mock)", fl, w, n);
    rows.push(row);
    exports.insert("exchange_code".into(), entry);
    let t = host.exchange_code(&json!({"settings": settings(), "redirect_uri": REDIRECT, "code": code_for(&host), "code_verifier": VERIFIER, "now": now()})).unwrap().unwrap();
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    let input = json!({"settings": settings(), "refresh_token": rt, "now": now()});
    let [fl, w] = measure_in_turn(
        200,
        [&mut noop, &mut || {
            host.refresh_token(&input).unwrap().unwrap();
        }],
    );
    floor_samples.extend_from_slice(&fl);
    let (fl, w) = (median_of(fl), median_of(w));
    let bytes = input.to_string().into_bytes();
    let n = measure(200, || {
        entra_id_connector::api::call("refresh_token", &bytes, &platform, &mut nh);
    });
    let (row, entry) = network_row("refresh_token (mock)", fl, w, n);
    rows.push(row);
    exports.insert("refresh_token".into(), entry);

    // The same two exports with the token endpoint's answer recorded once and replayed: the
    // connector's own work (reading the answer, checking the id_token, writing the token set),
    // apart from the network. Information, not budgets.
    let exchange = json!({"settings": settings(), "redirect_uri": REDIRECT, "code": code_for(&host), "code_verifier": VERIFIER, "now": now()});
    for (label, export, input) in [
        ("exchange_code (canned answer)", "exchange_code", exchange),
        ("refresh_token (canned answer)", "refresh_token", input.clone()),
    ] {
        let bytes = input.to_string().into_bytes();
        let mut recording =
            Recording(NativeHttp(ureq::Agent::config_builder().http_status_as_error(false).build().into()), None);
        let first = entra_id_connector::api::call(export, &bytes, &platform, &mut recording);
        assert!(first.starts_with("{\"ok\""), "{label}: {first}");
        let outcome = recording.1.expect("the export made a request");
        let mut instance = canned_instance(&wasm, &mock, &outcome);
        let answer_bytes = instance.call::<&[u8], &[u8]>(export, &bytes).unwrap().len();
        let in_turn = with_floor_and_moving(
            &host,
            500,
            (&mut noop, &mut floor_samples),
            (bytes.len(), answer_bytes),
            &mut || {
                instance.call::<&[u8], &[u8]>(export, &bytes).unwrap();
            },
        );
        let mut canned = Canned(outcome);
        let n = measure(500, || {
            entra_id_connector::api::call(export, &bytes, &platform, &mut canned);
        });
        let measured = Measured { label, in_turn, native: n, input_bytes: bytes.len(), answer_bytes, budgeted: false };
        let (row, entry) = sized_row(measured);
        rows.push(row);
        exports.insert(label.to_string(), entry);
    }
    let floor = median_of(floor_samples);

    // Cold start.
    let compile = measure(5, || {
        CompiledPlugin::new(builder(&wasm).with_cache_disabled()).unwrap();
    });
    let compile_cached = measure(20, || {
        CompiledPlugin::new(builder(&wasm)).unwrap();
    });
    let compiled = CompiledPlugin::new(builder(&wasm)).unwrap();
    // A new instance ready to call. `Plugin::new_from_compiled` makes the store, the linker and
    // extism's kernel instance; extism instantiates the connector's module itself lazily, at the
    // first call. Each sample times a new instance and its first `noop`, less a `noop` on a warm
    // instance of the same kind (bare, without the host's pool) timed right after: what is left is
    // the instance's making. Instances are dropped outside the timing, in batches.
    let mut warm = Plugin::new_from_compiled(&compiled).unwrap();
    let _: String = warm.call("noop", "").unwrap();
    let (mut made, mut complete) = (Vec::with_capacity(300), Vec::with_capacity(300));
    let mut kept = Vec::with_capacity(25);
    for i in 0..330 {
        let t = Instant::now();
        let mut p = Plugin::new_from_compiled(&compiled).unwrap();
        let new_us = t.elapsed().as_secs_f64() * 1e6;
        let t = Instant::now();
        let _: String = p.call("noop", "").unwrap();
        let first_us = t.elapsed().as_secs_f64() * 1e6;
        let t = Instant::now();
        let _: String = warm.call("noop", "").unwrap();
        let warm_us = t.elapsed().as_secs_f64() * 1e6;
        // The first 30 warm up.
        if i >= 30 {
            made.push(new_us);
            complete.push(new_us + first_us - warm_us);
        }
        kept.push(p);
        if kept.len() == 25 {
            kept.clear();
        }
    }
    drop(kept);
    let new_from_compiled = median_of(made);
    let instantiate = median_of(complete);
    // The first real call on an instance just made (the instance's making not counted): the
    // module's instantiation plus describe's answer, not remembered yet.
    let mut firsts = Vec::with_capacity(100);
    while firsts.len() < 100 {
        for mut p in (0..25).map(|_| Plugin::new_from_compiled(&compiled).unwrap()).collect::<Vec<_>>() {
            let t = Instant::now();
            let _: String = p.call("describe", "{}").unwrap();
            firsts.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    let first_call = median_of(firsts);

    // What fuel metering costs: authorize_url on a bare instance with and without fuel.
    let auth_bytes = cases[4].2.to_string().into_bytes();
    let mut with_fuel = Plugin::new_from_compiled(&compiled).unwrap();
    let fueled = measure(2000, || {
        let _: String = with_fuel.call("authorize_url", auth_bytes.as_slice()).unwrap();
    });
    let unfueled_compiled = CompiledPlugin::new(builder_fuel(&wasm, false)).unwrap();
    let mut without_fuel = Plugin::new_from_compiled(&unfueled_compiled).unwrap();
    let unfueled = measure(2000, || {
        let _: String = without_fuel.call("authorize_url", auth_bytes.as_slice()).unwrap();
    });

    // Memory: one instance, 1 then 1000 then 10000 mixed calls.
    let mut p = Plugin::new_from_compiled(&compiled).unwrap();
    let mixed: Vec<(&str, Vec<u8>)> = cases
        .iter()
        .map(|(_, e, i, _)| (*e, i.to_string().into_bytes()))
        .chain([("authorize_url", b"not json".to_vec()), ("exchange_code", b"{}".to_vec())])
        .collect();
    let mem_after = |p: &mut Plugin, calls: usize| -> u64 {
        for i in 0..calls {
            let (e, input) = &mixed[i % mixed.len()];
            let _: String = p.call(e, input.as_slice()).unwrap();
        }
        let m: String = p.call("memory_bytes", "").unwrap();
        m.parse().unwrap_or(0)
    };
    let mem_1 = mem_after(&mut p, 1);
    let mem_1000 = mem_after(&mut p, 999);
    let mem_10000 = mem_after(&mut p, 9000);
    if mem_10000 > mem_1000 {
        violations
            .push(format!("linear memory grew from {mem_1000} to {mem_10000} bytes between 1,000 and 10,000 calls"));
    }

    let (f1, n1, fail1, c1) = flows(&mock, 1, 4.0);
    let (f8, n8, fail8, c8) = flows(&mock, 8, 4.0);
    if f8 < 1.6 * f1 {
        violations.push(format!("flows: 8 workers {f8:.0}/s is less than 1.6 x 1 worker {f1:.0}/s"));
    }
    if fail1 + fail8 > 0 {
        violations.push(format!("flows: {} failures", fail1 + fail8));
    }
    if wasm_bytes > 200 * 1024 {
        violations.push(format!("wasm_bytes {wasm_bytes} > 204800"));
    }
    if instantiate.median > 300.0 {
        violations.push(format!("instantiate_us {:.0} > 300", instantiate.median));
    }
    if compile_cached.median / 1000.0 > 5.0 {
        violations.push(format!("compile_cached_ms {:.1} > 5", compile_cached.median / 1000.0));
    }

    let mut instantiate_entry = fig(instantiate);
    instantiate_entry["how"] =
        "new_from_compiled plus the new instance's first noop, less a warm instance's noop timed right after".into();
    instantiate_entry["new_from_compiled"] = fig(new_from_compiled);
    let report = json!({
        "machine": {"cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), "os": std::env::consts::OS},
        "wasm_bytes": wasm_bytes,
        "floor_us": fig(floor),
        "exports": exports,
        "compile_ms": {"median_ms": compile.median / 1000.0, "samples": compile.samples},
        "compile_cached_ms": {"median_ms": compile_cached.median / 1000.0, "samples": compile_cached.samples},
        "compiled_bytes": compiled_bytes(&wasm),
        "instantiate_us": instantiate_entry,
        "fuel_overhead": {"authorize_url_with_fuel": fig(fueled), "authorize_url_without_fuel": fig(unfueled)},
        "first_call_us": fig(first_call),
        "memory": {"linear_after_1": mem_1, "linear_after_1000": mem_1000, "linear_after_10000": mem_10000, "host_peak_rss": rss("VmHWM:")},
        "flows_per_s": {"workers_1": {"per_s": f1, "flows": n1, "failures": fail1, "store_commits": c1}, "workers_8": {"per_s": f8, "flows": n8, "failures": fail8, "store_commits": c8}},
        "budget_violations": violations,
    });
    let path = root().join("target/bench-report.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).unwrap();

    println!(
        "{:<36} {:>9} {:>9} {:>9} {:>8} {:>8} {:>9} {:>9}",
        "export", "floor us", "wasm us", "native us", "x floor", "bytes", "moving us", "own us"
    );
    println!("{:<36} {:>9.1} {:>9} {:>9} {:>8}", "floor (noop, all samples)", floor.median, "-", "-", "1.00");
    for (label, fl, w, n, bytes, moved, own) in &rows {
        let r = w.median / fl.median;
        let (fl, w, n) = (fl.median, w.median, n.median);
        if *bytes == 0 {
            println!("{label:<36} {fl:>9.1} {w:>9.1} {n:>9.1} {r:>8.2}");
        } else {
            println!("{label:<36} {fl:>9.1} {w:>9.1} {n:>9.1} {r:>8.2} {bytes:>8} {moved:>9.1} {own:>9.1}");
        }
    }
    println!("wasm {wasm_bytes} bytes ({} compiled); compile {:.1} ms (cache off), {:.2} ms (cached); instantiate {:.0} us ({:.0} of it new_from_compiled); first call {:.0} us", report["compiled_bytes"], compile.median / 1000.0, compile_cached.median / 1000.0, instantiate.median, new_from_compiled.median, first_call.median);
    println!(
        "linear memory {mem_1} -> {mem_1000} -> {mem_10000} bytes after 1 / 1,000 / 10,000 calls; host peak RSS {} MiB",
        rss("VmHWM:") / 1024 / 1024
    );
    println!(
        "flows: {f1:.1}/s with 1 worker, {f8:.1}/s with 8 ({:.2}x), failures {}; store commits per flow {:.2} and {:.2}",
        f8 / f1.max(0.001),
        fail1 + fail8,
        c1 as f64 / n1.max(1) as f64,
        c8 as f64 / n8.max(1) as f64
    );
    println!("report: {}", path.display());
    if violations.is_empty() {
        println!("budgets: all met");
        0
    } else {
        println!("budgets missed:");
        for v in &violations {
            println!("  - {v}");
        }
        1
    }
}
