//! Device code sign-in end to end through the `.wasm`: the code asked for, entered at the mock's
//! code page, the platform polling on a timer it owns (the interval, 5 s more after slow_down),
//! the tokens stored; declined, expired, unknown and cancelled sign-ins ending the wait; an app
//! that does not allow public client flows told which switch to turn on.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use connector_interface::device::DeviceCode;
use e2e::mock_entra::browser::enter_device_code;
use e2e::mock_entra::{Endpoint, PUBLIC_CLIENT_ID};
use e2e::*;
use host_harness::platform::device::{DeviceError, Waiter};
use host_harness::platform::{Platform, PlatformError, SqliteStore, Status};
use host_harness::ConnectorHost;
use serde_json::json;

struct Setup {
    mock: Arc<MockEntra>,
    platform: Platform,
    clock: Arc<AtomicI64>,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let mock = Arc::new(MockEntra::start().unwrap());
    let host = Arc::new(
        ConnectorHost::load(&manifest_path(), &connector_host::mock_idp::load_options(&mock.base_url())).unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(mock.now()));
    let c = clock.clone();
    let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
    let platform = Platform::new(host, store, REDIRECT_URI, Arc::new(move || c.load(Ordering::SeqCst))).unwrap();
    platform.create(&json!({"name": "Laptop", "scopes": ["User.Read"], "client_id": PUBLIC_CLIENT_ID})).unwrap();
    Setup { mock, platform, clock, _dir: dir }
}

/// A waiter on the test's clock: each wait moves the platform's and the mock's clocks by
/// `advance(n, asked)` seconds instead of sleeping, after `act(n)`; it records what was asked.
struct Clocked<'a> {
    s: &'a Setup,
    asked: Vec<u64>,
    advance: Box<dyn Fn(usize, u64) -> i64 + 'a>,
    act: Box<dyn Fn(usize) -> bool + 'a>,
}

impl Waiter for Clocked<'_> {
    fn wait(&mut self, wait: Duration, seconds_left: i64) -> bool {
        assert!(seconds_left > 0);
        let n = self.asked.len();
        self.asked.push(wait.as_secs());
        if !(self.act)(n) {
            return false;
        }
        let by = (self.advance)(n, wait.as_secs());
        self.s.clock.fetch_add(by, Ordering::SeqCst);
        self.s.mock.advance_clock(by);
        true
    }
}

fn enter(code: &DeviceCode, accept: bool) {
    let page = enter_device_code(&code.verification_uri, &code.user_code, accept).unwrap();
    assert!(page.contains("You may now close this window"), "{page}");
}

#[test]
fn a_person_signs_in_with_a_device_code_and_the_platform_keeps_the_timer() {
    let s = setup();
    let code = s.platform.device_code_start("Laptop").unwrap();
    assert_eq!(code.verification_uri, format!("{}/devicelogin", s.mock.base_url()));
    assert_eq!((code.interval, code.expires_in, code.user_code.len()), (5, 900, 9));
    assert!(code.message.contains(&code.user_code) && code.message.contains(&code.verification_uri));
    let request = &s.mock.requests_to(Endpoint::DeviceCode)[0];
    assert_eq!(request.form["client_id"], PUBLIC_CLIENT_ID);
    assert!(request.form["scope"].contains("User.Read") && request.form["scope"].contains("offline_access"));

    // Poll 1 after 5 s: pending. Poll 2 comes 1 s after it (too soon): slow_down, so the next
    // wait is 10 s. The person enters the code during it; poll 3 gets the tokens.
    let mut waiter = Clocked {
        s: &s,
        asked: Vec::new(),
        advance: Box::new(|n, asked| if n == 1 { 1 } else { asked as i64 }),
        act: Box::new(|n| {
            if n == 2 {
                enter(&code, true);
            }
            true
        }),
    };
    let r = s.platform.device_code_wait("Laptop", &code, &mut waiter).unwrap();
    assert_eq!(waiter.asked, vec![5, 5, 10]);
    assert_eq!(r.status, Status::Connected);
    assert!(r.secrets.refresh_token.is_some());
    let polls = s.mock.requests_to(Endpoint::Token);
    assert_eq!(polls.len(), 3);
    let answers: Vec<u16> = polls.iter().map(|p| p.status).collect();
    assert_eq!(answers, vec![400, 400, 200]);
    for p in &polls {
        assert_eq!(p.form["grant_type"], "urn:ietf:params:oauth:grant-type:device_code");
        assert!(!p.form.contains_key("client_secret") && !p.form.contains_key("client_assertion"));
    }
    // The connection then refreshes like any other.
    assert_eq!(s.platform.refresh("Laptop").unwrap().status, Status::Connected);
}

fn device_error(e: PlatformError) -> DeviceError {
    match e {
        PlatformError::Device(d) => d,
        other => panic!("{other}"),
    }
}

#[test]
fn declined_expired_unknown_and_cancelled_sign_ins_end_the_wait() {
    let s = setup();
    // Declined on the code page.
    let code = s.platform.device_code_start("Laptop").unwrap();
    let mut waiter = Clocked {
        s: &s,
        asked: Vec::new(),
        advance: Box::new(|_, asked| asked as i64),
        act: Box::new(|n| {
            if n == 0 {
                enter(&code, false);
            }
            true
        }),
    };
    let e = device_error(s.platform.device_code_wait("Laptop", &code, &mut waiter).unwrap_err());
    assert!(matches!(e, DeviceError::Declined(_)), "{e:?}");
    assert_eq!(s.platform.store.get("Laptop").unwrap().status, Status::PendingAuthorization);

    // Nobody enters the code: the mock answers expired_token after 15 minutes.
    let code = s.platform.device_code_start("Laptop").unwrap();
    let mut waiter = Clocked { s: &s, asked: Vec::new(), advance: Box::new(|_, _| 901), act: Box::new(|_| true) };
    let e = device_error(s.platform.device_code_wait("Laptop", &code, &mut waiter).unwrap_err());
    assert!(matches!(e, DeviceError::Expired(_)), "{e:?}");

    // A code Microsoft never gave.
    let mut bogus = s.platform.device_code_start("Laptop").unwrap();
    bogus.device_code = connector_interface::Secret::new("DAQABIQEAAAD-never-issued");
    let mut waiter = Clocked { s: &s, asked: Vec::new(), advance: Box::new(|_, a| a as i64), act: Box::new(|_| true) };
    let e = device_error(s.platform.device_code_wait("Laptop", &bogus, &mut waiter).unwrap_err());
    assert!(matches!(e, DeviceError::BadCode(_)), "{e:?}");

    // The person cancels while waiting: no poll is made.
    let before = s.mock.requests_to(Endpoint::Token).len();
    let code = s.platform.device_code_start("Laptop").unwrap();
    let mut waiter = Clocked { s: &s, asked: Vec::new(), advance: Box::new(|_, a| a as i64), act: Box::new(|_| false) };
    let e = device_error(s.platform.device_code_wait("Laptop", &code, &mut waiter).unwrap_err());
    assert_eq!(e, DeviceError::Cancelled);
    assert_eq!(s.mock.requests_to(Endpoint::Token).len(), before);
}

#[test]
fn an_app_without_public_client_flows_is_told_which_switch_to_turn_on() {
    let s = setup();
    // The platform's app is a confidential web app.
    s.platform.create(&json!({"name": "Web", "scopes": ["User.Read"]})).unwrap();
    let code = s.platform.device_code_start("Web").unwrap();
    let mut waiter = Clocked { s: &s, asked: Vec::new(), advance: Box::new(|_, a| a as i64), act: Box::new(|_| true) };
    let e = s.platform.device_code_wait("Web", &code, &mut waiter).unwrap_err().to_string();
    assert!(e.contains("Allow public client flows"), "{e}");
    // App-only connections have nobody to sign in.
    s.platform
        .create(&json!({"name": "Sync", "grant": "client_credentials", "tenant": e2e::mock_entra::TEST_TENANT_ID, "scopes": ["User.Read.All"]}))
        .unwrap();
    let e = device_error(s.platform.device_code_start("Sync").unwrap_err());
    assert!(matches!(e, DeviceError::AppOnly(_)));
}
