//! The HTTP boundary. The connector never opens a socket: it describes a request, and the
//! host (which checks allowed hosts on every hop, applies timeouts and size caps) answers with
//! either a response or a transport error, as a value. See docs/interface.md, "Host HTTP".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A request for the host to send.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    /// Header name -> value.
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// Headers and body carry tokens and secrets: `Debug` shows method and URL only.
impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body", &self.body.as_ref().map(|b| format!("[{} bytes]", b.len())))
            .finish()
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

    pub fn bearer(mut self, token: &crate::secret::Secret) -> Self {
        self.headers.insert("authorization".into(), format!("Bearer {}", token.expose()));
        self
    }
}

/// A response of any status; the host never turns a 4xx/5xx into an error.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct HttpResponse {
    pub status: u16,
    /// Lower-case header names.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: String,
    /// True when the body was cut at the host's size cap.
    #[serde(default)]
    pub truncated: bool,
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
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TransportError {
    /// `timeout`, `refused`, `dns`, `tls`, `too_large`, `blocked_host`, `redirect_blocked`,
    /// `connection_reset`, `invalid_url`, `io`.
    pub kind: String,
    pub message: String,
}

/// The host's answer to an [`HttpRequest`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum HttpOutcome {
    Response(HttpResponse),
    TransportError(TransportError),
}

/// Anything that can send a request: the host function in the plugin, a fake in tests.
pub trait HttpClient {
    fn send(&mut self, request: &HttpRequest) -> HttpOutcome;
}

impl<F: FnMut(&HttpRequest) -> HttpOutcome> HttpClient for F {
    fn send(&mut self, request: &HttpRequest) -> HttpOutcome {
        self(request)
    }
}

/// A client for exports that make no request: refusing is the only answer.
pub struct NoHttp;

impl HttpClient for NoHttp {
    fn send(&mut self, _: &HttpRequest) -> HttpOutcome {
        HttpOutcome::TransportError(TransportError {
            kind: "blocked_host".into(),
            message: "this export makes no HTTP requests".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_headers_and_body() {
        let r = HttpRequest::post_form("https://x/token".into(), "client_secret=hunter2".into())
            .bearer(&crate::secret::Secret::new("tok-123"));
        let d = format!("{r:?}");
        assert!(!d.contains("hunter2") && !d.contains("tok-123"), "{d}");
    }

    #[test]
    fn outcome_wire_form() {
        let o: HttpOutcome =
            serde_json::from_str(r#"{"transport_error":{"kind":"timeout","message":"slow"}}"#).unwrap();
        assert!(matches!(o, HttpOutcome::TransportError(t) if t.kind == "timeout"));
        let o: HttpOutcome =
            serde_json::from_str(r#"{"response":{"status":429,"headers":{"retry-after":"2"},"body":""}}"#).unwrap();
        assert!(matches!(o, HttpOutcome::Response(r) if r.header("Retry-After") == Some("2")));
    }
}
