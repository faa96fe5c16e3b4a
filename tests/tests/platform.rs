//! The platform around the connector, end to end against the mock: the lifecycle, every failure
//! path with its status, single-flight refresh, keep-alive, and secrets sealed at rest.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use e2e::mock_entra::browser::{sign_in, BrowserOutcome};
use e2e::mock_entra::{Calls, Endpoint, Fault, TEST_TENANT_ID};
use e2e::*;
use host_harness::platform::callback::CallbackListener;
use host_harness::platform::{Platform, PlatformError, SqliteStore, Status};
use serde_json::{json, Value};

struct Setup {
    world: World,
    platform: Platform,
    clock: Arc<AtomicI64>,
    _store: TestStore,
}

fn setup() -> Setup {
    setup_on(Backend::Sqlite)
}

fn setup_on(backend: Backend) -> Setup {
    let world = World::new();
    let clock = Arc::new(AtomicI64::new(now()));
    let c = clock.clone();
    let host = Arc::new(World::new_host_for(&world.mock));
    let store = backend.open();
    let platform =
        Platform::on(host, store.store.clone(), REDIRECT_URI, Arc::new(move || c.load(Ordering::SeqCst))).unwrap();
    Setup { world, platform, clock, _store: store }
}

impl Setup {
    /// Time passes for the platform and the identity provider alike.
    fn advance(&self, secs: i64) {
        self.clock.fetch_add(secs, Ordering::SeqCst);
        self.world.mock.advance_clock(secs);
    }
}

fn settings(name: &str) -> Value {
    json!({"name": name, "scopes": ["User.Read", "User.ReadWrite.All"]})
}

fn query_of(location: &str) -> BTreeMap<String, String> {
    form_urlencoded_pairs(location.split_once('?').map(|(_, q)| q).unwrap_or(""))
}

/// Save and authorize, sign in on the mock (accept or cancel), and return the redirect's query.
fn authorize(s: &Setup, name: &str, accept: bool) -> BTreeMap<String, String> {
    let start = s.platform.begin_authorization(name).unwrap();
    match sign_in(&start.url, None, accept).unwrap() {
        BrowserOutcome::Redirected(loc) => query_of(&loc),
        other => panic!("{other:?}"),
    }
}

fn connected(s: &Setup, name: &str) {
    s.platform.create(&settings(name)).unwrap();
    let q = authorize(s, name, true);
    let c = s.platform.complete_authorization(&q).unwrap();
    assert_eq!(c.summary, "Connected as adele.vance@contoso.onmicrosoft.com in Contoso.");
}

#[test]
fn the_whole_lifecycle_through_the_callback_listener() {
    let world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let listener = CallbackListener::bind(0).unwrap();
    let host = Arc::new(World::new_host_for(&world.mock));
    let p = Platform::new(
        host,
        SqliteStore::open(&dir.path().join("c.db")).unwrap(),
        &listener.redirect_uri(),
        host_harness::platform::system_clock(),
    )
    .unwrap();
    p.create(&settings("HR")).unwrap();
    assert_eq!(p.store.get("HR").unwrap().status, Status::PendingAuthorization);
    let start = p.begin_authorization("HR").unwrap();
    let loc = match sign_in(&start.url, None, true).unwrap() {
        BrowserOutcome::Redirected(l) => l,
        other => panic!("{other:?}"),
    };
    assert!(loc.starts_with(&listener.redirect_uri()));
    let page = ureq::get(&loc).call().unwrap().body_mut().read_to_string().unwrap();
    assert!(page.contains("Signed in"));
    let q = listener.wait(Duration::from_secs(5), |_| {}).unwrap();
    let c = p.complete_authorization(&q).unwrap();
    assert!(c.summary.starts_with("Connected as adele.vance"));
    let r = p.store.get("HR").unwrap();
    assert_eq!(r.status, Status::Connected);
    assert_eq!(r.identity.as_ref().unwrap().tenant_id, TEST_TENANT_ID);
    assert_eq!(r.secrets.refresh_token, world.mock.latest_refresh_token());
    // The store holds no token or secret in clear.
    let bytes = std::fs::read(dir.path().join("c.db")).unwrap();
    let wal = std::fs::read(dir.path().join("c.db-wal")).unwrap_or_default();
    for secret in [r.secrets.access_token.clone().unwrap(), r.secrets.refresh_token.clone().unwrap()] {
        let needle = &secret.as_bytes()[..40];
        assert!(
            !bytes.windows(40).any(|w| w == needle) && !wal.windows(40).any(|w| w == needle),
            "a token is stored in clear"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |f: &str| std::fs::metadata(dir.path().join(f)).unwrap().permissions().mode() & 0o777;
        // The store is open (the platform holds it): its WAL and SHM files exist.
        for f in ["c.key", "c.db", "c.db-wal", "c.db-shm"] {
            assert_eq!(mode(f), 0o600, "{f}");
        }
    }
}

#[test]
fn names_are_unique_and_settings_are_checked_by_the_connector() {
    let s = setup();
    s.platform.create(&settings("One")).unwrap();
    assert!(matches!(s.platform.create(&settings("One")), Err(PlatformError::NameTaken(_))));
    match s.platform.create(&json!({"name": "Two", "scopes": ["Not a scope"]})) {
        Err(PlatformError::Connector(e)) => assert_eq!(e.field(), Some("settings.scopes[0]")),
        other => panic!("{other:?}"),
    }
    // A secret setting is sealed, not kept with the public settings.
    s.platform.create(&json!({"name": "Own app", "scopes": ["User.Read"], "client_id": "11111111-2222-3333-4444-555555555555", "client_secret": "my-own-secret"})).unwrap();
    let r = s.platform.store.get("Own app").unwrap();
    assert!(r.settings.get("client_secret").is_none());
    assert_eq!(r.full_settings()["client_secret"], "my-own-secret");
}

#[test]
fn state_is_checked_and_used_once_and_expires() {
    let s = setup();
    s.platform.create(&settings("S")).unwrap();
    let mut q = authorize(&s, "S", true);
    let good_state = q["state"].clone();
    q.insert("state".into(), "forged-state-value-0000000000".into());
    assert!(matches!(s.platform.complete_authorization(&q), Err(PlatformError::State(_))));
    q.insert("state".into(), good_state);
    s.platform.complete_authorization(&q).unwrap();
    // Reused state.
    assert!(matches!(s.platform.complete_authorization(&q), Err(PlatformError::State(_))));
    // Expired pending authorization: nothing stored.
    s.platform.create(&settings("Late")).unwrap();
    let q = authorize(&s, "Late", true);
    s.advance(601);
    match s.platform.complete_authorization(&q) {
        Err(PlatformError::State(m)) => assert!(m.to_string().contains("10 minutes")),
        other => panic!("{other:?}"),
    }
    let r = s.platform.store.get("Late").unwrap();
    assert_eq!(r.status, Status::PendingAuthorization);
    assert!(r.secrets.access_token.is_none());
}

#[test]
fn an_error_redirect_is_classified_and_nothing_is_stored() {
    let s = setup();
    s.platform.create(&settings("Cancelled")).unwrap();
    let q = authorize(&s, "Cancelled", false);
    match s.platform.complete_authorization(&q) {
        Err(PlatformError::Connector(e)) => {
            assert_eq!(e.code(), "access_denied");
            assert_eq!(e.action().map(|a| a.as_str()), Some("reauthorize"));
        }
        other => panic!("{other:?}"),
    }
    let r = s.platform.store.get("Cancelled").unwrap();
    assert_eq!(r.status, Status::PendingAuthorization);
    assert!(r.secrets.access_token.is_none() && r.secrets.refresh_token.is_none());
}

#[test]
fn tokens_are_refreshed_ahead_of_expiry_and_rotated_tokens_stored() {
    let s = setup();
    connected(&s, "R");
    let first = s.platform.access_token("R").unwrap();
    assert_eq!(s.platform.access_token("R").unwrap(), first, "a fresh token is handed out as is");
    // Within the margin of expiry: refreshed, and the new refresh token is the stored one.
    s.advance(3600 - 200);
    let second = s.platform.access_token("R").unwrap();
    assert_ne!(first, second);
    let r = s.platform.store.get("R").unwrap();
    assert_eq!(r.secrets.refresh_token, s.world.mock.latest_refresh_token());
    assert_eq!(r.generation, 2);
}

#[test]
fn failures_follow_their_classification_on_sqlite() {
    failures_follow_their_classification(Backend::Sqlite);
}

#[test]
fn failures_follow_their_classification_on_postgres() {
    failures_follow_their_classification(Backend::Postgres);
}

fn failures_follow_their_classification(backend: Backend) {
    let s = setup_on(backend);
    connected(&s, "F");
    // Throttled: retried after Retry-After, then fine.
    s.world.mock.script(Endpoint::Token, Calls::Next(1), Fault::Status { status: 429, retry_after: Some("1".into()) });
    let before = s.world.mock.requests_to(Endpoint::Token).len();
    s.platform.refresh("F").unwrap();
    assert_eq!(s.world.mock.requests_to(Endpoint::Token).len(), before + 2);
    assert_eq!(s.platform.store.get("F").unwrap().status, Status::Connected);
    // Transient failures beyond the attempts: error, status unchanged, tokens kept.
    s.world.mock.script(Endpoint::Token, Calls::Next(3), Fault::Status { status: 503, retry_after: Some("0".into()) });
    assert!(matches!(s.platform.refresh("F"), Err(PlatformError::Connector(e)) if e.code() == "transient"));
    assert_eq!(s.platform.store.get("F").unwrap().status, Status::Connected);
    // An expired client secret: needs attention, with the remedy.
    s.world.mock.script(Endpoint::Token, Calls::Next(1), Fault::ClientSecretExpired);
    assert!(s.platform.refresh("F").is_err());
    let r = s.platform.store.get("F").unwrap();
    assert_eq!(r.status, Status::NeedsAttention);
    assert!(r.remedy.unwrap().contains("New client secret"));
    assert_eq!(r.last_error.unwrap().code(), "client_secret_expired");
    // Revoked refresh token: needs sign-in; the tokens stay until replaced.
    let s = setup_on(backend);
    connected(&s, "V");
    let rt = s.platform.store.get("V").unwrap().secrets.refresh_token;
    s.world.mock.revoke_user_sessions(e2e::mock_entra::TEST_USER_ID);
    assert!(s.platform.refresh("V").is_err());
    let r = s.platform.store.get("V").unwrap();
    assert_eq!(r.status, Status::NeedsReauthorization);
    assert_eq!(r.secrets.refresh_token, rt);
    assert!(matches!(s.platform.access_token("V"), Err(PlatformError::Unusable { .. })));
    // Signing in again repairs it.
    let q = authorize(&s, "V", true);
    s.platform.complete_authorization(&q).unwrap();
    assert_eq!(s.platform.store.get("V").unwrap().status, Status::Connected);
}

#[test]
fn fifty_callers_make_exactly_one_refresh_on_sqlite() {
    fifty_callers_make_exactly_one_refresh(Backend::Sqlite);
}

#[test]
fn fifty_callers_make_exactly_one_refresh_on_postgres() {
    fifty_callers_make_exactly_one_refresh(Backend::Postgres);
}

fn fifty_callers_make_exactly_one_refresh(backend: Backend) {
    let s = Arc::new(setup_on(backend));
    connected(&s, "Busy");
    s.advance(4000);
    let before = s.world.mock.requests_to(Endpoint::Token).len();
    let threads: Vec<_> = (0..50)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || s.platform.access_token("Busy").unwrap())
        })
        .collect();
    let tokens: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(
        s.world.mock.requests_to(Endpoint::Token).len(),
        before + 1,
        "exactly one refresh reached the identity provider"
    );
    assert!(tokens.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn keepalive_refreshes_idle_connections_on_sqlite() {
    keepalive_refreshes_idle_connections(Backend::Sqlite);
}

#[test]
fn keepalive_refreshes_idle_connections_on_postgres() {
    keepalive_refreshes_idle_connections(Backend::Postgres);
}

fn keepalive_refreshes_idle_connections(backend: Backend) {
    let s = setup_on(backend);
    connected(&s, "Idle");
    assert!(s.platform.keepalive().unwrap().is_empty());
    s.advance(86_401);
    let done = s.platform.keepalive().unwrap();
    assert_eq!(done.len(), 1);
    assert!(done[0].1.is_ok());
    assert_eq!(s.platform.store.get("Idle").unwrap().secrets.refresh_token, s.world.mock.latest_refresh_token());
    // The same run handing each outcome over as it comes, keeping only counts.
    connected(&s, "Idle too");
    s.advance(86_401);
    let seen = std::sync::Mutex::new(Vec::new());
    let counts = s
        .platform
        .keepalive_each(Default::default(), &|name, outcome| {
            seen.lock().unwrap().push((name.to_string(), outcome.is_ok()))
        })
        .unwrap();
    let mut seen = seen.into_inner().unwrap();
    seen.sort();
    assert_eq!(seen, [("Idle".to_string(), true), ("Idle too".to_string(), true)]);
    assert_eq!(counts, host_harness::platform::KeepaliveCounts { refreshed: 2, failed: 0 });
}

#[test]
fn app_only_connections_get_new_tokens() {
    let s = setup();
    s.platform.create(&json!({"name": "Sync", "scopes": ["User.Read.All"], "grant": "client_credentials", "tenant": TEST_TENANT_ID})).unwrap();
    let r = s.platform.refresh("Sync").unwrap();
    assert_eq!(r.status, Status::Connected);
    assert!(r.secrets.refresh_token.is_none());
    let t1 = s.platform.access_token("Sync").unwrap();
    s.advance(4000);
    let t2 = s.platform.access_token("Sync").unwrap();
    assert_ne!(t1, t2);
    assert_eq!(s.world.mock.requests_to(Endpoint::Token).last().unwrap().form["grant_type"], "client_credentials");
    assert!(s.platform.test("Sync").unwrap().summary.starts_with("Connected as the app"));
}

/// The panel's sign-in links work once and for ten minutes; sessions end after eight idle
/// hours or at sign-out; the store keeps hashes, never a link or a session id.
#[test]
fn panel_links_work_once_and_sessions_end() {
    use host_harness::platform::{LINK_TTL_SECS, SESSION_TTL_SECS};
    let s = setup();
    let p = &s.platform;
    let link = p.new_panel_link().unwrap();
    let id = p.panel_sign_in(&link).unwrap().expect("a fresh link signs in");
    assert!(p.panel_sign_in(&link).unwrap().is_none(), "a link works once");
    assert!(p.panel_sign_in("made-up").unwrap().is_none());
    let session = p.panel_session(&id).unwrap().expect("a live session");
    assert!(session.csrf_ok(&session.csrf.clone()) && !session.csrf_ok("forged") && !session.csrf_ok(""));
    assert_eq!(format!("{session:?}"), "PanelSession([redacted])");
    assert!(p.panel_session("not-a-session").unwrap().is_none());

    let late = p.new_panel_link().unwrap();
    s.advance(LINK_TTL_SECS);
    assert!(p.panel_sign_in(&late).unwrap().is_none(), "a link older than ten minutes");
    // Used within eight hours, a session lives on; idle for eight hours, it ends.
    s.advance(SESSION_TTL_SECS - LINK_TTL_SECS - 60);
    assert!(p.panel_session(&id).unwrap().is_some());
    s.advance(SESSION_TTL_SECS);
    assert!(p.panel_session(&id).unwrap().is_none(), "idle for eight hours");

    let other = p.panel_sign_in(&p.new_panel_link().unwrap()).unwrap().unwrap();
    let session = p.panel_session(&other).unwrap().unwrap();
    p.panel_sign_out(&session).unwrap();
    assert!(p.panel_session(&other).unwrap().is_none(), "signed out");

    let kept = p.new_panel_link().unwrap();
    let mut bytes = Vec::new();
    for f in ["connections.db", "connections.db-wal"] {
        bytes.extend(std::fs::read(s._store.dir().join(f)).unwrap_or_default());
    }
    let text = String::from_utf8_lossy(&bytes);
    for secret in [&link, &id, &other, &kept] {
        assert!(!text.contains(secret.as_str()), "a link or session id in the store");
    }
}

#[test]
fn an_api_key_verified_a_moment_ago_is_answered_from_memory_until_this_process_revokes_it() {
    let s = setup();
    let (key, secret) = s.platform.create_api_key("flows").unwrap();
    let presented = secret.expose();
    // Not verified yet: nothing in memory; the store decides, and then memory answers.
    assert_eq!(s.platform.recently_verified_api_key(presented), None);
    assert_eq!(s.platform.verify_api_key(presented).unwrap().map(|k| k.id), Some(key.id.clone()));
    assert_eq!(s.platform.recently_verified_api_key(presented).map(|k| k.id), Some(key.id.clone()));
    // Another secret under the same id is never answered from memory.
    let forged = format!("{}x", presented);
    assert_eq!(s.platform.recently_verified_api_key(&forged), None);
    assert_eq!(s.platform.verify_api_key(&forged).unwrap(), None);
    // Revoked by this process: refused at once, from memory and from the store.
    assert!(s.platform.revoke_api_key(&key.id).unwrap());
    assert_eq!(s.platform.recently_verified_api_key(presented), None);
    assert_eq!(s.platform.verify_api_key(presented).unwrap(), None);
}
