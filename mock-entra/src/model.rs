//! The directory the mock serves: tenants, app registrations, users, and what it issued.

use std::collections::BTreeMap;

/// A tenant (directory).
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    pub domain: String,
    pub display_name: String,
}

/// An app registration.
#[derive(Clone)]
pub struct App {
    pub client_id: String,
    pub name: String,
    /// The client secret, if the app has one.
    pub secret: Option<String>,
    /// A public client (a desktop or mobile app): it must send no credential at all.
    pub public_client: bool,
    pub secret_expired: bool,
    pub redirect_uris: Vec<String>,
    pub home_tenant: String,
    /// Multi-tenant apps may sign in through common and organizations.
    pub multi_tenant: bool,
    /// Application permissions (app roles) an admin granted, by tenant id.
    pub granted_roles: BTreeMap<String, Vec<String>>,
    /// Certificates uploaded to the app (client assertions signed with their keys).
    pub certificates: Vec<crate::assertion::RegisteredCertificate>,
    /// Federated identity credentials (workload identity federation).
    pub federated: Vec<crate::federated::FederatedCredential>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("client_id", &self.client_id).field("name", &self.name).finish_non_exhaustive()
    }
}

/// A user who can sign in.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub tenant_id: String,
    pub upn: String,
    pub display_name: String,
    /// Directory roles ("Global Administrator", ...).
    pub roles: Vec<String>,
}

/// What an authorization code remembers.
#[derive(Clone)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub tenant_path: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub nonce: Option<String>,
    pub issued_at: i64,
    pub used: bool,
}

/// What a refresh token remembers.
#[derive(Clone)]
pub struct RefreshGrant {
    pub client_id: String,
    pub user_id: String,
    pub tenant_id: String,
    pub scopes: Vec<String>,
    pub issued_at: i64,
    pub revoked: bool,
    /// Which refresh token this one replaced (for proving rotation).
    pub parent: Option<String>,
}

/// What an access token carries, for Graph.
#[derive(Clone)]
pub struct AccessGrant {
    pub client_id: String,
    pub tenant_id: String,
    pub user_id: Option<String>,
    pub scopes: Vec<String>,
    pub roles: Vec<String>,
    pub expires_at: i64,
    /// Issued to a client that declared the capability `cp1` (a CAE token).
    pub cae: bool,
    /// The order of issue, to tell tokens issued before a revocation from those after it
    /// within one second of the clock.
    pub serial: u64,
}

/// An authorize request waiting on the consent page.
#[derive(Clone)]
pub struct PendingAuthorize {
    pub kind: PendingKind,
    pub client_id: String,
    pub redirect_uri: String,
    pub tenant_path: String,
    pub tenant_id: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub nonce: Option<String>,
    pub login_hint: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PendingKind {
    SignIn,
    AdminConsent,
}

pub const TEST_TENANT_ID: &str = "8f2b6b1e-3c4d-4e5f-9a0b-1c2d3e4f5a6b";
pub const OTHER_TENANT_ID: &str = "1d3c5b7a-9e8f-4a6b-8c2d-0e1f2a3b4c5d";
pub const TEST_CLIENT_ID: &str = "3f8e1c2a-7b6d-4e5f-8a9b-0c1d2e3f4a5b";
pub const TEST_CLIENT_SECRET: &str = "mock-secret~Q8x2.Vn7pL4wR9tY6uI3oP1aS5dF0gH";
pub const PUBLIC_CLIENT_ID: &str = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d";
pub const SINGLE_TENANT_CLIENT_ID: &str = "2b4d6f80-1a3c-4e5f-8b7d-9f0e1d2c3b4a";
/// A confidential app with no client secret: it signs in with certificates a test uploads.
pub const CERTIFICATE_CLIENT_ID: &str = "6c5d4e3f-2a1b-4c9d-8e7f-6a5b4c3d2e1f";
pub const TEST_USER_ID: &str = "4e9c8b7a-6d5e-4f3a-8b2c-1d0e9f8a7b6c";
pub const ADMIN_USER_ID: &str = "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d";
pub const GUEST_USER_ID: &str = "0f1e2d3c-4b5a-4968-8776-655443322110";

fn granted_for_certificate_app() -> BTreeMap<String, Vec<String>> {
    let mut granted = BTreeMap::new();
    granted.insert(TEST_TENANT_ID.to_string(), vec!["User.Read.All".to_string()]);
    granted
}

/// The default directory: one tenant (Contoso), a confidential and a public test app, a
/// single-tenant app, a user without roles, a Global Administrator, and a user of another tenant.
pub fn default_directory(redirect_uris: &[String]) -> (Vec<Tenant>, Vec<App>, Vec<User>) {
    let tenants = vec![
        Tenant { id: TEST_TENANT_ID.into(), domain: "contoso.onmicrosoft.com".into(), display_name: "Contoso".into() },
        Tenant {
            id: OTHER_TENANT_ID.into(),
            domain: "fabrikam.onmicrosoft.com".into(),
            display_name: "Fabrikam".into(),
        },
    ];
    let mut granted = BTreeMap::new();
    granted.insert(TEST_TENANT_ID.to_string(), vec!["User.Read.All".to_string(), "Organization.Read.All".to_string()]);
    let apps = vec![
        App {
            client_id: TEST_CLIENT_ID.into(),
            name: "Integration Platform".into(),
            secret: Some(TEST_CLIENT_SECRET.into()),
            public_client: false,
            secret_expired: false,
            redirect_uris: redirect_uris.to_vec(),
            home_tenant: TEST_TENANT_ID.into(),
            multi_tenant: true,
            granted_roles: granted,
            certificates: Vec::new(),
            federated: Vec::new(),
        },
        App {
            client_id: PUBLIC_CLIENT_ID.into(),
            name: "Integration Platform (public client)".into(),
            secret: None,
            public_client: true,
            secret_expired: false,
            redirect_uris: redirect_uris.to_vec(),
            home_tenant: TEST_TENANT_ID.into(),
            multi_tenant: true,
            granted_roles: BTreeMap::new(),
            certificates: Vec::new(),
            federated: Vec::new(),
        },
        App {
            client_id: SINGLE_TENANT_CLIENT_ID.into(),
            name: "Contoso internal tool".into(),
            secret: Some(TEST_CLIENT_SECRET.into()),
            public_client: false,
            secret_expired: false,
            redirect_uris: redirect_uris.to_vec(),
            home_tenant: TEST_TENANT_ID.into(),
            multi_tenant: false,
            granted_roles: BTreeMap::new(),
            certificates: Vec::new(),
            federated: Vec::new(),
        },
        App {
            client_id: CERTIFICATE_CLIENT_ID.into(),
            name: "Contoso certificate app".into(),
            secret: None,
            public_client: false,
            secret_expired: false,
            redirect_uris: redirect_uris.to_vec(),
            home_tenant: TEST_TENANT_ID.into(),
            multi_tenant: true,
            granted_roles: granted_for_certificate_app(),
            certificates: Vec::new(),
            federated: Vec::new(),
        },
    ];
    let users = vec![
        User {
            id: TEST_USER_ID.into(),
            tenant_id: TEST_TENANT_ID.into(),
            upn: "adele.vance@contoso.onmicrosoft.com".into(),
            display_name: "Adele Vance".into(),
            roles: vec![],
        },
        User {
            id: ADMIN_USER_ID.into(),
            tenant_id: TEST_TENANT_ID.into(),
            upn: "megan.bowen@contoso.onmicrosoft.com".into(),
            display_name: "Megan Bowen".into(),
            roles: vec!["Global Administrator".into()],
        },
        User {
            id: GUEST_USER_ID.into(),
            tenant_id: OTHER_TENANT_ID.into(),
            upn: "alex.wilber@fabrikam.onmicrosoft.com".into(),
            display_name: "Alex Wilber".into(),
            roles: vec![],
        },
    ];
    (tenants, apps, users)
}
