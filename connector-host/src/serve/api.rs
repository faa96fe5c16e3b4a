//! The HTTP API under `/api/v1`, the OAuth callback and the health checks. Each handler decodes,
//! calls one platform function on a blocking thread, and encodes.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use connector_interface::ClassifyErrorInput;
use host_harness::platform::{Platform, PlatformError, Record, Status};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::{OpenApi, ToSchema};

use super::errors::ApiError;
use super::layers::{security_headers, MAX_BODY_BYTES, REQUEST_TIMEOUT};
use super::{auth, openapi, AppState};

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// Runs `f` on the platform on a blocking thread.
pub(crate) async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Platform) -> Result<T, PlatformError> + Send + 'static,
) -> ApiResult<T> {
    let platform = state.platform.clone();
    tokio::task::spawn_blocking(move || f(&platform))
        .await
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "host_error", "The request was interrupted."))?
        .map_err(ApiError::from)
}

/// A connection as the API shows it: no secret, ever.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionView {
    pub name: String,
    /// `pending_authorization`, `connected`, `needs_reauthorization` or `needs_attention`.
    pub status: String,
    /// What to do when the connection is not usable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
    /// The settings without the secret ones.
    #[schema(value_type = Object)]
    pub settings: Value,
    /// Who signed in, in which tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub identity: Option<Value>,
    /// When the access token expires (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// How many token sets the connection has had.
    pub token_sets: i64,
    /// The last failure as the connector classified it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub last_error: Option<Value>,
    /// The certificates the connection's app signs in with (never a private key).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<CertificateView>,
    /// What needs doing before it breaks (a certificate that ends within 30 days).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The claims a provider's claims challenge asked for (decoded JSON), until a token set is
    /// issued with them: the next refresh or sign-in carries them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims_challenge: Option<String>,
}

/// A certificate as the Entra admin center lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateView {
    pub subject: String,
    /// SHA-1, upper-case hex: the thumbprint the admin center shows.
    pub thumbprint: String,
    /// base64url SHA-256 (the client assertion's `x5t#S256`).
    pub x5t_s256: String,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
}

impl ConnectionView {
    /// The view of `r`, with its certificates and what `p` warns of now.
    pub fn of(p: &Platform, r: &Record) -> ConnectionView {
        let certificates = p
            .certificates(r)
            .into_iter()
            .map(|c| CertificateView {
                subject: c.subject,
                thumbprint: c.sha1_thumbprint,
                x5t_s256: c.x5t_s256,
                not_before: c.not_before,
                not_after: c.not_after,
            })
            .collect();
        ConnectionView {
            certificates,
            warnings: p.certificate_warning(r).into_iter().collect(),
            ..ConnectionView::from(r)
        }
    }
}

impl From<&Record> for ConnectionView {
    fn from(r: &Record) -> Self {
        ConnectionView {
            name: r.name.clone(),
            status: r.status.as_str().to_string(),
            remedy: r.remedy.clone().filter(|_| r.status != Status::Connected),
            settings: Value::Object(r.settings.clone()),
            identity: r.identity.as_ref().and_then(|i| serde_json::to_value(i).ok()),
            expires_at: r.expires_at,
            token_sets: r.generation,
            claims_challenge: r.secrets.claims.clone(),
            last_error: r.last_error.as_ref().and_then(|e| serde_json::to_value(e).ok()),
            certificates: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// No `Debug`: the settings may hold a client secret.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConnection {
    /// The panel's values: `name`, `scopes` and the connector's other settings (secret ones
    /// are sealed and never shown again).
    #[schema(value_type = Object)]
    pub settings: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizationStarted {
    /// Open this in the person's browser (the sign-in pop-up).
    pub url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TestAnswer {
    pub summary: String,
    #[schema(value_type = Option<Object>)]
    pub test: Option<Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenAnswer {
    /// The connection's access token, fresh for at least five minutes. The only answer of the
    /// API that carries a secret (`Debug` shows it redacted).
    #[schema(value_type = String)]
    pub access_token: connector_interface::Secret,
    pub token_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/connections", tag = "connections",
    responses((status = 200, body = Vec<ConnectionView>), (status = 401, body = super::errors::ErrorBody)),
    security(("api_key" = [])))]
pub async fn list(State(s): State<Arc<AppState>>) -> ApiResult<Json<Vec<ConnectionView>>> {
    let views = blocking(&s, |p| {
        p.store.names()?.iter().map(|n| Ok(ConnectionView::of(p, &p.store.get(n)?))).collect::<Result<Vec<_>, _>>()
    })
    .await?;
    Ok(Json(views))
}

#[utoipa::path(post, path = "/api/v1/connections", tag = "connections", request_body = CreateConnection,
    responses((status = 201, body = ConnectionView), (status = 409, body = super::errors::ErrorBody),
        (status = 422, description = "A setting is refused; `field` names it", body = super::errors::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create(State(s): State<Arc<AppState>>, Json(body): Json<CreateConnection>) -> ApiResult<Response> {
    let view = blocking(&s, move |p| Ok(ConnectionView::of(p, &p.create(&body.settings)?))).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

#[utoipa::path(get, path = "/api/v1/connections/{name}", tag = "connections",
    params(("name" = String, Path)), responses((status = 200, body = ConnectionView), (status = 404, body = super::errors::ErrorBody)),
    security(("api_key" = [])))]
pub async fn show(State(s): State<Arc<AppState>>, Path(name): Path<String>) -> ApiResult<Json<ConnectionView>> {
    let view = blocking(&s, move |p| Ok(ConnectionView::of(p, &p.store.get(&name)?))).await?;
    Ok(Json(view))
}

#[utoipa::path(delete, path = "/api/v1/connections/{name}", tag = "connections",
    params(("name" = String, Path)), responses((status = 204), (status = 404, body = super::errors::ErrorBody)),
    security(("api_key" = [])))]
pub async fn delete(State(s): State<Arc<AppState>>, Path(name): Path<String>) -> ApiResult<StatusCode> {
    blocking(&s, move |p| p.store.delete(&name)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/connections/{name}/authorize", tag = "connections",
    params(("name" = String, Path)), responses((status = 200, body = AuthorizationStarted), (status = 404, body = super::errors::ErrorBody)),
    security(("api_key" = [])))]
pub async fn authorize(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> ApiResult<Json<AuthorizationStarted>> {
    let start = blocking(&s, move |p| p.begin_authorization(&name)).await?;
    Ok(Json(AuthorizationStarted { url: start.url }))
}

/// The URL an administrator opens to grant the connection's permissions for the whole tenant;
/// its redirect comes back to `/callback` like a sign-in's.
#[utoipa::path(post, path = "/api/v1/connections/{name}/admin-consent", tag = "connections",
    params(("name" = String, Path)), responses((status = 200, body = AuthorizationStarted), (status = 404, body = super::errors::ErrorBody)),
    security(("api_key" = [])))]
pub async fn admin_consent(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> ApiResult<Json<AuthorizationStarted>> {
    let start = blocking(&s, move |p| p.begin_admin_consent(&name)).await?;
    Ok(Json(AuthorizationStarted { url: start.url }))
}

#[utoipa::path(post, path = "/api/v1/connections/{name}/test", tag = "connections",
    params(("name" = String, Path)), responses((status = 200, body = TestAnswer), (status = 502, body = super::errors::ErrorBody)),
    security(("api_key" = [])))]
pub async fn test(State(s): State<Arc<AppState>>, Path(name): Path<String>) -> ApiResult<Json<TestAnswer>> {
    let c = blocking(&s, move |p| p.test(&name)).await?;
    Ok(Json(TestAnswer { summary: c.summary, test: c.test.and_then(|t| serde_json::to_value(t).ok()) }))
}

#[utoipa::path(post, path = "/api/v1/connections/{name}/refresh", tag = "connections",
    params(("name" = String, Path)), responses((status = 200, body = ConnectionView), (status = 502, body = super::errors::ErrorBody)),
    security(("api_key" = [])))]
pub async fn refresh(State(s): State<Arc<AppState>>, Path(name): Path<String>) -> ApiResult<Json<ConnectionView>> {
    let view = blocking(&s, move |p| Ok(ConnectionView::of(p, &p.refresh(&name)?))).await?;
    Ok(Json(view))
}

#[utoipa::path(post, path = "/api/v1/connections/{name}/token", tag = "connections",
    params(("name" = String, Path)),
    responses((status = 200, description = "A fresh access token: the one answer that reveals a secret", body = TokenAnswer),
        (status = 409, body = super::errors::ErrorBody), (status = 502, body = super::errors::ErrorBody)),
    security(("api_key" = [])))]
pub async fn token(State(s): State<Arc<AppState>>, Path(name): Path<String>) -> ApiResult<Json<TokenAnswer>> {
    let (token, expires_at) = blocking(&s, move |p| p.access_token_until(&name)).await?;
    Ok(Json(TokenAnswer {
        access_token: connector_interface::Secret::new(token),
        token_type: "Bearer".into(),
        expires_at,
    }))
}

/// What a flow hands back when the provider refused the connection's token with a claims
/// challenge.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimsChallenge {
    /// The `WWW-Authenticate` header of the provider's 401, as received.
    pub www_authenticate: String,
}

/// A token that meets a claims challenge (learn.microsoft.com/entra/identity-platform/claims-challenge):
/// the platform keeps the claims with the connection and refreshes with them. When the refresh
/// token is not enough (the session was revoked) the answer is the provider's refusal (502, with
/// its classification) and the connection needs a sign-in, which carries the claims; 409 when it
/// needed one already.
#[utoipa::path(post, path = "/api/v1/connections/{name}/claims-challenge", tag = "connections",
    params(("name" = String, Path)), request_body = ClaimsChallenge,
    responses((status = 200, description = "A fresh access token that meets the claims", body = TokenAnswer),
        (status = 409, body = super::errors::ErrorBody), (status = 422, body = super::errors::ErrorBody),
        (status = 502, body = super::errors::ErrorBody)),
    security(("api_key" = [])))]
pub async fn claims_challenge(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    Json(challenge): Json<ClaimsChallenge>,
) -> ApiResult<Json<TokenAnswer>> {
    let (token, expires_at) = blocking(&s, move |p| p.claims_challenge(&name, &challenge.www_authenticate)).await?;
    Ok(Json(TokenAnswer {
        access_token: connector_interface::Secret::new(token),
        token_type: "Bearer".into(),
        expires_at,
    }))
}

#[utoipa::path(post, path = "/api/v1/classify", tag = "classify",
    request_body(content = Object, description = "classify_error's input (interface v1)"),
    responses((status = 200, description = "The connector's classification", body = Object),
        (status = 422, body = super::errors::ErrorBody)),
    security(("api_key" = [])))]
pub async fn classify(State(s): State<Arc<AppState>>, Json(input): Json<Value>) -> ApiResult<Json<Value>> {
    let input: ClassifyErrorInput = serde_json::from_value(input).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            format!("The input is not classify_error's: {e}"),
        )
    })?;
    let c = blocking(&s, move |p| Ok(p.host.v1().classify_error(&input)??)).await?;
    Ok(Json(serde_json::to_value(c).unwrap_or_default()))
}

/// The OAuth redirect back from sign-in: the state is the proof that it answers this platform's
/// request. The page tells the person what happened; it holds nothing secret.
pub async fn callback(State(s): State<Arc<AppState>>, Query(query): Query<BTreeMap<String, String>>) -> Response {
    let outcome = blocking(&s, move |p| p.complete_authorization(&query)).await;
    let (title, name, text) = match &outcome {
        Ok(c) => ("Connected", c.name.clone(), c.summary.clone()),
        Err(e) => (
            "Sign-in did not complete",
            String::new(),
            format!("{} {}", e.detail.message, e.detail.remedy.clone().unwrap_or_default()),
        ),
    };
    let status = if outcome.is_ok() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let mut r = (status, Html(super::panel::callback_page(outcome.is_ok(), &name, title, &text))).into_response();
    r.headers_mut().insert(
        axum::http::header::CONTENT_SECURITY_POLICY,
        axum::http::HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    r
}

/// Text for HTML: every character that could open markup is escaped.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the store answers.
pub async fn readyz(State(s): State<Arc<AppState>>) -> ApiResult<&'static str> {
    blocking(&s, |p| p.store.names().map(drop)).await?;
    Ok("ready")
}

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi::ApiDoc::openapi())
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such route.")
}

pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/connections", get(list).post(create))
        .route("/connections/{name}", get(show).delete(delete))
        .route("/connections/{name}/authorize", post(authorize))
        .route("/connections/{name}/admin-consent", post(admin_consent))
        .route("/connections/{name}/test", post(test))
        .route("/connections/{name}/refresh", post(refresh))
        .route("/connections/{name}/token", post(token))
        .route("/connections/{name}/claims-challenge", post(claims_challenge))
        .route("/classify", post(classify))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_api_key));
    let mut app = Router::new()
        .nest("/api/v1", api)
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/callback", get(callback))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(super::panel::router(state.clone()))
        .fallback(not_found)
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
                .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT)),
        );
    for h in security_headers() {
        app = app.layer(h);
    }
    app
}
