//! Token requests and responses (learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow,
//! refresh-tokens, v2-oauth2-client-creds-grant-flow).
//!
//! Building a request and reading its answer are pure functions; `run` sends through any
//! [`HttpClient`]. Refresh tokens rotate: the new one is returned and must be stored before the
//! new access token is used.

use serde::Deserialize;
use serde_json::Value;

use crate::assertion;
use crate::authorize::check_redirect_uri;
use crate::classify::{self, Class, Phase};
use crate::credential::Credential;
use crate::encode;
use crate::error::{CResult, ConnectorError, ErrorCode};
use crate::federated;
use crate::http::{HttpClient, HttpOutcome, HttpRequest};
use crate::idtoken::{self, Expect};
use crate::pkce;
use crate::scopes::split_granted;
use crate::secret::Secret;
use crate::settings::{Grant, Platform, RawSettings, Settings};
use crate::wire;

/// Unix seconds between 2001 and 2514: anything else is not a clock reading.
pub fn check_now(now: i64) -> CResult<()> {
    if (1_000_000_000..=17_179_869_184).contains(&now) {
        Ok(())
    } else {
        Err(ConnectorError::invalid("now", "now must be the current time in Unix seconds."))
    }
}

fn check_secret_len(field: &str, s: &Secret, max: usize) -> CResult<()> {
    if s.is_empty() {
        return Err(ConnectorError::invalid(field, format!("{field} must not be empty.")));
    }
    if s.len() > max {
        return Err(ConnectorError::invalid(field, format!("{field} is longer than {max} bytes.")));
    }
    if s.expose().bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(ConnectorError::invalid(field, format!("{field} contains spaces or control characters.")));
    }
    Ok(())
}

pub type ExchangeInput = connector_interface::ExchangeCodeInput<RawSettings>;
pub type RefreshInput = connector_interface::RefreshTokenInput<RawSettings>;
pub type ClientCredentialsInput = connector_interface::ClientCredentialsInput<RawSettings>;
pub use connector_interface::token::{Grant as TokenGrant, TokenSet};

/// What a token request carries to prove the app's identity.
pub enum ClientAuth {
    /// A public client: nothing.
    None,
    Secret(Secret),
    /// A client assertion: signed for a certificate credential, or a workload identity's token.
    Assertion(Secret),
}

impl ClientAuth {
    fn push<'a>(&'a self, fields: &mut Vec<(&'a str, &'a str)>) {
        match self {
            ClientAuth::None => {}
            ClientAuth::Secret(secret) => fields.push(("client_secret", secret.expose())),
            ClientAuth::Assertion(jwt) => {
                fields.push(("client_assertion_type", assertion::ASSERTION_TYPE));
                fields.push(("client_assertion", jwt.expose()));
            }
        }
    }
}

/// The proof of identity for one token request: the secret as is, or an assertion the host
/// signs now (a fresh one for every request: its `jti` is single use).
pub fn client_auth(
    s: &Settings,
    now: i64,
    assertion_id: Option<&str>,
    host: &mut dyn HttpClient,
) -> CResult<ClientAuth> {
    Ok(match &s.client.credential {
        Credential::None => ClientAuth::None,
        Credential::Secret(secret) => ClientAuth::Secret(secret.clone()),
        Credential::Certificate(cert) => {
            let jti = assertion::check_assertion_id(assertion_id)?;
            let audience = s.endpoints.token(&s.tenant);
            let claims = assertion::Claims { client_id: &s.client.id, audience: &audience, now, jti };
            ClientAuth::Assertion(assertion::build(cert, &claims, host)?)
        }
        // Read anew for every request: the workload's runtime rotates the token.
        Credential::Federated(source) => ClientAuth::Assertion(federated::token(source, host)?),
    })
}

/// A token request: the grant's own fields, then what every token request carries as MSAL
/// sends it (`client_info=1`, the `claims` with the client's capabilities, the credential) and
/// its headers (`wire::identity_platform`).
fn token_request<'a>(
    s: &Settings,
    mut fields: Vec<(&'a str, &'a str)>,
    claims: Option<&'a str>,
    auth: &'a ClientAuth,
) -> HttpRequest {
    fields.push(("client_info", "1"));
    if let Some(c) = claims {
        fields.push(("claims", c));
    }
    auth.push(&mut fields);
    wire::identity_platform(HttpRequest::post_form(s.endpoints.token(&s.tenant), encode::pairs(fields)))
}

/// The form body of the token request (fields in the documented order).
pub fn code_request(
    s: &Settings,
    redirect_uri: &str,
    code: &Secret,
    verifier: &Secret,
    claims: Option<&str>,
    auth: &ClientAuth,
) -> HttpRequest {
    let scope = s.scopes.delegated_request();
    let fields: Vec<(&str, &str)> = vec![
        ("client_id", &s.client.id),
        ("grant_type", "authorization_code"),
        ("scope", &scope),
        ("code", code.expose()),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier.expose()),
    ];
    token_request(s, fields, claims, auth)
}

pub fn refresh_request(s: &Settings, refresh_token: &Secret, claims: Option<&str>, auth: &ClientAuth) -> HttpRequest {
    let scope = s.scopes.delegated_request();
    let fields: Vec<(&str, &str)> = vec![
        ("client_id", &s.client.id),
        ("grant_type", "refresh_token"),
        ("scope", &scope),
        ("refresh_token", refresh_token.expose()),
    ];
    token_request(s, fields, claims, auth)
}

pub fn client_credentials_request(s: &Settings, claims: Option<&str>, auth: &ClientAuth) -> HttpRequest {
    let scope = s.scopes.app_request();
    let fields: Vec<(&str, &str)> =
        vec![("client_id", &s.client.id), ("grant_type", "client_credentials"), ("scope", &scope)];
    token_request(s, fields, claims, auth)
}

/// `uid.utid` from a token answer's `client_info` (base64url JSON `{"uid", "utid"}`).
fn home_account_id(client_info: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(client_info.trim_end_matches('=')).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    let part =
        |k: &str| v.get(k).and_then(Value::as_str).filter(|p| !p.is_empty() && p.len() <= 64 && !p.contains('.'));
    Some(format!("{}.{}", part("uid")?, part("utid")?))
}

/// What a successful token answer holds.
#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    expires_in: Option<Value>,
    #[serde(default)]
    access_token: Option<Secret>,
    #[serde(default)]
    refresh_token: Option<Secret>,
    #[serde(default)]
    id_token: Option<Secret>,
    #[serde(default)]
    client_info: Option<String>,
}

fn invalid_response(why: &str) -> ConnectorError {
    ConnectorError::plain(
        ErrorCode::InvalidResponse,
        format!("Microsoft Entra ID answered the token request with something that is not a token response: {why}."),
    )
}

/// Reads a 2xx token answer into a token set.
pub fn parse_token_response(s: &Settings, body: &str, grant: TokenGrant, expect: &Expect) -> CResult<TokenSet> {
    let r: TokenResponse =
        serde_json::from_str(body).map_err(|_| invalid_response("the body is not a JSON token response"))?;
    let access_token = r.access_token.filter(|t| !t.is_empty()).ok_or_else(|| invalid_response("no access_token"))?;
    let expires_in = match &r.expires_in {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
    .filter(|e| (0..=31_536_000).contains(e))
    .ok_or_else(|| invalid_response("no valid expires_in"))?;
    let token_type = r.token_type.unwrap_or_else(|| "Bearer".into());
    if !token_type.eq_ignore_ascii_case("bearer") {
        return Err(invalid_response("the token type is not Bearer"));
    }
    let mut notes = Vec::new();
    let scopes = match r.scope.as_deref().map(split_granted) {
        Some(v) if !v.is_empty() => v,
        _ => {
            let requested = if grant == TokenGrant::ClientCredentials {
                s.scopes.app_request()
            } else {
                s.scopes.delegated_request()
            };
            requested.split(' ').map(str::to_string).collect()
        }
    };
    let mut identity = match &r.id_token {
        Some(t) => Some(idtoken::validate(t, s, expect)?),
        None if grant == TokenGrant::ClientCredentials => idtoken::app_identity(&access_token),
        None => None,
    };
    if let (Some(i), Some(info)) = (identity.as_mut(), r.client_info.as_deref()) {
        i.home_account_id = home_account_id(info);
    }
    let rotated = r.refresh_token.as_ref().is_some_and(|t| !t.is_empty());
    if grant == TokenGrant::RefreshToken && !rotated {
        notes.push("Microsoft did not return a new refresh token; keep the current one.".to_string());
    }
    if matches!(grant, TokenGrant::AuthorizationCode | TokenGrant::DeviceCode) && !rotated {
        notes.push("No refresh token was issued (offline_access was not granted); someone must sign in again when the access token expires.".to_string());
    }
    Ok(TokenSet {
        access_token,
        token_type: "Bearer".into(),
        expires_at: expect.now.saturating_add(expires_in),
        expires_in,
        scopes,
        refresh_token: r.refresh_token.filter(|t| !t.is_empty()),
        refresh_token_rotated: rotated,
        id_token: r.id_token,
        identity,
        grant,
        notes,
    })
}

/// The secret values a token request carries (form fields), so a classification never echoes them.
fn request_secrets(request: &HttpRequest) -> Vec<String> {
    let body = request.body.as_deref().unwrap_or("");
    form_urlencoded::parse(body.as_bytes())
        .filter(|(k, _)| {
            matches!(k.as_ref(), "code" | "code_verifier" | "refresh_token" | "client_secret" | "client_assertion")
        })
        .map(|(_, v)| v.into_owned())
        .collect()
}

/// One form field of a request's body.
fn form_value(request: &HttpRequest, name: &str) -> Option<String> {
    let body = request.body.as_deref().unwrap_or("");
    form_urlencoded::parse(body.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// Sends a token request and reads the answer, classifying any failure.
fn run(
    http: &mut dyn HttpClient,
    s: &Settings,
    mut request: HttpRequest,
    phase: Phase,
    grant: TokenGrant,
    expect: &Expect,
    redirect_uri: Option<&str>,
) -> CResult<TokenSet> {
    match http.send(&mut request) {
        HttpOutcome::TransportError(t) => Err(ConnectorError::classified(classify::from_transport(phase, &t))),
        HttpOutcome::Response(r) if r.is_success() => parse_token_response(s, &r.body, grant, expect),
        HttpOutcome::Response(r) => {
            let secrets = request_secrets(&request);
            let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
            let mut c = classify::from_response(phase, &r, redirect_uri, &secrets);
            match (c.code, &s.client.credential) {
                (Class::CertificateNotAccepted, Credential::Certificate(cert)) => {
                    // Entra quotes the hash the assertion named; the admin center lists SHA-1.
                    c.remediation.push_str(&format!(
                        " This connection's certificate has SHA-1 thumbprint {}.",
                        cert.sha1_thumbprint()
                    ));
                }
                (Class::FederatedCredentialMismatch, Credential::Federated(_)) => {
                    let sent = form_value(&request, "client_assertion");
                    if let Some(presented) = sent.as_deref().and_then(federated::presented) {
                        c.remediation.push(' ');
                        c.remediation.push_str(&presented);
                    }
                }
                _ => {}
            }
            Err(ConnectorError::classified(c))
        }
    }
}

pub fn exchange_code(input: &ExchangeInput, platform: &Platform, http: &mut dyn HttpClient) -> CResult<TokenSet> {
    let s = Settings::validate(&input.settings, platform)?;
    if s.grant == Grant::ClientCredentials {
        return Err(ConnectorError::invalid(
            "settings.grant",
            "App-only connections (client credentials) have no authorization code; use the client_credentials export.",
        ));
    }
    check_redirect_uri("redirect_uri", &input.redirect_uri)?;
    check_secret_len("code", &input.code, 4096)?;
    pkce::check_verifier("code_verifier", &input.code_verifier)?;
    if let Some(n) = &input.nonce {
        crate::authorize::check_opaque("nonce", n)?;
    }
    check_now(input.now)?;
    let claims = crate::cae::claims("claims", s.cae, input.claims.as_deref())?;
    let auth = client_auth(&s, input.now, input.assertion_id.as_deref(), http)?;
    let request = code_request(&s, &input.redirect_uri, &input.code, &input.code_verifier, claims.as_deref(), &auth);
    let expect = Expect { nonce: input.nonce.as_deref(), now: input.now };
    run(http, &s, request, Phase::Token, TokenGrant::AuthorizationCode, &expect, Some(&input.redirect_uri))
}

pub fn refresh_token(input: &RefreshInput, platform: &Platform, http: &mut dyn HttpClient) -> CResult<TokenSet> {
    let s = Settings::validate(&input.settings, platform)?;
    check_now(input.now)?;
    let claims = crate::cae::claims("claims", s.cae, input.claims.as_deref())?;
    if s.grant == Grant::ClientCredentials {
        // App-only connections have no refresh token: they get a new token instead.
        let expect = Expect { nonce: None, now: input.now };
        let auth = client_auth(&s, input.now, input.assertion_id.as_deref(), http)?;
        return run(
            http,
            &s,
            client_credentials_request(&s, claims.as_deref(), &auth),
            Phase::Refresh,
            TokenGrant::ClientCredentials,
            &expect,
            None,
        );
    }
    let Some(rt) = &input.refresh_token else {
        return Err(ConnectorError::invalid(
            "refresh_token",
            "refresh_token is required for a connection with a signed-in user.",
        ));
    };
    check_secret_len("refresh_token", rt, 16 * 1024)?;
    let expect = Expect { nonce: None, now: input.now };
    let auth = client_auth(&s, input.now, input.assertion_id.as_deref(), http)?;
    let request = refresh_request(&s, rt, claims.as_deref(), &auth);
    run(http, &s, request, Phase::Refresh, TokenGrant::RefreshToken, &expect, None)
}

pub fn client_credentials(
    input: &ClientCredentialsInput,
    platform: &Platform,
    http: &mut dyn HttpClient,
) -> CResult<TokenSet> {
    let s = Settings::validate(&input.settings, platform)?;
    if s.grant != Grant::ClientCredentials {
        return Err(ConnectorError::invalid("settings.grant", "Set grant to client_credentials for app-only access."));
    }
    check_now(input.now)?;
    let claims = crate::cae::claims("claims", s.cae, input.claims.as_deref())?;
    let expect = Expect { nonce: None, now: input.now };
    let auth = client_auth(&s, input.now, input.assertion_id.as_deref(), http)?;
    let request = client_credentials_request(&s, claims.as_deref(), &auth);
    run(http, &s, request, Phase::Token, TokenGrant::ClientCredentials, &expect, None)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod parity;
