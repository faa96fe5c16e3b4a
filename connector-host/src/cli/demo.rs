//! `connector-host demo`: the whole connection story against the embedded mock Entra ID,
//! printed as the platform shows it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use host_harness::platform::callback::CallbackListener;
use host_harness::platform::{system_clock, Platform, PlatformError, SqliteStore, Status};
use host_harness::ConnectorHost;
use mock_entra::browser::{follow, sign_in_redirect};
use mock_entra::{Calls, Endpoint, Fault, MockEntra};

use super::{connection_table, CliError};

/// Loads the connector pointed at a mock, with the mock's confidential app as the platform's.
pub fn host_for_mock(manifest: &std::path::Path, mock: &MockEntra) -> Result<ConnectorHost, CliError> {
    Ok(ConnectorHost::load(manifest, &crate::mock_idp::load_options(&mock.base_url()))?)
}

fn step(n: u32, title: &str) {
    println!("\n{n}. {title}");
}

pub fn run(manifest: &std::path::Path) -> Result<u8, CliError> {
    let started = Instant::now();
    println!("Microsoft Entra ID connection demo (against the embedded mock Microsoft Entra ID)");
    let mock = MockEntra::start().map_err(|e| CliError::Other(format!("cannot start the mock: {e}")))?;
    println!(
        "Mock Microsoft Entra ID and Microsoft Graph on {} (tenant Contoso, app \"Integration Platform\")",
        mock.base_url()
    );
    let host = Arc::new(host_for_mock(manifest, &mock)?);
    let dir = std::env::temp_dir().join(format!("connector-host-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = SqliteStore::open(&dir.join("connections.db"))?;
    let listener =
        CallbackListener::bind(0).map_err(|e| CliError::Other(format!("cannot listen for the callback: {e}")))?;
    let platform = Platform::new(host, store, &listener.redirect_uri(), system_clock())?;
    let result = story(&platform, &mock, &listener);
    let _ = std::fs::remove_dir_all(&dir);
    let failures = result?;
    println!("\nSummary");
    print!("{}", connection_table(&platform)?);
    println!("\nDemo finished in {:.1} s: connected, tested, refreshed, and {failures} failures classified with their remedies.", started.elapsed().as_secs_f64());
    Ok(0)
}

fn story(p: &Platform, mock: &MockEntra, listener: &CallbackListener) -> Result<u32, CliError> {
    let name = "Demo Entra ID";
    step(1, "Create connection");
    let settings = json!({"name": name, "scopes": ["User.Read", "User.ReadWrite.All"]});
    println!("   Name your connection *: {name}");
    println!("   Scopes *: User.Read, User.ReadWrite.All");
    p.create(&settings)?;
    println!("   Saved (status: pending_authorization).");

    step(2, "Save and authorize");
    let start = p.begin_authorization(name)?;
    let shown = start.url.split('?').next().unwrap_or("");
    println!("   Sign in with Microsoft: {shown}?client_id=...&code_challenge_method=S256&state=...");
    println!("   Signing in as Adele Vance and reviewing the permissions...");
    let location = sign_in_redirect(&start.url, Some(mock_entra::TEST_USER_ID), true).map_err(CliError::Other)?;
    println!("   Clicked Accept; Microsoft redirects to {}", listener.redirect_uri());
    // The browser follows the redirect to the platform's local listener.
    follow(&location).map_err(CliError::Other)?;
    let query =
        listener.wait(Duration::from_secs(10), |_| {}).ok_or_else(|| CliError::Other("no callback arrived".into()))?;
    println!("   Callback received; state checked, code exchanged with the PKCE verifier.");
    let connected = p.complete_authorization(&query)?;

    step(3, "Connected");
    println!("   {}", connected.summary);
    let r = p.store.get(name)?;
    println!(
        "   Access token valid for {} min; refresh token stored encrypted.",
        (r.expires_at.unwrap_or(0) - p.now()) / 60
    );

    step(4, "Refresh");
    let before = mock.latest_refresh_token();
    let r = p.refresh(name)?;
    let rotated = before != mock.latest_refresh_token() && r.secrets.refresh_token == mock.latest_refresh_token();
    println!(
        "   Refresh token rotated and stored before the new access token was used: {} (token set #{}).",
        if rotated { "yes" } else { "NO" },
        r.generation
    );
    if !rotated {
        return Err(CliError::Other("the stored refresh token is not the newest one".into()));
    }
    let mut failures = 0;

    step(5, "Failure: an update of a sensitive user property");
    let url = format!("{}/v1.0/users/{}", mock.base_url(), mock_entra::GUEST_USER_ID);
    match p.api(name, "PATCH", &url, Some(&json!({"accountEnabled": false}))) {
        Err(PlatformError::Connector(e)) => {
            let c = e.classification();
            println!("   Error code: {}", c.and_then(|c| c.provider.graph_code.as_deref()).unwrap_or(e.code()));
            println!("   Message: {}", e.message());
            println!(
                "   What to do ({}): {}",
                e.action().map(|a| a.as_str()).unwrap_or(""),
                e.remediation().unwrap_or("")
            );
            let support = c.map(|c| &c.support);
            println!(
                "   Support: client-request-id {}, request-id {}",
                support.and_then(|s| s.client_request_id.as_deref()).unwrap_or("-"),
                support.and_then(|s| s.request_id.as_deref()).unwrap_or("-")
            );
            expect(e.code(), "insufficient_privileges")?;
            failures += 1;
        }
        other => return Err(CliError::Other(format!("expected Authorization_RequestDenied, got {other:?}"))),
    }

    step(6, "Failure: Microsoft Graph throttles a call");
    mock.script(Endpoint::Graph, Calls::Next(1), Fault::Status { status: 429, retry_after: Some("1".into()) });
    let t = Instant::now();
    let me = p.api(name, "GET", &format!("{}/v1.0/me", mock.base_url()), None)?;
    println!("   Graph answered 429 Too Many Requests with Retry-After: 1 (class throttled, action retry).");
    println!(
        "   The platform waited {:.1} s and retried: got {}.",
        t.elapsed().as_secs_f64(),
        me["userPrincipalName"].as_str().unwrap_or("?")
    );
    failures += 1;

    step(7, "Failure: the refresh token was revoked (a password reset)");
    mock.revoke_user_sessions(mock_entra::TEST_USER_ID);
    match p.refresh(name) {
        Err(PlatformError::Connector(e)) => {
            let aadsts = e.classification().map(|c| c.provider.aadsts.clone()).unwrap_or_default();
            println!("   {} ({}, AADSTS {aadsts:?})", e.message(), e.code());
            let r = p.store.get(name)?;
            println!("   Status: {}. {}", r.status.as_str(), r.remedy.unwrap_or_default());
            expect(r.status.as_str(), Status::NeedsReauthorization.as_str())?;
            failures += 1;
        }
        other => return Err(CliError::Other(format!("expected a revoked refresh token, got {other:?}"))),
    }
    Ok(failures)
}

fn expect(got: &str, want: &str) -> Result<(), CliError> {
    if got == want {
        Ok(())
    } else {
        Err(CliError::Other(format!("expected {want}, got {got}")))
    }
}
