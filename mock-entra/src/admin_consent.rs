//! The admin consent endpoint: an administrator grants the app's permissions for the tenant.

use axum::http::Method;
use axum::response::Response;

use super::authorize::{consent_page, decision};
use super::model::*;
use super::oauth::{redirect_matches, tenant_segment};
use super::respond::{error_page, escape};
use super::token_jwt::random;
use super::{Incoming, State};

/// GET: validate and show the admin consent page. POST: its Accept or Cancel.
pub fn admin_consent(s: &mut State, req: &Incoming) -> Response {
    if req.method == Method::POST {
        return decision(s, req);
    }
    let q = &req.query;
    let tenant_path = tenant_segment(&req.path).to_string();
    if tenant_path == "common" || tenant_path == "consumers" {
        return error_page(90130, "Admin consent is given for one tenant: use a tenant ID, a domain or organizations.");
    }
    let tenant_id = if tenant_path == "organizations" {
        String::new()
    } else {
        match s.tenant(&tenant_path) {
            Some(t) => t.id.clone(),
            None => return error_page(90002, &format!("Tenant '{}' not found.", escape(&tenant_path))),
        }
    };
    let Some(app) = q.get("client_id").and_then(|c| s.app(c)).cloned() else {
        return error_page(700016, "Application with the given identifier was not found in the directory.");
    };
    let Some(redirect_uri) =
        q.get("redirect_uri").cloned().filter(|r| app.redirect_uris.iter().any(|x| redirect_matches(x, r)))
    else {
        return error_page(50011, "The redirect URI specified in the request does not match the redirect URIs configured for the application.");
    };
    let scopes: Vec<String> =
        q.get("scope").map(|s| s.split_whitespace().map(str::to_string).collect()).unwrap_or_default();
    let pending = PendingAuthorize {
        kind: PendingKind::AdminConsent,
        client_id: app.client_id.clone(),
        redirect_uri,
        tenant_path,
        tenant_id,
        scopes,
        state: q.get("state").cloned(),
        code_challenge: None,
        code_challenge_method: None,
        nonce: None,
        login_hint: None,
    };
    let txn = random(18);
    let page = consent_page(s, &app, &pending, &txn, &req.path);
    s.pending.insert(txn, pending);
    page
}
