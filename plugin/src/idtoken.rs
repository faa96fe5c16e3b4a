//! id_token checks (learn.microsoft.com/entra/identity-platform/id-token-claims-reference).
//!
//! The signature is not checked: the token comes straight from the token endpoint over TLS
//! (OpenID Connect Core 3.1.3.7 item 6). What is checked: `aud` is our client id, `iss` is
//! `https://{issuer host of the cloud}/{tid}/v2.0`, `tid` matches a tenant GUID setting, the
//! `nonce` matches the one sent, and the token is not expired at the host's `now`.

use crate::cloud::authority_of;
use crate::error::{CResult, ConnectorError, ErrorCode};
use crate::jwt::{self, int, str_claim, text, IdClaims};
use crate::secret::Secret;
use crate::settings::{is_guid, Settings};

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const SKEW: i64 = 300;

pub use connector_interface::token::Identity;

/// What the id_token must match.
pub struct Expect<'a> {
    pub nonce: Option<&'a str>,
    pub now: i64,
}

fn invalid(reason: &str) -> ConnectorError {
    ConnectorError::plain(
        ErrorCode::IdTokenInvalid,
        format!("The id_token from Microsoft Entra ID was refused: {reason}. Nothing was stored; sign in again."),
    )
}

/// At most 128 characters of `s`, control characters left out.
fn clip(s: &str) -> String {
    // Nearly always the whole text, copied at once.
    if s.len() <= 128 && !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars().filter(|c| !c.is_control()).take(128).collect()
}

pub fn validate(token: &Secret, s: &Settings, expect: &Expect) -> CResult<Identity> {
    let unreadable = || invalid("it is not a readable JWT");
    let payload = jwt::payload(token.expose()).ok_or_else(unreadable)?;
    let c = IdClaims::read(&payload).ok_or_else(unreadable)?;
    let aud_ok = match &c.aud {
        Some(serde_json::Value::String(a)) => a.eq_ignore_ascii_case(&s.client.id),
        Some(serde_json::Value::Array(v)) => {
            v.iter().any(|a| a.as_str().is_some_and(|a| a.eq_ignore_ascii_case(&s.client.id)))
        }
        _ => false,
    };
    if !aud_ok {
        return Err(invalid("its audience (aud) is not this connection's client ID"));
    }
    let tid = text(&c.tid).filter(|t| is_guid(t)).ok_or_else(|| invalid("it has no tenant ID (tid)"))?;
    let iss = text(&c.iss).ok_or_else(|| invalid("it has no issuer (iss)"))?;
    let host = authority_of(iss);
    let scheme_ok = iss.starts_with("https://") || (s.endpoints.overridden && iss.starts_with("http://"));
    let path = &iss[iss.find(host).map(|i| i + host.len()).unwrap_or(0)..];
    if !scheme_ok || !s.endpoints.issuer_hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return Err(invalid(&format!("its issuer host '{}' is not one of the {} cloud's", clip(host), s.cloud.id)));
    }
    let own_tenant = path.strip_prefix('/').and_then(|p| p.strip_suffix("/v2.0")).is_some_and(|t| t == tid);
    if !own_tenant {
        return Err(invalid("its issuer does not name its own tenant"));
    }
    if is_guid(&s.tenant) && !tid.eq_ignore_ascii_case(&s.tenant) {
        return Err(invalid("it was issued for another tenant than the connection's"));
    }
    match (expect.nonce, text(&c.nonce)) {
        (Some(sent), Some(got)) if sent == got => {}
        (Some(_), _) => return Err(invalid("its nonce does not match the one sent with the sign-in")),
        (None, _) => {}
    }
    let exp = int(&c.exp).ok_or_else(|| invalid("it has no expiry (exp)"))?;
    if expect.now > exp + SKEW {
        return Err(invalid("it has expired"));
    }
    if int(&c.nbf).is_some_and(|nbf| nbf > expect.now + SKEW) {
        return Err(invalid("it is not valid yet (nbf)"));
    }
    Ok(Identity {
        tenant_id: tid.to_ascii_lowercase(),
        object_id: text(&c.oid).map(clip),
        username: text(&c.preferred_username).map(clip),
        display_name: text(&c.name).map(clip),
        app_id: None,
        home_account_id: None,
    })
}

/// The identity of an app-only token, read from the access token when it is a JWT.
pub fn app_identity(access_token: &Secret) -> Option<Identity> {
    let c = jwt::claims(access_token.expose())?;
    Some(Identity {
        tenant_id: str_claim(&c, "tid")?.to_string(),
        object_id: str_claim(&c, "oid").map(clip),
        username: None,
        display_name: str_claim(&c, "app_displayname").map(clip),
        app_id: str_claim(&c, "appid").or(str_claim(&c, "azp")).map(clip),
        home_account_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn clip_keeps_128_characters_without_control_ones(s in "(.|[\u{0}-\u{1f}\u{7f}-\u{9f}]){0,200}") {
            let clipped = clip(&s);
            proptest::prop_assert_eq!(&clipped, &s.chars().filter(|c| !c.is_control()).take(128).collect::<String>());
            proptest::prop_assert!(clipped.chars().count() <= 128 && !clipped.chars().any(char::is_control));
        }
    }
}
