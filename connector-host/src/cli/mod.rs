//! The command line of `connector-host`.

mod api_keys;
mod connections;
mod demo;
mod locate;
mod mock;
mod render;
mod store_writer;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use connector_interface::{ClassifyErrorInput, DescribeInput, Phase, QueryIn, TransportIn};
use host_harness::conformance::IdentityProvider;
use host_harness::error::{parse_envelope, HostError};
use host_harness::{manifest, ConnectorHost, LoadOptions};

pub use connections::{connection_table, default_store, instances_for, open_store, Common};

/// The manifest given, or found as `connector-host --help` says.
pub fn locate_manifest(given: Option<&Path>) -> Result<PathBuf, HostError> {
    locate::manifest(given)
}
pub use locate::MANIFEST_ENV;

#[derive(Parser)]
#[command(
    name = "connector-host",
    version,
    about = "Load connector plugins (interface v1) and act as the integration platform around them.",
    after_help = "Without --manifest, the manifest is $CONNECTOR_HOST_MANIFEST, else manifests/microsoft-entra-id.json \
under the working directory, else the checkout's manifests/ beside target/release, else \
PREFIX/share/connector-host/ beside PREFIX/bin (make install)."
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
        /// The connector's manifest (found without it: see `connector-host --help`).
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Print describe's raw output.
        #[arg(long)]
        json: bool,
    },
    /// Call an export with the JSON input on stdin; print its raw output.
    Call {
        /// The connector's manifest (found without it: see `connector-host --help`).
        #[arg(long)]
        manifest: Option<PathBuf>,
        export: String,
    },
    /// The whole connection story against the embedded mock Entra ID.
    Demo {
        /// The connector's manifest (found without it: see `connector-host --help`).
        #[arg(long)]
        manifest: Option<PathBuf>,
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
    /// Serve the platform: the HTTP API under /api/v1 (OpenAPI at /api/v1/openapi.json), the
    /// OAuth callback, health checks, and keep-alive on a schedule.
    Serve(crate::serve::ServeArgs),
    /// Make, list and revoke the API keys of `serve`.
    ApiKeys {
        #[command(subcommand)]
        command: api_keys::ApiKeysCommand,
        #[command(flatten)]
        common: connections::Common,
    },
    /// Print a new one-time sign-in link to the panel of `serve` (same --store): for another
    /// person, or after the link printed at start was used or expired.
    PanelLink {
        /// The address people open the panel at.
        #[arg(long, default_value = "http://localhost:8400")]
        url: String,
        #[command(flatten)]
        common: connections::Common,
    },
    /// Refresh every connection due for keep-alive (a day after its last token set), so refresh
    /// tokens do not expire; with several processes on one PostgreSQL store each claims its own.
    Keepalive {
        /// Refreshes in flight at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[command(flatten)]
        common: connections::Common,
    },
    /// Run the generic checks every interface v1 connector must pass.
    Conformance {
        /// The connector's manifest (found without it: see `connector-host --help`).
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// The identity provider to run against: `mock` (the embedded mock, started and stopped
        /// here) or the base URL of a running one, such as `connector-host mock-entra`.
        #[arg(long, default_value = "mock")]
        idp: String,
        /// The client ID registered at `--idp` (with a URL).
        #[arg(long)]
        client_id: Option<String>,
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
        /// The connector's manifest (found without it: see `connector-host --help`).
        #[arg(long)]
        manifest: Option<PathBuf>,
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
    /// Print the interface v1 exports, one a line (the Makefile's fuzz targets come from it).
    Exports {
        /// Only the exports every connector must have.
        #[arg(long)]
        required: bool,
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
        /// Every answer waits this long first (the real token endpoint takes about 100 ms).
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// The lifetime of the access tokens it issues, in seconds.
        #[arg(long, default_value_t = 3600)]
        token_lifetime: i64,
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

fn load(path: Option<&Path>) -> Result<ConnectorHost, HostError> {
    ConnectorHost::load(&locate::manifest(path)?, &LoadOptions::default())
}

/// What a command can fail with; the exit code follows from it.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Host(#[from] HostError),
    #[error(transparent)]
    Platform(#[from] host_harness::platform::PlatformError),
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

fn read_stdin() -> Result<Vec<u8>, HostError> {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).map_err(|e| HostError::io("read stdin", e))?;
    Ok(input)
}

fn run(command: Command) -> Result<u8, CliError> {
    match command {
        Command::ValidateManifest { path } => {
            let host = load(Some(&path))?;
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
            let (hash, changed) = manifest::pin(&path).map_err(HostError::from)?;
            println!("{} {}: wasm sha256 {hash}", if changed { "pinned" } else { "unchanged" }, path.display());
            Ok(0)
        }
        Command::Describe { manifest, json } => {
            let host = load(manifest.as_deref())?;
            if json {
                let text = host.call_raw("describe", b"{}")?;
                let answer = parse_envelope::<serde_json::Value>("describe", &text)?;
                println!("{text}");
                return Ok(if answer.is_ok() { 0 } else { 1 });
            }
            match host.v1().describe(&DescribeInput::default())? {
                Ok(d) => {
                    print!("{}", render::panel(&d));
                    Ok(0)
                }
                Err(e) => {
                    eprintln!("connector-host: {e}");
                    Ok(1)
                }
            }
        }
        Command::MockEntra { port, redirect_uris, faults, latency_ms, token_lifetime } => {
            let config = mock_entra::MockConfig {
                port,
                latency_ms,
                access_token_lifetime: token_lifetime,
                ..Default::default()
            };
            mock::run(config, redirect_uris, faults)
        }
        Command::Demo { manifest } => demo::run(&locate::manifest(manifest.as_deref())?),
        Command::StoreWriter { store, name, threads } => store_writer::run(&store, &name, threads),
        Command::Connect(args) => connections::connect(args),
        Command::Connections { command, common } => connections::run(command, common),
        Command::Keepalive { concurrency, common } => connections::keepalive(common, concurrency),
        Command::Serve(args) => crate::serve::run(args),
        Command::ApiKeys { command, common } => api_keys::run(command, common),
        Command::PanelLink { url, common } => api_keys::panel_link(&url, common),
        Command::Conformance { manifest, idp, client_id, json } => {
            conformance(&locate::manifest(manifest.as_deref())?, &idp, client_id.as_deref(), json)
        }
        Command::Classify { manifest, phase, status, headers, query, transport_error, body_file, json } => {
            let phase: Phase = serde_json::from_value(serde_json::Value::String(phase))
                .map_err(|e| CliError::Other(format!("--phase: {e}")))?;
            let mut input = ClassifyErrorInput { status, ..ClassifyErrorInput::new(phase) };
            for h in headers {
                let (k, v) = h
                    .split_once(':')
                    .ok_or_else(|| CliError::Other(format!("--header must be 'Name: value', got {h:?}")))?;
                input.headers.insert(k.trim().to_string(), v.trim().to_string());
            }
            input.query = query.map(QueryIn::Raw);
            input.transport_error = transport_error.map(TransportIn::Kind);
            let body = match body_file {
                Some(f) => Some(std::fs::read(&f).map_err(|e| HostError::io(format!("read {}", f.display()), e))?),
                None if !std::io::IsTerminal::is_terminal(&std::io::stdin()) => Some(read_stdin()?),
                None => None,
            };
            input.body = body.filter(|b| !b.is_empty()).map(|b| String::from_utf8_lossy(&b).into_owned());
            let host = load(manifest.as_deref())?;
            match host.v1().classify_error(&input)? {
                Ok(c) if json => {
                    println!("{}", serde_json::to_string(&c).unwrap_or_default());
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
            let input = read_stdin()?;
            let host = load(manifest.as_deref())?;
            let text = host.call_raw(&export, &input)?;
            let answer = parse_envelope::<serde_json::Value>(&export, &text)?;
            println!("{text}");
            Ok(if answer.is_ok() { 0 } else { 1 })
        }
        Command::Exports { required } => {
            for e in connector_interface::EXPORTS.iter().filter(|e| e.required || !required) {
                println!("{}", e.name);
            }
            Ok(0)
        }
    }
}

/// `connector-host conformance`: against the embedded mock (started and stopped here) or the
/// identity provider at a base URL.
fn conformance(manifest_path: &Path, idp: &str, client_id: Option<&str>, json: bool) -> Result<u8, CliError> {
    let manifest = manifest::load(manifest_path).map_err(HostError::from)?.manifest;
    let (_mock, provider): (Option<mock_entra::MockEntra>, IdentityProvider) = if idp == "mock" {
        let mock =
            mock_entra::MockEntra::start().map_err(|e| CliError::Other(format!("cannot start the mock: {e}")))?;
        let provider = crate::mock_idp::conformance_idp(&manifest, &mock);
        (Some(mock), provider)
    } else {
        (None, IdentityProvider::at(idp, &manifest, idp, client_id))
    };
    Ok(host_harness::conformance::run_cli(manifest_path, &provider, json)?)
}
