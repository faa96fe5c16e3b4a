//! The error half of the interface v1 envelope.
//!
//! `{"error": {"code", "message", "field"?, ...}}`. Connector-level codes (`invalid_input`,
//! `id_token_invalid`, ...) are a closed set here; a failure that Microsoft reported carries the
//! classification of [`crate::classify`], whose `code` is one of that module's closed set.

use serde::Serialize;

use crate::classify::Classification;

/// Error codes the connector itself produces (not the provider's classes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The input document is malformed or a value is not acceptable.
    InvalidInput,
    /// The export exists but this connector does not offer it.
    NotImplemented,
    /// The id_token returned by the token endpoint failed a check.
    IdTokenInvalid,
    /// A successful answer from Microsoft that could not be understood.
    InvalidResponse,
    /// The platform did not configure what the connector needs (its app registration).
    NotConfigured,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::NotImplemented => "not_implemented",
            ErrorCode::IdTokenInvalid => "id_token_invalid",
            ErrorCode::InvalidResponse => "invalid_response",
            ErrorCode::NotConfigured => "not_configured",
        }
    }
}

/// What an export answers when it does not succeed.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectorError {
    /// The connector's own refusal.
    Plain { code: ErrorCode, message: String, field: Option<String> },
    /// A failure reported by Microsoft (or the transport), classified.
    Classified(Box<Classification>),
}

impl ConnectorError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConnectorError::Plain { code: ErrorCode::InvalidInput, message: message.into(), field: Some(field.into()) }
    }

    pub fn plain(code: ErrorCode, message: impl Into<String>) -> Self {
        ConnectorError::Plain { code, message: message.into(), field: None }
    }

    pub fn classified(c: Classification) -> Self {
        ConnectorError::Classified(Box::new(c))
    }

    /// The stable code of this error.
    pub fn code(&self) -> &str {
        match self {
            ConnectorError::Plain { code, .. } => code.as_str(),
            ConnectorError::Classified(c) => c.code.as_str(),
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            ConnectorError::Plain { field, .. } => field.as_deref(),
            ConnectorError::Classified(_) => None,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            ConnectorError::Plain { message, .. } => message,
            ConnectorError::Classified(c) => &c.message,
        }
    }
}

/// The `error` object of the envelope: `{code, message, field?}` or a classification.
impl Serialize for ConnectorError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            ConnectorError::Plain { code, message, field } => {
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("code", code.as_str())?;
                map.serialize_entry("message", message)?;
                if let Some(f) = field {
                    map.serialize_entry("field", f)?;
                }
                map.end()
            }
            ConnectorError::Classified(c) => c.serialize(serializer),
        }
    }
}

/// Shorthand for results of the core.
pub type CResult<T> = Result<T, ConnectorError>;

/// The whole envelope for a result, written straight from the payload (no intermediate
/// `serde_json::Value`: one pass, one buffer).
pub fn envelope<T: Serialize>(result: CResult<T>) -> String {
    let mut out = Vec::with_capacity(1024);
    let written = match &result {
        Ok(payload) => {
            out.extend_from_slice(b"{\"ok\":");
            serde_json::to_writer(&mut out, payload)
        }
        Err(e) => {
            out.extend_from_slice(b"{\"error\":");
            serde_json::to_writer(&mut out, e)
        }
    };
    if written.is_err() {
        return r#"{"error":{"code":"invalid_response","message":"The connector could not encode its answer."}}"#
            .into();
    }
    out.push(b'}');
    // serde_json writes UTF-8 only.
    String::from_utf8(out).unwrap_or_default()
}
