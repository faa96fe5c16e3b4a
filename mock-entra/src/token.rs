//! The token endpoint: client authentication, then the authorization code, refresh token and
//! client credentials grants, each checked as Entra checks them, and the tokens issued.

use axum::http::Method;
use axum::response::Response;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::aadsts;
use super::assertion;
use super::graph::GRAPH_RESOURCE;
use super::model::*;
use super::oauth::{check_one_resource, permission, tenant_segment, CODE_LIFETIME, OIDC};
use super::respond::{self, aad_error};
use super::token_jwt::{jwt, random};
use super::{Incoming, State};

/// Client authentication: `client_secret` in the form or HTTP Basic (RFC 6749 2.3.1), or a
/// client assertion signed with a certificate registered on the app (`assertion.rs`).
fn authenticate(s: &mut State, req: &Incoming) -> Result<App, Response> {
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
        return Err(aad_error(now, &aadsts::MISSING_PARAMETER, &["client_id"]));
    };
    let Some(app) = s.app(&client_id).cloned() else {
        return Err(aad_error(now, &aadsts::APP_NOT_FOUND, &[client_id.as_str()]));
    };
    let confidential = !app.public_client;
    if let Some(jwt) = req.form.get("client_assertion") {
        if !confidential {
            return Err(aad_error(now, &aadsts::PUBLIC_CLIENT_WITH_SECRET, &[]));
        }
        if req.form.get("client_assertion_type").map(String::as_str) != Some(assertion::ASSERTION_TYPE) {
            return Err(aad_error(now, &aadsts::CREDENTIAL_MISSING, &[]));
        }
        let audience = format!("{}{}", s.base_url, req.path);
        assertion::check(s, &app, jwt, &audience)?;
        return Ok(app);
    }
    match (&app.secret, &secret) {
        (None, Some(_)) if !confidential => Err(aad_error(now, &aadsts::PUBLIC_CLIENT_WITH_SECRET, &[])),
        (None, Some(_)) => Err(aad_error(now, &aadsts::INVALID_SECRET, &[])),
        (None, None) if !confidential => Ok(app),
        (_, None) => Err(aad_error(now, &aadsts::CREDENTIAL_MISSING, &[])),
        (Some(_), Some(_)) if app.secret_expired => Err(aad_error(now, &aadsts::SECRET_EXPIRED, &[&app.client_id])),
        (Some(expected), Some(given)) if expected == given => Ok(app),
        (Some(_), Some(_)) => Err(aad_error(now, &aadsts::INVALID_SECRET, &[])),
    }
}

pub fn token(s: &mut State, req: &Incoming) -> Response {
    let now = s.now();
    if req.method != Method::POST {
        return aad_error(now, &aadsts::POST_ONLY, &[]);
    }
    if !req.headers.get("content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")) {
        return aad_error(now, &aadsts::MISSING_PARAMETER, &["grant_type"]);
    }
    let app = match authenticate(s, req) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let tenant_path = tenant_segment(&req.path).to_string();
    let path_tenant = s.tenant(&tenant_path).map(|t| t.id.clone());
    if path_tenant.is_none() && !matches!(tenant_path.as_str(), "common" | "organizations") {
        return aad_error(now, &aadsts::TENANT_NOT_FOUND, &[tenant_path.as_str()]);
    }
    let scopes: Vec<String> =
        req.form.get("scope").map(|s| s.split_whitespace().map(str::to_string).collect()).unwrap_or_default();
    let asked = match declares_cp1(now, req.form.get("claims").map(String::as_str)) {
        Ok(cae) => Asked { cae, client_info: req.form.get("client_info").is_some_and(|v| v == "1") },
        Err(r) => return r,
    };
    match req.form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => redeem_code(s, req, &app, &tenant_path, path_tenant, scopes, asked),
        Some("refresh_token") => redeem_refresh(s, req, &app, path_tenant, scopes, asked),
        Some("client_credentials") => client_credentials(s, &app, &tenant_path, path_tenant, scopes, asked),
        Some(super::device::GRANT_TYPE) => match super::device::poll(s, req, &app) {
            Ok((user_id, scopes)) => match s.user(&user_id).cloned() {
                Some(user) => issue(s, &app, &user, &scopes, None, None, asked),
                None => aad_error(now, &aadsts::USER_NOT_FOUND, &[]),
            },
            Err(r) => r,
        },
        Some(other) => aad_error(now, &aadsts::UNSUPPORTED_GRANT, &[other]),
        None => aad_error(now, &aadsts::MISSING_PARAMETER, &["grant_type"]),
    }
}

/// What a token request asked for beyond its grant.
#[derive(Clone, Copy)]
struct Asked {
    /// The client declared `cp1`: a CAE token.
    cae: bool,
    /// `client_info=1`: the answer names the home account (`uid`, `utid`).
    client_info: bool,
}

/// Whether a token request's `claims` declare the client capability `cp1` (a JSON object with
/// `access_token.xms_cc.values` holding it); claims that are not JSON are refused.
fn declares_cp1(now: i64, claims: Option<&str>) -> Result<bool, Response> {
    let Some(claims) = claims else {
        return Ok(false);
    };
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(claims) else {
        return Err(aad_error(now, &aadsts::INVALID_PARAMETER, &["claims"]));
    };
    let values = doc.pointer("/access_token/xms_cc/values").and_then(serde_json::Value::as_array);
    Ok(values.is_some_and(|v| v.iter().any(|c| c.as_str().is_some_and(|c| c.eq_ignore_ascii_case("cp1")))))
}

fn redeem_code(
    s: &mut State,
    req: &Incoming,
    app: &App,
    tenant_path: &str,
    path_tenant: Option<String>,
    scopes: Vec<String>,
    asked: Asked,
) -> Response {
    let now = s.now();
    let Some(code) = req.form.get("code") else {
        return aad_error(now, &aadsts::MISSING_PARAMETER, &["code"]);
    };
    if scopes.is_empty() {
        return aad_error(now, &aadsts::EMPTY_SCOPE, &[]);
    }
    if let Err(text) = check_one_resource(&scopes) {
        return aad_error(now, &aadsts::SEVERAL_RESOURCES_TOKEN, &[&text]);
    }
    let Some(grant) = s.codes.get(code).cloned() else {
        return aad_error(now, &aadsts::MALFORMED_GRANT, &["authorization code"]);
    };
    if grant.used {
        return aad_error(now, &aadsts::CODE_REDEEMED, &[]);
    }
    if now - grant.issued_at > CODE_LIFETIME {
        return aad_error(now, &aadsts::EXPIRED_BY_INACTIVITY, &[]);
    }
    if grant.client_id != app.client_id {
        return aad_error(now, &aadsts::GRANT_OF_ANOTHER_CLIENT, &["code"]);
    }
    let Some(user) = s.user(&grant.user_id).cloned() else {
        return aad_error(now, &aadsts::USER_NOT_FOUND, &[]);
    };
    let tenant_ok =
        grant.tenant_path.eq_ignore_ascii_case(tenant_path) || path_tenant.as_deref() == Some(user.tenant_id.as_str());
    if !tenant_ok {
        return aad_error(now, &aadsts::CODE_OF_ANOTHER_TENANT, &[]);
    }
    if req.form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return aad_error(now, &aadsts::REDIRECT_MISMATCH, &[]);
    }
    if let Some(challenge) = &grant.code_challenge {
        let Some(verifier) = req.form.get("code_verifier") else {
            return aad_error(now, &aadsts::VERIFIER_MISSING, &[]);
        };
        let computed = match grant.code_challenge_method.as_deref() {
            Some("S256") => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
            _ => verifier.clone(),
        };
        if &computed != challenge {
            return aad_error(now, &aadsts::VERIFIER_MISMATCH, &[]);
        }
    }
    if let Some(c) = s.codes.get_mut(code) {
        c.used = true;
    }
    issue(s, app, &user, &grant.scopes, grant.nonce.as_deref(), None, asked)
}

fn redeem_refresh(
    s: &mut State,
    req: &Incoming,
    app: &App,
    path_tenant: Option<String>,
    scopes: Vec<String>,
    asked: Asked,
) -> Response {
    let now = s.now();
    let Some(rt) = req.form.get("refresh_token") else {
        return aad_error(now, &aadsts::MISSING_PARAMETER, &["refresh_token"]);
    };
    let Some(grant) = s.refresh.get(rt).cloned() else {
        return aad_error(now, &aadsts::MALFORMED_GRANT, &["refresh token"]);
    };
    if grant.revoked {
        return aad_error(now, &aadsts::REVOKED, &[]);
    }
    if grant.client_id != app.client_id {
        return aad_error(now, &aadsts::GRANT_OF_ANOTHER_CLIENT, &["refresh token"]);
    }
    if path_tenant.as_ref().is_some_and(|t| *t != grant.tenant_id) {
        return aad_error(now, &aadsts::REFRESH_OF_ANOTHER_TENANT, &[]);
    }
    if let Err(text) = check_one_resource(&scopes) {
        return aad_error(now, &aadsts::SEVERAL_RESOURCES_TOKEN, &[&text]);
    }
    let requested: Vec<String> = if scopes.is_empty() { grant.scopes.clone() } else { scopes };
    let beyond: Vec<&String> =
        requested.iter().filter(|r| !grant.scopes.iter().any(|g| g.eq_ignore_ascii_case(r))).collect();
    if !beyond.is_empty() {
        return aad_error(
            now,
            &aadsts::CONSENT_REQUIRED,
            &[&app.client_id, &format!("for {}", beyond.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "))],
        );
    }
    let Some(user) = s.user(&grant.user_id).cloned() else {
        return aad_error(now, &aadsts::USER_NOT_FOUND, &[]);
    };
    issue(s, app, &user, &requested, None, Some(rt.clone()), asked)
}

fn client_credentials(
    s: &mut State,
    app: &App,
    tenant_path: &str,
    path_tenant: Option<String>,
    scopes: Vec<String>,
    asked: Asked,
) -> Response {
    let now = s.now();
    let Some(tenant_id) = path_tenant else {
        return aad_error(now, &aadsts::CLIENT_CREDENTIALS_NEED_TENANT, &[tenant_path]);
    };
    if app.public_client {
        // A public client has no credential to prove itself with.
        return aad_error(now, &aadsts::CREDENTIAL_MISSING, &[]);
    }
    if scopes.len() != 1 || !scopes[0].ends_with("/.default") {
        return aad_error(now, &aadsts::DEFAULT_SCOPE_REQUIRED, &[&scopes.join(" ")]);
    }
    let roles = app.granted_roles.get(&tenant_id).cloned().unwrap_or_default();
    let exp = now + s.access_token_lifetime;
    let oid = super::token_jwt::guid();
    let access = jwt(&json!({
        "aud": GRAPH_RESOURCE, "iss": format!("https://sts.windows.net/{tenant_id}/"), "iat": now, "nbf": now, "exp": exp,
        "app_displayname": app.name, "appid": app.client_id, "idtyp": "app", "oid": oid, "roles": roles, "sub": oid,
        "tid": tenant_id, "ver": "1.0", "uti": random(16), "xms_cc": if asked.cae { json!(["cp1"]) } else { json!([]) }
    }));
    let serial = next_serial(s);
    s.access.insert(
        access.clone(),
        AccessGrant {
            client_id: app.client_id.clone(),
            tenant_id,
            user_id: None,
            scopes: vec![],
            roles,
            expires_at: exp,
            cae: asked.cae,
            serial,
        },
    );
    respond::json(
        200,
        &json!({"token_type": "Bearer", "expires_in": s.access_token_lifetime, "ext_expires_in": s.access_token_lifetime, "access_token": access}),
    )
}

fn next_serial(s: &mut State) -> u64 {
    s.access_serial += 1;
    s.access_serial
}

/// Issues access, refresh (with offline_access) and id (with openid) tokens.
fn issue(
    s: &mut State,
    app: &App,
    user: &User,
    scopes: &[String],
    nonce: Option<&str>,
    replaces: Option<String>,
    asked: Asked,
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
        "xms_cc": if asked.cae { json!(["cp1"]) } else { json!([]) },
        "wids": if user.roles.iter().any(|r| r == "Global Administrator") { json!(["62e90394-69f5-4237-9190-012177145e10"]) } else { json!([]) }
    }));
    let serial = next_serial(s);
    s.access.insert(
        access.clone(),
        AccessGrant {
            client_id: app.client_id.clone(),
            tenant_id: user.tenant_id.clone(),
            user_id: Some(user.id.clone()),
            scopes: perms,
            roles: vec![],
            expires_at: exp,
            cae: asked.cae,
            serial,
        },
    );
    let mut body = json!({
        "token_type": "Bearer",
        "scope": scp.join(" "),
        "expires_in": s.access_token_lifetime,
        "ext_expires_in": s.access_token_lifetime,
        "access_token": access,
    });
    if asked.client_info {
        let info = json!({"uid": user.id, "utid": user.tenant_id}).to_string();
        body["client_info"] = json!(URL_SAFE_NO_PAD.encode(info));
    }
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
