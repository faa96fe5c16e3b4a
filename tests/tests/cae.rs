//! Continuous Access Evaluation and request ids end to end through the `.wasm`: a connection
//! declares `cp1` and gets CAE tokens; an administrator revokes the user's sessions; Graph
//! answers with a claims challenge; the refresh carrying the claims is refused, the connection
//! needs a sign-in, and the sign-in carries the claims; the connection works again. Every request
//! carries the platform's `client-request-id` and MSAL's identification headers, asserted at the
//! mock.

use std::sync::Arc;

use e2e::mock_entra::browser::sign_in_redirect;
use e2e::mock_entra::{Endpoint, RecordedRequest, TEST_TENANT_ID, TEST_USER_ID};
use e2e::*;
use host_harness::platform::{Platform, PlatformError, SqliteStore, Status};
use host_harness::ConnectorHost;
use serde_json::{json, Value};

struct Setup {
    mock: MockEntra,
    platform: Platform,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let mock = MockEntra::start_with(mock_entra::MockConfig {
        redirect_uris: vec![REDIRECT_URI.into()],
        ..Default::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = connector_host::mock_idp::load_options(&mock.base_url());
    let host = Arc::new(ConnectorHost::load(&manifest_path(), &options).unwrap());
    let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
    let platform = Platform::new(host, store, REDIRECT_URI, host_harness::platform::system_clock()).unwrap();
    Setup { mock, platform, _dir: dir }
}

/// "Save and authorize", the consent page, the callback: the authorize URL's query.
fn sign_in(s: &Setup, name: &str) -> std::collections::BTreeMap<String, String> {
    let start = s.platform.begin_authorization(name).unwrap();
    let location = sign_in_redirect(&start.url, None, true).unwrap();
    s.platform.complete_authorization(&form_urlencoded_pairs(location.split_once('?').unwrap().1)).unwrap();
    form_urlencoded_pairs(start.url.split_once('?').unwrap().1)
}

fn last(mock: &MockEntra, endpoint: Endpoint) -> RecordedRequest {
    mock.requests_to(endpoint).pop().unwrap()
}

fn claims(form: &std::collections::BTreeMap<String, String>) -> Value {
    serde_json::from_str(form.get("claims").expect("claims sent")).unwrap()
}

fn is_guid(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

/// What every token request carries, as MSAL sends it, and the request id the platform logged.
fn assert_traced(r: &RecordedRequest) {
    let h = &r.headers;
    assert!(is_guid(&h["client-request-id"]), "{h:?}");
    assert_eq!(h["return-client-request-id"], "true");
    assert_eq!(h["x-ms-lib-capability"], "retry-after, h429");
    assert_eq!(h["x-client-sku"], "entra-id-connector");
    assert!(!h["x-client-ver"].is_empty());
    assert_eq!(r.form["client_info"], "1");
}

#[test]
fn revoked_sessions_challenge_reauthorization_with_the_claims_and_working_again() {
    logs();
    let s = setup();
    s.platform.create(&json!({"name": "HR", "scopes": ["User.Read"]})).unwrap();
    let query = sign_in(&s, "HR");
    assert_eq!(claims(&query), json!({"access_token": {"xms_cc": {"values": ["cp1"]}}}));
    assert_eq!(query["client_info"], "1");
    let exchange = last(&s.mock, Endpoint::Token);
    assert_traced(&exchange);
    assert_eq!(claims(&exchange.form), json!({"access_token": {"xms_cc": {"values": ["cp1"]}}}));
    let r = s.platform.store.get("HR").unwrap();
    let home = format!("{TEST_USER_ID}.{TEST_TENANT_ID}");
    assert_eq!(r.identity.as_ref().unwrap().home_account_id.as_deref(), Some(home.as_str()));
    // Graph saw the test's request id.
    assert!(is_guid(&last(&s.mock, Endpoint::Graph).headers["client-request-id"]));
    s.platform.test("HR").unwrap();

    // An administrator revokes the user's sessions: the CAE token stops working at once.
    s.mock.revoke_user_sessions(TEST_USER_ID);
    let e = s.platform.test("HR").unwrap_err();
    let PlatformError::Connector(c) = &e else { panic!("{e:?}") };
    let class = c.classification().unwrap();
    assert_eq!(class.action, connector_interface::Action::Reauthorize, "{class:?}");
    // The refresh carried the challenge merged with the capability, and was refused.
    let refresh = last(&s.mock, Endpoint::Token);
    assert_eq!(refresh.form["grant_type"], "refresh_token");
    assert_traced(&refresh);
    let sent = claims(&refresh.form);
    assert_eq!(sent["access_token"]["xms_cc"], json!({"values": ["cp1"]}));
    assert_eq!(sent["access_token"]["nbf"]["essential"], json!(true));
    // The failure names the request id the refresh carried, for a ticket with Microsoft.
    assert_eq!(class.support.client_request_id.as_deref(), Some(refresh.headers["client-request-id"].as_str()));
    // The platform's log has it at info with the connection's name, and no token.
    let id = &refresh.headers["client-request-id"];
    let log = String::from_utf8(logs().lock().unwrap().clone()).unwrap();
    let logged = |l: &&str| l.contains("INFO") && l.contains("connection=HR") && l.contains("refresh_token");
    assert!(log.lines().filter(|l| l.contains(id.as_str())).any(|l| logged(&l)), "{id} not logged at info:\n{log}");
    assert!(!log.contains(&refresh.form["refresh_token"]), "a refresh token reached the log");
    let r = s.platform.store.get("HR").unwrap();
    assert_eq!(r.status, Status::NeedsReauthorization);
    let kept = r.secrets.claims.clone().expect("the claims are kept for the sign-in");
    assert!(s.platform.access_token("HR").is_err());

    // The next sign-in carries them; its token set clears them and works.
    let query = sign_in(&s, "HR");
    let asked = claims(&query);
    assert_eq!(asked["access_token"]["nbf"], serde_json::from_str::<Value>(&kept).unwrap()["access_token"]["nbf"]);
    assert_eq!(asked["access_token"]["xms_cc"], json!({"values": ["cp1"]}));
    assert_eq!(claims(&last(&s.mock, Endpoint::Token).form)["access_token"]["nbf"], asked["access_token"]["nbf"]);
    let r = s.platform.store.get("HR").unwrap();
    assert_eq!(r.status, Status::Connected);
    assert_eq!(r.secrets.claims, None);
    s.platform.test("HR").unwrap();
}

#[test]
fn a_challenge_the_refresh_token_can_meet_needs_no_sign_in() {
    let s = setup();
    s.platform.create(&json!({"name": "HR", "scopes": ["User.Read"]})).unwrap();
    sign_in(&s, "HR");
    let before = s.platform.store.get("HR").unwrap().generation;
    // A policy change: the user's CAE tokens are challenged; the sessions live on.
    s.mock.challenge_user_tokens(TEST_USER_ID);
    let token = s.platform.access_token("HR").unwrap();
    // What a flow hands back: the WWW-Authenticate header of Graph's 401.
    let www = challenge_header(&s.mock, &token);
    let (fresh, _) = s.platform.claims_challenge("HR", &www).unwrap();
    assert_ne!(fresh, token);
    let refresh = last(&s.mock, Endpoint::Token);
    assert!(claims(&refresh.form)["access_token"]["nbf"].is_object());
    let r = s.platform.store.get("HR").unwrap();
    assert_eq!((r.status, r.generation, r.secrets.claims.clone()), (Status::Connected, before + 1, None));
    s.platform.test("HR").unwrap();
    // A flow step the platform runs itself answers the challenge the same way, and its request
    // carries the platform's request id.
    s.mock.challenge_user_tokens(TEST_USER_ID);
    let me = s.platform.api("HR", "GET", &format!("{}/v1.0/me", s.mock.base_url()), None).unwrap();
    assert_eq!(me["id"], TEST_USER_ID);
    assert!(is_guid(&last(&s.mock, Endpoint::Graph).headers["client-request-id"]));
    assert_eq!(s.platform.store.get("HR").unwrap().generation, before + 2);
    // Something that is not a claims challenge is refused by name, and changes nothing.
    let e = s.platform.claims_challenge("HR", "Bearer error=\"invalid_token\"").unwrap_err();
    assert!(e.to_string().contains("insufficient_claims"), "{e}");
    assert_eq!(s.platform.store.get("HR").unwrap().generation, before + 2);
}

/// The `WWW-Authenticate` header Graph answers `token` with.
fn challenge_header(mock: &MockEntra, token: &str) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let answer = agent
        .get(&format!("{}/v1.0/me", mock.base_url()))
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(answer.status().as_u16(), 401);
    answer.headers().get("www-authenticate").unwrap().to_str().unwrap().to_string()
}

#[test]
fn without_cae_no_capability_is_declared_and_tokens_live_until_they_expire() {
    let s = setup();
    s.platform.create(&json!({"name": "HR", "scopes": ["User.Read"], "continuous_access_evaluation": "off"})).unwrap();
    let query = sign_in(&s, "HR");
    assert!(!query.contains_key("claims"));
    let exchange = last(&s.mock, Endpoint::Token);
    assert_traced(&exchange);
    assert!(!exchange.form.contains_key("claims"));
    // Graph issues no challenge to a client that cannot handle one.
    s.mock.challenge_user_tokens(TEST_USER_ID);
    s.platform.test("HR").unwrap();
}
