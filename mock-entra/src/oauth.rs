//! What the sign-in side's endpoints share: tenants in the path, redirect URI matching,
//! scopes and their resources. The endpoints live in `discovery.rs`, `authorize.rs` (with the
//! consent page), `admin_consent.rs` and `token.rs`, per
//! learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow, refresh-tokens,
//! v2-oauth2-client-creds-grant-flow, v2-admin-consent and reference-error-codes.

use super::graph::GRAPH_RESOURCE;

pub(crate) const OIDC: [&str; 4] = ["openid", "profile", "email", "offline_access"];
pub(crate) const CODE_LIFETIME: i64 = 600;

pub(crate) fn tenant_segment(path: &str) -> &str {
    path.trim_start_matches('/').split('/').next().unwrap_or("")
}

/// Redirect URIs match exactly, except that the port of an http://localhost URI is ignored (RFC 8252).
pub(crate) fn redirect_matches(registered: &str, given: &str) -> bool {
    fn strip_port(u: &str) -> String {
        match u.strip_prefix("http://localhost:") {
            Some(rest) => format!("http://localhost{}", &rest[rest.find('/').unwrap_or(rest.len())..]),
            None => u.to_string(),
        }
    }
    registered == given || (given.starts_with("http://localhost") && strip_port(registered) == strip_port(given))
}

/// The resource of a scope (`User.Read` and `https://graph.microsoft.com/User.Read` are Graph).
pub(crate) fn resource_of(scope: &str) -> Option<String> {
    if OIDC.contains(&scope.to_ascii_lowercase().as_str()) {
        return None;
    }
    if scope.contains("://") {
        let i = scope.rfind('/')?;
        return Some(scope[..i].to_ascii_lowercase());
    }
    Some(GRAPH_RESOURCE.to_string())
}

pub(crate) fn permission(scope: &str) -> &str {
    if scope.contains("://") {
        scope.rsplit('/').next().unwrap_or(scope)
    } else {
        scope
    }
}

/// Refuses scopes of several resources (AADSTS700022).
pub(crate) fn check_one_resource(scopes: &[String]) -> Result<(), String> {
    let mut resources: Vec<String> = scopes.iter().filter_map(|s| resource_of(s)).collect();
    resources.dedup();
    resources.sort();
    resources.dedup();
    if resources.len() > 1 {
        return Err(format!("The provided value for the input parameter scope is not valid because it contains more than one resource. Scope {} is not valid.", scopes.join(" ")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_port_is_ignored() {
        assert!(redirect_matches("http://localhost/callback", "http://localhost:5123/callback"));
        assert!(!redirect_matches("http://localhost/callback", "http://localhost:5123/other"));
        assert!(!redirect_matches("https://a.example/cb", "https://a.example/cb/"));
        assert!(redirect_matches("https://a.example/cb", "https://a.example/cb"));
    }

    #[test]
    fn one_resource() {
        assert!(check_one_resource(&[
            "User.Read".into(),
            "https://graph.microsoft.com/Mail.Read".into(),
            "openid".into()
        ])
        .is_ok());
        assert!(check_one_resource(&["User.Read".into(), "https://management.azure.com/user_impersonation".into()])
            .is_err());
    }
}
