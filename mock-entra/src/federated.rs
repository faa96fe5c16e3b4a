//! Workload identity federation checked as Entra checks it (learn.microsoft.com/entra/workload-id/
//! workload-identity-federation): a client assertion whose issuer is not the app itself is a
//! token of another issuer, matched against the app's federated credentials by issuer, then
//! subject (case-sensitive since 2024), then audience; its signature verified with the issuer's
//! key and its time window checked. Unlike a certificate's assertion the same token may be
//! presented many times while it is valid (a projected token is reused until rotated).

use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use serde_json::{Map, Value};

use super::aadsts;
use super::assertion::RegisteredCertificate;
use super::model::App;
use super::respond::aad_error;

/// Clock skew tolerated on `nbf` and `exp`.
const SKEW_SECS: i64 = 300;

/// A federated identity credential on an app (Certificates & secrets > Federated credentials),
/// with the issuer's signing key the mock trusts in place of fetching the issuer's JWKS.
#[derive(Clone)]
pub struct FederatedCredential {
    pub issuer: String,
    pub subject: String,
    /// Normally `api://AzureADTokenExchange`.
    pub audience: String,
    /// The issuer's signing certificate (its public key verifies the token).
    pub issuer_certificate: RegisteredCertificate,
}

/// The audiences a token names (`aud` is a string or an array).
fn audiences(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// Checks a federated token presented as `app`'s client assertion.
pub(crate) fn check(now: i64, app: &App, token: &str, claims: &Map<String, Value>) -> Result<(), Response> {
    let claim = |n: &str| claims.get(n).and_then(Value::as_str).unwrap_or("");
    let (iss, sub) = (claim("iss"), claim("sub"));
    let by_issuer: Vec<&FederatedCredential> = app.federated.iter().filter(|f| f.issuer == iss).collect();
    if by_issuer.is_empty() {
        return Err(aad_error(now, &aadsts::FEDERATED_ISSUER, &[iss]));
    }
    let by_subject: Vec<&&FederatedCredential> = by_issuer.iter().filter(|f| f.subject == sub).collect();
    if by_subject.is_empty() {
        let code = if by_issuer.iter().any(|f| f.subject.eq_ignore_ascii_case(sub)) {
            &aadsts::FEDERATED_SUBJECT_CASE
        } else {
            &aadsts::FEDERATED_SUBJECT
        };
        return Err(aad_error(now, code, &[sub]));
    }
    let aud = audiences(claims);
    let Some(credential) = by_subject.iter().find(|f| aud.contains(&f.audience)) else {
        return Err(aad_error(now, &aadsts::FEDERATED_AUDIENCE, &[&aud.join(",")]));
    };
    let (input, sig) = token.rsplit_once('.').unwrap_or((token, ""));
    let signature = URL_SAFE_NO_PAD.decode(sig).unwrap_or_default();
    let key = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &credential.issuer_certificate.public_key);
    if key.verify(input.as_bytes(), &signature).is_err() {
        return Err(aad_error(
            now,
            &aadsts::ASSERTION_INVALID_SIGNATURE,
            &["The federated token's signature does not verify with the issuer's keys.", "", &app.client_id],
        ));
    }
    let time = |n: &str| claims.get(n).and_then(Value::as_i64);
    let (nbf, exp) = (time("nbf").or(time("iat")).unwrap_or(i64::MIN), time("exp"));
    match exp {
        Some(exp) if nbf <= now + SKEW_SECS && now <= exp + SKEW_SECS => Ok(()),
        _ => {
            let d = |t: Option<i64>| t.map(|t| t.to_string()).unwrap_or_else(|| "none".into());
            Err(aad_error(now, &aadsts::ASSERTION_TIME, &[&now.to_string(), &d(time("nbf")), &d(exp)]))
        }
    }
}
