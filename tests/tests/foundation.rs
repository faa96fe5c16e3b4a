//! Interface v1 through the real .wasm: describe, malformed input on every export, manifest
//! refusals, blocked hosts (directly and through a redirect), and calls that do not disturb
//! each other.

use std::time::{Duration, Instant};

use e2e::*;
use host_harness::{ConnectorHost, HostError, LoadOptions};
use serde_json::{json, Value};

fn settings() -> Value {
    json!({"name": "Directory", "scopes": ["User.Read"]})
}

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// A valid input for each export (that makes no request).
fn valid_inputs() -> Vec<(&'static str, Value)> {
    vec![
        ("describe", json!({})),
        ("validate_settings", json!({"settings": settings()})),
        ("list_scopes", json!({})),
        (
            "authorize_url",
            json!({"settings": settings(), "redirect_uri": "https://app.example.com/cb", "state": "s".repeat(32), "code_verifier": VERIFIER}),
        ),
        (
            "admin_consent_url",
            json!({"settings": settings(), "redirect_uri": "https://app.example.com/cb", "state": "s".repeat(32)}),
        ),
        (
            "exchange_code",
            json!({"settings": settings(), "redirect_uri": "https://app.example.com/cb", "code": "c", "code_verifier": VERIFIER, "now": 1_800_000_000}),
        ),
        ("refresh_token", json!({"settings": settings(), "refresh_token": "r", "now": 1_800_000_000})),
        ("test_connection", json!({"settings": settings(), "access_token": "t"})),
        ("classify_error", json!({"phase": "token", "status": 400})),
    ]
}

fn error_of(export: &str, input: &[u8]) -> host_harness::ConnectorError {
    let text = shared_host().call_raw(export, input).unwrap_or_else(|e| panic!("{export}: host error {e}"));
    host_harness::error::parse_envelope::<Value>(export, &text)
        .unwrap()
        .expect_err(&format!("{export} accepted {:?}", String::from_utf8_lossy(&input[..input.len().min(80)])))
}

#[test]
fn describe_is_the_connection_panel() {
    let d = shared_host().call("describe", &json!({})).unwrap().unwrap();
    assert_eq!(d["id"], "microsoft-entra-id");
    assert_eq!(d["interface_version"], 1);
    let settings = d["settings"].as_array().unwrap();
    assert_eq!(settings[0]["key"], "name");
    assert_eq!(settings[0]["label"], "Name your connection");
    assert_eq!(settings[0]["required"], true);
    assert_eq!(settings[1]["key"], "scopes");
    assert_eq!(settings[1]["kind"], "multiselect");
    assert_eq!(settings[1]["required"], true);
    assert!(settings[1]["help"].as_str().unwrap().starts_with(
        "Scopes are OAuth 2.0 permissions that Microsoft Entra ID defines to limit access to your account."
    ));
    for s in &settings[2..] {
        assert_eq!(s["advanced"], true, "{}", s["key"]);
        assert_eq!(s["required"], false, "{}", s["key"]);
    }
    assert_eq!(d["http_view"]["token_url"], "https://login.microsoftonline.com/organizations/oauth2/v2.0/token");
}

#[test]
fn every_export_refuses_malformed_input_naming_the_field() {
    let mut checked = 0;
    for (export, valid) in valid_inputs() {
        let mut cases: Vec<(Vec<u8>, &str)> = vec![
            (b"not json".to_vec(), "$"),
            (b"\xff\xfe\x00".to_vec(), "$"),
            (b"[]".to_vec(), "$"),
            (vec![b'['; 100_000], "$"),
        ];
        let mut unknown = valid.clone();
        unknown["surprise"] = json!(1);
        cases.push((unknown.to_string().into_bytes(), "surprise"));
        let huge = format!("{{\"x\":\"{}\"}}", "a".repeat(5 * 1024 * 1024));
        cases.push((huge.into_bytes(), "$"));
        if let Some(obj) = valid.as_object() {
            for key in obj.keys() {
                let mut missing = valid.clone();
                missing.as_object_mut().unwrap().remove(key);
                let optional = export == "list_scopes"
                    || export == "describe"
                    || (export == "refresh_token" && key == "refresh_token")
                    || (export == "classify_error" && key == "status");
                if !optional {
                    cases.push((missing.to_string().into_bytes(), key.as_str()));
                }
                let mut wrong = valid.clone();
                wrong[key] = json!([1, 2]);
                cases.push((wrong.to_string().into_bytes(), key.as_str()));
            }
        }
        for (input, field) in &cases {
            let e = error_of(export, input);
            assert_eq!(e.code(), "invalid_input", "{export}: {e}");
            let got = e.field().map(str::to_string).unwrap_or_default();
            assert!(
                got == *field || got.starts_with(&format!("{field}.")),
                "{export}: expected field {field}, got {got} ({e})"
            );
            assert!(!e.message().is_empty());
            checked += 1;
        }
    }
    // Unknown enum value and out-of-range numbers.
    let e = error_of("classify_error", br#"{"phase":"lunch"}"#);
    assert_eq!((e.code(), e.field()), ("invalid_input", Some("phase")));
    assert!(e.message().starts_with("Unknown value, expected one of `authorize`, `token`"), "{e}");
    let e = error_of("classify_error", br#"{"phase":"graph","status":70000}"#);
    assert_eq!(e.field(), Some("status"));
    // A name given as a number, and the fields that take one of two shapes, say what they take, at
    // the field (and never that valid JSON is not JSON).
    for (input, field, expected) in [
        (r#"{"phase":5}"#, "phase", "expected one of `authorize`, `token`"),
        (r#"{"phase":"authorize","query":5}"#, "query", "an object of strings or a query string"),
        (r#"{"phase":"authorize","query":{"error":5}}"#, "query.error", "a string"),
        (r#"{"phase":"transport","transport_error":[1]}"#, "transport_error", "a kind such as"),
        (r#"{"phase":"transport","transport_error":{"message":"m"}}"#, "transport_error.kind", "missing field `kind`"),
        (
            r#"{"phase":"transport","transport_error":{"kind":"dns","code":1}}"#,
            "transport_error.code",
            "unknown field `code`",
        ),
    ] {
        let e = error_of("classify_error", input.as_bytes());
        assert_eq!((e.code(), e.field()), ("invalid_input", Some(field)), "{input}: {e}");
        let message = e.message().to_lowercase();
        assert!(message.contains(&expected.to_lowercase()) && !message.contains("enum"), "{input}: {e}");
        assert!(!message.contains("not valid json"), "{input}: {e}");
    }
    let e = error_of("exchange_code", json!({"settings": settings(), "redirect_uri": "https://a.example/cb", "code": "c", "code_verifier": VERIFIER, "now": 1e300}).to_string().as_bytes());
    assert_eq!(e.field(), Some("now"));
    assert!(checked > 60, "{checked}");
    // The instance still works after all that.
    assert!(shared_host().call("describe", &json!({})).unwrap().is_ok());
}

fn refusal(path: &std::path::Path) -> String {
    match ConnectorHost::load(path, &LoadOptions::default()) {
        Ok(_) => panic!("{} was accepted", path.display()),
        Err(e) => {
            let line = e.to_string();
            assert!(!line.contains('\n'), "one line: {line}");
            line
        }
    }
}

#[test]
fn manifest_refusals_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    assert!(refusal(&dir.path().join("absent.json")).contains("no such file"));

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\n  \"id\": \"x\",\n  \"name\": oops\n}").unwrap();
    let line = refusal(&bad);
    assert!(line.contains("invalid JSON at line 3 column"), "{line}");

    let path = write_manifest(dir.path(), |m| m["allowed_hosts"] = json!(["https://login.microsoftonline.com/"]));
    assert!(refusal(&path).contains("allowed_hosts.0"));
    let path = write_manifest(dir.path(), |m| {
        m.as_object_mut().unwrap().remove("wasm");
    });
    assert!(refusal(&path).contains("wasm"));
    let path = write_manifest(dir.path(), |m| m["timeout_ms"] = json!("soon"));
    assert!(refusal(&path).contains("timeout_ms"));

    let path = write_manifest(dir.path(), |m| m["wasm"]["sha256"] = json!("ab".repeat(32)));
    let line = refusal(&path);
    assert!(line.contains("sha256") && line.contains("refusing"), "{line}");

    let path = write_manifest(dir.path(), |m| m["interface_version"] = json!(2));
    assert!(refusal(&path).contains("interface_version 2 is not supported"));

    // A module with no exports at all: the empty wasm module.
    let path = write_manifest(dir.path(), |_| {});
    let empty = b"\0asm\x01\0\0\0";
    std::fs::write(dir.path().join("connector.wasm"), empty).unwrap();
    let mut m: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    m["wasm"]["sha256"] = json!(host_harness::manifest::sha256_hex(empty));
    std::fs::write(&path, m.to_string()).unwrap();
    match ConnectorHost::load(&path, &LoadOptions::default()) {
        Err(HostError::MissingExport(name)) => assert_eq!(name, "interface_version"),
        Err(other) => panic!("expected a missing export, got {other}"),
        Ok(_) => panic!("a module without exports was accepted"),
    }

    // Without timeout_ms a call still has a bound.
    let path = write_manifest(dir.path(), |m| {
        m.as_object_mut().unwrap().remove("timeout_ms");
    });
    let host = ConnectorHost::load(&path, &LoadOptions::default()).unwrap();
    assert_eq!(host.timeout(), Duration::from_millis(host_harness::manifest::DEFAULT_TIMEOUT_MS));
}

/// The host gives extism the module by its path and the hash of the bytes it checked against the
/// pin (so that an instance does not start from a copy of the whole module): a module replaced
/// or removed between reading the manifest and compiling is refused, never compiled.
#[test]
fn a_module_changed_after_its_manifest_was_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_manifest(dir.path(), |_| {});
    let loaded = host_harness::manifest::load(&path).unwrap();
    match host_harness::host::extism_module(&loaded) {
        extism::Wasm::File { path, meta } => {
            assert_eq!(path, loaded.wasm_path);
            assert_eq!(meta.hash.as_deref(), Some(loaded.manifest.wasm.sha256.as_str()));
        }
        other => panic!("the module is not given by its path: {}", matches!(other, extism::Wasm::Data { .. })),
    }
    let wasm = dir.path().join("connector.wasm");
    let mut replaced = std::fs::read(&wasm).unwrap();
    replaced.extend_from_slice(b"\0\x08trailing");
    std::fs::write(&wasm, &replaced).unwrap();
    let refusal = ConnectorHost::from_loaded(loaded.clone(), &LoadOptions::default()).err().expect("refused");
    let line = refusal.to_string();
    assert!(matches!(refusal, HostError::Manifest(_)), "{line}");
    assert!(line.contains(&host_harness::manifest::sha256_hex(&replaced)) && line.contains("refusing"), "{line}");

    std::fs::remove_file(&wasm).unwrap();
    let line = ConnectorHost::from_loaded(loaded, &LoadOptions::default()).err().expect("refused").to_string();
    assert!(line.contains("connector.wasm"), "{line}");
}

#[test]
fn a_host_outside_allowed_hosts_is_never_contacted() {
    // The target listens on loopback, but under a name the manifest does not allow.
    let target = TinyServer::start(|_| (Duration::ZERO, json_response(200, "{}")));
    let elsewhere = format!("http://localhost:{}", target.port);
    let host = host_towards(&elsewhere, &elsewhere, None);
    let started = Instant::now();
    let e = host
        .call(
            "refresh_token",
            &json!({"settings": settings(), "refresh_token": "rt-secret-value", "now": 1_800_000_000}),
        )
        .unwrap()
        .unwrap_err();
    assert_eq!(e.code(), "blocked_host", "{e}");
    assert_eq!(e.action().map(|a| a.as_str()), Some("fix_configuration"));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(target.hits(), 0, "the request left the host");
    assert!(!details(&e).to_string().contains("rt-secret-value"));
}

#[test]
fn a_redirect_to_a_host_outside_allowed_hosts_is_not_followed() {
    let target = TinyServer::start(|_| (Duration::ZERO, json_response(200, r#"{"id":"x"}"#)));
    let location = format!("http://localhost:{}/v1.0/me", target.port);
    let redirector = TinyServer::start(move |_| {
        (
            Duration::ZERO,
            format!("HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"),
        )
    });
    let host = host_towards(&redirector.base(), &redirector.base(), None);
    let e = host
        .call("test_connection", &json!({"settings": settings(), "access_token": "at-secret-value"}))
        .unwrap()
        .unwrap_err();
    assert_eq!(e.code(), "blocked_host", "{e}");
    assert_eq!(details(&e)["provider"]["transport_error"], "redirect_blocked");
    assert_eq!(redirector.hits(), 1);
    assert_eq!(target.hits(), 0, "the redirect was followed");
}

#[test]
fn calls_beyond_max_instances_wait_for_a_free_instance() {
    let slow = TinyServer::start(|_| (Duration::from_millis(300), json_response(200, r#"{"id":"me"}"#)));
    let options = LoadOptions { max_instances: Some(2), ..options_towards(&slow.base(), &slow.base(), None) };
    let host = std::sync::Arc::new(ConnectorHost::load(&manifest_path(), &options).unwrap());
    assert_eq!(host.max_instances(), 2);
    let started = Instant::now();
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let h = host.clone();
            std::thread::spawn(move || h.call("test_connection", &json!({"settings": settings(), "access_token": "t"})))
        })
        .collect();
    let mut most = 0;
    while !calls.iter().all(|c| c.is_finished()) {
        most = most.max(host.live_instances());
        std::thread::sleep(Duration::from_millis(5));
    }
    for call in calls {
        assert!(call.join().unwrap().is_ok(), "a call failed on the host's side");
    }
    assert_eq!(most, 2, "instances alive at once");
    assert!(host.live_instances() <= 2);
    // Five calls of 300 ms each on two instances take at least three turns.
    assert!(started.elapsed() >= Duration::from_millis(900), "took {:?}", started.elapsed());
}

#[test]
fn max_instances_out_of_range_is_refused() {
    for max in [0, 1025, u32::MAX] {
        let options = LoadOptions { max_instances: Some(max), ..Default::default() };
        match ConnectorHost::load(&manifest_path(), &options) {
            Err(e @ HostError::Config(_)) => {
                assert_eq!(e.to_string(), format!("max_instances must be between 1 and 1024, not {max}"))
            }
            other => panic!("{max}: expected a usage error, got {:?}", other.map(|_| ())),
        }
    }
}

#[test]
fn a_slow_call_does_not_disturb_a_concurrent_one() {
    let slow = TinyServer::start(|_| (Duration::from_secs(6), json_response(200, "{}")));
    let host = std::sync::Arc::new(host_towards(&slow.base(), &slow.base(), Some(1500)));
    let h = host.clone();
    let started = Instant::now();
    let slow_call =
        std::thread::spawn(move || h.call("test_connection", &json!({"settings": settings(), "access_token": "t"})));
    std::thread::sleep(Duration::from_millis(100));
    let mut fast = 0;
    while !slow_call.is_finished() {
        let d = host
            .call("authorize_url", &valid_inputs().into_iter().find(|(e, _)| *e == "authorize_url").unwrap().1)
            .unwrap()
            .unwrap();
        assert!(d["url"].as_str().unwrap().starts_with("http://127.0.0.1:"));
        fast += 1;
    }
    let e = slow_call.join().unwrap().unwrap().unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(e.code(), "transient", "{e}");
    assert_eq!(details(&e)["provider"]["transport_error"], "timeout");
    assert!(elapsed < Duration::from_millis(3500), "the slow call took {elapsed:?}");
    assert!(fast > 10, "only {fast} calls ran beside the slow one");
}

fn assert_valid(name: &str, value: &Value) {
    let validator = jsonschema::validator_for(&schema(name)).unwrap();
    let errors: Vec<String> = validator.iter_errors(value).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{name}: {errors:?}\n{value}");
}

#[test]
fn outputs_match_the_interface_schemas() {
    let host = shared_host();
    for (export, input) in valid_inputs() {
        assert_valid(&format!("{export}.input"), &input);
        let text = host.call_raw(export, input.to_string().as_bytes()).unwrap();
        let envelope: Value = serde_json::from_str(&text).unwrap();
        assert_valid("envelope", &envelope);
        match host_harness::error::parse_envelope::<Value>(export, &text).unwrap() {
            Ok(payload) => assert_valid(&format!("{export}.output"), &payload),
            Err(e) => assert_valid("error", &details(&e)),
        }
    }
    let e = error_of("authorize_url", b"{}");
    assert_valid("error", &details(&e));
}

#[test]
fn the_manifest_allows_exactly_the_hosts_of_every_cloud() {
    let d = shared_host().call("describe", &json!({})).unwrap().unwrap();
    let mut from_clouds: Vec<String> = d["clouds"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["allowed_hosts"].as_array().unwrap().iter().map(|h| h.as_str().unwrap().to_string()))
        .collect();
    from_clouds.sort();
    from_clouds.dedup();
    let mut manifest = shared_host().manifest().allowed_hosts.clone();
    manifest.sort();
    assert_eq!(manifest, from_clouds);
}

#[test]
fn diagnostic_exports_measure_what_they_say() {
    let host = shared_host();
    // `sized_noop`: an envelope of exactly the asked size, whatever follows the number.
    for (input, size) in [("5000", 5000), (&format!("700{}", " ".repeat(300)), 700), ("12", 17), ("x", 17)] {
        let out = host.call_raw("sized_noop", input.as_bytes()).unwrap();
        assert_eq!(out.len(), size, "{input:?}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert!(v["ok"]["pad"].is_string());
    }
    assert_eq!(host.call_raw("noop", b"").unwrap(), r#"{"ok":{}}"#);
    let bytes: u64 = host.call_raw("memory_bytes", b"").unwrap().parse().unwrap();
    assert!(bytes >= 65536 && bytes.is_multiple_of(65536), "{bytes}");
}

#[test]
fn a_remembered_answer_is_the_answer() {
    // describe and list_scopes keep their last answer per instance: the same input gives the
    // same document, another input its own, and an input error is never served from memory.
    let host = shared_host();
    let plain = host.call_raw("describe", b"{}").unwrap();
    assert_eq!(host.call_raw("describe", b"{}").unwrap(), plain);
    let china =
        host.call_raw("describe", br#"{"settings":{"name":"n","scopes":["User.Read"],"cloud":"china"}}"#).unwrap();
    assert_ne!(china, plain);
    assert!(china.contains("login.chinacloudapi.cn"));
    assert_eq!(host.call_raw("describe", b"{}").unwrap(), plain);
    let bad = error_of("describe", br#"{"settings":{"name":"n","scopes":["User.Read"],"cloud":"mars"}}"#);
    assert_eq!(bad.field(), Some("settings.cloud"));
    let scopes = host.call_raw("list_scopes", b"{}").unwrap();
    assert_eq!(host.call_raw("list_scopes", b"{}").unwrap(), scopes);
    assert!(scopes.contains("\"source\":\"builtin\""));
}

/// The cache entries under `dir` (wasmtime keeps them in `modules/<its version>/`), with what
/// the cache's worker recorded about each (`.stats`: uses and compression level), largest first.
fn cache_entries(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut entries: Vec<_> = std::fs::read_dir(dir.join(host_harness::cache::ENTRIES_DIR).join("modules"))
        .into_iter()
        .flatten()
        .flat_map(|version| std::fs::read_dir(version.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_none())
        .map(|p| {
            let stats = std::fs::read_to_string(
                p.with_file_name(format!("{}.stats", p.file_name().unwrap().to_str().unwrap())),
            );
            (p, stats.unwrap_or_default())
        })
        .collect();
    entries.sort_by_key(|(p, _)| std::cmp::Reverse(std::fs::metadata(p).unwrap().len()));
    entries
}

/// Waits (at most 30 s) for the cache's background worker to record what `done` looks for.
fn wait_for_cache(
    dir: &std::path::Path,
    done: impl Fn(&[(std::path::PathBuf, String)]) -> bool,
) -> Vec<(std::path::PathBuf, String)> {
    let start = Instant::now();
    loop {
        let entries = cache_entries(dir);
        if done(&entries) || start.elapsed() > Duration::from_secs(30) {
            return entries;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_second_load_reads_the_compiled_connector_from_the_hosts_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path().join("compiled");
    let options = LoadOptions { cache: host_harness::CompileCache::Dir(cache_dir.clone()), ..Default::default() };
    let first = ConnectorHost::load(&manifest_path(), &options).unwrap();
    assert!(first.call_raw("describe", b"{}").unwrap().starts_with("{\"ok\""));
    // The connector and extism's kernel, each written once, at the host's level, never to be
    // recompressed (wasmtime's default is 3, then 20 after 256 loads).
    let written = wait_for_cache(&cache_dir, |e| e.len() == 2 && e.iter().all(|(_, s)| s.contains("usages = 1")));
    assert_eq!(written.len(), 2, "{written:?}");
    for (path, stats) in &written {
        assert!(stats.contains("optimized-compression = 1"), "{}: {stats}", path.display());
    }
    let connector = written[0].0.clone();
    let compressed = std::fs::metadata(&connector).unwrap().len();

    let second = ConnectorHost::load(&manifest_path(), &options).unwrap();
    assert!(second.call_raw("describe", b"{}").unwrap().starts_with("{\"ok\""));
    let read = wait_for_cache(&cache_dir, |e| e.first().is_some_and(|(_, s)| s.contains("usages = 2")));
    assert_eq!(read.len(), 2, "a warm load adds no entry: {read:?}");
    assert_eq!(read[0].0, connector);
    assert!(read[0].1.contains("usages = 2"), "the second load read the entry: {}", read[0].1);
    assert_eq!(std::fs::metadata(&connector).unwrap().len(), compressed, "the entry is not rewritten");
    assert!(cache_dir.join(host_harness::cache::CONFIG_FILE).is_file());
}
