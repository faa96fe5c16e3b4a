//! Exact token requests for every flow and cloud, and every id_token check.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

use super::*;
use crate::http::{HttpResponse, TransportError, TransportKind};

const CLIENT: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const NOW: i64 = 1_800_000_000;
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn platform(secret: Option<&str>) -> Platform {
    Platform { client_id: Some(CLIENT.into()), client_secret: secret.map(Secret::new), ..Default::default() }
}

fn raw(cloud: &str) -> RawSettings {
    RawSettings {
        name: "Directory".into(),
        scopes: vec!["User.Read".into(), "Group.Read.All".into()],
        cloud: Some(cloud.into()),
        ..Default::default()
    }
}

fn jwt(claims: serde_json::Value) -> String {
    format!("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.{}.c2ln", URL_SAFE_NO_PAD.encode(claims.to_string()))
}

fn id_token(iss_host: &str) -> serde_json::Value {
    json!({"aud": CLIENT, "iss": format!("https://{iss_host}/{TID}/v2.0"), "tid": TID, "oid": "00000000-0000-0000-66f3-3332eca7ea81", "preferred_username": "ada@contoso.com", "name": "Ada Lovelace", "nonce": "nonce-value-123456", "iat": NOW - 10, "nbf": NOW - 10, "exp": NOW + 3600})
}

fn ok_body(id: Option<serde_json::Value>) -> String {
    let mut b = json!({"token_type": "Bearer", "scope": "User.Read Group.Read.All profile openid", "expires_in": 4871, "ext_expires_in": 4871, "access_token": "at-123", "refresh_token": "rt-new"});
    if let Some(c) = id {
        b["id_token"] = json!(jwt(c));
    }
    b.to_string()
}

/// A fake HTTP boundary: records the request, answers with `status` and `body`.
fn fake(status: u16, body: String, seen: &mut Vec<HttpRequest>) -> impl FnMut(&HttpRequest) -> HttpOutcome + '_ {
    move |r: &HttpRequest| {
        seen.push(r.clone());
        HttpOutcome::Response(HttpResponse { status, headers: Default::default(), body: body.clone() })
    }
}

/// `claims` declaring the client capability cp1, form-encoded.
const CP1_FORM: &str =
    "claims=%7B%22access_token%22%3A%20%7B%22xms_cc%22%3A%20%7B%22values%22%3A%20%5B%22cp1%22%5D%7D%7D%7D";

fn exchange(cloud: &str, secret: Option<&str>, status: u16, body: String) -> (CResult<TokenSet>, Vec<HttpRequest>) {
    let mut seen = Vec::new();
    let input = ExchangeInput {
        settings: raw(cloud),
        redirect_uri: "https://platform.example.com/cb".into(),
        code: Secret::new("M.C507_SN1.2.U.code"),
        code_verifier: Secret::new(VERIFIER),
        nonce: Some("nonce-value-123456".into()),
        now: NOW,
        assertion_id: None,
        client_request_id: None,
        claims: None,
    };
    let r = exchange_code(&input, &platform(secret), &mut fake(status, body, &mut seen));
    (r, seen)
}

#[test]
fn code_exchange_request_per_cloud() {
    for (cloud, login, issuer) in [
        ("global", "login.microsoftonline.com", "login.microsoftonline.com"),
        ("usgov", "login.microsoftonline.us", "login.microsoftonline.us"),
        ("usgov-dod", "login.microsoftonline.us", "login.microsoftonline.us"),
        ("china", "login.chinacloudapi.cn", "login.partner.microsoftonline.cn"),
    ] {
        let (r, seen) = exchange(cloud, Some("s3cr3t~value"), 200, ok_body(Some(id_token(issuer))));
        let t = r.unwrap_or_else(|e| panic!("{cloud}: {e:?}"));
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].method, "POST");
        assert_eq!(seen[0].url, format!("https://{login}/organizations/oauth2/v2.0/token"));
        assert_eq!(seen[0].headers["content-type"], "application/x-www-form-urlencoded");
        assert_eq!(
            seen[0].body.as_deref().unwrap(),
            format!("client_id={CLIENT}&grant_type=authorization_code&scope=User.Read%20Group.Read.All%20openid%20profile%20offline_access&code=M.C507_SN1.2.U.code&redirect_uri=https%3A%2F%2Fplatform.example.com%2Fcb&code_verifier={VERIFIER}&client_info=1&{CP1_FORM}&client_secret=s3cr3t~value")
        );
        assert_eq!(t.expires_at, NOW + 4871);
        assert_eq!(t.scopes, vec!["User.Read", "Group.Read.All", "profile", "openid"]);
        assert_eq!(t.refresh_token.as_ref().map(Secret::expose), Some("rt-new"));
        let id = t.identity.unwrap();
        assert_eq!(
            (id.tenant_id.as_str(), id.username.as_deref(), id.display_name.as_deref()),
            (TID, Some("ada@contoso.com"), Some("Ada Lovelace"))
        );
    }
}

#[test]
fn a_public_client_sends_no_secret() {
    let (r, seen) = exchange("global", None, 200, ok_body(Some(id_token("login.microsoftonline.com"))));
    r.unwrap();
    assert!(!seen[0].body.as_deref().unwrap().contains("client_secret"));
}

#[test]
fn refresh_request_and_rotation() {
    let mut seen = Vec::new();
    let input = RefreshInput {
        settings: raw("global"),
        refresh_token: Some(Secret::new("rt-old")),
        now: NOW,
        assertion_id: None,
        client_request_id: None,
        claims: None,
    };
    let t = refresh_token(&input, &platform(Some("sec")), &mut fake(200, ok_body(None), &mut seen)).unwrap();
    assert_eq!(seen[0].body.as_deref().unwrap(), format!("client_id={CLIENT}&grant_type=refresh_token&scope=User.Read%20Group.Read.All%20openid%20profile%20offline_access&refresh_token=rt-old&client_info=1&{CP1_FORM}&client_secret=sec"));
    assert!(t.refresh_token_rotated);
    assert_eq!(t.refresh_token.unwrap().expose(), "rt-new");

    // No new refresh token: say so, and the platform keeps the current one.
    let body = json!({"token_type": "Bearer", "expires_in": "3599", "access_token": "at-2"}).to_string();
    let t = refresh_token(&input, &platform(Some("sec")), &mut fake(200, body, &mut Vec::new())).unwrap();
    assert!(!t.refresh_token_rotated && t.refresh_token.is_none());
    assert!(t.notes[0].contains("keep the current one"));
    assert_eq!(t.expires_in, 3599);
    assert_eq!(t.scopes, vec!["User.Read", "Group.Read.All", "openid", "profile", "offline_access"]);
}

#[test]
fn client_credentials_request() {
    let mut seen = Vec::new();
    let mut s = raw("usgov-dod");
    s.grant = Some("client_credentials".into());
    s.tenant = Some(TID.into());
    s.scopes = vec!["User.Read.All".into()];
    let body = json!({"token_type": "Bearer", "expires_in": 3599, "access_token": jwt(json!({"tid": TID, "roles": ["User.Read.All"], "appid": CLIENT}))}).to_string();
    let t = client_credentials(
        &ClientCredentialsInput { settings: s, now: NOW, assertion_id: None, client_request_id: None, claims: None },
        &platform(Some("sec")),
        &mut fake(200, body, &mut seen),
    )
    .unwrap();
    assert_eq!(seen[0].url, format!("https://login.microsoftonline.us/{TID}/oauth2/v2.0/token"));
    assert_eq!(seen[0].body.as_deref().unwrap(), format!("client_id={CLIENT}&grant_type=client_credentials&scope=https%3A%2F%2Fdod-graph.microsoft.us%2F.default&client_info=1&{CP1_FORM}&client_secret=sec"));
    assert_eq!(t.identity.unwrap().app_id.as_deref(), Some(CLIENT));
    assert!(t.refresh_token.is_none());
}

fn id_failure(edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut c = id_token("login.microsoftonline.com");
    edit(&mut c);
    let (r, _) = exchange("global", Some("s"), 200, ok_body(Some(c)));
    let e = r.unwrap_err();
    assert_eq!(e.code(), "id_token_invalid");
    assert!(!e.message().contains("at-123") && !e.message().contains("rt-new"));
    e.message().to_string()
}

#[test]
fn every_id_token_check() {
    assert!(id_failure(|c| c["aud"] = json!("someone-else")).contains("audience"));
    assert!(id_failure(|c| c["iss"] = json!(format!("https://login.microsoftonline.us/{TID}/v2.0")))
        .contains("issuer host"));
    assert!(id_failure(
        |c| c["iss"] = json!("https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0")
    )
    .contains("its own tenant"));
    assert!(id_failure(|c| c["iss"] = json!(format!("http://login.microsoftonline.com/{TID}/v2.0"))).contains("issuer"));
    assert!(id_failure(|c| c["nonce"] = json!("another-nonce-12345")).contains("nonce"));
    assert!(id_failure(|c| {
        c.as_object_mut().unwrap().remove("nonce");
    })
    .contains("nonce"));
    assert!(id_failure(|c| c["exp"] = json!(NOW - 301)).contains("expired"));
    assert!(id_failure(|c| c["nbf"] = json!(NOW + 301)).contains("not valid yet"));
    assert!(id_failure(|c| {
        c.as_object_mut().unwrap().remove("tid");
    })
    .contains("tenant"));
    // Within the skew it passes.
    let mut c = id_token("login.microsoftonline.com");
    c["exp"] = json!(NOW - 299);
    assert!(exchange("global", Some("s"), 200, ok_body(Some(c))).0.is_ok());
}

#[test]
fn an_id_token_for_another_tenant_is_refused_when_the_tenant_is_pinned() {
    let mut seen = Vec::new();
    let mut s = raw("global");
    s.tenant = Some("11111111-1111-1111-1111-111111111111".into());
    let input = ExchangeInput {
        settings: s,
        redirect_uri: "https://platform.example.com/cb".into(),
        code: Secret::new("c"),
        code_verifier: Secret::new(VERIFIER),
        nonce: Some("nonce-value-123456".into()),
        now: NOW,
        assertion_id: None,
        client_request_id: None,
        claims: None,
    };
    let e = exchange_code(
        &input,
        &platform(Some("s")),
        &mut fake(200, ok_body(Some(id_token("login.microsoftonline.com"))), &mut seen),
    )
    .unwrap_err();
    assert!(e.message().contains("another tenant"), "{}", e.message());
}

#[test]
fn failures_are_classified_without_echoing_secrets() {
    let body = json!({"error": "invalid_grant", "error_description": "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.", "error_codes": [70008], "timestamp": "2026-11-27 10:00:00Z", "trace_id": "a1b2", "correlation_id": "c3d4"}).to_string();
    let (r, _) = exchange("global", Some("s3cr3t~value"), 400, body);
    let e = r.unwrap_err();
    assert_eq!(e.code(), "reauthorization_required");
    let text = serde_json::to_string(&e).unwrap();
    for secret in ["s3cr3t~value", "M.C507_SN1.2.U.code", VERIFIER] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let input = RefreshInput {
        settings: raw("global"),
        refresh_token: Some(Secret::new("rt-old")),
        now: NOW,
        assertion_id: None,
        client_request_id: None,
        claims: None,
    };
    let mut timeout = |_: &HttpRequest| {
        HttpOutcome::TransportError(TransportError { kind: TransportKind::Timeout, message: "slow".into() })
    };
    let e = refresh_token(&input, &platform(None), &mut timeout).unwrap_err();
    assert_eq!(e.code(), "transient");
    let (r, _) = exchange("global", Some("s"), 200, "<html>oops</html>".into());
    assert_eq!(r.unwrap_err().code(), "invalid_response");
}

#[test]
fn bad_inputs_are_refused_before_any_request() {
    let mut seen = Vec::new();
    let mut input = ExchangeInput {
        settings: raw("global"),
        redirect_uri: "http://platform.example.com/cb".into(),
        code: Secret::new("c"),
        code_verifier: Secret::new(VERIFIER),
        nonce: None,
        now: NOW,
        assertion_id: None,
        client_request_id: None,
        claims: None,
    };
    assert_eq!(
        exchange_code(&input, &platform(None), &mut fake(200, String::new(), &mut seen)).unwrap_err().field(),
        Some("redirect_uri")
    );
    input.redirect_uri = "https://platform.example.com/cb".into();
    input.now = 5;
    assert_eq!(
        exchange_code(&input, &platform(None), &mut fake(200, String::new(), &mut seen)).unwrap_err().field(),
        Some("now")
    );
    input.now = NOW;
    input.code = Secret::new("");
    assert_eq!(
        exchange_code(&input, &platform(None), &mut fake(200, String::new(), &mut seen)).unwrap_err().field(),
        Some("code")
    );
    let r = RefreshInput {
        settings: raw("global"),
        refresh_token: None,
        now: NOW,
        assertion_id: None,
        client_request_id: None,
        claims: None,
    };
    assert_eq!(
        refresh_token(&r, &platform(None), &mut fake(200, String::new(), &mut seen)).unwrap_err().field(),
        Some("refresh_token")
    );
    assert!(seen.is_empty());
}

#[test]
fn the_home_account_id_comes_from_client_info() {
    let info = URL_SAFE_NO_PAD
        .encode(br#"{"uid":"00000000-0000-0000-66f3-3332eca7ea81","utid":"72f988bf-86f1-41af-91ab-2d7cd011db47"}"#);
    let mut body: serde_json::Value =
        serde_json::from_str(&ok_body(Some(id_token("login.microsoftonline.com")))).unwrap();
    body["client_info"] = json!(info);
    let (r, _) = exchange("global", Some("s"), 200, body.to_string());
    assert_eq!(
        r.unwrap().identity.unwrap().home_account_id.as_deref(),
        Some("00000000-0000-0000-66f3-3332eca7ea81.72f988bf-86f1-41af-91ab-2d7cd011db47")
    );
    for bad in ["!!", "e30", &URL_SAFE_NO_PAD.encode(br#"{"uid":"a.b","utid":"c"}"#)] {
        body["client_info"] = json!(bad);
        let (r, _) = exchange("global", Some("s"), 200, body.to_string());
        assert_eq!(r.unwrap().identity.unwrap().home_account_id, None, "{bad}");
    }
}
