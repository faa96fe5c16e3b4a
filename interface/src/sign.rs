//! `connector_sign`: the optional host function that signs with a key the connector never holds
//! (a certificate's private key). A connector that calls it declares it in its manifest's
//! `host_functions`; a host that cannot offer it refuses to load such a connector.
//!
//! The connector names the key by the reference it was given in place of the key (a setting of
//! kind `private_key`, or a platform configuration value marked `private_key`): the host keeps
//! the key and signs only with the keys of the call in progress.

use serde::{Deserialize, Serialize};

/// The host function's name (extism's `extism:host/user` import module).
pub const SIGN_FUNCTION: &str = "connector_sign";

/// What a key reference starts with: a value that does not is not a reference (it may be a key
/// the platform failed to hold back, which the connector must refuse to use).
pub const KEY_REFERENCE_PREFIX: &str = "host-key:";

/// The signature algorithms a host offers (RFC 7518 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum SignAlgorithm {
    /// RSASSA-PSS with SHA-256 (salt of 32 bytes, MGF1 with SHA-256).
    PS256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
}

/// The input of `connector_sign`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    /// A key reference (`host-key:...`) the host gave for this call.
    pub key: String,
    pub algorithm: SignAlgorithm,
    /// The bytes to sign, base64url without padding (a JWS signing input is already ASCII, but
    /// any bytes may be signed).
    pub data: String,
}

/// Why a host did not sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SignFailure {
    /// `unknown_key` (no such key in this call), `unsupported_algorithm`, `invalid_request`,
    /// `not_offered` (the host has no signing function).
    pub code: String,
    pub message: String,
}

/// The output of `connector_sign`: the signature (base64url without padding) or why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignOutcome {
    Signature(String),
    Error(SignFailure),
}

impl SignOutcome {
    pub fn failed(code: &str, message: impl Into<String>) -> SignOutcome {
        SignOutcome::Error(SignFailure { code: code.into(), message: message.into() })
    }
}
