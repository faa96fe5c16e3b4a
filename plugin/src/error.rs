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

    /// The `error` object of the envelope.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ConnectorError::Plain { code, message, field } => {
                let mut v = serde_json::json!({ "code": code.as_str(), "message": message });
                if let Some(f) = field {
                    v["field"] = serde_json::Value::String(f.clone());
                }
                v
            }
            ConnectorError::Classified(c) => serde_json::to_value(c).unwrap_or_default(),
        }
    }
}

/// Shorthand for results of the core.
pub type CResult<T> = Result<T, ConnectorError>;

/// The whole envelope for a result.
pub fn envelope<T: Serialize>(result: CResult<T>) -> String {
    let doc = match result {
        Ok(payload) => match serde_json::to_value(payload) {
            Ok(v) => serde_json::json!({ "ok": v }),
            Err(_) => {
                serde_json::json!({ "error": { "code": "invalid_response", "message": "The connector could not encode its answer." } })
            }
        },
        Err(e) => serde_json::json!({ "error": e.to_json() }),
    };
    doc.to_string()
}
