//! The panel: the web pages a person uses (Connections, Create connection, a connection's page)
//! and the JSON routes their script calls. Signed in by a one-time link; every state-changing
//! request carries the session's CSRF token and an Origin of this server.

mod device;
mod pages;

pub use device::DeviceSessions;

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use connector_interface::io::ListScopesInput;
use connector_interface::DescribeInput;
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::{blocking, ApiResult, ConnectionView};
use super::errors::ApiError;
use super::AppState;
use host_harness::platform::credentials::request_id;
use host_harness::platform::PanelSession as Session;

const PANEL_JS: &str = include_str!("../../../assets/panel.js");
const CALLBACK_JS: &str = include_str!("../../../assets/callback.js");
const PANEL_CSS: &str = include_str!("../../../assets/panel.css");
/// The session cookie's name.
const COOKIE: &str = "chs";

/// The panel's own content-security policy: its script and style files, nothing inline, no
/// frames; the sign-in window is opened by script, not framed.
const PAGE_CSP: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The session of a request, when its cookie names a live one (the store is shared by every
/// replica, so any of them knows it).
async fn session_of(state: &Arc<AppState>, headers: &HeaderMap) -> Result<Option<Session>, ApiError> {
    let Some(id) = cookie_value(headers, COOKIE).map(str::to_string) else { return Ok(None) };
    blocking(state, move |p| p.panel_session(&id)).await
}

/// Whether `Origin` (or, without it, `Referer`) is this server.
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    let origin = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|o| o.to_str().ok())
        .unwrap_or_default();
    let origin = origin.trim_end_matches('/');
    !host.is_empty()
        && (origin == format!("http://{host}")
            || origin.starts_with(&format!("http://{host}/"))
            || origin == format!("https://{host}")
            || origin.starts_with(&format!("https://{host}/")))
}

/// Pages need a session; state-changing routes also its CSRF token and this server's Origin.
async fn require_session(State(state): State<Arc<AppState>>, mut request: Request, next: Next) -> Response {
    let session = match session_of(&state, request.headers()).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let Some(session) = session else {
        return if request.uri().path().starts_with("/panel/api/") {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Sign in to the panel with the link `serve` printed.",
            )
            .into_response()
        } else {
            (StatusCode::UNAUTHORIZED, Html(pages::signed_out())).into_response()
        };
    };
    if request.method() != Method::GET {
        let token = request.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
        if !session.csrf_ok(token) || !same_origin(request.headers()) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "The request lacks this page's CSRF token or comes from another origin.",
            )
            .into_response();
        }
    }
    request.extensions_mut().insert(session);
    let mut response = next.run(request).await;
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
    response
}

#[derive(Deserialize)]
struct SignIn {
    token: String,
}

/// The one-time link: a session cookie, then the Connections page.
async fn sign_in(State(state): State<Arc<AppState>>, Query(q): Query<SignIn>) -> Response {
    let id = match blocking(&state, move |p| p.panel_sign_in(&q.token)).await {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    match id {
        Some(id) => {
            let secure = if state.tls { "; Secure" } else { "" };
            let cookie = format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/{secure}");
            let mut r = Redirect::to("/").into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        None => (StatusCode::UNAUTHORIZED, Html(pages::signed_out())).into_response(),
    }
}

/// Sign out: the session ends on every replica, and the cookie is cleared.
async fn sign_out(State(s): State<Arc<AppState>>, ext: Option<axum::Extension<Session>>) -> ApiResult<Response> {
    if let Some(axum::Extension(session)) = ext {
        blocking(&s, move |p| p.panel_sign_out(&session)).await?;
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    let cleared = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&cleared) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

fn session(request_session: Option<axum::Extension<Session>>) -> String {
    request_session.map(|s| s.0.csrf).unwrap_or_default()
}

async fn list_page(State(s): State<Arc<AppState>>, ext: Option<axum::Extension<Session>>) -> ApiResult<Html<String>> {
    let (records, now) = blocking(&s, |p| {
        let records = p.store.names()?.iter().map(|n| p.store.get(n)).collect::<Result<Vec<_>, _>>()?;
        Ok((records, p.now()))
    })
    .await?;
    Ok(Html(pages::page("Connections", &session(ext), &pages::connections(&records, now))))
}

async fn new_page(State(s): State<Arc<AppState>>, ext: Option<axum::Extension<Session>>) -> ApiResult<Html<String>> {
    let d = blocking(&s, |p| Ok(p.host.v1().describe(&DescribeInput::default())??)).await?;
    Ok(Html(pages::page("Create connection", &session(ext), &pages::create_form(&d))))
}

async fn connection_page(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    ext: Option<axum::Extension<Session>>,
) -> ApiResult<Html<String>> {
    let (r, warnings) = blocking(&s, move |p| {
        let r = p.store.get(&name)?;
        let warnings: Vec<String> = p.certificate_warning(&r).into_iter().collect();
        Ok((r, warnings))
    })
    .await?;
    Ok(Html(pages::page(&r.name, &session(ext), &pages::connection(&r, &warnings))))
}

#[derive(Deserialize)]
struct ScopesQuery {
    #[serde(default)]
    name: Option<String>,
}

/// "Fetch data": the live catalog with a connection's token when it has one, else the
/// connector's built-in one; the answer says which.
async fn scopes(State(s): State<Arc<AppState>>, Query(q): Query<ScopesQuery>) -> ApiResult<Json<Value>> {
    let list = blocking(&s, move |p| {
        let token = q.name.as_deref().and_then(|n| p.access_token(n).ok().map(|t| (n, t)));
        // A request id only for the live catalog: the built-in one makes no request and is
        // remembered by its input.
        let client_request_id = token.as_ref().map(|(n, _)| request_id(n, "list_scopes"));
        Ok(p.host.v1().list_scopes(&ListScopesInput {
            settings: None,
            access_token: token.map(|(_, t)| connector_interface::Secret::new(t)),
            client_request_id,
        })??)
    })
    .await?;
    Ok(Json(serde_json::to_value(list).unwrap_or_default()))
}

#[derive(Deserialize)]
struct Create {
    settings: Value,
    /// Save only: the sign-in follows with a device code.
    #[serde(default)]
    device: bool,
}

/// Save and authorize: the connection is created (field errors come back by field) and the
/// sign-in URL is answered for the window the click opened.
async fn save_and_authorize(State(s): State<Arc<AppState>>, Json(body): Json<Create>) -> ApiResult<Json<Value>> {
    let (view, url) = blocking(&s, move |p| {
        let r = p.create(&body.settings)?;
        let url = if body.device { None } else { Some(p.begin_authorization(&r.name)?.url) };
        Ok((ConnectionView::of(p, &r), url))
    })
    .await?;
    Ok(Json(json!({"connection": view, "url": url})))
}

async fn reauthorize(State(s): State<Arc<AppState>>, Path(name): Path<String>) -> ApiResult<Json<Value>> {
    let url = blocking(&s, move |p| Ok(p.begin_authorization(&name)?.url)).await?;
    Ok(Json(json!({"url": url})))
}

async fn admin_consent(State(s): State<Arc<AppState>>, Path(name): Path<String>) -> ApiResult<Json<Value>> {
    let url = blocking(&s, move |p| Ok(p.begin_admin_consent(&name)?.url)).await?;
    Ok(Json(json!({"url": url})))
}

async fn test(State(s): State<Arc<AppState>>, Path(name): Path<String>) -> ApiResult<Json<Value>> {
    let c = blocking(&s, move |p| p.test(&name)).await?;
    Ok(Json(json!({"summary": c.summary, "test": c.test})))
}

async fn refresh(State(s): State<Arc<AppState>>, Path(name): Path<String>) -> ApiResult<Json<ConnectionView>> {
    let view = blocking(&s, move |p| Ok(ConnectionView::of(p, &p.refresh(&name)?))).await?;
    Ok(Json(view))
}

async fn delete(State(s): State<Arc<AppState>>, Path(name): Path<String>) -> ApiResult<StatusCode> {
    blocking(&s, move |p| p.store.delete(&name)).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

pub fn router(state: Arc<AppState>) -> Router<Arc<AppState>> {
    let guarded = Router::new()
        .route("/", get(list_page))
        .route("/connections/new", get(new_page))
        .route("/connections/{name}", get(connection_page))
        .route("/panel/api/scopes", get(scopes))
        .route("/panel/api/connections", post(save_and_authorize))
        .route("/panel/api/connections/{name}", axum::routing::delete(delete))
        .route("/panel/api/connections/{name}/authorize", post(reauthorize))
        .route("/panel/api/connections/{name}/admin-consent", post(admin_consent))
        .route("/panel/api/connections/{name}/test", post(test))
        .route("/panel/api/connections/{name}/refresh", post(refresh))
        .route("/panel/api/connections/{name}/device", post(device::start).get(device::status).delete(device::cancel))
        .route("/panel/api/signout", post(sign_out))
        .route_layer(axum::middleware::from_fn_with_state(state, require_session));
    Router::new()
        .merge(guarded)
        .route("/signin", get(sign_in))
        .route("/panel/panel.js", get(|| async { asset(PANEL_JS, "text/javascript; charset=utf-8") }))
        .route("/panel/callback.js", get(|| async { asset(CALLBACK_JS, "text/javascript; charset=utf-8") }))
        .route("/panel/panel.css", get(|| async { asset(PANEL_CSS, "text/css; charset=utf-8") }))
}

pub use pages::callback as callback_page;
