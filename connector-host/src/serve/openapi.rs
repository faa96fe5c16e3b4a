//! The API's OpenAPI 3.1 document, generated from the handlers and their types.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::api::{
    self, AuthorizationStarted, ClaimsChallenge, ConnectionView, CreateConnection, TestAnswer, TokenAnswer,
};
use super::errors::{ErrorBody, ErrorDetail};

#[derive(OpenApi)]
#[openapi(
    info(title = "connector-host platform API", description = "Connections to Microsoft Entra ID (interface v1 connectors): create, sign in, test, refresh, and fresh access tokens for flows."),
    paths(api::list, api::create, api::show, api::delete, api::authorize, api::admin_consent, api::test, api::refresh, api::token, api::claims_challenge, api::classify),
    components(schemas(ConnectionView, CreateConnection, AuthorizationStarted, TestAnswer, TokenAnswer, ClaimsChallenge, ErrorBody, ErrorDetail)),
    modifiers(&BearerKey),
)]
pub struct ApiDoc;

/// `Authorization: Bearer <key>` (`connector-host api-keys create NAME`).
struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key of this platform"))
                    .build(),
            ),
        );
    }
}
