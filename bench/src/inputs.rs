//! What the bench sends: settings, real error bodies, codes from the mock's consent page.

use entra_id_connector::secret::Secret;
use host_harness::ConnectorHost;
use mock_entra::browser::{query_of, sign_in_redirect};
use serde_json::{json, Value};

pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const REDIRECT: &str = "http://localhost:8400/callback";

pub fn settings() -> Value {
    json!({"name": "Bench", "scopes": ["User.Read", "User.ReadBasic.All"]})
}

pub fn large_graph_error() -> String {
    let mut inner = json!({"date": "2026-11-27T10:00:00", "request-id": "3ed2d3e5-0b9a-4b1a-8c8f-7a1e2f3d4c5b", "client-request-id": "9a8b7c6d-0b9a-4b1a-8c8f-7a1e2f3d4c5b"});
    for i in 0..8 {
        inner = json!({"code": format!("inner{i}"), "message": "x".repeat(200), "innerError": inner});
    }
    json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation.", "innerError": inner}}).to_string()
}

pub const TOKEN_ERROR: &str = r#"{"error":"invalid_grant","error_description":"AADSTS70008: The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.\r\nTrace ID: 255d1aef-8c98-452f-ac51-23d051240864\r\nCorrelation ID: fb3d2015-bc17-4bb9-bb85-30c5cf1aaaa7\r\nTimestamp: 2026-01-09 02:02:12Z","error_codes":[70008],"timestamp":"2026-01-09 02:02:12Z","trace_id":"255d1aef-8c98-452f-ac51-23d051240864","correlation_id":"fb3d2015-bc17-4bb9-bb85-30c5cf1aaaa7"}"#;

pub fn settings_map() -> connector_interface::io::Settings {
    settings().as_object().cloned().unwrap_or_default()
}

pub fn code_for(host: &ConnectorHost) -> String {
    let out = host
        .v1()
        .authorize_url(&connector_interface::AuthorizeUrlInput {
            settings: settings_map(),
            redirect_uri: REDIRECT.into(),
            state: "bench-state-0123456789".into(),
            code_verifier: Secret::new(VERIFIER),
            nonce: None,
            claims: None,
        })
        .unwrap()
        .unwrap();
    let location = sign_in_redirect(&out.url, None, true).unwrap();
    query_of(&location).remove("code").unwrap()
}

/// The `client_request_id` of the benchmark's network calls.
pub const REQUEST_ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

pub fn exchange_input(code: String) -> connector_interface::ExchangeCodeInput {
    connector_interface::ExchangeCodeInput {
        settings: settings_map(),
        redirect_uri: REDIRECT.into(),
        code: Secret::new(code),
        code_verifier: Secret::new(VERIFIER),
        nonce: None,
        now: now(),
        assertion_id: None,
        // As the platform sends it: every network call carries a request id.
        client_request_id: Some(REQUEST_ID.into()),
        claims: None,
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}
