//! `connect`, `connections ...` and `keepalive`: the platform's connection commands.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use host_harness::platform::callback::CallbackListener;
use host_harness::platform::{system_clock, Platform, Record, Status};
use host_harness::ConnectorHost;
use mock_entra::MockEntra;

use super::CliError;

pub const STORE_ENV: &str = "CONNECTOR_HOST_STORE";

#[derive(Args, Clone)]
pub struct Common {
    /// The connector's manifest (found without it: see `connector-host --help`).
    #[arg(long, global = true)]
    pub manifest: Option<PathBuf>,
    /// The connection store: a SQLite file (its key file beside it), or a PostgreSQL URL
    /// (postgres://USER@HOST:PORT/DB) shared by several replicas, which all need the same
    /// CONNECTOR_HOST_KEY. Without CONNECTOR_HOST_KEY a key file is used (beside the file, or
    /// postgres.key beside the default store).
    #[arg(long, global = true, env = STORE_ENV)]
    pub store: Option<PathBuf>,
    /// Talk to a running `connector-host mock-entra` at this URL instead of Microsoft.
    #[arg(long, global = true)]
    pub mock_url: Option<String>,
    /// Print JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum ConnectionsCommand {
    /// Every connection with its status.
    List,
    /// One connection: settings (secrets never shown), status, last error, token expiry.
    Show { name: String },
    /// Test the connection against the service.
    Test { name: String },
    /// Refresh the connection's tokens now.
    Refresh { name: String },
    /// Delete the connection and its tokens.
    Delete { name: String },
    /// A fresh access token; printed only with --reveal.
    Token {
        name: String,
        #[arg(long)]
        reveal: bool,
    },
}

#[derive(Args)]
pub struct ConnectArgs {
    /// Name your connection.
    #[arg(long)]
    pub name: Option<String>,
    /// Scopes, comma or space separated (repeatable).
    #[arg(long, num_args = 1..)]
    pub scopes: Vec<String>,
    #[arg(long)]
    pub tenant: Option<String>,
    #[arg(long)]
    pub cloud: Option<String>,
    /// authorization_code (default) or client_credentials.
    #[arg(long)]
    pub grant: Option<String>,
    #[arg(long)]
    pub client_id: Option<String>,
    /// Name of the environment variable holding your app's client secret.
    #[arg(long)]
    pub client_secret_env: Option<String>,
    /// Your app's certificate and private key as a PKCS#12 file (.pfx, .p12), in place of a
    /// client secret; its password in the environment variable --pfx-password-env names.
    #[arg(long, requires = "client_id")]
    pub client_certificate_pfx: Option<PathBuf>,
    /// Name of the environment variable holding the PKCS#12 file's password.
    #[arg(long, requires = "client_certificate_pfx")]
    pub pfx_password_env: Option<String>,
    #[arg(long)]
    pub prompt: Option<String>,
    /// Settings as a JSON file (flags override its values).
    #[arg(long)]
    pub settings_file: Option<PathBuf>,
    /// Ask for the settings at a prompt.
    #[arg(long)]
    pub interactive: bool,
    /// Sign in against an embedded mock Entra ID (consent is accepted automatically).
    #[arg(long)]
    pub mock: bool,
    /// Port of the local callback listener (the redirect URI is http://localhost:PORT/callback).
    #[arg(long, default_value_t = 8400)]
    pub port: u16,
    /// How long to wait for the sign-in, in seconds.
    #[arg(long, default_value_t = 600)]
    pub wait: u64,
    /// Sign in with a device code instead of a browser on this machine: open the address shown
    /// on any device and enter the code (the app must allow public client flows).
    #[arg(long)]
    pub device: bool,
    #[command(flatten)]
    pub common: Common,
}

/// The store `--store` names: a SQLite file, or a `postgres://` URL (sealed with the key from
/// CONNECTOR_HOST_KEY or, without it, the key file beside the default store).
pub fn open_store(common: &Common) -> Result<std::sync::Arc<dyn host_harness::platform::Store>, CliError> {
    let location = common.store.clone().unwrap_or_else(default_store);
    let key_file = default_store().with_file_name("postgres.key");
    Ok(host_harness::platform::open_store(&location, &key_file)?)
}

pub fn default_store() -> PathBuf {
    let base = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    base.join(".local/share/connector-host/connections.db")
}

/// The host for real Microsoft, or for a mock at `mock_url`.
fn load_host(common: &Common, mock_url: Option<&str>, max_instances: Option<u32>) -> Result<ConnectorHost, CliError> {
    let manifest = super::locate::manifest(common.manifest.as_deref())?;
    let mut options = mock_url.map(crate::mock_idp::load_options).unwrap_or_default();
    options.max_instances = max_instances;
    Ok(ConnectorHost::load(&manifest, &options)?)
}

/// Instances of the connector for `concurrency` refreshes at once: each holds its instance
/// through its token request; 32 more for everything else (the API, the panel).
pub fn instances_for(concurrency: usize) -> u32 {
    (concurrency as u32).saturating_add(32).min(host_harness::host::MAX_INSTANCES_LIMIT)
}

pub fn platform(common: &Common, mock_url: Option<&str>, redirect_uri: &str) -> Result<Platform, CliError> {
    platform_with(common, mock_url, redirect_uri, None)
}

fn platform_with(
    common: &Common,
    mock_url: Option<&str>,
    redirect_uri: &str,
    max_instances: Option<u32>,
) -> Result<Platform, CliError> {
    let host = Arc::new(load_host(common, mock_url.or(common.mock_url.as_deref()), max_instances)?);
    Ok(Platform::on(host, open_store(common)?, redirect_uri, system_clock())?)
}

fn public_view(p: &Platform, r: &Record, now: i64) -> Value {
    let certificates: Vec<Value> = p
        .certificates(r)
        .iter()
        .map(|c| json!({"subject": c.subject, "thumbprint": c.sha1_thumbprint, "not_after": c.not_after}))
        .collect();
    json!({
        "name": r.name,
        "status": r.status.as_str(),
        "remedy": r.remedy,
        "settings": r.settings,
        "identity": r.identity,
        "expires_at": r.expires_at,
        "expires_in": r.expires_at.map(|e| e - now),
        "has_refresh_token": r.secrets.refresh_token.is_some(),
        "token_sets": r.generation,
        "last_error": r.last_error.as_ref().map(|e| json!({"code": e.code(), "action": e.action(), "message": e.message()})),
        "created_at": r.created_at,
        "last_refresh_at": r.last_refresh_at,
        "certificates": certificates,
        "warnings": p.certificate_warning(r).into_iter().collect::<Vec<_>>(),
    })
}

/// The connections as a table.
pub fn connection_table(p: &Platform) -> Result<String, CliError> {
    let mut out = format!("  {:<24} {:<22} {:<40} {}\n", "NAME", "STATUS", "SIGNED IN AS", "TOKEN");
    for name in p.store.names().map_err(CliError::from)? {
        let r = p.store.get(&name).map_err(CliError::from)?;
        let who =
            r.identity.as_ref().and_then(|i| i.username.as_deref().or(i.app_id.as_deref())).unwrap_or("-").to_string();
        let token = match r.expires_at {
            Some(e) if e > p.now() => format!("valid {} min", (e - p.now()) / 60),
            Some(_) => "expired".to_string(),
            None => "-".to_string(),
        };
        out.push_str(&format!("  {:<24} {:<22} {:<40} {}\n", r.name, r.status.as_str(), who, token));
        if let Some(rem) = r.remedy.as_deref().filter(|_| r.status != Status::Connected) {
            out.push_str(&format!("  {:<24} {rem}\n", ""));
        }
        if let Some(warning) = p.certificate_warning(&r) {
            out.push_str(&format!("  {:<24} warning: {warning}\n", ""));
        }
    }
    Ok(out)
}

pub fn run(command: ConnectionsCommand, common: Common) -> Result<u8, CliError> {
    let p = platform(&common, None, "http://localhost:8400/callback")?;
    match command {
        ConnectionsCommand::List => {
            if common.json {
                let all: Result<Vec<Value>, CliError> =
                    p.store.names()?.iter().map(|n| Ok(public_view(&p, &p.store.get(n)?, p.now()))).collect();
                println!("{}", Value::Array(all?));
            } else {
                print!("{}", connection_table(&p)?);
            }
        }
        ConnectionsCommand::Show { name } => {
            let v = public_view(&p, &p.store.get(&name)?, p.now());
            println!(
                "{}",
                if common.json { v.to_string() } else { serde_json::to_string_pretty(&v).unwrap_or_default() }
            );
        }
        ConnectionsCommand::Test { name } => {
            let c = p.test(&name)?;
            if common.json {
                println!("{}", c.test.map(|t| serde_json::to_value(t).unwrap_or_default()).unwrap_or(Value::Null));
            } else {
                println!("{}", c.summary);
            }
        }
        ConnectionsCommand::Refresh { name } => {
            let r = p.refresh(&name)?;
            if common.json {
                println!("{}", public_view(&p, &r, p.now()));
            } else {
                println!(
                    "Refreshed {name}: token set #{}, valid {} min.",
                    r.generation,
                    (r.expires_at.unwrap_or(0) - p.now()) / 60
                );
            }
        }
        ConnectionsCommand::Delete { name } => {
            p.store.delete(&name)?;
            println!("Deleted {name}.");
        }
        ConnectionsCommand::Token { name, reveal } => {
            let token = p.access_token(&name)?;
            let r = p.store.get(&name)?;
            if reveal {
                println!("{token}");
            } else if common.json {
                println!("{}", json!({"name": name, "expires_at": r.expires_at, "length": token.len()}));
            } else {
                println!(
                    "{name}: a fresh access token ({} characters) valid {} min; add --reveal to print it.",
                    token.len(),
                    (r.expires_at.unwrap_or(0) - p.now()) / 60
                );
            }
        }
    }
    Ok(0)
}

pub fn keepalive(common: Common, concurrency: usize) -> Result<u8, CliError> {
    use std::io::Write;
    let concurrency = concurrency.max(1);
    let p = platform_with(&common, None, "http://localhost:8400/callback", Some(instances_for(concurrency)))?;
    let options = host_harness::platform::KeepaliveOptions { concurrency, ..Default::default() };
    // Each outcome is printed as it comes (with --json, as one array written element by
    // element), so a run over many connections keeps none of them in memory.
    let out = std::io::stdout();
    let first = std::sync::atomic::AtomicBool::new(true);
    if common.json {
        let _ = writeln!(out.lock(), "[");
    }
    let run = p.keepalive_each(options, &|n, r| {
        let mut out = out.lock();
        let _ = if common.json {
            let comma = if first.swap(false, std::sync::atomic::Ordering::Relaxed) { "" } else { "," };
            writeln!(out, "{comma}{}", json!({"name": n, "ok": r.is_ok(), "error": r.as_ref().err()}))
        } else {
            match r {
                Ok(()) => writeln!(out, "{n}: refreshed"),
                Err(e) => writeln!(out, "{n}: {e}"),
            }
        };
    });
    if common.json {
        let _ = writeln!(out.lock(), "]");
    }
    let counts = run?;
    if !common.json && counts.refreshed + counts.failed == 0 {
        println!("No connection is due for keep-alive.");
    }
    Ok(if counts.failed > 0 { 1 } else { 0 })
}

fn prompt_line(label: &str) -> Result<String, CliError> {
    use std::io::Write;
    eprint!("{label}: ");
    let _ = std::io::stderr().flush();
    let mut s = String::new();
    std::io::stdin().read_line(&mut s).map_err(|e| CliError::Other(format!("cannot read the answer: {e}")))?;
    Ok(s.trim().to_string())
}

fn settings_from(args: &ConnectArgs) -> Result<Value, CliError> {
    let mut s: Value = match &args.settings_file {
        Some(f) => serde_json::from_str(
            &std::fs::read_to_string(f).map_err(|e| CliError::Other(format!("cannot read {}: {e}", f.display())))?,
        )
        .map_err(|e| CliError::Other(format!("{} is not JSON: {e}", f.display())))?,
        None => json!({}),
    };
    let mut name = args.name.clone();
    let mut scopes: Vec<String> = args
        .scopes
        .iter()
        .flat_map(|s| s.split([',', ' ']).filter(|x| !x.is_empty()).map(str::to_string).collect::<Vec<_>>())
        .collect();
    if args.interactive {
        if name.is_none() {
            name = Some(prompt_line("Name your connection *")?);
        }
        if scopes.is_empty() {
            scopes = prompt_line("Scopes * (space separated)")?.split_whitespace().map(str::to_string).collect();
        }
    }
    let obj = s.as_object_mut().ok_or_else(|| CliError::Other("the settings file must hold a JSON object".into()))?;
    if let Some(n) = name {
        obj.insert("name".into(), json!(n));
    }
    if !scopes.is_empty() {
        obj.insert("scopes".into(), json!(scopes));
    }
    for (k, v) in [
        ("tenant", &args.tenant),
        ("cloud", &args.cloud),
        ("grant", &args.grant),
        ("client_id", &args.client_id),
        ("prompt", &args.prompt),
    ] {
        if let Some(v) = v {
            obj.insert(k.into(), json!(v));
        }
    }
    if let Some(var) = &args.client_secret_env {
        let v =
            std::env::var(var).map_err(|_| CliError::Other(format!("the environment variable {var} is not set")))?;
        obj.insert("client_secret".into(), json!(v));
    }
    if let Some(path) = &args.client_certificate_pfx {
        use base64::Engine;
        let bytes = std::fs::read(path)
            .map_err(|e| CliError::Other(format!("cannot read --client-certificate-pfx {}: {e}", path.display())))?;
        // The platform opens the bundle when it saves the connection (and keeps no password).
        obj.insert("client_private_key".into(), json!(base64::engine::general_purpose::STANDARD.encode(bytes)));
        if let Some(var) = &args.pfx_password_env {
            let v = std::env::var(var)
                .map_err(|_| CliError::Other(format!("the environment variable {var} is not set")))?;
            obj.insert(host_harness::platform::credentials::bundle_password_key("client_private_key"), json!(v));
        }
    }
    Ok(s)
}

/// Waits between device code polls in one-second steps, showing the time left.
struct Countdown {
    show: bool,
}

impl host_harness::platform::device::Waiter for Countdown {
    fn wait(&mut self, wait: Duration, seconds_left: i64) -> bool {
        for step in 0..wait.as_secs().max(1) {
            if self.show {
                use std::io::Write;
                let left = (seconds_left - step as i64).max(0);
                eprint!("\rWaiting for the sign-in: {}:{:02} left ", left / 60, left % 60);
                let _ = std::io::stderr().flush();
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        true
    }
}

/// `connect --device`: the code and the address printed, the platform polling until the person
/// signed in on another device (Ctrl-C stops waiting).
fn connect_with_device_code(
    args: &ConnectArgs,
    settings: &Value,
    name: &str,
    mock_url: Option<&str>,
) -> Result<u8, CliError> {
    let p = platform(&args.common, mock_url, &format!("http://localhost:{}/callback", args.port))?;
    if settings["grant"].as_str() == Some("client_credentials") {
        return Err(CliError::Other(
            "--device is for a person signing in; app-only connections need no sign-in".into(),
        ));
    }
    p.create(settings)?;
    println!("Created connection {name:?}.");
    let code = p.device_code_start(name)?;
    println!("{}", code.message);
    let automatic = args.mock || args.common.mock_url.is_some();
    if automatic {
        mock_entra::browser::enter_device_code(&code.verification_uri, &code.user_code, true)
            .map_err(CliError::Other)?;
    }
    p.device_code_wait(name, &code, &mut Countdown { show: !automatic })?;
    if !automatic {
        eprintln!();
    }
    println!("{}", p.test(name)?.summary);
    Ok(0)
}

pub fn connect(args: ConnectArgs) -> Result<u8, CliError> {
    let settings = settings_from(&args)?;
    let name = settings["name"].as_str().unwrap_or("").trim().to_string();
    let embedded = if args.mock && args.common.mock_url.is_none() {
        Some(MockEntra::start().map_err(|e| CliError::Other(format!("cannot start the mock: {e}")))?)
    } else {
        None
    };
    let mock_url = embedded.as_ref().map(MockEntra::base_url);
    if args.device {
        return connect_with_device_code(&args, &settings, &name, mock_url.as_deref());
    }
    let listener = CallbackListener::bind(args.port).map_err(|e| {
        CliError::Other(format!("cannot listen on localhost:{} for the sign-in callback: {e}", args.port))
    })?;
    let p = platform(&args.common, mock_url.as_deref(), &listener.redirect_uri())?;
    p.create(&settings)?;
    println!("Created connection {name:?}.");
    if settings["grant"].as_str() == Some("client_credentials") {
        p.refresh(&name)?;
        println!("{}", p.test(&name)?.summary);
        return Ok(0);
    }
    let start = p.begin_authorization(&name)?;
    let automatic = args.mock || args.common.mock_url.is_some();
    if automatic {
        let location = mock_entra::browser::sign_in_redirect(&start.url, None, true).map_err(CliError::Other)?;
        mock_entra::browser::follow(&location).map_err(CliError::Other)?;
    } else {
        println!(
            "Open this URL to sign in with Microsoft, review the permissions and click Accept:\n\n  {}\n",
            start.url
        );
    }
    let query: BTreeMap<String, String> = listener
        .wait(Duration::from_secs(args.wait), |left| {
            if !automatic {
                use std::io::Write;
                eprint!("\rWaiting for the sign-in: {}:{:02} left ", left / 60, left % 60);
                let _ = std::io::stderr().flush();
            }
        })
        .ok_or_else(|| CliError::Other(format!("no sign-in arrived within {} s; run connect again", args.wait)))?;
    if !automatic {
        eprintln!();
    }
    let c = p.complete_authorization(&query)?;
    println!("{}", c.summary);
    Ok(0)
}
