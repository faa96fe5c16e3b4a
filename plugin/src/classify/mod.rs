//! Classifying every Entra ID and Microsoft Graph failure into an action and a sentence.
//!
//! Order of evidence: a known AADSTS code (from `error_codes` or the start of
//! `error_description`), then the OAuth `error` / MSAL `suberror`, then the Graph `code` (and
//! inner codes), then the HTTP status and transport failure. Nothing from the body reaches
//! `message` or `remediation`; `provider` holds a short, scrubbed excerpt.

mod aadsts;
pub mod class;
pub mod retry;

use std::collections::BTreeMap;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::Value;

pub use class::{Action, Class, Meaning};
pub use connector_interface::classification::{
    Classification, ClassifyErrorInput as ClassifyInput, Phase, Provider, QueryIn, Support, TransportIn,
};

use crate::error::{CResult, ConnectorError};

/// Classifies; never fails for any input.
pub fn classify(input: &ClassifyInput) -> Classification {
    classify_scrubbing(input, &[])
}

/// The credential of an `Authorization` header (`Bearer X`, `Basic X`).
fn authorization_secret(headers: &BTreeMap<String, String>) -> Option<&str> {
    let v = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("authorization"))?.1;
    Some(v.split_once(' ').map(|(_, t)| t).unwrap_or(v).trim())
}

/// Classifies, never echoing `secrets` (what the request carried) nor the credential of an
/// `Authorization` header given in `headers`.
pub fn classify_scrubbing(input: &ClassifyInput, secrets: &[&str]) -> Classification {
    let mut secrets: Vec<&str> = secrets.to_vec();
    if let Some(a) = authorization_secret(&input.headers) {
        secrets.push(a);
    }
    let headers: BTreeMap<String, String> =
        input.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect();
    let header = |n: &str| headers.get(n).map(String::as_str);
    let mut ev = Evidence::default();
    if let Some(q) = &input.query {
        ev.read_query(q);
    }
    if let Some(body) = &input.body {
        ev.read_body(body);
    }
    let transport = input.transport_error.as_ref().map(|t| t.kind().to_ascii_lowercase());
    let mut support = ev.support.clone();
    support.request_id = support.request_id.or_else(|| header("request-id").or(header("x-ms-request-id")).map(safe_id));
    support.client_request_id = support.client_request_id.or_else(|| header("client-request-id").map(safe_id));

    let challenge = if input.status == Some(401) || input.status.is_none() {
        header("www-authenticate").and_then(claims_challenge)
    } else {
        None
    };

    let (class, action, message, docs_url) = decide(input, &ev, transport.as_deref(), challenge.is_some());
    let retry_after = header("retry-after").and_then(|v| retry::parse(v, input.now, header("date")));
    let retry_after_seconds = match class {
        Class::Throttled => Some(retry_after.unwrap_or(retry::THROTTLED_HINT)),
        Class::Transient => Some(retry_after.unwrap_or(retry::TRANSIENT_HINT)),
        _ => retry_after.filter(|_| class.retryable()),
    };
    let remediation = remediation(class, &ev, input.redirect_uri.as_deref());
    Classification {
        code: class,
        action,
        retryable: class.retryable(),
        retry_after_seconds,
        message,
        remediation,
        phase: input.phase,
        provider: Provider {
            status: input.status,
            error: ev.error.clone(),
            suberror: ev.suberror.clone(),
            aadsts: ev.aadsts.clone(),
            graph_code: ev.graph_code.clone(),
            inner_codes: ev.inner_codes.clone(),
            transport_error: transport,
            description: ev.description.as_deref().map(|d| excerpt(&scrub(d, &secrets))),
        },
        support,
        docs_url,
        claims: challenge.or_else(|| ev.claims.clone()),
    }
}

/// Classifies an HTTP answer of the connector's own request; `secrets` are what it carried.
pub fn from_response(
    phase: Phase,
    response: &crate::http::HttpResponse,
    redirect_uri: Option<&str>,
    secrets: &[&str],
) -> Classification {
    classify_scrubbing(
        &ClassifyInput {
            phase,
            status: Some(response.status),
            headers: response.headers.clone(),
            body: Some(response.body.clone()),
            query: None,
            transport_error: None,
            now: None,
            redirect_uri: redirect_uri.map(str::to_string),
        },
        secrets,
    )
}

/// Classifies a transport failure of the connector's own request.
pub fn from_transport(phase: Phase, t: &crate::http::TransportError) -> Classification {
    let mut c = classify(&ClassifyInput {
        transport_error: Some(TransportIn::Kind(t.kind.as_str().into())),
        ..ClassifyInput::new(Phase::Transport)
    });
    c.phase = phase;
    c
}

/// Export entry: validates the few things serde cannot.
pub fn classify_export(input: &ClassifyInput) -> CResult<Classification> {
    if let Some(s) = input.status {
        if !(100..=599).contains(&s) {
            return Err(ConnectorError::invalid("status", "status must be an HTTP status code (100 to 599)."));
        }
    }
    Ok(classify(input))
}

#[derive(Debug, Default)]
struct Evidence {
    error: Option<String>,
    suberror: Option<String>,
    description: Option<String>,
    aadsts: Vec<u32>,
    graph_code: Option<String>,
    inner_codes: Vec<String>,
    graph_message: Option<String>,
    claims: Option<String>,
    html: bool,
    support: Support,
}

fn short(v: &Value) -> Option<String> {
    v.as_str().map(|s| s.chars().take(200).collect())
}

impl Evidence {
    fn read_query(&mut self, q: &QueryIn) {
        let pairs: Vec<(String, String)> = match q {
            QueryIn::Map(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            QueryIn::Raw(s) => form_urlencoded::parse(s.trim_start_matches('?').as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        };
        for (k, v) in pairs {
            match k.as_str() {
                "error" => self.error = Some(v.chars().take(100).collect()),
                "error_subcode" | "suberror" => self.suberror = Some(v.chars().take(100).collect()),
                "error_description" => {
                    self.aadsts_from_text(&v);
                    self.description = Some(v);
                }
                "trace_id" => self.support.trace_id = Some(safe_id(&v)),
                "correlation_id" => self.support.correlation_id = Some(safe_id(&v)),
                _ => {}
            }
        }
    }

    fn read_body(&mut self, body: &str) {
        let trimmed = body.trim_start();
        if trimmed.starts_with('<') {
            self.html = true;
            return;
        }
        let Ok(Value::Object(doc)) = serde_json::from_str::<Value>(body) else {
            return;
        };
        if let Some(err) = doc.get("error") {
            match err {
                Value::String(s) => self.error = Some(s.chars().take(100).collect()),
                Value::Object(g) => self.read_graph_error(g),
                _ => {}
            }
        }
        self.suberror = doc.get("suberror").and_then(short).or(self.suberror.take());
        if let Some(d) = doc.get("error_description").and_then(Value::as_str) {
            self.aadsts_from_text(d);
            self.description = Some(d.to_string());
        }
        if let Some(codes) = doc.get("error_codes").and_then(Value::as_array) {
            for c in codes.iter().filter_map(Value::as_u64).filter(|c| *c <= u32::MAX as u64) {
                if !self.aadsts.contains(&(c as u32)) {
                    self.aadsts.push(c as u32);
                }
            }
        }
        if let Some(c) = doc.get("claims").and_then(Value::as_str) {
            if c.len() <= 8192 && serde_json::from_str::<Value>(c).is_ok() {
                self.claims = Some(c.to_string());
            }
        }
        let s = &mut self.support;
        s.trace_id = doc.get("trace_id").and_then(Value::as_str).map(safe_id).or(s.trace_id.take());
        s.correlation_id = doc.get("correlation_id").and_then(Value::as_str).map(safe_id).or(s.correlation_id.take());
        s.timestamp = doc.get("timestamp").and_then(Value::as_str).map(safe_id).or(s.timestamp.take());
    }

    /// `{"error":{"code","message","innerError":{"code"?, "date","request-id","client-request-id", "innerError"?}}}`
    fn read_graph_error(&mut self, g: &serde_json::Map<String, Value>) {
        self.graph_code = g.get("code").and_then(short);
        self.graph_message = g.get("message").and_then(short);
        if let Some(m) = g.get("message").and_then(Value::as_str) {
            self.aadsts_from_text(m);
            self.description = Some(m.to_string());
        }
        let mut inner = g.get("innerError").or_else(|| g.get("innererror"));
        let mut depth = 0;
        while let Some(Value::Object(i)) = inner {
            depth += 1;
            if depth > 32 {
                break;
            }
            if let Some(c) = i.get("code").and_then(short) {
                self.inner_codes.push(c);
            }
            let s = &mut self.support;
            if s.request_id.is_none() {
                s.request_id = i.get("request-id").and_then(Value::as_str).map(safe_id);
            }
            if s.client_request_id.is_none() {
                s.client_request_id = i.get("client-request-id").and_then(Value::as_str).map(safe_id);
            }
            if s.timestamp.is_none() {
                s.timestamp = i.get("date").and_then(Value::as_str).map(safe_id);
            }
            inner = i.get("innerError").or_else(|| i.get("innererror"));
        }
    }

    /// "AADSTS50011: The redirect URI..." and codes anywhere in the text.
    fn aadsts_from_text(&mut self, text: &str) {
        let mut rest = text;
        let mut found = 0;
        while let Some(i) = rest.find("AADSTS") {
            let digits: String = rest[i + 6..].chars().take_while(char::is_ascii_digit).take(9).collect();
            if let Ok(n) = digits.parse::<u32>() {
                if !self.aadsts.contains(&n) {
                    self.aadsts.push(n);
                }
            }
            rest = &rest[i + 6..];
            found += 1;
            if found > 8 {
                break;
            }
        }
    }
}

fn aadsts_docs(code: u32) -> String {
    format!("https://login.microsoftonline.com/error?code={code}")
}

const OAUTH_DOCS: &str = "https://learn.microsoft.com/entra/identity-platform/reference-error-codes";
const GRAPH_DOCS: &str = "https://learn.microsoft.com/graph/errors";
const ROLES_DOCS: &str = "https://learn.microsoft.com/graph/api/user-update#permissions";
const THROTTLE_DOCS: &str = "https://learn.microsoft.com/graph/throttling";
const RESILIENCE_DOCS: &str = "https://learn.microsoft.com/entra/architecture/resilience-client-app";
const CLAIMS_DOCS: &str = "https://learn.microsoft.com/entra/identity-platform/claims-challenge";
const SCOPES_DOCS: &str = "https://learn.microsoft.com/graph/permissions-reference";

fn oauth_class(error: &str, suberror: Option<&str>) -> Option<Class> {
    if let Some(sub) = suberror {
        match sub {
            "consent_required" => return Some(Class::ConsentRequired),
            "message_only" | "additional_action" | "basic_action" | "user_password_expired" | "bad_token" => {
                return Some(Class::ReauthorizationRequired)
            }
            _ => {}
        }
    }
    Some(match error {
        "invalid_grant" | "interaction_required" | "login_required" | "bad_token" => Class::ReauthorizationRequired,
        "consent_required" => Class::ConsentRequired,
        "invalid_client" | "unauthorized_client" => Class::InvalidClient,
        "invalid_scope" | "invalid_resource" => Class::InvalidScope,
        "access_denied" => Class::AccessDenied,
        "temporarily_unavailable" | "server_error" => Class::Transient,
        "invalid_request" | "unsupported_grant_type" | "unsupported_response_type" => Class::InvalidRequest,
        _ => return None,
    })
}

fn graph_class(code: &str) -> Option<Class> {
    Some(match code {
        "Authorization_RequestDenied" => Class::InsufficientPrivileges,
        "InvalidAuthenticationToken" | "Authentication_ExpiredToken" | "Authentication_MissingOrMalformed" => {
            Class::TokenExpired
        }
        "Authorization_IdentityNotFound" => Class::AdminConsentRequired,
        "Request_ResourceNotFound" | "itemNotFound" | "ResourceNotFound" => Class::NotFound,
        "Request_ThrottledTemporarily" | "activityLimitReached" | "TooManyRequests" => Class::Throttled,
        "serviceNotAvailable" | "generalException" | "ServiceUnavailable" | "timeout" => Class::Transient,
        "Directory_QuotaExceeded" => Class::BlockedByPolicy,
        "accessDenied" | "Forbidden" => Class::InsufficientPrivileges,
        "Request_BadRequest" | "BadRequest" | "invalidRequest" | "Request_UnsupportedQuery" => Class::InvalidRequest,
        _ => return None,
    })
}

fn status_class(status: u16, phase: Phase) -> Class {
    match status {
        429 => Class::Throttled,
        500..=599 => Class::Transient,
        408 => Class::Transient,
        401 if phase == Phase::Graph => Class::TokenExpired,
        401 => Class::InvalidClient,
        403 => Class::InsufficientPrivileges,
        404 => Class::NotFound,
        400 if matches!(phase, Phase::Token | Phase::Refresh) => Class::InvalidRequest,
        _ => Class::Unknown,
    }
}

fn transport_class(kind: &str) -> Class {
    match kind {
        "blocked_host" | "redirect_blocked" => Class::BlockedHost,
        "invalid_url" => Class::InvalidRequest,
        _ => Class::Transient,
    }
}

/// Class, action, sentence and docs page.
fn decide(
    input: &ClassifyInput,
    ev: &Evidence,
    transport: Option<&str>,
    challenge: bool,
) -> (Class, Action, String, String) {
    let plain = |c: Class, docs: &str| (c, c.action(), c.message().to_string(), docs.to_string());
    if challenge {
        return plain(Class::ClaimsChallenge, CLAIMS_DOCS);
    }
    if let Some(k) = transport {
        let c = transport_class(k);
        let msg = match k {
            "timeout" => "Microsoft did not answer in time; the platform will retry.",
            "refused" | "connection_reset" => "The connection to Microsoft failed; the platform will retry.",
            "dns" => "Microsoft's host name could not be resolved; the platform will retry.",
            "tls" => "A secure connection to Microsoft could not be set up (TLS); the platform will retry.",
            "too_large" => "Microsoft's answer was larger than the platform accepts; the platform will retry.",
            _ => c.message(),
        };
        return (c, c.action(), msg.to_string(), RESILIENCE_DOCS.to_string());
    }
    for code in &ev.aadsts {
        if let Some(entry) = aadsts::lookup(*code) {
            let c = entry.class;
            return (
                c,
                entry.action.unwrap_or(c.action()),
                entry.message.unwrap_or(c.message()).to_string(),
                aadsts_docs(*code),
            );
        }
    }
    let unknown_aadsts_docs = ev.aadsts.first().map(|c| aadsts_docs(*c));
    if let Some(err) = &ev.error {
        if let Some(c) = oauth_class(err, ev.suberror.as_deref()) {
            let docs = unknown_aadsts_docs.unwrap_or_else(|| OAUTH_DOCS.to_string());
            return plain(c, &docs);
        }
    }
    if let Some(code) = &ev.graph_code {
        let mut found = graph_class(code);
        for inner in &ev.inner_codes {
            if found.is_none() {
                found = graph_class(inner);
            }
        }
        if let Some(c) = found {
            let docs = match c {
                Class::InsufficientPrivileges if code == "Authorization_RequestDenied" => ROLES_DOCS,
                Class::InsufficientPrivileges => SCOPES_DOCS,
                Class::Throttled => THROTTLE_DOCS,
                _ => GRAPH_DOCS,
            };
            let mut message = c.message().to_string();
            if c == Class::InsufficientPrivileges && code != "Authorization_RequestDenied" {
                message = "The connection lacks a permission (scope) or role this request needs.".to_string();
            }
            if code == "Directory_QuotaExceeded" {
                message = "The directory has reached its object quota.".to_string();
            }
            return (c, c.action(), message, docs.to_string());
        }
    }
    if let Some(s) = input.status {
        let c = status_class(s, input.phase);
        let docs = match (c, input.phase) {
            (Class::Throttled, _) => THROTTLE_DOCS,
            (Class::Transient, _) => RESILIENCE_DOCS,
            (_, Phase::Graph) => GRAPH_DOCS,
            _ => OAUTH_DOCS,
        };
        let docs = unknown_aadsts_docs.unwrap_or_else(|| docs.to_string());
        let mut r = (c, c.action(), c.message().to_string(), docs);
        if c == Class::Unknown && ev.html {
            r.2 = "Microsoft answered with a web page instead of the expected JSON, so the cause is not known."
                .to_string();
        }
        return r;
    }
    let docs = unknown_aadsts_docs.unwrap_or_else(|| OAUTH_DOCS.to_string());
    (Class::Unknown, Class::Unknown.action(), Class::Unknown.message().to_string(), docs)
}

fn remediation(class: Class, ev: &Evidence, redirect_uri: Option<&str>) -> String {
    // A code with its own cause has its own remedy (the first code of the table decided).
    let own = ev.aadsts.iter().find_map(|c| aadsts::lookup(*c)).and_then(|e| e.remedy.filter(|_| e.class == class));
    if let Some(remedy) = own {
        return remedy.to_string();
    }
    match class {
        Class::RedirectUriMismatch => {
            let uri = redirect_uri
                .filter(|u| is_safe_uri(u))
                .map(str::to_string)
                .or_else(|| ev.description.as_deref().and_then(quoted_redirect_uri));
            match uri {
                Some(u) => format!(
                    "Add this redirect URI to the app registration, exactly as written: {u} (Microsoft Entra admin center > App registrations > the app > Authentication > Add a platform > Web), then try again."
                ),
                None => class.remediation().to_string(),
            }
        }
        Class::InsufficientPrivileges if ev.graph_code.as_deref() != Some("Authorization_RequestDenied") && ev.graph_code.is_some() => {
            "Add the Microsoft Graph permission this request needs to the connection's scopes (an administrator may have to grant admin consent), then sign in again; operations on sensitive user properties also need one of the roles Global administrator (maximum permissions), Privileged authentication administrator, or Authentication administrator (minimum permissions).".to_string()
        }
        _ => class.remediation().to_string(),
    }
}

/// The redirect URI named in "AADSTS50011: The redirect URI 'X' specified in the request ...".
fn quoted_redirect_uri(description: &str) -> Option<String> {
    let start = description.find("redirect URI '")? + "redirect URI '".len();
    let rest = &description[start..];
    let uri = &rest[..rest.find('\'')?];
    is_safe_uri(uri).then(|| uri.to_string())
}

fn is_safe_uri(u: &str) -> bool {
    u.len() <= 256
        && (u.starts_with("https://") || u.starts_with("http://"))
        && u.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"' | b'\'' | b'`' | b'\\'))
}

/// Identifiers (GUIDs, timestamps) only: anything else is cut to safe characters.
fn safe_id(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.' | 'Z' | 'T' | ' ' | '+' | '_'))
        .take(64)
        .collect()
}

/// `text` with every secret of at least 4 characters replaced by `[redacted]`.
fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(s, "[redacted]");
    }
    out
}

/// A short excerpt for `provider.description`: no control characters, no markup, nothing that
/// looks like a token or secret (long unbroken runs), at most 300 characters.
pub fn excerpt(text: &str) -> String {
    let head = &text[..text.char_indices().nth(2000).map_or(text.len(), |(i, _)| i)];
    let separator = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '`');
    let mut out = String::with_capacity(head.len().min(1300));
    for word in head.split(separator).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        let secret_like = word.len() >= 32
            && word.chars().filter(char::is_ascii_alphanumeric).count() * 10 >= word.len() * 8
            && !word.contains("://");
        out.push_str(if secret_like { "[redacted]" } else { word });
        // More than 1 200 bytes hold more than 300 characters: enough for the cut below.
        if out.len() > 1200 {
            break;
        }
    }
    if out.chars().count() > 300 {
        out = out.chars().take(297).collect::<String>() + "...";
    }
    out
}

/// The decoded `claims` of `WWW-Authenticate: Bearer ... error="insufficient_claims", claims="<base64>"`.
pub fn claims_challenge(header: &str) -> Option<String> {
    if !header.contains("insufficient_claims") {
        return None;
    }
    let start = header.find("claims=\"")? + "claims=\"".len();
    let rest = &header[start..];
    let b64 = &rest[..rest.find('"')?];
    if b64.len() > 8192 {
        return None;
    }
    let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD].iter().find_map(|e| e.decode(b64).ok())?;
    let text = String::from_utf8(bytes).ok()?;
    serde_json::from_str::<Value>(&text).ok()?.is_object().then_some(text)
}

#[cfg(test)]
mod tests;
