//! The two ways a call can go wrong, kept apart: the connector answered with an error
//! ([`ConnectorError`], the interface's type), or the call itself failed ([`HostError`]).
//! Every variant keeps what caused it (`source()`), and its text is one line a person can act on.

use std::path::PathBuf;

pub use connector_interface::ConnectorError;
use connector_interface::{Envelope, Export};
use serde::de::DeserializeOwned;

/// The call itself failed: the connector gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot load the connector: {}", root(.source))]
    Load {
        #[source]
        source: extism::Error,
    },
    #[error("the connector does not implement interface version {expected} (it reports {found})")]
    InterfaceVersion { expected: u32, found: String },
    #[error("the connector lacks the export {0}, required by interface v1")]
    MissingExport(String),
    /// An optional export the connector does not have, or a name that is not an export.
    #[error("the connector has no export named {export}")]
    NoSuchExport { export: String },
    #[error("{export}: the call ran out of its CPU budget (fuel) and was stopped")]
    OutOfFuel { export: String },
    #[error("{export}: the call reached the memory limit (limits.max_pages) and was stopped")]
    OutOfMemory { export: String },
    #[error("{export}: the call did not finish within {ms} ms")]
    Timeout { export: String, ms: u64 },
    #[error("{export}: all {max} instances of the connector stayed busy for the call's {ms} ms")]
    Busy { export: String, max: usize, ms: u64 },
    #[error("{export}: the connector trapped: {}", root(.source))]
    Trap {
        export: String,
        /// wasmtime's trap code, when the failure was one.
        code: Option<wasmtime::Trap>,
        #[source]
        source: extism::Error,
    },
    #[error("{export}: the connector's output is not a valid interface v1 envelope: {reason}")]
    InvalidOutput {
        export: String,
        reason: String,
        #[source]
        source: Option<serde_json::Error>,
    },
    #[error("cannot {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl HostError {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> HostError {
        HostError::Io { what: what.into(), source }
    }
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest {}: cannot be read: {}", .path.display(), io_reason(.source))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("manifest {}: invalid JSON at line {} column {}: {}", .path.display(), .source.line(), .source.column(), strip_position(.source))]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("manifest {}: allowed_hosts: {}", .path.display(), .problems.join("; "))]
    AllowedHosts { path: PathBuf, problems: Vec<String> },
    #[error("manifest {}: does not match the manifest schema: {}", .path.display(), .errors.join("; "))]
    Schema { path: PathBuf, errors: Vec<String> },
    #[error("manifest {}: interface_version {version} is not supported by this host (it supports {supported:?})", .path.display())]
    UnsupportedVersion { path: PathBuf, version: u32, supported: &'static [u32] },
    #[error("manifest {}: wasm file {} cannot be read: {} (run `make build`)", .path.display(), .wasm.display(), io_reason(.source))]
    WasmRead {
        path: PathBuf,
        wasm: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("manifest {}: wasm file {} has sha256 {actual}, but the manifest pins {pinned}; refusing to load it", .path.display(), .wasm.display())]
    HashMismatch { path: PathBuf, wasm: PathBuf, actual: String, pinned: String },
    #[error("manifest {}: cannot be written: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no manifest found: {tried}; give one with --manifest or set CONNECTOR_HOST_MANIFEST")]
    NotFound { tried: String },
}

/// A load option or platform configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("platform configuration key {0} is not declared in the manifest")]
    Undeclared(String),
    #[error("platform configuration {key} is required{}", .env.as_deref().map(|e| format!(" (set {e})")).unwrap_or_default())]
    Missing { key: String, env: Option<String> },
    #[error("the manifest declares host function {name}, which this host does not offer (it offers {})", crate::host::HOST_FUNCTIONS.join(", "))]
    HostFunction { name: String },
    #[error("platform configuration {key}: {problem}")]
    PrivateKey { key: String, problem: crate::signing::CredentialError },
    #[error("platform configuration {key}: cannot read the file it names: {reason}")]
    PrivateKeyFile { key: String, reason: String },
    #[error("platform configuration {key}: {problem}")]
    Pkcs12 { key: String, problem: crate::pkcs12::Pkcs12Error },
    #[error("platform configuration {key}: {problem}")]
    TokenFile { key: String, problem: crate::token_files::TokenFileError },
    #[error("max_instances must be between 1 and {limit}, not {value}")]
    MaxInstances { value: u32, limit: u32 },
    #[error("the cache directory {} is not valid UTF-8", .0.display())]
    CacheDirNotUtf8(PathBuf),
    #[error("cannot {what} the cache directory {}: {source}", .dir.display())]
    CacheDir {
        what: &'static str,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    s.find(" at line ").map(|i| s[..i].to_string()).unwrap_or(s)
}

/// The innermost message of an extism error, on one line, without a backtrace.
pub fn root(e: &extism::Error) -> String {
    let text = e.root_cause().to_string();
    let first = text.lines().next().unwrap_or("").trim();
    let first = if first.is_empty() { "unknown failure" } else { first };
    first.chars().take(300).collect()
}

/// What every call returns.
pub type CallResult<T> = Result<Result<T, ConnectorError>, HostError>;

/// Splits an envelope document into the connector's answer, its `ok` read as `T`.
pub fn parse_envelope<T: DeserializeOwned>(export: &str, text: &str) -> CallResult<T> {
    let invalid = |reason: &str, source: Option<serde_json::Error>| HostError::InvalidOutput {
        export: export.to_string(),
        reason: reason.to_string(),
        source,
    };
    // A good answer is read in one pass, straight into its type; only a document that does not
    // read as the export's envelope is read again, to say what is wrong with it.
    if let Ok(envelope) = serde_json::from_str::<Envelope<T>>(text) {
        return Ok(envelope.into_result());
    }
    // The shape first (so that the reason names it), then the payload's type.
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| invalid("not JSON", Some(e)))?;
    let obj = doc.as_object().ok_or_else(|| invalid("not a JSON object", None))?;
    if obj.len() != 1 || !(obj.contains_key("ok") || obj.contains_key("error")) {
        return Err(invalid("it must have exactly one of ok and error", None));
    }
    let what = if obj.contains_key("ok") {
        "its ok does not match the export's output"
    } else {
        "error lacks code or message"
    };
    let envelope: Envelope<T> = serde_json::from_value(doc).map_err(|e| invalid(what, Some(e)))?;
    Ok(envelope.into_result())
}

/// [`parse_envelope`] for an export of the table.
pub fn parse_answer<T: DeserializeOwned>(export: Export, text: &str) -> CallResult<T> {
    parse_envelope(export.name(), text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn envelopes() {
        assert_eq!(parse_envelope::<Value>("x", r#"{"ok":{"a":1}}"#).unwrap().unwrap()["a"], 1);
        let e = parse_envelope::<Value>("x", r#"{"error":{"code":"invalid_input","message":"m","field":"f"}}"#)
            .unwrap()
            .unwrap_err();
        assert_eq!(e.field(), Some("f"));
        assert!(parse_envelope::<Value>("x", "nope").is_err());
        assert!(parse_envelope::<Value>("x", r#"{"ok":1,"error":{}}"#).is_err());
        assert!(parse_envelope::<Value>("x", r#"{"error":{"code":"c"}}"#).is_err());
        assert!(parse_envelope::<Value>("x", "[]").is_err());
        let e = parse_envelope::<connector_interface::TokenSet>("exchange_code", r#"{"ok":{"a":1}}"#).unwrap_err();
        assert!(e.to_string().contains("its ok does not match the export's output"), "{e}");
        assert!(std::error::Error::source(&e).is_some(), "the decoding error is kept");
    }
}
