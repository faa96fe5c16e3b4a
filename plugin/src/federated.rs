//! Workload identity federation (learn.microsoft.com/entra/workload-id/workload-identity-federation):
//! the client assertion is a token another issuer gave the platform's workload (a Kubernetes
//! projected service-account token, a CI job's OIDC token), which the app registration trusts
//! through a federated credential (issuer, subject, audience).
//!
//! The host reads the token file again for every request (`connector_federated_token`): the
//! runtime rotates it and a kept copy expires (AADSTS700024).

use connector_interface::federated::{FederatedTokenOutcome, FederatedTokenRequest};
use serde_json::Value;

use crate::error::{CResult, ConnectorError, ErrorCode};
use crate::http::HttpClient;
use crate::jwt;
use crate::secret::Secret;

/// A token larger than this is not one.
const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// The workload identity's token as the host reads it now.
pub fn token(source: &str, host: &mut dyn HttpClient) -> CResult<Secret> {
    match host.federated_token(&FederatedTokenRequest { source: source.to_string() }) {
        FederatedTokenOutcome::Token(t) if !t.is_empty() && t.len() <= MAX_TOKEN_BYTES => Ok(Secret::new(t)),
        FederatedTokenOutcome::Token(_) => Err(ConnectorError::plain(
            ErrorCode::NotConfigured,
            "The platform's workload identity token is empty or too large to be a token.",
        )),
        FederatedTokenOutcome::Error(f) => Err(ConnectorError::plain(
            ErrorCode::NotConfigured,
            format!(
                "The platform could not read its workload identity token ({}): {}. The platform administrator must check that the federated token file (AZURE_FEDERATED_TOKEN_FILE) is mounted and readable.",
                f.code.chars().take(40).collect::<String>(),
                f.message.chars().take(200).collect::<String>()
            ),
        )),
    }
}

/// What the presented token says about itself (issuer, subject, audience): the values the app's
/// federated credential must hold exactly. Claims are not secret; the token's signature is
/// never quoted.
pub fn presented(assertion: &str) -> Option<String> {
    let claims = jwt::claims(assertion)?;
    let text = |name: &str| -> String {
        let v = match claims.get(name) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "),
            _ => "(none)".into(),
        };
        v.chars().filter(|c| !c.is_control()).take(200).collect()
    };
    Some(format!(
        "The platform's token has issuer \"{}\", subject \"{}\" and audience \"{}\": the app's federated credential (App registrations > the app > Certificates & secrets > Federated credentials) must have exactly this Issuer, Subject identifier and Audience.",
        text("iss"),
        text("sub"),
        text("aud")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{HttpOutcome, HttpRequest};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    struct Files(Vec<FederatedTokenOutcome>);
    impl HttpClient for Files {
        fn send(&mut self, _: &mut HttpRequest) -> HttpOutcome {
            unreachable!()
        }
        fn federated_token(&mut self, r: &FederatedTokenRequest) -> FederatedTokenOutcome {
            assert_eq!(r.source, "host-token:platform.federated_token_file");
            self.0.remove(0)
        }
    }

    #[test]
    fn asks_the_host_every_time_and_explains_what_it_could_not_do() {
        let mut host = Files(vec![
            FederatedTokenOutcome::Token("a.b.c".into()),
            FederatedTokenOutcome::Token("d.e.f".into()),
            FederatedTokenOutcome::failed("unreadable", "cannot read the file it names: entity not found"),
            FederatedTokenOutcome::Token(String::new()),
        ]);
        let source = "host-token:platform.federated_token_file";
        assert_eq!(token(source, &mut host).unwrap().expose(), "a.b.c");
        assert_eq!(token(source, &mut host).unwrap().expose(), "d.e.f");
        let e = token(source, &mut host).unwrap_err();
        assert!(e.message().contains("AZURE_FEDERATED_TOKEN_FILE") && e.message().contains("not found"));
        assert!(token(source, &mut host).is_err());
        // A host without the function.
        let mut bare = |_: &HttpRequest| -> HttpOutcome { unreachable!() };
        assert!(token(source, &mut bare).unwrap_err().message().contains("not_offered"));
    }

    #[test]
    fn names_the_presented_issuer_subject_and_audience() {
        let claims = r#"{"iss":"https://oidc.example/cluster","sub":"system:serviceaccount:ns:sync","aud":["api://AzureADTokenExchange"]}"#;
        let jwt = format!("e30.{}.c2ln", URL_SAFE_NO_PAD.encode(claims));
        let text = presented(&jwt).unwrap();
        for part in ["https://oidc.example/cluster", "system:serviceaccount:ns:sync", "api://AzureADTokenExchange"] {
            assert!(text.contains(part), "{text}");
        }
        assert!(!text.contains("c2ln"));
        assert!(presented("not a jwt").is_none());
    }
}
