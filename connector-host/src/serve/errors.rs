//! The API's one error shape: `{"error": {"code", "message", "field"?, "remedy"?,
//! "classification"?}}` with a stable code and the HTTP status that goes with it. Nothing secret
//! is ever in it: messages come from the platform's typed errors, which hold none.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use host_harness::platform::PlatformError;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable: `unauthorized`, `not_found`, `name_taken`, `invalid_input`, `connection_unusable`,
    /// `sign_in_state`, the connector's classification code (`insufficient_privileges`, ...),
    /// `payload_too_large`, `rate_limited`, `store_unavailable`, `host_error`.
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
    /// The connector's whole classification of a provider failure (support ids included).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub classification: Option<Value>,
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: ErrorDetail,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            detail: ErrorDetail {
                code: code.into(),
                message: message.into(),
                field: None,
                remedy: None,
                classification: None,
            },
        }
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Send an API key of this platform as `Authorization: Bearer <key>` (connector-host api-keys create NAME).",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, Json(ErrorBody { error: self.detail })).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert("www-authenticate", axum::http::HeaderValue::from_static("Bearer"));
        }
        r
    }
}

impl From<PlatformError> for ApiError {
    fn from(e: PlatformError) -> ApiError {
        let message = e.to_string();
        let (status, code) = match &e {
            PlatformError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            PlatformError::NameTaken(_) => (StatusCode::CONFLICT, "name_taken"),
            PlatformError::Changed(_) => (StatusCode::CONFLICT, "changed_meanwhile"),
            PlatformError::Unusable { .. } => (StatusCode::CONFLICT, "connection_unusable"),
            PlatformError::State(_) => (StatusCode::BAD_REQUEST, "sign_in_state"),
            PlatformError::Request(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            PlatformError::Store(_) | PlatformError::Key(_) => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
            PlatformError::Host(_) => (StatusCode::INTERNAL_SERVER_ERROR, "host_error"),
            PlatformError::Device(d) => (StatusCode::CONFLICT, d.code()),
            PlatformError::Connector(c) => {
                let mut err = match c.classification() {
                    // A provider's failure: the platform could not do it, and says why.
                    Some(_) => ApiError::new(StatusCode::BAD_GATEWAY, c.code(), c.message()),
                    None => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, c.code(), c.message()),
                };
                err.detail.field = c.field().map(str::to_string);
                err.detail.remedy = c.remediation().map(str::to_string);
                err.detail.classification = c.classification().and_then(|x| serde_json::to_value(x).ok());
                return err;
            }
        };
        if let PlatformError::Unusable { remedy, .. } = &e {
            let mut err = ApiError::new(status, code, message);
            err.detail.remedy = Some(remedy.clone());
            return err;
        }
        if status.is_server_error() {
            tracing::warn!(code, error = %message, "request failed");
        }
        ApiError::new(status, code, message)
    }
}
