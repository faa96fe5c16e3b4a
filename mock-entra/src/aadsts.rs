//! Every AADSTS answer the mock gives, in one table: its code, OAuth `error`, HTTP status (for
//! the token endpoint; a redirect carries no status), MSAL `suberror` and sentence. A `{}` in a
//! sentence is filled, in order, with what the request was about. Codes and sentences follow
//! learn.microsoft.com/entra/identity-platform/reference-error-codes and real answers
//! (../shared/reference/entra-protocol.md).

/// One answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aad {
    pub code: u32,
    pub error: &'static str,
    pub status: u16,
    pub suberror: Option<&'static str>,
    pub text: &'static str,
}

const fn aad(code: u32, error: &'static str, status: u16, text: &'static str) -> Aad {
    Aad { code, error, status, suberror: None, text }
}

impl Aad {
    /// The same answer with another HTTP status (a scripted 5xx).
    pub const fn with_status(self, status: u16) -> Aad {
        Aad { status, ..self }
    }

    /// The sentence with its `{}`s filled by `args`, in order.
    pub fn sentence(&self, args: &[&str]) -> String {
        let mut out = String::new();
        let mut args = args.iter();
        let mut parts = self.text.split("{}").peekable();
        while let Some(part) = parts.next() {
            out.push_str(part);
            if parts.peek().is_some() {
                out.push_str(args.next().copied().unwrap_or(""));
            }
        }
        out
    }
}

// The sign-in redirect (authorize and admin consent).
pub const UNSUPPORTED_RESPONSE_TYPE: Aad =
    aad(700054, "unsupported_response_type", 400, "response_type 'code' is the only one this app may use.");
pub const INVALID_RESPONSE_MODE: Aad = aad(900144, "invalid_request", 400, "response_mode is not valid.");
pub const MISSING_PARAMETER: Aad =
    aad(900144, "invalid_request", 400, "The request body must contain the following parameter: '{}'.");
pub const SEVERAL_RESOURCES_SCOPE: Aad = aad(700022, "invalid_scope", 400, "{}");
pub const SEVERAL_RESOURCES_TOKEN: Aad = aad(700022, "invalid_request", 400, "{}");
pub const INVALID_SCOPE: Aad = aad(
    70011,
    "invalid_scope",
    400,
    "The provided value for the input parameter 'scope' is not valid. The scope {} is not valid.",
);
pub const INVALID_CHALLENGE_METHOD: Aad = aad(501491, "invalid_request", 400, "Invalid code_challenge_method.");
pub const CHALLENGE_MISSING: Aad =
    aad(501491, "invalid_request", 400, "code_challenge_method was sent without a code_challenge.");
pub const CHALLENGE_SIZE: Aad = aad(501491, "invalid_request", 400, "Invalid size of Code_Challenge parameter.");
pub const LOGIN_REQUIRED: Aad =
    aad(50058, "login_required", 400, "A silent sign-in request was sent but no user is signed in.");
pub const INVALID_PROMPT: Aad = aad(90023, "invalid_request", 400, "Invalid prompt value.");
pub const USER_DECLINED: Aad = aad(65004, "access_denied", 400, "User declined to consent to access the app.");
pub const ADMIN_DECLINED: Aad = aad(65004, "consent_required", 400, "User declined to consent to access the app.");
pub const USER_NOT_IN_TENANT: Aad = aad(
    50020,
    "invalid_request",
    400,
    "User account '{}' from identity provider does not exist in tenant and cannot access the application in that tenant.",
);
pub const ADMIN_PERMISSION_REQUIRED: Aad = aad(90094, "consent_required", 400, "The grant requires admin permission.");
pub const ADMIN_CONSENT_REQUIRED: Aad = aad(
    90094,
    "consent_required",
    400,
    "The grant requires admin permission. An administrator must consent to this application for the organization.",
);

// The client's credentials.
pub const APP_NOT_FOUND: Aad =
    aad(700016, "unauthorized_client", 400, "Application with identifier '{}' was not found in the directory.");
pub const PUBLIC_CLIENT_WITH_SECRET: Aad = aad(
    700025,
    "invalid_request",
    400,
    "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
);
pub const CREDENTIAL_MISSING: Aad = aad(
    7000218,
    "invalid_client",
    401,
    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
);
pub const SECRET_EXPIRED: Aad = aad(
    7000222,
    "invalid_client",
    401,
    "The provided client secret keys for app '{}' are expired. Visit the Azure portal to create new keys for your app.",
);
pub const INVALID_SECRET: Aad = aad(
    7000215,
    "invalid_client",
    401,
    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.",
);
pub const ASSERTION_INVALID_SIGNATURE: Aad = aad(
    700027,
    "invalid_client",
    401,
    "Client assertion contains an invalid signature. [Reason - {}, Thumbprint of key used by client: '{}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments if you're not using the Azure public cloud.]",
);
pub const ASSERTION_MALFORMED: Aad = aad(50027, "invalid_request", 400, "JWT token is invalid or malformed.");
pub const ASSERTION_OTHER_APP: Aad =
    aad(700021, "invalid_client", 401, "Client assertion application identifier doesn't match 'client_id' parameter.");
pub const ASSERTION_AUDIENCE: Aad = aad(
    700023,
    "invalid_client",
    401,
    "Client assertion audience claim does not match Realm issuer. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
);
pub const ASSERTION_TIME: Aad = aad(
    700024,
    "invalid_client",
    401,
    "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
);
// Workload identity federation (texts as Entra answers them; github.com/Azure/login issues 482
// and 515, github.com/Azure/azure-workload-identity issue 1200).
pub const FEDERATED_ISSUER: Aad = aad(
    700211,
    "invalid_client",
    401,
    "No matching federated identity record found for presented assertion issuer '{}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
);
pub const FEDERATED_AUDIENCE: Aad = aad(
    700212,
    "invalid_client",
    401,
    "No matching federated identity record found for presented assertion audience '{}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
);
pub const FEDERATED_SUBJECT: Aad = aad(
    700213,
    "invalid_client",
    401,
    "No matching federated identity record found for presented assertion subject '{}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
);
pub const FEDERATED_SUBJECT_CASE: Aad = aad(
    7002138,
    "invalid_client",
    401,
    "No matching federated identity record found for presented assertion subject '{}'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. See documentation at: https://learn.microsoft.com/entra/workload-id/workload-identity-federation.",
);
// Device code polls (learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code; the
// declined answer's code is the consent refusal's, as seen in the field).
pub const DEVICE_PENDING: Aad = aad(
    70016,
    "authorization_pending",
    400,
    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
);
pub const DEVICE_SLOW_DOWN: Aad =
    aad(70016, "slow_down", 400, "OAuth 2.0 device flow error. The client is polling too often; slow down.");
pub const DEVICE_DECLINED: Aad =
    aad(65004, "authorization_declined", 400, "The end user denied the authorization request.");
pub const DEVICE_BAD_CODE: Aad =
    aad(70018, "bad_verification_code", 400, "Invalid verification code. The device_code is not recognized.");
pub const DEVICE_EXPIRED: Aad =
    aad(70019, "expired_token", 400, "Verification code expired. The device code has expired; start again.");

// The token endpoint.
/// learn.microsoft.com/entra/identity-platform/reference-error-codes: InvalidRequestParameter.
pub const INVALID_PARAMETER: Aad = aad(90100, "invalid_request", 400, "{} parameter is empty or not valid.");
pub const POST_ONLY: Aad = aad(900561, "invalid_request", 400, "The endpoint only accepts POST requests.");
pub const TENANT_NOT_FOUND: Aad = aad(
    90002,
    "invalid_request",
    400,
    "Tenant '{}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.",
);
pub const UNSUPPORTED_GRANT: Aad =
    aad(70003, "unsupported_grant_type", 400, "The app requested an unsupported grant type '{}'.");
pub const EMPTY_SCOPE: Aad = aad(
    28003,
    "invalid_request",
    400,
    "Provided value for the input parameter scope cannot be empty when requesting an access token using the provided authorization code. Please specify a valid scope.",
);
pub const MALFORMED_GRANT: Aad =
    aad(9002313, "invalid_grant", 400, "Invalid request. Request is malformed or invalid: the {} is not valid.");
pub const CODE_REDEEMED: Aad = aad(
    54005,
    "invalid_grant",
    400,
    "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
);
pub const EXPIRED_BY_INACTIVITY: Aad = aad(
    70008,
    "invalid_grant",
    400,
    "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
);
pub const GRANT_OF_ANOTHER_CLIENT: Aad =
    aad(70000, "invalid_grant", 400, "Provided grant is invalid or malformed: the {} was issued to another client.");
pub const USER_NOT_FOUND: Aad = aad(50034, "invalid_grant", 400, "The user account does not exist in this directory.");
pub const CODE_OF_ANOTHER_TENANT: Aad = aad(
    700005,
    "invalid_grant",
    400,
    "Provided Authorization Code is intended to use against other tenant, thus rejected.",
);
pub const REFRESH_OF_ANOTHER_TENANT: Aad =
    aad(700005, "invalid_grant", 400, "The refresh token is intended to use against other tenant, thus rejected.");
pub const REDIRECT_MISMATCH: Aad = aad(
    50011,
    "invalid_grant",
    400,
    "The redirect URI specified in the request does not match the redirect URI used to obtain the authorization code.",
);
pub const VERIFIER_MISSING: Aad = aad(
    501481,
    "invalid_request",
    400,
    "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
);
pub const VERIFIER_MISMATCH: Aad = aad(
    501481,
    "invalid_grant",
    400,
    "The Code_Verifier does not match the code_challenge supplied in the authorization request for PKCE.",
);
pub const REVOKED: Aad = aad(
    50173,
    "invalid_grant",
    400,
    "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
);
pub const INACTIVE_REFRESH_TOKEN: Aad = aad(
    700082,
    "invalid_grant",
    400,
    "The refresh token has expired due to inactivity. The token was issued on {} and was inactive for 90.00:00:00.",
);
pub const CONSENT_REQUIRED: Aad = Aad {
    suberror: Some("consent_required"),
    ..aad(
        65001,
        "invalid_grant",
        400,
        "The user or administrator has not consented to use the application with ID '{}' {}. Send an interactive authorization request for this user and resource.",
    )
};
pub const MFA_REQUIRED: Aad = Aad {
    suberror: Some("basic_action"),
    ..aad(
        50076,
        "invalid_grant",
        400,
        "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '{}'.",
    )
};
pub const BLOCKED_BY_CONDITIONAL_ACCESS: Aad = aad(
    53003,
    "invalid_grant",
    400,
    "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
);
pub const CLIENT_CREDENTIALS_NEED_TENANT: Aad = aad(
    9001023,
    "invalid_request",
    400,
    "The grant type 'client_credentials' is not supported over the /{} endpoint. Use a tenant-specific endpoint.",
);
pub const DEFAULT_SCOPE_REQUIRED: Aad = aad(
    1002012,
    "invalid_scope",
    400,
    "The provided value for scope {} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
);
pub const THROTTLED: Aad =
    aad(90055, "temporarily_unavailable", 429, "The request was throttled; the tenant has sent too many requests.");
pub const UNAVAILABLE: Aad =
    aad(50001, "temporarily_unavailable", 503, "The service is temporarily unavailable. Please try again later.");

/// The whole table (for its tests).
pub const ALL: &[Aad] = &[
    UNSUPPORTED_RESPONSE_TYPE,
    INVALID_RESPONSE_MODE,
    MISSING_PARAMETER,
    SEVERAL_RESOURCES_SCOPE,
    SEVERAL_RESOURCES_TOKEN,
    INVALID_SCOPE,
    INVALID_CHALLENGE_METHOD,
    CHALLENGE_MISSING,
    CHALLENGE_SIZE,
    LOGIN_REQUIRED,
    INVALID_PROMPT,
    USER_DECLINED,
    ADMIN_DECLINED,
    USER_NOT_IN_TENANT,
    ADMIN_PERMISSION_REQUIRED,
    ADMIN_CONSENT_REQUIRED,
    APP_NOT_FOUND,
    PUBLIC_CLIENT_WITH_SECRET,
    CREDENTIAL_MISSING,
    SECRET_EXPIRED,
    INVALID_SECRET,
    FEDERATED_ISSUER,
    FEDERATED_AUDIENCE,
    FEDERATED_SUBJECT,
    FEDERATED_SUBJECT_CASE,
    DEVICE_PENDING,
    DEVICE_SLOW_DOWN,
    DEVICE_DECLINED,
    DEVICE_BAD_CODE,
    DEVICE_EXPIRED,
    POST_ONLY,
    TENANT_NOT_FOUND,
    UNSUPPORTED_GRANT,
    EMPTY_SCOPE,
    MALFORMED_GRANT,
    CODE_REDEEMED,
    EXPIRED_BY_INACTIVITY,
    GRANT_OF_ANOTHER_CLIENT,
    USER_NOT_FOUND,
    CODE_OF_ANOTHER_TENANT,
    REFRESH_OF_ANOTHER_TENANT,
    REDIRECT_MISMATCH,
    VERIFIER_MISSING,
    VERIFIER_MISMATCH,
    REVOKED,
    INACTIVE_REFRESH_TOKEN,
    CONSENT_REQUIRED,
    MFA_REQUIRED,
    BLOCKED_BY_CONDITIONAL_ACCESS,
    CLIENT_CREDENTIALS_NEED_TENANT,
    DEFAULT_SCOPE_REQUIRED,
    THROTTLED,
    UNAVAILABLE,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_answer_is_an_oauth_error_with_a_sentence() {
        const ERRORS: &[&str] = &[
            "invalid_request",
            "invalid_client",
            "invalid_grant",
            "unauthorized_client",
            "unsupported_grant_type",
            "unsupported_response_type",
            "invalid_scope",
            "access_denied",
            "consent_required",
            "login_required",
            "temporarily_unavailable",
            // Device code polls (RFC 8628 3.5).
            "authorization_pending",
            "slow_down",
            "authorization_declined",
            "bad_verification_code",
            "expired_token",
        ];
        for a in ALL {
            assert!(ERRORS.contains(&a.error), "{a:?}");
            assert!(matches!(a.status, 400 | 401 | 429 | 503), "{a:?}");
            assert!(!a.text.is_empty() && (1_000..=99_999_999).contains(&a.code), "{a:?}");
        }
        // Each (code, error, sentence) once.
        for (i, a) in ALL.iter().enumerate() {
            assert!(!ALL[i + 1..].contains(a), "{a:?} twice");
        }
    }

    #[test]
    fn sentences_are_filled_in_order() {
        assert_eq!(
            MISSING_PARAMETER.sentence(&["code"]),
            "The request body must contain the following parameter: 'code'."
        );
        assert_eq!(
            CONSENT_REQUIRED.sentence(&["app", "for User.Read"]).split(". ").next().unwrap(),
            "The user or administrator has not consented to use the application with ID 'app' for User.Read"
        );
        assert_eq!(POST_ONLY.sentence(&["ignored"]), POST_ONLY.text);
    }
}
