//! The error half of the interface v1 envelope.
//!
//! `{"error": {"code", "message", "field"?, ...}}`. Connector-level codes (`invalid_input`,
//! `id_token_invalid`, ...) are a closed set here; a failure that Microsoft reported carries the
//! classification of [`crate::classify`], whose `code` is one of that module's closed set.

use serde::Serialize;

pub use connector_interface::error::{ConnectorError, ErrorCode, PlainError};

/// Shorthand for results of the core.
pub type CResult<T> = Result<T, ConnectorError>;

/// The whole envelope for a result, written straight from the payload (no intermediate
/// `serde_json::Value`: one pass, one buffer).
pub fn envelope<T: Serialize>(result: CResult<T>) -> String {
    let mut out = Vec::with_capacity(1024);
    let written = match &result {
        Ok(payload) => {
            out.extend_from_slice(b"{\"ok\":");
            serde_json::to_writer(&mut out, payload)
        }
        Err(e) => {
            out.extend_from_slice(b"{\"error\":");
            serde_json::to_writer(&mut out, e)
        }
    };
    if written.is_err() {
        return r#"{"error":{"code":"invalid_response","message":"The connector could not encode its answer."}}"#
            .into();
    }
    out.push(b'}');
    // serde_json writes UTF-8 only.
    String::from_utf8(out).unwrap_or_default()
}
