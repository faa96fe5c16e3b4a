//! The integration platform around a connector: connections created from the panel, "Save and
//! authorize" with state, PKCE verifier and nonce from a CSPRNG, the callback, the code
//! exchange, the connection test, and from then on fresh access tokens (refreshed ahead of
//! expiry, one refresh at a time per connection, the rotated refresh token stored before the
//! new access token is handed out), with failures handled as their classification says.
//! Generic: it knows the connector only through interface v1.

pub mod callback;
pub mod crypto;
pub mod store;
mod writer;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::error::{ConnectorError, HostError};
use crate::host::ConnectorHost;
pub use store::{Record, Secrets, Status, Store};

/// A pending authorization lives this long, and is used once.
pub const PENDING_TTL_SECS: i64 = 600;
/// Access tokens are refreshed this long before they expire.
pub const REFRESH_MARGIN_SECS: i64 = 300;
/// Connections idle longer than this get a keep-alive refresh.
pub const KEEPALIVE_AFTER_SECS: i64 = 86_400;
/// Attempts for a failure classified `retry`.
pub const MAX_ATTEMPTS: u32 = 3;
/// The longest wait between attempts the platform accepts from Retry-After.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("{0}")]
    Host(#[from] HostError),
    /// The connector refused or Microsoft failed; the classification says what to do.
    #[error("{}", describe_connector_error(.0))]
    Connector(Box<ConnectorError>),
    #[error("a connection named {0:?} already exists; names must be unique")]
    NameTaken(String),
    #[error("no connection named {0:?}")]
    NotFound(String),
    #[error("{0}")]
    State(String),
    #[error("store: {0}")]
    Store(String),
    #[error("{0}")]
    Config(String),
    #[error("the connection {name:?} {status}: {remedy}")]
    Unusable { name: String, status: &'static str, remedy: String },
}

fn describe_connector_error(e: &ConnectorError) -> String {
    match (&e.field, e.remediation()) {
        (Some(f), _) => format!("{f}: {}", e.message),
        (None, Some(r)) => format!("{} ({}) {r}", e.message, e.code),
        (None, None) => format!("{} ({})", e.message, e.code),
    }
}

impl From<ConnectorError> for PlatformError {
    fn from(e: ConnectorError) -> Self {
        PlatformError::Connector(Box::new(e))
    }
}

impl PlatformError {
    /// 1 for a connector or connection problem, 2 for a usage or host problem.
    pub fn exit_code(&self) -> u8 {
        match self {
            PlatformError::Host(_) | PlatformError::Config(_) | PlatformError::Store(_) => 2,
            _ => 1,
        }
    }
}

/// The platform's clock, replaceable in tests.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
    })
}

/// `n` bytes from the OS CSPRNG, base64url.
pub fn random_token(n: usize) -> String {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).expect("the OS random source works");
    URL_SAFE_NO_PAD.encode(b)
}

fn state_hash(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

/// What "Save and authorize" gives the person: the URL to open.
#[derive(Debug, Clone)]
pub struct AuthorizationStart {
    pub url: String,
    pub state: String,
}

/// What the platform shows once connected.
#[derive(Debug, Clone)]
pub struct Connected {
    pub summary: String,
    pub test: Option<Value>,
    pub test_error: Option<ConnectorError>,
}

/// A keep-alive refresh: the connection's name and what happened.
pub type KeepaliveOutcome = (String, Result<(), String>);

/// The platform.
pub struct Platform {
    pub host: Arc<ConnectorHost>,
    pub store: Store,
    pub redirect_uri: String,
    clock: Clock,
    /// One refresh at a time per connection.
    locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    secret_keys: Vec<String>,
    /// Counts refresh requests sent (for tests and reports).
    pub refreshes: std::sync::atomic::AtomicU64,
    /// The platform's own requests with a connection's token (`api`): one pooled client, held to
    /// the connector's allowed hosts.
    api_agent: ureq::Agent,
    api_policy: crate::outbound::HostPolicy,
}

impl Platform {
    pub fn new(
        host: Arc<ConnectorHost>,
        store: Store,
        redirect_uri: &str,
        clock: Clock,
    ) -> Result<Platform, PlatformError> {
        let d = host.describe()?.map_err(PlatformError::from)?;
        let secret_keys = d["settings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["kind"] == "secret")
            .filter_map(|s| s["key"].as_str().map(str::to_string))
            .collect();
        let api_agent = crate::resolver::agent(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .timeout_global(Some(host.timeout()))
                .build(),
        );
        let api_policy = crate::outbound::HostPolicy::new(host.allowed_hosts().iter().cloned());
        Ok(Platform {
            host,
            store,
            redirect_uri: redirect_uri.to_string(),
            clock,
            locks: Mutex::new(HashMap::new()),
            secret_keys,
            refreshes: Default::default(),
            api_agent,
            api_policy,
        })
    }

    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    fn call(&self, export: &str, input: &Value) -> Result<Value, PlatformError> {
        Ok(self.host.call(export, input)??)
    }

    /// Creates a connection from the panel's settings: the connector validates them (field
    /// errors name the field), the name must be unique, secret settings are sealed.
    pub fn create(&self, settings: &Value) -> Result<Record, PlatformError> {
        // validate_settings is optional in interface v1: a connector without it is checked at sign-in.
        match self.host.call_raw("validate_settings", json!({ "settings": settings }).to_string().as_bytes()) {
            Ok(text) => {
                crate::error::parse_envelope("validate_settings", &text)??;
            }
            Err(HostError::Usage(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let name = settings["name"].as_str().unwrap_or("").trim().to_string();
        let mut public = settings.clone();
        let mut secrets = Secrets::default();
        if let Some(obj) = public.as_object_mut() {
            obj.insert("name".into(), json!(name));
            for k in &self.secret_keys {
                if let Some(v) = obj.remove(k) {
                    secrets.settings.insert(k.clone(), v);
                }
            }
        }
        let now = self.now();
        let record = Record {
            name,
            settings: public,
            status: Status::PendingAuthorization,
            remedy: Some("Click Save and authorize to sign in.".into()),
            last_error: None,
            identity: None,
            expires_at: None,
            secrets,
            generation: 0,
            created_at: now,
            updated_at: now,
            last_refresh_at: None,
        };
        self.store.insert(&record)?;
        Ok(record)
    }

    fn is_app_only(r: &Record) -> bool {
        r.settings["grant"].as_str() == Some("client_credentials")
    }

    /// "Save and authorize": a fresh state, PKCE verifier and nonce, kept (sealed) for ten
    /// minutes and usable once; the URL comes from the connector.
    pub fn begin_authorization(&self, name: &str) -> Result<AuthorizationStart, PlatformError> {
        let r = self.store.get(name)?;
        let (state, verifier, nonce) = (random_token(32), random_token(48), random_token(24));
        let out = self.call("authorize_url", &json!({"settings": r.full_settings(), "redirect_uri": self.redirect_uri, "state": state, "code_verifier": verifier, "nonce": nonce}))?;
        let now = self.now();
        self.store.expire_pending(now - PENDING_TTL_SECS)?;
        self.store.put_pending(&state_hash(&state), name, &json!({"code_verifier": verifier, "nonce": nonce}), now)?;
        Ok(AuthorizationStart { url: out["url"].as_str().unwrap_or_default().to_string(), state })
    }

    /// The redirect back from sign-in. Checks the state (known, unused, not expired), then
    /// classifies an error redirect or exchanges the code, stores the tokens and tests the
    /// connection. Nothing is stored on failure.
    pub fn complete_authorization(&self, query: &BTreeMap<String, String>) -> Result<Connected, PlatformError> {
        let state = query.get("state").ok_or_else(|| {
            PlatformError::State(
                "the sign-in answer has no state; it is not an answer to this platform's request".into(),
            )
        })?;
        let hash = state_hash(state);
        let (name, pending, created) = self.store.take_pending(&hash)?.ok_or_else(|| {
            PlatformError::State(
                "the sign-in answer's state is unknown or was already used; start again with Save and authorize".into(),
            )
        })?;
        if self.now() - created > PENDING_TTL_SECS {
            return Err(PlatformError::State(
                "the sign-in took longer than 10 minutes and expired; start again with Save and authorize".into(),
            ));
        }
        if query.contains_key("error") {
            let c = self.call(
                "classify_error",
                &json!({"phase": "authorize", "query": query, "redirect_uri": self.redirect_uri}),
            )?;
            let e = ConnectorError::from_value(&c).unwrap_or(ConnectorError {
                code: "unknown".into(),
                message: "The sign-in failed.".into(),
                field: None,
                details: c.clone(),
            });
            return Err(e.into());
        }
        let code = query
            .get("code")
            .ok_or_else(|| PlatformError::State("the sign-in answer has neither a code nor an error".into()))?;
        let mut r = self.store.get(&name)?;
        let tokens = self.call("exchange_code", &json!({"settings": r.full_settings(), "redirect_uri": self.redirect_uri, "code": code, "code_verifier": pending["code_verifier"], "nonce": pending["nonce"], "now": self.now()}))?;
        self.apply_tokens(&mut r, &tokens, true);
        self.store.update(&r)?;
        self.test(&name)
    }

    /// Writes a token set into the record: a new refresh token replaces the old one.
    fn apply_tokens(&self, r: &mut Record, t: &Value, initial: bool) {
        let now = self.now();
        r.secrets.access_token = t["access_token"].as_str().map(str::to_string);
        if let Some(rt) = t["refresh_token"].as_str() {
            r.secrets.refresh_token = Some(rt.to_string());
        }
        r.expires_at = t["expires_at"].as_i64();
        if let Some(id) = t.get("identity").filter(|v| v.is_object()) {
            r.identity = Some(id.clone());
        }
        r.status = Status::Connected;
        r.remedy = None;
        r.last_error = None;
        r.generation += 1;
        r.updated_at = now;
        if !initial {
            r.last_refresh_at = Some(now);
        } else {
            r.last_refresh_at.get_or_insert(now);
        }
    }

    /// Tests the connection (Graph `/me` or `/organization`) with a fresh token.
    pub fn test(&self, name: &str) -> Result<Connected, PlatformError> {
        let token = self.access_token(name)?;
        let r = self.store.get(name)?;
        match self.host.call("test_connection", &json!({"settings": r.full_settings(), "access_token": token}))? {
            Ok(t) => Ok(Connected {
                summary: t["summary"].as_str().unwrap_or("Connected.").to_string(),
                test: Some(t),
                test_error: None,
            }),
            Err(e) => {
                self.mark_failure(name, &e)?;
                Err(e.into())
            }
        }
    }

    fn lock_for(&self, name: &str) -> Arc<Mutex<()>> {
        self.locks.lock().unwrap_or_else(|e| e.into_inner()).entry(name.to_string()).or_default().clone()
    }

    fn usable(r: &Record) -> Result<(), PlatformError> {
        match r.status {
            Status::Connected => Ok(()),
            s => Err(PlatformError::Unusable {
                name: r.name.clone(),
                status: match s {
                    Status::PendingAuthorization => "is waiting for sign-in",
                    Status::NeedsReauthorization => "needs someone to sign in again",
                    _ => "needs attention",
                },
                remedy: r.remedy.clone().unwrap_or_default(),
            }),
        }
    }

    /// A fresh access token: refreshed when it expires within the margin, one refresh at a
    /// time per connection (the others wait and use its result).
    pub fn access_token(&self, name: &str) -> Result<String, PlatformError> {
        let r = self.store.get(name)?;
        Self::usable(&r)?;
        if let Some(at) = self.fresh(&r) {
            return Ok(at);
        }
        let lock = self.lock_for(name);
        let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        // Another caller may have refreshed while this one waited.
        let r = self.store.get(name)?;
        Self::usable(&r)?;
        match self.fresh(&r) {
            Some(at) => Ok(at),
            None => self.refresh_locked(r),
        }
    }

    /// The stored access token if it outlives the refresh margin.
    fn fresh(&self, r: &Record) -> Option<String> {
        let exp = r.expires_at?;
        r.secrets.access_token.clone().filter(|_| exp - REFRESH_MARGIN_SECS > self.now())
    }

    /// Refreshes now (the `connections refresh` command and keep-alive).
    pub fn refresh(&self, name: &str) -> Result<Record, PlatformError> {
        let lock = self.lock_for(name);
        let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        let r = self.store.get(name)?;
        if r.status == Status::PendingAuthorization && r.secrets.refresh_token.is_none() && !Self::is_app_only(&r) {
            return Err(PlatformError::Unusable {
                name: name.into(),
                status: "is waiting for sign-in",
                remedy: "Click Save and authorize to sign in.".into(),
            });
        }
        self.refresh_locked(r)?;
        self.store.get(name)
    }

    fn refresh_locked(&self, mut r: Record) -> Result<String, PlatformError> {
        let app_only = Self::is_app_only(&r);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let input = if app_only {
                json!({"settings": r.full_settings(), "now": self.now()})
            } else {
                json!({"settings": r.full_settings(), "refresh_token": r.secrets.refresh_token, "now": self.now()})
            };
            self.refreshes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let export = if app_only { "client_credentials" } else { "refresh_token" };
            match self.host.call(export, &input)? {
                Ok(t) => {
                    // The rotated refresh token is stored durably before the new access token is used.
                    self.apply_tokens(&mut r, &t, false);
                    self.store.update(&r)?;
                    tracing::info!(connection = %r.name, generation = r.generation, "token refreshed");
                    return Ok(r.secrets.access_token.clone().unwrap_or_default());
                }
                Err(e) if e.action() == Some("retry") && attempt < MAX_ATTEMPTS => {
                    let wait = backoff(attempt, e.details["retry_after_seconds"].as_f64());
                    tracing::info!(connection = %r.name, attempt, wait_ms = wait.as_millis() as u64, code = %e.code, "refresh failed; retrying");
                    std::thread::sleep(wait);
                }
                Err(e) => {
                    self.mark_failure(&r.name, &e)?;
                    return Err(e.into());
                }
            }
        }
    }

    /// Records a classified failure: `reauthorize` marks the connection as needing sign-in
    /// (tokens kept until replaced); configuration and admin problems mark it with the remedy;
    /// transient ones leave it connected.
    pub fn mark_failure(&self, name: &str, e: &ConnectorError) -> Result<(), PlatformError> {
        let mut r = self.store.get(name)?;
        let status = match e.action() {
            Some("reauthorize") => Status::NeedsReauthorization,
            Some("fix_configuration" | "grant_admin_consent" | "assign_role" | "contact_admin") => {
                Status::NeedsAttention
            }
            _ => r.status,
        };
        r.status = status;
        if status != Status::Connected {
            r.remedy = Some(e.remediation().unwrap_or(&e.message).to_string());
        }
        r.last_error = Some(e.details.clone());
        r.updated_at = self.now();
        self.store.update(&r)
    }

    /// Refreshes every connected connection not refreshed for a day, so refresh tokens do not
    /// expire through inactivity (AADSTS700082). Returns (name, outcome) per connection.
    pub fn keepalive(&self) -> Result<Vec<KeepaliveOutcome>, PlatformError> {
        let mut out = Vec::new();
        for name in self.store.names()? {
            let r = self.store.get(&name)?;
            let idle_since = r.last_refresh_at.unwrap_or(r.updated_at);
            if r.status != Status::Connected || self.now() - idle_since < KEEPALIVE_AFTER_SECS {
                continue;
            }
            let res = self.refresh(&name).map(|_| ()).map_err(|e| e.to_string());
            out.push((name, res));
        }
        Ok(out)
    }

    /// A request to the service with the connection's token, retried as classified (the
    /// platform's own use of a connection, as an import or export step would).
    pub fn api(&self, name: &str, method: &str, url: &str, body: Option<&Value>) -> Result<Value, PlatformError> {
        let host = url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
        if !self.api_policy.allows(&host) {
            return Err(PlatformError::Config(format!("host {host} is not in the connector's allowed hosts")));
        }
        let mut refreshed = false;
        for attempt in 1..=MAX_ATTEMPTS {
            let token = self.access_token(name)?;
            let req = ureq::http::Request::builder()
                .method(method)
                .uri(url)
                .header("Authorization", format!("Bearer {token}"))
                .header("Content-Type", "application/json");
            let req = req
                .body(body.map(|b| b.to_string()).unwrap_or_default().into_bytes())
                .map_err(|e| PlatformError::Config(e.to_string()))?;
            let (status, headers, text) = match self.api_agent.run(req) {
                Ok(mut resp) => {
                    let headers: serde_json::Map<String, Value> = resp
                        .headers()
                        .iter()
                        .map(|(k, v)| (k.as_str().to_string(), json!(v.to_str().unwrap_or(""))))
                        .collect();
                    let status = resp.status().as_u16();
                    (status, headers, resp.body_mut().with_config().limit(4 << 20).read_to_string().unwrap_or_default())
                }
                Err(e) => {
                    let c = self.call(
                        "classify_error",
                        &json!({"phase": "transport", "transport_error": "io", "body": e.to_string()}),
                    )?;
                    return Err(ConnectorError::from_value(&c)
                        .map(PlatformError::from)
                        .unwrap_or(PlatformError::Config(e.to_string())));
                }
            };
            if (200..300).contains(&status) {
                return Ok(if text.is_empty() {
                    json!({"status": status})
                } else {
                    serde_json::from_str(&text).unwrap_or(json!({"status": status, "body": text}))
                });
            }
            let c = self.call(
                "classify_error",
                &json!({"phase": "graph", "status": status, "headers": headers, "body": text, "now": self.now()}),
            )?;
            let e = ConnectorError::from_value(&c).unwrap_or(ConnectorError {
                code: "unknown".into(),
                message: "The request failed.".into(),
                field: None,
                details: c.clone(),
            });
            match e.action() {
                Some("retry") if attempt < MAX_ATTEMPTS => {
                    std::thread::sleep(backoff(attempt, c["retry_after_seconds"].as_f64()))
                }
                Some("refresh_token") if !refreshed => {
                    refreshed = true;
                    self.refresh(name)?;
                }
                _ => return Err(e.into()),
            }
        }
        Err(PlatformError::State("the request kept failing".into()))
    }
}

/// Retry-After when the service gave one (capped), else exponential backoff with jitter.
pub fn backoff(attempt: u32, retry_after: Option<f64>) -> Duration {
    if let Some(s) = retry_after.filter(|s| s.is_finite() && *s >= 0.0) {
        return Duration::from_secs_f64(s).min(MAX_WAIT);
    }
    let base = 500u64 << attempt.min(6);
    let mut j = [0u8; 2];
    getrandom::fill(&mut j).expect("the OS random source works");
    let jitter = u16::from_le_bytes(j) as u64 % (base / 2 + 1);
    Duration::from_millis(base / 2 + jitter).min(MAX_WAIT)
}
