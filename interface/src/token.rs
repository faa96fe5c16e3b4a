//! The token set a code exchange, a refresh or a client credentials grant hands the platform.

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// Which grant produced a token set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    DeviceCode,
}

/// Who the connection is: identify users by (tenant_id, object_id), never by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub tenant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// The account's home id, `uid.utid` (object id and home tenant id), from the token
    /// answer's `client_info`, as MSAL names accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_account_id: Option<String>,
}

/// The output of `exchange_code`, `refresh_token` and `client_credentials`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TokenSet {
    pub access_token: Secret,
    pub token_type: String,
    /// Unix seconds: the host's `now` plus `expires_in`.
    pub expires_at: i64,
    pub expires_in: i64,
    /// Granted scopes (as requested when the answer names none).
    pub scopes: Vec<String>,
    /// The refresh token to store; on refresh, the new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// On refresh: whether a new refresh token came back (if not, keep the current one).
    pub refresh_token_rotated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    pub grant: Grant,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}
