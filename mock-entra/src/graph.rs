//! The Microsoft Graph surface: `/me`, `/organization`, the Graph service principal's
//! permission catalog, and `PATCH /users/{id}` with the privilege rule for sensitive properties
//! (learn.microsoft.com/graph/api/user-update#permissions).

use std::sync::OnceLock;

use axum::http::Method;
use axum::response::Response;
use serde_json::{json, Value};

use super::respond::{self, graph_error};
use super::{AccessGrant, Incoming, State};

pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";

const SERVICE_PRINCIPAL: &str = include_str!("../fixtures/graph-service-principal.json");

fn catalog() -> &'static Value {
    static C: OnceLock<Value> = OnceLock::new();
    C.get_or_init(|| serde_json::from_str(SERVICE_PRINCIPAL).expect("the service principal fixture is JSON"))
}

/// (description, admin consent required) of a delegated Graph permission.
pub fn known_delegated(name: &str) -> Option<(&'static str, bool)> {
    catalog()["oauth2PermissionScopes"]
        .as_array()?
        .iter()
        .find(|p| p["value"].as_str().is_some_and(|v| v.eq_ignore_ascii_case(name)))
        .map(|p| (p["adminConsentDisplayName"].as_str().unwrap_or(""), p["type"].as_str() != Some("User")))
}

/// Properties only privileged roles may change (learn.microsoft.com/graph/api/user-update).
const SENSITIVE: &[&str] = &[
    "accountEnabled",
    "businessPhones",
    "mobilePhone",
    "onPremisesImmutableId",
    "otherMails",
    "passwordProfile",
    "userPrincipalName",
];
const PRIVILEGED_ROLES: &[&str] =
    &["Global Administrator", "Privileged Authentication Administrator", "Authentication Administrator"];

fn bearer<'a>(s: &'a State, req: &Incoming) -> Result<&'a AccessGrant, Response> {
    let now = s.now();
    let Some(token) = req.headers.get("authorization").and_then(|h| h.strip_prefix("Bearer ")) else {
        return Err(graph_error(now, 401, "InvalidAuthenticationToken", "Access token is empty."));
    };
    let Some(grant) = s.access.get(token.trim()) else {
        return Err(graph_error(
            now,
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure. Invalid audience.",
        ));
    };
    if grant.expires_at <= now {
        return Err(graph_error(
            now,
            401,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
        ));
    }
    // A CAE token issued before a critical event of its user (or app) is refused with a claims
    // challenge; a token without the capability lives on until it expires, as Graph does.
    let subject = grant.user_id.as_deref().unwrap_or(&grant.client_id);
    if let Some(&(serial, at)) = s.cae_events.get(subject).filter(|_| grant.cae) {
        if grant.serial <= serial {
            return Err(respond::claims_challenge(now, at));
        }
    }
    Ok(grant)
}

fn has(grant: &AccessGrant, any_of: &[&str]) -> bool {
    any_of.iter().any(|p| grant.scopes.iter().chain(grant.roles.iter()).any(|g| g.eq_ignore_ascii_case(p)))
}

pub fn handle(s: &mut State, req: &Incoming) -> Response {
    let now = s.now();
    let grant = match bearer(s, req) {
        Ok(g) => g.clone(),
        Err(r) => return r,
    };
    let path = req.path.as_str();
    let denied =
        || graph_error(now, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
    match (&req.method, path) {
        (&Method::GET, "/v1.0/me") => {
            let Some(uid) = &grant.user_id else {
                return graph_error(
                    now,
                    400,
                    "BadRequest",
                    "/me request is only valid with delegated authentication flow.",
                );
            };
            let Some(u) = s.user(uid) else {
                return graph_error(now, 404, "Request_ResourceNotFound", "Resource does not exist.");
            };
            respond::json(
                200,
                &json!({
                    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
                    "businessPhones": [], "displayName": u.display_name, "givenName": u.display_name.split(' ').next(), "jobTitle": null,
                    "mail": u.upn, "mobilePhone": null, "officeLocation": null, "preferredLanguage": "en-US",
                    "surname": u.display_name.split(' ').nth(1), "userPrincipalName": u.upn, "id": u.id
                }),
            )
        }
        (&Method::GET, "/v1.0/organization") => {
            if grant.user_id.is_none() && !has(&grant, &["Organization.Read.All", "Directory.Read.All"]) {
                return denied();
            }
            let Some(t) = s.tenants.iter().find(|t| t.id == grant.tenant_id) else {
                return graph_error(now, 404, "Request_ResourceNotFound", "Resource does not exist.");
            };
            respond::json(
                200,
                &json!({
                    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#organization",
                    "value": [{"id": t.id, "displayName": t.display_name, "verifiedDomains": [{"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": true, "isInitial": true, "name": t.domain, "type": "Managed"}]}]
                }),
            )
        }
        (&Method::GET, p) if p.starts_with("/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')") => {
            let mut sp = catalog().clone();
            sp["id"] = json!("a0e2d4c6-8b1f-4e3d-9c5a-7b6e5d4c3b2a");
            sp["appId"] = json!("00000003-0000-0000-c000-000000000000");
            sp["displayName"] = json!("Microsoft Graph");
            respond::json(200, &sp)
        }
        (&Method::PATCH, p) if p.starts_with("/v1.0/users/") => {
            let target = p.trim_start_matches("/v1.0/users/");
            if !has(
                &grant,
                &[
                    "User.ReadWrite.All",
                    "Directory.ReadWrite.All",
                    "Directory.AccessAsUser.All",
                    "User.EnableDisableAccount.All",
                ],
            ) {
                return denied();
            }
            let Ok(Value::Object(changes)) = serde_json::from_slice::<Value>(&req.raw_body) else {
                return graph_error(now, 400, "Request_BadRequest", "Invalid request body.");
            };
            if !s.users.iter().any(|u| u.id == target || u.upn.eq_ignore_ascii_case(target)) {
                return graph_error(now, 404, "Request_ResourceNotFound", &format!("Resource '{target}' does not exist or one of its queried reference-property objects are not present."));
            }
            let sensitive = changes.keys().any(|k| SENSITIVE.contains(&k.as_str()));
            let privileged = match &grant.user_id {
                Some(uid) => {
                    s.user(uid).is_some_and(|u| u.roles.iter().any(|r| PRIVILEGED_ROLES.contains(&r.as_str())))
                }
                None => true,
            };
            if sensitive && !privileged {
                return denied();
            }
            respond::no_content()
        }
        _ => graph_error(
            now,
            400,
            "BadRequest",
            &format!("Resource not found for the segment '{}'.", path.rsplit('/').next().unwrap_or("")),
        ),
    }
}
