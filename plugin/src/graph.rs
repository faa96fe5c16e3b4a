//! Microsoft Graph: the connection test (`/me`, `/organization`) and the live permission
//! catalog (the Microsoft Graph service principal's `oauth2PermissionScopes` and `appRoles`).

use serde_json::Value;

use crate::catalog::{self, ScopeInfo, ScopeKind};
use crate::classify::{self, Phase};
use crate::cloud::{Cloud, Endpoints, GRAPH_APP_ID};
use crate::error::{CResult, ConnectorError, ErrorCode};
use crate::http::{HttpClient, HttpOutcome, HttpRequest};
use crate::jwt;
use crate::scopes::permission_name;
use crate::secret::Secret;
use crate::settings::{Grant, Platform, RawSettings, Settings};

pub type TestInput = connector_interface::TestConnectionInput<RawSettings>;
pub type ListScopesInput = connector_interface::ListScopesInput<RawSettings>;
pub use connector_interface::io::{ConnectionKind, ScopeList, ScopeSource, TestResult, Who};

fn get(http: &mut dyn HttpClient, url: String, token: &Secret) -> CResult<Value> {
    let mut req = HttpRequest::get(url).bearer(token);
    match http.send(&mut req) {
        HttpOutcome::TransportError(t) => Err(ConnectorError::classified(classify::from_transport(Phase::Graph, &t))),
        HttpOutcome::Response(r) if r.is_success() => serde_json::from_str(&r.body).map_err(|_| {
            ConnectorError::plain(
                ErrorCode::InvalidResponse,
                "Microsoft Graph answered with something that is not JSON.",
            )
        }),
        HttpOutcome::Response(r) => {
            Err(ConnectorError::classified(classify::from_response(Phase::Graph, &r, None, &[token.expose()])))
        }
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(|s| s.chars().filter(|c| !c.is_control()).take(256).collect())
}

/// Permissions granted in an access token: `scp` (delegated, space separated) or `roles` (app).
pub fn granted(token: &Secret) -> Option<Vec<String>> {
    let c = jwt::claims(token.expose())?;
    if let Some(scp) = c.get("scp").and_then(Value::as_str) {
        return Some(scp.split_whitespace().map(str::to_string).collect());
    }
    c.get("roles").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).map(str::to_string).collect())
}

pub fn test_connection(input: &TestInput, platform: &Platform, http: &mut dyn HttpClient) -> CResult<TestResult> {
    let s = Settings::validate(&input.settings, platform)?;
    if input.access_token.is_empty() || input.access_token.len() > 16 * 1024 {
        return Err(ConnectorError::invalid(
            "access_token",
            "access_token must be the connection's current access token.",
        ));
    }
    let token = &input.access_token;
    let user = if s.grant == Grant::AuthorizationCode {
        let me = get(http, s.endpoints.graph("/v1.0/me?$select=id,displayName,userPrincipalName"), token)?;
        Some(Who {
            id: text(&me, "id").unwrap_or_default(),
            display_name: text(&me, "displayName"),
            username: text(&me, "userPrincipalName"),
        })
    } else {
        None
    };
    let org = get(http, s.endpoints.graph("/v1.0/organization?$select=id,displayName"), token)?;
    let first = org.get("value").and_then(Value::as_array).and_then(|v| v.first()).cloned().unwrap_or(Value::Null);
    let tenant =
        Who { id: text(&first, "id").unwrap_or_default(), display_name: text(&first, "displayName"), username: None };
    let requested = s.scopes.permissions();
    let granted = granted(token);
    let missing: Vec<String> = match &granted {
        Some(g) => requested
            .iter()
            .filter(|r| !g.iter().any(|x| permission_name(x).eq_ignore_ascii_case(permission_name(r))))
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let tenant_label = tenant.display_name.clone().unwrap_or_else(|| tenant.id.clone());
    let mut summary = match &user {
        Some(u) => format!(
            "Connected as {} in {tenant_label}.",
            u.username.clone().or(u.display_name.clone()).unwrap_or_else(|| u.id.clone())
        ),
        None => format!("Connected as the app {} in {tenant_label}.", s.client.id),
    };
    if !missing.is_empty() {
        summary.push_str(&format!(" Not granted: {}.", missing.join(", ")));
    }
    Ok(TestResult {
        kind: if user.is_some() { ConnectionKind::Delegated } else { ConnectionKind::Application },
        user,
        tenant,
        granted_scopes: granted,
        requested_scopes: requested,
        missing_scopes: missing,
        summary,
    })
}

/// The permissions of the Graph service principal's JSON.
pub fn parse_service_principal(sp: &Value) -> Vec<ScopeInfo> {
    let mut out: Vec<ScopeInfo> = catalog::builtin().into_iter().filter(|s| s.kind == ScopeKind::Oidc).collect();
    let enabled = |v: &Value| v.get("isEnabled").and_then(Value::as_bool).unwrap_or(true);
    for p in sp.get("oauth2PermissionScopes").and_then(Value::as_array).into_iter().flatten().filter(|v| enabled(v)) {
        let Some(value) = text(p, "value") else { continue };
        out.push(ScopeInfo {
            value,
            kind: ScopeKind::Delegated,
            description: text(p, "adminConsentDisplayName")
                .or_else(|| text(p, "userConsentDisplayName"))
                .unwrap_or_default(),
            admin_consent_required: p.get("type").and_then(Value::as_str) != Some("User"),
        });
    }
    for r in sp.get("appRoles").and_then(Value::as_array).into_iter().flatten().filter(|v| enabled(v)) {
        let Some(value) = text(r, "value") else { continue };
        let for_apps = r
            .get("allowedMemberTypes")
            .and_then(Value::as_array)
            .is_none_or(|t| t.iter().any(|m| m.as_str() == Some("Application")));
        if for_apps {
            out.push(ScopeInfo {
                value,
                kind: ScopeKind::Application,
                description: text(r, "displayName").or_else(|| text(r, "description")).unwrap_or_default(),
                admin_consent_required: true,
            });
        }
    }
    out
}

pub fn list_scopes(input: &ListScopesInput, platform: &Platform, http: &mut dyn HttpClient) -> CResult<ScopeList> {
    let builtin =
        || ScopeList { scopes: catalog::builtin(), source: ScopeSource::Builtin, note: None, fetch_error: None };
    let Some(token) = input.access_token.as_ref().filter(|t| !t.is_empty()) else {
        return Ok(builtin());
    };
    let cloud_id =
        input.settings.as_ref().and_then(|s| s.cloud.as_deref()).filter(|c| !c.is_empty()).unwrap_or("global");
    let cloud = Cloud::by_id(cloud_id).ok_or_else(|| {
        ConnectorError::invalid("settings.cloud", format!("Unknown cloud; choose one of {}.", Cloud::ids().join(", ")))
    })?;
    let endpoints = Endpoints::for_cloud(cloud, platform.login_base_url.as_deref(), platform.graph_base_url.as_deref());
    let url = endpoints
        .graph(&format!("/v1.0/servicePrincipals(appId='{GRAPH_APP_ID}')?$select=oauth2PermissionScopes,appRoles"));
    match get(http, url, token) {
        Ok(sp) => {
            let scopes = parse_service_principal(&sp);
            if scopes.iter().all(|s| s.kind == ScopeKind::Oidc) {
                let mut b = builtin();
                b.note = Some("Microsoft Graph returned no permissions; showing the built-in list instead.".into());
                return Ok(b);
            }
            Ok(ScopeList { scopes, source: ScopeSource::Live, note: None, fetch_error: None })
        }
        Err(e) => {
            let mut b = builtin();
            b.note = Some(format!(
                "The live list of permissions could not be fetched ({}); showing the built-in list instead.",
                e.code()
            ));
            if let ConnectorError::Classified(c) = e {
                b.fetch_error = Some(c);
            }
            Ok(b)
        }
    }
}
