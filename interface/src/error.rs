//! The error half of the envelope: `{"error": {"code", "message", "field"?}}`, or a whole
//! classification when the provider (or the transport) failed.

use serde::{Deserialize, Serialize};

use crate::classification::{Action, Classification};

/// Error codes a connector produces itself (not the provider's classes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The input document is malformed or a value is not acceptable (`field` says which).
    InvalidInput,
    /// The export exists but this connector does not offer it.
    NotImplemented,
    /// The id_token returned by the token endpoint failed a check.
    IdTokenInvalid,
    /// A successful answer from the provider that could not be understood.
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

/// A connector's own refusal. The object is open (docs/schemas/error.json): a host reads the
/// three fields and keeps to them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PlainError {
    pub code: ErrorCode,
    pub message: String,
    /// The input's path to the value at fault (`settings.scopes[0]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// What an export answers when it does not succeed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum ConnectorError {
    /// A failure reported by the provider (or the transport), classified.
    Classified(Box<Classification>),
    /// The connector's own refusal.
    Plain(PlainError),
}

impl ConnectorError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConnectorError::Plain(PlainError {
            code: ErrorCode::InvalidInput,
            message: message.into(),
            field: Some(field.into()),
        })
    }

    pub fn plain(code: ErrorCode, message: impl Into<String>) -> Self {
        ConnectorError::Plain(PlainError { code, message: message.into(), field: None })
    }

    pub fn classified(c: Classification) -> Self {
        ConnectorError::Classified(Box::new(c))
    }

    /// A classified failure with the request's `client-request-id` in its support ids, unless
    /// the provider's answer named one already; other errors as they are.
    pub fn with_client_request_id(self, id: &str) -> Self {
        match self {
            ConnectorError::Classified(mut c) => {
                c.support.client_request_id.get_or_insert_with(|| id.to_string());
                ConnectorError::Classified(c)
            }
            other => other,
        }
    }

    /// The stable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ConnectorError::Plain(p) => p.code.as_str(),
            ConnectorError::Classified(c) => c.code.as_str(),
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            ConnectorError::Plain(p) => p.field.as_deref(),
            ConnectorError::Classified(_) => None,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            ConnectorError::Plain(p) => &p.message,
            ConnectorError::Classified(c) => &c.message,
        }
    }

    pub fn classification(&self) -> Option<&Classification> {
        match self {
            ConnectorError::Classified(c) => Some(c),
            ConnectorError::Plain(_) => None,
        }
    }

    /// What the platform should do next (classified failures only).
    pub fn action(&self) -> Option<Action> {
        self.classification().map(|c| c.action)
    }

    pub fn remediation(&self) -> Option<&str> {
        self.classification().map(|c| c.remediation.as_str())
    }
}

impl std::fmt::Display for ConnectorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.field() {
            Some(field) => write!(f, "{} ({field}): {}", self.code(), self.message()),
            None => write!(f, "{}: {}", self.code(), self.message()),
        }
    }
}

impl std::error::Error for ConnectorError {}
