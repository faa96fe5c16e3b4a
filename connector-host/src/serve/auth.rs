//! Who may call the API: `Authorization: Bearer <key>` with a key of this platform that is not
//! revoked (a revocation made by another process takes effect within a second), within the rate
//! limits of its key and of the client's address.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;
use super::AppState;

fn rate_limited() -> Response {
    let mut r = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many requests; wait a second.")
        .into_response();
    r.headers_mut().insert(header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
    r
}

/// The middleware in front of every `/api/v1` route but the OpenAPI document.
pub async fn require_api_key(
    State(state): State<Arc<AppState>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    if state.limits.per_client.check_key(&client.ip()).is_err() {
        return rate_limited();
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|k| k.trim().to_string());
    let Some(presented) = presented else { return ApiError::unauthorized().into_response() };
    // A key this process verified in the last second is answered from memory; any other goes
    // to the store, on a blocking thread.
    let key = match state.platform.recently_verified_api_key(&presented) {
        Some(key) => key,
        None => {
            let platform = state.platform.clone();
            match tokio::task::spawn_blocking(move || platform.verify_api_key(&presented)).await {
                Ok(Ok(Some(key))) => key,
                Ok(Ok(None)) => return ApiError::unauthorized().into_response(),
                Ok(Err(e)) => return ApiError::from(e).into_response(),
                Err(_) => return ApiError::unauthorized().into_response(),
            }
        }
    };
    if state.limits.per_key.check_key(&key.id).is_err() {
        return rate_limited();
    }
    request.extensions_mut().insert(key);
    next.run(request).await
}
