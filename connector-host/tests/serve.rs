//! `connector-host serve` as a person and a flow would use it: API keys, the whole connection
//! story through the API and the OAuth callback, and the security checks.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{bin, enc, Server};
use serde_json::json;

#[test]
fn the_connection_story_through_the_api() {
    let s = Server::start(&[]);
    s.connect("HR directory");
    let (status, v) = s.api("GET", "/api/v1/connections/HR%20directory", None);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "connected");
    assert_eq!(v["identity"]["username"], "adele.vance@contoso.onmicrosoft.com");
    let (status, v) = s.api("POST", "/api/v1/connections/HR%20directory/test", None);
    assert_eq!((status, v["summary"].as_str().unwrap().starts_with("Connected as")), (200, true), "{v}");
    let (status, v) = s.api("POST", "/api/v1/connections/HR%20directory/token", None);
    assert_eq!(status, 200, "{v}");
    assert!(v["access_token"].as_str().unwrap().len() > 20);
    let (status, v) = s.api("POST", "/api/v1/connections/HR%20directory/refresh", None);
    assert_eq!((status, v["token_sets"].as_i64()), (200, Some(2)), "{v}");
    // No answer but the token endpoint's carries a secret.
    let (_, list) = s.api("GET", "/api/v1/connections", None);
    assert!(!list.to_string().contains("access_token") && !list.to_string().contains("refresh_token"), "{list}");
    let (status, v) = s.api("POST", "/api/v1/classify", Some(&json!({"phase": "graph", "status": 403, "body": "{\"error\":{\"code\":\"Authorization_RequestDenied\",\"message\":\"Insufficient privileges to complete the operation.\"}}"})));
    assert_eq!((status, v["code"].as_str()), (200, Some("insufficient_privileges")), "{v}");
    assert!(v["remediation"].as_str().unwrap().contains("Privileged authentication administrator"));
    let (status, _) = s.api("DELETE", "/api/v1/connections/HR%20directory", None);
    assert_eq!(status, 204);
    let (status, v) = s.api("GET", "/api/v1/connections/HR%20directory", None);
    assert_eq!((status, v["error"]["code"].as_str()), (404, Some("not_found")));
}

#[test]
fn keys_are_required_checked_and_revocable() {
    let s = Server::start(&[]);
    for key in [None, Some("chk_abcdefghijkl_wrong"), Some("not a key")] {
        let (status, v) = s.call("GET", "/api/v1/connections", key, None);
        assert_eq!((status, v["error"]["code"].as_str()), (401, Some("unauthorized")), "{key:?}");
    }
    assert_eq!(s.api("GET", "/api/v1/connections", None).0, 200);
    // Keys are listed by id and name (never the key), and a revoked one stops working.
    let out = bin().args(["api-keys", "list", "--store", &s.store]).output().unwrap();
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    let id = &s.key[4..16];
    assert!(listed.contains(id) && listed.contains("tests") && !listed.contains(&s.key), "{listed}");
    let out = bin().args(["api-keys", "revoke", id, "--store", &s.store]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // Revoked by another process: the server, which verified the key a moment ago, stops
    // accepting it within API_KEY_VERIFIED_FOR, and never accepts it again.
    let revoked = std::time::Instant::now();
    while s.api("GET", "/api/v1/connections", None).0 != 401 {
        assert!(revoked.elapsed() < host_harness::platform::API_KEY_VERIFIED_FOR * 3, "the revoked key still works");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    for _ in 0..3 {
        std::thread::sleep(host_harness::platform::API_KEY_VERIFIED_FOR / 2);
        assert_eq!(s.api("GET", "/api/v1/connections", None).0, 401);
    }
}

#[test]
fn limits_headers_and_the_openapi_document() {
    let s = Server::start(&[]);
    // A 10 MB body is refused from its Content-Length, before the server reads it.
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    use std::io::{Read, Write};
    write!(
        conn,
        "POST /api/v1/connections HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{{\"settings\":",
        s.key,
        10 << 20
    )
    .unwrap();
    let mut answer = [0u8; 12];
    conn.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 413", "{}", String::from_utf8_lossy(&answer));
    let r = Server::agent().get(format!("{}/healthz", s.base)).call().unwrap();
    for (h, v) in [("cache-control", "no-store"), ("x-content-type-options", "nosniff"), ("x-frame-options", "DENY")] {
        assert_eq!(r.headers().get(h).and_then(|v| v.to_str().ok()), Some(v), "{h}");
    }
    assert!(r.headers().get("content-security-policy").unwrap().to_str().unwrap().contains("frame-ancestors 'none'"));
    let (status, doc) = s.call("GET", "/api/v1/openapi.json", None, None);
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    for path in ["/api/v1/connections", "/api/v1/connections/{name}/token", "/api/v1/classify"] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    assert_eq!(doc["components"]["securitySchemes"]["api_key"]["scheme"], "bearer");
    let (status, _) = s.call("GET", "/readyz", None, None);
    assert_eq!(status, 200);
}

#[test]
fn a_name_with_markup_stays_data() {
    let s = Server::start(&[]);
    let name = "<script>alert(1)</script>";
    let (status, v) =
        s.api("POST", "/api/v1/connections", Some(&json!({"settings": {"name": name, "scopes": ["User.Read"]}})));
    assert_eq!(status, 201, "{v}");
    let (status, v) = s.api("POST", &format!("/api/v1/connections/{}/authorize", enc(name)), None);
    assert_eq!(status, 200, "{v}");
    // The callback page of a refused sign-in escapes whatever it shows.
    let mut r = Server::agent().get(format!("{}/callback?state=%3Cscript%3E&error=x", s.base)).call().unwrap();
    let page = r.body_mut().read_to_string().unwrap();
    assert!(!page.contains("<script>"), "{page}");
}

#[test]
fn sixty_four_callers_of_an_expiring_token_make_one_refresh() {
    // Tokens the mock issues live 302 s: 2 s past the platform's 5-minute refresh margin.
    let s = Server::start(&["--mock-token-lifetime", "302"]);
    s.connect("Busy");
    std::thread::sleep(Duration::from_millis(2500));
    let before = s.api("GET", "/api/v1/connections/Busy", None).1["token_sets"].as_i64().unwrap();
    let started = Instant::now();
    let callers: Vec<_> = (0..64)
        .map(|_| {
            let (base, key) = (s.base.clone(), s.key.clone());
            std::thread::spawn(move || {
                let mut r = Server::agent()
                    .post(format!("{base}/api/v1/connections/Busy/token"))
                    .header("Authorization", format!("Bearer {key}"))
                    .send_empty()
                    .unwrap();
                (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
            })
        })
        .collect();
    let answers: Vec<(u16, String)> = callers.into_iter().map(|c| c.join().unwrap()).collect();
    assert!(answers.iter().all(|(s, _)| *s == 200), "{:?}", answers.iter().find(|(s, _)| *s != 200));
    let after = s.api("GET", "/api/v1/connections/Busy", None).1["token_sets"].as_i64().unwrap();
    assert_eq!(after, before + 1, "64 callers made {} refreshes", after - before);
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let mut s = Server::start(&[]);
    assert_eq!(s.api("GET", "/healthz", None).0, 200);
    let pid = s.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let started = Instant::now();
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    // The store is whole afterwards.
    let out = bin().args(["connections", "list", "--store", &s.store]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Admin consent through the API: an administrator's consent comes back to the callback with
/// its state (checked and used once, as a sign-in's); a user without an admin role is refused
/// by Microsoft and the callback says what to do.
#[test]
fn admin_consent_round_trip_through_the_callback() {
    let s = Server::start(&[]);
    s.connect("Directory");
    let (status, v) = s.api("POST", "/api/v1/connections/Directory/admin-consent", None);
    assert_eq!(status, 200, "{v}");
    let url = v["url"].as_str().unwrap();
    assert!(url.contains("/v2.0/adminconsent?"), "{url}");
    let location = mock_entra::browser::sign_in_redirect(url, Some(mock_entra::ADMIN_USER_ID), true).unwrap();
    assert!(location.contains("admin_consent=True"), "{location}");
    let mut page = Server::agent().get(&location).call().unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.body_mut().read_to_string().unwrap();
    assert!(html.contains("An administrator granted this connection&#39;s permissions for tenant"), "{html}");
    // The same answer again: its state was used.
    let mut again = Server::agent().get(&location).call().unwrap();
    assert_eq!(again.status().as_u16(), 400);
    assert!(again.body_mut().read_to_string().unwrap().contains("already used"));
    // Adele has no admin role: Microsoft refuses, and the callback says who can consent.
    let (_, v) = s.api("POST", "/api/v1/connections/Directory/admin-consent", None);
    let location = mock_entra::browser::sign_in_redirect(v["url"].as_str().unwrap(), None, true).unwrap();
    let mut page = Server::agent().get(&location).call().unwrap();
    assert_eq!(page.status().as_u16(), 400);
    let html = page.body_mut().read_to_string().unwrap();
    assert!(html.contains("Sign-in did not complete") && html.contains("administrator"), "{html}");
}

/// `--tls-cert`/`--tls-key`: HTTPS with the given certificate, the callback on https, and the
/// panel's session cookie marked Secure; a wrong file stops the start with an error naming it.
#[test]
fn serves_https_with_a_given_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let s = Server::start(&["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
    assert!(s.base.starts_with("https://") && s.signin.starts_with("https://localhost:"), "{} {}", s.base, s.signin);
    let base = s.base.replace("127.0.0.1", "localhost");
    let root = ureq::tls::Certificate::from_der(made.cert.der()).to_owned();
    let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::new_with_certs(&[root])).build();
    let agent: ureq::Agent =
        ureq::Agent::config_builder().tls_config(tls).http_status_as_error(false).max_redirects(0).build().into();
    let mut list = agent
        .get(format!("{base}/api/v1/connections"))
        .header("Authorization", format!("Bearer {}", s.key))
        .call()
        .unwrap();
    assert_eq!(list.status().as_u16(), 200, "{}", list.body_mut().read_to_string().unwrap());
    let signin = agent.get(&s.signin).call().unwrap();
    let cookie = signin.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    // Plain HTTP on the same port gets no answer.
    let plain = Server::agent().get(format!("{}/healthz", base.replace("https://", "http://"))).call();
    assert!(plain.map(|r| r.status().as_u16() != 200).unwrap_or(true), "plain HTTP must not be served");

    // A key that is not a key: the start stops, naming the flag and the file, quoting nothing.
    std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n").unwrap();
    let out = bin()
        .args(["serve", "--mock", "--listen", "127.0.0.1:0", "--store", &s.store])
        .args(["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(err.contains("--tls-key") && err.contains("key.pem") && !err.contains("bm90IGEga2V5"), "{err}");
    let out = bin()
        .args(["serve", "--mock", "--listen", "127.0.0.1:0", "--store", &s.store])
        .args(["--tls-cert", key.to_str().unwrap(), "--tls-key", key.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--tls-cert") && err.contains("no CERTIFICATE"), "{err}");
}

/// A certificate for the test key `a.key.pem` ending in `days` days.
fn certificate_ending_in(days: i64) -> (String, String) {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/certificates");
    let key_pem = std::fs::read_to_string(fixtures.join("a.key.pem")).unwrap();
    let key = rcgen::KeyPair::from_pem(&key_pem).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["connector-test-a".into()]).unwrap();
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(days) + time::Duration::minutes(5);
    (params.self_signed(&key).unwrap().pem(), key_pem)
}

#[test]
fn a_certificate_connection_shows_its_thumbprint_and_warns_before_it_ends() {
    let s = Server::start(&[]);
    let (cert, key) = certificate_ending_in(12);
    let settings = json!({"settings": {"name": "Cert", "scopes": ["User.Read"], "client_id": mock_entra::CERTIFICATE_CLIENT_ID, "client_certificate": cert, "client_private_key": key}});
    let (status, v) = s.api("POST", "/api/v1/connections", Some(&settings));
    assert_eq!(status, 201, "{v}");
    let thumbprint = v["certificates"][0]["thumbprint"].as_str().unwrap().to_string();
    assert_eq!(thumbprint.len(), 40);
    let warning = v["warnings"][0].as_str().unwrap();
    assert!(warning.contains("expires in 12 days") && warning.contains(&thumbprint), "{warning}");
    assert!(!v.to_string().contains("PRIVATE KEY") && v["settings"].get("client_private_key").is_none(), "{v}");
    // The command line's list says it too.
    let out = bin().args(["connections", "list", "--store", &s.store]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("warning: The certificate") && text.contains(&thumbprint), "{text}");
    // An expired certificate is refused, naming the field.
    let (cert, key) = certificate_ending_in(-3);
    let mut expired = settings.clone();
    expired["settings"]["name"] = json!("Old");
    expired["settings"]["client_certificate"] = json!(cert);
    expired["settings"]["client_private_key"] = json!(key);
    let (status, v) = s.api("POST", "/api/v1/connections", Some(&expired));
    assert_eq!((status, v["error"]["field"].as_str()), (422, Some("settings.client_certificate")), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().starts_with("The certificate expired on"), "{v}");
}

/// A flow whose Graph call got a 401 claims challenge hands the `WWW-Authenticate` header back
/// and gets a token that meets it; when the refresh token is not enough, the connection needs a
/// sign-in and keeps the claims for it.
#[test]
fn a_flow_hands_back_a_claims_challenge() {
    use base64::Engine;
    // The third token request (the second challenge's refresh) is refused: sessions revoked.
    let s = Server::start(&["--mock-fault", "token nth:3 revoked"]);
    s.connect("HR");
    let claims = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;
    let b64 = base64::engine::general_purpose::STANDARD.encode(claims);
    let header = format!(
        "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", error=\"insufficient_claims\", claims=\"{b64}\""
    );
    let path = "/api/v1/connections/HR/claims-challenge";
    let (status, v) = s.api("POST", path, Some(&json!({"www_authenticate": header})));
    assert_eq!(status, 200, "{v}");
    assert!(v["access_token"].as_str().unwrap().len() > 20);
    let (_, c) = s.api("GET", "/api/v1/connections/HR", None);
    assert_eq!((c["status"].as_str(), c["token_sets"].as_i64()), (Some("connected"), Some(2)), "{c}");
    assert!(c.get("claims_challenge").is_none(), "met claims are cleared: {c}");
    // What is not a claims challenge is refused by name.
    let (status, v) = s.api("POST", path, Some(&json!({"www_authenticate": "Bearer error=\"invalid_token\""})));
    assert_eq!((status, v["error"]["code"].as_str()), (422, Some("invalid_input")), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("insufficient_claims"), "{v}");
    // The refresh is refused: the connection needs a sign-in, which will carry the claims.
    let (status, v) = s.api("POST", path, Some(&json!({"www_authenticate": header})));
    assert_eq!((status, v["error"]["classification"]["action"].as_str()), (502, Some("reauthorize")), "{v}");
    let support = &v["error"]["classification"]["support"];
    assert!(support["client-request-id"].as_str().is_some_and(|id| id.len() == 36), "{v}");
    let (_, c) = s.api("GET", "/api/v1/connections/HR", None);
    assert_eq!(c["status"], "needs_reauthorization", "{c}");
    let kept: serde_json::Value = serde_json::from_str(c["claims_challenge"].as_str().unwrap()).unwrap();
    assert_eq!(kept["access_token"]["nbf"]["value"], "1700000000");
    let (status, _) = s.api("POST", path, Some(&json!({"www_authenticate": header})));
    assert_eq!(status, 409);
}
