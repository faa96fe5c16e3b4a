//! The client assertion a certificate credential sends in place of a client secret
//! (learn.microsoft.com/entra/identity-platform/certificate-credentials; RFC 7523): a JWT the
//! host signs with the certificate's private key through `connector_sign`.
//!
//! Header: `alg` PS256, `typ` JWT, `x5t#S256` (and `x5c` when the chain is sent). Claims: `aud`
//! the token endpoint, `iss` = `sub` = the client id, `jti` from the host, `nbf` = `iat` = now,
//! `exp` = now + 600. RS256 with a SHA-1 `x5t` is the older form (MSAL keeps it for ADFS); Entra
//! takes PS256, so that is what this connector sends.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use connector_interface::sign::{SignAlgorithm, SignOutcome, SignRequest};
use serde_json::json;

use crate::credential::Certificate;
use crate::error::{CResult, ConnectorError, ErrorCode};
use crate::http::HttpClient;
use crate::secret::Secret;
use crate::settings::is_guid;

/// How long an assertion is valid (MSAL: 10 minutes).
pub const LIFETIME_SECS: i64 = 600;

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What an assertion says; built from the settings and the call's inputs.
pub struct Claims<'a> {
    pub client_id: &'a str,
    /// The token endpoint of the connection's cloud and tenant.
    pub audience: &'a str,
    pub now: i64,
    pub jti: &'a str,
}

/// The signing input (`base64url(header) . base64url(claims)`) of an assertion.
pub fn signing_input(cert: &Certificate, c: &Claims) -> String {
    let mut header = json!({"alg": "PS256", "typ": "JWT", "x5t#S256": cert.x5t_s256()});
    if cert.send_chain {
        header["x5c"] = json!(cert.x5c());
    }
    let claims = json!({
        "aud": c.audience,
        "iss": c.client_id,
        "sub": c.client_id,
        "jti": c.jti,
        "nbf": c.now,
        "iat": c.now,
        "exp": c.now + LIFETIME_SECS,
    });
    format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()))
}

/// Checks the host's assertion id (a GUID, as MSAL's `jti`).
pub fn check_assertion_id(id: Option<&str>) -> CResult<&str> {
    match id {
        Some(id) if is_guid(id) => Ok(id),
        Some(_) => Err(ConnectorError::invalid("assertion_id", "assertion_id must be a random GUID.")),
        None => Err(ConnectorError::invalid(
            "assertion_id",
            "assertion_id (a random GUID from the host) is required when the app signs in with a certificate.",
        )),
    }
}

/// Builds and has the host sign an assertion.
pub fn build(cert: &Certificate, c: &Claims, host: &mut dyn HttpClient) -> CResult<Secret> {
    let input = signing_input(cert, c);
    let request = SignRequest {
        key: cert.key.clone(),
        algorithm: SignAlgorithm::PS256,
        data: URL_SAFE_NO_PAD.encode(input.as_bytes()),
    };
    match host.sign(&request) {
        SignOutcome::Signature(sig) if !sig.is_empty() && sig.len() <= 2048 => {
            Ok(Secret::new(format!("{input}.{sig}")))
        }
        SignOutcome::Signature(_) => Err(ConnectorError::plain(
            ErrorCode::NotConfigured,
            "The host answered the signing request with something that is not a signature.",
        )),
        SignOutcome::Error(f) => Err(ConnectorError::plain(
            ErrorCode::NotConfigured,
            format!(
                "The platform could not sign the certificate's client assertion ({}): {}",
                f.code.chars().take(40).collect::<String>(),
                f.message.chars().take(200).collect::<String>()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{HttpOutcome, HttpRequest};
    use serde_json::Value;

    const PEM: &str = include_str!("../tests/fixtures/certificate.pem");

    struct Signing(Vec<SignRequest>);
    impl HttpClient for Signing {
        fn send(&mut self, _: &mut HttpRequest) -> HttpOutcome {
            unreachable!()
        }
        fn sign(&mut self, r: &SignRequest) -> SignOutcome {
            self.0.push(r.clone());
            SignOutcome::Signature("c2ln".into())
        }
    }

    fn part(jwt: &str, i: usize) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt.split('.').nth(i).unwrap()).unwrap()).unwrap()
    }

    #[test]
    fn header_and_claims_as_entra_documents_them() {
        let cert = Certificate::new("c", PEM, "k", "host-key:k", false).unwrap();
        let claims = Claims {
            client_id: "11111111-2222-3333-4444-555555555555",
            audience: "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token",
            now: 1_700_000_000,
            jti: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        };
        let mut host = Signing(Vec::new());
        let jwt = build(&cert, &claims, &mut host).unwrap();
        let h = part(jwt.expose(), 0);
        assert_eq!(h, json!({"alg": "PS256", "typ": "JWT", "x5t#S256": cert.x5t_s256()}));
        let c = part(jwt.expose(), 1);
        assert_eq!(c["aud"], claims.audience);
        assert_eq!((c["iss"].as_str(), c["sub"].as_str()), (Some(claims.client_id), Some(claims.client_id)));
        assert_eq!(
            (c["nbf"].as_i64(), c["iat"].as_i64(), c["exp"].as_i64()),
            (Some(claims.now), Some(claims.now), Some(claims.now + 600))
        );
        assert_eq!(c["jti"], claims.jti);
        assert!(jwt.expose().ends_with(".c2ln"));
        // The host was asked to sign exactly the first two parts, with the reference.
        let r = &host.0[0];
        assert_eq!(r.key, "host-key:k");
        assert_eq!(URL_SAFE_NO_PAD.decode(&r.data).unwrap(), jwt.expose().rsplit_once('.').unwrap().0.as_bytes());
        // With the chain.
        let cert = Certificate { send_chain: true, ..cert };
        let jwt = build(&cert, &claims, &mut host).unwrap();
        assert_eq!(part(jwt.expose(), 0)["x5c"], json!(cert.x5c()));
    }

    #[test]
    fn a_host_without_signing_is_a_clear_error() {
        let cert = Certificate::new("c", PEM, "k", "host-key:k", false).unwrap();
        let claims = Claims { client_id: "x", audience: "a", now: 1_700_000_000, jti: "j" };
        let e = build(&cert, &claims, &mut crate::http::NoHttp).unwrap_err();
        assert_eq!(e.code(), "not_configured");
        assert!(e.message().contains("not_offered"), "{}", e.message());
        assert!(check_assertion_id(None).is_err());
        assert!(check_assertion_id(Some("x")).is_err());
        assert!(check_assertion_id(Some("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")).is_ok());
    }
}
