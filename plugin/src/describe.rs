//! `describe`: the connection panel (settings in the order a person fills them) and the "HTTP
//! view" those settings stand for.

use serde::Serialize;

use crate::catalog::{self, ScopeKind};
use crate::cloud::{Cloud, Endpoints, CLOUDS};
use crate::error::CResult;
use crate::settings::{Platform, RawSettings, Settings, PROMPTS};

pub const INTERFACE_VERSION: u32 = connector_interface::INTERFACE_VERSION;
pub const CONNECTOR_ID: &str = "microsoft-entra-id";

pub type DescribeInput = connector_interface::DescribeInput<RawSettings>;
pub use connector_interface::describe::{Setting, SettingKind, SettingOption};

/// `describe`'s answer: the interface's description with this connector's HTTP view and clouds.
pub type Description = connector_interface::Description<HttpView, &'static [Cloud]>;

#[derive(Debug, Serialize)]
pub struct Ping {
    pub method: &'static str,
    pub url: String,
}

#[derive(Debug, Serialize)]
pub struct HttpView {
    pub authorize_url: String,
    pub token_url: String,
    pub admin_consent_url: String,
    pub scope_delimiter: &'static str,
    pub default_scopes: String,
    pub pkce_method: &'static str,
    pub response_mode: &'static str,
    pub client_authentication: &'static str,
    pub graph_base_uri: String,
    pub ping: Ping,
    pub refresh_token_rotates: bool,
}

fn opts(values: &[(&str, &str)]) -> Option<Vec<SettingOption>> {
    Some(
        values
            .iter()
            .map(|(v, l)| SettingOption { value: v.to_string().into(), label: l.to_string().into() })
            .collect(),
    )
}

fn settings() -> Vec<Setting> {
    let scope_options: Vec<(String, String)> = catalog::builtin()
        .into_iter()
        .filter(|s| s.kind != ScopeKind::Application)
        .map(|s| (s.value.clone(), format!("{}: {}", s.value, s.description)))
        .collect();
    let clouds: Vec<(&str, &str)> = CLOUDS.iter().map(|c| (c.id, c.label)).collect();
    let prompts: Vec<(&str, &str)> = PROMPTS.iter().map(|p| (*p, *p)).collect();
    let s = |key: &'static str, label: &'static str, kind, required, help: &'static str, advanced| Setting {
        key: key.into(),
        label: label.into(),
        kind,
        required,
        help: help.into(),
        options: None,
        default: None,
        advanced,
        options_from: None,
        certificate: None,
    };
    vec![
        s("name", "Name your connection", SettingKind::Text, true, "Enter a clear and distinguishable name. Throughout the platform's imports and exports you will choose this connection by its name, so a unique name helps when you pick it from the list of connections in your account.", false),
        Setting {
            options: Some(
                scope_options
                    .into_iter()
                    .map(|(value, label)| SettingOption { value: value.into(), label: label.into() })
                    .collect(),
            ),
            default: Some(serde_json::json!(["User.Read"])),
            options_from: Some("list_scopes".into()),
            ..s("scopes", "Scopes", SettingKind::Multiselect, true, "Scopes are OAuth 2.0 permissions that Microsoft Entra ID defines to limit access to your account. Fetch data lists the permissions Microsoft Graph offers; » adds all of them, > adds the checked ones. Ask for the least that works: some permissions need an administrator's consent.", false)
        },
        Setting { default: Some("organizations".into()), ..s("tenant", "Tenant", SettingKind::Text, false, "Your tenant ID (a GUID) or a verified domain such as contoso.onmicrosoft.com; organizations lets any work or school account sign in. Single-tenant apps and app-only access need your tenant ID or domain.", true) },
        Setting { options: opts(&clouds), default: Some("global".into()), ..s("cloud", "Cloud", SettingKind::Select, false, "The Microsoft cloud your tenant lives in. Sign-in host, Microsoft Graph host and app registration must all be of one cloud.", true) },
        Setting {
            options: opts(&[("authorization_code", "A user signs in (delegated)"), ("client_credentials", "App-only access (client credentials)")]),
            default: Some("authorization_code".into()),
            ..s("grant", "Grant type", SettingKind::Select, false, "How the connection gets tokens: a user signs in and consents, or the app acts on its own with application permissions an administrator granted.", true)
        },
        s("client_id", "Client ID", SettingKind::Text, false, "The Application (client) ID of your own app registration. Leave empty to use the platform's app.", true),
        s("client_secret", "Client secret", SettingKind::Secret, false, "The value of a client secret of your own app registration (not its ID). Leave empty for a public client app, or when the app signs in with a certificate.", true),
        s("client_certificate", "Client certificate", SettingKind::Text, false, "In place of a client secret: the certificate (PEM, -----BEGIN CERTIFICATE-----) uploaded to your app registration under Certificates & secrets. Its thumbprints are computed from it.", true),
        Setting {
            certificate: Some("client_certificate".into()),
            ..s("client_private_key", "Certificate private key", SettingKind::PrivateKey, false, "The certificate's private key (PEM, RSA). The platform keeps it sealed and signs with it; it is never shown again and never handed to the connector.", true)
        },
        Setting {
            options: opts(&[("omit", "Omit"), ("send", "Send (subject name and issuer authentication)")]),
            default: Some("omit".into()),
            ..s("certificate_chain", "Certificate chain", SettingKind::Select, false, "Send the certificate chain (x5c) with each token request, for an app that trusts certificates by subject name and issuer rather than by uploaded certificate.", true)
        },
        Setting {
            options: opts(&[("off", "Off"), ("platform", "The platform's workload identity")]),
            default: Some("off".into()),
            ..s("workload_identity", "Workload identity", SettingKind::Select, false, "In place of a client secret or certificate: your app trusts the platform's workload identity (for example its Kubernetes service account) through a federated credential; the platform presents its current token on each request.", true)
        },
        Setting {
            options: opts(&[("on", "On"), ("off", "Off")]),
            default: Some("on".into()),
            ..s("continuous_access_evaluation", "Continuous Access Evaluation", SettingKind::Select, false, "Declare that the connection handles claims challenges (client capability cp1): Microsoft then issues tokens that stop working the moment an account is disabled or a Conditional Access policy changes, and the platform asks for a new token or a new sign-in with the claims Microsoft requires. Turn off when the flows that use this connection's tokens cannot hand Microsoft's claims challenges back to the platform.", true)
        },
        Setting { options: opts(&prompts), default: Some("select_account".into()), ..s("prompt", "Prompt", SettingKind::Select, false, "What Microsoft asks at sign-in: choose an account, consent again, enter credentials again, or nothing (fails if interaction is needed).", true) },
        s("login_hint", "Login hint", SettingKind::Text, false, "The user name to prefill at sign-in.", true),
        s("domain_hint", "Domain hint", SettingKind::Text, false, "The domain whose sign-in page to go to directly, such as contoso.com.", true),
    ]
}

fn http_view(raw: Option<&RawSettings>, platform: &Platform) -> CResult<HttpView> {
    let mut probe = raw.cloned().unwrap_or_default();
    if probe.name.trim().is_empty() {
        probe.name = "connection".into();
    }
    if probe.scopes.is_empty() {
        probe.scopes = vec!["User.Read".into()];
    }
    // Without any app registration the view still shows where requests go.
    let mut p = platform.clone();
    if p.client_id.is_none() {
        p.client_id = Some("00000000-0000-0000-0000-000000000000".into());
    }
    let s = Settings::validate(&probe, &p)?;
    let e: &Endpoints = &s.endpoints;
    let delegated = s.grant == crate::settings::Grant::AuthorizationCode;
    Ok(HttpView {
        authorize_url: e.authorize(&s.tenant),
        token_url: e.token(&s.tenant),
        admin_consent_url: e.admin_consent(if s.tenant == "common" { "organizations" } else { &s.tenant }),
        scope_delimiter: " ",
        default_scopes: if delegated { s.scopes.delegated_request() } else { s.scopes.app_request() },
        pkce_method: if delegated { "S256" } else { "none" },
        response_mode: "query",
        client_authentication: s.client.credential.method(),
        graph_base_uri: format!("{}/v1.0", e.graph_base),
        ping: Ping { method: "GET", url: e.graph(if delegated { "/v1.0/me" } else { "/v1.0/organization" }) },
        refresh_token_rotates: true,
    })
}

pub fn describe(input: &DescribeInput, platform: &Platform) -> CResult<Description> {
    Ok(Description {
        id: CONNECTOR_ID.into(),
        name: "Microsoft Entra ID".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        interface_version: INTERFACE_VERSION,
        description: Some("Connect to Microsoft Entra ID through Microsoft Graph with OAuth 2.0 (authorization code with PKCE, refresh token rotation, client credentials, admin consent) in every Microsoft cloud.".into()),
        exports: connector_interface::EXPORTS.iter().map(|e| e.name.into()).collect(),
        settings: settings(),
        http_view: http_view(input.settings.as_ref(), platform)?,
        clouds: Some(CLOUDS),
        docs_url: Some("https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panel_order_and_required() {
        let d = describe(&DescribeInput::default(), &Platform::default()).unwrap();
        let keys: Vec<&str> = d.settings.iter().map(|s| s.key.as_ref()).collect();
        assert_eq!(&keys[..2], &["name", "scopes"]);
        assert!(d.settings[0].required && d.settings[1].required);
        assert!(d.settings[2..].iter().all(|s| s.advanced && !s.required));
        assert_eq!(d.settings.iter().find(|s| s.key == "client_secret").unwrap().kind, SettingKind::Secret);
        assert_eq!(d.http_view.token_url, "https://login.microsoftonline.com/organizations/oauth2/v2.0/token");
        assert_eq!(d.http_view.ping.url, "https://graph.microsoft.com/v1.0/me");
        assert_eq!(d.http_view.client_authentication, "none (public client)");
    }

    #[test]
    fn http_view_follows_settings() {
        let raw = RawSettings {
            cloud: Some("usgov-dod".into()),
            tenant: Some("contoso.us".into()),
            grant: Some("client_credentials".into()),
            client_id: Some("11111111-1111-1111-1111-111111111111".into()),
            client_secret: Some(crate::secret::Secret::new("x")),
            ..Default::default()
        };
        let d = describe(&DescribeInput { settings: Some(raw) }, &Platform::default()).unwrap();
        assert_eq!(d.http_view.token_url, "https://login.microsoftonline.us/contoso.us/oauth2/v2.0/token");
        assert_eq!(d.http_view.ping.url, "https://dod-graph.microsoft.us/v1.0/organization");
        assert_eq!(d.http_view.default_scopes, "https://dod-graph.microsoft.us/.default");
        assert_eq!(d.http_view.client_authentication, "client_secret_post");
    }
}
