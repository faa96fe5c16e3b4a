//! The platform's own requests with a connection's token, as an import or export step makes
//! them: sent through the host's outbound path (allowed hosts, timeouts, size cap), answered
//! failures classified by the connector and retried as classified.

use std::collections::BTreeMap;
use std::time::Instant;

use connector_interface::{
    Action, ClassifyErrorInput, ConnectorError, HttpOutcome, HttpRequest, Phase, Secret, TransportIn,
};
use serde_json::{json, Value};

use super::error::PlatformError;
use super::retry::{wait_after, MAX_ATTEMPTS};
use super::Platform;

impl Platform {
    /// A request to the service with the connection's token, retried as classified. The answer
    /// is the JSON body (`{"status"}` when empty, `{"status", "body"}` when not JSON).
    ///
    /// Each attempt carries a fresh `client-request-id` (logged with the connection's name, and
    /// named in the failure's support ids); a claims challenge is answered once
    /// ([`Platform::claims_challenge`]'s way) and the request made again with the new token.
    pub fn api(&self, name: &str, method: &str, url: &str, body: Option<&Value>) -> Result<Value, PlatformError> {
        let mut refreshed = false;
        let mut challenged = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = Secret::new(self.access_token(name)?);
            let id = super::credentials::request_id(name, "api");
            let mut request = HttpRequest {
                method: method.to_string(),
                url: url.to_string(),
                headers: BTreeMap::from([
                    ("accept".to_string(), "application/json".to_string()),
                    ("client-request-id".to_string(), id.clone()),
                ]),
                body: body.map(Value::to_string),
            };
            if request.body.is_some() {
                request.headers.insert("content-type".into(), "application/json".into());
            }
            let request = request.bearer(&token);
            let deadline = Instant::now() + self.host.timeout();
            let e = match self.outbound.send(&request, Some(deadline)) {
                HttpOutcome::Response(r) if r.is_success() => {
                    // The body is within the manifest's `limits.max_http_response_bytes`.
                    return Ok(if r.body.is_empty() {
                        json!({"status": r.status})
                    } else {
                        serde_json::from_str(&r.body).unwrap_or(json!({"status": r.status, "body": r.body}))
                    });
                }
                HttpOutcome::Response(r) => self.classify(ClassifyErrorInput {
                    status: Some(r.status),
                    headers: r.headers,
                    body: Some(r.body),
                    now: Some(self.now()),
                    ..ClassifyErrorInput::new(Phase::Graph)
                })?,
                HttpOutcome::TransportError(t) => self.classify(ClassifyErrorInput {
                    transport_error: Some(TransportIn::Full { kind: t.kind.as_str().into(), message: Some(t.message) }),
                    ..ClassifyErrorInput::new(Phase::Transport)
                })?,
            };
            let e = e.with_client_request_id(&id);
            let claims = e.classification().and_then(|c| c.claims.clone());
            if let Some(wait) = wait_after(attempt, &e) {
                std::thread::sleep(wait);
            } else if let Some(claims) = claims.filter(|_| !challenged) {
                challenged = true;
                self.answer_claims(name, &claims)?;
            } else if e.action() == Some(Action::RefreshToken) && !refreshed && attempt < MAX_ATTEMPTS {
                refreshed = true;
                self.refresh(name)?;
            } else {
                return Err(e.into());
            }
        }
    }
}

impl Platform {
    /// The connector's classification of a failure, as the error to act on.
    fn classify(&self, input: ClassifyErrorInput) -> Result<ConnectorError, PlatformError> {
        Ok(ConnectorError::classified(self.host.v1().classify_error(&input)??))
    }
}
