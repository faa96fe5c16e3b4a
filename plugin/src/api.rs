//! One entry for every export: decode the input strictly, run the core, encode the envelope.
//! The wasm export layer and the native tests both go through here, so they behave alike.

use crate::error::{envelope, ConnectorError, ErrorCode};
use crate::http::HttpClient;
use crate::input::decode;
use crate::settings::Platform;
use crate::{authorize, classify, describe, graph, token};

/// Runs `export` on `input`; the answer is always an interface v1 envelope.
pub fn call(export: &str, input: &[u8], platform: &Platform, http: &mut dyn HttpClient) -> String {
    match export {
        "describe" => {
            // `describe` also accepts an empty input.
            let input = if input.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { input };
            envelope(decode(input).and_then(|i| describe::describe(&i, platform)))
        }
        "validate_settings" => envelope(decode(input).and_then(|i| crate::settings::validate_export(&i, platform))),
        "list_scopes" => envelope(decode(input).and_then(|i| graph::list_scopes(&i, platform, http))),
        "authorize_url" => envelope(decode(input).and_then(|i| authorize::authorize_url(&i, platform))),
        "admin_consent_url" => envelope(decode(input).and_then(|i| authorize::admin_consent_url(&i, platform))),
        "exchange_code" => envelope(decode(input).and_then(|i| token::exchange_code(&i, platform, http))),
        "refresh_token" => envelope(decode(input).and_then(|i| token::refresh_token(&i, platform, http))),
        "client_credentials" => envelope(decode(input).and_then(|i| token::client_credentials(&i, platform, http))),
        "test_connection" => envelope(decode(input).and_then(|i| graph::test_connection(&i, platform, http))),
        "classify_error" => envelope(decode(input).and_then(|i| classify::classify_export(&i))),
        other => envelope::<()>(Err(ConnectorError::plain(
            ErrorCode::NotImplemented,
            format!("This connector has no export named {}.", other.chars().take(64).collect::<String>()),
        ))),
    }
}
