//! What the tests of `connector-host serve` share: a `serve --mock` process with its own store
//! and API key, and calls to it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_connector-host"));
    c.env_remove("RUST_LOG").env_remove("CONNECTOR_HOST_MANIFEST");
    c
}

/// A `serve --mock` process on a free port with its own store, and one API key.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub key: String,
    pub store: String,
    /// The panel's one-time sign-in link.
    pub signin: String,
    _dir: tempfile::TempDir,
}

impl Server {
    pub fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("c.db").to_str().unwrap().to_string();
        let out = bin().args(["api-keys", "create", "tests", "--store", &store]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let key = String::from_utf8_lossy(&out.stdout).lines().find(|l| l.starts_with("chk_")).unwrap().to_string();
        let mut child = bin()
            .args(["serve", "--mock", "--listen", "127.0.0.1:0", "--store", &store])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The banner: the address first, the panel's sign-in link last.
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let base = first
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .unwrap()
            .to_string();
        let signin = lines
            .map_while(Result::ok)
            .find_map(|l| l.split_whitespace().find(|w| w.contains("/signin?token=")).map(str::to_string))
            .unwrap();
        Server { child, base, key, store, signin, _dir: dir }
    }

    pub fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into()
    }

    pub fn call(&self, method: &str, path: &str, key: Option<&str>, body: Option<&Value>) -> (u16, Value) {
        let mut req = ureq::http::Request::builder().method(method).uri(format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.header("Authorization", format!("Bearer {k}"));
        }
        let req = req
            .header("Content-Type", "application/json")
            .body(body.map(Value::to_string).unwrap_or_default())
            .unwrap();
        let mut r = Self::agent().run(req).unwrap();
        let status = r.status().as_u16();
        let text = r.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub fn api(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.call(method, path, Some(&self.key.clone()), body)
    }

    /// Creates a connection and signs it in through the API, the mock's consent page and the
    /// platform's callback.
    pub fn connect(&self, name: &str) {
        let (s, v) = self.api(
            "POST",
            "/api/v1/connections",
            Some(&json!({"settings": {"name": name, "scopes": ["User.Read"]}})),
        );
        assert_eq!(s, 201, "{v}");
        let (s, v) = self.api("POST", &format!("/api/v1/connections/{}/authorize", enc(name)), None);
        assert_eq!(s, 200, "{v}");
        let location = mock_entra::browser::sign_in_redirect(v["url"].as_str().unwrap(), None, true).unwrap();
        let mut page = Self::agent().get(&location).call().unwrap();
        assert_eq!(page.status().as_u16(), 200);
        assert!(page.body_mut().read_to_string().unwrap().contains("Connected as adele.vance"));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20")
}
