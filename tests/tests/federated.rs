//! Workload identity federation end to end through the `.wasm`: the platform's app, and a
//! connection's own app, sign in with the token a file holds (a Kubernetes projected
//! service-account token), read again for every token request; Entra's refusals (issuer,
//! subject, audience, an expired token) classified with what to compare; a missing file named.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use connector_interface::sign::SignAlgorithm;
use e2e::mock_entra::browser::{sign_in, BrowserOutcome};
use e2e::mock_entra::{Endpoint, CERTIFICATE_CLIENT_ID, TEST_TENANT_ID};
use e2e::*;
use host_harness::platform::{Platform, SqliteStore, Status};
use host_harness::signing::SigningKey;
use host_harness::{ConnectorHost, LoadOptions};
use serde_json::{json, Value};

const ISSUER: &str = "https://oidc.cluster.example/7f1e";
const SUBJECT: &str = "system:serviceaccount:integrations:connector-host";
const AUDIENCE: &str = "api://AzureADTokenExchange";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(root().join("tests/fixtures/certificates").join(name)).unwrap()
}

/// A token as the cluster's issuer signs it (RS256, the key of fixture a).
fn issue(iss: &str, sub: &str, aud: &str, iat: i64, exp: i64) -> String {
    let header = json!({"alg": "RS256", "kid": "cluster-key", "typ": "JWT"});
    let claims = json!({"iss": iss, "sub": sub, "aud": [aud], "iat": iat, "nbf": iat, "exp": exp});
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let key = SigningKey::from_pem(&fixture("a.key.pem")).unwrap();
    let sig = key.sign(SignAlgorithm::RS256, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn good_token(iat: i64) -> String {
    issue(ISSUER, SUBJECT, AUDIENCE, iat, iat + 3600)
}

struct Setup {
    mock: MockEntra,
    platform: Platform,
    token_file: PathBuf,
    options: LoadOptions,
    _dir: tempfile::TempDir,
}

/// The platform's app is the certificate app of the mock, trusting the cluster's tokens; with
/// `platform_app_federated` the platform signs in with its token file, else with its secret (and
/// the token file is there for connections' own apps).
fn setup(platform_app_federated: bool) -> Setup {
    let mock = MockEntra::start_with(mock_entra::MockConfig {
        redirect_uris: vec![REDIRECT_URI.into()],
        ..Default::default()
    })
    .unwrap();
    mock.add_federated_credential(CERTIFICATE_CLIENT_ID, ISSUER, SUBJECT, AUDIENCE, &fixture("a.cert.pem"));
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("azure-identity-token");
    std::fs::write(&token_file, good_token(mock.now())).unwrap();
    let mut options = connector_host::mock_idp::load_options(&mock.base_url());
    if platform_app_federated {
        options.config.remove("client_secret");
        options.config.insert("client_id".into(), CERTIFICATE_CLIENT_ID.into());
    }
    options.config.insert("federated_token_file".into(), token_file.to_str().unwrap().into());
    let host = Arc::new(ConnectorHost::load(&manifest_path(), &options).unwrap());
    let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
    let platform = Platform::new(host, store, REDIRECT_URI, host_harness::platform::system_clock()).unwrap();
    Setup { mock, platform, token_file, options, _dir: dir }
}

fn app_only(name: &str) -> Value {
    json!({"name": name, "grant": "client_credentials", "tenant": TEST_TENANT_ID, "scopes": ["User.Read.All"]})
}

fn assertions_sent(mock: &MockEntra) -> Vec<String> {
    mock.requests_to(Endpoint::Token)
        .iter()
        .map(|r| r.form.get("client_assertion").cloned().unwrap_or_default())
        .collect()
}

fn write(path: &Path, token: &str) {
    std::fs::write(path, format!("{token}\n")).unwrap();
}

#[test]
fn the_platform_app_signs_in_with_its_workload_identity_reading_the_token_file_for_every_request() {
    let s = setup(true);
    let d = s.platform.host.call("describe", &json!({"settings": {"name": "x", "scopes": ["User.Read"]}})).unwrap();
    assert_eq!(d.unwrap()["http_view"]["client_authentication"], "private_key_jwt (workload identity federation)");

    s.platform.create(&app_only("Sync")).unwrap();
    assert_eq!(s.platform.refresh("Sync").unwrap().status, Status::Connected);
    let first = std::fs::read_to_string(&s.token_file).unwrap();
    // The runtime rotates the projected token; the next request carries the new one.
    let rotated = good_token(s.mock.now() + 60);
    write(&s.token_file, &rotated);
    assert_eq!(s.platform.refresh("Sync").unwrap().status, Status::Connected);
    let sent = assertions_sent(&s.mock);
    assert_eq!(sent, vec![first.trim().to_string(), rotated.clone()]);
    for r in s.mock.requests_to(Endpoint::Token) {
        assert_eq!(r.form["client_assertion_type"], "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
        assert_eq!(r.form["client_id"], CERTIFICATE_CLIENT_ID);
        assert!(!r.form.contains_key("client_secret"));
    }

    // A user signs in through the same app: the code exchange presents the token too.
    s.platform.create(&json!({"name": "HR", "scopes": ["User.Read"]})).unwrap();
    let start = s.platform.begin_authorization("HR").unwrap();
    let location = match sign_in(&start.url, None, true).unwrap() {
        BrowserOutcome::Redirected(l) => l,
        other => panic!("{other:?}"),
    };
    s.platform.complete_authorization(&form_urlencoded_pairs(location.split_once('?').unwrap().1)).unwrap();
    assert_eq!(s.platform.store.get("HR").unwrap().status, Status::Connected);
    assert_eq!(assertions_sent(&s.mock).last().unwrap(), &rotated);

    // The token is a credential: never in the store in clear.
    let db = std::fs::read(s._dir.path().join("c.db")).unwrap();
    let signature = rotated.rsplit('.').next().unwrap();
    assert!(!db.windows(signature.len()).any(|w| w == signature.as_bytes()));
}

/// Refreshes `name` with `token` in the file; the stored failure.
fn failure(s: &Setup, name: &str, token: &str) -> host_harness::ConnectorError {
    write(&s.token_file, token);
    assert!(s.platform.refresh(name).is_err());
    let r = s.platform.store.get(name).unwrap();
    assert_eq!(r.status, Status::NeedsAttention);
    r.last_error.unwrap()
}

#[test]
fn entra_refusals_name_the_federated_credential_fields_to_compare() {
    let s = setup(true);
    s.platform.create(&app_only("Sync")).unwrap();
    let now = s.mock.now();
    let cases = [
        (
            issue("https://oidc.other.example/", SUBJECT, AUDIENCE, now, now + 3600),
            700211,
            "https://oidc.other.example/",
        ),
        (
            issue(ISSUER, "system:serviceaccount:other:sa", AUDIENCE, now, now + 3600),
            700213,
            "system:serviceaccount:other:sa",
        ),
        (issue(ISSUER, &SUBJECT.to_uppercase(), AUDIENCE, now, now + 3600), 7002138, &SUBJECT.to_uppercase()),
        (issue(ISSUER, SUBJECT, "api://SomethingElse", now, now + 3600), 700212, "api://SomethingElse"),
    ];
    for (token, code, quoted) in cases {
        let e = failure(&s, "Sync", &token);
        assert_eq!(e.code(), "federated_credential_mismatch", "{code}");
        let c = e.classification().unwrap();
        assert!(c.provider.aadsts.contains(&code), "{code}: {:?}", c.provider.aadsts);
        let remedy = e.remediation().unwrap();
        for needed in ["Federated credentials", "Issuer", "Subject identifier", "Audience", quoted] {
            assert!(remedy.contains(needed), "{code}: {needed} missing from {remedy}");
        }
        // What the token says of itself is quoted; the token is not.
        let signature = token.rsplit('.').next().unwrap();
        assert!(!remedy.contains(signature) && !c.message.contains(signature), "{code}");
    }

    // A copy kept past its life: AADSTS700024, and the remedy points at the file's renewal.
    let e = failure(&s, "Sync", &issue(ISSUER, SUBJECT, AUDIENCE, now - 7200, now - 3600));
    assert_eq!(e.code(), "assertion_time_invalid");
    assert!(e.remediation().unwrap().contains("token file"), "{:?}", e.remediation());

    // The file is gone: the platform says which configuration to check, and Microsoft is not asked.
    let asked = s.mock.requests_to(Endpoint::Token).len();
    std::fs::remove_file(&s.token_file).unwrap();
    let e = s.platform.refresh("Sync").unwrap_err().to_string();
    assert!(e.contains("AZURE_FEDERATED_TOKEN_FILE") && e.contains("federated_token_file"), "{e}");
    assert_eq!(s.mock.requests_to(Endpoint::Token).len(), asked);
    // Put back, it works again.
    write(&s.token_file, &good_token(s.mock.now()));
    assert_eq!(s.platform.refresh("Sync").unwrap().status, Status::Connected);
}

#[test]
fn a_connections_own_app_can_trust_the_platforms_workload_identity() {
    let s = setup(false);
    let mut own = app_only("Own");
    own["client_id"] = json!(CERTIFICATE_CLIENT_ID);
    own["workload_identity"] = json!("platform");
    s.platform.create(&own).unwrap();
    assert_eq!(s.platform.refresh("Own").unwrap().status, Status::Connected);
    let form = &s.mock.requests_to(Endpoint::Token)[0].form;
    assert_eq!(form["client_id"], CERTIFICATE_CLIENT_ID);
    assert_eq!(&form["client_assertion"], std::fs::read_to_string(&s.token_file).unwrap().trim());

    // A secret beside it is refused at save, naming the field; nothing is stored.
    let mut both = own.clone();
    both["name"] = json!("Both");
    both["client_secret"] = json!("a-secret-value");
    let e = s.platform.create(&both).unwrap_err().to_string();
    assert!(e.contains("settings.workload_identity") && !e.contains("a-secret-value"), "{e}");
    assert!(s.platform.store.get("Both").is_err());

    // A platform without a token file cannot offer it.
    let mut options = s.options.clone();
    options.config.remove("federated_token_file");
    let host = Arc::new(ConnectorHost::load(&manifest_path(), &options).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let p = Platform::new(
        host,
        SqliteStore::open(&dir.path().join("c.db")).unwrap(),
        REDIRECT_URI,
        host_harness::platform::system_clock(),
    )
    .unwrap();
    let e = p.create(&own).unwrap_err().to_string();
    assert!(e.contains("settings.workload_identity") && e.contains("no workload identity"), "{e}");
}

#[test]
fn a_token_file_that_cannot_be_read_stops_the_load_naming_the_configuration_key() {
    let s = setup(true);
    let mut options = s.options.clone();
    options.config.insert("federated_token_file".into(), "/nonexistent/azure-identity-token".into());
    let e = ConnectorHost::load(&manifest_path(), &options).err().unwrap().to_string();
    assert!(e.starts_with("platform configuration federated_token_file: cannot read"), "{e}");
    write(&s.token_file, "two words");
    let e = ConnectorHost::load(&manifest_path(), &s.options).err().unwrap().to_string();
    assert!(e.contains("federated_token_file") && !e.contains("two words"), "{e}");
}
