//! `connector-host conformance`: generic checks every interface v1 connector must pass. The
//! connector's test-only `*_base_url` configuration points at the embedded mock identity
//! provider, so nothing leaves the machine.

use std::path::Path;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::error::{parse_envelope, HostError};
use crate::host::{ConnectorHost, LoadOptions, REQUIRED_EXPORTS};
use crate::manifest;

const DESCRIBE_SCHEMA: &str = include_str!("../../docs/schemas/describe.output.json");

#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub check: &'static str,
    pub pass: bool,
    pub detail: String,
}

fn check(check: &'static str, pass: bool, detail: impl Into<String>) -> Check {
    Check { check, pass, detail: detail.into() }
}

/// Settings a person could enter, from what `describe` says: defaults, a name and the default scopes.
fn sample_settings(d: &Value) -> Value {
    let mut s = serde_json::Map::new();
    for setting in d["settings"].as_array().into_iter().flatten() {
        let key = setting["key"].as_str().unwrap_or_default();
        match (key, setting["kind"].as_str()) {
            ("name", _) => {
                s.insert(key.into(), json!("Conformance check"));
            }
            (_, Some("multiselect")) => {
                let v = setting
                    .get("default")
                    .cloned()
                    .filter(|v| v.is_array())
                    .unwrap_or_else(|| json!([setting["options"][0]["value"]]));
                s.insert(key.into(), v);
            }
            _ => {}
        }
    }
    Value::Object(s)
}

/// Runs every check; the mock is started here and stopped at the end.
pub fn run(manifest_path: &Path) -> Vec<Check> {
    let mut out = Vec::new();
    let loaded = match manifest::load(manifest_path) {
        Ok(l) => {
            out.push(check(
                "manifest is valid and its wasm hash matches",
                true,
                format!("sha256 {}", l.manifest.wasm.sha256),
            ));
            l
        }
        Err(e) => {
            out.push(check("manifest is valid and its wasm hash matches", false, e.to_string()));
            return out;
        }
    };
    let mock = match crate::mock_entra::MockEntra::start() {
        Ok(m) => m,
        Err(e) => {
            out.push(check("the mock identity provider starts", false, e.to_string()));
            return out;
        }
    };
    let mut options = LoadOptions { extra_allowed_hosts: vec!["127.0.0.1".into()], ..Default::default() };
    for key in loaded.manifest.platform_config.iter().filter(|k| k.test_only && k.key.ends_with("_base_url")) {
        options.config.insert(key.key.clone(), mock.base_url());
    }
    if loaded.manifest.platform_config.iter().any(|k| k.key == "client_id") {
        options.config.insert("client_id".into(), crate::mock_entra::TEST_CLIENT_ID.into());
    }
    let timeout = Duration::from_millis(loaded.manifest.timeout_ms());
    let host = match ConnectorHost::from_loaded(loaded, &options) {
        Ok(h) => {
            out.push(check(
                "every interface v1 export exists and the version matches",
                true,
                format!("{} exports", REQUIRED_EXPORTS.len()),
            ));
            h
        }
        Err(e) => {
            out.push(check("every interface v1 export exists and the version matches", false, e.to_string()));
            return out;
        }
    };
    let mut slowest = Duration::ZERO;
    let mut timed = |export: &str, input: &[u8]| -> Result<String, HostError> {
        let t = Instant::now();
        let r = host.call_raw(export, input);
        slowest = slowest.max(t.elapsed());
        r
    };

    // describe against its schema
    let describe = timed("describe", b"{}").ok().and_then(|t| parse_envelope("describe", &t).ok()).and_then(Result::ok);
    let schema: Value = serde_json::from_str(DESCRIBE_SCHEMA).unwrap_or(Value::Null);
    match (&describe, jsonschema::validator_for(&schema)) {
        (Some(d), Ok(v)) => {
            let errors: Vec<String> = v.iter_errors(d).take(3).map(|e| format!("{}: {e}", e.instance_path())).collect();
            out.push(check(
                "describe's output matches its schema",
                errors.is_empty(),
                if errors.is_empty() { "ok".to_string() } else { errors.join("; ") },
            ));
        }
        _ => out.push(check("describe's output matches its schema", false, "describe did not answer ok")),
    }
    let d = describe.unwrap_or(Value::Null);
    let settings = sample_settings(&d);

    // malformed input
    let mut bad = Vec::new();
    let exports: Vec<&str> = REQUIRED_EXPORTS.iter().copied().filter(|e| *e != "interface_version").collect();
    for export in &exports {
        for input in [&b"not json"[..], b"\xff\xfe", b"[]", br#"{"__unknown__":1}"#] {
            match timed(export, input).map(|t| parse_envelope(export, &t)) {
                Ok(Ok(Err(e))) if e.code == "invalid_input" && e.field.as_deref().is_some_and(|f| !f.is_empty()) => {}
                other => bad.push(format!("{export} <- {:?}: {}", String::from_utf8_lossy(input), summarize(&other))),
            }
        }
    }
    out.push(check(
        "every export answers malformed input with invalid_input and a field",
        bad.is_empty(),
        if bad.is_empty() { format!("{} exports x 4 inputs", exports.len()) } else { bad.join("; ") },
    ));

    // authorize_url
    let verifier = "conformance-verifier-0123456789-abcdefghijklmnop";
    let state = "conformance-state-0123456789";
    let input = json!({"settings": settings, "redirect_uri": "https://platform.example.com/oauth/callback", "state": state, "code_verifier": verifier, "nonce": "conformance-nonce-0123456789"});
    let a = timed("authorize_url", input.to_string().as_bytes()).ok();
    let b = timed("authorize_url", input.to_string().as_bytes()).ok();
    let url = a
        .as_deref()
        .and_then(|t| parse_envelope("authorize_url", t).ok())
        .and_then(Result::ok)
        .and_then(|v| v["url"].as_str().map(str::to_string));
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let pass = url.as_deref().is_some_and(|u| {
        u.contains(&format!("state={state}"))
            && u.contains(&format!("code_challenge={challenge}"))
            && u.contains("code_challenge_method=S256")
    }) && a == b;
    out.push(check(
        "authorize_url is deterministic and carries state and the S256 challenge",
        pass,
        url.unwrap_or_else(|| "no URL".into()).chars().take(120).collect::<String>(),
    ));

    // secrets are never echoed
    let markers = [
        "SECRET-MARKER-client-7f3a",
        "SECRET-MARKER-code-9b2c",
        "SECRET-MARKER-refresh-4d1e",
        "SECRET-MARKER-access-8e6f",
    ];
    let verifier_marker = "SECRETMARKERverifier0123456789abcdefghijklmnopq";
    let mut with_secret = settings.clone();
    for s in d["settings"].as_array().into_iter().flatten().filter(|s| s["kind"] == "secret") {
        with_secret[s["key"].as_str().unwrap_or_default()] = json!(markers[0]);
    }
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let calls = [
        ("validate_settings", json!({"settings": with_secret})),
        (
            "authorize_url",
            json!({"settings": with_secret, "redirect_uri": "https://platform.example.com/oauth/callback", "state": state, "code_verifier": verifier_marker}),
        ),
        (
            "exchange_code",
            json!({"settings": settings, "redirect_uri": "https://platform.example.com/oauth/callback", "code": markers[1], "code_verifier": verifier_marker, "now": now}),
        ),
        ("refresh_token", json!({"settings": settings, "refresh_token": markers[2], "now": now})),
        ("test_connection", json!({"settings": settings, "access_token": markers[3]})),
        ("list_scopes", json!({"settings": settings, "access_token": markers[3]})),
        (
            "classify_error",
            json!({"phase": "graph", "status": 401, "headers": {"Authorization": format!("Bearer {}", markers[3])}, "body": format!("{{\"error\":{{\"code\":\"InvalidAuthenticationToken\",\"message\":\"token {} refused\"}}}}", markers[3])}),
        ),
    ];
    let mut leaks = Vec::new();
    for (export, input) in &calls {
        match timed(export, input.to_string().as_bytes()) {
            Ok(text) => {
                for m in markers.iter().chain([&verifier_marker]) {
                    if text.contains(m) {
                        leaks.push(format!("{export} echoed {}", &m[..20.min(m.len())]));
                    }
                }
            }
            Err(e) => leaks.push(format!("{export}: host error {e}")),
        }
    }
    out.push(check(
        "no output echoes a secret given in the input",
        leaks.is_empty(),
        if leaks.is_empty() { format!("{} calls with secret markers", calls.len()) } else { leaks.join("; ") },
    ));

    // classify_error on random bodies
    let mut seed: u64 = 0x5eed_1234_abcd_0001;
    let mut failures = Vec::new();
    for i in 0..200 {
        let len = (next(&mut seed) % 300) as usize;
        let body: String = (0..len).map(|_| char::from_u32((next(&mut seed) % 0x250) as u32).unwrap_or('?')).collect();
        let body = match i % 4 {
            0 => body,
            1 => format!("{{\"error\":{{\"code\":\"{body}\",\"innerError\":{{\"code\":\"x\"}}}}}}"),
            2 => format!("<html>{body}</html>"),
            _ => format!(
                "{{\"error\":\"invalid_grant\",\"error_codes\":[{}],\"error_description\":\"AADSTS{}: {body}",
                next(&mut seed) % 1_000_000,
                next(&mut seed) % 1_000_000
            ),
        };
        let phase = ["authorize", "token", "refresh", "graph", "transport"][i % 5];
        let input = json!({"phase": phase, "status": 100 + next(&mut seed) % 500, "headers": {"Retry-After": body.chars().take(20).collect::<String>()}, "body": body});
        match timed("classify_error", input.to_string().as_bytes()).map(|t| parse_envelope("classify_error", &t)) {
            Ok(Ok(Ok(_))) => {}
            other => failures.push(format!("#{i}: {}", summarize(&other))),
        }
    }
    out.push(check(
        "classify_error answers random bodies without error",
        failures.is_empty(),
        if failures.is_empty() {
            "200 bodies".to_string()
        } else {
            failures.into_iter().take(3).collect::<Vec<_>>().join("; ")
        },
    ));
    out.push(check(
        "every call returns within the manifest timeout",
        slowest < timeout,
        format!("slowest {} ms of {} ms", slowest.as_millis(), timeout.as_millis()),
    ));
    out
}

fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

fn summarize<T: std::fmt::Debug>(v: &T) -> String {
    format!("{v:?}").chars().take(160).collect()
}

/// The CLI: a table (or JSON), exit 0 only when every check passes.
pub fn run_cli(manifest_path: &Path, json_out: bool) -> Result<u8, HostError> {
    let checks = run(manifest_path);
    let all = checks.iter().all(|c| c.pass);
    if json_out {
        println!("{}", serde_json::to_string(&checks).unwrap_or_default());
    } else {
        println!("{:<72} {:<6} DETAIL", "CHECK", "RESULT");
        for c in &checks {
            println!("{:<72} {:<6} {}", c.check, if c.pass { "pass" } else { "FAIL" }, c.detail);
        }
        println!(
            "conformance: {} passed, {} failed",
            checks.iter().filter(|c| c.pass).count(),
            checks.iter().filter(|c| !c.pass).count()
        );
    }
    Ok(if all { 0 } else { 1 })
}
