//! The egress policy end to end through the real `.wasm`: no manifest can allow an IP address or
//! a whole public suffix, no name may resolve to an address inside the platform's network (on
//! any hop), and plain http goes only to loopback in the host's test mode. Each refusal is the
//! transport error `blocked_host`, classified, and reaches no listener.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use e2e::*;
use host_harness::{ConnectorHost, LoadOptions};
use serde_json::json;

fn settings() -> serde_json::Value {
    json!({"name": "Egress", "scopes": ["User.Read"]})
}

#[test]
fn a_manifest_cannot_allow_an_address_or_a_public_suffix() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("169.254.169.254", "is an IP address"),
        ("2852039166", "is an IP address"),
        ("0251.0376.0251.0376", "is an IP address"),
        ("0xa9fea9fe", "is an IP address"),
        ("[::ffff:169.254.169.254]", "is an IP address"),
        ("[::1]", "is an IP address"),
        ("*.com", "Public Suffix List"),
        ("*.co.uk", "Public Suffix List"),
        ("*.azurewebsites.net", "Public Suffix List"),
    ];
    for (entry, why) in cases {
        let path = write_manifest(dir.path(), |m| m["allowed_hosts"] = json!(["login.microsoftonline.com", entry]));
        let e = ConnectorHost::load(&path, &LoadOptions::default()).err().unwrap_or_else(|| panic!("{entry} loaded"));
        let line = e.to_string();
        assert!(line.contains("allowed_hosts") && line.contains(why) && !line.contains('\n'), "{entry}: {line}");
        // validate-manifest says the same in one line, exit 2.
        let out = std::process::Command::new(root().join("target/release/connector-host"))
            .args(["validate-manifest", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{entry}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(why), "{entry}");
    }
    let fine = write_manifest(dir.path(), |m| m["allowed_hosts"] = json!(["*.microsoftonline.com"]));
    ConnectorHost::load(&fine, &LoadOptions::default()).unwrap();
}

/// A connector whose login endpoint is `https://login.microsoftonline.com:PORT` (an allowed
/// name), resolved by the test to `answer`.
fn host_resolving_login_to(answer: &str, port: u16, allow_loopback: bool) -> ConnectorHost {
    let ip: IpAddr = answer.parse().unwrap();
    let answers = BTreeMap::from([("login.microsoftonline.com".to_string(), vec![ip])]);
    let mut options = LoadOptions { resolver: Some(Arc::new(answers)), allow_loopback, ..Default::default() };
    options.config.insert("client_id".into(), PLATFORM_CLIENT_ID.into());
    options.config.insert("login_base_url".into(), format!("https://login.microsoftonline.com:{port}"));
    ConnectorHost::load(&manifest_path(), &options).unwrap()
}

fn refresh(host: &ConnectorHost) -> host_harness::ConnectorError {
    host.call("refresh_token", &json!({"settings": settings(), "refresh_token": "rt-secret-value", "now": now()}))
        .unwrap()
        .unwrap_err()
}

#[test]
fn an_allowed_name_resolving_inside_the_network_is_never_connected() {
    let listener = TinyServer::start(|_| (Duration::ZERO, json_response(200, "{}")));
    for answer in ["169.254.169.254", "10.0.0.5", "::ffff:127.0.0.1", "100.64.0.1", "127.0.0.1", "fd00::1"] {
        let e = refresh(&host_resolving_login_to(answer, listener.port, false));
        assert_eq!(e.code(), "blocked_host", "{answer}: {e}");
        let d = details(&e);
        assert_eq!(d["provider"]["transport_error"], "blocked_host", "{answer}");
        assert!(!d.to_string().contains("rt-secret-value"));
    }
    assert_eq!(listener.hits(), 0, "a refused address was connected to");
    // The same loopback answer in test mode does reach the listener (TLS then fails): the
    // refusals above are the policy, not a dead port.
    let e = refresh(&host_resolving_login_to("127.0.0.1", listener.port, true));
    assert_ne!(e.code(), "blocked_host", "{e}");
    assert!(listener.hits() >= 1);
}

#[test]
fn a_redirect_to_an_internal_address_is_not_followed() {
    let target = TinyServer::start(|_| (Duration::ZERO, json_response(200, r#"{"id":"x"}"#)));
    // graph.microsoft.com is allowed by the manifest; the test's resolver puts it on loopback,
    // which only the first hop (the test's Graph, in test mode) may use... and the metadata
    // address, which no hop may.
    let location = "https://graph.microsoft.com/v1.0/me".to_string();
    let redirector = TinyServer::start(move |_| {
        (
            Duration::ZERO,
            format!("HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"),
        )
    });
    let answers = BTreeMap::from([("graph.microsoft.com".to_string(), vec!["169.254.169.254".parse().unwrap()])]);
    let options = LoadOptions {
        resolver: Some(Arc::new(answers)),
        ..options_towards(&redirector.base(), &redirector.base(), None)
    };
    let host = ConnectorHost::load(&manifest_path(), &options).unwrap();
    let e = host
        .call("test_connection", &json!({"settings": settings(), "access_token": "at-secret-value"}))
        .unwrap()
        .unwrap_err();
    assert_eq!(e.code(), "blocked_host", "{e}");
    assert_eq!(details(&e)["provider"]["transport_error"], "blocked_host");
    assert_eq!((redirector.hits(), target.hits()), (1, 0));
}

#[test]
fn plain_http_goes_only_to_loopback_in_test_mode() {
    let listener = TinyServer::start(|_| (Duration::ZERO, json_response(200, "{}")));
    let options = LoadOptions { allow_loopback: false, ..options_towards(&listener.base(), &listener.base(), None) };
    let host = ConnectorHost::load(&manifest_path(), &options).unwrap();
    let e = refresh(&host);
    assert_eq!(e.code(), "blocked_host", "{e}");
    assert_eq!(listener.hits(), 0);
}
