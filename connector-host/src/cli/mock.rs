//! `connector-host mock-entra`: the mock Microsoft Entra ID and Graph as a process of its own.

use host_harness::error::HostError;
use mock_entra::*;

use super::CliError;

/// Prints a line, ignoring a closed stdout: the mock keeps serving when nobody reads its banner.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// `connector-host mock-entra`: the mock in the foreground until Ctrl-C.
pub fn run(mut config: MockConfig, redirect_uris: Vec<String>, faults: Vec<String>) -> Result<u8, CliError> {
    let port = config.port;
    config.redirect_uris.extend(redirect_uris);
    let scripted: Vec<FaultScript> = faults
        .iter()
        .map(|f| f.parse().map_err(|e: ScriptError| CliError::Other(e.to_string())))
        .collect::<Result<_, _>>()?;
    let mock = MockEntra::start_with(config.clone())
        .map_err(|e| HostError::io(format!("start the mock on port {port}"), e))?;
    for s in &scripted {
        mock.script(s.endpoint, s.calls, s.fault.clone());
    }
    let b = mock.base_url();
    say!("Mock Microsoft Entra ID and Microsoft Graph listening on {b}");
    say!("  authorize:  {b}/organizations/oauth2/v2.0/authorize");
    say!("  token:      {b}/organizations/oauth2/v2.0/token");
    say!("  graph:      {b}/v1.0/me");
    say!("  admin:      {b}/_mock/stats (requests per endpoint, refresh tokens issued)");
    if config.latency_ms > 0 {
        say!("Every answer waits {} ms.", config.latency_ms);
    }
    say!("Registered test app (confidential): client id {TEST_CLIENT_ID}, client secret {TEST_CLIENT_SECRET}");
    say!("Registered test app (public):       client id {PUBLIC_CLIENT_ID}");
    say!("Redirect URIs: {}", config.redirect_uris.join(", "));
    say!("Tenant: Contoso {TEST_TENANT_ID} (contoso.onmicrosoft.com)");
    say!("Test user: Adele Vance adele.vance@contoso.onmicrosoft.com ({TEST_USER_ID}), no admin roles");
    say!("Admin user: Megan Bowen megan.bowen@contoso.onmicrosoft.com ({ADMIN_USER_ID}), Global Administrator");
    for s in &scripted {
        say!("Scripted fault: {:?} {:?} {:?}", s.endpoint, s.calls, s.fault);
    }
    say!("Press Ctrl-C to stop.");
    loop {
        std::thread::park();
    }
}
