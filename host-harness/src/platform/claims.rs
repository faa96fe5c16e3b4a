//! Claims challenges (Continuous Access Evaluation, Conditional Access step-up): a provider
//! refuses a token with a 401 that names the claims a new token must carry. The platform keeps
//! them with the connection and asks for a token set that meets them: a refresh carrying the
//! claims when the refresh token is still good, else the connection needs a sign-in, and the
//! next "Save and authorize" carries them. A token set issued with them clears them.

use std::collections::BTreeMap;

use connector_interface::{ClassifyErrorInput, Phase};

use super::error::PlatformError;
use super::{Platform, Record};

impl Platform {
    /// A flow's claims challenge for the connection `name`: the `WWW-Authenticate` header of the
    /// provider's 401. Answers a token that meets the claims (and when it expires), or the error
    /// that says someone must sign in again.
    pub fn claims_challenge(&self, name: &str, www_authenticate: &str) -> Result<(String, Option<i64>), PlatformError> {
        let claims = self.decode_challenge(www_authenticate)?;
        let r = self.answer_claims(name, &claims)?;
        Ok((r.secrets.access_token.clone().unwrap_or_default(), r.expires_at))
    }

    /// The claims a `WWW-Authenticate` header asks for, as the connector reads them.
    fn decode_challenge(&self, www_authenticate: &str) -> Result<String, PlatformError> {
        let not_one = || {
            PlatformError::Request(
                "claims_challenge must be the WWW-Authenticate header of a 401 that carries error=\"insufficient_claims\" and claims=\"...\"."
                    .into(),
            )
        };
        if www_authenticate.len() > 16 * 1024 {
            return Err(not_one());
        }
        let input = ClassifyErrorInput {
            status: Some(401),
            headers: BTreeMap::from([("www-authenticate".to_string(), www_authenticate.to_string())]),
            ..ClassifyErrorInput::new(Phase::Graph)
        };
        let c = self.host.v1().classify_error(&input)??;
        c.claims.ok_or_else(not_one)
    }

    /// Keeps `claims` with the connection, then refreshes with them. A refusal that needs a
    /// sign-in marks the connection so (the claims stay for the sign-in); a connection that
    /// needs one already is not refreshed again.
    pub(super) fn answer_claims(&self, name: &str, claims: &str) -> Result<Record, PlatformError> {
        self.change(name, |r| r.secrets.claims = Some(claims.to_string()))?;
        Self::usable(&self.store.get(name)?)?;
        tracing::info!(connection = %name, "claims challenge: asking for a token set that meets it");
        let r = self.refresh(name)?;
        Self::usable(&r)?;
        Ok(r)
    }
}
