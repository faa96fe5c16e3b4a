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
use host_harness::platform::{system_clock, Platform, SqliteStore};
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
    /// Keep-alive runs this often, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub keepalive_every: u64,
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Other(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> Result<u8, CliError> {
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
    let redirect_uri = format!("{scheme}://localhost:{}/callback", addr.port());
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
    let options = mock.as_ref().map(|m| crate::mock_idp::load_options(&m.base_url())).unwrap_or_default();
    let host = Arc::new(ConnectorHost::load(&manifest, &options)?);
    let store = SqliteStore::open(&args.common.store.clone().unwrap_or_else(crate::cli::default_store))?;
    let platform = Arc::new(Platform::new(host, store, &redirect_uri, system_clock())?);
    if platform.store.api_keys()?.iter().all(|k| k.revoked_at.is_some()) {
        say("no API key yet: make one with `connector-host api-keys create NAME` (same --store), then send `Authorization: Bearer <key>`");
    }
    let state = Arc::new(AppState {
        platform: platform.clone(),
        limits: layers::RateLimits::new(args.rate_limit),
        tls: tls.is_some(),
    });
    let link = platform.new_panel_link()?;
    let app = api::router(state);
    say(&format!(
        "connector-host serving on {scheme}://{addr} (API {scheme}://{addr}/api/v1, callback {redirect_uri})"
    ));
    if let Some(m) = &mock {
        say(&format!("against the embedded mock Microsoft Entra ID at {}", m.base_url()));
    }
    say(&format!("panel: open {scheme}://localhost:{}/signin?token={link} (works once, for 10 minutes)", addr.port()));
    let keepalive = tokio::spawn(keepalive(platform, Duration::from_secs(args.keepalive_every.max(1))));
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
async fn keepalive(platform: Arc<Platform>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let p = platform.clone();
        match tokio::task::spawn_blocking(move || p.keepalive()).await {
            Ok(Ok(done)) => tracing::info!(refreshed = done.len(), "keep-alive"),
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
