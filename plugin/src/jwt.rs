//! Reading the claims of a JWT (id_token, access token) without checking its signature.
//!
//! The id_token comes straight from the token endpoint over TLS, so its issuer is vouched for by
//! TLS (OpenID Connect Core 3.1.3.7 item 6; MSAL Python checks iss, aud, exp and nonce the same
//! way). Access tokens are read only to learn the granted `scp`/`roles` for display.

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{Map, Value};

/// The claims object of a compact JWT, or None when it is not one.
pub fn claims(token: &str) -> Option<Map<String, Value>> {
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || payload.len() > 64 * 1024 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload).or_else(|_| URL_SAFE.decode(payload)).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

pub fn str_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

pub fn int_claim(claims: &Map<String, Value>, name: &str) -> Option<i64> {
    claims.get(name).and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_claims_and_refuses_garbage() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"tid":"t","exp":5}"#);
        let c = claims(&format!("eyJhbGciOiJub25lIn0.{payload}.sig")).unwrap();
        assert_eq!(str_claim(&c, "tid"), Some("t"));
        assert_eq!(int_claim(&c, "exp"), Some(5));
        assert!(claims("opaque-token").is_none());
        assert!(claims("a.b").is_none());
        assert!(claims("a.!!!.c").is_none());
        assert!(claims(&format!("a.{}.c", URL_SAFE_NO_PAD.encode(b"[1]"))).is_none());
    }
}
