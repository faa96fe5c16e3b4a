//! The embedded mock of Microsoft Entra ID as the identity provider a connector is loaded
//! against (`demo`, `connect --mock`, `conformance`, the tests): the manifest's test-only base
//! URLs point at it, its confidential test app is the platform's app, and loopback is allowed
//! (the host's test mode).

use host_harness::conformance::IdentityProvider;
use host_harness::manifest::Manifest;
use host_harness::LoadOptions;
use mock_entra::{MockEntra, TEST_CLIENT_ID, TEST_CLIENT_SECRET};

/// Load options that point a connector at the mock at `base_url`.
pub fn load_options(base_url: &str) -> LoadOptions {
    let base = base_url.trim_end_matches('/');
    // The mock listens on loopback over plain http: the host's test mode, which opens loopback
    // and nothing else.
    let mut options =
        LoadOptions { extra_allowed_hosts: vec!["127.0.0.1".into()], allow_loopback: true, ..Default::default() };
    options.config.insert("client_id".into(), TEST_CLIENT_ID.into());
    options.config.insert("client_secret".into(), TEST_CLIENT_SECRET.into());
    options.config.insert("login_base_url".into(), base.into());
    options.config.insert("graph_base_url".into(), base.into());
    options
}

/// The mock as the identity provider of `connector-host conformance`.
pub fn conformance_idp(manifest: &Manifest, mock: &MockEntra) -> IdentityProvider {
    IdentityProvider::at("the embedded mock Microsoft Entra ID", manifest, &mock.base_url(), Some(TEST_CLIENT_ID))
}
