//! Answers in the shapes Microsoft uses: token endpoint errors
//! (learn.microsoft.com/entra/identity-platform/reference-error-codes), Graph errors
//! (learn.microsoft.com/graph/errors), error pages, redirects, and scripted faults.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::aadsts::{self, Aad};
use super::model::TEST_CLIENT_ID;
use super::token_jwt::{entra_timestamp, graph_date, guid};
use super::{Endpoint, Fault, State};

fn build(status: u16, content_type: &str, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("text/plain")),
    );
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    r
}

pub fn json(status: u16, v: &Value) -> Response {
    build(status, "application/json; charset=utf-8", v.to_string())
}

/// A token endpoint error: `error`, `error_description` starting with `AADSTSnnnn:` and
/// ending with trace and correlation ids, `error_codes`, `timestamp`, `trace_id`,
/// `correlation_id`, `error_uri`.
pub fn aad_error(now: i64, answer: &Aad, args: &[&str]) -> Response {
    let (trace, corr, ts) = (guid(), guid(), entra_timestamp(now));
    let code = answer.code;
    let mut body = json!({
        "error": answer.error,
        "error_description": format!("AADSTS{code}: {} Trace ID: {trace} Correlation ID: {corr} Timestamp: {ts}", answer.sentence(args)),
        "error_codes": [code],
        "timestamp": ts,
        "trace_id": trace,
        "correlation_id": corr,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    if let Some(s) = answer.suberror {
        body["suberror"] = json!(s);
    }
    json(answer.status, &body)
}

thread_local! {
    /// The `client-request-id` of the request being answered on this thread, if it sent one.
    static CLIENT_REQUEST_ID: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs `answer` with the request's `client-request-id` known to [`graph_error`], which names
/// it in `innerError` as Graph does (a fresh GUID when the request sent none).
pub fn with_client_request_id<T>(id: Option<&str>, answer: impl FnOnce() -> T) -> T {
    CLIENT_REQUEST_ID.with(|c| *c.borrow_mut() = id.map(str::to_string));
    let out = answer();
    CLIENT_REQUEST_ID.with(|c| *c.borrow_mut() = None);
    out
}

/// Graph's 401 for a CAE token issued before a critical event at `nbf` (Unix seconds): a
/// claims challenge in `WWW-Authenticate` (learn.microsoft.com/entra/identity-platform/claims-challenge).
pub fn claims_challenge(now: i64, nbf: i64) -> Response {
    let claims = format!(r#"{{"access_token":{{"nbf":{{"essential":true,"value":"{nbf}"}}}}}}"#);
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(claims);
    let mut r = graph_error(now, 401, "InvalidAuthenticationToken", "Continuous access evaluation resulted in challenge with result: InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp");
    let v = format!("Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\", error=\"insufficient_claims\", claims=\"{b64}\"");
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_str(&v).unwrap());
    r
}

/// A Graph error: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.
pub fn graph_error(now: i64, status: u16, code: &str, message: &str) -> Response {
    let sent = CLIENT_REQUEST_ID.with(|c| c.borrow().clone()).filter(|id| HeaderValue::from_str(id).is_ok());
    let (request_id, client_request_id) = (guid(), sent.unwrap_or_else(guid));
    let mut r = json(
        status,
        &json!({"error": {"code": code, "message": message, "innerError": {"date": graph_date(now), "request-id": request_id, "client-request-id": client_request_id}}}),
    );
    r.headers_mut().insert("request-id", HeaderValue::from_str(&request_id).unwrap());
    r.headers_mut().insert("client-request-id", HeaderValue::from_str(&client_request_id).unwrap());
    r
}

pub fn html(status: u16, body: String) -> Response {
    build(status, "text/html; charset=utf-8", body)
}

/// An error Entra shows on its own page (never redirected to an unverified URI).
pub fn error_page(code: u32, text: &str) -> Response {
    html(
        400,
        format!(
            "<!DOCTYPE html><html><head><title>Sign in to your account</title></head><body><h1>Sorry, but we're having trouble signing you in.</h1><p id=\"error\">AADSTS{code}: {}</p><p>Trace ID: {}</p></body></html>",
            escape(text),
            guid()
        ),
    )
}

pub fn redirect(location: &str) -> Response {
    let mut r = build(302, "text/html; charset=utf-8", "");
    r.headers_mut().insert(header::LOCATION, HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/")));
    r
}

pub fn no_content() -> Response {
    build(204, "text/plain", "")
}

pub fn not_found() -> Response {
    build(404, "text/plain", "Not Found")
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Plays a scripted fault.
pub fn fault(state: &Arc<Mutex<State>>, endpoint: Endpoint, f: &Fault) -> Response {
    let now = state.lock().map(|s| s.now()).unwrap_or(0);
    let oauth = endpoint != Endpoint::Graph;
    match f {
        Fault::Status { status, retry_after } => {
            let mut r = match (oauth, *status) {
                (true, 429) => aad_error(now, &aadsts::THROTTLED, &[]),
                (true, s) => aad_error(now, &aadsts::UNAVAILABLE.with_status(s), &[]),
                (false, 429) => graph_error(now, 429, "TooManyRequests", "Too many requests."),
                (false, 403) => graph_error(
                    now,
                    403,
                    "Authorization_RequestDenied",
                    "Insufficient privileges to complete the operation.",
                ),
                (false, 503) => graph_error(now, 503, "serviceNotAvailable", "The service is temporarily unavailable."),
                (false, 504) => graph_error(now, 504, "UnknownError", "The gateway timed out."),
                (false, s) => graph_error(now, s, "generalException", "An error occurred."),
            };
            if let Some(ra) = retry_after {
                if let Ok(v) = HeaderValue::from_str(ra) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            r
        }
        Fault::Slow { .. } => not_found(),
        Fault::Drop => {
            let stream = futures_util::stream::once(async { Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other("connection dropped by the mock")) });
            build(200, "application/json", Body::from_stream(stream))
        }
        Fault::Html { status } => html(*status, "<!DOCTYPE html><html><head><title>Service unavailable</title></head><body><h1>Our services aren't available right now</h1><p>We're working to restore all services as soon as possible.</p></body></html>".into()),
        Fault::TruncatedJson { status } => build(*status, "application/json", r#"{"error":"invalid_grant","error_description":"AADSTS70008: The provided authorization code or refresh token has exp"#),
        Fault::HugeBody { bytes } => build(200, "application/json", vec![b' '; *bytes]),
        Fault::Redirect { location } => redirect(location),
        Fault::RevokedRefreshToken => aad_error(now, &aadsts::REVOKED, &[]),
        Fault::InactiveRefreshToken => aad_error(now, &aadsts::INACTIVE_REFRESH_TOKEN, &["2026-08-01T00:00:00Z"]),
        Fault::ClientSecretExpired => aad_error(now, &aadsts::SECRET_EXPIRED, &[TEST_CLIENT_ID]),
        Fault::ConsentRequired => aad_error(now, &aadsts::CONSENT_REQUIRED, &[TEST_CLIENT_ID, "named 'Integration Platform'"]),
        Fault::MfaRequired => aad_error(now, &aadsts::MFA_REQUIRED, &["https://graph.microsoft.com"]),
        Fault::BlockedByConditionalAccess => aad_error(now, &aadsts::BLOCKED_BY_CONDITIONAL_ACCESS, &[]),
        Fault::ClaimsChallenge => claims_challenge(now, 1_700_000_000),
    }
}
