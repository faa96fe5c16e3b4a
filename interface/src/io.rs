//! The inputs of the exports and the outputs that have no module of their own. Inputs take the
//! settings type as a parameter: a connector decodes its own typed settings, a host sends the
//! panel's values as a JSON object ([`Settings`]).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

pub use crate::classification::ClassifyErrorInput;

/// A connection's settings as the panel collected them (secret ones included).
pub type Settings = serde_json::Map<String, serde_json::Value>;

type Text = Cow<'static, str>;

macro_rules! input {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Serialize, Deserialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        #[serde(deny_unknown_fields)]
        pub struct $name<S = Settings> {
            $($(#[$fdoc])* pub $field: $ty,)*
        }

        /// Settings carry secret values (a client secret) as plain JSON on the host's side:
        /// `Debug` names the fields only.
        impl<S> std::fmt::Debug for $name<S> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), " { ", $(stringify!($field), ": [redacted], ",)* "}"))
            }
        }
    };
}

input!(
    /// `describe`: the panel, and its HTTP view for these settings when given.
    DescribeInput {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        settings: Option<S>,
    }
);

impl<S> Default for DescribeInput<S> {
    fn default() -> Self {
        DescribeInput { settings: None }
    }
}

input!(
    /// `validate_settings`: the panel's check before "Save and authorize".
    ValidateSettingsInput { settings: S }
);

input!(
    /// `list_scopes`: the built-in catalog, or the live one when a token is given.
    ListScopesInput {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        settings: Option<S>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        access_token: Option<Secret>,
        /// A fresh GUID for this call (randomness is an input): the connector sends it as
        /// `client-request-id` on every request of the call, so the platform's logs and
        /// Microsoft's sign-in logs can be joined.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_request_id: Option<String>,
    }
);

input!(
    /// `authorize_url`: state, PKCE verifier and nonce come from the host (randomness is an input).
    AuthorizeUrlInput {
        settings: S,
        redirect_uri: String,
        state: String,
        code_verifier: Secret,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nonce: Option<String>,
        /// A claims request (JSON) from a claims challenge.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        claims: Option<String>,
    }
);

input!(AdminConsentUrlInput { settings: S, redirect_uri: String, state: String });

input!(
    /// `exchange_code`: the code of the redirect and the verifier and nonce kept since
    /// `authorize_url`; `now` in Unix seconds.
    ExchangeCodeInput {
        settings: S,
        redirect_uri: String,
        code: Secret,
        code_verifier: Secret,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nonce: Option<String>,
        now: i64,
        /// A fresh random id (a GUID) for the client assertion's `jti`, when the connection
        /// signs in with a certificate (randomness is an input).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assertion_id: Option<String>,
        /// A fresh GUID for this call (randomness is an input): the connector sends it as
        /// `client-request-id` on every request of the call, so the platform's logs and
        /// Microsoft's sign-in logs can be joined.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_request_id: Option<String>,
        /// A claims challenge (decoded JSON) to satisfy: the connector merges it with its own
        /// client capabilities into the request's `claims`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        claims: Option<String>,
    }
);

input!(
    RefreshTokenInput {
        settings: S,
        /// Required for delegated connections; app-only connections have none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refresh_token: Option<Secret>,
        now: i64,
        /// As in [`ExchangeCodeInput`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assertion_id: Option<String>,
        /// As in [`ExchangeCodeInput`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_request_id: Option<String>,
        /// As in [`ExchangeCodeInput`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        claims: Option<String>,
    }
);

input!(ClientCredentialsInput {
    settings: S,
    now: i64,
    /// As in [`ExchangeCodeInput`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    assertion_id: Option<String>,
    /// As in [`ExchangeCodeInput`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_request_id: Option<String>,
    /// As in [`ExchangeCodeInput`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claims: Option<String>,
});

input!(TestConnectionInput {
    settings: S,
    access_token: Secret,
    /// As in [`ExchangeCodeInput`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_request_id: Option<String>,
});

input!(
    /// `device_code_start`: a code for a person to enter on another device.
    DeviceCodeStartInput {
        settings: S,
        now: i64,
        /// As in [`ExchangeCodeInput`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_request_id: Option<String>,
    }
);

input!(
    /// `device_code_poll`: one poll with the code `device_code_start` gave.
    DeviceCodePollInput {
        settings: S,
        device_code: Secret,
        now: i64,
        /// As in [`ExchangeCodeInput`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_request_id: Option<String>,
    }
);

/// The output of `validate_settings`: the settings as the connector will use them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Validated {
    pub name: String,
    pub tenant: String,
    pub cloud: Text,
    pub grant: Text,
    pub scopes: Vec<String>,
    pub own_app: bool,
    pub public_client: bool,
}

/// Which kind of permission a scope is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    Oidc,
    Delegated,
    Application,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ScopeInfo {
    pub value: String,
    pub kind: ScopeKind,
    pub description: String,
    pub admin_consent_required: bool,
}

/// Where a scope list came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScopeSource {
    /// Fetched from the service with the connection's token.
    Live,
    /// The connector's built-in catalog.
    Builtin,
}

/// The output of `list_scopes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ScopeList {
    pub scopes: Vec<ScopeInfo>,
    pub source: ScopeSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Why the live catalog could not be fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch_error: Option<Box<crate::Classification>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AuthorizeUrlOutput {
    pub url: String,
    pub code_challenge: String,
    pub code_challenge_method: Text,
    pub scope: String,
    pub client_id: String,
    pub tenant: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AdminConsentUrlOutput {
    pub url: String,
    pub scope: String,
    pub client_id: String,
    pub tenant: String,
}

/// Who a connection test found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Who {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// Whether a connection acts for a signed-in user or as the app itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConnectionKind {
    Delegated,
    Application,
}

/// The output of `test_connection`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TestResult {
    pub kind: ConnectionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Who>,
    pub tenant: Who,
    /// Permissions in the token; None when the token cannot be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted_scopes: Option<Vec<String>>,
    pub requested_scopes: Vec<String>,
    pub missing_scopes: Vec<String>,
    pub summary: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_settings_or_secrets() {
        let mut settings = Settings::new();
        settings.insert("client_secret".into(), "s3cr3t-value".into());
        let input = ExchangeCodeInput {
            settings,
            redirect_uri: "https://p.example/cb".into(),
            code: Secret::new("code-value"),
            code_verifier: Secret::new("verifier-value"),
            nonce: None,
            now: 1,
            assertion_id: None,
            client_request_id: None,
            claims: None,
        };
        let d = format!("{input:?}");
        assert!(!d.contains("s3cr3t") && !d.contains("code-value") && !d.contains("verifier-value"), "{d}");
        assert!(d.starts_with("ExchangeCodeInput { settings: [redacted]"), "{d}");
    }
}
