//! A mock of Microsoft Entra ID and Microsoft Graph on loopback, strict like the real service.
//!
//! It speaks real HTTP on 127.0.0.1, checks everything it receives (client credentials, single
//! use and life of codes, redirect URIs, PKCE S256, scopes, tenants), issues JWT-shaped tokens,
//! rotates refresh tokens, serves a Graph surface, can have faults scripted per endpoint and per
//! call, and records every request. Shapes follow the protocol reference (error bodies with
//! `error_codes`, `trace_id`, `correlation_id`, `timestamp`; Graph's `error.innerError`).

// The handlers return `Result<_, Response>` to answer early; one Response per request.
#![allow(clippy::result_large_err)]

pub mod aadsts;
mod admin_consent;
pub mod assertion;
mod authorize;
pub mod browser;
pub mod device;
mod discovery;
pub mod federated;
mod graph;
pub mod model;
mod oauth;
mod respond;
mod script;
mod token;
mod token_jwt;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;

pub use model::*;
pub use script::{FaultScript, ScriptError};

/// Which part of the service a request went to (for faults and the request log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Discovery,
    Authorize,
    Token,
    AdminConsent,
    Graph,
    DeviceCode,
    DeviceLogin,
    Other,
}

impl Endpoint {
    /// The endpoint's word (as fault scripts and the admin path name it).
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Discovery => "discovery",
            Endpoint::Authorize => "authorize",
            Endpoint::Token => "token",
            Endpoint::AdminConsent => "adminconsent",
            Endpoint::Graph => "graph",
            Endpoint::DeviceCode => "devicecode",
            Endpoint::DeviceLogin => "devicelogin",
            Endpoint::Other => "other",
        }
    }
}

/// A failure the mock plays instead of (or before) its normal answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// This status with the endpoint's error body, and `Retry-After` if given (429, 503, 504...).
    Status { status: u16, retry_after: Option<String> },
    /// Wait this long, then answer normally.
    Slow { delay_ms: u64 },
    /// Close the connection without a complete answer.
    Drop,
    /// An HTML error page with this status.
    Html { status: u16 },
    /// JSON cut in the middle, with this status.
    TruncatedJson { status: u16 },
    /// A body of this many bytes with status 200.
    HugeBody { bytes: usize },
    /// 302 to this location.
    Redirect { location: String },
    /// invalid_grant AADSTS50173: the refresh token was revoked.
    RevokedRefreshToken,
    /// invalid_grant AADSTS700082: the refresh token expired through inactivity.
    InactiveRefreshToken,
    /// 401 invalid_client AADSTS7000222: the client secret expired.
    ClientSecretExpired,
    /// invalid_grant AADSTS65001: consent required.
    ConsentRequired,
    /// invalid_grant AADSTS50076 (suberror basic_action): MFA required.
    MfaRequired,
    /// invalid_grant AADSTS53003: blocked by Conditional Access.
    BlockedByConditionalAccess,
    /// Graph 401 with a CAE claims challenge in `WWW-Authenticate`.
    ClaimsChallenge,
}

/// A deliberately wrong id_token, for testing the client's checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTokenTamper {
    /// `aud` is another app.
    Audience,
    /// `iss` is another host.
    Issuer,
    /// `tid` (and `iss`) name another tenant.
    Tenant,
    /// `nonce` differs from the one sent.
    Nonce,
    /// `exp` is an hour ago.
    Expired,
}

/// Which calls of an endpoint a fault applies to, counted from when it is scripted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calls {
    /// The next `n` calls.
    Next(u32),
    /// Only the `k`-th call from now (1-based).
    Nth(u32),
    /// Every call until cleared.
    Always,
}

#[derive(Debug, Clone)]
struct ScriptedFault {
    endpoint: Endpoint,
    skip: u32,
    remaining: Option<u32>,
    fault: Fault,
}

/// One request as the mock received it.
#[derive(Clone, serde::Serialize)]
pub struct RecordedRequest {
    pub endpoint: Endpoint,
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub form: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
    pub status: u16,
    pub fault: Option<String>,
}

impl std::fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordedRequest")
            .field("endpoint", &self.endpoint)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// How to set the mock up.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// Redirect URIs registered on the test apps.
    pub redirect_uris: Vec<String>,
    /// Access token lifetime in seconds.
    pub access_token_lifetime: i64,
    /// Every answer waits this long first, as the real token endpoint takes its time.
    pub latency_ms: u64,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            port: 0,
            redirect_uris: vec![
                "http://localhost/callback".into(),
                "https://platform.example.com/oauth/callback".into(),
            ],
            access_token_lifetime: 3600,
            latency_ms: 0,
        }
    }
}

pub(crate) struct State {
    pub base_url: String,
    pub tenants: Vec<Tenant>,
    pub apps: Vec<App>,
    pub users: Vec<User>,
    pub codes: HashMap<String, CodeGrant>,
    pub refresh: HashMap<String, RefreshGrant>,
    /// Device codes handed out, by device code.
    pub device_codes: HashMap<String, device::DeviceGrant>,
    pub access: HashMap<String, AccessGrant>,
    pub pending: HashMap<String, PendingAuthorize>,
    /// Refresh tokens in the order they were issued.
    pub issued_refresh_tokens: Vec<String>,
    pub access_token_lifetime: i64,
    pub clock_offset: i64,
    pub default_user: String,
    pub tamper: Option<IdTokenTamper>,
    faults: Vec<ScriptedFault>,
    log: Vec<RecordedRequest>,
    /// Requests per endpoint, kept however long the log grows.
    counts: BTreeMap<&'static str, u64>,
    latency: std::time::Duration,
    /// Client assertion ids (`jti`) seen: each is accepted once.
    pub assertion_ids: std::collections::HashSet<String>,
    /// Access tokens issued so far (the next one's serial).
    pub access_serial: u64,
    /// Per user or app: CAE tokens issued before this serial get a claims challenge at Graph,
    /// with the time of the event as the `nbf` the new token must meet.
    pub cae_events: HashMap<String, (u64, i64)>,
}

impl State {
    pub fn now(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
            + self.clock_offset
    }

    /// Resolves a tenant path segment (GUID, domain, organizations, common).
    pub fn tenant(&self, segment: &str) -> Option<&Tenant> {
        let s = segment.to_ascii_lowercase();
        self.tenants.iter().find(|t| t.id == s || t.domain == s)
    }

    pub fn app(&self, client_id: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.client_id.eq_ignore_ascii_case(client_id))
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// The fault for this call of `endpoint`: every scripted fault counts the call (so `Nth(k)`
    /// means the k-th call from when it was scripted); of those due, the oldest plays.
    fn take_fault(&mut self, endpoint: Endpoint) -> Option<Fault> {
        let mut due = None;
        for (i, f) in self.faults.iter_mut().enumerate().filter(|(_, f)| f.endpoint == endpoint) {
            if f.skip > 0 {
                f.skip -= 1;
            } else if due.is_none() {
                due = Some(i);
            }
        }
        let i = due?;
        let fault = self.faults[i].fault.clone();
        if let Some(r) = &mut self.faults[i].remaining {
            *r -= 1;
            if *r == 0 {
                self.faults.remove(i);
            }
        }
        Some(fault)
    }
}

/// What a handler is given.
pub(crate) struct Incoming {
    pub method: Method,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub form: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
    pub raw_body: Bytes,
}

/// A running mock; stops when dropped.
pub struct MockEntra {
    state: Arc<Mutex<State>>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MockEntra {
    /// Starts on 127.0.0.1 with the default directory.
    pub fn start() -> std::io::Result<MockEntra> {
        Self::start_with(MockConfig::default())
    }

    pub fn start_with(config: MockConfig) -> std::io::Result<MockEntra> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", config.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://127.0.0.1:{}", addr.port());
        let (tenants, apps, users) = default_directory(&config.redirect_uris);
        let state = Arc::new(Mutex::new(State {
            base_url,
            tenants,
            apps,
            users,
            codes: HashMap::new(),
            refresh: HashMap::new(),
            device_codes: HashMap::new(),
            access: HashMap::new(),
            pending: HashMap::new(),
            issued_refresh_tokens: Vec::new(),
            access_token_lifetime: config.access_token_lifetime,
            clock_offset: 0,
            default_user: TEST_USER_ID.into(),
            tamper: None,
            faults: Vec::new(),
            log: Vec::new(),
            counts: BTreeMap::new(),
            latency: std::time::Duration::from_millis(config.latency_ms),
            assertion_ids: Default::default(),
            access_serial: 0,
            cae_events: HashMap::new(),
        }));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        let thread = std::thread::Builder::new().name("mock-entra".into()).spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app =
                    axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                        let st = st.clone();
                        async move { dispatch(st, method, uri, headers, body).await }
                    });
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = rx.await;
                    })
                    .await;
            });
        })?;
        Ok(MockEntra { state, addr, shutdown: Some(tx), thread: Some(thread) })
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut s)
    }

    /// Plays `fault` on the given calls of `endpoint`.
    pub fn script(&self, endpoint: Endpoint, calls: Calls, fault: Fault) {
        let (skip, remaining) = match calls {
            Calls::Next(n) => (0, Some(n.max(1))),
            Calls::Nth(k) => (k.saturating_sub(1), Some(1)),
            Calls::Always => (0, None),
        };
        self.with(|s| s.faults.push(ScriptedFault { endpoint, skip, remaining, fault }));
    }

    pub fn clear_faults(&self) {
        self.with(|s| s.faults.clear());
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.with(|s| s.log.clone())
    }

    pub fn requests_to(&self, endpoint: Endpoint) -> Vec<RecordedRequest> {
        self.requests().into_iter().filter(|r| r.endpoint == endpoint).collect()
    }

    pub fn clear_requests(&self) {
        self.with(|s| s.log.clear());
    }

    /// The mock's clock (Unix seconds, moved by [`Self::advance_clock`]).
    pub fn now(&self) -> i64 {
        self.with(|s| s.now())
    }

    /// Moves the mock's clock (codes expire after 10 minutes, access tokens after their life).
    pub fn advance_clock(&self, seconds: i64) {
        self.with(|s| s.clock_offset += seconds);
    }

    /// The user the consent page signs in when a test does not choose one.
    pub fn set_default_user(&self, user_id: &str) {
        self.with(|s| s.default_user = user_id.to_string());
    }

    /// Makes every id_token issued from now on wrong in one way (None: correct again).
    pub fn tamper_id_tokens(&self, tamper: Option<IdTokenTamper>) {
        self.with(|s| s.tamper = tamper);
    }

    /// Adds a directory role to a user ("Global Administrator", ...).
    pub fn grant_role(&self, user_id: &str, role: &str) {
        self.with(|s| {
            if let Some(u) = s.users.iter_mut().find(|u| u.id == user_id) {
                u.roles.push(role.to_string());
            }
        });
    }

    /// Uploads a certificate (PEM) to an app, as Certificates & secrets > Upload certificate does.
    /// Panics when the text is not a certificate (a test's mistake).
    pub fn add_certificate(&self, client_id: &str, pem: &str) {
        let cert = assertion::RegisteredCertificate::from_pem(pem).expect("a PEM certificate");
        self.with(|s| {
            if let Some(a) = s.apps.iter_mut().find(|a| a.client_id == client_id) {
                a.certificates.push(cert);
            }
        });
    }

    /// Adds a federated identity credential to an app (Certificates & secrets > Federated
    /// credentials): tokens of `issuer` for `subject` and `audience`, signed with the key of
    /// `issuer_certificate_pem`. Panics when that is not a certificate (a test's mistake).
    pub fn add_federated_credential(
        &self,
        client_id: &str,
        issuer: &str,
        subject: &str,
        audience: &str,
        issuer_certificate_pem: &str,
    ) {
        let credential = federated::FederatedCredential {
            issuer: issuer.into(),
            subject: subject.into(),
            audience: audience.into(),
            issuer_certificate: assertion::RegisteredCertificate::from_pem(issuer_certificate_pem)
                .expect("a PEM certificate"),
        };
        self.with(|s| {
            if let Some(a) = s.apps.iter_mut().find(|a| a.client_id == client_id) {
                a.federated.push(credential);
            }
        });
    }

    /// Removes every certificate of an app (an admin deleted them).
    pub fn remove_certificates(&self, client_id: &str) {
        self.with(|s| {
            if let Some(a) = s.apps.iter_mut().find(|a| a.client_id == client_id) {
                a.certificates.clear();
            }
        });
    }

    /// Marks an app's client secret as expired (AADSTS7000222).
    pub fn expire_client_secret(&self, client_id: &str) {
        self.with(|s| {
            if let Some(a) = s.apps.iter_mut().find(|a| a.client_id == client_id) {
                a.secret_expired = true;
            }
        });
    }

    /// Revokes every refresh token of a user (as a password reset does): AADSTS50173. Graph
    /// refuses the user's CAE tokens from now on with a claims challenge.
    pub fn revoke_user_sessions(&self, user_id: &str) {
        self.with(|s| {
            s.refresh.values_mut().filter(|g| g.user_id == user_id).for_each(|g| g.revoked = true);
            let event = (s.access_serial, s.now());
            s.cae_events.insert(user_id.to_string(), event);
        });
    }

    /// A critical event that does not end the user's sessions (a Conditional Access location
    /// policy changed, say): Graph answers the user's CAE tokens issued until now with a claims
    /// challenge, and a refresh that carries the claims gets a token that works.
    pub fn challenge_user_tokens(&self, user_id: &str) {
        self.with(|s| {
            let event = (s.access_serial, s.now());
            s.cae_events.insert(user_id.to_string(), event);
        });
    }

    /// The newest refresh token the mock issued.
    pub fn latest_refresh_token(&self) -> Option<String> {
        self.with(|s| s.issued_refresh_tokens.last().cloned())
    }

    pub fn issued_refresh_tokens(&self) -> Vec<String> {
        self.with(|s| s.issued_refresh_tokens.clone())
    }

    /// Whether a refresh token is known and not revoked.
    pub fn refresh_token_valid(&self, token: &str) -> bool {
        self.with(|s| s.refresh.get(token).is_some_and(|g| !g.revoked))
    }
}

impl Drop for MockEntra {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn endpoint_of(path: &str) -> Endpoint {
    if path.starts_with("/v1.0/") || path.starts_with("/beta/") {
        Endpoint::Graph
    } else if path.ends_with("/oauth2/v2.0/devicecode") {
        Endpoint::DeviceCode
    } else if path == "/devicelogin" {
        Endpoint::DeviceLogin
    } else if path.ends_with("/oauth2/v2.0/token") {
        Endpoint::Token
    } else if path.contains("/oauth2/v2.0/authorize") {
        Endpoint::Authorize
    } else if path.ends_with("/v2.0/adminconsent") || path.ends_with("/v2.0/adminconsent/decision") {
        Endpoint::AdminConsent
    } else if path.ends_with("/.well-known/openid-configuration") {
        Endpoint::Discovery
    } else {
        Endpoint::Other
    }
}

fn pairs(text: &str) -> BTreeMap<String, String> {
    form_urlencoded::parse(text.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The admin path of the mock run as a process of its own: what it was asked, per endpoint, and
/// the refresh tokens it issued (test tokens of a mock; the real service has no such path).
const ADMIN_PATH: &str = "/_mock/stats";

fn stats(state: &Arc<Mutex<State>>) -> Response {
    let s = state.lock().unwrap_or_else(|e| e.into_inner());
    respond::json(
        200,
        &serde_json::json!({
            "requests": s.counts,
            "issued_refresh_tokens": s.issued_refresh_tokens,
        }),
    )
}

async fn dispatch(state: Arc<Mutex<State>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_string();
    if path == ADMIN_PATH && method == Method::GET {
        return stats(&state);
    }
    let endpoint = endpoint_of(&path);
    let latency = state.lock().unwrap_or_else(|e| e.into_inner()).latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let headers: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let is_form = headers.get("content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let incoming = Incoming {
        query: pairs(uri.query().unwrap_or("")),
        form: if is_form { pairs(&String::from_utf8_lossy(&body)) } else { BTreeMap::new() },
        method: method.clone(),
        path: path.clone(),
        headers,
        raw_body: body,
    };
    let fault = state.lock().unwrap_or_else(|e| e.into_inner()).take_fault(endpoint);
    let id = incoming.headers.get("client-request-id").map(String::as_str);
    let answer = || handle(&state, endpoint, &incoming);
    let (response, fault_name) = match fault {
        Some(Fault::Slow { delay_ms }) => {
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
            (respond::with_client_request_id(id, answer), Some("slow".to_string()))
        }
        Some(f) => (
            respond::with_client_request_id(id, || respond::fault(&state, endpoint, &f)),
            Some(format!("{f:?}").split([' ', '{', '(']).next().unwrap_or("").to_string()),
        ),
        None => (respond::with_client_request_id(id, answer), None),
    };
    let mut response = response;
    echo_request_id(endpoint, &incoming.headers, &mut response);
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    *s.counts.entry(endpoint.name()).or_default() += 1;
    s.log.push(RecordedRequest {
        endpoint,
        method: method.to_string(),
        path,
        query: incoming.query,
        form: incoming.form,
        headers: incoming.headers,
        status: response.status().as_u16(),
        fault: fault_name,
    });
    response
}

/// Graph answers with the caller's `client-request-id` always; the identity platform when asked
/// with `return-client-request-id: true`.
fn echo_request_id(endpoint: Endpoint, headers: &BTreeMap<String, String>, response: &mut Response) {
    let asked = endpoint == Endpoint::Graph || headers.get("return-client-request-id").is_some_and(|v| v == "true");
    if let Some(value) = headers.get("client-request-id").filter(|_| asked).and_then(|v| v.parse().ok()) {
        response.headers_mut().insert("client-request-id", value);
    }
}

fn handle(state: &Arc<Mutex<State>>, endpoint: Endpoint, req: &Incoming) -> Response {
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    match endpoint {
        Endpoint::Discovery => discovery::discovery(&s, req),
        Endpoint::Authorize => authorize::authorize(&mut s, req),
        Endpoint::Token => token::token(&mut s, req),
        Endpoint::AdminConsent => admin_consent::admin_consent(&mut s, req),
        Endpoint::Graph => graph::handle(&mut s, req),
        Endpoint::DeviceCode => device::start(&mut s, req),
        Endpoint::DeviceLogin => device::login(&mut s, req),
        Endpoint::Other => respond::not_found(),
    }
}
