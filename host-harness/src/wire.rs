//! The host HTTP function's wire format (interface v1, "Host HTTP"): what a connector asks the
//! host to send, and the answer: a response of any status, or a transport error as a value.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WireRequest {
    pub method: String,
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
}

/// Headers and body may carry secrets: `Debug` shows method and URL only.
impl std::fmt::Debug for WireRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireRequest")
            .field("method", &self.method)
            .field("url", &redact_query(&self.url))
            .finish_non_exhaustive()
    }
}

/// A URL without its query string (which may carry a code or a token), for logs.
pub fn redact_query(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?[query]"),
        None => url.to_string(),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WireResponse {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub truncated: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WireTransportError {
    pub kind: TransportKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TransportKind {
    Timeout,
    Refused,
    Dns,
    Tls,
    TooLarge,
    BlockedHost,
    RedirectBlocked,
    ConnectionReset,
    InvalidUrl,
    Io,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum WireOutcome {
    Response(WireResponse),
    TransportError(WireTransportError),
}

impl WireOutcome {
    pub fn transport(kind: TransportKind, message: impl Into<String>) -> Self {
        WireOutcome::TransportError(WireTransportError { kind, message: message.into() })
    }
}
