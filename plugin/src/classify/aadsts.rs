//! Every AADSTS code of the protocol reference, each with a deliberate class.
//!
//! Source: learn.microsoft.com/entra/identity-platform/reference-error-codes (via the project's
//! protocol reference). A sentence here replaces the class's default when the code says more.

use super::class::{Action, Class};

pub struct Aadsts {
    pub code: u32,
    pub class: Class,
    /// Overrides the class's action where the code calls for another one.
    pub action: Option<Action>,
    /// A sharper sentence than the class's default.
    pub message: Option<&'static str>,
}

const fn e(code: u32, class: Class, message: Option<&'static str>) -> Aadsts {
    Aadsts { code, class, action: None, message }
}

const fn a(code: u32, class: Class, action: Action, message: &'static str) -> Aadsts {
    Aadsts { code, class, action: Some(action), message: Some(message) }
}

use Class::*;

pub const TABLE: &[Aadsts] = &[
    // Configuration of the app and tenant.
    e(50011, RedirectUriMismatch, None),
    a(50194, InvalidClient, Action::FixConfiguration, "The app registration is single-tenant, so it cannot sign in through common or organizations; set the connection's tenant to your tenant ID or domain."),
    e(90002, TenantNotFound, Some("The tenant was not found; it may be in another Microsoft cloud or the tenant setting may be misspelled.")),
    e(90038, WrongCloud, Some("The tenant lives in another national cloud than the one the connection uses.")),
    e(900382, WrongCloud, Some("The app's credentials belong to another Microsoft cloud than the one the connection uses.")),
    e(9001023, InvalidRequest, Some("App-only access (client credentials) needs a tenant ID or domain, not common or organizations.")),
    e(500011, AdminConsentRequired, Some("The resource the scopes belong to is not set up in this tenant; an administrator must consent to the app first.")),
    // Consent.
    e(65001, ConsentRequired, None),
    a(65004, AccessDenied, Action::Reauthorize, "The permission request was declined during sign-in."),
    e(90094, AdminConsentRequired, None),
    e(90099, AdminConsentRequired, Some("The app has not been authorized in this tenant; an administrator must consent to it.")),
    a(650057, InvalidScope, Action::FixConfiguration, "A requested permission is not in the app registration's list of API permissions (invalid resource)."),
    e(650056, AdminConsentRequired, Some("The app's permissions are misconfigured or not consented to by an administrator.")),
    // Grants that are no longer valid.
    e(70008, ReauthorizationRequired, Some("The sign-in grant has expired or was revoked; someone must sign in again.")),
    e(700082, ReauthorizationRequired, Some("The refresh token expired because the connection was not used for a long time; someone must sign in again.")),
    e(50173, ReauthorizationRequired, Some("The connection's tokens were revoked (for example after a password change); someone must sign in again.")),
    e(70043, ReauthorizationRequired, Some("A sign-in frequency policy requires signing in again.")),
    e(700084, ReauthorizationRequired, Some("The refresh token issued to a single-page app has reached its 24-hour limit; someone must sign in again.")),
    e(54005, ReauthorizationRequired, Some("The authorization code was already used; start the sign-in again.")),
    e(50058, ReauthorizationRequired, Some("No sign-in session was found for a silent sign-in; someone must sign in interactively.")),
    e(16000, ReauthorizationRequired, Some("Microsoft needs the user to choose an account; sign in again and pick the account.")),
    e(16001, ReauthorizationRequired, Some("Microsoft needs the user to choose an account; sign in again and pick the account.")),
    e(50126, ReauthorizationRequired, Some("The user name or password was wrong; sign in again.")),
    e(50055, ReauthorizationRequired, Some("The account's password has expired; change it, then sign in again.")),
    // Client credentials.
    e(700016, InvalidClient, Some("The app registration (client ID) was not found in this tenant or cloud.")),
    e(7000215, InvalidClient, Some("The client secret is not valid: it must be the secret's value, not its ID.")),
    e(7000222, ClientSecretExpired, None),
    e(70002, InvalidClient, Some("The client credentials do not match the app registration.")),
    e(700027, CertificateNotAccepted, Some("The certificate the client assertion was signed with is not registered on the app, or the signature did not match it.")),
    e(7000274, CertificateNotAccepted, Some("The certificate the client assertion was signed with is outside its validity, or its signature is not valid.")),
    e(50027, CertificateNotAccepted, Some("The client assertion is not a valid JWT.")),
    e(700024, AssertionTimeInvalid, None),
    // Device code sign-in (answers to a poll; the poll itself tells them apart first).
    e(70016, ReauthorizationRequired, Some("The device code sign-in has not been finished yet.")),
    e(70018, ReauthorizationRequired, Some("The device code is not known; start the sign-in again for a new code.")),
    e(70019, ReauthorizationRequired, Some("The device code expired before the sign-in was finished; start again for a new code.")),
    // Workload identity federation.
    e(700211, FederatedCredentialMismatch, Some("No federated credential on the app trusts the issuer of the platform's workload identity token.")),
    e(700212, FederatedCredentialMismatch, Some("No federated credential on the app has the audience of the platform's workload identity token.")),
    e(700213, FederatedCredentialMismatch, Some("No federated credential on the app has the subject of the platform's workload identity token.")),
    e(7002138, FederatedCredentialMismatch, Some("The app's federated credential names the token's subject with other upper- and lower-case letters; subjects are compared case-sensitively.")),
    e(700021, InvalidClient, Some("The client assertion names another app than the connection's client ID (iss and sub must be the client ID).")),
    e(700023, InvalidClient, Some("The client assertion's audience is not this tenant's token endpoint; check the connection's tenant and cloud.")),
    e(50012, InvalidClient, Some("The client assertion or secret was not accepted.")),
    e(7000218, InvalidClient, Some("The app is a web app, so the request needs a client secret or certificate; add a client secret to the connection.")),
    e(700025, InvalidClient, Some("The app is registered as a public client, which must not send a secret; remove the client secret from the connection.")),
    // Multi-factor authentication.
    e(50076, MfaRequired, None),
    e(50079, MfaRequired, Some("The account must register for multi-factor authentication before it can sign in.")),
    e(50072, MfaRequired, Some("The account must register for multi-factor authentication before it can sign in.")),
    e(50074, MfaRequired, Some("Multi-factor authentication was not completed.")),
    e(50078, MfaRequired, Some("The multi-factor authentication has expired; sign in again.")),
    // The user.
    e(50020, UserNotInTenant, None),
    e(50034, UserNotInTenant, Some("The account used to sign in does not exist in this tenant.")),
    a(50105, AccessDenied, Action::ContactAdmin, "The signed-in account is not assigned to this app; an administrator must assign it (Enterprise applications > the app > Users and groups)."),
    a(50053, AccessDenied, Action::ContactAdmin, "The account is locked after too many failed sign-ins, or the sign-in came from a blocked IP address."),
    a(50057, AccessDenied, Action::ContactAdmin, "The account is disabled; an administrator must enable it."),
    // Policy.
    e(53003, BlockedByPolicy, None),
    e(53000, BlockedByPolicy, Some("A Conditional Access policy requires a compliant device.")),
    e(53001, BlockedByPolicy, Some("A Conditional Access policy requires a domain-joined device.")),
    e(530032, BlockedByPolicy, Some("A security policy of the tenant blocked the sign-in.")),
    e(530035, BlockedByPolicy, Some("The tenant's security defaults blocked the sign-in.")),
    // Scopes.
    e(70011, InvalidScope, None),
    e(28002, InvalidScope, None),
    e(28003, InvalidScope, Some("The token request had no scope; the connection's scopes must not be empty.")),
    e(700022, InvalidScope, Some("The scopes belong to more than one resource; keep the scopes of one resource per connection.")),
    // Malformed requests.
    a(501481, InvalidRequest, Action::Reauthorize, "The PKCE code verifier did not match the sign-in; start the sign-in again."),
    e(90014, InvalidRequest, Some("A required parameter is missing from the request.")),
    e(900144, InvalidRequest, Some("A required parameter is missing from the request.")),
    e(9002313, InvalidRequest, None),
    // Rate.
    e(50196, Throttled, Some("Microsoft detected a loop of repeated sign-in requests and is slowing them down.")),
    e(90055, Throttled, Some("Microsoft is limiting the rate of sign-in requests for this tenant.")),
];

pub fn lookup(code: u32) -> Option<&'static Aadsts> {
    TABLE.iter().find(|e| e.code == code)
}
