//! Classification of real payloads. Each fixture says where its shape comes from.

use proptest::prelude::*;
use serde_json::json;

use super::*;

fn input(phase: Phase, status: Option<u16>, headers: &[(&str, &str)], body: Option<&str>) -> ClassifyInput {
    ClassifyInput {
        phase,
        status,
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        body: body.map(str::to_string),
        query: None,
        transport_error: None,
        now: None,
        redirect_uri: None,
    }
}

fn token_error(status: u16, body: &str) -> Classification {
    classify(&input(Phase::Token, Some(status), &[], Some(body)))
}

fn graph(status: u16, headers: &[(&str, &str)], body: &str) -> Classification {
    classify(&input(Phase::Graph, Some(status), headers, Some(body)))
}

fn redirect(query: &str) -> Classification {
    classify(&ClassifyInput { query: Some(QueryIn::Raw(query.into())), ..input(Phase::Authorize, None, &[], None) })
}

/// A code whose message names its own cause (a disabled account, a device that is not
/// compliant, a federated credential's subject) says what to do about that cause: never the
/// generic remedy of its class. Codes without their own message keep the class's sentences.
#[test]
fn every_code_with_its_own_cause_has_its_own_remedy() {
    let mut remedies = std::collections::BTreeMap::new();
    for e in aadsts::TABLE {
        let c = token_error(400, &format!(r#"{{"error":"invalid_grant","error_codes":[{}]}}"#, e.code));
        match e.message {
            Some(message) => {
                assert_eq!(c.message, message, "AADSTS{}", e.code);
                assert_ne!(c.remediation, e.class.remediation(), "AADSTS{} falls back to its class's remedy", e.code);
                assert_eq!(Some(c.remediation.as_str()), e.remedy, "AADSTS{}", e.code);
                assert_ne!(c.remediation, message, "AADSTS{}: the remedy repeats the message", e.code);
                remedies.entry(c.remediation.clone()).or_insert_with(Vec::new).push(e.code);
            }
            None => {
                assert_eq!(e.remedy, None, "AADSTS{}", e.code);
                assert_eq!(c.message, e.class.message(), "AADSTS{}", e.code);
            }
        }
    }
    // Codes share a remedy only where they share a cause.
    let shared: Vec<_> = remedies.values().filter(|codes| codes.len() > 1).collect();
    assert_eq!(shared, [&vec![90014, 900144], &vec![50079, 50072], &vec![16000, 16001]], "{shared:?}");
}

/// Every AADSTS code of the protocol reference has a deliberate class, from `error_codes`
/// and from the description alone.
#[test]
fn every_aadsts_code_has_a_class() {
    for e in aadsts::TABLE {
        let c = token_error(400, &format!(r#"{{"error":"invalid_request","error_codes":[{}]}}"#, e.code));
        assert_eq!(c.code, e.class, "AADSTS{}", e.code);
        assert_eq!(c.docs_url, format!("https://login.microsoftonline.com/error?code={}", e.code));
        let d = token_error(
            400,
            &format!(r#"{{"error":"invalid_request","error_description":"AADSTS{}: something."}}"#, e.code),
        );
        assert_eq!(d.code, e.class, "AADSTS{} in the description", e.code);
    }
}

/// learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow, "Error response" of the token request.
const DOCS_TOKEN_ERROR: &str = r#"{
  "error": "invalid_scope",
  "error_description": "AADSTS70011: The provided value for the input parameter 'scope' is not valid. The scope https://foo.microsoft.com/mail.read is not valid.\r\nTrace ID: 255d1aef-8c98-452f-ac51-23d051240864\r\nCorrelation ID: fb3d2015-bc17-4bb9-bb85-30c5cf1aaaa7\r\nTimestamp: 2016-01-09 02:02:12Z",
  "error_codes": [70011],
  "timestamp": "2016-01-09 02:02:12Z",
  "trace_id": "255d1aef-8c98-452f-ac51-23d051240864",
  "correlation_id": "fb3d2015-bc17-4bb9-bb85-30c5cf1aaaa7"
}"#;

#[test]
fn token_endpoint_payloads() {
    let c = token_error(400, DOCS_TOKEN_ERROR);
    assert_eq!((c.code, c.action), (Class::InvalidScope, Action::FixConfiguration));
    assert_eq!(c.provider.aadsts, vec![70011]);
    assert_eq!(c.provider.error.as_deref(), Some("invalid_scope"));
    assert_eq!(c.support.trace_id.as_deref(), Some("255d1aef-8c98-452f-ac51-23d051240864"));
    assert_eq!(c.support.correlation_id.as_deref(), Some("fb3d2015-bc17-4bb9-bb85-30c5cf1aaaa7"));
    assert_eq!(c.support.timestamp.as_deref(), Some("2016-01-09 02:02:12Z"));
    assert!(!c.message.contains("255d1aef"), "support ids stay out of the sentence");

    // Shape of reference-error-codes: a revoked refresh token (AADSTS50173).
    let revoked = json!({"error": "invalid_grant", "error_description": "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed.", "error_codes": [50173], "timestamp": "2026-11-27 10:00:00Z", "trace_id": "t", "correlation_id": "c"});
    let c = classify(&input(Phase::Refresh, Some(400), &[], Some(&revoked.to_string())));
    assert_eq!((c.code, c.action, c.retryable), (Class::ReauthorizationRequired, Action::Reauthorize, false));

    // AADSTS7000222 (n8n#22567 in the peer lessons): the platform's secret expired.
    let c = token_error(
        401,
        r#"{"error":"invalid_client","error_description":"AADSTS7000222: The provided client secret keys for app 'x' are expired.","error_codes":[7000222]}"#,
    );
    assert_eq!((c.code, c.action), (Class::ClientSecretExpired, Action::FixConfiguration));
    assert!(c.remediation.contains("New client secret"));

    // MSAL's interaction-required: error interaction_required / suberror basic_action (msal-common InteractionRequiredAuthError.ts).
    let c = token_error(
        400,
        r#"{"error":"interaction_required","suberror":"basic_action","error_description":"The user must sign in again."}"#,
    );
    assert_eq!((c.code, c.action), (Class::ReauthorizationRequired, Action::Reauthorize));
    assert_eq!(c.provider.suberror.as_deref(), Some("basic_action"));
    let c = token_error(400, r#"{"error":"invalid_grant","suberror":"consent_required"}"#);
    assert_eq!(c.code, Class::ConsentRequired);

    // An unknown AADSTS code still gets a class from the OAuth error and its own docs page.
    let c = token_error(
        400,
        r#"{"error":"invalid_grant","error_description":"AADSTS999999: new.","error_codes":[999999]}"#,
    );
    assert_eq!(
        (c.code, c.docs_url.as_str()),
        (Class::ReauthorizationRequired, "https://login.microsoftonline.com/error?code=999999")
    );
    let c = token_error(503, r#"{"error":"temporarily_unavailable","error_codes":[123]}"#);
    assert_eq!((c.code, c.retryable), (Class::Transient, true));
    assert_eq!(c.retry_after_seconds, Some(retry::TRANSIENT_HINT));
    // error_codes without AADSTS in the description.
    let c = token_error(400, r#"{"error":"invalid_request","error_description":"no code here","error_codes":[50011]}"#);
    assert_eq!(c.code, Class::RedirectUriMismatch);
}

#[test]
fn redirect_uri_mismatch_names_the_uri_to_register() {
    let body = r#"{"error":"invalid_request","error_description":"AADSTS50011: The redirect URI 'https://platform.example.com/oauth/callback' specified in the request does not match the redirect URIs configured for the application 'x'.","error_codes":[50011]}"#;
    let c = token_error(400, body);
    assert!(c.remediation.contains("https://platform.example.com/oauth/callback"), "{}", c.remediation);
    let c = classify(&ClassifyInput {
        redirect_uri: Some("http://localhost:8400/callback".into()),
        ..input(Phase::Token, Some(400), &[], Some(body))
    });
    assert!(c.remediation.contains("exactly as written: http://localhost:8400/callback"));
    // A URI with markup in it is not echoed.
    let evil = body.replace("https://platform.example.com/oauth/callback", "https://x/<script>");
    assert!(!token_error(400, &evil).remediation.contains("<script>"));
}

#[test]
fn authorize_redirect_payloads() {
    // learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow, "Error response" of the authorize request.
    let c = redirect("error=access_denied&error_description=the+user+canceled+the+authentication");
    assert_eq!((c.code, c.action), (Class::AccessDenied, Action::Reauthorize));
    // learn.microsoft.com/entra/identity-platform/v2-admin-consent, failed admin consent.
    let c = redirect("error=consent_required&error_description=AADSTS65004%3a+User+declined+to+consent+to+access+the+app.&state=12345");
    assert_eq!(c.code, Class::AccessDenied);
    assert_eq!(c.provider.aadsts, vec![65004]);
    let c = redirect("error=invalid_request&error_description=AADSTS90094%3A+The+grant+requires+admin+permission.");
    assert_eq!((c.code, c.action), (Class::AdminConsentRequired, Action::GrantAdminConsent));
    assert!(c.remediation.contains("admin consent"));
    let c = redirect("error=invalid_client&error_description=AADSTS650057%3A+Invalid+resource.");
    assert_eq!(c.code, Class::InvalidScope);
    let c = redirect("error=login_required&error_description=AADSTS50058%3A+A+silent+sign-in+request+was+sent+but+no+user+is+signed+in.");
    assert_eq!(c.code, Class::ReauthorizationRequired);
    let c = classify(&ClassifyInput {
        query: Some(QueryIn::Map([("error".to_string(), "consent_required".to_string())].into())),
        ..input(Phase::Authorize, None, &[], None)
    });
    assert_eq!(c.code, Class::ConsentRequired);
}

/// learn.microsoft.com/graph/errors: the error resource, and the seed document's error.
const DENIED: &str = r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"date":"2021-03-09T10:01:34","request-id":"3ed2d3e5-0b9a-4b1a-8c8f-7a1e2f3d4c5b","client-request-id":"9a8b7c6d-0b9a-4b1a-8c8f-7a1e2f3d4c5b"}}}"#;

#[test]
fn graph_payloads() {
    let c = graph(403, &[], DENIED);
    assert_eq!((c.code, c.action), (Class::InsufficientPrivileges, Action::AssignRole));
    assert!(c.message.contains("Authorization_RequestDenied"));
    for role in [
        "Global administrator (maximum permissions)",
        "Privileged authentication administrator",
        "Authentication administrator (minimum permissions)",
    ] {
        assert!(c.remediation.contains(role), "{role}");
    }
    assert_eq!(c.support.request_id.as_deref(), Some("3ed2d3e5-0b9a-4b1a-8c8f-7a1e2f3d4c5b"));
    assert_eq!(c.support.client_request_id.as_deref(), Some("9a8b7c6d-0b9a-4b1a-8c8f-7a1e2f3d4c5b"));
    assert_eq!(c.provider.graph_code.as_deref(), Some("Authorization_RequestDenied"));

    // learn.microsoft.com/graph/throttling: 429 with a fractional Retry-After.
    let throttled = r#"{"error":{"code":"TooManyRequests","innerError":{"code":"429","date":"2020-08-18T12:51:51","message":"Please retry after","request-id":"94fb3b52-452a-4535-a601-69e0a90e3aa2","status":"429"},"message":"Please retry again later."}}"#;
    let c = graph(429, &[("Retry-After", "2.128")], throttled);
    assert_eq!((c.code, c.action, c.retry_after_seconds), (Class::Throttled, Action::Retry, Some(2.128)));
    assert_eq!(c.provider.inner_codes, vec!["429"]);
    let c = graph(429, &[("retry-after", "garbage")], throttled);
    assert_eq!(c.retry_after_seconds, Some(retry::THROTTLED_HINT));

    // learn.microsoft.com/graph/errors: the documented example with a nested innerError.
    let c = graph(
        400,
        &[],
        r#"{"error":{"code":"badRequest","message":"Uploaded fragment overlaps with existing data.","innerError":{"code":"invalidRange","request-id":"request-id","date":"date-time"}}}"#,
    );
    assert_eq!(c.provider.inner_codes, vec!["invalidRange"]);
    assert_eq!(c.code, Class::Unknown);

    // An expired token (n8n#14426 in the peer lessons).
    let c = graph(
        401,
        &[],
        r#"{"error":{"code":"InvalidAuthenticationToken","message":"Lifetime validation failed, the token is expired.","innerError":{"date":"2024-01-01T00:00:00","request-id":"r","client-request-id":"c"}}}"#,
    );
    assert_eq!((c.code, c.action, c.retryable), (Class::TokenExpired, Action::RefreshToken, true));

    let c =
        graph(404, &[], r#"{"error":{"code":"Request_ResourceNotFound","message":"Resource 'x' does not exist."}}"#);
    assert_eq!(c.code, Class::NotFound);
    let c = graph(403, &[], r#"{"error":{"code":"accessDenied","message":"Access denied"}}"#);
    assert_eq!(c.code, Class::InsufficientPrivileges);
    assert!(c.remediation.contains("permission"));
    let c = graph(
        503,
        &[("Retry-After", "10")],
        r#"{"error":{"code":"serviceNotAvailable","message":"Service unavailable"}}"#,
    );
    assert_eq!((c.code, c.retry_after_seconds), (Class::Transient, Some(10.0)));
    // 403 with an empty body (n8n#17450).
    assert_eq!(graph(403, &[], "").code, Class::InsufficientPrivileges);
}

#[test]
fn claims_challenge_is_decoded() {
    // learn.microsoft.com/entra/identity-platform/claims-challenge, the CAE example.
    let www = r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwgInZhbHVlIjoiMTYwNDEwNjY1MSJ9fX0=""#;
    let c = graph(
        401,
        &[("WWW-Authenticate", www)],
        r#"{"error":{"code":"InvalidAuthenticationToken","message":"Continuous access evaluation resulted in challenge"}}"#,
    );
    assert_eq!((c.code, c.action), (Class::ClaimsChallenge, Action::Reauthorize));
    assert_eq!(c.claims.as_deref(), Some(r#"{"access_token":{"nbf":{"essential":true, "value":"1604106651"}}}"#));
    assert!(claims_challenge(r#"Bearer error="insufficient_claims", claims="!!!""#).is_none());
    assert!(claims_challenge(r#"Bearer error="invalid_token""#).is_none());
}

#[test]
fn transport_failures() {
    for (kind, class) in [
        ("timeout", Class::Transient),
        ("refused", Class::Transient),
        ("dns", Class::Transient),
        ("tls", Class::Transient),
        ("too_large", Class::Transient),
        ("connection_reset", Class::Transient),
        ("blocked_host", Class::BlockedHost),
        ("redirect_blocked", Class::BlockedHost),
    ] {
        let c = classify(&ClassifyInput {
            transport_error: Some(TransportIn::Kind(kind.into())),
            ..input(Phase::Transport, None, &[], None)
        });
        assert_eq!(c.code, class, "{kind}");
    }
}

#[test]
fn odd_bodies_classify_by_status() {
    let html = "<!DOCTYPE html><html><body><h1>Our services aren't available right now</h1></body></html>";
    assert_eq!(token_error(502, html).code, Class::Transient);
    let c = classify(&input(Phase::Graph, Some(418), &[], Some(html)));
    assert_eq!(c.code, Class::Unknown);
    assert!(c.message.contains("web page"));
    assert_eq!(token_error(400, r#"{"error":"invalid_grant","error_description":"AADSTS70008: The provided authorization code or refresh token has exp"#).code, Class::InvalidRequest);
    assert_eq!(token_error(400, "").code, Class::InvalidRequest);
    let deep = format!("{}{}", r#"{"error":{"code":"x","innerError":"#.repeat(100), "}".repeat(201));
    let _ = graph(500, &[], &deep);
}

#[test]
fn nothing_secret_or_raw_is_echoed() {
    let jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20ifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
    let body = json!({"error": "invalid_grant", "error_description": format!("AADSTS70008: token {jwt} <script>alert(1)</script> expired"), "error_codes": [70008]}).to_string();
    let c = classify(&input(Phase::Refresh, Some(400), &[("Authorization", &format!("Bearer {jwt}"))], Some(&body)));
    let out = serde_json::to_string(&c).unwrap();
    assert!(!out.contains(jwt), "{out}");
    assert!(!out.contains("<script>"), "{out}");
    assert!(c.provider.description.as_deref().unwrap().contains("[redacted]"));
}

proptest! {
    #[test]
    fn anything_classifies(status in proptest::option::of(100u16..600), body in ".{0,400}", header in "[ -~]{0,80}", phase in 0usize..5) {
        let phase = [Phase::Authorize, Phase::Token, Phase::Refresh, Phase::Graph, Phase::Transport][phase];
        let c = classify(&ClassifyInput {
            headers: [("retry-after".to_string(), header.clone()), ("www-authenticate".to_string(), header.clone())].into(),
            query: Some(QueryIn::Raw(body.clone())),
            ..input(phase, status, &[], Some(&body))
        });
        prop_assert!(!c.message.is_empty() && !c.remediation.is_empty());
        prop_assert!(c.retry_after_seconds.is_none_or(|s| (0.0..=3600.0).contains(&s)));
        prop_assert!(c.provider.description.as_ref().is_none_or(|d| d.chars().count() <= 300));
    }

    #[test]
    fn json_shaped_bodies_classify(code in "[A-Za-z_]{0,30}", desc in ".{0,200}", codes in proptest::collection::vec(0u64..10_000_000, 0..4), status in 100u16..600) {
        let body = json!({"error": code, "error_description": desc, "error_codes": codes, "suberror": code}).to_string();
        let c = token_error(status, &body);
        prop_assert!(!c.message.contains(&desc) || desc.len() < 3);
    }
}

#[test]
fn the_authorization_credential_is_never_echoed_even_when_short() {
    let body = r#"{"error":{"code":"InvalidAuthenticationToken","message":"token tok-123456 refused"}}"#;
    let c = classify(&input(Phase::Graph, Some(401), &[("Authorization", "Bearer tok-123456")], Some(body)));
    assert!(!serde_json::to_string(&c).unwrap().contains("tok-123456"));
    let c = classify_scrubbing(
        &input(
            Phase::Token,
            Some(400),
            &[],
            Some(r#"{"error":"invalid_grant","error_description":"code abcdef-code was used"}"#),
        ),
        &["abcdef-code"],
    );
    assert_eq!(c.provider.description.as_deref(), Some("code [redacted] was used"));
}

/// Workload identity federation as Entra answers it: the subject mismatch quoted in
/// github.com/Azure/azure-workload-identity issue 1200 and github.com/Azure/login issue 482, and
/// the case-only mismatch of github.com/Azure/login issue 515 (trace and correlation ids replaced).
const FEDERATED_SUBJECT: &str = r#"{"error":"invalid_client","error_description":"AADSTS700213: No matching federated identity record found for presented assertion subject 'system:serviceaccount:xxx:yyy'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation Trace ID: 0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b Correlation ID: 5b4a3f2e-1d0c-4b9a-8f7e-6d5c4b3a2f1e Timestamp: 2025-04-22 01:01:11Z","error_codes":[700213],"timestamp":"2025-04-22 01:01:11Z","trace_id":"0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b","correlation_id":"5b4a3f2e-1d0c-4b9a-8f7e-6d5c4b3a2f1e"}"#;
const FEDERATED_SUBJECT_CASE: &str = r#"{"error":"invalid_client","error_description":"AADSTS7002138: No matching federated identity record found for presented assertion subject 'repo:Contoso/Dashboard:environment:Production'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. See documentation at: https://learn.microsoft.com/entra/workload-id/workload-identity-federation.","error_codes":[7002138]}"#;

/// A device code poll refused because the app does not allow public client flows (the
/// AADSTS7000218 body of the token endpoint).
const PUBLIC_FLOWS_OFF: &str = r#"{"error":"invalid_client","error_description":"AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'. Trace ID: 1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d","error_codes":[7000218]}"#;

#[test]
fn federated_credential_and_device_code_payloads() {
    for body in [FEDERATED_SUBJECT, FEDERATED_SUBJECT_CASE] {
        let c = token_error(401, body);
        assert_eq!(c.code, Class::FederatedCredentialMismatch, "{body}");
        assert_eq!(c.action, Action::FixConfiguration);
        assert!(c.remediation.contains("Federated credentials") && c.remediation.contains("Subject identifier"));
        assert!(!c.message.contains("system:serviceaccount"), "the message quotes nothing from the body");
    }
    assert!(token_error(401, FEDERATED_SUBJECT_CASE).message.contains("case-sensitively"));
    assert_eq!(
        token_error(401, FEDERATED_SUBJECT).support.trace_id.as_deref(),
        Some("0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b")
    );
    assert_eq!(token_error(401, PUBLIC_FLOWS_OFF).code, Class::InvalidClient);
}
