//! The two ways a call can go wrong, kept apart: the connector answered with an error
//! ([`ConnectorError`]), or the call itself failed ([`HostError`]).

use serde::Serialize;
use serde_json::Value;

/// The call itself failed: the connector gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("{0}")]
    Manifest(String),
    #[error("cannot load the connector: {0}")]
    Load(String),
    #[error("the connector does not implement interface version {expected} (it reports {found})")]
    InterfaceVersion { expected: u32, found: String },
    #[error("the connector lacks the export {0}, required by interface v1")]
    MissingExport(String),
    #[error("{export}: the call ran out of its CPU budget (fuel) and was stopped")]
    OutOfFuel { export: String },
    #[error("{export}: the call reached the memory limit (limits.max_pages) and was stopped")]
    OutOfMemory { export: String },
    #[error("{export}: the call did not finish within {ms} ms")]
    Timeout { export: String, ms: u64 },
    #[error("{export}: all {max} instances of the connector stayed busy for the call's {ms} ms")]
    Busy { export: String, max: usize, ms: u64 },
    #[error("{export}: the connector trapped: {message}")]
    Trap { export: String, message: String },
    #[error("{export}: the connector's output is not a valid interface v1 envelope: {reason}")]
    InvalidOutput { export: String, reason: String },
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(String),
}

/// The connector's own answer of failure: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectorError {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The whole error object, with classification fields when present.
    pub details: Value,
}

impl ConnectorError {
    pub fn from_value(v: &Value) -> Option<ConnectorError> {
        let code = v.get("code")?.as_str()?.to_string();
        let message = v.get("message")?.as_str()?.to_string();
        Some(ConnectorError {
            code,
            message,
            field: v.get("field").and_then(Value::as_str).map(str::to_string),
            details: v.clone(),
        })
    }

    pub fn action(&self) -> Option<&str> {
        self.details.get("action").and_then(Value::as_str)
    }

    pub fn remediation(&self) -> Option<&str> {
        self.details.get("remediation").and_then(Value::as_str)
    }
}

impl std::fmt::Display for ConnectorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{} ({field}): {}", self.code, self.message),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

/// What every call returns.
pub type CallResult<T> = Result<Result<T, ConnectorError>, HostError>;

/// Splits an envelope document into the connector's answer.
pub fn parse_envelope(export: &str, text: &str) -> CallResult<Value> {
    let invalid = |reason: &str| HostError::InvalidOutput { export: export.to_string(), reason: reason.to_string() };
    let doc: Value = serde_json::from_str(text).map_err(|_| invalid("not JSON"))?;
    let obj = doc.as_object().ok_or_else(|| invalid("not a JSON object"))?;
    if obj.len() != 1 {
        return Err(invalid("it must have exactly one of ok and error"));
    }
    if let Some(ok) = obj.get("ok") {
        return Ok(Ok(ok.clone()));
    }
    if let Some(err) = obj.get("error") {
        return ConnectorError::from_value(err).map(Err).ok_or_else(|| invalid("error lacks code or message"));
    }
    Err(invalid("it has neither ok nor error"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes() {
        assert_eq!(parse_envelope("x", r#"{"ok":{"a":1}}"#).unwrap().unwrap()["a"], 1);
        let e = parse_envelope("x", r#"{"error":{"code":"invalid_input","message":"m","field":"f"}}"#)
            .unwrap()
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("f"));
        assert!(parse_envelope("x", "nope").is_err());
        assert!(parse_envelope("x", r#"{"ok":1,"error":{}}"#).is_err());
        assert!(parse_envelope("x", r#"{"error":{"code":"c"}}"#).is_err());
        assert!(parse_envelope("x", "[]").is_err());
    }
}
