//! Shared helpers of the end-to-end tests: where the built connector is, one compiled host per
//! test process, and a tiny loopback HTTP server that counts what reaches it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use host_harness::{ConnectorHost, LoadOptions};

mod backend;
pub use backend::{Backend, TestStore};

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The shipped manifest (its wasm is built by `make build`).
pub fn manifest_path() -> PathBuf {
    root().join("manifests/microsoft-entra-id.json")
}

pub const PLATFORM_CLIENT_ID: &str = "5a0e7b7c-1f1e-4c3b-9f51-6f7d0c2b9a10";

/// The connector with the platform's app configured and nothing else, compiled once.
pub fn shared_host() -> &'static ConnectorHost {
    static HOST: OnceLock<ConnectorHost> = OnceLock::new();
    HOST.get_or_init(|| {
        let mut options = LoadOptions::default();
        options.config.insert("client_id".into(), PLATFORM_CLIENT_ID.into());
        ConnectorHost::load(&manifest_path(), &options).expect("the built connector loads (run `make build` first)")
    })
}

/// Load options whose login and Graph endpoints point at a loopback server.
pub fn options_towards(login_base: &str, graph_base: &str, timeout_ms: Option<u64>) -> LoadOptions {
    let mut options = LoadOptions {
        extra_allowed_hosts: vec!["127.0.0.1".into()],
        allow_loopback: true,
        timeout_ms,
        ..Default::default()
    };
    options.config.insert("client_id".into(), PLATFORM_CLIENT_ID.into());
    options.config.insert("login_base_url".into(), login_base.into());
    options.config.insert("graph_base_url".into(), graph_base.into());
    options
}

/// A loaded connector whose login and Graph endpoints point at a loopback server.
pub fn host_towards(login_base: &str, graph_base: &str, timeout_ms: Option<u64>) -> ConnectorHost {
    ConnectorHost::load(&manifest_path(), &options_towards(login_base, graph_base, timeout_ms))
        .expect("the connector loads")
}

type Responder = dyn Fn(&str) -> (Duration, String) + Send + Sync;

/// A loopback HTTP/1.1 server: answers every request with what `respond` returns for its
/// request line, after the returned delay, and counts the connections it accepted.
pub struct TinyServer {
    pub port: u16,
    pub hits: Arc<AtomicUsize>,
    pub requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl TinyServer {
    pub fn start(respond: impl Fn(&str) -> (Duration, String) + Send + Sync + 'static) -> TinyServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let respond: Arc<Responder> = Arc::new(respond);
        let (h, r, s) = (hits.clone(), requests.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                h.fetch_add(1, Ordering::SeqCst);
                let (respond, r) = (respond.clone(), r.clone());
                std::thread::spawn(move || serve(conn, &*respond, &r));
            }
        });
        TinyServer { port, hits, requests, stop }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn serve(conn: TcpStream, respond: &Responder, log: &Mutex<Vec<String>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    log.lock().unwrap().push(line.trim().to_string());
    let (delay, response) = respond(line.trim());
    std::thread::sleep(delay);
    let mut conn = conn;
    let _ = conn.write_all(response.as_bytes());
}

impl Drop for TinyServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// An HTTP response with a JSON body.
pub fn json_response(status: u16, body: &str) -> String {
    format!("HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len())
}

/// A copy of the shipped manifest in `dir`, its module beside it, changed by `edit`.
pub fn write_manifest(dir: &std::path::Path, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let text = std::fs::read_to_string(manifest_path()).unwrap();
    let mut m: serde_json::Value = serde_json::from_str(&text).unwrap();
    let wasm = manifest_path().parent().unwrap().join(m["wasm"]["path"].as_str().unwrap());
    std::fs::copy(&wasm, dir.join("connector.wasm")).unwrap();
    m["wasm"]["path"] = "connector.wasm".into();
    edit(&mut m);
    let path = dir.join("manifest.json");
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    path
}

/// The interface schema `docs/schemas/{name}.json`.
pub fn schema(name: &str) -> serde_json::Value {
    let path = root().join("docs/schemas").join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

pub use mock_entra::{self, MockEntra};

/// The redirect URI the tests' platform uses (registered on the mock's apps).
pub const REDIRECT_URI: &str = "http://localhost:8400/callback";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const STATE: &str = "state-0123456789abcdef";
pub const NONCE: &str = "nonce-0123456789abcdef";

/// The mock identity provider and the connector pointed at it, with the mock's confidential
/// test app as the platform's app.
pub struct World {
    pub mock: MockEntra,
    pub host: ConnectorHost,
}

impl World {
    pub fn new() -> World {
        Self::with_timeout(None)
    }

    pub fn with_timeout(timeout_ms: Option<u64>) -> World {
        let mock = MockEntra::start_with(mock_entra::MockConfig {
            redirect_uris: vec![REDIRECT_URI.into(), "https://platform.example.com/oauth/callback".into()],
            ..Default::default()
        })
        .unwrap();
        let host = Self::host_with(&mock, timeout_ms);
        World { mock, host }
    }

    /// Another loaded connector pointed at `mock`.
    pub fn new_host_for(mock: &MockEntra) -> ConnectorHost {
        Self::host_with(mock, None)
    }

    /// Another loaded connector pointed at `mock`, with a call timeout.
    pub fn host_with(mock: &MockEntra, timeout_ms: Option<u64>) -> ConnectorHost {
        let options = LoadOptions { timeout_ms, ..connector_host::mock_idp::load_options(&mock.base_url()) };
        ConnectorHost::load(&manifest_path(), &options).expect("the connector loads")
    }

    /// Builds the authorize URL through the connector, signs in on the mock's consent page and
    /// returns the query of the redirect (code and state, or error).
    pub fn sign_in(
        &self,
        settings: &serde_json::Value,
        user: Option<&str>,
        accept: bool,
    ) -> std::collections::BTreeMap<String, String> {
        let out = self
            .host
            .v1()
            .authorize_url(&connector_interface::AuthorizeUrlInput {
                settings: settings.as_object().cloned().expect("settings are an object"),
                redirect_uri: REDIRECT_URI.into(),
                state: STATE.into(),
                code_verifier: connector_interface::Secret::new(VERIFIER),
                nonce: Some(NONCE.into()),
                claims: None,
            })
            .unwrap()
            .unwrap();
        let location = mock_entra::browser::sign_in_redirect(&out.url, user, accept)
            .unwrap_or_else(|e| panic!("sign-in did not redirect: {e}"));
        mock_entra::browser::query_of(&location)
    }

    /// Signs in and exchanges the code; returns the connector's answer.
    pub fn connect(&self, settings: &serde_json::Value) -> host_harness::CallResult<serde_json::Value> {
        let q = self.sign_in(settings, None, true);
        let code = q.get("code").unwrap_or_else(|| panic!("no code: {q:?}"));
        self.host.call("exchange_code", &serde_json::json!({"settings": settings, "redirect_uri": REDIRECT_URI, "code": code, "code_verifier": VERIFIER, "nonce": NONCE, "now": now()}))
    }
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

pub fn form_urlencoded_pairs(q: &str) -> std::collections::BTreeMap<String, String> {
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

/// A connector error as the JSON document the connector answered (for assertions on its fields).
pub fn details(e: &host_harness::ConnectorError) -> serde_json::Value {
    serde_json::to_value(e).expect("a connector error serializes")
}

/// Every log line of this test process at trace level (the host's, the platform's, the mock's,
/// ureq's), kept from the first call on, to be searched for key material and for what a
/// request logged.
pub fn logs() -> &'static std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    use std::sync::{Arc, Mutex, OnceLock};
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
            .with_ansi(false)
            .with_writer(move || LogSink(sink.clone()))
            .try_init();
        buffer
    })
}

struct LogSink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
