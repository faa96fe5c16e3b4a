//! The one table of Microsoft clouds. No other place spells a Microsoft host.
//!
//! Sources: learn.microsoft.com/entra/identity-platform/authentication-national-cloud,
//! learn.microsoft.com/graph/deployments, and MSAL JS AuthorityMetadata.ts for China's issuer.

use serde::Serialize;

/// One national cloud: where to sign in, where Graph lives, who issues id_tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cloud {
    /// The setting value (`global`, `usgov`, `usgov-dod`, `china`).
    pub id: &'static str,
    pub label: &'static str,
    pub login_host: &'static str,
    pub graph_host: &'static str,
    /// Hosts that may appear in an id_token's `iss`.
    pub issuer_hosts: &'static [&'static str],
    /// Hosts a manifest for this cloud must allow.
    pub allowed_hosts: &'static [&'static str],
}

pub const CLOUDS: &[Cloud] = &[
    Cloud {
        id: "global",
        label: "Microsoft Azure global",
        login_host: "login.microsoftonline.com",
        graph_host: "graph.microsoft.com",
        issuer_hosts: &["login.microsoftonline.com"],
        allowed_hosts: &["login.microsoftonline.com", "graph.microsoft.com"],
    },
    Cloud {
        id: "usgov",
        label: "US Government L4",
        login_host: "login.microsoftonline.us",
        graph_host: "graph.microsoft.us",
        issuer_hosts: &["login.microsoftonline.us"],
        allowed_hosts: &["login.microsoftonline.us", "graph.microsoft.us"],
    },
    Cloud {
        id: "usgov-dod",
        label: "US Government L5 (DoD)",
        login_host: "login.microsoftonline.us",
        graph_host: "dod-graph.microsoft.us",
        issuer_hosts: &["login.microsoftonline.us"],
        allowed_hosts: &["login.microsoftonline.us", "dod-graph.microsoft.us"],
    },
    Cloud {
        id: "china",
        label: "China (operated by 21Vianet)",
        login_host: "login.chinacloudapi.cn",
        graph_host: "microsoftgraph.chinacloudapi.cn",
        issuer_hosts: &["login.partner.microsoftonline.cn", "login.chinacloudapi.cn"],
        allowed_hosts: &[
            "login.chinacloudapi.cn",
            "login.partner.microsoftonline.cn",
            "microsoftgraph.chinacloudapi.cn",
        ],
    },
];

/// The Microsoft Graph application id: its service principal holds the permission catalog.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

impl Cloud {
    pub fn by_id(id: &str) -> Option<&'static Cloud> {
        CLOUDS.iter().find(|c| c.id == id)
    }

    pub fn global() -> &'static Cloud {
        &CLOUDS[0]
    }

    /// The Graph resource identifier scopes are qualified with (`https://graph.microsoft.com`).
    pub fn graph_resource(&self) -> String {
        format!("https://{}", self.graph_host)
    }

    /// True when `host` is a sign-in or Graph host of any cloud other than `self`.
    pub fn is_other_cloud_host(&self, host: &str) -> bool {
        CLOUDS.iter().any(|c| {
            c.id != self.id
                && (c.login_host == host || c.graph_host == host || c.issuer_hosts.contains(&host))
                && !self.allowed_hosts.contains(&host)
        })
    }

    pub fn ids() -> Vec<&'static str> {
        CLOUDS.iter().map(|c| c.id).collect()
    }
}

/// Where the connector actually sends its requests: the cloud's hosts, unless the platform
/// (never an end-user setting) points them elsewhere, as a test harness does with a mock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// `https://login.microsoftonline.com`, no trailing slash.
    pub login_base: String,
    /// `https://graph.microsoft.com`, no trailing slash.
    pub graph_base: String,
    /// Issuer hosts accepted in an id_token (`host` or `host:port`).
    pub issuer_hosts: Vec<String>,
    pub overridden: bool,
}

impl Endpoints {
    pub fn for_cloud(cloud: &Cloud, login_override: Option<&str>, graph_override: Option<&str>) -> Self {
        let login_base = login_override
            .map(|s| s.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("https://{}", cloud.login_host));
        let graph_base = graph_override
            .map(|s| s.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("https://{}", cloud.graph_host));
        let issuer_hosts = match login_override {
            Some(base) => vec![authority_of(base).to_string()],
            None => cloud.issuer_hosts.iter().map(|h| h.to_string()).collect(),
        };
        Endpoints {
            login_base,
            graph_base,
            issuer_hosts,
            overridden: login_override.is_some() || graph_override.is_some(),
        }
    }

    pub fn authorize(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/authorize", self.login_base)
    }

    pub fn token(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.login_base)
    }

    pub fn admin_consent(&self, tenant: &str) -> String {
        format!("{}/{tenant}/v2.0/adminconsent", self.login_base)
    }

    pub fn graph(&self, path: &str) -> String {
        format!("{}{path}", self.graph_base)
    }
}

/// `host[:port]` of an absolute URL (`https://host:port/path` -> `host:port`).
pub fn authority_of(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    &rest[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cloud_allows_its_own_hosts() {
        for c in CLOUDS {
            assert!(c.allowed_hosts.contains(&c.login_host), "{}", c.id);
            assert!(c.allowed_hosts.contains(&c.graph_host), "{}", c.id);
            for i in c.issuer_hosts {
                assert!(c.allowed_hosts.contains(i) || *i == c.login_host, "{}", c.id);
            }
        }
    }

    #[test]
    fn endpoints_follow_the_cloud_unless_overridden() {
        let e = Endpoints::for_cloud(Cloud::by_id("usgov-dod").unwrap(), None, None);
        assert_eq!(
            e.token("contoso.onmicrosoft.com"),
            "https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(e.graph("/v1.0/me"), "https://dod-graph.microsoft.us/v1.0/me");
        let m = Endpoints::for_cloud(Cloud::global(), Some("http://127.0.0.1:4000/"), Some("http://127.0.0.1:4000"));
        assert_eq!(m.authorize("organizations"), "http://127.0.0.1:4000/organizations/oauth2/v2.0/authorize");
        assert_eq!(m.issuer_hosts, vec!["127.0.0.1:4000".to_string()]);
        assert!(Cloud::global().is_other_cloud_host("login.microsoftonline.us"));
        assert!(!Cloud::global().is_other_cloud_host("graph.microsoft.com"));
    }
}
