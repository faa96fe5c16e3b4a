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
    /// What to do about the cause the message names (given with every message of its own).
    pub remedy: Option<&'static str>,
}

/// A code the class's own sentences describe.
const fn e(code: u32, class: Class) -> Aadsts {
    Aadsts { code, class, action: None, message: None, remedy: None }
}

/// A code with its own cause and what to do about it.
const fn m(code: u32, class: Class, message: &'static str, remedy: &'static str) -> Aadsts {
    Aadsts { code, class, action: None, message: Some(message), remedy: Some(remedy) }
}

/// As [`m`], with another action than the class's.
const fn a(code: u32, class: Class, action: Action, message: &'static str, remedy: &'static str) -> Aadsts {
    Aadsts { code, class, action: Some(action), message: Some(message), remedy: Some(remedy) }
}

use Class::*;

pub const TABLE: &[Aadsts] = &[
    // Configuration of the app and tenant.
    e(50011, RedirectUriMismatch),
    a(50194, InvalidClient, Action::FixConfiguration,
        "The app registration is single-tenant, so it cannot sign in through common or organizations.",
        "Set the connection's tenant to your tenant ID or domain; or, if accounts of other tenants must sign in, make the app multitenant (App registrations > the app > Authentication > Supported account types)."),
    m(90002, TenantNotFound,
        "The tenant was not found; it may be in another Microsoft cloud or the tenant setting may be misspelled.",
        "Copy the tenant ID from the Microsoft Entra admin center (Overview > Tenant ID) into the connection's tenant setting, and check that the cloud setting is the tenant's cloud."),
    m(90038, WrongCloud,
        "The tenant lives in another national cloud than the one the connection uses.",
        "Set the connection's cloud to the tenant's cloud (US Government or China tenants sign in at their own hosts) and use an app registration made in that cloud."),
    m(900382, WrongCloud,
        "The app's credentials belong to another Microsoft cloud than the one the connection uses.",
        "Use a client ID and secret or certificate of an app registered in the connection's cloud; an app of one cloud cannot sign in to another."),
    m(9001023, InvalidRequest,
        "App-only access (client credentials) needs a tenant ID or domain, not common or organizations.",
        "Set the connection's tenant to your tenant ID (a GUID) or a verified domain such as contoso.onmicrosoft.com."),
    m(500011, AdminConsentRequired,
        "The resource the scopes belong to is not set up in this tenant; an administrator must consent to the app first.",
        "Ask an administrator of the tenant to click Grant admin consent on the connection's page (or to consent in Enterprise applications), which adds the resource to the tenant; then sign in again."),
    // Consent.
    e(65001, ConsentRequired),
    a(65004, AccessDenied, Action::Reauthorize,
        "The permission request was declined during sign-in.",
        "Sign in again and click Accept on the permission review; if you may not consent to these permissions, ask an administrator to grant admin consent."),
    e(90094, AdminConsentRequired),
    m(90099, AdminConsentRequired,
        "The app has not been authorized in this tenant; an administrator must consent to it.",
        "Ask an administrator of the tenant to click Grant admin consent on the connection's page; then sign in again."),
    a(650057, InvalidScope, Action::FixConfiguration,
        "A requested permission is not in the app registration's list of API permissions (invalid resource).",
        "Add the connection's scopes to the app registration (App registrations > the app > API permissions > Add a permission > Microsoft Graph), or remove the scope from the connection."),
    m(650056, AdminConsentRequired,
        "The app's permissions are misconfigured or not consented to by an administrator.",
        "Check the app registration's API permissions against the connection's scopes, then ask an administrator to grant admin consent for them."),
    // Grants that are no longer valid.
    m(70008, ReauthorizationRequired,
        "The sign-in grant has expired or was revoked; someone must sign in again.",
        "Sign in again (Save and authorize); keep-alive refreshes the connection well before its refresh token expires, so this follows a long pause or a revocation."),
    m(700082, ReauthorizationRequired,
        "The refresh token expired because the connection was not used for a long time; someone must sign in again.",
        "Sign in again (Save and authorize); keep keep-alive running so that the connection is refreshed before 90 days without use."),
    m(50173, ReauthorizationRequired,
        "The connection's tokens were revoked (for example after a password change); someone must sign in again.",
        "Sign in again (Save and authorize) with the account's current password."),
    m(70043, ReauthorizationRequired,
        "A sign-in frequency policy requires signing in again.",
        "Sign in again (Save and authorize); the tenant's Conditional Access sign-in frequency decides how often this is needed, and an administrator can exclude the app from it."),
    m(700084, ReauthorizationRequired,
        "The refresh token issued to a single-page app has reached its 24-hour limit; someone must sign in again.",
        "Register the platform's redirect URI under the Web platform, not Single-page application (App registrations > the app > Authentication), so the refresh token lasts; then sign in again."),
    m(54005, ReauthorizationRequired,
        "The authorization code was already used; start the sign-in again.",
        "Click Save and authorize again for a new code; a code can be redeemed once."),
    m(50058, ReauthorizationRequired,
        "No sign-in session was found for a silent sign-in; someone must sign in interactively.",
        "Set the connection's prompt to select_account (not none) and sign in again."),
    m(16000, ReauthorizationRequired,
        "Microsoft needs the user to choose an account; sign in again and pick the account.",
        "Sign in again and pick the account to connect with on Microsoft's account list."),
    m(16001, ReauthorizationRequired,
        "Microsoft needs the user to choose an account; sign in again and pick the account.",
        "Sign in again and pick the account to connect with on Microsoft's account list."),
    m(50126, ReauthorizationRequired,
        "The user name or password was wrong; sign in again.",
        "Sign in again with the right password; after several failures Microsoft locks the account for a while."),
    m(50055, ReauthorizationRequired,
        "The account's password has expired; change it, then sign in again.",
        "Change the password (Microsoft asks for it at sign-in, or at myaccount.microsoft.com), then sign in again."),
    // Client credentials.
    m(700016, InvalidClient,
        "The app registration (client ID) was not found in this tenant or cloud.",
        "Check the connection's client ID against the app registration's Application (client) ID, and that the app is registered in the connection's cloud; for another tenant's app, an administrator of this tenant must consent to it first."),
    m(7000215, InvalidClient,
        "The client secret is not valid: it must be the secret's value, not its ID.",
        "Copy the secret's Value (shown once, when it is created; not its Secret ID) from App registrations > the app > Certificates & secrets into the connection, or create a new secret."),
    e(7000222, ClientSecretExpired),
    m(70002, InvalidClient,
        "The client credentials do not match the app registration.",
        "Give the connection a client secret or certificate of the app whose client ID it uses (App registrations > the app > Certificates & secrets)."),
    m(700027, CertificateNotAccepted,
        "The certificate the client assertion was signed with is not registered on the app, or the signature did not match it.",
        "Upload the connection's certificate (its public part: .cer or .pem) in App registrations > the app > Certificates & secrets > Certificates > Upload certificate, or give the connection the certificate and private key of one listed there."),
    m(7000274, CertificateNotAccepted,
        "The certificate the client assertion was signed with is outside its validity, or its signature is not valid.",
        "Make a new certificate, upload it to the app registration (Certificates & secrets > Certificates) and give the connection its certificate and private key."),
    m(50027, CertificateNotAccepted,
        "The client assertion is not a valid JWT.",
        "Check that the connection's private key belongs to its certificate (an RSA key in PEM or a PKCS#12 file); if it does, report the error with the IDs below."),
    e(700024, AssertionTimeInvalid),
    // Device code sign-in (answers to a poll; the poll itself tells them apart first).
    m(70016, ReauthorizationRequired,
        "The device code sign-in has not been finished yet.",
        "Enter the code on Microsoft's page and finish signing in; the platform keeps asking until the code expires."),
    m(70018, ReauthorizationRequired,
        "The device code is not known; start the sign-in again for a new code.",
        "Start the device code sign-in again and enter the new code."),
    m(70019, ReauthorizationRequired,
        "The device code expired before the sign-in was finished; start again for a new code.",
        "Start the device code sign-in again and enter the new code within 15 minutes."),
    // Workload identity federation.
    m(700211, FederatedCredentialMismatch,
        "No federated credential on the app trusts the issuer of the platform's workload identity token.",
        "Add a federated credential to the app (App registrations > the app > Certificates & secrets > Federated credentials) whose Issuer is exactly the token's iss, including any trailing slash."),
    m(700212, FederatedCredentialMismatch,
        "No federated credential on the app has the audience of the platform's workload identity token.",
        "In App registrations > the app > Certificates & secrets > Federated credentials, set the credential's Audience to the token's aud (normally api://AzureADTokenExchange), or have the workload's token issued for that audience."),
    m(700213, FederatedCredentialMismatch,
        "No federated credential on the app has the subject of the platform's workload identity token.",
        "In App registrations > the app > Certificates & secrets > Federated credentials, set the credential's Subject identifier to the token's sub exactly (for Kubernetes, system:serviceaccount:<namespace>:<service account>)."),
    m(7002138, FederatedCredentialMismatch,
        "The app's federated credential names the token's subject with other upper- and lower-case letters; subjects are compared case-sensitively.",
        "In App registrations > the app > Certificates & secrets > Federated credentials, write the credential's Subject identifier with the same upper- and lower-case letters as the token's sub."),
    m(700021, InvalidClient,
        "The client assertion names another app than the connection's client ID (iss and sub must be the client ID).",
        "Give the connection the client ID of the app the certificate or workload identity belongs to."),
    m(700023, InvalidClient,
        "The client assertion's audience is not this tenant's token endpoint; check the connection's tenant and cloud.",
        "Set the connection's tenant and cloud to the app's; the assertion is made for the token endpoint of that tenant and cloud."),
    m(50012, InvalidClient,
        "The client assertion or secret was not accepted.",
        "Check the connection's client secret or certificate against the app registration (Certificates & secrets); replace an expired or deleted one."),
    m(7000218, InvalidClient,
        "The app is a web app, so the request needs a client secret or certificate; add a client secret to the connection.",
        "Add a client secret or certificate of the app to the connection; or, for a desktop-style app without one, set Allow public client flows to Yes (App registrations > the app > Authentication)."),
    m(700025, InvalidClient,
        "The app is registered as a public client, which must not send a secret; remove the client secret from the connection.",
        "Remove the client secret (and certificate) from the connection's settings; or, if the app should be confidential, set Allow public client flows to No."),
    // Multi-factor authentication.
    e(50076, MfaRequired),
    m(50079, MfaRequired,
        "The account must register for multi-factor authentication before it can sign in.",
        "Sign in again and follow Microsoft's prompt to register a method (Microsoft Authenticator, a phone number), or register one first at aka.ms/mfasetup."),
    m(50072, MfaRequired,
        "The account must register for multi-factor authentication before it can sign in.",
        "Sign in again and follow Microsoft's prompt to register a method (Microsoft Authenticator, a phone number), or register one first at aka.ms/mfasetup."),
    m(50074, MfaRequired,
        "Multi-factor authentication was not completed.",
        "Sign in again and answer the multi-factor prompt before it times out."),
    m(50078, MfaRequired,
        "The multi-factor authentication has expired; sign in again.",
        "Sign in again and complete the multi-factor prompt."),
    // The user.
    e(50020, UserNotInTenant),
    m(50034, UserNotInTenant,
        "The account used to sign in does not exist in this tenant.",
        "Sign in with an account of the connection's tenant (check the user name for typing errors), or ask an administrator to invite the account as a guest."),
    a(50105, AccessDenied, Action::ContactAdmin,
        "The signed-in account is not assigned to this app; an administrator must assign it (Enterprise applications > the app > Users and groups).",
        "Ask an administrator to assign the account, or a group it belongs to, to the app (Enterprise applications > the app > Users and groups > Add user/group), then sign in again."),
    a(50053, AccessDenied, Action::ContactAdmin,
        "The account is locked after too many failed sign-ins, or the sign-in came from a blocked IP address.",
        "Wait for the lock to end (about a minute, growing with failures) or ask an administrator to unlock the account; with a blocked IP address, sign in from the usual network."),
    a(50057, AccessDenied, Action::ContactAdmin,
        "The account is disabled; an administrator must enable it.",
        "Ask an administrator to enable the account (Users > the user > Edit properties > Settings > Account enabled), or sign in with another account."),
    // Policy.
    e(53003, BlockedByPolicy),
    m(53000, BlockedByPolicy,
        "A Conditional Access policy requires a compliant device.",
        "Sign in from a device enrolled in the organization's device management (Intune) and compliant with its policies, or ask an administrator to exclude the app from the policy."),
    m(53001, BlockedByPolicy,
        "A Conditional Access policy requires a domain-joined device.",
        "Sign in from a device joined to the organization's domain (Microsoft Entra hybrid joined), or ask an administrator to exclude the app from the policy."),
    m(530032, BlockedByPolicy,
        "A security policy of the tenant blocked the sign-in.",
        "Ask an administrator to look up the sign-in with the correlation ID below (Sign-in logs > Conditional Access) and adjust the policy that blocked it."),
    m(530035, BlockedByPolicy,
        "The tenant's security defaults blocked the sign-in.",
        "Ask an administrator to review the tenant's security defaults (Overview > Properties > Manage security defaults); security defaults block legacy and risky sign-ins."),
    // Scopes.
    e(70011, InvalidScope),
    e(28002, InvalidScope),
    m(28003, InvalidScope,
        "The token request had no scope; the connection's scopes must not be empty.",
        "Add at least one scope to the connection (Fetch data lists them), save, and sign in again."),
    m(700022, InvalidScope,
        "The scopes belong to more than one resource; keep the scopes of one resource per connection.",
        "Keep the scopes of one API in this connection and make another connection for the other API's scopes."),
    // Malformed requests.
    a(501481, InvalidRequest, Action::Reauthorize,
        "The PKCE code verifier did not match the sign-in; start the sign-in again.",
        "Click Save and authorize again; complete the sign-in in the window it opens (a sign-in started elsewhere cannot be finished here)."),
    m(90014, InvalidRequest,
        "A required parameter is missing from the request.",
        "Check that the connection's settings are complete (name, scopes, tenant); if they are, report the error with the IDs below."),
    m(900144, InvalidRequest,
        "A required parameter is missing from the request.",
        "Check that the connection's settings are complete (name, scopes, tenant); if they are, report the error with the IDs below."),
    e(9002313, InvalidRequest),
    // Rate.
    m(50196, Throttled,
        "Microsoft detected a loop of repeated sign-in requests and is slowing them down.",
        "Stop repeating the sign-in for a few minutes; if a flow requests tokens in a loop, let it reuse the platform's token until it expires."),
    m(90055, Throttled,
        "Microsoft is limiting the rate of sign-in requests for this tenant.",
        "Nothing to do: the request is retried after the wait; if it keeps happening, spread the tenant's connections' work over time."),
];

pub fn lookup(code: u32) -> Option<&'static Aadsts> {
    TABLE.iter().find(|e| e.code == code)
}
