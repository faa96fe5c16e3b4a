//! Starting a sign-in, against the peer a user would pick instead: the platform makes the
//! state, PKCE verifier and nonce and calls `authorize_url`, and MSAL Python's
//! `initiate_auth_code_flow` does the same for the same scopes, prompt and login hint
//! (`bench/msal_initiate.py`, in the virtual environment `make bench` makes under `target/`).

use std::process::Command;

use connector_interface::{AuthorizeUrlInput, Secret};
use host_harness::platform::random_token;
use host_harness::ConnectorHost;

use crate::inputs::{settings_map, REDIRECT};
use crate::measure::measure;
use crate::root;

pub const LOGIN_HINT: &str = "adele.vance@contoso.onmicrosoft.com";
const SAMPLES: usize = 2000;

/// Both medians, in microseconds, and the msal release timed.
pub struct Msal {
    pub ours_us: f64,
    pub msal_us: f64,
    pub version: String,
}

impl Msal {
    pub fn speedup(&self) -> f64 {
        self.msal_us / self.ours_us
    }
}

/// The comparison, or why it was not made (no virtual environment with msal).
pub fn compare(host: &ConnectorHost) -> Result<Msal, String> {
    let python = root().join("target/msal-venv/bin/python");
    if !python.exists() {
        return Err("not measured: no target/msal-venv (make bench makes it when pip reaches the registry)".into());
    }
    let out = Command::new(&python)
        .arg(root().join("bench/msal_initiate.py"))
        .arg(SAMPLES.to_string())
        .output()
        .map_err(|e| format!("not measured: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    let msal_us: f64 = words
        .next()
        .and_then(|w| w.parse().ok())
        .filter(|_| out.status.success())
        .ok_or_else(|| format!("not measured: msal_initiate.py said {:?}", String::from_utf8_lossy(&out.stderr)))?;
    let version = words.next().unwrap_or("?").to_string();
    let mut settings = settings_map();
    settings.insert("prompt".into(), "select_account".into());
    settings.insert("login_hint".into(), LOGIN_HINT.into());
    let ours = measure(SAMPLES, || {
        let input = AuthorizeUrlInput {
            settings: settings.clone(),
            redirect_uri: REDIRECT.into(),
            state: random_token(32),
            code_verifier: Secret::new(random_token(48)),
            nonce: Some(random_token(24)),
            claims: None,
        };
        host.v1().authorize_url(&input).unwrap().unwrap();
    });
    Ok(Msal { ours_us: ours.median, msal_us, version })
}
