//! The token requests of every grant and credential kind held against what MSAL Python sends
//! for the same inputs (tests/fixtures/msal/requests.json, recorded by capture.py beside it).
//!
//! Differences on purpose, and nothing else:
//! - MSAL's own telemetry headers (`x-client-current-telemetry`, `x-client-last-telemetry`,
//!   which encode MSAL's API ids and cache state) and `x-client-os` (the wasm module has no
//!   operating system) are not sent;
//! - MSAL sends `X-AnchorMailbox` (a routing hint from its token cache) on a silent refresh;
//! - the connector also sends `return-client-request-id: true`, so that Entra echoes the id;
//! - `x-client-sku` and `x-client-ver` name this connector, not MSAL;
//! - the field order differs (a form is a set), and the scope's words come in another order;
//! - MSAL's device code poll repeats the device code in `code` (a field of ADFS).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::api;
use crate::http::{HttpClient, HttpOutcome, HttpRequest, HttpResponse, SignOutcome, SignRequest};
use crate::settings::Platform;

const FIXTURE: &str = include_str!("../../../tests/fixtures/msal/requests.json");
const PEM: &str = include_str!("../../tests/fixtures/certificate.pem");
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
const REQUEST_ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
const NOW: i64 = 1_800_000_000;
const LOGIN: &str = "https://login.microsoftonline.com";

/// Records requests and answers each with an error (the request is what is compared).
struct Recorder(Vec<HttpRequest>);

impl HttpClient for Recorder {
    fn send(&mut self, r: &mut HttpRequest) -> HttpOutcome {
        self.0.push(r.clone());
        HttpOutcome::Response(HttpResponse {
            status: 400,
            body: r#"{"error":"invalid_grant"}"#.into(),
            ..Default::default()
        })
    }
    fn sign(&mut self, _: &SignRequest) -> SignOutcome {
        SignOutcome::Signature("c2ln".into())
    }
}

fn platform(certificate: bool) -> Platform {
    Platform {
        client_id: Some(CLIENT_ID.into()),
        client_secret: (!certificate).then(|| crate::secret::Secret::new("s3cret")),
        client_certificate: certificate.then(|| PEM.into()),
        client_private_key: certificate.then(|| "host-key:platform.client_private_key".into()),
        ..Platform::default()
    }
}

/// The one request an export made for `input`.
fn request(export: &str, input: Value, certificate: bool) -> HttpRequest {
    let mut host = Recorder(Vec::new());
    api::call(export, input.to_string().as_bytes(), &platform(certificate), &mut host);
    assert_eq!(host.0.len(), 1, "{export} made one request");
    host.0.remove(0)
}

fn fields(pairs: impl Iterator<Item = (String, String)>) -> BTreeMap<String, String> {
    pairs
        .map(|(k, v)| {
            let v = match k.as_str() {
                // Random on both sides: compared by presence.
                "code_verifier" | "client_assertion" => "<random>".to_string(),
                // The same words, in another order.
                "scope" => {
                    let mut words: Vec<&str> = v.split(' ').collect();
                    words.sort_unstable();
                    words.join(" ")
                }
                _ => v,
            };
            (k, v)
        })
        .collect()
}

fn msal_case(name: &str) -> (String, BTreeMap<String, String>, BTreeMap<String, String>) {
    let doc: Value = serde_json::from_str(FIXTURE).unwrap();
    let case = &doc["cases"][name];
    let url = case["url"].as_str().unwrap().replace("{login}", LOGIN);
    let form = case["fields"].as_array().unwrap().iter().map(|p| {
        let p = p.as_array().unwrap();
        (p[0].as_str().unwrap().to_string(), p[1].as_str().unwrap().to_string())
    });
    let headers =
        case["headers"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()));
    (url, fields(form), headers.collect())
}

fn compare(name: &str, ours: &HttpRequest) {
    let (url, mut msal_fields, msal_headers) = msal_case(name);
    assert_eq!(ours.url, url, "{name}");
    let body = ours.body.as_deref().unwrap();
    let ours_fields = fields(form_urlencoded::parse(body.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())));
    if name == "device_code_poll" {
        msal_fields.remove("code");
    }
    assert_eq!(ours_fields, msal_fields, "{name}: form fields");
    for (header, value) in &msal_headers {
        match header.as_str() {
            "x-client-current-telemetry" | "x-client-last-telemetry" | "x-client-os" | "x-anchormailbox" => {}
            "x-client-sku" | "x-client-ver" => assert!(!ours.headers[header].is_empty(), "{name}: {header}"),
            "client-request-id" => {
                assert_eq!(value, "<guid>");
                assert_eq!(ours.headers[header], REQUEST_ID, "{name}");
            }
            _ => assert_eq!(ours.headers.get(header), Some(value), "{name}: {header}"),
        }
    }
    assert_eq!(ours.headers["return-client-request-id"], "true", "{name}");
}

fn settings(grant: &str, cae: bool) -> Value {
    let scopes = if grant == "client_credentials" { "https://graph.microsoft.com/.default" } else { "User.Read" };
    serde_json::json!({
        "name": "Parity", "scopes": [scopes], "tenant": TENANT, "grant": grant,
        "continuous_access_evaluation": if cae { "on" } else { "off" },
    })
}

#[test]
fn each_grant_and_credential_sends_what_msal_sends() {
    for (kind, certificate) in [("secret", false), ("certificate", true)] {
        for (suffix, cae) in [("", false), ("_cp1", true)] {
            let ids = serde_json::json!({"now": NOW, "client_request_id": REQUEST_ID, "assertion_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"});
            let with = |mut input: Value| {
                input.as_object_mut().unwrap().extend(ids.as_object().unwrap().clone());
                input
            };
            let code = request(
                "exchange_code",
                with(
                    serde_json::json!({"settings": settings("authorization_code", cae), "redirect_uri": "https://platform.example/callback", "code": "CODE", "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}),
                ),
                certificate,
            );
            compare(&format!("authorization_code_{kind}{suffix}"), &code);
            let refresh = request(
                "refresh_token",
                with(serde_json::json!({"settings": settings("authorization_code", cae), "refresh_token": "rt"})),
                certificate,
            );
            compare(&format!("refresh_token_{kind}{suffix}"), &refresh);
            if cae {
                let challenge = r#"{"access_token":{"nbf":{"essential":true,"value":"1604106651"}}}"#;
                let refresh = request(
                    "refresh_token",
                    with(
                        serde_json::json!({"settings": settings("authorization_code", cae), "refresh_token": "rt", "claims": challenge}),
                    ),
                    certificate,
                );
                compare(&format!("refresh_token_{kind}{suffix}_challenge"), &refresh);
            }
            let app = request(
                "client_credentials",
                with(serde_json::json!({"settings": settings("client_credentials", cae)})),
                certificate,
            );
            compare(&format!("client_credentials_{kind}{suffix}"), &app);
        }
    }
}

#[test]
fn the_authorize_url_asks_what_msal_asks() {
    for (name, cae) in [("authorize_url", false), ("authorize_url_cp1", true)] {
        let doc: Value = serde_json::from_str(FIXTURE).unwrap();
        let names = |pairs: &mut dyn Iterator<Item = String>| -> BTreeMap<String, Option<String>> {
            pairs
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap();
                    let v = form_urlencoded::parse(format!("v={v}").as_bytes()).next().unwrap().1.into_owned();
                    // PKCE, state and nonce are random on both sides; the scope's words come in another order.
                    let v = match k {
                        "code_challenge" | "nonce" | "state" => None,
                        "scope" => {
                            let mut w: Vec<&str> = v.split(' ').collect();
                            w.sort_unstable();
                            Some(w.join(" "))
                        }
                        _ => Some(v),
                    };
                    (k.to_string(), v)
                })
                .collect()
        };
        let mut msal =
            names(&mut doc["cases"][name].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()));
        let input = serde_json::json!({"settings": settings("authorization_code", cae), "redirect_uri": "https://platform.example/callback", "state": "state-value-12345678", "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "nonce": "nonce-value-123456"});
        let out: Value = serde_json::from_str(&api::call(
            "authorize_url",
            input.to_string().as_bytes(),
            &platform(false),
            &mut crate::http::NoHttp,
        ))
        .unwrap();
        let url = out["ok"]["url"].as_str().unwrap_or_else(|| panic!("{out}"));
        let mut ours = names(&mut url.split_once('?').unwrap().1.split('&').map(str::to_string));
        // Said outright where MSAL relies on the defaults: the query response mode, and the
        // account picker (MSAL Python sends no prompt unless asked).
        assert_eq!(ours.remove("response_mode"), Some(Some("query".into())));
        assert_eq!(ours.remove("prompt"), Some(Some("select_account".into())));
        msal.remove("prompt");
        assert_eq!(ours, msal, "{name}");
    }
}

#[test]
fn the_device_code_flow_sends_what_msal_sends() {
    let settings = serde_json::json!({"name": "Parity", "scopes": ["User.Read"], "tenant": TENANT, "client_id": CLIENT_ID, "continuous_access_evaluation": "off"});
    let start = request(
        "device_code_start",
        serde_json::json!({"settings": settings, "now": NOW, "client_request_id": REQUEST_ID}),
        false,
    );
    compare("device_code_start", &start);
    let poll = request(
        "device_code_poll",
        serde_json::json!({"settings": settings, "device_code": "dc", "now": NOW, "client_request_id": REQUEST_ID}),
        false,
    );
    compare("device_code_poll", &poll);
}
