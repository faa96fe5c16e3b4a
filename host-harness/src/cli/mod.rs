//! The command line of `connector-host`.

mod connections;
mod demo;
mod render;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::{parse_envelope, HostError};
use crate::host::{ConnectorHost, LoadOptions};
use crate::manifest;

pub const DEFAULT_MANIFEST: &str = "manifests/microsoft-entra-id.json";

#[derive(Parser)]
#[command(
    name = "connector-host",
    version,
    about = "Load connector plugins (interface v1) and act as the integration platform around them."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Check a manifest: schema, wasm hash, interface version, exports.
    ValidateManifest { path: PathBuf },
    /// Pin the manifest's wasm sha256 to the file it names (the packaging step of `make build`).
    PinManifest { path: PathBuf },
    /// Show the connection panel the connector describes.
    Describe {
        #[arg(long, default_value = DEFAULT_MANIFEST)]
        manifest: PathBuf,
        /// Print describe's raw output.
        #[arg(long)]
        json: bool,
    },
    /// Call an export with the JSON input on stdin; print its raw output.
    Call {
        #[arg(long, default_value = DEFAULT_MANIFEST)]
        manifest: PathBuf,
        export: String,
    },
    /// The whole connection story against the embedded mock Entra ID.
    Demo {
        #[arg(long, default_value = DEFAULT_MANIFEST)]
        manifest: PathBuf,
    },
    /// Create a connection and sign in (against Microsoft, or the embedded mock with --mock).
    Connect(connections::ConnectArgs),
    /// Work with stored connections.
    Connections {
        #[command(subcommand)]
        command: connections::ConnectionsCommand,
        #[command(flatten)]
        common: connections::Common,
    },
    /// Refresh every connection idle for more than a day, so refresh tokens do not expire.
    Keepalive {
        #[command(flatten)]
        common: connections::Common,
    },
    /// Run the generic checks every interface v1 connector must pass.
    Conformance {
        #[arg(long, default_value = DEFAULT_MANIFEST)]
        manifest: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Rewrites one connection's tokens in a loop (for crash tests of the store).
    #[command(hide = true)]
    StoreWriter {
        #[arg(long)]
        store: PathBuf,
        #[arg(long)]
        name: String,
        /// Writers at once, each on its own connection NAME-1..NAME-N (their changes share
        /// commits); one writes NAME.
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
    /// Classify a failure (an HTTP answer, an error redirect or a transport error) as a person reads it.
    Classify {
        #[arg(long, default_value = DEFAULT_MANIFEST)]
        manifest: PathBuf,
        /// authorize, token, refresh, graph or transport.
        #[arg(long)]
        phase: String,
        #[arg(long)]
        status: Option<u16>,
        /// A response header, `Name: value` (repeatable).
        #[arg(long = "header")]
        headers: Vec<String>,
        /// The query of an error redirect, `error=...&error_description=...`.
        #[arg(long)]
        query: Option<String>,
        /// What the transport saw: timeout, refused, dns, tls, too_large, ...
        #[arg(long)]
        transport_error: Option<String>,
        /// Read the response body from this file (otherwise from stdin when it is not a terminal).
        #[arg(long)]
        body_file: Option<PathBuf>,
        /// Print the raw classification JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the mock Microsoft Entra ID and Graph on 127.0.0.1 in the foreground (Ctrl-C stops it).
    MockEntra {
        /// Port to listen on (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// A redirect URI to register on the test apps (repeatable).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Script a fault: "ENDPOINT CALLS FAULT", e.g. "token nth:2 status:429:3" (repeatable).
        /// ENDPOINT: authorize, token, adminconsent, graph, discovery. CALLS: next:N, nth:K, always.
        /// FAULT: status:CODE[:RETRY_AFTER], slow:MS, drop, html:CODE, truncated:CODE, huge:BYTES,
        /// revoked, inactive, secret-expired, consent, mfa, conditional-access, claims.
        #[arg(long = "fault")]
        faults: Vec<String>,
    },
}

/// Runs the CLI; errors are one line on stderr.
pub fn main() -> ExitCode {
    init_logging();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("connector-host: {}", e.to_string().replace('\n', " "));
            ExitCode::from(e.exit_code())
        }
    }
}

/// Quiet unless RUST_LOG says otherwise. The HTTP client's and servers' own logs are always
/// off: at debug and trace they print URLs with codes and hex dumps of bodies with tokens.
fn init_logging() {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    for quiet in
        ["ureq=off", "ureq_proto=off", "rustls=off", "hyper=off", "hyper_util=off", "h2=off", "axum=off", "tower=off"]
    {
        if let Ok(d) = quiet.parse() {
            filter = filter.add_directive(d);
        }
    }
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
}

fn load(path: &std::path::Path) -> Result<ConnectorHost, HostError> {
    ConnectorHost::load(path, &LoadOptions::default())
}

/// What a command can fail with; the exit code follows from it.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Host(#[from] HostError),
    #[error("{0}")]
    Platform(#[from] crate::platform::PlatformError),
    #[error("{0}")]
    Other(String),
}

impl CliError {
    fn exit_code(&self) -> u8 {
        match self {
            CliError::Platform(p) => p.exit_code(),
            _ => 2,
        }
    }
}

pub use connections::connection_table;

fn run(command: Command) -> Result<u8, CliError> {
    match command {
        Command::ValidateManifest { path } => {
            let host = load(&path)?;
            let m = host.manifest();
            println!(
                "ok: {} {} (interface v{}), wasm {} sha256 {}, {} allowed hosts, timeout {} ms",
                m.id,
                m.version,
                m.interface_version,
                host.loaded().wasm_path.display(),
                m.wasm.sha256,
                m.allowed_hosts.len(),
                m.timeout_ms()
            );
            Ok(0)
        }
        Command::PinManifest { path } => {
            let (hash, changed) = manifest::pin(&path)?;
            println!("{} {}: wasm sha256 {hash}", if changed { "pinned" } else { "unchanged" }, path.display());
            Ok(0)
        }
        Command::Describe { manifest, json } => {
            let host = load(&manifest)?;
            let text = host.call_raw("describe", b"{}")?;
            match parse_envelope("describe", &text)? {
                Ok(v) if json => {
                    println!("{text}");
                    let _ = v;
                    Ok(0)
                }
                Ok(v) => {
                    print!("{}", render::panel(&v));
                    Ok(0)
                }
                Err(e) => {
                    eprintln!("connector-host: {e}");
                    Ok(1)
                }
            }
        }
        Command::MockEntra { port, redirect_uris, faults } => mock_entra(port, redirect_uris, faults),
        Command::Demo { manifest } => demo::run(&manifest),
        Command::StoreWriter { store, name, threads } => store_writer(&store, &name, threads),
        Command::Connect(args) => connections::connect(args),
        Command::Connections { command, common } => connections::run(command, common),
        Command::Keepalive { common } => connections::keepalive(common),
        Command::Conformance { manifest, json } => crate::conformance::run_cli(&manifest, json).map_err(CliError::from),
        Command::Classify { manifest, phase, status, headers, query, transport_error, body_file, json } => {
            let mut input = serde_json::json!({ "phase": phase });
            if let Some(s) = status {
                input["status"] = s.into();
            }
            let mut hs = serde_json::Map::new();
            for h in headers {
                let (k, v) = h
                    .split_once(':')
                    .ok_or_else(|| HostError::Usage(format!("--header must be 'Name: value', got {h:?}")))?;
                hs.insert(k.trim().to_string(), v.trim().into());
            }
            input["headers"] = hs.into();
            if let Some(q) = query {
                input["query"] = q.into();
            }
            if let Some(t) = transport_error {
                input["transport_error"] = t.into();
            }
            let body = match body_file {
                Some(f) => {
                    Some(std::fs::read(&f).map_err(|e| HostError::Io(format!("cannot read {}: {e}", f.display())))?)
                }
                None if !std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
                    let mut b = Vec::new();
                    std::io::stdin()
                        .read_to_end(&mut b)
                        .map_err(|e| HostError::Io(format!("cannot read stdin: {e}")))?;
                    Some(b)
                }
                None => None,
            };
            if let Some(b) = body.filter(|b| !b.is_empty()) {
                input["body"] = String::from_utf8_lossy(&b).into_owned().into();
            }
            let host = load(&manifest)?;
            match host.call("classify_error", &input)? {
                Ok(c) if json => {
                    println!("{c}");
                    Ok(0)
                }
                Ok(c) => {
                    print!("{}", render::classification(&c));
                    Ok(0)
                }
                Err(e) => {
                    eprintln!("connector-host: {e}");
                    Ok(1)
                }
            }
        }
        Command::Call { manifest, export } => {
            let mut input = Vec::new();
            std::io::stdin().read_to_end(&mut input).map_err(|e| HostError::Io(format!("cannot read stdin: {e}")))?;
            let host = load(&manifest)?;
            let text = host.call_raw(&export, &input)?;
            let answer = parse_envelope(&export, &text)?;
            println!("{text}");
            Ok(if answer.is_ok() { 0 } else { 1 })
        }
    }
}

/// Prints a line, ignoring a closed stdout: the mock keeps serving when nobody reads its banner.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

fn mock_entra(port: u16, redirect_uris: Vec<String>, faults: Vec<String>) -> Result<u8, CliError> {
    use crate::mock_entra::*;
    let mut config = MockConfig { port, ..Default::default() };
    config.redirect_uris.extend(redirect_uris);
    let scripted: Vec<(Endpoint, Calls, Fault)> =
        faults.iter().map(|f| parse_fault(f).map_err(CliError::Other)).collect::<Result<_, _>>()?;
    let mock = MockEntra::start_with(config.clone())
        .map_err(|e| HostError::Io(format!("cannot start the mock on port {port}: {e}")))?;
    for (e, c, f) in &scripted {
        mock.script(*e, *c, f.clone());
    }
    let b = mock.base_url();
    say!("Mock Microsoft Entra ID and Microsoft Graph listening on {b}");
    say!("  authorize:  {b}/organizations/oauth2/v2.0/authorize");
    say!("  token:      {b}/organizations/oauth2/v2.0/token");
    say!("  graph:      {b}/v1.0/me");
    say!("Registered test app (confidential): client id {TEST_CLIENT_ID}, client secret {TEST_CLIENT_SECRET}");
    say!("Registered test app (public):       client id {PUBLIC_CLIENT_ID}");
    say!("Redirect URIs: {}", config.redirect_uris.join(", "));
    say!("Tenant: Contoso {TEST_TENANT_ID} (contoso.onmicrosoft.com)");
    say!("Test user: Adele Vance adele.vance@contoso.onmicrosoft.com ({TEST_USER_ID}), no admin roles");
    say!("Admin user: Megan Bowen megan.bowen@contoso.onmicrosoft.com ({ADMIN_USER_ID}), Global Administrator");
    for (e, c, f) in &scripted {
        say!("Scripted fault: {e:?} {c:?} {f:?}");
    }
    say!("Press Ctrl-C to stop.");
    loop {
        std::thread::park();
    }
}

/// Writes token sets `rt-N` / generation N forever, each as one store update.
fn store_writer(path: &std::path::Path, name: &str, threads: usize) -> Result<u8, CliError> {
    use crate::platform::{Record, Secrets, Status, Store};
    let store = std::sync::Arc::new(Store::open(path)?);
    let names: Vec<String> =
        if threads <= 1 { vec![name.to_string()] } else { (1..=threads).map(|i| format!("{name}-{i}")).collect() };
    let mut records = Vec::new();
    for name in names {
        records.push(match store.get(&name) {
            Ok(r) => r,
            Err(_) => {
                let r = Record {
                    name: name.clone(),
                    settings: serde_json::json!({"name": name}),
                    status: Status::Connected,
                    remedy: None,
                    last_error: None,
                    identity: None,
                    // Generation 0 is a whole token set too: a kill before a writer's first
                    // update finds it, and the test asks every generation for its own set.
                    expires_at: Some(0),
                    secrets: Secrets {
                        access_token: Some("at-0".into()),
                        refresh_token: Some("rt-0".into()),
                        ..Secrets::default()
                    },
                    generation: 0,
                    created_at: 0,
                    updated_at: 0,
                    last_refresh_at: None,
                };
                store.insert(&r)?;
                r
            }
        });
    }
    println!("writing");
    let writers: Vec<_> = records
        .into_iter()
        .map(|mut r| {
            let store = store.clone();
            std::thread::spawn(move || -> Result<(), crate::platform::PlatformError> {
                loop {
                    r.generation += 1;
                    r.secrets.refresh_token = Some(format!("rt-{}", r.generation));
                    r.secrets.access_token = Some(format!("at-{}", r.generation));
                    r.expires_at = Some(r.generation);
                    store.update(&r)?;
                }
            })
        })
        .collect();
    for w in writers {
        w.join().map_err(|_| CliError::Other("a writer thread panicked".into()))??;
    }
    Ok(0)
}

/// Parses "ENDPOINT CALLS FAULT" (see `mock-entra --help`).
pub fn parse_fault(
    text: &str,
) -> Result<(crate::mock_entra::Endpoint, crate::mock_entra::Calls, crate::mock_entra::Fault), String> {
    use crate::mock_entra::{Calls, Endpoint, Fault};
    let bad = || format!("--fault {text:?}: expected \"ENDPOINT CALLS FAULT\", such as \"token nth:2 status:429:3\"");
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [endpoint, calls, fault] = parts[..] else { return Err(bad()) };
    let endpoint = match endpoint {
        "authorize" => Endpoint::Authorize,
        "token" => Endpoint::Token,
        "adminconsent" => Endpoint::AdminConsent,
        "graph" => Endpoint::Graph,
        "discovery" => Endpoint::Discovery,
        _ => return Err(bad()),
    };
    let num = |s: Option<&str>| s.and_then(|n| n.parse::<u64>().ok()).ok_or_else(bad);
    let mut c = calls.split(':');
    let calls = match c.next() {
        Some("next") => Calls::Next(num(c.next())? as u32),
        Some("nth") => Calls::Nth(num(c.next())? as u32),
        Some("always") => Calls::Always,
        _ => return Err(bad()),
    };
    let mut f = fault.split(':');
    let fault = match f.next() {
        Some("status") => Fault::Status { status: num(f.next())? as u16, retry_after: f.next().map(str::to_string) },
        Some("slow") => Fault::Slow { delay_ms: num(f.next())? },
        Some("drop") => Fault::Drop,
        Some("html") => Fault::Html { status: num(f.next())? as u16 },
        Some("truncated") => Fault::TruncatedJson { status: num(f.next())? as u16 },
        Some("huge") => Fault::HugeBody { bytes: num(f.next())? as usize },
        Some("revoked") => Fault::RevokedRefreshToken,
        Some("inactive") => Fault::InactiveRefreshToken,
        Some("secret-expired") => Fault::ClientSecretExpired,
        Some("consent") => Fault::ConsentRequired,
        Some("mfa") => Fault::MfaRequired,
        Some("conditional-access") => Fault::BlockedByConditionalAccess,
        Some("claims") => Fault::ClaimsChallenge,
        _ => return Err(bad()),
    };
    Ok((endpoint, calls, fault))
}

#[cfg(test)]
mod tests {
    use super::parse_fault;
    use crate::mock_entra::{Calls, Endpoint, Fault};

    #[test]
    fn fault_scripts() {
        assert_eq!(
            parse_fault("token nth:2 status:429:3").unwrap(),
            (Endpoint::Token, Calls::Nth(2), Fault::Status { status: 429, retry_after: Some("3".into()) })
        );
        assert_eq!(
            parse_fault("graph always claims").unwrap(),
            (Endpoint::Graph, Calls::Always, Fault::ClaimsChallenge)
        );
        assert_eq!(parse_fault("token next:1 slow:5000").unwrap().2, Fault::Slow { delay_ms: 5000 });
        assert!(parse_fault("token soon drop").is_err());
        assert!(parse_fault("nowhere next:1 drop").is_err());
        assert!(parse_fault("token next:1").is_err());
    }
}
