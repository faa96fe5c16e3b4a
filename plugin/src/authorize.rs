//! The authorize URL (learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow) and
//! the admin consent URL (v2-admin-consent). State, PKCE verifier and nonce come from the host.

use crate::encode;
use crate::error::{CResult, ConnectorError};
use crate::pkce;
use crate::settings::{Grant, Platform, RawSettings, Settings};

pub const MAX_REDIRECT_URI_LEN: usize = 256;

pub type AuthorizeInput = connector_interface::AuthorizeUrlInput<RawSettings>;
pub type AdminConsentInput = connector_interface::AdminConsentUrlInput<RawSettings>;
pub use connector_interface::io::{AdminConsentUrlOutput as AdminConsentOutput, AuthorizeUrlOutput as AuthorizeOutput};

/// Redirect URIs Entra accepts (learn.microsoft.com/entra/identity-platform/reply-url): https,
/// or http on localhost (port ignored), at most 256 characters, no fragment.
pub fn check_redirect_uri(field: &str, uri: &str) -> CResult<()> {
    let refuse = |why: &str| Err(ConnectorError::invalid(field, format!("The redirect URI {why}.")));
    if uri.is_empty() {
        return refuse("must not be empty");
    }
    if uri.len() > MAX_REDIRECT_URI_LEN {
        return refuse("is longer than 256 characters");
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return refuse("must not contain spaces or control characters");
    }
    if uri.contains('#') {
        return refuse("must not contain a fragment (#)");
    }
    let (scheme, rest) = match uri.split_once("://") {
        Some(p) => p,
        None => return refuse("must be an absolute URL such as https://app.example.com/callback"),
    };
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    if authority.contains('@') {
        return refuse("must not contain a user name or password");
    }
    let host = if host_port.starts_with('[') {
        &host_port[..host_port.find(']').map(|i| i + 1).unwrap_or(host_port.len())]
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    if host.is_empty() {
        return refuse("must name a host");
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if host.eq_ignore_ascii_case("localhost") => Ok(()),
        "http" => refuse("must use https; plain http is only allowed for localhost"),
        _ => refuse("must use https (or http for localhost)"),
    }
}

/// `state` and `nonce`: opaque values from the host's CSPRNG. Entra strips HTML from `state`,
/// so anything that could be taken as markup is refused rather than silently changed.
pub fn check_opaque(field: &str, value: &str) -> CResult<()> {
    if !(16..=512).contains(&value.len()) {
        return Err(ConnectorError::invalid(
            field,
            format!("{field} must be 16 to 512 characters from a secure random source."),
        ));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"' | b'\'' | b'&')) {
        return Err(ConnectorError::invalid(
            field,
            format!("{field} may only use printable ASCII characters other than < > \" ' &."),
        ));
    }
    Ok(())
}

/// Builds the authorize URL.
pub fn authorize_url(input: &AuthorizeInput, platform: &Platform) -> CResult<AuthorizeOutput> {
    let settings = Settings::validate(&input.settings, platform)?;
    if settings.grant == Grant::ClientCredentials {
        return Err(ConnectorError::invalid(
            "settings.grant",
            "App-only connections (client credentials) have no user sign-in; use the admin consent URL to grant the app's permissions.",
        ));
    }
    check_redirect_uri("redirect_uri", &input.redirect_uri)?;
    check_opaque("state", &input.state)?;
    pkce::check_verifier("code_verifier", &input.code_verifier)?;
    if let Some(n) = &input.nonce {
        check_opaque("nonce", n)?;
    }
    let claims = crate::cae::claims("claims", settings.cae, input.claims.as_deref())?;
    let challenge = pkce::challenge(&input.code_verifier);
    let scope = settings.scopes.delegated_request();
    let mut params: Vec<(&str, &str)> = vec![
        ("client_id", &settings.client.id),
        ("response_type", "code"),
        ("redirect_uri", &input.redirect_uri),
        ("response_mode", "query"),
        ("scope", &scope),
        ("state", &input.state),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    if let Some(n) = &input.nonce {
        params.push(("nonce", n));
    }
    // The home account id (`uid.utid`) in the token answer, as MSAL asks.
    params.push(("client_info", "1"));
    params.push(("prompt", settings.prompt));
    if let Some(h) = &settings.login_hint {
        params.push(("login_hint", h));
    }
    if let Some(h) = &settings.domain_hint {
        params.push(("domain_hint", h));
    }
    if let Some(c) = &claims {
        params.push(("claims", c));
    }
    let url = format!("{}?{}", settings.endpoints.authorize(&settings.tenant), encode::pairs(params));
    Ok(AuthorizeOutput {
        url,
        code_challenge: challenge,
        code_challenge_method: "S256".into(),
        scope,
        client_id: settings.client.id.clone(),
        tenant: settings.tenant.clone(),
    })
}

/// Builds the admin consent URL (v2 endpoint). `common` cannot be used: an admin consents for
/// one tenant, or for their own through `organizations`.
pub fn admin_consent_url(input: &AdminConsentInput, platform: &Platform) -> CResult<AdminConsentOutput> {
    let settings = Settings::validate(&input.settings, platform)?;
    if settings.tenant == "common" {
        return Err(ConnectorError::invalid(
            "settings.tenant",
            "Admin consent is given for one tenant: use your tenant ID, your domain or organizations, not common.",
        ));
    }
    check_redirect_uri("redirect_uri", &input.redirect_uri)?;
    check_opaque("state", &input.state)?;
    let scope = settings.scopes.admin_consent_request();
    let params = [
        ("client_id", settings.client.id.as_str()),
        ("scope", &scope),
        ("redirect_uri", &input.redirect_uri),
        ("state", &input.state),
    ];
    Ok(AdminConsentOutput {
        url: format!("{}?{}", settings.endpoints.admin_consent(&settings.tenant), encode::pairs(params)),
        scope,
        client_id: settings.client.id.clone(),
        tenant: settings.tenant.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn platform() -> Platform {
        Platform { client_id: Some("6731de76-14a6-49ae-97bc-6eba6914391e".into()), ..Default::default() }
    }

    fn input(settings: RawSettings) -> AuthorizeInput {
        AuthorizeInput {
            settings,
            redirect_uri: "http://localhost/myapp/".into(),
            state: "12345abcdefghijk".into(),
            code_verifier: Secret::new(VERIFIER),
            nonce: Some("678910abcdefghij".into()),
            claims: None,
        }
    }

    fn raw(cloud: &str, tenant: &str) -> RawSettings {
        RawSettings {
            name: "Mail".into(),
            scopes: vec!["https://graph.microsoft.com/mail.read".into()],
            cloud: Some(cloud.into()),
            tenant: Some(tenant.into()),
            ..Default::default()
        }
    }

    #[test]
    fn whole_url_global() {
        let out = authorize_url(&input(raw("global", "common")), &platform()).unwrap();
        assert_eq!(
            out.url,
            "https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id=6731de76-14a6-49ae-97bc-6eba6914391e&response_type=code&redirect_uri=http%3A%2F%2Flocalhost%2Fmyapp%2F&response_mode=query&scope=https%3A%2F%2Fgraph.microsoft.com%2Fmail.read%20openid%20profile%20offline_access&state=12345abcdefghijk&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&nonce=678910abcdefghij&client_info=1&prompt=select_account&claims=%7B%22access_token%22%3A%20%7B%22xms_cc%22%3A%20%7B%22values%22%3A%20%5B%22cp1%22%5D%7D%7D%7D"
        );
    }

    #[test]
    fn whole_url_per_cloud_with_hints() {
        let mut r = raw("china", "contoso.partner.onmschina.cn");
        r.scopes = vec!["User.Read".into()];
        r.prompt = Some("consent".into());
        r.login_hint = Some("ada@contoso.cn".into());
        r.domain_hint = Some("contoso.cn".into());
        let out = authorize_url(&input(r), &platform()).unwrap();
        assert_eq!(
            out.url,
            "https://login.chinacloudapi.cn/contoso.partner.onmschina.cn/oauth2/v2.0/authorize?client_id=6731de76-14a6-49ae-97bc-6eba6914391e&response_type=code&redirect_uri=http%3A%2F%2Flocalhost%2Fmyapp%2F&response_mode=query&scope=User.Read%20openid%20profile%20offline_access&state=12345abcdefghijk&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&nonce=678910abcdefghij&client_info=1&prompt=consent&login_hint=ada%40contoso.cn&domain_hint=contoso.cn&claims=%7B%22access_token%22%3A%20%7B%22xms_cc%22%3A%20%7B%22values%22%3A%20%5B%22cp1%22%5D%7D%7D%7D"
        );
        let us = authorize_url(&input(raw("usgov", "organizations")), &platform()).unwrap();
        assert!(us.url.starts_with("https://login.microsoftonline.us/organizations/oauth2/v2.0/authorize?"));
    }

    #[test]
    fn admin_consent_whole_url() {
        let out = admin_consent_url(
            &AdminConsentInput {
                settings: raw("global", "contoso.onmicrosoft.com"),
                redirect_uri: "https://app.example.com/consent".into(),
                state: "12345abcdefghijk".into(),
            },
            &platform(),
        )
        .unwrap();
        assert_eq!(
            out.url,
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/adminconsent?client_id=6731de76-14a6-49ae-97bc-6eba6914391e&scope=https%3A%2F%2Fgraph.microsoft.com%2Fmail.read&redirect_uri=https%3A%2F%2Fapp.example.com%2Fconsent&state=12345abcdefghijk"
        );
        let e = admin_consent_url(
            &AdminConsentInput {
                settings: raw("global", "common"),
                redirect_uri: "https://a.example/".into(),
                state: "12345abcdefghijk".into(),
            },
            &platform(),
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("settings.tenant"));
    }

    #[test]
    fn redirect_uris() {
        for ok in ["https://app.example.com/cb", "http://localhost:8400/callback", "http://LOCALHOST/x"] {
            check_redirect_uri("r", ok).unwrap();
        }
        for bad in [
            "http://app.example.com/cb",
            "ftp://localhost/",
            "https://app.example.com/cb#frag",
            "https:///nohost",
            "http://[::1]:80/",
            "http://127.0.0.1:9/",
            "https://user:pw@app.example.com/",
            "localhost/callback",
        ] {
            assert!(check_redirect_uri("r", bad).is_err(), "{bad}");
        }
        assert!(check_redirect_uri("r", &format!("https://a.example/{}", "x".repeat(260))).is_err());
    }

    #[test]
    fn bad_state_verifier_nonce_claims() {
        let mut i = input(raw("global", "common"));
        i.state = "short".into();
        assert_eq!(authorize_url(&i, &platform()).unwrap_err().field(), Some("state"));
        let mut i = input(raw("global", "common"));
        i.code_verifier = Secret::new("too-short");
        assert_eq!(authorize_url(&i, &platform()).unwrap_err().field(), Some("code_verifier"));
        let mut i = input(raw("global", "common"));
        i.nonce = Some("<script>alert(1)</script>".into());
        assert_eq!(authorize_url(&i, &platform()).unwrap_err().field(), Some("nonce"));
        let mut i = input(raw("global", "common"));
        i.claims = Some("not json".into());
        assert_eq!(authorize_url(&i, &platform()).unwrap_err().field(), Some("claims"));
    }

    #[test]
    fn settings_must_be_an_object() {
        let e = crate::input::decode::<AuthorizeInput>(br#"{"settings":["n",["User.Read"]],"redirect_uri":"https://a.example/cb","state":"1234567890123456","code_verifier":"x"}"#).unwrap_err();
        assert_eq!(e.field(), Some("settings"));
        let e = crate::input::decode::<AuthorizeInput>(br#"{"settings":{"name":"n","scopes":[],"color":"red"},"redirect_uri":"r","state":"s","code_verifier":"x"}"#).unwrap_err();
        assert_eq!(e.field(), Some("settings.color"));
    }

    #[test]
    fn same_inputs_same_url() {
        let a = authorize_url(&input(raw("global", "organizations")), &platform()).unwrap();
        let b = authorize_url(&input(raw("global", "organizations")), &platform()).unwrap();
        assert_eq!(a, b);
    }
}
