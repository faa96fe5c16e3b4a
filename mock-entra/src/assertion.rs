//! Client assertions (certificate credentials) checked as Entra checks them
//! (learn.microsoft.com/entra/identity-platform/certificate-credentials): the certificate is
//! found by the header's `x5t#S256` (PS256) or `x5t` (RS256, SHA-1) among the app's registered
//! ones, the signature verified with its public key, then `iss`/`sub`, `aud`, the time window and
//! the `jti`. Each refusal is Entra's own error.

use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::aadsts;
use super::model::App;
use super::respond::aad_error;
use super::State;

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Clock skew Entra tolerates on `nbf` and `exp` (5 minutes, as its token validation does).
const SKEW_SECS: i64 = 300;

/// A certificate registered on an app (Certificates & secrets > Upload certificate).
#[derive(Clone, PartialEq, Eq)]
pub struct RegisteredCertificate {
    pub der: Vec<u8>,
    /// The subject public key (DER `RSAPublicKey`).
    pub public_key: Vec<u8>,
}

impl RegisteredCertificate {
    /// Reads a PEM certificate; None when it is not one.
    pub fn from_pem(pem: &str) -> Option<RegisteredCertificate> {
        let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
        let (_, cert) = x509_parser::parse_x509_certificate(&block.contents).ok()?;
        let public_key = cert.public_key().subject_public_key.data.to_vec();
        Some(RegisteredCertificate { der: block.contents.clone(), public_key })
    }

    fn sha256(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(&self.der))
    }

    fn sha1(&self) -> String {
        URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &self.der))
    }
}

fn part(jwt: &str, i: usize) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(jwt.split('.').nth(i)?).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// The thumbprint Entra quotes: the header's, as upper-case hex of its bytes.
fn thumbprint_hex(b64: &str) -> String {
    URL_SAFE_NO_PAD.decode(b64).map(hex::encode_upper).unwrap_or_else(|_| b64.chars().take(64).collect())
}

/// Checks `assertion` for `app` at the token endpoint of `audience`.
pub(crate) fn check(s: &mut State, app: &App, assertion: &str, audience: &str) -> Result<(), Response> {
    let now = s.now();
    let invalid = |reason: &str, thumb: &str| {
        aad_error(now, &aadsts::ASSERTION_INVALID_SIGNATURE, &[reason, thumb, &app.client_id])
    };
    let (Some(header), Some(claims)) = (part(assertion, 0), part(assertion, 1)) else {
        return Err(aad_error(now, &aadsts::ASSERTION_MALFORMED, &[]));
    };
    // A token of another issuer: workload identity federation.
    let issuer = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    if !app.federated.is_empty() && !issuer.eq_ignore_ascii_case(&app.client_id) {
        return crate::federated::check(now, app, assertion, &claims);
    }
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let (thumb, cert) = match alg {
        "PS256" => {
            let t = header.get("x5t#S256").and_then(Value::as_str).unwrap_or("");
            (t, app.certificates.iter().find(|c| c.sha256() == t))
        }
        "RS256" => {
            // A SHA-256 hash in x5t is refused like an unknown key.
            let t = header.get("x5t").and_then(Value::as_str).unwrap_or("");
            (t, app.certificates.iter().find(|c| c.sha1() == t))
        }
        _ => return Err(aad_error(now, &aadsts::ASSERTION_MALFORMED, &[])),
    };
    let thumb_hex = thumbprint_hex(thumb);
    let Some(cert) = cert else {
        return Err(invalid("The key was not found.", &thumb_hex));
    };
    let (input, sig) = assertion.rsplit_once('.').unwrap_or((assertion, ""));
    let signature = URL_SAFE_NO_PAD.decode(sig).unwrap_or_default();
    let algorithm: &dyn ring::signature::VerificationAlgorithm =
        if alg == "PS256" { &RSA_PSS_2048_8192_SHA256 } else { &RSA_PKCS1_2048_8192_SHA256 };
    if UnparsedPublicKey::new(algorithm, &cert.public_key).verify(input.as_bytes(), &signature).is_err() {
        return Err(invalid("The provided signature value did not match the expected signature value.", &thumb_hex));
    }
    let claim = |n: &str| claims.get(n).and_then(Value::as_str).unwrap_or("");
    if !claim("iss").eq_ignore_ascii_case(&app.client_id) || !claim("sub").eq_ignore_ascii_case(&app.client_id) {
        return Err(aad_error(now, &aadsts::ASSERTION_OTHER_APP, &[]));
    }
    if claim("aud") != audience {
        return Err(aad_error(now, &aadsts::ASSERTION_AUDIENCE, &[]));
    }
    // MSAL.NET writes the times as strings; Entra takes both.
    let time = |n: &str| claims.get(n).and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()));
    let (nbf, exp) = (time("nbf").unwrap_or(i64::MIN), time("exp"));
    match exp {
        Some(exp) if nbf <= now + SKEW_SECS && now <= exp + SKEW_SECS => {}
        _ => {
            let d = |t: Option<i64>| t.map(|t| t.to_string()).unwrap_or_else(|| "none".into());
            return Err(aad_error(now, &aadsts::ASSERTION_TIME, &[&now.to_string(), &d(time("nbf")), &d(exp)]));
        }
    }
    let jti = claim("jti");
    if jti.is_empty() || !s.assertion_ids.insert(jti.to_string()) {
        return Err(invalid("The assertion's jti was used before.", &thumb_hex));
    }
    Ok(())
}
