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
    /// Listen on an address other than loopback (put TLS in front of it: the API carries tokens).
    #[arg(long)]
    pub allow_remote: bool,
    /// Run against the embedded mock Microsoft Entra ID (as `demo` does).
    #[arg(long)]
    pub mock: bool,
    /// Keep-alive runs this often, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub keepalive_every: u64,
    /// Requests per second allowed per API key and per client address (bursts of twice that).
    #[arg(long, default_value_t = 200)]
    pub rate_limit: u32,
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
    /// The panel's sign-in links and sessions.
    pub sessions: panel::sessions::Sessions,
}

pub fn run(args: ServeArgs) -> Result<u8, CliError> {
    if !args.listen.ip().is_loopback() && !args.allow_remote {
        return Err(CliError::Other(format!(
            "--listen {} is not a loopback address; add --allow-remote to serve other machines (and put TLS in front)",
            args.listen
        )));
    }
    if !args.listen.ip().is_loopback() {
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
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| CliError::Other(format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener.local_addr().map_err(|e| CliError::Other(e.to_string()))?;
    let redirect_uri = format!("http://localhost:{}/callback", addr.port());
    let mock = if args.mock {
        let mut config = mock_entra::MockConfig { redirect_uris: vec![redirect_uri.clone()], ..Default::default() };
        if let Some(lifetime) = args.mock_token_lifetime {
            config.access_token_lifetime = lifetime;
        }
        Some(
            mock_entra::MockEntra::start_with(config)
                .map_err(|e| CliError::Other(format!("cannot start the mock: {e}")))?,
        )
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
        sessions: Default::default(),
    });
    let link = state.sessions.new_link();
    let app = api::router(state);
    say(&format!("connector-host serving on http://{addr} (API http://{addr}/api/v1, callback {redirect_uri})"));
    if let Some(m) = &mock {
        say(&format!("against the embedded mock Microsoft Entra ID at {}", m.base_url()));
    }
    say(&format!("panel: open http://localhost:{}/signin?token={link} (works once, for 10 minutes)", addr.port()));
    let keepalive = tokio::spawn(keepalive(platform, Duration::from_secs(args.keepalive_every.max(1))));
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|e| CliError::Other(format!("the server stopped: {e}")))?;
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
