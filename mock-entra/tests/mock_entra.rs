//! The mock identity provider, checked from the outside with plain HTTP (no connector): an
//! independent OAuth client completes code + PKCE + refresh, and every check answers with the
//! documented shape.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use mock_entra::browser::{sign_in, BrowserOutcome};
use mock_entra::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "http://localhost:8400/callback";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn read(mut r: ureq::http::Response<ureq::Body>) -> Answer {
    let status = r.status().as_u16();
    let headers = r.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string())).collect();
    let body = r.body_mut().read_to_string().unwrap_or_default();
    Answer { status, headers, body }
}

fn post_token(mock: &MockEntra, tenant: &str, form: &[(&str, &str)]) -> Answer {
    read(
        agent()
            .post(format!("{}/{tenant}/oauth2/v2.0/token", mock.base_url()))
            .send_form(form.iter().copied())
            .unwrap(),
    )
}

fn get(url: &str, bearer: Option<&str>) -> Answer {
    let mut req = agent().get(url);
    if let Some(t) = bearer {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    read(req.call().unwrap())
}

fn authorize_url(mock: &MockEntra, tenant: &str, client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("client_id", client_id),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("response_mode", "query"),
        ("scope", "User.Read openid profile offline_access"),
        ("state", "state-123456789012"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("nonce", "nonce-1234567890ab"),
    ] {
        if !extra.iter().any(|(ek, _)| *ek == k) {
            q.append_pair(k, v);
        }
    }
    for (k, v) in extra {
        if !v.is_empty() {
            q.append_pair(k, v);
        }
    }
    format!("{}/{tenant}/oauth2/v2.0/authorize?{}", mock.base_url(), q.finish())
}

fn query_of(location: &str) -> std::collections::BTreeMap<String, String> {
    let q = location.split_once('?').map(|(_, q)| q).unwrap_or("");
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

/// Signs in through the consent page and returns the code.
fn code_for(mock: &MockEntra, tenant: &str, client_id: &str, extra: &[(&str, &str)]) -> String {
    match sign_in(&authorize_url(mock, tenant, client_id, extra), None, true).unwrap() {
        BrowserOutcome::Redirected(loc) => {
            assert!(loc.starts_with(REDIRECT), "{loc}");
            let q = query_of(&loc);
            assert_eq!(q.get("state").map(String::as_str), Some("state-123456789012"));
            q.get("code").cloned().unwrap_or_else(|| panic!("no code in {loc}"))
        }
        other => panic!("{other:?}"),
    }
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn redeem(mock: &MockEntra, tenant: &str, code: &str) -> Answer {
    post_token(
        mock,
        tenant,
        &[
            ("client_id", TEST_CLIENT_ID),
            ("grant_type", "authorization_code"),
            ("scope", "User.Read openid profile offline_access"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_secret", TEST_CLIENT_SECRET),
        ],
    )
}

/// Asserts the token endpoint's documented error shape and returns the body.
fn aad_error(a: &Answer, status: u16, error: &str, code: u32) -> Value {
    assert_eq!(a.status, status, "{}", a.body);
    let v = a.json();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).filter(|k| *k != "suberror").collect();
    assert_eq!(
        keys,
        vec!["correlation_id", "error", "error_codes", "error_description", "error_uri", "timestamp", "trace_id"],
        "{v}"
    );
    assert_eq!(v["error"], error, "{v}");
    assert_eq!(v["error_codes"], serde_json::json!([code]));
    assert!(v["error_description"].as_str().unwrap().starts_with(&format!("AADSTS{code}: ")), "{v}");
    assert!(v["error_description"].as_str().unwrap().contains(v["trace_id"].as_str().unwrap()));
    assert_eq!(v["trace_id"].as_str().unwrap().len(), 36);
    assert_eq!(v["error_uri"], format!("https://login.microsoftonline.com/error?code={code}"));
    v
}

#[test]
fn an_independent_client_completes_code_pkce_and_refresh() {
    let mock = MockEntra::start().unwrap();
    let disco = get(&format!("{}/organizations/v2.0/.well-known/openid-configuration", mock.base_url()), None).json();
    assert_eq!(disco["authorization_endpoint"], format!("{}/organizations/oauth2/v2.0/authorize", mock.base_url()));
    assert_eq!(disco["token_endpoint"], format!("{}/organizations/oauth2/v2.0/token", mock.base_url()));

    // The consent page lists the permissions with Accept and Cancel.
    let page = get(&authorize_url(&mock, "organizations", TEST_CLIENT_ID, &[]), None);
    assert_eq!(page.status, 200);
    for text in ["User.Read", "Sign in and read user profile", "offline_access", ">Accept</button>", ">Cancel</button>"]
    {
        assert!(page.body.contains(text), "{text} missing from the consent page");
    }
    let txn = page.body.split("name=\"txn\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let accepted = read(
        agent()
            .post(format!("{}/organizations/oauth2/v2.0/authorize", mock.base_url()))
            .send_form([("txn", txn.as_str()), ("decision", "accept")])
            .unwrap(),
    );
    assert_eq!(accepted.status, 302);
    let q = query_of(accepted.header("location").unwrap());
    let code = q["code"].clone();
    assert_eq!(q["state"], "state-123456789012");

    let a = redeem(&mock, "organizations", &code);
    assert_eq!(a.status, 200, "{}", a.body);
    let t = a.json();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "User.Read profile openid");
    assert!(t["expires_in"].as_i64().unwrap() > 0);
    let id = claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["aud"], TEST_CLIENT_ID);
    assert_eq!(id["tid"], TEST_TENANT_ID);
    assert_eq!(id["oid"], TEST_USER_ID);
    assert_eq!(id["iss"], format!("{}/{TEST_TENANT_ID}/v2.0", mock.base_url()));
    assert_eq!(id["nonce"], "nonce-1234567890ab");
    assert_eq!(id["preferred_username"], "adele.vance@contoso.onmicrosoft.com");
    assert_eq!(id["name"], "Adele Vance");
    for c in ["iat", "nbf", "exp"] {
        assert!(id[c].as_i64().is_some(), "{c}");
    }
    let at = claims(t["access_token"].as_str().unwrap());
    assert_eq!(at["scp"], "User.Read profile openid");
    let me = get(&format!("{}/v1.0/me", mock.base_url()), t["access_token"].as_str());
    assert_eq!(me.json()["userPrincipalName"], "adele.vance@contoso.onmicrosoft.com");

    // Refresh rotates; the old refresh token stays valid, as Entra documents.
    let rt1 = t["refresh_token"].as_str().unwrap().to_string();
    let r = post_token(
        &mock,
        "organizations",
        &[
            ("client_id", TEST_CLIENT_ID),
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt1),
            ("scope", "User.Read openid profile offline_access"),
            ("client_secret", TEST_CLIENT_SECRET),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let rt2 = r.json()["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2);
    assert_eq!(mock.latest_refresh_token().as_deref(), Some(rt2.as_str()));
    assert!(mock.refresh_token_valid(&rt1));
    let again = post_token(
        &mock,
        "organizations",
        &[
            ("client_id", TEST_CLIENT_ID),
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt1),
            ("scope", "User.Read"),
            ("client_secret", TEST_CLIENT_SECRET),
        ],
    );
    assert_eq!(again.status, 200);
    // Asking for more than was consented is refused.
    let more = post_token(
        &mock,
        "organizations",
        &[
            ("client_id", TEST_CLIENT_ID),
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt1),
            ("scope", "User.Read Mail.Read"),
            ("client_secret", TEST_CLIENT_SECRET),
        ],
    );
    assert_eq!(aad_error(&more, 400, "invalid_grant", 65001)["suberror"], "consent_required");

    // The log has the exact form fields.
    let log = mock.requests_to(Endpoint::Token);
    assert_eq!(
        log[0].form.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["client_id", "client_secret", "code", "code_verifier", "grant_type", "redirect_uri", "scope"]
    );
    assert_eq!(log[0].form["code_verifier"], VERIFIER);
}

#[test]
fn codes_are_single_use_short_lived_and_bound_to_their_request() {
    let mock = MockEntra::start().unwrap();
    let code = code_for(&mock, "organizations", TEST_CLIENT_ID, &[]);
    assert_eq!(redeem(&mock, "organizations", &code).status, 200);
    aad_error(&redeem(&mock, "organizations", &code), 400, "invalid_grant", 54005);

    let code = code_for(&mock, "organizations", TEST_CLIENT_ID, &[]);
    mock.advance_clock(601);
    aad_error(&redeem(&mock, "organizations", &code), 400, "invalid_grant", 70008);
    mock.advance_clock(-601);

    let code = code_for(&mock, "organizations", TEST_CLIENT_ID, &[]);
    let a = post_token(
        &mock,
        "organizations",
        &[
            ("client_id", TEST_CLIENT_ID),
            ("grant_type", "authorization_code"),
            ("scope", "User.Read openid"),
            ("code", &code),
            ("redirect_uri", "http://localhost:8400/other"),
            ("code_verifier", VERIFIER),
            ("client_secret", TEST_CLIENT_SECRET),
        ],
    );
    aad_error(&a, 400, "invalid_grant", 50011);

    let code = code_for(&mock, "organizations", TEST_CLIENT_ID, &[]);
    let wrong = "x".repeat(43);
    let a = post_token(
        &mock,
        "organizations",
        &[
            ("client_id", TEST_CLIENT_ID),
            ("grant_type", "authorization_code"),
            ("scope", "User.Read openid"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &wrong),
            ("client_secret", TEST_CLIENT_SECRET),
        ],
    );
    aad_error(&a, 400, "invalid_grant", 501481);

    let code = code_for(&mock, "organizations", TEST_CLIENT_ID, &[]);
    let a = post_token(
        &mock,
        "organizations",
        &[
            ("client_id", TEST_CLIENT_ID),
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_secret", TEST_CLIENT_SECRET),
        ],
    );
    aad_error(&a, 400, "invalid_request", 28003);

    let code = code_for(&mock, TEST_TENANT_ID, TEST_CLIENT_ID, &[]);
    aad_error(&redeem(&mock, OTHER_TENANT_ID, &code), 400, "invalid_grant", 700005);

    let code = code_for(&mock, "organizations", TEST_CLIENT_ID, &[]);
    let a = post_token(
        &mock,
        "organizations",
        &[
            ("client_id", TEST_CLIENT_ID),
            ("grant_type", "authorization_code"),
            ("scope", "User.Read https://management.azure.com/user_impersonation"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_secret", TEST_CLIENT_SECRET),
        ],
    );
    aad_error(&a, 400, "invalid_request", 700022);

    // S256 really is SHA-256 of the verifier.
    assert_eq!(URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER)), CHALLENGE);
}

#[test]
fn client_authentication_is_checked() {
    let mock = MockEntra::start().unwrap();
    let code = code_for(&mock, "organizations", TEST_CLIENT_ID, &[]);
    let base = [
        ("grant_type", "authorization_code"),
        ("scope", "User.Read openid"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let mut f = base.to_vec();
    f.push(("client_id", TEST_CLIENT_ID));
    aad_error(&post_token(&mock, "organizations", &f), 401, "invalid_client", 7000218);
    f.push(("client_secret", "wrong"));
    aad_error(&post_token(&mock, "organizations", &f), 401, "invalid_client", 7000215);
    let mut f = base.to_vec();
    f.extend([("client_id", PUBLIC_CLIENT_ID), ("client_secret", "anything")]);
    aad_error(&post_token(&mock, "organizations", &f), 400, "invalid_request", 700025);
    let mut f = base.to_vec();
    f.push(("client_id", "00000000-0000-0000-0000-00000000dead"));
    aad_error(&post_token(&mock, "organizations", &f), 400, "unauthorized_client", 700016);

    // A public client redeems with PKCE and no secret.
    let code = code_for(&mock, "organizations", PUBLIC_CLIENT_ID, &[]);
    let a = post_token(
        &mock,
        "organizations",
        &[
            ("client_id", PUBLIC_CLIENT_ID),
            ("grant_type", "authorization_code"),
            ("scope", "User.Read openid"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    );
    assert_eq!(a.status, 200, "{}", a.body);

    mock.expire_client_secret(TEST_CLIENT_ID);
    let a = post_token(
        &mock,
        TEST_TENANT_ID,
        &[
            ("client_id", TEST_CLIENT_ID),
            ("grant_type", "client_credentials"),
            ("scope", "https://graph.microsoft.com/.default"),
            ("client_secret", TEST_CLIENT_SECRET),
        ],
    );
    aad_error(&a, 401, "invalid_client", 7000222);
}

#[test]
fn client_credentials_needs_default_and_a_tenant() {
    let mock = MockEntra::start().unwrap();
    let ok = post_token(
        &mock,
        TEST_TENANT_ID,
        &[
            ("client_id", TEST_CLIENT_ID),
            ("grant_type", "client_credentials"),
            ("scope", "https://graph.microsoft.com/.default"),
            ("client_secret", TEST_CLIENT_SECRET),
        ],
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    let t = ok.json();
    assert!(t.get("refresh_token").is_none() && t.get("id_token").is_none());
    let at = claims(t["access_token"].as_str().unwrap());
    assert_eq!(at["roles"], serde_json::json!(["User.Read.All", "Organization.Read.All"]));
    let org = get(&format!("{}/v1.0/organization", mock.base_url()), t["access_token"].as_str());
    assert_eq!(org.json()["value"][0]["displayName"], "Contoso");
    let me = get(&format!("{}/v1.0/me", mock.base_url()), t["access_token"].as_str());
    assert_eq!(me.status, 400);

    let a = post_token(
        &mock,
        TEST_TENANT_ID,
        &[
            ("client_id", TEST_CLIENT_ID),
            ("grant_type", "client_credentials"),
            ("scope", "User.Read.All"),
            ("client_secret", TEST_CLIENT_SECRET),
        ],
    );
    aad_error(&a, 400, "invalid_scope", 1002012);
    let a = post_token(
        &mock,
        "organizations",
        &[
            ("client_id", TEST_CLIENT_ID),
            ("grant_type", "client_credentials"),
            ("scope", "https://graph.microsoft.com/.default"),
            ("client_secret", TEST_CLIENT_SECRET),
        ],
    );
    aad_error(&a, 400, "invalid_request", 9001023);
}

#[test]
fn authorize_errors_are_pages_or_redirects_as_entra_does() {
    let mock = MockEntra::start().unwrap();
    let page = |url: String| match sign_in(&url, None, true).unwrap() {
        BrowserOutcome::ErrorPage { status, text } => (status, text),
        other => panic!("expected an error page, got {other:?}"),
    };
    let (status, text) = page(authorize_url(&mock, "organizations", "00000000-0000-0000-0000-00000000dead", &[]));
    assert_eq!(status, 400);
    assert!(text.starts_with("AADSTS700016:"), "{text}");
    let (_, text) =
        page(authorize_url(&mock, "organizations", TEST_CLIENT_ID, &[("redirect_uri", "https://evil.example/cb")]));
    assert!(text.starts_with("AADSTS50011: The redirect URI 'https://evil.example/cb'"), "{text}");
    let (_, text) = page(authorize_url(&mock, "common", SINGLE_TENANT_CLIENT_ID, &[]));
    assert!(text.starts_with("AADSTS50194:"), "{text}");
    let (_, text) = page(authorize_url(&mock, "nosuchtenant.onmicrosoft.com", TEST_CLIENT_ID, &[]));
    assert!(text.starts_with("AADSTS90002:"), "{text}");

    let redirected = |url: String, accept: bool| match sign_in(&url, None, accept).unwrap() {
        BrowserOutcome::Redirected(loc) => query_of(&loc),
        other => panic!("expected a redirect, got {other:?}"),
    };
    let q = redirected(authorize_url(&mock, "organizations", TEST_CLIENT_ID, &[]), false);
    assert_eq!(q["error"], "access_denied");
    assert!(q["error_description"].starts_with("AADSTS65004:"));
    assert_eq!(q["state"], "state-123456789012");
    let q = redirected(authorize_url(&mock, "organizations", TEST_CLIENT_ID, &[("prompt", "none")]), true);
    assert_eq!(q["error"], "login_required");
    let q = redirected(authorize_url(&mock, "organizations", TEST_CLIENT_ID, &[("response_type", "token")]), true);
    assert_eq!(q["error"], "unsupported_response_type");
    let q = redirected(
        authorize_url(
            &mock,
            "organizations",
            TEST_CLIENT_ID,
            &[("scope", "User.Read https://management.azure.com/user_impersonation")],
        ),
        true,
    );
    assert_eq!(q["error"], "invalid_scope");
    let q = redirected(
        authorize_url(&mock, "organizations", TEST_CLIENT_ID, &[("scope", "Not.A.Permission openid")]),
        true,
    );
    assert!(q["error_description"].starts_with("AADSTS70011:"));
    let q =
        redirected(authorize_url(&mock, "organizations", TEST_CLIENT_ID, &[("code_challenge_method", "S512")]), true);
    assert_eq!(q["error"], "invalid_request");
    // A user of another tenant cannot sign in to a tenant-specific authority.
    match sign_in(&authorize_url(&mock, TEST_TENANT_ID, TEST_CLIENT_ID, &[]), Some(GUEST_USER_ID), true).unwrap() {
        BrowserOutcome::Redirected(loc) => assert!(query_of(&loc)["error_description"].starts_with("AADSTS50020:")),
        other => panic!("{other:?}"),
    }
    // The localhost port is ignored when matching redirect URIs.
    let q = redirected(
        authorize_url(&mock, "organizations", TEST_CLIENT_ID, &[("redirect_uri", "http://localhost:1/callback")]),
        true,
    );
    assert!(q.contains_key("code"));
}

#[test]
fn admin_consent_redirects_as_documented() {
    let mock = MockEntra::start().unwrap();
    let url = |tenant: &str| {
        format!("{}/{tenant}/v2.0/adminconsent?client_id={PUBLIC_CLIENT_ID}&scope=https%3A%2F%2Fgraph.microsoft.com%2FGroup.Read.All&redirect_uri={}&state=consent-state-1234", mock.base_url(), form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>())
    };
    match sign_in(&url(TEST_TENANT_ID), Some(ADMIN_USER_ID), true).unwrap() {
        BrowserOutcome::Redirected(loc) => {
            let q = query_of(&loc);
            assert_eq!(
                (q["admin_consent"].as_str(), q["tenant"].as_str(), q["state"].as_str()),
                ("True", TEST_TENANT_ID, "consent-state-1234")
            );
            assert_eq!(q["scope"], "https://graph.microsoft.com/Group.Read.All");
        }
        other => panic!("{other:?}"),
    }
    match sign_in(&url(TEST_TENANT_ID), Some(ADMIN_USER_ID), false).unwrap() {
        BrowserOutcome::Redirected(loc) => {
            let q = query_of(&loc);
            assert_eq!(q["error"], "consent_required");
            assert!(q["error_description"].starts_with("AADSTS65004"));
        }
        other => panic!("{other:?}"),
    }
    match sign_in(&url("common"), None, true).unwrap() {
        BrowserOutcome::ErrorPage { .. } => {}
        other => panic!("common must be refused: {other:?}"),
    }
}

#[test]
fn graph_checks_privileges_and_tokens() {
    let mock = MockEntra::start().unwrap();
    let code = code_for(
        &mock,
        "organizations",
        TEST_CLIENT_ID,
        &[("scope", "User.Read User.ReadWrite.All openid profile offline_access")],
    );
    let a = post_token(
        &mock,
        "organizations",
        &[
            ("client_id", TEST_CLIENT_ID),
            ("grant_type", "authorization_code"),
            ("scope", "User.Read User.ReadWrite.All openid profile offline_access"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_secret", TEST_CLIENT_SECRET),
        ],
    );
    let token = a.json()["access_token"].as_str().unwrap().to_string();
    let patch = |body: &str, token: &str| {
        read(
            agent()
                .patch(format!("{}/v1.0/users/{GUEST_USER_ID}", mock.base_url()))
                .header("Authorization", &format!("Bearer {token}"))
                .header("Content-Type", "application/json")
                .send(body)
                .unwrap(),
        )
    };
    let denied = patch(r#"{"accountEnabled": false}"#, &token);
    assert_eq!(denied.status, 403);
    let v = denied.json();
    assert_eq!(v["error"]["code"], "Authorization_RequestDenied");
    assert_eq!(v["error"]["message"], "Insufficient privileges to complete the operation.");
    for k in ["date", "request-id", "client-request-id"] {
        assert!(v["error"]["innerError"][k].is_string(), "{k}");
    }
    assert_eq!(denied.header("request-id"), v["error"]["innerError"]["request-id"].as_str());
    assert_eq!(patch(r#"{"jobTitle": "Engineer"}"#, &token).status, 204);
    mock.grant_role(TEST_USER_ID, "Authentication Administrator");
    assert_eq!(patch(r#"{"accountEnabled": false}"#, &token).status, 204);

    let sp = get(&format!("{}/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')?$select=oauth2PermissionScopes,appRoles", mock.base_url()), Some(&token)).json();
    assert!(sp["oauth2PermissionScopes"].as_array().unwrap().len() >= 20);
    assert!(sp["appRoles"].as_array().unwrap().len() >= 5);

    mock.advance_clock(3601);
    let expired = get(&format!("{}/v1.0/me", mock.base_url()), Some(&token));
    assert_eq!(expired.status, 401);
    assert_eq!(expired.json()["error"]["code"], "InvalidAuthenticationToken");
    assert_eq!(get(&format!("{}/v1.0/me", mock.base_url()), None).status, 401);
}

#[test]
fn faults_play_per_endpoint_and_call() {
    let mock = MockEntra::start().unwrap();
    let cc = |m: &MockEntra| {
        post_token(
            m,
            TEST_TENANT_ID,
            &[
                ("client_id", TEST_CLIENT_ID),
                ("grant_type", "client_credentials"),
                ("scope", "https://graph.microsoft.com/.default"),
                ("client_secret", TEST_CLIENT_SECRET),
            ],
        )
    };

    mock.script(Endpoint::Token, Calls::Nth(2), Fault::Status { status: 429, retry_after: Some("2.128".into()) });
    assert_eq!(cc(&mock).status, 200);
    let t = cc(&mock);
    assert_eq!(t.header("retry-after"), Some("2.128"));
    aad_error(&t, 429, "temporarily_unavailable", 90055);
    assert_eq!(cc(&mock).status, 200);

    mock.script(Endpoint::Token, Calls::Next(2), Fault::Status { status: 503, retry_after: None });
    assert_eq!((cc(&mock).status, cc(&mock).status, cc(&mock).status), (503, 503, 200));
    mock.script(Endpoint::Token, Calls::Next(1), Fault::Status { status: 504, retry_after: Some("5".into()) });
    assert_eq!(cc(&mock).status, 504);

    for (fault, status, error, code) in [
        (Fault::RevokedRefreshToken, 400, "invalid_grant", 50173),
        (Fault::InactiveRefreshToken, 400, "invalid_grant", 700082),
        (Fault::ClientSecretExpired, 401, "invalid_client", 7000222),
        (Fault::ConsentRequired, 400, "invalid_grant", 65001),
        (Fault::MfaRequired, 400, "invalid_grant", 50076),
        (Fault::BlockedByConditionalAccess, 400, "invalid_grant", 53003),
    ] {
        mock.script(Endpoint::Token, Calls::Next(1), fault);
        aad_error(&cc(&mock), status, error, code);
    }

    mock.script(Endpoint::Token, Calls::Next(1), Fault::Html { status: 502 });
    let h = cc(&mock);
    assert_eq!(h.status, 502);
    assert!(h.body.starts_with("<!DOCTYPE html>"));
    mock.script(Endpoint::Token, Calls::Next(1), Fault::TruncatedJson { status: 400 });
    let tj = cc(&mock);
    assert!(serde_json::from_str::<Value>(&tj.body).is_err());

    mock.script(Endpoint::Token, Calls::Next(1), Fault::Slow { delay_ms: 1500 });
    let started = Instant::now();
    let slow_agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_millis(300)))
        .http_status_as_error(false)
        .build()
        .into();
    assert!(slow_agent
        .post(format!("{}/{TEST_TENANT_ID}/oauth2/v2.0/token", mock.base_url()))
        .send_form([("grant_type", "client_credentials")])
        .is_err());
    assert!(started.elapsed() < Duration::from_millis(1400));

    mock.script(Endpoint::Token, Calls::Next(1), Fault::Drop);
    let dropped = agent()
        .post(format!("{}/{TEST_TENANT_ID}/oauth2/v2.0/token", mock.base_url()))
        .send_form([("grant_type", "client_credentials")]);
    assert!(
        dropped.is_err() || dropped.unwrap().body_mut().read_to_string().is_err(),
        "a dropped connection must not read as a complete answer"
    );

    let at = cc(&mock).json()["access_token"].as_str().unwrap().to_string();
    mock.script(Endpoint::Graph, Calls::Next(1), Fault::ClaimsChallenge);
    let c = get(&format!("{}/v1.0/organization", mock.base_url()), Some(&at));
    assert_eq!(c.status, 401);
    let www = c.header("www-authenticate").unwrap();
    assert!(www.contains("error=\"insufficient_claims\"") && www.contains("claims=\""), "{www}");

    let log = mock.requests_to(Endpoint::Token);
    assert!(log.iter().filter(|r| r.fault.is_some()).count() >= 12);
    assert_eq!(log[0].form["grant_type"], "client_credentials");
}
