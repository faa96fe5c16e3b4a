//! The sign-in side: discovery, authorize (with a consent page), token, admin consent.
//! Per learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow, refresh-tokens,
//! v2-oauth2-client-creds-grant-flow, v2-admin-consent and reference-error-codes.

use axum::http::Method;
use axum::response::Response;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::graph::{known_delegated, GRAPH_RESOURCE};
use super::model::*;
use super::respond::{self, aad_error, error_page, escape};
use super::token_jwt::{jwt, random};
use super::{Incoming, State};

const OIDC: [&str; 4] = ["openid", "profile", "email", "offline_access"];
const CODE_LIFETIME: i64 = 600;

fn tenant_segment(path: &str) -> &str {
    path.trim_start_matches('/').split('/').next().unwrap_or("")
}

pub fn discovery(s: &State, req: &Incoming) -> Response {
    let t = tenant_segment(&req.path);
    let issuer_tenant = s.tenant(t).map(|t| t.id.clone()).unwrap_or_else(|| "{tenantid}".into());
    let b = &s.base_url;
    respond::json(
        200,
        &json!({
            "token_endpoint": format!("{b}/{t}/oauth2/v2.0/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": format!("{b}/{t}/discovery/v2.0/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": format!("{b}/{issuer_tenant}/v2.0"),
            "request_uri_parameter_supported": false,
            "userinfo_endpoint": format!("{b}/oidc/userinfo"),
            "authorization_endpoint": format!("{b}/{t}/oauth2/v2.0/authorize"),
            "device_authorization_endpoint": format!("{b}/{t}/oauth2/v2.0/devicecode"),
            "http_logout_supported": true,
            "frontchannel_logout_supported": true,
            "end_session_endpoint": format!("{b}/{t}/oauth2/v2.0/logout"),
            "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
            "kerberos_endpoint": format!("{b}/{t}/kerberos"),
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net"
        }),
    )
}

/// Redirect URIs match exactly, except that the port of an http://localhost URI is ignored (RFC 8252).
fn redirect_matches(registered: &str, given: &str) -> bool {
    fn strip_port(u: &str) -> String {
        match u.strip_prefix("http://localhost:") {
            Some(rest) => format!("http://localhost{}", &rest[rest.find('/').unwrap_or(rest.len())..]),
            None => u.to_string(),
        }
    }
    registered == given || (given.starts_with("http://localhost") && strip_port(registered) == strip_port(given))
}

/// The resource of a scope (`User.Read` and `https://graph.microsoft.com/User.Read` are Graph).
fn resource_of(scope: &str) -> Option<String> {
    if OIDC.contains(&scope.to_ascii_lowercase().as_str()) {
        return None;
    }
    if scope.contains("://") {
        let i = scope.rfind('/')?;
        return Some(scope[..i].to_ascii_lowercase());
    }
    Some(GRAPH_RESOURCE.to_string())
}

fn permission(scope: &str) -> &str {
    if scope.contains("://") {
        scope.rsplit('/').next().unwrap_or(scope)
    } else {
        scope
    }
}

/// Refuses scopes of several resources (AADSTS700022).
fn check_one_resource(scopes: &[String]) -> Result<(), String> {
    let mut resources: Vec<String> = scopes.iter().filter_map(|s| resource_of(s)).collect();
    resources.dedup();
    resources.sort();
    resources.dedup();
    if resources.len() > 1 {
        return Err(format!("The provided value for the input parameter scope is not valid because it contains more than one resource. Scope {} is not valid.", scopes.join(" ")));
    }
    Ok(())
}

fn error_redirect(redirect_uri: &str, error: &str, code: u32, text: &str, state: Option<&str>) -> Response {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("error", error);
    q.append_pair(
        "error_description",
        &format!(
            "AADSTS{code}: {text} Trace ID: {} Correlation ID: {} Timestamp: now",
            super::token_jwt::guid(),
            super::token_jwt::guid()
        ),
    );
    q.append_pair("error_uri", &format!("https://login.microsoftonline.com/error?code={code}"));
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
        return error_redirect(
            &redirect_uri,
            "unsupported_response_type",
            700054,
            "response_type 'code' is the only one this app may use.",
            state,
        );
    }
    if let Some(m) = q.get("response_mode") {
        if !matches!(m.as_str(), "query" | "form_post" | "fragment") {
            return error_redirect(&redirect_uri, "invalid_request", 900144, "response_mode is not valid.", state);
        }
    }
    let scopes: Vec<String> =
        q.get("scope").map(|s| s.split_whitespace().map(str::to_string).collect()).unwrap_or_default();
    if scopes.is_empty() {
        return error_redirect(
            &redirect_uri,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
            state,
        );
    }
    if let Err(text) = check_one_resource(&scopes) {
        return error_redirect(&redirect_uri, "invalid_scope", 700022, &text, state);
    }
    for sc in &scopes {
        if resource_of(sc).as_deref() == Some(GRAPH_RESOURCE)
            && permission(sc) != ".default"
            && known_delegated(permission(sc)).is_none()
        {
            return error_redirect(
                &redirect_uri,
                "invalid_scope",
                70011,
                &format!(
                    "The provided value for the input parameter 'scope' is not valid. The scope {sc} is not valid."
                ),
                state,
            );
        }
    }
    let challenge = q.get("code_challenge").cloned();
    let method = q.get("code_challenge_method").cloned();
    if let Some(m) = &method {
        if m != "S256" && m != "plain" {
            return error_redirect(&redirect_uri, "invalid_request", 501491, "Invalid code_challenge_method.", state);
        }
        if challenge.is_none() {
            return error_redirect(
                &redirect_uri,
                "invalid_request",
                501491,
                "code_challenge_method was sent without a code_challenge.",
                state,
            );
        }
    }
    if let Some(c) = &challenge {
        if c.len() < 43 || c.len() > 128 {
            return error_redirect(
                &redirect_uri,
                "invalid_request",
                501491,
                "Invalid size of Code_Challenge parameter.",
                state,
            );
        }
    }
    match q.get("prompt").map(String::as_str) {
        None | Some("login" | "consent" | "select_account") => {}
        Some("none") => {
            return error_redirect(
                &redirect_uri,
                "login_required",
                50058,
                "A silent sign-in request was sent but no user is signed in.",
                state,
            )
        }
        Some(_) => return error_redirect(&redirect_uri, "invalid_request", 90023, "Invalid prompt value.", state),
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

fn consent_page(s: &State, app: &App, p: &PendingAuthorize, txn: &str, action: &str) -> Response {
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
fn decision(s: &mut State, req: &Incoming) -> Response {
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
            PendingKind::SignIn => error_redirect(
                &p.redirect_uri,
                "access_denied",
                65004,
                "User declined to consent to access the app.",
                state,
            ),
            PendingKind::AdminConsent => error_redirect(
                &p.redirect_uri,
                "consent_required",
                65004,
                "User declined to consent to access the app.",
                state,
            ),
        };
    }
    if !p.tenant_id.is_empty() && user.tenant_id != p.tenant_id {
        return error_redirect(&p.redirect_uri, "invalid_request", 50020, &format!("User account '{}' from identity provider does not exist in tenant and cannot access the application in that tenant.", user.upn), state);
    }
    let consented = s.app(&p.client_id).is_some_and(|a| a.granted_roles.contains_key(&user.tenant_id));
    let is_admin = user.roles.iter().any(|r| {
        r == "Global Administrator" || r == "Privileged Role Administrator" || r == "Cloud Application Administrator"
    });
    if p.kind == PendingKind::AdminConsent {
        if !is_admin {
            return error_redirect(
                &p.redirect_uri,
                "consent_required",
                90094,
                "The grant requires admin permission.",
                state,
            );
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
        return error_redirect(&p.redirect_uri, "consent_required", 90094, "The grant requires admin permission. An administrator must consent to this application for the organization.", state);
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

/// Client authentication: `client_secret` in the form or HTTP Basic (RFC 6749 2.3.1).
fn authenticate(s: &State, req: &Incoming) -> Result<App, Response> {
    let now = s.now();
    let mut client_id = req.form.get("client_id").cloned();
    let mut secret = req.form.get("client_secret").cloned();
    if let Some(basic) = req.headers.get("authorization").and_then(|h| h.strip_prefix("Basic ")) {
        if let Some((id, pw)) = STANDARD
            .decode(basic.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|t| t.split_once(':').map(|(a, b)| (a.to_string(), b.to_string())))
        {
            client_id = Some(id);
            secret = Some(pw);
        }
    }
    let Some(client_id) = client_id else {
        return Err(aad_error(
            now,
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
            None,
        ));
    };
    let Some(app) = s.app(&client_id).cloned() else {
        return Err(aad_error(
            now,
            400,
            "unauthorized_client",
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory."),
            None,
        ));
    };
    match (&app.secret, &secret) {
        (None, Some(_)) => Err(aad_error(now, 400, "invalid_request", 700025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.", None)),
        (None, None) => Ok(app),
        (Some(_), None) => Err(aad_error(now, 401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", None)),
        (Some(_), Some(_)) if app.secret_expired => Err(aad_error(now, 401, "invalid_client", 7000222, &format!("The provided client secret keys for app '{}' are expired. Visit the Azure portal to create new keys for your app.", app.client_id), None)),
        (Some(expected), Some(given)) if expected == given => Ok(app),
        (Some(_), Some(_)) => Err(aad_error(now, 401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.", None)),
    }
}

pub fn token(s: &mut State, req: &Incoming) -> Response {
    let now = s.now();
    if req.method != Method::POST {
        return aad_error(now, 400, "invalid_request", 900561, "The endpoint only accepts POST requests.", None);
    }
    if !req.headers.get("content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")) {
        return aad_error(
            now,
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
            None,
        );
    }
    let app = match authenticate(s, req) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let tenant_path = tenant_segment(&req.path).to_string();
    let path_tenant = s.tenant(&tenant_path).map(|t| t.id.clone());
    if path_tenant.is_none() && !matches!(tenant_path.as_str(), "common" | "organizations") {
        return aad_error(now, 400, "invalid_request", 90002, &format!("Tenant '{tenant_path}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."), None);
    }
    let scopes: Vec<String> =
        req.form.get("scope").map(|s| s.split_whitespace().map(str::to_string).collect()).unwrap_or_default();
    match req.form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => redeem_code(s, req, &app, &tenant_path, path_tenant, scopes),
        Some("refresh_token") => redeem_refresh(s, req, &app, path_tenant, scopes),
        Some("client_credentials") => client_credentials(s, &app, &tenant_path, path_tenant, scopes),
        Some(other) => aad_error(
            now,
            400,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{other}'."),
            None,
        ),
        None => aad_error(
            now,
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
            None,
        ),
    }
}

fn redeem_code(
    s: &mut State,
    req: &Incoming,
    app: &App,
    tenant_path: &str,
    path_tenant: Option<String>,
    scopes: Vec<String>,
) -> Response {
    let now = s.now();
    let Some(code) = req.form.get("code") else {
        return aad_error(
            now,
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'code'.",
            None,
        );
    };
    if scopes.is_empty() {
        return aad_error(now, 400, "invalid_request", 28003, "Provided value for the input parameter scope cannot be empty when requesting an access token using the provided authorization code. Please specify a valid scope.", None);
    }
    if let Err(text) = check_one_resource(&scopes) {
        return aad_error(now, 400, "invalid_request", 700022, &text, None);
    }
    let Some(grant) = s.codes.get(code).cloned() else {
        return aad_error(
            now,
            400,
            "invalid_grant",
            9002313,
            "Invalid request. Request is malformed or invalid: the authorization code is not valid.",
            None,
        );
    };
    if grant.used {
        return aad_error(now, 400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.", None);
    }
    if now - grant.issued_at > CODE_LIFETIME {
        return aad_error(now, 400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.", None);
    }
    if grant.client_id != app.client_id {
        return aad_error(
            now,
            400,
            "invalid_grant",
            70000,
            "Provided grant is invalid or malformed: the code was issued to another client.",
            None,
        );
    }
    let Some(user) = s.user(&grant.user_id).cloned() else {
        return aad_error(now, 400, "invalid_grant", 50034, "The user account does not exist in this directory.", None);
    };
    let tenant_ok =
        grant.tenant_path.eq_ignore_ascii_case(tenant_path) || path_tenant.as_deref() == Some(user.tenant_id.as_str());
    if !tenant_ok {
        return aad_error(
            now,
            400,
            "invalid_grant",
            700005,
            "Provided Authorization Code is intended to use against other tenant, thus rejected.",
            None,
        );
    }
    if req.form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return aad_error(now, 400, "invalid_grant", 50011, "The redirect URI specified in the request does not match the redirect URI used to obtain the authorization code.", None);
    }
    if let Some(challenge) = &grant.code_challenge {
        let Some(verifier) = req.form.get("code_verifier") else {
            return aad_error(
                now,
                400,
                "invalid_request",
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
                None,
            );
        };
        let computed = match grant.code_challenge_method.as_deref() {
            Some("S256") => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
            _ => verifier.clone(),
        };
        if &computed != challenge {
            return aad_error(
                now,
                400,
                "invalid_grant",
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request for PKCE.",
                None,
            );
        }
    }
    if let Some(c) = s.codes.get_mut(code) {
        c.used = true;
    }
    issue(s, app, &user, &grant.scopes, grant.nonce.as_deref(), None)
}

fn redeem_refresh(
    s: &mut State,
    req: &Incoming,
    app: &App,
    path_tenant: Option<String>,
    scopes: Vec<String>,
) -> Response {
    let now = s.now();
    let Some(rt) = req.form.get("refresh_token") else {
        return aad_error(
            now,
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'refresh_token'.",
            None,
        );
    };
    let Some(grant) = s.refresh.get(rt).cloned() else {
        return aad_error(
            now,
            400,
            "invalid_grant",
            9002313,
            "Invalid request. Request is malformed or invalid: the refresh token is not valid.",
            None,
        );
    };
    if grant.revoked {
        return aad_error(now, 400, "invalid_grant", 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.", None);
    }
    if grant.client_id != app.client_id {
        return aad_error(
            now,
            400,
            "invalid_grant",
            70000,
            "Provided grant is invalid or malformed: the refresh token was issued to another client.",
            None,
        );
    }
    if path_tenant.as_ref().is_some_and(|t| *t != grant.tenant_id) {
        return aad_error(
            now,
            400,
            "invalid_grant",
            700005,
            "The refresh token is intended to use against other tenant, thus rejected.",
            None,
        );
    }
    if let Err(text) = check_one_resource(&scopes) {
        return aad_error(now, 400, "invalid_request", 700022, &text, None);
    }
    let requested: Vec<String> = if scopes.is_empty() { grant.scopes.clone() } else { scopes };
    let beyond: Vec<&String> =
        requested.iter().filter(|r| !grant.scopes.iter().any(|g| g.eq_ignore_ascii_case(r))).collect();
    if !beyond.is_empty() {
        return aad_error(now, 400, "invalid_grant", 65001, &format!("The user or administrator has not consented to use the application with ID '{}' for {}. Send an interactive authorization request for this user and resource.", app.client_id, beyond.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")), Some("consent_required"));
    }
    let Some(user) = s.user(&grant.user_id).cloned() else {
        return aad_error(now, 400, "invalid_grant", 50034, "The user account does not exist in this directory.", None);
    };
    issue(s, app, &user, &requested, None, Some(rt.clone()))
}

fn client_credentials(
    s: &mut State,
    app: &App,
    tenant_path: &str,
    path_tenant: Option<String>,
    scopes: Vec<String>,
) -> Response {
    let now = s.now();
    let Some(tenant_id) = path_tenant else {
        return aad_error(now, 400, "invalid_request", 9001023, &format!("The grant type 'client_credentials' is not supported over the /{tenant_path} endpoint. Use a tenant-specific endpoint."), None);
    };
    if app.secret.is_none() {
        return aad_error(
            now,
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            None,
        );
    }
    if scopes.len() != 1 || !scopes[0].ends_with("/.default") {
        return aad_error(now, 400, "invalid_scope", 1002012, &format!("The provided value for scope {} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scopes.join(" ")), None);
    }
    let roles = app.granted_roles.get(&tenant_id).cloned().unwrap_or_default();
    let exp = now + s.access_token_lifetime;
    let oid = super::token_jwt::guid();
    let access = jwt(&json!({
        "aud": GRAPH_RESOURCE, "iss": format!("https://sts.windows.net/{tenant_id}/"), "iat": now, "nbf": now, "exp": exp,
        "app_displayname": app.name, "appid": app.client_id, "idtyp": "app", "oid": oid, "roles": roles, "sub": oid,
        "tid": tenant_id, "ver": "1.0", "uti": random(16)
    }));
    s.access.insert(
        access.clone(),
        AccessGrant {
            client_id: app.client_id.clone(),
            tenant_id,
            user_id: None,
            scopes: vec![],
            roles,
            expires_at: exp,
        },
    );
    respond::json(
        200,
        &json!({"token_type": "Bearer", "expires_in": s.access_token_lifetime, "ext_expires_in": s.access_token_lifetime, "access_token": access}),
    )
}

/// Issues access, refresh (with offline_access) and id (with openid) tokens.
fn issue(
    s: &mut State,
    app: &App,
    user: &User,
    scopes: &[String],
    nonce: Option<&str>,
    replaces: Option<String>,
) -> Response {
    let now = s.now();
    let exp = now + s.access_token_lifetime;
    let perms: Vec<String> = scopes
        .iter()
        .filter(|sc| !OIDC.contains(&sc.to_ascii_lowercase().as_str()))
        .map(|sc| permission(sc).to_string())
        .collect();
    let mut scp: Vec<String> = perms.clone();
    for o in ["profile", "openid", "email"] {
        if scopes.iter().any(|sc| sc.eq_ignore_ascii_case(o)) {
            scp.push(o.to_string());
        }
    }
    let access = jwt(&json!({
        "aud": GRAPH_RESOURCE, "iss": format!("https://sts.windows.net/{}/", user.tenant_id), "iat": now, "nbf": now, "exp": exp,
        "app_displayname": app.name, "appid": app.client_id, "idtyp": "user", "name": user.display_name, "oid": user.id,
        "scp": scp.join(" "), "sub": user.id, "tid": user.tenant_id, "upn": user.upn, "ver": "1.0", "uti": random(16),
        "wids": if user.roles.iter().any(|r| r == "Global Administrator") { json!(["62e90394-69f5-4237-9190-012177145e10"]) } else { json!([]) }
    }));
    s.access.insert(
        access.clone(),
        AccessGrant {
            client_id: app.client_id.clone(),
            tenant_id: user.tenant_id.clone(),
            user_id: Some(user.id.clone()),
            scopes: perms,
            roles: vec![],
            expires_at: exp,
        },
    );
    let mut body = json!({
        "token_type": "Bearer",
        "scope": scp.join(" "),
        "expires_in": s.access_token_lifetime,
        "ext_expires_in": s.access_token_lifetime,
        "access_token": access,
    });
    if scopes.iter().any(|sc| sc.eq_ignore_ascii_case("offline_access")) {
        let rt = format!("1.AR{}", random(120));
        s.refresh.insert(
            rt.clone(),
            RefreshGrant {
                client_id: app.client_id.clone(),
                user_id: user.id.clone(),
                tenant_id: user.tenant_id.clone(),
                scopes: scopes.to_vec(),
                issued_at: now,
                revoked: false,
                parent: replaces,
            },
        );
        s.issued_refresh_tokens.push(rt.clone());
        body["refresh_token"] = json!(rt);
    }
    if scopes.iter().any(|sc| sc.eq_ignore_ascii_case("openid")) {
        let mut claims = json!({
            "aud": app.client_id, "iss": format!("{}/{}/v2.0", s.base_url, user.tenant_id), "iat": now, "nbf": now, "exp": now + 3600,
            "name": user.display_name, "oid": user.id, "preferred_username": user.upn, "sub": random(24), "tid": user.tenant_id, "ver": "2.0"
        });
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        match s.tamper {
            Some(super::IdTokenTamper::Audience) => claims["aud"] = json!(PUBLIC_CLIENT_ID),
            Some(super::IdTokenTamper::Issuer) => {
                claims["iss"] = json!(format!("https://login.evil.example/{}/v2.0", user.tenant_id))
            }
            Some(super::IdTokenTamper::Tenant) => {
                claims["tid"] = json!(OTHER_TENANT_ID);
                claims["iss"] = json!(format!("{}/{OTHER_TENANT_ID}/v2.0", s.base_url));
            }
            Some(super::IdTokenTamper::Nonce) => claims["nonce"] = json!("a-nonce-that-was-never-sent"),
            Some(super::IdTokenTamper::Expired) => claims["exp"] = json!(now - 3600),
            None => {}
        }
        body["id_token"] = json!(jwt(&claims));
    }
    respond::json(200, &body)
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
