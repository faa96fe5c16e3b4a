//! Certificate credentials end to end through the `.wasm`: a connection whose own app signs in
//! with a certificate, the client assertion decoded claim by claim and verified with the
//! certificate's public key, the private key never given to the module, what saving refuses,
//! and Entra's refusals classified with the thumbprint an admin looks for.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use e2e::mock_entra::browser::{sign_in, BrowserOutcome};
use e2e::mock_entra::{Endpoint, CERTIFICATE_CLIENT_ID, TEST_TENANT_ID};
use e2e::*;
use host_harness::platform::{Platform, PlatformError, SqliteStore, Status};
use host_harness::{ConnectorHost, LoadOptions};
use ring::signature::{UnparsedPublicKey, RSA_PSS_2048_8192_SHA256};
use serde_json::{json, Map, Value};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(root().join("tests/fixtures/certificates").join(name)).unwrap()
}

struct Setup {
    mock: MockEntra,
    platform: Platform,
    clock: Arc<AtomicI64>,
    recorded: host_harness::host::Recorder,
    _dir: tempfile::TempDir,
}

/// The mock, with fixture a's certificate uploaded to its certificate app.
fn mock_with_certificate() -> MockEntra {
    let mock = MockEntra::start_with(mock_entra::MockConfig {
        redirect_uris: vec![REDIRECT_URI.into()],
        ..Default::default()
    })
    .unwrap();
    mock.add_certificate(CERTIFICATE_CLIENT_ID, &fixture("a.cert.pem"));
    mock
}

/// Load options whose platform app is the mock's certificate app, without a client secret.
fn platform_certificate_app(mock: &MockEntra) -> LoadOptions {
    let mut options = connector_host::mock_idp::load_options(&mock.base_url());
    options.config.remove("client_secret");
    options.config.insert("client_id".into(), CERTIFICATE_CLIENT_ID.into());
    options
}

fn setup() -> Setup {
    logs();
    let mock = mock_with_certificate();
    let recorded: host_harness::host::Recorder = Arc::new(Mutex::new(Vec::new()));
    let options =
        LoadOptions { recorder: Some(recorded.clone()), ..connector_host::mock_idp::load_options(&mock.base_url()) };
    let host = Arc::new(ConnectorHost::load(&manifest_path(), &options).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(now()));
    let c = clock.clone();
    let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
    let platform = Platform::new(host, store, REDIRECT_URI, Arc::new(move || c.load(Ordering::SeqCst))).unwrap();
    Setup { mock, platform, clock, recorded, _dir: dir }
}

fn settings(name: &str, cert: &str, key: &str) -> Value {
    json!({
        "name": name,
        "scopes": ["User.Read"],
        "client_id": CERTIFICATE_CLIENT_ID,
        "client_certificate": cert,
        "client_private_key": key,
    })
}

fn connect(s: &Setup, name: &str) {
    s.platform.create(&settings(name, &fixture("a.cert.pem"), &fixture("a.key.pem"))).unwrap();
    let start = s.platform.begin_authorization(name).unwrap();
    let location = match sign_in(&start.url, None, true).unwrap() {
        BrowserOutcome::Redirected(l) => l,
        other => panic!("{other:?}"),
    };
    s.platform.complete_authorization(&form_urlencoded_pairs(location.split_once('?').unwrap().1)).unwrap();
}

fn part(jwt: &str, i: usize) -> Map<String, Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt.split('.').nth(i).unwrap()).unwrap()).unwrap()
}

fn der(pem: &str) -> Vec<u8> {
    x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap().1.contents
}

/// The certificate's subject public key, for verifying what the host signed.
fn public_key(pem: &str) -> Vec<u8> {
    let der = der(pem);
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    cert.public_key().subject_public_key.data.to_vec()
}

#[test]
fn a_certificate_connection_signs_in_and_refreshes_with_signed_assertions() {
    let s = setup();
    connect(&s, "Cert");
    let r = s.platform.store.get("Cert").unwrap();
    assert_eq!(r.status, Status::Connected);
    s.platform.refresh("Cert").unwrap();
    let token_requests = s.mock.requests_to(Endpoint::Token);
    assert_eq!(token_requests.len(), 2);
    let cert_pem = fixture("a.cert.pem");
    let mut jtis = Vec::new();
    for req in &token_requests {
        let form = &req.form;
        assert!(!form.contains_key("client_secret"), "a certificate connection sends no secret");
        assert_eq!(form["client_assertion_type"], "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
        let jwt = &form["client_assertion"];
        let header = part(jwt, 0);
        assert_eq!(header["alg"], "PS256");
        assert_eq!(header["typ"], "JWT");
        let sha256 = ring::digest::digest(&ring::digest::SHA256, &der(&cert_pem));
        assert_eq!(header["x5t#S256"], URL_SAFE_NO_PAD.encode(sha256.as_ref()));
        assert!(!header.contains_key("x5c") && !header.contains_key("x5t"));
        let claims = part(jwt, 1);
        assert_eq!(claims["aud"], format!("{}/organizations/oauth2/v2.0/token", s.mock.base_url()));
        assert_eq!(claims["iss"], CERTIFICATE_CLIENT_ID);
        assert_eq!(claims["sub"], CERTIFICATE_CLIENT_ID);
        let at = s.clock.load(Ordering::SeqCst);
        assert_eq!(claims["iat"].as_i64(), claims["nbf"].as_i64());
        assert!((claims["iat"].as_i64().unwrap() - at).abs() <= 1);
        assert_eq!(claims["exp"].as_i64().unwrap(), claims["iat"].as_i64().unwrap() + 600);
        let jti = claims["jti"].as_str().unwrap().to_string();
        assert_eq!(jti.len(), 36, "a GUID");
        jtis.push(jti);
        // The signature verifies with the certificate's public key.
        let (input, sig) = jwt.rsplit_once('.').unwrap();
        UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, public_key(&cert_pem))
            .verify(input.as_bytes(), &URL_SAFE_NO_PAD.decode(sig).unwrap())
            .expect("the assertion is signed with the certificate's key");
    }
    assert_ne!(jtis[0], jtis[1], "a fresh jti for every request");

    // The same request sent again is refused: a jti is used once.
    let replay = &token_requests[1];
    let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(replay.form.iter()).finish();
    let answer = ureq::post(&format!("{}{}", s.mock.base_url(), replay.path))
        .header("content-type", "application/x-www-form-urlencoded")
        .config()
        .http_status_as_error(false)
        .build()
        .send(&body)
        .unwrap();
    assert_eq!(answer.status(), 401);
}

#[test]
fn app_only_access_with_a_certificate() {
    let s = setup();
    let mut settings = settings("Sync", &fixture("a.cert.pem"), &fixture("a.key.pem"));
    settings["grant"] = json!("client_credentials");
    settings["tenant"] = json!(TEST_TENANT_ID);
    settings["scopes"] = json!(["User.Read.All"]);
    // Subject name and issuer authentication: the chain goes in x5c.
    settings["certificate_chain"] = json!("send");
    s.platform.create(&settings).unwrap();
    let r = s.platform.refresh("Sync").unwrap();
    assert_eq!(r.status, Status::Connected);
    let form = &s.mock.requests_to(Endpoint::Token)[0].form;
    assert_eq!(form["grant_type"], "client_credentials");
    assert!(form.contains_key("client_assertion") && !form.contains_key("client_secret"));
    assert_eq!(
        part(&form["client_assertion"], 1)["aud"],
        format!("{}/{TEST_TENANT_ID}/oauth2/v2.0/token", s.mock.base_url())
    );
    let x5c = part(&form["client_assertion"], 0)["x5c"].clone();
    let der_b64 = base64::engine::general_purpose::STANDARD.encode(der(&fixture("a.cert.pem")));
    assert_eq!(x5c, json!([der_b64]), "the chain, standard base64 of each certificate's DER");
}

#[test]
fn the_private_key_never_enters_the_module_nor_leaves_the_store_in_clear() {
    let s = setup();
    connect(&s, "Cert");
    s.platform.refresh("Cert").unwrap();
    let key = fixture("a.key.pem");
    // The key's base64 body, line by line: no fragment of it may appear anywhere.
    let fragments: Vec<&str> = key.lines().filter(|l| !l.starts_with("-----") && l.len() > 20).collect();
    let recorded = s.recorded.lock().unwrap().clone();
    let exports: Vec<&str> = recorded.iter().map(|(w, _)| w.as_str()).collect();
    assert!(exports.contains(&"exchange_code") && exports.contains(&"refresh_token"), "{exports:?}");
    assert!(exports.iter().filter(|w| **w == "connector_sign").count() >= 2, "{exports:?}");
    for (what, bytes) in &recorded {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains("PRIVATE KEY"), "{what} was given a private key");
        for f in &fragments {
            assert!(!text.contains(f), "{what} was given part of the private key");
        }
    }
    // What the module received in the key's place is a reference.
    let exchange = recorded.iter().find(|(w, _)| w == "exchange_code").unwrap();
    let input: Value = serde_json::from_slice(&exchange.1).unwrap();
    assert!(input["settings"]["client_private_key"].as_str().unwrap().starts_with("host-key:"));
    // The store keeps it sealed; requests to the identity provider never carry it.
    let mut stored = Vec::new();
    for f in ["c.db", "c.db-wal"] {
        stored.extend(std::fs::read(s._dir.path().join(f)).unwrap_or_default());
    }
    let stored = String::from_utf8_lossy(&stored);
    for f in &fragments {
        assert!(!stored.contains(f), "the private key is in the store in clear");
    }
    for req in s.mock.requests() {
        let text = format!("{:?}{:?}", req.form, req.headers);
        assert!(!text.contains("PRIVATE KEY") && fragments.iter().all(|f| !text.contains(f)));
    }
    // Debug of the record never shows it.
    let r = s.platform.store.get("Cert").unwrap();
    assert!(!format!("{r:?}").contains(fragments[0]));
    // Nor does any log line, at trace level.
    let logged = String::from_utf8_lossy(&logs().lock().unwrap()).to_string();
    assert!(logged.len() > 1000, "trace logging was not on");
    assert!(
        !logged.contains("PRIVATE KEY") && fragments.iter().all(|f| !logged.contains(f)),
        "key material in the logs"
    );
}

/// A certificate for `a.key.pem` valid over `[not_before, not_after]` (Unix seconds).
fn certificate_for_key_a(not_before: i64, not_after: i64) -> String {
    let key = rcgen::KeyPair::from_pem(&fixture("a.key.pem")).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["connector-test-a".into()]).unwrap();
    params.not_before = time::OffsetDateTime::from_unix_timestamp(not_before).unwrap();
    params.not_after = time::OffsetDateTime::from_unix_timestamp(not_after).unwrap();
    params.self_signed(&key).unwrap().pem()
}

fn refusal(s: &Setup, name: &str, cert: &str, key: &str) -> (String, String) {
    match s.platform.create(&settings(name, cert, key)) {
        Err(PlatformError::Connector(e)) => {
            assert!(s.platform.store.get(name).is_err(), "nothing is stored on a refusal");
            (e.field().unwrap_or("").to_string(), e.message().to_string())
        }
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn saving_refuses_expired_unfitting_and_unreadable_material_naming_the_field() {
    let s = setup();
    let now = now();
    let key = fixture("a.key.pem");
    let (field, message) = refusal(&s, "Expired", &certificate_for_key_a(now - 400 * 86_400, now - 86_400), &key);
    assert_eq!(field, "settings.client_certificate");
    assert!(message.starts_with("The certificate expired on "), "{message}");
    let (field, message) = refusal(&s, "Early", &certificate_for_key_a(now + 86_400, now + 400 * 86_400), &key);
    assert_eq!(field, "settings.client_certificate");
    assert!(message.contains("not valid before"), "{message}");
    let (field, message) = refusal(&s, "Other key", &fixture("a.cert.pem"), &fixture("b.key.pem"));
    assert_eq!(
        (field.as_str(), message.as_str()),
        ("settings.client_private_key", "The private key does not belong to the certificate.")
    );
    let garbage = "-----BEGIN PRIVATE KEY-----\nU2VjcmV0U2VjcmV0U2VjcmV0\n-----END PRIVATE KEY-----\n";
    let (field, message) = refusal(&s, "Garbage", &fixture("a.cert.pem"), garbage);
    assert_eq!(field, "settings.client_private_key");
    assert!(!message.contains("U2Vj"), "{message}");
    let (field, _) = refusal(&s, "Not a cert", "hello", &key);
    assert_eq!(field, "settings.client_certificate");
    // A certificate given alone is the connector's refusal: it needs its key.
    let (field, _) = refusal(&s, "Alone", &fixture("a.cert.pem"), "");
    assert_eq!(field, "settings.client_private_key");

    // Within 30 days of its end, the connection warns, naming the thumbprint.
    s.platform.create(&settings("Soon", &certificate_for_key_a(now - 86_400, now + 10 * 86_400 + 60), &key)).unwrap();
    let r = s.platform.store.get("Soon").unwrap();
    let warning = s.platform.certificate_warning(&r).expect("a warning");
    assert!(warning.contains("expires in 10 days"), "{warning}");
    assert!(warning.contains(&s.platform.certificates(&r)[0].sha1_thumbprint));
    s.platform.create(&settings("Later", &fixture("a.cert.pem"), &key)).unwrap();
    assert!(s.platform.certificate_warning(&s.platform.store.get("Later").unwrap()).is_none());
}

#[test]
fn entra_refusals_are_classified_with_the_thumbprint_to_look_for() {
    let s = setup();
    connect(&s, "Cert");
    let sha1 =
        hex_upper(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &der(&fixture("a.cert.pem"))).as_ref());
    // An admin deleted the certificate from the app: AADSTS700027.
    s.mock.remove_certificates(CERTIFICATE_CLIENT_ID);
    assert!(s.platform.refresh("Cert").is_err());
    let r = s.platform.store.get("Cert").unwrap();
    assert_eq!(r.status, Status::NeedsAttention);
    let e = r.last_error.unwrap();
    assert_eq!(e.code(), "certificate_not_accepted");
    let remedy = e.remediation().unwrap();
    assert!(remedy.contains("Upload certificate") && remedy.contains(&sha1), "{remedy}");
    assert!(e.classification().unwrap().provider.aadsts.contains(&700027));

    // The platform's clock is an hour behind Microsoft's: AADSTS700024.
    let s = setup();
    connect(&s, "Clock");
    s.mock.advance_clock(3600);
    assert!(s.platform.refresh("Clock").is_err());
    let e = s.platform.store.get("Clock").unwrap().last_error.unwrap();
    assert_eq!(e.code(), "assertion_time_invalid");
    assert!(e.remediation().unwrap().contains("clock"));
}

fn hex_upper(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

#[test]
fn the_platform_app_signs_in_with_a_certificate_from_its_configuration() {
    let mock = mock_with_certificate();
    let key_file = root().join("tests/fixtures/certificates/a.key.pem");
    let mut options = platform_certificate_app(&mock);
    options.config.insert("client_certificate".into(), fixture("a.cert.pem"));
    // The key as the path of its file (PEM text works as well).
    options.config.insert("client_private_key".into(), key_file.to_str().unwrap().into());
    let host = Arc::new(ConnectorHost::load(&manifest_path(), &options).unwrap());
    let d = host.call("describe", &json!({"settings": {"name": "x", "scopes": ["User.Read"]}})).unwrap().unwrap();
    assert_eq!(d["http_view"]["client_authentication"], "private_key_jwt (certificate)");
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
    let p = Platform::new(host, store, REDIRECT_URI, host_harness::platform::system_clock()).unwrap();
    // A connection that brings no app of its own uses the platform's, and its certificate.
    p.create(&json!({"name": "HR", "scopes": ["User.Read"]})).unwrap();
    let start = p.begin_authorization("HR").unwrap();
    let location = match sign_in(&start.url, None, true).unwrap() {
        BrowserOutcome::Redirected(l) => l,
        other => panic!("{other:?}"),
    };
    p.complete_authorization(&form_urlencoded_pairs(location.split_once('?').unwrap().1)).unwrap();
    let form = &mock.requests_to(Endpoint::Token)[0].form;
    assert_eq!(part(&form["client_assertion"], 1)["iss"], CERTIFICATE_CLIENT_ID);
    assert!(!form.contains_key("client_secret"));

    // A configured key that is not one stops the load, naming the key and quoting nothing.
    let mut bad = options.clone();
    bad.config
        .insert("client_private_key".into(), "-----BEGIN PRIVATE KEY-----\nU2VjcmV0\n-----END PRIVATE KEY-----".into());
    let e = ConnectorHost::load(&manifest_path(), &bad).err().unwrap().to_string();
    assert!(e.starts_with("platform configuration client_private_key: "), "{e}");
    assert!(!e.contains("U2Vj"), "{e}");
    bad.config.insert("client_private_key".into(), "/nonexistent/key.pem".into());
    let e = ConnectorHost::load(&manifest_path(), &bad).err().unwrap().to_string();
    assert!(e.contains("client_private_key") && e.contains("cannot read the file"), "{e}");
}

#[test]
fn the_platform_app_signs_in_with_a_pkcs12_bundle_and_its_password() {
    let mock = mock_with_certificate();
    let recorded: host_harness::host::Recorder = Arc::new(Mutex::new(Vec::new()));
    let mut options = LoadOptions { recorder: Some(recorded.clone()), ..platform_certificate_app(&mock) };
    // A .pfx as Windows exports it (3DES): the certificate comes from the bundle.
    let bundle = root().join("tests/fixtures/certificates/a-3des.pfx");
    options.config.insert("client_private_key".into(), bundle.to_str().unwrap().into());
    options.config.insert("client_private_key_password".into(), "fixture-password".into());
    let host = Arc::new(ConnectorHost::load(&manifest_path(), &options).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
    let p = Platform::new(host, store, REDIRECT_URI, host_harness::platform::system_clock()).unwrap();
    p.create(
        &json!({"name": "Sync", "grant": "client_credentials", "tenant": TEST_TENANT_ID, "scopes": ["User.Read.All"]}),
    )
    .unwrap();
    assert_eq!(p.refresh("Sync").unwrap().status, Status::Connected);
    let assertion = &mock.requests_to(Endpoint::Token)[0].form["client_assertion"];
    let sha256 = ring::digest::digest(&ring::digest::SHA256, &der(&fixture("a.cert.pem")));
    assert_eq!(part(assertion, 0)["x5t#S256"], URL_SAFE_NO_PAD.encode(sha256.as_ref()));
    // Neither the password nor the key reached the module.
    for (what, bytes) in recorded.lock().unwrap().iter() {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains("fixture-password") && !text.contains("PRIVATE KEY"), "{what}");
    }

    // A wrong password stops the load, naming the key and quoting nothing.
    let mut bad = options.clone();
    bad.config.insert("client_private_key_password".into(), "not-the-password".into());
    let e = ConnectorHost::load(&manifest_path(), &bad).err().unwrap().to_string();
    assert!(e.contains("client_private_key") && e.contains("password is wrong"), "{e}");
    assert!(!e.contains("not-the-password"), "{e}");
}

#[test]
fn a_connection_takes_its_certificate_as_a_pkcs12_bundle() {
    use base64::engine::general_purpose::STANDARD;
    let s = setup();
    let pfx = STANDARD.encode(std::fs::read(root().join("tests/fixtures/certificates/a.pfx")).unwrap());
    // A wrong password: refused naming the key's field, quoting nothing, storing nothing.
    let wrong = json!({"name": "Bundle", "scopes": ["User.Read"], "client_id": CERTIFICATE_CLIENT_ID,
                       "client_private_key": pfx, "client_private_key_password": "not-the-password"});
    let e = s.platform.create(&wrong).unwrap_err().to_string();
    assert!(e.starts_with("settings.client_private_key: The PKCS#12 bundle cannot be opened"), "{e}");
    assert!(!e.contains("not-the-password") && !e.contains(&pfx[..40]), "{e}");
    assert!(s.platform.store.get("Bundle").is_err());

    let mut right = wrong.clone();
    right["client_private_key_password"] = json!("fixture-password");
    let r = s.platform.create(&right).unwrap();
    assert!(!r.settings.contains_key("client_private_key_password"), "the password is not kept");
    assert_eq!(s.platform.certificates(&r)[0].sha1_thumbprint.len(), 40);
    let start = s.platform.begin_authorization("Bundle").unwrap();
    let location = match sign_in(&start.url, None, true).unwrap() {
        BrowserOutcome::Redirected(l) => l,
        other => panic!("{other:?}"),
    };
    s.platform.complete_authorization(&form_urlencoded_pairs(location.split_once('?').unwrap().1)).unwrap();
    assert_eq!(s.platform.store.get("Bundle").unwrap().status, Status::Connected);
    let db = std::fs::read(s._dir.path().join("c.db")).unwrap();
    assert!(!db.windows(16).any(|w| w == b"fixture-password"));
}
