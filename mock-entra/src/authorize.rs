//! The authorize endpoint: checks the request as Entra does, shows the sign-in and consent page,
//! and answers its Accept or Cancel with a redirect carrying a code or an error.

use axum::http::Method;
use axum::response::Response;

use super::aadsts::{self, Aad};
use super::graph::{known_delegated, GRAPH_RESOURCE};
use super::model::*;
use super::oauth::{check_one_resource, permission, redirect_matches, resource_of, tenant_segment};
use super::respond::{self, error_page, escape};
use super::token_jwt::random;
use super::{Incoming, State};

pub(crate) fn error_redirect(redirect_uri: &str, answer: &Aad, args: &[&str], state: Option<&str>) -> Response {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("error", answer.error);
    q.append_pair(
        "error_description",
        &format!(
            "AADSTS{}: {} Trace ID: {} Correlation ID: {} Timestamp: now",
            answer.code,
            answer.sentence(args),
            super::token_jwt::guid(),
            super::token_jwt::guid()
        ),
    );
    q.append_pair("error_uri", &format!("https://login.microsoftonline.com/error?code={}", answer.code));
    if let Some(st) = state {
        q.append_pair("state", st);
    }
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    respond::redirect(&format!("{redirect_uri}{sep}{}", q.finish()))
}

/// GET: validate and show the sign-in and consent page. POST: the page's Accept or Cancel.
pub fn authorize(s: &mut State, req: &Incoming) -> Response {
    if req.method == Method::POST {
        return decision(s, req);
    }
    let q = &req.query;
    let tenant_path = tenant_segment(&req.path).to_string();
    let Some(client_id) = q.get("client_id") else {
        return error_page(900144, "The request body must contain the following parameter: 'client_id'.");
    };
    let (tenant_id, multi) = match tenant_path.as_str() {
        "common" | "organizations" => (None, true),
        "consumers" => return error_page(500200, "User account is a personal Microsoft account; this app accepts work or school accounts only."),
        other => match s.tenant(other) {
            Some(t) => (Some(t.id.clone()), false),
            None => return error_page(90002, &format!("Tenant '{}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", escape(other))),
        },
    };
    let Some(app) = s.app(client_id).cloned() else {
        return error_page(
            700016,
            &format!("Application with identifier '{}' was not found in the directory.", escape(client_id)),
        );
    };
    if multi && !app.multi_tenant {
        return error_page(50194, &format!("Application '{}'({}) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant.", app.client_id, app.name));
    }
    let Some(redirect_uri) = q.get("redirect_uri").cloned() else {
        return error_page(900144, "The request body must contain the following parameter: 'redirect_uri'.");
    };
    if !app.redirect_uris.iter().any(|r| redirect_matches(r, &redirect_uri)) {
        return error_page(50011, &format!("The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.", app.client_id));
    }
    let state = q.get("state").map(String::as_str);
    if q.get("response_type").map(String::as_str) != Some("code") {
        return error_redirect(&redirect_uri, &aadsts::UNSUPPORTED_RESPONSE_TYPE, &[], state);
    }
    if let Some(m) = q.get("response_mode") {
        if !matches!(m.as_str(), "query" | "form_post" | "fragment") {
            return error_redirect(&redirect_uri, &aadsts::INVALID_RESPONSE_MODE, &[], state);
        }
    }
    let scopes: Vec<String> =
        q.get("scope").map(|s| s.split_whitespace().map(str::to_string).collect()).unwrap_or_default();
    if scopes.is_empty() {
        return error_redirect(&redirect_uri, &aadsts::MISSING_PARAMETER, &["scope"], state);
    }
    if let Err(text) = check_one_resource(&scopes) {
        return error_redirect(&redirect_uri, &aadsts::SEVERAL_RESOURCES_SCOPE, &[&text], state);
    }
    for sc in &scopes {
        if resource_of(sc).as_deref() == Some(GRAPH_RESOURCE)
            && permission(sc) != ".default"
            && known_delegated(permission(sc)).is_none()
        {
            return error_redirect(&redirect_uri, &aadsts::INVALID_SCOPE, &[sc], state);
        }
    }
    let challenge = q.get("code_challenge").cloned();
    let method = q.get("code_challenge_method").cloned();
    if let Some(m) = &method {
        if m != "S256" && m != "plain" {
            return error_redirect(&redirect_uri, &aadsts::INVALID_CHALLENGE_METHOD, &[], state);
        }
        if challenge.is_none() {
            return error_redirect(&redirect_uri, &aadsts::CHALLENGE_MISSING, &[], state);
        }
    }
    if let Some(c) = &challenge {
        if c.len() < 43 || c.len() > 128 {
            return error_redirect(&redirect_uri, &aadsts::CHALLENGE_SIZE, &[], state);
        }
    }
    match q.get("prompt").map(String::as_str) {
        None | Some("login" | "consent" | "select_account") => {}
        Some("none") => return error_redirect(&redirect_uri, &aadsts::LOGIN_REQUIRED, &[], state),
        Some(_) => return error_redirect(&redirect_uri, &aadsts::INVALID_PROMPT, &[], state),
    }
    let txn = random(18);
    let pending = PendingAuthorize {
        kind: PendingKind::SignIn,
        client_id: app.client_id.clone(),
        redirect_uri,
        tenant_path,
        tenant_id: tenant_id.unwrap_or_default(),
        scopes: scopes.clone(),
        state: state.map(str::to_string),
        code_challenge: challenge,
        code_challenge_method: method,
        nonce: q.get("nonce").cloned(),
        login_hint: q.get("login_hint").cloned(),
    };
    let page = consent_page(s, &app, &pending, &txn, &req.path);
    s.pending.insert(txn, pending);
    page
}

pub(crate) fn consent_page(s: &State, app: &App, p: &PendingAuthorize, txn: &str, action: &str) -> Response {
    let users: String = s
        .users
        .iter()
        .filter(|u| p.tenant_id.is_empty() || u.tenant_id == p.tenant_id)
        .map(|u| {
            let selected = if p.login_hint.as_deref() == Some(u.upn.as_str())
                || (p.login_hint.is_none() && u.id == s.default_user)
            {
                " selected"
            } else {
                ""
            };
            format!("<option value=\"{}\"{selected}>{} ({})</option>", u.id, escape(&u.display_name), escape(&u.upn))
        })
        .collect();
    let perms: String = p
        .scopes
        .iter()
        .map(|sc| {
            let desc = known_delegated(permission(sc)).map(|(d, _)| d).unwrap_or(match permission(sc) {
                "openid" => "Sign you in",
                "profile" => "View your basic profile",
                "email" => "View your email address",
                "offline_access" => "Maintain access to data you have given it access to",
                ".default" => "All permissions configured on the app",
                _ => "Access the API on your behalf",
            });
            format!("<li><b>{}</b>: {}</li>", escape(sc), escape(desc))
        })
        .collect();
    let title = if p.kind == PendingKind::AdminConsent {
        "Permissions requested. Accept for your organization"
    } else {
        "Permissions requested"
    };
    respond::html(
        200,
        format!(
            "<!DOCTYPE html><html><head><title>Sign in to your account</title></head><body>\
             <h1>{title}</h1><p><b>{}</b> (unverified, mock Microsoft Entra ID) wants to:</p><ul id=\"permissions\">{perms}</ul>\
             <form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"txn\" value=\"{txn}\">\
             <label>Sign in as <select name=\"user\">{users}</select></label>\
             <button type=\"submit\" name=\"decision\" value=\"accept\">Accept</button>\
             <button type=\"submit\" name=\"decision\" value=\"cancel\">Cancel</button></form></body></html>",
            escape(&app.name),
            escape(action)
        ),
    )
}

/// The consent page's answer.
pub(crate) fn decision(s: &mut State, req: &Incoming) -> Response {
    let Some(p) = req.form.get("txn").and_then(|t| s.pending.remove(t)) else {
        return error_page(9002313, "Invalid request. The sign-in request has expired or was already completed.");
    };
    let state = p.state.as_deref();
    let user_id = req.form.get("user").cloned().unwrap_or_else(|| s.default_user.clone());
    let Some(user) = s.user(&user_id).cloned() else {
        return error_page(50034, "The user account does not exist in this directory.");
    };
    if req.form.get("decision").map(String::as_str) != Some("accept") {
        return match p.kind {
            PendingKind::SignIn => error_redirect(&p.redirect_uri, &aadsts::USER_DECLINED, &[], state),
            PendingKind::AdminConsent => error_redirect(&p.redirect_uri, &aadsts::ADMIN_DECLINED, &[], state),
        };
    }
    if !p.tenant_id.is_empty() && user.tenant_id != p.tenant_id {
        return error_redirect(&p.redirect_uri, &aadsts::USER_NOT_IN_TENANT, &[&user.upn], state);
    }
    let consented = s.app(&p.client_id).is_some_and(|a| a.granted_roles.contains_key(&user.tenant_id));
    let is_admin = user.roles.iter().any(|r| {
        r == "Global Administrator" || r == "Privileged Role Administrator" || r == "Cloud Application Administrator"
    });
    if p.kind == PendingKind::AdminConsent {
        if !is_admin {
            return error_redirect(&p.redirect_uri, &aadsts::ADMIN_PERMISSION_REQUIRED, &[], state);
        }
        let tenant = user.tenant_id.clone();
        if let Some(app) = s.apps.iter_mut().find(|a| a.client_id == p.client_id) {
            let roles = app.granted_roles.entry(tenant.clone()).or_default();
            for sc in &p.scopes {
                let perm = permission(sc).to_string();
                if perm != ".default" && !roles.contains(&perm) {
                    roles.push(perm);
                }
            }
        }
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("admin_consent", "True");
        q.append_pair("tenant", &tenant);
        q.append_pair("scope", &p.scopes.join(" "));
        if let Some(st) = state {
            q.append_pair("state", st);
        }
        let sep = if p.redirect_uri.contains('?') { '&' } else { '?' };
        return respond::redirect(&format!("{}{sep}{}", p.redirect_uri, q.finish()));
    }
    let needs_admin = p.scopes.iter().any(|sc| known_delegated(permission(sc)).is_some_and(|(_, admin)| admin));
    if needs_admin && !consented && !is_admin {
        return error_redirect(&p.redirect_uri, &aadsts::ADMIN_CONSENT_REQUIRED, &[], state);
    }
    let code = format!("1.AQ{}", random(96));
    let now = s.now();
    s.codes.insert(
        code.clone(),
        CodeGrant {
            client_id: p.client_id.clone(),
            redirect_uri: p.redirect_uri.clone(),
            tenant_path: p.tenant_path.clone(),
            user_id: user.id.clone(),
            scopes: p.scopes.clone(),
            code_challenge: p.code_challenge.clone(),
            code_challenge_method: p.code_challenge_method.clone(),
            nonce: p.nonce.clone(),
            issued_at: now,
            used: false,
        },
    );
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("code", &code);
    if let Some(st) = state {
        q.append_pair("state", st);
    }
    let sep = if p.redirect_uri.contains('?') { '&' } else { '?' };
    respond::redirect(&format!("{}{sep}{}", p.redirect_uri, q.finish()))
}
