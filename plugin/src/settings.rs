//! The connection's settings: what the user entered in the "Create connection" panel,
//! validated once into typed values. The core never sees the raw map.

use serde::Deserialize;

use crate::cloud::{Cloud, Endpoints};
use crate::credential::{Certificate, Credential};
use crate::error::{CResult, ConnectorError, ErrorCode};
use crate::input::{check_len, check_present};
use crate::scopes::ScopeSet;
use crate::secret::Secret;

pub const MAX_NAME_LEN: usize = 100;

/// Settings as entered (interface v1 `settings`). Empty strings count as "not set".
#[derive(Debug, Clone, Default)]
pub struct RawSettings {
    pub name: String,
    pub scopes: Vec<String>,
    pub tenant: Option<String>,
    pub cloud: Option<String>,
    pub grant: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub client_certificate: Option<String>,
    pub client_private_key: Option<String>,
    pub certificate_chain: Option<String>,
    /// `platform`: the connection's own app trusts the platform's workload identity through a
    /// federated credential, in place of a secret or certificate; `off` (default) otherwise.
    pub workload_identity: Option<String>,
    /// `on` (default): declare the client capability `cp1` (Continuous Access Evaluation).
    pub continuous_access_evaluation: Option<String>,
    pub prompt: Option<String>,
    pub login_hint: Option<String>,
    pub domain_hint: Option<String>,
}

/// The field list serde reads (remote derive), so that [`RawSettings`] can insist on an object.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, remote = "RawSettings")]
struct RawSettingsDef {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub tenant: Option<String>,
    #[serde(default)]
    pub cloud: Option<String>,
    #[serde(default)]
    pub grant: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<Secret>,
    #[serde(default)]
    pub client_certificate: Option<String>,
    #[serde(default)]
    pub client_private_key: Option<String>,
    #[serde(default)]
    pub certificate_chain: Option<String>,
    #[serde(default)]
    pub workload_identity: Option<String>,
    #[serde(default)]
    pub continuous_access_evaluation: Option<String>,
    #[serde(default)]
    pub prompt: Option<String>,
    #[serde(default)]
    pub login_hint: Option<String>,
    #[serde(default)]
    pub domain_hint: Option<String>,
}

impl<'de> Deserialize<'de> for RawSettings {
    /// Only a JSON object: serde's derive would also read a struct from an array, by position.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object;
        impl<'de> serde::de::Visitor<'de> for Object {
            type Value = RawSettings;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of settings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RawSettings, A::Error> {
                RawSettingsDef::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(Object)
    }
}

/// What the platform configures for the connector (never the end user): its own app
/// registration, and, for a test harness only, where the login and Graph endpoints are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Platform {
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    /// The platform app's certificate (PEM) and the host's reference to its private key.
    pub client_certificate: Option<String>,
    pub client_private_key: Option<String>,
    /// The host's reference to the platform's workload identity token (a token file).
    pub federated_token_file: Option<String>,
    pub login_base_url: Option<String>,
    pub graph_base_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    AuthorizationCode,
    ClientCredentials,
}

impl Grant {
    pub fn as_str(self) -> &'static str {
        match self {
            Grant::AuthorizationCode => "authorization_code",
            Grant::ClientCredentials => "client_credentials",
        }
    }
}

pub const PROMPTS: [&str; 4] = ["select_account", "consent", "login", "none"];

/// The app registration the connection signs in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    /// How the app proves who it is; [`Credential::None`] for a public client.
    pub credential: Credential,
    /// True when the user brought their own app registration.
    pub own_app: bool,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub name: String,
    pub scopes: ScopeSet,
    pub tenant: String,
    pub cloud: &'static Cloud,
    pub grant: Grant,
    pub client: Client,
    pub prompt: &'static str,
    pub login_hint: Option<String>,
    pub domain_hint: Option<String>,
    /// Declare the client capability `cp1`: Microsoft issues CAE tokens and sends claims
    /// challenges, which the platform carries into the next token request or sign-in.
    pub cae: bool,
    pub endpoints: Endpoints,
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hex digits.
pub fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.bytes()
            .enumerate()
            .all(|(i, b)| if matches!(i, 8 | 13 | 18 | 23) { b == b'-' } else { b.is_ascii_hexdigit() })
}

/// A DNS name of at least two labels (contoso.onmicrosoft.com).
pub fn is_domain(s: &str) -> bool {
    s.len() <= 253
        && s.contains('.')
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn check_text(field: &str, value: &str, max: usize) -> CResult<()> {
    check_len(field, value, max)?;
    if value.chars().any(char::is_control) {
        return Err(ConnectorError::invalid(field, format!("{field} must not contain control characters.")));
    }
    Ok(())
}

impl Settings {
    /// Validates `raw` against the platform's configuration.
    pub fn validate(raw: &RawSettings, platform: &Platform) -> CResult<Settings> {
        let name = raw.name.trim();
        check_present("settings.name", name).map_err(|_| {
            ConnectorError::invalid("settings.name", "Name your connection: enter a clear and distinguishable name.")
        })?;
        check_text("settings.name", name, MAX_NAME_LEN)?;

        let cloud_id = non_empty(&raw.cloud).unwrap_or("global");
        let cloud = Cloud::by_id(cloud_id).ok_or_else(|| {
            ConnectorError::invalid(
                "settings.cloud",
                format!("Unknown cloud; choose one of {}.", Cloud::ids().join(", ")),
            )
        })?;

        let grant = match non_empty(&raw.grant).unwrap_or("authorization_code") {
            "authorization_code" => Grant::AuthorizationCode,
            "client_credentials" => Grant::ClientCredentials,
            _ => return Err(ConnectorError::invalid(
                "settings.grant",
                "Unknown grant; choose authorization_code (a user signs in) or client_credentials (app-only access).",
            )),
        };

        let tenant = Self::tenant(non_empty(&raw.tenant).unwrap_or("organizations"), grant)?;
        let scopes = ScopeSet::parse(&raw.scopes, &cloud.graph_resource())?;
        let client = Self::client(raw, platform, grant)?;

        let prompt_in = non_empty(&raw.prompt).unwrap_or("select_account");
        let prompt = PROMPTS.iter().copied().find(|p| *p == prompt_in).ok_or_else(|| {
            ConnectorError::invalid("settings.prompt", format!("Unknown prompt; choose one of {}.", PROMPTS.join(", ")))
        })?;

        let login_hint = non_empty(&raw.login_hint).map(str::to_string);
        if let Some(h) = &login_hint {
            check_text("settings.login_hint", h, 256)?;
        }
        let domain_hint = non_empty(&raw.domain_hint).map(str::to_string);
        if let Some(h) = &domain_hint {
            if !is_domain(h) && h != "consumers" && h != "organizations" {
                return Err(ConnectorError::invalid(
                    "settings.domain_hint",
                    "The domain hint must be a domain such as contoso.com.",
                ));
            }
        }

        let cae = match non_empty(&raw.continuous_access_evaluation).unwrap_or("on") {
            "on" => true,
            "off" => false,
            _ => {
                return Err(ConnectorError::invalid(
                    "settings.continuous_access_evaluation",
                    "Choose on (declare Continuous Access Evaluation) or off.",
                ))
            }
        };

        let endpoints =
            Endpoints::for_cloud(cloud, platform.login_base_url.as_deref(), platform.graph_base_url.as_deref());
        Ok(Settings {
            name: name.to_string(),
            scopes,
            tenant,
            cloud,
            grant,
            client,
            prompt,
            login_hint,
            domain_hint,
            cae,
            endpoints,
        })
    }

    fn tenant(t: &str, grant: Grant) -> CResult<String> {
        const FIELD: &str = "settings.tenant";
        let lower = t.to_ascii_lowercase();
        match lower.as_str() {
            "consumers" => Err(ConnectorError::invalid(
                FIELD,
                "Personal Microsoft accounts (consumers) are not Entra ID accounts; use organizations, your tenant ID or your domain.",
            )),
            "common" | "organizations" if grant == Grant::ClientCredentials => Err(ConnectorError::invalid(
                FIELD,
                "App-only access (client credentials) needs your tenant ID or domain, not common or organizations (AADSTS9001023).",
            )),
            "common" | "organizations" => Ok(lower),
            _ if is_guid(&lower) || is_domain(&lower) => Ok(lower),
            _ => Err(ConnectorError::invalid(
                FIELD,
                "The tenant must be a tenant ID (a GUID), a verified domain such as contoso.onmicrosoft.com, organizations or common.",
            )),
        }
    }

    fn client(raw: &RawSettings, platform: &Platform, grant: Grant) -> CResult<Client> {
        let own_secret = raw.client_secret.as_ref().filter(|s| !s.expose().trim().is_empty());
        let own_certificate = non_empty(&raw.client_certificate);
        let own_key = non_empty(&raw.client_private_key);
        let send_chain = match non_empty(&raw.certificate_chain).unwrap_or("omit") {
            "omit" => false,
            "send" => true,
            _ => {
                return Err(ConnectorError::invalid(
                    "settings.certificate_chain",
                    "Choose omit, or send (for an app that trusts certificates by subject name and issuer).",
                ))
            }
        };
        let workload_identity = match non_empty(&raw.workload_identity).unwrap_or("off") {
            "off" => false,
            "platform" => true,
            _ => {
                return Err(ConnectorError::invalid(
                    "settings.workload_identity",
                    "Choose off, or platform (your app trusts the platform's workload identity through a federated credential).",
                ))
            }
        };
        let client = match non_empty(&raw.client_id) {
            Some(id) => {
                if !is_guid(id) {
                    return Err(ConnectorError::invalid(
                        "settings.client_id",
                        "The client ID is the Application (client) ID of your app registration, a GUID such as 00000000-0000-0000-0000-000000000000.",
                    ));
                }
                let credential = match (own_secret, own_certificate, own_key) {
                    _ if workload_identity => {
                        if own_secret.is_some() || own_certificate.is_some() || own_key.is_some() {
                            return Err(ConnectorError::invalid(
                                "settings.workload_identity",
                                "With workload identity the app needs no client secret or certificate: leave them empty, or turn workload identity off.",
                            ));
                        }
                        let Some(source) = non_empty(&platform.federated_token_file) else {
                            return Err(ConnectorError::invalid(
                                "settings.workload_identity",
                                "The platform has no workload identity configured (a federated token file); give a client secret or certificate, or ask the platform administrator to configure one.",
                            ));
                        };
                        platform_workload_identity(source)?
                    }
                    (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                        return Err(ConnectorError::invalid(
                            "settings.client_secret",
                            "Give either a client secret or a certificate, not both.",
                        ))
                    }
                    (Some(s), None, None) => {
                        if s.len() > 1024 || s.expose().chars().any(char::is_control) {
                            return Err(ConnectorError::invalid(
                                "settings.client_secret",
                                "The client secret is not a valid secret value.",
                            ));
                        }
                        Credential::Secret(s.clone())
                    }
                    (None, Some(pem), Some(key)) => Credential::Certificate(Certificate::new(
                        "settings.client_certificate",
                        pem,
                        "settings.client_private_key",
                        key,
                        send_chain,
                    )?),
                    (None, Some(_), None) => {
                        return Err(ConnectorError::invalid(
                            "settings.client_private_key",
                            "A certificate needs its private key: give the private key (PEM) that goes with the certificate.",
                        ))
                    }
                    (None, None, Some(_)) => {
                        return Err(ConnectorError::invalid(
                            "settings.client_certificate",
                            "A private key needs its certificate: give the certificate (PEM) uploaded to the app registration.",
                        ))
                    }
                    (None, None, None) => Credential::None,
                };
                Client { id: id.to_ascii_lowercase(), credential, own_app: true }
            }
            None => {
                if own_secret.is_some() || own_certificate.is_some() || own_key.is_some() || workload_identity {
                    let field = if own_secret.is_some() {
                        "settings.client_secret"
                    } else if workload_identity {
                        "settings.workload_identity"
                    } else {
                        "settings.client_certificate"
                    };
                    return Err(ConnectorError::invalid(
                        field,
                        "A client secret, certificate or workload identity goes with your own client ID: enter the client ID too, or leave them empty to use the platform's app.",
                    ));
                }
                let id = platform.client_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
                let Some(id) = id else {
                    return Err(ConnectorError::plain(
                        ErrorCode::NotConfigured,
                        "The platform has no Microsoft Entra ID app registration configured: enter your own client ID, or ask the platform administrator to configure one.",
                    ));
                };
                Client { id: id.to_string(), credential: Self::platform_credential(platform)?, own_app: false }
            }
        };
        if grant == Grant::ClientCredentials && client.credential.is_none() {
            return Err(ConnectorError::invalid(
                "settings.client_secret",
                "App-only access (client credentials) needs a client secret, a certificate or a workload identity of the app registration.",
            ));
        }
        Ok(client)
    }

    /// The platform app's credential: its certificate when configured, else its workload
    /// identity, else its secret.
    fn platform_credential(platform: &Platform) -> CResult<Credential> {
        let cert = platform.client_certificate.as_deref().filter(|s| !s.trim().is_empty());
        let key = platform.client_private_key.as_deref().filter(|s| !s.trim().is_empty());
        Ok(match (cert, key) {
            (Some(pem), Some(key)) => Credential::Certificate(
                Certificate::new("client_certificate", pem, "client_private_key", key, false).map_err(|e| {
                    ConnectorError::plain(
                        ErrorCode::NotConfigured,
                        format!("The platform's app certificate is misconfigured: {}", e.message()),
                    )
                })?,
            ),
            (Some(_), None) | (None, Some(_)) => {
                return Err(ConnectorError::plain(
                    ErrorCode::NotConfigured,
                    "The platform's app has a certificate without its private key, or a key without its certificate; the platform administrator must configure both.",
                ))
            }
            (None, None) => match (non_empty(&platform.federated_token_file), &platform.client_secret) {
                (Some(source), _) => platform_workload_identity(source)?,
                (None, Some(s)) if !s.is_empty() => Credential::Secret(s.clone()),
                (None, _) => Credential::None,
            },
        })
    }
}

/// The platform's workload identity (its token file's reference) as a credential.
fn platform_workload_identity(source: &str) -> CResult<Credential> {
    Credential::federated("federated_token_file", source).map_err(|e| {
        ConnectorError::plain(
            ErrorCode::NotConfigured,
            format!("The platform's workload identity is misconfigured: {}", e.message()),
        )
    })
}

/// Input of `validate_settings`.
pub type ValidateInput = connector_interface::ValidateSettingsInput<RawSettings>;
pub use connector_interface::io::Validated;

/// `validate_settings`: the panel's check before "Save and authorize".
pub fn validate_export(input: &ValidateInput, platform: &Platform) -> CResult<Validated> {
    let s = Settings::validate(&input.settings, platform)?;
    Ok(Validated {
        name: s.name.clone(),
        tenant: s.tenant.clone(),
        cloud: s.cloud.id.into(),
        grant: s.grant.as_str().into(),
        scopes: s.scopes.as_slice().to_vec(),
        own_app: s.client.own_app,
        public_client: s.client.credential.is_none(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn raw() -> RawSettings {
        RawSettings { name: "HR directory".into(), scopes: vec!["User.Read".into()], ..Default::default() }
    }

    fn platform() -> Platform {
        Platform {
            client_id: Some("11111111-2222-3333-4444-555555555555".into()),
            client_secret: Some(Secret::new("platform-secret")),
            ..Default::default()
        }
    }

    fn field(r: RawSettings) -> String {
        let e = Settings::validate(&r, &platform()).unwrap_err();
        e.field().unwrap_or(e.code()).to_string()
    }

    #[test]
    fn defaults() {
        let s = Settings::validate(&raw(), &platform()).unwrap();
        assert_eq!(s.tenant, "organizations");
        assert_eq!(s.cloud.id, "global");
        assert_eq!(s.grant, Grant::AuthorizationCode);
        assert_eq!(s.prompt, "select_account");
        assert!(s.cae, "Continuous Access Evaluation is declared by default");
        assert!(!s.client.own_app);
        assert_eq!(s.endpoints.login_base, "https://login.microsoftonline.com");
    }

    #[test]
    fn each_bad_setting_names_its_field() {
        assert_eq!(field(RawSettings { name: "  ".into(), ..raw() }), "settings.name");
        assert_eq!(field(RawSettings { name: "x".repeat(101), ..raw() }), "settings.name");
        assert_eq!(field(RawSettings { scopes: vec![], ..raw() }), "settings.scopes");
        assert_eq!(field(RawSettings { tenant: Some("not a tenant".into()), ..raw() }), "settings.tenant");
        assert_eq!(field(RawSettings { tenant: Some("consumers".into()), ..raw() }), "settings.tenant");
        assert_eq!(field(RawSettings { cloud: Some("germany".into()), ..raw() }), "settings.cloud");
        assert_eq!(field(RawSettings { client_id: Some("my-app".into()), ..raw() }), "settings.client_id");
        assert_eq!(field(RawSettings { grant: Some("password".into()), ..raw() }), "settings.grant");
        assert_eq!(field(RawSettings { prompt: Some("always".into()), ..raw() }), "settings.prompt");
        assert_eq!(
            field(RawSettings { continuous_access_evaluation: Some("yes".into()), ..raw() }),
            "settings.continuous_access_evaluation"
        );
        assert_eq!(
            field(RawSettings { grant: Some("client_credentials".into()), tenant: Some("common".into()), ..raw() }),
            "settings.tenant"
        );
        assert_eq!(field(RawSettings { client_secret: Some(Secret::new("x")), ..raw() }), "settings.client_secret");
    }

    #[test]
    fn own_app_without_secret_is_a_public_client() {
        let s = Settings::validate(
            &RawSettings { client_id: Some("AAAAAAAA-bbbb-cccc-dddd-eeeeeeeeeeee".into()), ..raw() },
            &platform(),
        )
        .unwrap();
        assert!(s.client.own_app);
        assert_eq!(s.client.credential, Credential::None);
        assert_eq!(s.client.id, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
    }

    #[test]
    fn no_app_anywhere_is_not_configured() {
        let e = Settings::validate(&raw(), &Platform::default()).unwrap_err();
        assert_eq!(e.code(), "not_configured");
    }

    #[test]
    fn guid_and_domain() {
        assert!(is_guid("72f988bf-86f1-41af-91ab-2d7cd011db47"));
        assert!(!is_guid("72f988bf-86f1-41af-91ab-2d7cd011db4"));
        assert!(is_domain("contoso.onmicrosoft.com"));
        assert!(!is_domain("contoso"));
        assert!(!is_domain("-bad.com"));
        for not_guid in [
            "72f988bf-86f1-41af-91ab-2d7cd011db47-",
            "72f988bf186f1-41af-91ab-2d7cd011db47",
            "72f988bf-86f1-41af-91ab-2d7cd011db4g",
            "72f988bf--6f1-41af-91ab-2d7cd011db47",
            "",
        ] {
            assert!(!is_guid(not_guid), "{not_guid}");
        }
        assert!(is_guid("72F988BF-86F1-41AF-91AB-2D7CD011DB47"));
    }

    /// Five groups of 8, 4, 4, 4 and 12 hex digits joined by hyphens, as the split reads them.
    fn is_guid_by_groups(s: &str) -> bool {
        let parts: Vec<&str> = s.split('-').collect();
        parts.len() == 5
            && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
    }

    proptest::proptest! {
        #[test]
        fn is_guid_reads_as_the_groups_do(s in "[0-9a-fA-F-]{0,40}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-fg]{4}-[0-9a-f-]{4}-[0-9a-f]{12}|.{0,40}") {
            proptest::prop_assert_eq!(is_guid(&s), is_guid_by_groups(&s));
        }
    }
}
