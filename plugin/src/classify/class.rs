//! The closed set of failure classes, and what each means for the platform and the person.
//!
//! One table: code, default action, retryable, the sentence for the person, the steps to fix
//! it and the page that explains it. Specific provider codes may sharpen the sentence
//! (see `aadsts.rs`), never change the meaning of a class.

pub use connector_interface::classification::{Action, Class};

/// What a class means for this connector: the platform's next step and the person's sentence.
pub trait Meaning {
    fn action(self) -> Action;
    fn retryable(self) -> bool;
    /// The default sentence for the person looking at the connection.
    fn message(self) -> &'static str;
    /// The default steps to fix it.
    fn remediation(self) -> &'static str;
}

macro_rules! classes {
    ($( $variant:ident = $code:literal, $action:ident, $retry:literal, $msg:literal, $fix:literal; )*) => {
        impl Meaning for Class {
            fn action(self) -> Action {
                match self { $( Class::$variant => Action::$action, )* }
            }

            fn retryable(self) -> bool {
                match self { $( Class::$variant => $retry, )* }
            }

            fn message(self) -> &'static str {
                match self { $( Class::$variant => $msg, )* }
            }

            fn remediation(self) -> &'static str {
                match self { $( Class::$variant => $fix, )* }
            }
        }

        /// Each class's code as the table writes it (checked against the interface's).
        #[cfg(test)]
        const CODES: &[(Class, &str)] = &[ $( (Class::$variant, $code), )* ];
    };
}

classes! {
    InsufficientPrivileges = "insufficient_privileges", AssignRole, false,
        "The signed-in account does not have the privileges this operation needs (Authorization_RequestDenied: Insufficient privileges to complete the operation).",
        "Give the Microsoft Entra ID account this connection signs in with one of these roles: Global administrator (maximum permissions), Privileged authentication administrator, or Authentication administrator (minimum permissions). An admin assigns roles in the Microsoft Entra admin center under Identity > Roles & admins; then sign in again so the new role is in the token.";
    ConsentRequired = "consent_required", Reauthorize, false,
        "The permissions this connection asks for have not been consented to.",
        "Sign in again (Save and authorize) and accept the permissions. If your organization does not let users consent, ask an administrator to grant admin consent for the app.";
    AdminConsentRequired = "admin_consent_required", GrantAdminConsent, false,
        "An administrator must consent to the permissions this connection asks for.",
        "Ask a Global administrator or Privileged role administrator of the tenant to open the connection's admin consent link (or, in the Microsoft Entra admin center, Enterprise applications > the app > Permissions > Grant admin consent), then sign in again.";
    ReauthorizationRequired = "reauthorization_required", Reauthorize, false,
        "The connection's sign-in is no longer valid and someone must sign in again.",
        "Open the connection and click Save and authorize to sign in with Microsoft again.";
    TokenExpired = "token_expired", RefreshToken, true,
        "The access token has expired or is not valid any more.",
        "Refresh the token and repeat the request; if the refresh fails, sign in again.";
    InvalidClient = "invalid_client", FixConfiguration, false,
        "Microsoft Entra ID did not accept the app registration's credentials.",
        "Check the connection's client ID and client secret against the app registration (Microsoft Entra admin center > App registrations > the app > Certificates & secrets), and that the app exists in this tenant and cloud.";
    ClientSecretExpired = "client_secret_expired", FixConfiguration, false,
        "The client secret of the app registration has expired.",
        "Create a new client secret in the Microsoft Entra admin center (App registrations > the app > Certificates & secrets > New client secret), put its value in the connection (or the platform's app configuration), and sign in again.";
    CertificateNotAccepted = "certificate_not_accepted", FixConfiguration, false,
        "Microsoft Entra ID did not accept the app's certificate: the client assertion signed with its private key was refused.",
        "Upload the connection's certificate to the app registration (Microsoft Entra admin center > App registrations > the app > Certificates & secrets > Certificates > Upload certificate), or give the connection the certificate and private key already uploaded there; the admin center lists certificates by their SHA-1 thumbprint.";
    AssertionTimeInvalid = "assertion_time_invalid", FixConfiguration, false,
        "Microsoft Entra ID refused the client assertion as outside its valid time.",
        "Check the platform's clock (an assertion is valid for 10 minutes from when it is made). With a federated credential, check that the token file is renewed before it expires: the platform reads it again for every token request.";
    FederatedCredentialMismatch = "federated_credential_mismatch", FixConfiguration, false,
        "Microsoft Entra ID found no federated credential on the app that matches the platform's workload identity token.",
        "Compare the app's federated credential (Microsoft Entra admin center > App registrations > the app > Certificates & secrets > Federated credentials) with the token the platform presents: its Issuer, Subject identifier and Audience (normally api://AzureADTokenExchange) must match the token's iss, sub and aud exactly, including case and any trailing slash.";
    RedirectUriMismatch = "redirect_uri_mismatch", FixConfiguration, false,
        "The redirect URI the platform uses is not registered on the app.",
        "Add the platform's redirect URI to the app registration (Microsoft Entra admin center > App registrations > the app > Authentication > Add a platform > Web), exactly as the platform shows it, then try again.";
    InvalidScope = "invalid_scope", FixConfiguration, false,
        "One of the connection's scopes is not valid for this app or resource.",
        "Check the connection's scopes against the API permissions of the app registration; remove unknown scopes and keep the scopes of one resource per connection.";
    TenantNotFound = "tenant_not_found", FixConfiguration, false,
        "The tenant in the connection's settings was not found.",
        "Check the tenant setting (a tenant ID, a verified domain or organizations) and that the cloud setting matches where the tenant lives.";
    WrongCloud = "wrong_cloud", FixConfiguration, false,
        "The tenant or app belongs to another Microsoft cloud than the one the connection uses.",
        "Set the connection's cloud to the one the tenant lives in (global, US Government or China) and use an app registration from that cloud.";
    UserNotInTenant = "user_not_in_tenant", Reauthorize, false,
        "The account used to sign in does not belong to the connection's tenant.",
        "Sign in again with an account of the tenant, or ask an administrator to invite the account as a guest.";
    MfaRequired = "mfa_required", Reauthorize, false,
        "Multi-factor authentication is required.",
        "Sign in again (Save and authorize) and complete the multi-factor authentication prompt; set it up first if you have not registered a method.";
    BlockedByPolicy = "blocked_by_policy", ContactAdmin, false,
        "A Conditional Access or security policy of the tenant blocked the sign-in.",
        "Ask an administrator to review the sign-in logs (Microsoft Entra admin center > Sign-in logs, using the correlation ID below) and the Conditional Access policy that applies to this app.";
    AccessDenied = "access_denied", Reauthorize, false,
        "The sign-in was cancelled or access was denied.",
        "Sign in again and click Accept on the permission review; if access is denied again, ask an administrator whether you may use this app.";
    Throttled = "throttled", Retry, true,
        "Microsoft is limiting the rate of requests; the platform will retry after the wait it asked for.",
        "Nothing to do: the request is retried after the wait. If it keeps happening, reduce how often the connection is used.";
    Transient = "transient", Retry, true,
        "Microsoft or the network failed for a moment; the platform will retry.",
        "Nothing to do: the request is retried with a growing wait. If it keeps failing, check Microsoft's service health and the platform's network.";
    NotFound = "not_found", None, false,
        "The requested object was not found.",
        "Check that the object exists and that the connection's account can see it.";
    InvalidRequest = "invalid_request", FixConfiguration, false,
        "Microsoft Entra ID refused the request as malformed.",
        "Check the connection's settings; if they are right, report the error with the trace and correlation IDs below.";
    ClaimsChallenge = "claims_challenge", Reauthorize, false,
        "Microsoft needs a token that meets a Conditional Access or Continuous Access Evaluation requirement (claims challenge).",
        "The platform asks for a new token carrying the claims Microsoft named; when that needs a person, sign in again (Save and authorize): the sign-in carries the claims so the requirement can be met.";
    BlockedHost = "blocked_host", FixConfiguration, false,
        "The connector tried to reach a host its manifest does not allow, and the request was stopped.",
        "Check the connection's cloud setting and the connector manifest's allowed hosts; a redirect to another host is never followed.";
    Unknown = "unknown", None, false,
        "The request failed for a reason the connector does not recognize.",
        "Try again later; if it keeps failing, report the error with the trace and correlation IDs below.";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_of_the_interface_has_a_meaning_and_the_same_code() {
        assert_eq!(CODES.len(), Class::ALL.len());
        for (class, code) in CODES {
            assert_eq!(class.as_str(), *code);
            assert!(!class.message().is_empty() && !class.remediation().is_empty());
        }
    }
}
