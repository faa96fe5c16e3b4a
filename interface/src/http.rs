//! Host HTTP (docs/interface.md, "Host HTTP"): a connector never opens a socket; it hands the
//! host a request document and gets back a response of any status or a transport error, as a
//! value. The host checks allowed hosts on every hop, applies timeouts and size caps.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A request for the host to send.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    /// Header name -> value.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// Headers, body and query carry tokens and secrets: `Debug` shows the method and the URL
/// without its query.
impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &redact_query(&self.url))
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body", &self.body.as_ref().map(|b| format!("[{} bytes]", b.len())))
            .finish()
    }
}

/// A URL without its query string (which may carry a code or a token), for logs.
pub fn redact_query(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?[query]"),
        None => url.to_string(),
    }
}

impl HttpRequest {
    pub fn get(url: String) -> Self {
        let mut headers = BTreeMap::new();
        headers.insert("accept".into(), "application/json".into());
        HttpRequest { method: "GET".into(), url, headers, body: None }
    }

    pub fn post_form(url: String, body: String) -> Self {
        let mut headers = BTreeMap::new();
        headers.insert("accept".into(), "application/json".into());
        headers.insert("content-type".into(), "application/x-www-form-urlencoded".into());
        HttpRequest { method: "POST".into(), url, headers, body: Some(body) }
    }

    /// Adds `Authorization: Bearer <token>`.
    pub fn bearer(mut self, token: &crate::Secret) -> Self {
        self.headers.insert("authorization".into(), format!("Bearer {}", token.expose()));
        self
    }
}

/// A response of any status; the host never turns a 4xx or 5xx into an error.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HttpResponse {
    pub status: u16,
    /// Lower-case header names; repeated headers joined with ", ".
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// What the host saw when no response came.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TransportKind {
    Timeout,
    Refused,
    Dns,
    Tls,
    /// The body passed the manifest's `limits.max_http_response_bytes`.
    TooLarge,
    /// The host is not in the manifest's allowed hosts (or its address is not public).
    BlockedHost,
    /// A redirect led to a host that is not allowed.
    RedirectBlocked,
    ConnectionReset,
    InvalidUrl,
    Io,
}

impl TransportKind {
    pub const ALL: &'static [TransportKind] = &[
        TransportKind::Timeout,
        TransportKind::Refused,
        TransportKind::Dns,
        TransportKind::Tls,
        TransportKind::TooLarge,
        TransportKind::BlockedHost,
        TransportKind::RedirectBlocked,
        TransportKind::ConnectionReset,
        TransportKind::InvalidUrl,
        TransportKind::Io,
    ];

    /// The kind's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Timeout => "timeout",
            TransportKind::Refused => "refused",
            TransportKind::Dns => "dns",
            TransportKind::Tls => "tls",
            TransportKind::TooLarge => "too_large",
            TransportKind::BlockedHost => "blocked_host",
            TransportKind::RedirectBlocked => "redirect_blocked",
            TransportKind::ConnectionReset => "connection_reset",
            TransportKind::InvalidUrl => "invalid_url",
            TransportKind::Io => "io",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TransportError {
    pub kind: TransportKind,
    pub message: String,
}

/// The host's answer to an [`HttpRequest`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum HttpOutcome {
    Response(HttpResponse),
    TransportError(TransportError),
}

impl HttpOutcome {
    pub fn transport(kind: TransportKind, message: impl Into<String>) -> Self {
        HttpOutcome::TransportError(TransportError { kind, message: message.into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_headers_body_and_query() {
        let r = HttpRequest::post_form("https://x/token?code=abc".into(), "client_secret=hunter2".into())
            .bearer(&crate::Secret::new("tok-123"));
        let d = format!("{r:?}");
        assert!(!d.contains("hunter2") && !d.contains("tok-123") && !d.contains("abc"), "{d}");
    }

    #[test]
    fn outcome_wire_form() {
        let o: HttpOutcome =
            serde_json::from_str(r#"{"transport_error":{"kind":"timeout","message":"slow"}}"#).unwrap();
        assert!(matches!(o, HttpOutcome::TransportError(t) if t.kind == TransportKind::Timeout));
        let o: HttpOutcome =
            serde_json::from_str(r#"{"response":{"status":429,"headers":{"retry-after":"2"},"body":""}}"#).unwrap();
        assert!(matches!(o, HttpOutcome::Response(r) if r.header("Retry-After") == Some("2")));
        for k in TransportKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
    }
}
