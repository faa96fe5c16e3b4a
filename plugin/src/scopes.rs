//! Scope lists as Entra ID understands them (learn.microsoft.com/entra/identity-platform/scopes-oidc).
//!
//! A bare scope (`User.Read`) means Microsoft Graph; `https://host/Perm` or `api://app/Perm`
//! names its resource. One token request may carry the OIDC scopes plus the scopes of exactly
//! one resource (otherwise Entra answers AADSTS700022), and `.default` cannot be mixed with
//! dynamic scopes of the same resource.

use crate::error::{CResult, ConnectorError};

/// Scopes that belong to OpenID Connect rather than to a resource.
pub const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// What the authorization-code and refresh requests always add.
pub const SIGN_IN_SCOPES: [&str; 3] = ["openid", "profile", "offline_access"];

pub const MAX_SCOPES: usize = 100;
pub const MAX_SCOPE_LEN: usize = 256;

/// A validated, de-duplicated list of the scopes the user chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeSet {
    /// As entered, without duplicates (compared without regard to ASCII case).
    scopes: Vec<String>,
    /// The one resource the non-OIDC scopes belong to, as `https://graph.microsoft.com`.
    resource: String,
    /// True when the user asked for `.default`.
    default: bool,
}

fn is_oidc(scope: &str) -> bool {
    OIDC_SCOPES.iter().any(|o| o.eq_ignore_ascii_case(scope))
}

/// Splits `https://graph.microsoft.com/User.Read` into resource and permission; a bare scope
/// belongs to `graph_resource`.
fn split_scope<'a>(scope: &'a str, graph_resource: &str) -> (String, &'a str) {
    if scope.contains("://") {
        if let Some(i) = scope.rfind('/') {
            let (res, perm) = scope.split_at(i);
            if !res.ends_with('/') && !res.ends_with(':') {
                return (res.trim_end_matches('/').to_ascii_lowercase(), &perm[1..]);
            }
        }
        return (scope.to_ascii_lowercase(), "");
    }
    (graph_resource.to_ascii_lowercase(), scope)
}

impl ScopeSet {
    /// Validates `scopes` (field `settings.scopes`); `graph_resource` is the cloud's Graph
    /// resource, which bare scopes belong to.
    pub fn parse(scopes: &[String], graph_resource: &str) -> CResult<ScopeSet> {
        const FIELD: &str = "settings.scopes";
        if scopes.is_empty() {
            return Err(ConnectorError::invalid(FIELD, "Choose at least one scope."));
        }
        if scopes.len() > MAX_SCOPES {
            return Err(ConnectorError::invalid(
                FIELD,
                format!("{} scopes were given; at most {MAX_SCOPES} are accepted.", scopes.len()),
            ));
        }
        let mut kept: Vec<String> = Vec::new();
        let mut resources: Vec<String> = Vec::new();
        let mut default = false;
        let mut dynamic = false;
        for (i, raw) in scopes.iter().enumerate() {
            let field = || format!("{FIELD}[{i}]");
            if raw.is_empty() {
                return Err(ConnectorError::invalid(field(), "A scope must not be empty."));
            }
            if raw.chars().count() > MAX_SCOPE_LEN {
                return Err(ConnectorError::invalid(
                    field(),
                    format!("A scope is at most {MAX_SCOPE_LEN} characters."),
                ));
            }
            if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(ConnectorError::invalid(
                    field(),
                    "A scope must not contain spaces or control characters; enter each scope separately.",
                ));
            }
            if kept.iter().any(|k| k.eq_ignore_ascii_case(raw)) {
                continue;
            }
            if !is_oidc(raw) {
                let (resource, perm) = split_scope(raw, graph_resource);
                if perm.is_empty() {
                    return Err(ConnectorError::invalid(
                        field(),
                        "A scope with a resource must name a permission after it, such as https://graph.microsoft.com/User.Read.",
                    ));
                }
                if perm == ".default" {
                    default = true;
                } else {
                    dynamic = true;
                }
                if !resources.contains(&resource) {
                    resources.push(resource);
                }
            }
            kept.push(raw.clone());
        }
        if resources.len() > 1 {
            return Err(ConnectorError::invalid(
                FIELD,
                format!(
                    "The scopes belong to more than one resource ({}); Entra ID accepts the scopes of one resource per request (AADSTS700022). Create one connection per resource.",
                    resources.join(", ")
                ),
            ));
        }
        if default && dynamic {
            return Err(ConnectorError::invalid(
                FIELD,
                ".default cannot be combined with other scopes of the same resource: it already stands for every permission registered on the app.",
            ));
        }
        let resource = resources.pop().unwrap_or_else(|| graph_resource.to_ascii_lowercase());
        Ok(ScopeSet { scopes: kept, resource, default })
    }

    pub fn as_slice(&self) -> &[String] {
        &self.scopes
    }

    pub fn resource(&self) -> &str {
        &self.resource
    }

    pub fn is_default(&self) -> bool {
        self.default
    }

    /// The `scope` parameter of an authorization-code or refresh request: the user's scopes,
    /// then whichever of `openid profile offline_access` is missing (offline_access is what
    /// brings a refresh token on v2).
    pub fn delegated_request(&self) -> String {
        let mut all: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        for s in SIGN_IN_SCOPES {
            if !all.iter().any(|k| k.eq_ignore_ascii_case(s)) {
                all.push(s);
            }
        }
        all.join(" ")
    }

    /// The `scope` of a client-credentials request: `{resource}/.default`.
    pub fn app_request(&self) -> String {
        format!("{}/.default", self.resource)
    }

    /// The scopes for admin consent: resource-qualified permissions, or `{resource}/.default`.
    pub fn admin_consent_request(&self) -> String {
        if self.default || self.permissions().is_empty() {
            return self.app_request();
        }
        self.permissions().iter().map(|p| format!("{}/{p}", self.resource)).collect::<Vec<_>>().join(" ")
    }

    /// Permission names the user asked for (no OIDC scopes, no `.default`), for comparing
    /// with the `scp` or `roles` of a token.
    pub fn permissions(&self) -> Vec<String> {
        self.scopes
            .iter()
            .filter(|s| !is_oidc(s))
            .map(|s| split_scope(s, &self.resource).1.to_string())
            .filter(|p| p != ".default")
            .collect()
    }
}

/// Splits a token response's `scope` (space separated, or URL-encoded with `%20`/`+`).
pub fn split_granted(scope: &str) -> Vec<String> {
    let decoded: String = if scope.contains('%') || scope.contains('+') {
        form_urlencoded::parse(format!("s={scope}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| scope.to_string())
    } else {
        scope.to_string()
    };
    decoded.split_whitespace().map(str::to_string).collect()
}

/// The permission name of a granted scope (`https://graph.microsoft.com/User.Read` -> `User.Read`).
pub fn permission_name(scope: &str) -> &str {
    if scope.contains("://") {
        scope.rsplit('/').next().unwrap_or(scope)
    } else {
        scope
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRAPH: &str = "https://graph.microsoft.com";

    fn set(s: &[&str]) -> CResult<ScopeSet> {
        ScopeSet::parse(&s.iter().map(|s| s.to_string()).collect::<Vec<_>>(), GRAPH)
    }

    fn field(r: CResult<ScopeSet>) -> String {
        r.unwrap_err().field().unwrap().to_string()
    }

    #[test]
    fn adds_sign_in_scopes_once() {
        let s = set(&["User.Read", "profile", "user.read", "Group.Read.All"]).unwrap();
        assert_eq!(s.delegated_request(), "User.Read profile Group.Read.All openid offline_access");
        assert_eq!(s.permissions(), vec!["User.Read", "Group.Read.All"]);
        assert_eq!(s.app_request(), "https://graph.microsoft.com/.default");
    }

    #[test]
    fn qualified_and_bare_graph_scopes_are_one_resource() {
        let s = set(&["https://graph.microsoft.com/Mail.Read", "User.Read"]).unwrap();
        assert_eq!(s.resource(), GRAPH);
        assert_eq!(
            s.admin_consent_request(),
            "https://graph.microsoft.com/Mail.Read https://graph.microsoft.com/User.Read"
        );
    }

    #[test]
    fn refuses_what_entra_would_refuse() {
        assert_eq!(field(set(&[])), "settings.scopes");
        assert_eq!(field(set(&["User.Read", "Mail Read"])), "settings.scopes[1]");
        assert_eq!(field(set(&["User.Read", ""])), "settings.scopes[1]");
        assert_eq!(field(set(&["User.Read", "https://management.azure.com/user_impersonation"])), "settings.scopes");
        assert_eq!(field(set(&[".default", "User.Read"])), "settings.scopes");
        assert_eq!(field(set(&["https://graph.microsoft.com/"])), "settings.scopes[0]");
        let many: Vec<String> = (0..101).map(|i| format!("P{i}.Read")).collect();
        assert_eq!(field(ScopeSet::parse(&many, GRAPH)), "settings.scopes");
        assert!(set(&[".default", "openid", "offline_access"]).unwrap().is_default());
    }

    #[test]
    fn granted_scope_forms() {
        assert_eq!(split_granted("openid User.Read"), vec!["openid", "User.Read"]);
        assert_eq!(
            split_granted("https%3A%2F%2Fgraph.microsoft.com%2FUser.Read%20openid"),
            vec!["https://graph.microsoft.com/User.Read", "openid"]
        );
        assert_eq!(permission_name("https://graph.microsoft.com/User.Read"), "User.Read");
    }
}
