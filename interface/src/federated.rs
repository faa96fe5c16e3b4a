//! `connector_federated_token`: the optional host function that hands the connector the current
//! token of a workload identity (a Kubernetes projected service-account token, a CI job's OIDC
//! token) to send as its client assertion (workload identity federation).
//!
//! The platform configures where the token lives (a configuration value marked `token_file`,
//! the `AZURE_FEDERATED_TOKEN_FILE` convention); the connector is given a reference
//! (`host-token:...`) in its place and asks the host for the token on every token request. The
//! host reads the file again each time, because the runtime rotates it and a kept copy expires.

use serde::{Deserialize, Serialize};

use crate::sign::SignFailure;

/// The host function's name (extism's `extism:host/user` import module).
pub const FEDERATED_TOKEN_FUNCTION: &str = "connector_federated_token";

/// What a token source reference starts with.
pub const TOKEN_REFERENCE_PREFIX: &str = "host-token:";

/// The input of `connector_federated_token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FederatedTokenRequest {
    /// A token source reference (`host-token:...`) the host gave in the configuration.
    pub source: String,
}

/// The output of `connector_federated_token`: the token as the file holds it now (trimmed), or
/// why not (`unknown_source`, `unreadable`, `empty`, `invalid_request`, `not_offered`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum FederatedTokenOutcome {
    Token(String),
    Error(SignFailure),
}

impl FederatedTokenOutcome {
    pub fn failed(code: &str, message: impl Into<String>) -> FederatedTokenOutcome {
        FederatedTokenOutcome::Error(SignFailure { code: code.into(), message: message.into() })
    }
}

/// The token in an outcome never reaches `Debug` output.
impl std::fmt::Debug for FederatedTokenOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FederatedTokenOutcome::Token(_) => f.write_str("Token([redacted])"),
            FederatedTokenOutcome::Error(e) => f.debug_tuple("Error").field(e).finish(),
        }
    }
}
