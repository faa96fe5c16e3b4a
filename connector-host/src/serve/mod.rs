//! `connector-host serve`: the platform as a service. One process serves the HTTP API under
//! `/api/v1` (described by `/api/v1/openapi.json`), the OAuth callback and the health checks,
//! and runs keep-alive on a schedule. Handlers decode, call one platform function on a blocking
//! thread (the platform is synchronous: its store commits and its token requests block), and
//! encode. SIGTERM or Ctrl-C stops taking requests and lets those in flight finish.

mod api;
mod auth;
mod errors;
mod layers;
mod openapi;
mod panel;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use host_harness::platform::{system_clock, KeepaliveOptions, Platform};
use host_harness::ConnectorHost;

use crate::cli::CliError;

#[derive(Args, Clone)]
pub struct ServeArgs {
    /// Where to listen. Another address than loopback needs --allow-remote.
    #[arg(long, default_value = "127.0.0.1:8400")]
    pub listen: SocketAddr,
    /// Listen on an address other than loopback (with --tls-cert and --tls-key, or behind a TLS
    /// proxy: the API carries tokens).
    #[arg(long)]
    pub allow_remote: bool,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1); needs --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Run against the embedded mock Microsoft Entra ID (as `demo` does).
    #[arg(long)]
    pub mock: bool,
    /// Keep-alive looks for due connections this often, in seconds (one indexed query).
    #[arg(long, default_value_t = 60)]
    pub keepalive_every: u64,
    /// Keep-alive refreshes in flight at once in this process.
    #[arg(long, default_value_t = 64)]
    pub keepalive_concurrency: usize,
    /// A connection whose keep-alive failed on this many days needs attention.
    #[arg(long, default_value_t = 4)]
    pub keepalive_failing_days: u32,
    /// How long a refresh lease lasts, in seconds: longer than a token request may take (the
    /// connector's call timeout); a crashed holder's lease is taken over after it.
    #[arg(long, default_value_t = host_harness::platform::LEASE_SECS)]
    pub lease_secs: i64,
    /// The address people and Microsoft reach this platform at (behind a load balancer, the
    /// same for every replica): the OAuth callback is PUBLIC_URL/callback and the panel's links
    /// start with it. Without it: http(s)://localhost:PORT.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Run against a mock Microsoft Entra ID already running at this URL (`connector-host
    /// mock-entra`), as replicas of one platform share one.
    #[arg(long, value_name = "URL", conflicts_with = "mock")]
    pub mock_url: Option<String>,
    /// Requests per second allowed per API key and per client address (bursts of twice that).
    #[arg(long, default_value_t = 200)]
    pub rate_limit: u32,
    /// Script a fault at the embedded mock, as `mock-entra --fault` does ("graph always status:403"
    /// makes every Graph call meet Authorization_RequestDenied). Repeatable; needs --mock.
    #[arg(long = "mock-fault", value_name = "SCRIPT", requires = "mock")]
    pub mock_faults: Vec<String>,
    /// The lifetime of the embedded mock's access tokens, in seconds (tests of expiry).
    #[arg(long, hide = true)]
    pub mock_token_lifetime: Option<i64>,
    #[command(flatten)]
    pub common: crate::cli::Common,
}

/// What every handler shares.
pub struct AppState {
    pub platform: Arc<Platform>,
    pub limits: layers::RateLimits,
    /// Whether the server speaks HTTPS (the session cookie is then Secure).
    pub tls: bool,
    /// The panel's device code sign-ins waiting in this replica.
    pub devices: panel::DeviceSessions,
}

pub fn run(args: ServeArgs) -> Result<u8, CliError> {
    if !args.listen.ip().is_loopback() && !args.allow_remote {
        return Err(CliError::Other(format!(
            "--listen {} is not a loopback address; add --allow-remote to serve other machines (and put TLS in front)",
            args.listen
        )));
    }
    if !args.listen.ip().is_loopback() && args.tls_cert.is_none() {
        eprintln!(
            "connector-host: warning: serving {} without TLS; tokens and API keys would cross the network in clear",
            args.listen
        );
    }
    let ready = prepare(&args)?;
    let platform = ready.platform.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Other(format!("cannot start the runtime: {e}")))?;
    let served = runtime.block_on(serve(&args, ready));
    drop(runtime);
    // The store's connections close here, outside the runtime (the PostgreSQL client blocks
    // on its own runtime to close them).
    drop(platform);
    served
}

/// What `serve` runs, made before the runtime starts: the store (whose PostgreSQL client has a
/// runtime of its own and blocks on it) is opened on this plain thread.
struct Ready {
    platform: Arc<Platform>,
    listener: std::net::TcpListener,
    addr: SocketAddr,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    _mock: Option<mock_entra::MockEntra>,
}

fn prepare(args: &ServeArgs) -> Result<Ready, CliError> {
    // The certificate is read before anything listens: a bad one stops the start, clearly.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tls::config(cert, key)?),
        _ => None,
    };
    let listener = std::net::TcpListener::bind(args.listen)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| CliError::Other(format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener.local_addr().map_err(|e| CliError::Other(e.to_string()))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let public = match &args.public_url {
        Some(u) if u.starts_with("https://") || u.starts_with("http://") => u.trim_end_matches('/').to_string(),
        Some(u) => {
            return Err(CliError::Other(format!("--public-url {u:?}: give a URL such as https://platform.example.com")))
        }
        None => format!("{scheme}://localhost:{}", addr.port()),
    };
    let redirect_uri = format!("{public}/callback");
    let mock = if args.mock {
        let mut config = mock_entra::MockConfig { redirect_uris: vec![redirect_uri.clone()], ..Default::default() };
        if let Some(lifetime) = args.mock_token_lifetime {
            config.access_token_lifetime = lifetime;
        }
        let scripts: Vec<mock_entra::FaultScript> = args
            .mock_faults
            .iter()
            .map(|f| f.parse().map_err(|e: mock_entra::ScriptError| CliError::Other(e.to_string())))
            .collect::<Result<_, _>>()?;
        let mock = mock_entra::MockEntra::start_with(config)
            .map_err(|e| CliError::Other(format!("cannot start the mock: {e}")))?;
        for s in scripts {
            mock.script(s.endpoint, s.calls, s.fault);
        }
        Some(mock)
    } else {
        None
    };
    let manifest = crate::cli::locate_manifest(args.common.manifest.as_deref())?;
    let mock_base = mock.as_ref().map(|m| m.base_url()).or(args.mock_url.clone());
    let mut options = mock_base.as_deref().map(crate::mock_idp::load_options).unwrap_or_default();
    options.max_instances = Some(crate::cli::instances_for(args.keepalive_concurrency.max(1)));
    let host = Arc::new(ConnectorHost::load(&manifest, &options)?);
    let store = crate::cli::open_store(&args.common)?;
    let platform = Arc::new(Platform::on(host, store, &redirect_uri, system_clock())?.with_lease_secs(args.lease_secs));
    if platform.store.api_keys()?.iter().all(|k| k.revoked_at.is_some()) {
        say("no API key yet: make one with `connector-host api-keys create NAME` (same --store), then send `Authorization: Bearer <key>`");
    }
    let link = platform.new_panel_link()?;
    say(&format!(
        "connector-host serving on {scheme}://{addr} (API {scheme}://{addr}/api/v1, callback {redirect_uri})"
    ));
    if let Some(m) = &mock {
        say(&format!("against the embedded mock Microsoft Entra ID at {}", m.base_url()));
    }
    say(&format!("panel: open {public}/signin?token={link} (works once, for 10 minutes)"));
    Ok(Ready { platform, listener, addr, tls, _mock: mock })
}

async fn serve(args: &ServeArgs, ready: Ready) -> Result<u8, CliError> {
    let Ready { platform, listener, addr, tls, _mock } = ready;
    let state = Arc::new(AppState {
        platform: platform.clone(),
        limits: layers::RateLimits::new(args.rate_limit),
        tls: tls.is_some(),
        devices: Default::default(),
    });
    let app = api::router(state);
    let every = Duration::from_secs(args.keepalive_every.max(1));
    let options =
        KeepaliveOptions { concurrency: args.keepalive_concurrency.max(1), failing_days: args.keepalive_failing_days };
    let keepalive = tokio::spawn(keepalive(platform, every, options));
    let handle = axum_server::Handle::new();
    let stopping = handle.clone();
    tokio::spawn(async move {
        shutdown().await;
        // In-flight requests finish (within the request time limit); new ones are refused.
        stopping.graceful_shutdown(Some(layers::REQUEST_TIMEOUT));
    });
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    let served = match tls {
        Some(config) => {
            axum_server::from_tcp_rustls(listener, config)
                .map_err(|e| CliError::Other(format!("cannot listen on {addr}: {e}")))?
                .handle(handle)
                .serve(service)
                .await
        }
        None => {
            axum_server::from_tcp(listener)
                .map_err(|e| CliError::Other(format!("cannot listen on {addr}: {e}")))?
                .handle(handle)
                .serve(service)
                .await
        }
    };
    served.map_err(|e| CliError::Other(format!("the server stopped: {e}")))?;
    keepalive.abort();
    say("connector-host stopped");
    Ok(0)
}

/// A line on stdout; a closed stdout (nobody reads the banner) does not stop the server.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// Keep-alive on a schedule, on a blocking thread, one run at a time.
async fn keepalive(platform: Arc<Platform>, every: Duration, options: KeepaliveOptions) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let p = platform.clone();
        match tokio::task::spawn_blocking(move || p.keepalive_each(options, &|_, _| {})).await {
            Ok(Ok(done)) => tracing::info!(refreshed = done.refreshed, failed = done.failed, "keep-alive"),
            Ok(Err(e)) => tracing::warn!(error = %e, "keep-alive failed"),
            Err(e) => tracing::warn!(error = %e, "keep-alive stopped"),
        }
    }
}

/// SIGTERM or Ctrl-C.
async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
