//! `connector-host conformance`: generic checks every interface v1 connector must pass, run
//! against an identity provider the caller names ([`IdentityProvider`]): the connector's
//! test-only `*_base_url` configuration points at it, so nothing else is contacted.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use connector_interface::exports::required_names;
use connector_interface::{Description, SettingKind, EXPORTS};

use crate::error::{parse_envelope, HostError};
use crate::host::{ConnectorHost, LoadOptions};
use crate::manifest::{self, Manifest};
use crate::signing::{Keys, SigningKey};

/// Where the checks send the connector's requests: platform configuration values and the hosts
/// they are reached on, beside the manifest's.
#[derive(Debug, Clone, Default)]
pub struct IdentityProvider {
    /// How the report names it.
    pub name: String,
    pub config: BTreeMap<String, String>,
    pub extra_allowed_hosts: Vec<String>,
    /// The host's test mode (loopback and plain http towards it), for a provider on loopback.
    pub allow_loopback: bool,
}

impl IdentityProvider {
    /// An identity provider at `base_url`: every test-only `*_base_url` key the manifest declares
    /// points there, and `client_id` (when declared) is the app registered on it.
    pub fn at(name: &str, manifest: &Manifest, base_url: &str, client_id: Option<&str>) -> IdentityProvider {
        let mut config = BTreeMap::new();
        for key in manifest.platform_config.iter().filter(|k| k.test_only && k.key.ends_with("_base_url")) {
            config.insert(key.key.clone(), base_url.trim_end_matches('/').to_string());
        }
        if let Some(id) = client_id.filter(|_| manifest.platform_config.iter().any(|k| k.key == "client_id")) {
            config.insert("client_id".into(), id.to_string());
        }
        let url = url::Url::parse(base_url).ok();
        let host = url.as_ref().and_then(|u| u.host_str().map(str::to_string));
        let loopback = match url.as_ref().and_then(url::Url::host) {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        IdentityProvider {
            name: name.to_string(),
            config,
            extra_allowed_hosts: host.into_iter().collect(),
            allow_loopback: loopback,
        }
    }
}

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
fn sample_settings(d: &Description) -> Value {
    let mut s = serde_json::Map::new();
    for setting in &d.settings {
        let key = setting.key.as_ref();
        if key == "name" {
            s.insert(key.into(), json!("Conformance check"));
        } else if setting.kind == SettingKind::Multiselect {
            let first = setting.options.iter().flatten().next().map(|o| json!([o.value]));
            let v = setting.default.clone().filter(Value::is_array).or(first).unwrap_or_else(|| json!([]));
            s.insert(key.into(), v);
        }
    }
    Value::Object(s)
}

/// Runs every check against `idp`.
pub fn run(manifest_path: &Path, idp: &IdentityProvider) -> Vec<Check> {
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
    let recorder: crate::host::Recorder = Default::default();
    let options = LoadOptions {
        config: idp.config.clone(),
        extra_allowed_hosts: idp.extra_allowed_hosts.clone(),
        allow_loopback: idp.allow_loopback,
        recorder: Some(recorder.clone()),
        ..Default::default()
    };
    let declares_sign = loaded.manifest.host_functions.iter().any(|f| f == connector_interface::SIGN_FUNCTION);
    let timeout = Duration::from_millis(loaded.manifest.timeout_ms());
    let host = match ConnectorHost::from_loaded(loaded, &options) {
        Ok(h) => {
            out.push(check(
                "every interface v1 export exists and the version matches",
                true,
                format!("{} exports, against {}", required_names().count(), idp.name),
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
    let describe: Option<Value> =
        timed("describe", b"{}").ok().and_then(|t| parse_envelope("describe", &t).ok()).and_then(Result::ok);
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
    let d: Description = match describe.map(serde_json::from_value) {
        Some(Ok(d)) => d,
        _ => {
            out.push(check("describe's output reads as the interface's description", false, "it does not"));
            return out;
        }
    };
    let settings = sample_settings(&d);

    // malformed input, to every export the module has (optional ones included)
    let has = |name: &str| !matches!(host.call_raw(name, b"{}"), Err(HostError::NoSuchExport { .. }));
    let mut bad = Vec::new();
    let exports: Vec<&str> = EXPORTS.iter().filter(|e| e.required || has(e.name)).map(|e| e.name).collect();
    let device_code = has("device_code_poll");
    for export in &exports {
        for input in [&b"not json"[..], b"\xff\xfe", b"[]", br#"{"__unknown__":1}"#] {
            match timed(export, input).map(|t| parse_envelope::<Value>(export, &t)) {
                Ok(Ok(Err(e))) if e.code() == "invalid_input" && e.field().is_some_and(|f| !f.is_empty()) => {}
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
        .and_then(|t| parse_envelope::<Value>("authorize_url", t).ok())
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
    for key in d.secret_keys() {
        with_secret[key] = json!(markers[0]);
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
        // A connector without device code sign-in answers no_such_export here: never a leak.
        ("device_code_poll", json!({"settings": settings, "device_code": markers[1], "now": now})),
        (
            "classify_error",
            json!({"phase": "graph", "status": 401, "headers": {"Authorization": format!("Bearer {}", markers[3])}, "body": format!("{{\"error\":{{\"code\":\"InvalidAuthenticationToken\",\"message\":\"token {} refused\"}}}}", markers[3])}),
        ),
    ];
    let mut leaks = Vec::new();
    for (export, input) in &calls {
        if *export == "device_code_poll" && !device_code {
            continue;
        }
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
                "{{\"error\":\"invalid_grant\",\"error_codes\":[{}],\"error_description\":\"E{}: {body}",
                next(&mut seed) % 1_000_000,
                next(&mut seed) % 1_000_000
            ),
        };
        let phase = ["authorize", "token", "refresh", "graph", "transport"][i % 5];
        let input = json!({"phase": phase, "status": 100 + next(&mut seed) % 500, "headers": {"Retry-After": body.chars().take(20).collect::<String>()}, "body": body});
        match timed("classify_error", input.to_string().as_bytes())
            .map(|t| parse_envelope::<Value>("classify_error", &t))
        {
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
    if device_code {
        out.push(device_poll(&host, &settings, now));
    }
    if declares_sign {
        // The key belongs to an app of the connection's own: a `client_id` setting, where the
        // connector has one, names the identity provider's app.
        let mut own = settings.clone();
        if d.settings.iter().any(|s| s.key == "client_id") {
            let id =
                idp.config.get("client_id").cloned().unwrap_or_else(|| "0b7e2c8a-4f1d-4e6b-9a3c-5d2e1f0a9b8c".into());
            own["client_id"] = json!(id);
        }
        out.push(signing(&host, &d, &own, &recorder, now));
    }
    out.push(check(
        "every call returns within the manifest timeout",
        slowest < timeout,
        format!("slowest {} ms of {} ms", slowest.as_millis(), timeout.as_millis()),
    ));
    out
}

/// A connector with device code sign-in: a poll with a code the identity provider never gave is
/// answered with a state or a classified error, never a trap or a token set.
fn device_poll(host: &ConnectorHost, settings: &Value, now: i64) -> Check {
    const NAME: &str = "device_code_poll answers a code never given with a state, not a token set";
    let input = json!({"settings": settings, "device_code": "conformance-device-code-never-issued", "now": now});
    let answer = host.call_raw("device_code_poll", input.to_string().as_bytes());
    match answer.as_deref().map(|t| parse_envelope::<Value>("device_code_poll", t)) {
        Ok(Ok(Ok(v))) if v["status"] != "signed_in" => check(NAME, true, format!("status {}", v["status"])),
        Ok(Ok(Err(e))) => check(NAME, true, format!("error {}", e.code())),
        other => check(NAME, false, summarize(&other)),
    }
}

/// A connector that declares `connector_sign`: the token exports, given a settings' private key
/// as a reference, ask the host to sign with that reference (and never see a key); a reference
/// the call was not given is refused by the host and answered as an error, not a trap.
fn signing(
    host: &ConnectorHost,
    d: &Description,
    settings: &Value,
    recorder: &crate::host::Recorder,
    now: i64,
) -> Check {
    const NAME: &str = "connector_sign is called with the call's key reference, never a key";
    let Some(pk) = d.private_keys().next() else {
        return check(NAME, true, "declared; no private_key setting to check it with");
    };
    let key = match SigningKey::from_pem(CONFORMANCE_KEY) {
        Ok(k) => std::sync::Arc::new(k),
        Err(e) => return check(NAME, false, format!("the conformance key: {e}")),
    };
    let mut keys = Keys::default();
    let reference = keys.insert("conformance", key);
    let mut s = settings.clone();
    s[pk.key.as_ref()] = json!(reference);
    if let Some(cert) = pk.certificate.as_deref() {
        s[cert] = json!(CONFORMANCE_CERTIFICATE);
    }
    let assertion_id = "0b7e2c8a-4f1d-4e6b-9a3c-5d2e1f0a9b8c";
    let mut problems = Vec::new();
    for (label, given) in [("held", Some(&keys)), ("not given", None)] {
        recorder.lock().unwrap_or_else(|e| e.into_inner()).clear();
        let input = json!({"settings": s, "now": now, "assertion_id": assertion_id, "refresh_token": "conformance-refresh-token"});
        let answer = host.call_raw_with("refresh_token", input.to_string().as_bytes(), given);
        let seen = recorder.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let signs: Vec<Value> = seen
            .iter()
            .filter(|(w, _)| w == connector_interface::SIGN_FUNCTION)
            .filter_map(|(_, b)| serde_json::from_slice(b).ok())
            .collect();
        if seen.iter().any(|(_, b)| String::from_utf8_lossy(b).contains("PRIVATE KEY")) {
            problems.push(format!("{label}: the module was given a private key"));
        }
        if signs.is_empty() || signs.iter().any(|r| r["key"] != json!(reference)) {
            problems.push(format!("{label}: connector_sign was not called with the reference ({} calls)", signs.len()));
        }
        match answer {
            Err(e) => problems.push(format!("{label}: host error {e}")),
            Ok(text) if label == "not given" && text.contains("\"ok\"") => {
                problems.push("a refused signature still gave a token set".into())
            }
            Ok(_) => {}
        }
    }
    check(
        NAME,
        problems.is_empty(),
        if problems.is_empty() {
            format!("refresh_token signed with {reference}; a key not given refused")
        } else {
            problems.join("; ")
        },
    )
}

/// A throwaway RSA key and its certificate, only for the signing check (the identity provider
/// has never seen them, so its token endpoint refuses what they sign; the check is what the
/// module sends to the host, not the answer).
const CONFORMANCE_KEY: &str = include_str!("../../tests/fixtures/certificates/b.key.pem");
const CONFORMANCE_CERTIFICATE: &str = include_str!("../../tests/fixtures/certificates/b.cert.pem");

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
pub fn run_cli(manifest_path: &Path, idp: &IdentityProvider, json_out: bool) -> Result<u8, HostError> {
    let checks = run(manifest_path, idp);
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
