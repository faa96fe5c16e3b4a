//! What `classify_error` answers, and what a failed flow carries as its error: the closed set
//! of failure classes with their stable codes, what the platform should do next, and the
//! provider's own words kept apart from the person's sentence.

use serde::{Deserialize, Serialize};

pub use crate::classify_input::{ClassifyErrorInput, Phase, QueryIn, TransportIn};

/// What the platform should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Retry,
    RefreshToken,
    Reauthorize,
    FixConfiguration,
    GrantAdminConsent,
    AssignRole,
    ContactAdmin,
    None,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Retry => "retry",
            Action::RefreshToken => "refresh_token",
            Action::Reauthorize => "reauthorize",
            Action::FixConfiguration => "fix_configuration",
            Action::GrantAdminConsent => "grant_admin_consent",
            Action::AssignRole => "assign_role",
            Action::ContactAdmin => "contact_admin",
            Action::None => "none",
        }
    }
}

/// A failure class; `as_str` is its stable snake_case code. A connector gives each its own
/// action, sentence and remedy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Class {
    InsufficientPrivileges,
    ConsentRequired,
    AdminConsentRequired,
    ReauthorizationRequired,
    TokenExpired,
    InvalidClient,
    ClientSecretExpired,
    CertificateNotAccepted,
    AssertionTimeInvalid,
    FederatedCredentialMismatch,
    RedirectUriMismatch,
    InvalidScope,
    TenantNotFound,
    WrongCloud,
    UserNotInTenant,
    MfaRequired,
    BlockedByPolicy,
    AccessDenied,
    Throttled,
    Transient,
    NotFound,
    InvalidRequest,
    ClaimsChallenge,
    BlockedHost,
    Unknown,
}

impl Class {
    pub const ALL: &'static [Class] = &[
        Class::InsufficientPrivileges,
        Class::ConsentRequired,
        Class::AdminConsentRequired,
        Class::ReauthorizationRequired,
        Class::TokenExpired,
        Class::InvalidClient,
        Class::ClientSecretExpired,
        Class::CertificateNotAccepted,
        Class::AssertionTimeInvalid,
        Class::FederatedCredentialMismatch,
        Class::RedirectUriMismatch,
        Class::InvalidScope,
        Class::TenantNotFound,
        Class::WrongCloud,
        Class::UserNotInTenant,
        Class::MfaRequired,
        Class::BlockedByPolicy,
        Class::AccessDenied,
        Class::Throttled,
        Class::Transient,
        Class::NotFound,
        Class::InvalidRequest,
        Class::ClaimsChallenge,
        Class::BlockedHost,
        Class::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::InsufficientPrivileges => "insufficient_privileges",
            Class::ConsentRequired => "consent_required",
            Class::AdminConsentRequired => "admin_consent_required",
            Class::ReauthorizationRequired => "reauthorization_required",
            Class::TokenExpired => "token_expired",
            Class::InvalidClient => "invalid_client",
            Class::ClientSecretExpired => "client_secret_expired",
            Class::CertificateNotAccepted => "certificate_not_accepted",
            Class::AssertionTimeInvalid => "assertion_time_invalid",
            Class::FederatedCredentialMismatch => "federated_credential_mismatch",
            Class::RedirectUriMismatch => "redirect_uri_mismatch",
            Class::InvalidScope => "invalid_scope",
            Class::TenantNotFound => "tenant_not_found",
            Class::WrongCloud => "wrong_cloud",
            Class::UserNotInTenant => "user_not_in_tenant",
            Class::MfaRequired => "mfa_required",
            Class::BlockedByPolicy => "blocked_by_policy",
            Class::AccessDenied => "access_denied",
            Class::Throttled => "throttled",
            Class::Transient => "transient",
            Class::NotFound => "not_found",
            Class::InvalidRequest => "invalid_request",
            Class::ClaimsChallenge => "claims_challenge",
            Class::BlockedHost => "blocked_host",
            Class::Unknown => "unknown",
        }
    }
}

/// What the provider said, for people who debug.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Provider {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suberror: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aadsts: Vec<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph_code: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inner_codes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_error: Option<String>,
    /// At most 300 characters of the provider's description, scrubbed of anything token-like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Identifiers for a support ticket, kept apart from the person's sentence.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Support {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(rename = "request-id", default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(rename = "client-request-id", default, skip_serializing_if = "Option::is_none")]
    pub client_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

/// The classification: the `ok` of `classify_error`, and the `error` of a flow that failed at
/// the provider.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Classification {
    pub code: Class,
    pub action: Action,
    pub retryable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<f64>,
    pub message: String,
    pub remediation: String,
    pub phase: Phase,
    pub provider: Provider,
    pub support: Support,
    pub docs_url: String,
    /// The decoded claims of a claims challenge, for the `claims` of the next authorize request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_wire_names() {
        for c in Class::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        let actions = [
            Action::Retry,
            Action::RefreshToken,
            Action::Reauthorize,
            Action::FixConfiguration,
            Action::GrantAdminConsent,
            Action::AssignRole,
            Action::ContactAdmin,
            Action::None,
        ];
        for a in actions {
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
        }
    }
}
