//! The connector's flows through the real .wasm against the mock Entra ID: code + PKCE
//! exchange, refresh rotation, client credentials, the connection test, the live scope
//! catalog, every id_token check, validation errors, and classified failures.

use e2e::mock_entra::{
    Calls, Endpoint, Fault, IdTokenTamper, ADMIN_USER_ID, TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_TENANT_ID,
    TEST_USER_ID,
};
use e2e::*;
use serde_json::{json, Value};

fn settings() -> Value {
    json!({"name": "HR directory", "scopes": ["User.Read", "User.ReadBasic.All"]})
}

#[test]
fn code_with_pkce_then_refresh_rotation_then_test_connection() {
    let w = World::new();
    let t = w.connect(&settings()).unwrap().unwrap();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["grant"], "authorization_code");
    assert_eq!(t["identity"]["tenant_id"], TEST_TENANT_ID);
    assert_eq!(t["identity"]["object_id"], TEST_USER_ID);
    assert_eq!(t["identity"]["username"], "adele.vance@contoso.onmicrosoft.com");
    assert!(t["expires_at"].as_i64().unwrap() > now());
    let rt1 = t["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(w.mock.latest_refresh_token().as_deref(), Some(rt1.as_str()));

    // The token request was exactly the documented one.
    let log = w.mock.requests_to(Endpoint::Token);
    let form = &log[0].form;
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["client_id"], TEST_CLIENT_ID);
    assert_eq!(form["client_secret"], TEST_CLIENT_SECRET);
    assert_eq!(form["code_verifier"], VERIFIER);
    assert_eq!(form["redirect_uri"], REDIRECT_URI);
    assert_eq!(form["scope"], "User.Read User.ReadBasic.All openid profile offline_access");
    let authorize = &w.mock.requests_to(Endpoint::Authorize)[0].query;
    assert_eq!(authorize["code_challenge_method"], "S256");
    assert_eq!(authorize["code_challenge"], "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    assert_eq!(authorize["state"], STATE);
    assert_eq!(authorize["nonce"], NONCE);

    let r = w
        .host
        .call("refresh_token", &json!({"settings": settings(), "refresh_token": rt1, "now": now()}))
        .unwrap()
        .unwrap();
    let rt2 = r["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2);
    assert_eq!(r["refresh_token_rotated"], true);
    assert_eq!(w.mock.latest_refresh_token().as_deref(), Some(rt2.as_str()));
    let refresh_form = &w.mock.requests_to(Endpoint::Token)[1].form;
    assert_eq!(refresh_form["grant_type"], "refresh_token");
    assert_eq!(refresh_form["refresh_token"], rt1);

    let who = w
        .host
        .call("test_connection", &json!({"settings": settings(), "access_token": r["access_token"]}))
        .unwrap()
        .unwrap();
    assert_eq!(who["kind"], "delegated");
    assert_eq!(who["user"]["username"], "adele.vance@contoso.onmicrosoft.com");
    assert_eq!(who["tenant"]["display_name"], "Contoso");
    assert_eq!(who["missing_scopes"], json!([]));
    assert_eq!(who["summary"], "Connected as adele.vance@contoso.onmicrosoft.com in Contoso.");
}

#[test]
fn missing_permissions_are_listed() {
    let w = World::new();
    let t = w.connect(&settings()).unwrap().unwrap();
    let mut more = settings();
    more["scopes"] = json!(["User.Read", "User.ReadBasic.All", "Group.Read.All"]);
    let who =
        w.host.call("test_connection", &json!({"settings": more, "access_token": t["access_token"]})).unwrap().unwrap();
    assert_eq!(who["missing_scopes"], json!(["Group.Read.All"]));
    assert!(who["summary"].as_str().unwrap().ends_with("Not granted: Group.Read.All."));
}

#[test]
fn client_credentials_and_app_only_test() {
    let w = World::new();
    let s = json!({"name": "Directory sync", "scopes": ["User.Read.All", "Group.Read.All"], "grant": "client_credentials", "tenant": TEST_TENANT_ID});
    let t = w.host.call("client_credentials", &json!({"settings": s, "now": now()})).unwrap().unwrap();
    assert_eq!(t["grant"], "client_credentials");
    assert!(t.get("refresh_token").is_none());
    assert_eq!(w.mock.requests_to(Endpoint::Token)[0].form["scope"], "https://graph.microsoft.com/.default");
    let who =
        w.host.call("test_connection", &json!({"settings": s, "access_token": t["access_token"]})).unwrap().unwrap();
    assert_eq!(who["kind"], "application");
    assert_eq!(who["tenant"]["id"], TEST_TENANT_ID);
    assert_eq!(who["missing_scopes"], json!(["Group.Read.All"]));
    // "Refreshing" an app-only connection gets a new token.
    let again = w.host.call("refresh_token", &json!({"settings": s, "now": now()})).unwrap().unwrap();
    assert_eq!(again["grant"], "client_credentials");
    assert_ne!(again["access_token"], t["access_token"]);
}

#[test]
fn live_scope_catalog_and_fallback() {
    let w = World::new();
    let t = w.connect(&settings()).unwrap().unwrap();
    let live = w.host.call("list_scopes", &json!({"access_token": t["access_token"]})).unwrap().unwrap();
    assert_eq!(live["source"], "live");
    let scopes = live["scopes"].as_array().unwrap();
    let user_read = scopes.iter().find(|s| s["value"] == "User.Read" && s["kind"] == "delegated").unwrap();
    assert_eq!(user_read["admin_consent_required"], false);
    assert!(scopes.iter().any(|s| s["value"] == "Directory.Read.All"
        && s["kind"] == "application"
        && s["admin_consent_required"] == true));
    assert!(w
        .mock
        .requests_to(Endpoint::Graph)
        .last()
        .unwrap()
        .path
        .starts_with("/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')"));

    w.mock.script(Endpoint::Graph, Calls::Next(1), Fault::Status { status: 503, retry_after: None });
    let fallback = w.host.call("list_scopes", &json!({"access_token": t["access_token"]})).unwrap().unwrap();
    assert_eq!(fallback["source"], "builtin");
    assert_eq!(fallback["fetch_error"]["code"], "transient");
    assert!(fallback["note"].as_str().unwrap().contains("built-in"));
    let builtin = w.host.call("list_scopes", &json!({})).unwrap().unwrap();
    assert!(builtin["scopes"].as_array().unwrap().iter().filter(|s| s["kind"] != "oidc").count() >= 40);
}

#[test]
fn each_id_token_check_fails_through_the_wasm() {
    let w = World::new();
    for (tamper, reason) in [
        (IdTokenTamper::Audience, "audience"),
        (IdTokenTamper::Issuer, "issuer"),
        (IdTokenTamper::Nonce, "nonce"),
        (IdTokenTamper::Expired, "expired"),
    ] {
        w.mock.tamper_id_tokens(Some(tamper));
        let e = w.connect(&settings()).unwrap().unwrap_err();
        assert_eq!(e.code(), "id_token_invalid", "{tamper:?}: {e}");
        assert!(e.message().contains(reason), "{tamper:?}: {}", e.message());
    }
    // With organizations any tenant may sign in; a tenant pinned in the settings refuses an
    // id_token of another tenant.
    w.mock.tamper_id_tokens(Some(IdTokenTamper::Tenant));
    assert!(w.connect(&settings()).unwrap().is_ok());
    w.mock.tamper_id_tokens(Some(IdTokenTamper::Tenant));
    let mut pinned = settings();
    pinned["tenant"] = json!(TEST_TENANT_ID);
    let e = w.connect(&pinned).unwrap().unwrap_err();
    assert_eq!(e.code(), "id_token_invalid");
    w.mock.tamper_id_tokens(None);
    assert!(w.connect(&settings()).unwrap().is_ok());
}

#[test]
fn validation_errors_through_the_wasm() {
    let w = World::new();
    let cases = [
        (json!({"name": "", "scopes": ["User.Read"]}), "settings.name"),
        (json!({"name": "x".repeat(101), "scopes": ["User.Read"]}), "settings.name"),
        (json!({"name": "n", "scopes": []}), "settings.scopes"),
        (json!({"name": "n", "scopes": ["User Read"]}), "settings.scopes[0]"),
        (
            json!({"name": "n", "scopes": ["User.Read", "https://management.azure.com/user_impersonation"]}),
            "settings.scopes",
        ),
        (json!({"name": "n", "scopes": [".default", "User.Read"]}), "settings.scopes"),
        (json!({"name": "n", "scopes": ["User.Read"], "tenant": "not a tenant"}), "settings.tenant"),
        (json!({"name": "n", "scopes": ["User.Read"], "tenant": "consumers"}), "settings.tenant"),
        (json!({"name": "n", "scopes": ["User.Read"], "cloud": "germany"}), "settings.cloud"),
        (json!({"name": "n", "scopes": ["User.Read"], "client_id": "my-app"}), "settings.client_id"),
        (
            json!({"name": "n", "scopes": ["User.Read"], "grant": "client_credentials", "tenant": "common"}),
            "settings.tenant",
        ),
        (json!({"name": "n", "scopes": ["User.Read"], "prompt": "always"}), "settings.prompt"),
        (
            json!({"name": "n", "scopes": ["User.Read"], "token_url": "https://evil.example/token"}),
            "settings.token_url",
        ),
    ];
    for (s, field) in cases {
        let e = w
            .host
            .call(
                "authorize_url",
                &json!({"settings": s, "redirect_uri": REDIRECT_URI, "state": STATE, "code_verifier": VERIFIER}),
            )
            .unwrap()
            .unwrap_err();
        assert_eq!((e.code(), e.field()), ("invalid_input", Some(field)), "{s}: {e}");
    }
    let e = w.host.call("authorize_url", &json!({"settings": settings(), "redirect_uri": "http://platform.example.com/cb", "state": STATE, "code_verifier": VERIFIER})).unwrap().unwrap_err();
    assert_eq!(e.field(), Some("redirect_uri"));
    let e = w
        .host
        .call(
            "authorize_url",
            &json!({"settings": settings(), "redirect_uri": REDIRECT_URI, "state": STATE, "code_verifier": "short"}),
        )
        .unwrap()
        .unwrap_err();
    assert_eq!(e.field(), Some("code_verifier"));
    assert!(w.mock.requests().is_empty(), "nothing invalid reached the identity provider");
}

#[test]
fn provider_failures_come_back_classified() {
    let w = World::new();
    let t = w.connect(&settings()).unwrap().unwrap();
    let rt = t["refresh_token"].as_str().unwrap();
    let refresh = |w: &World| {
        w.host
            .call("refresh_token", &json!({"settings": settings(), "refresh_token": rt, "now": now()}))
            .unwrap()
            .unwrap_err()
    };

    w.mock.script(Endpoint::Token, Calls::Next(1), Fault::RevokedRefreshToken);
    let e = refresh(&w);
    assert_eq!((e.code(), e.action().map(|a| a.as_str())), ("reauthorization_required", Some("reauthorize")));
    assert_eq!(details(&e)["provider"]["aadsts"], json!([50173]));
    assert!(details(&e)["support"]["trace_id"].is_string());

    w.mock.script(Endpoint::Token, Calls::Next(1), Fault::Status { status: 429, retry_after: Some("7".into()) });
    let e = refresh(&w);
    assert_eq!((e.code(), details(&e)["retry_after_seconds"].as_f64()), ("throttled", Some(7.0)));

    w.mock.script(Endpoint::Token, Calls::Next(1), Fault::ClientSecretExpired);
    assert_eq!(refresh(&w).code(), "client_secret_expired");
    w.mock.script(Endpoint::Token, Calls::Next(1), Fault::MfaRequired);
    assert_eq!(refresh(&w).code(), "mfa_required");
    w.mock.script(Endpoint::Token, Calls::Next(1), Fault::BlockedByConditionalAccess);
    assert_eq!(refresh(&w).action().map(|a| a.as_str()), Some("contact_admin"));
    w.mock.script(Endpoint::Token, Calls::Next(1), Fault::Html { status: 503 });
    assert_eq!(refresh(&w).code(), "transient");
    w.mock.script(Endpoint::Token, Calls::Next(1), Fault::Drop);
    let e = refresh(&w);
    assert_eq!(e.code(), "transient", "{e}");

    // Graph: the seed document's error, with its role remedy.
    let who = |w: &World| {
        w.host
            .call("test_connection", &json!({"settings": settings(), "access_token": t["access_token"]}))
            .unwrap()
            .unwrap_err()
    };
    w.mock.script(Endpoint::Graph, Calls::Next(1), Fault::ClaimsChallenge);
    let e = who(&w);
    assert_eq!(e.code(), "claims_challenge");
    assert!(details(&e)["claims"].as_str().unwrap().contains("access_token"));
    w.mock.advance_clock(7200);
    let e = who(&w);
    assert_eq!((e.code(), e.action().map(|a| a.as_str())), ("token_expired", Some("refresh_token")));
}

#[test]
fn authorization_request_denied_gets_the_role_remedy() {
    // The connector's own requests never PATCH; the platform classifies its Graph calls with classify_error.
    let w = World::new();
    let denied = r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"date":"2026-11-27T10:00:00","request-id":"r-1","client-request-id":"c-1"}}}"#;
    let c = w.host.call("classify_error", &json!({"phase": "graph", "status": 403, "body": denied})).unwrap().unwrap();
    assert_eq!(c["code"], "insufficient_privileges");
    assert_eq!(c["action"], "assign_role");
    let r = c["remediation"].as_str().unwrap();
    assert!(
        r.contains("Global administrator (maximum permissions)")
            && r.contains("Authentication administrator (minimum permissions)")
    );
    let _ = ADMIN_USER_ID;
}
