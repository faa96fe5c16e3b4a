//! Device code sign-in (learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code; RFC
//! 8628): `start` asks Entra for a code a person enters on another device; `poll` makes one poll
//! of the token endpoint and says what it answered. The host owns the timer (the interval, 5 s
//! more after each `slow_down`, the expiry) and can stop at any time.
//!
//! Like MSAL's public client, the requests carry no client credential: the app registration
//! must allow public client flows (AADSTS7000218 otherwise, with that remedy).

use serde::Deserialize;
use serde_json::Value;

use crate::classify::{self, Class, Phase};
use crate::encode;
use crate::error::{CResult, ConnectorError, ErrorCode};
use crate::http::{HttpClient, HttpOutcome, HttpRequest};
use crate::idtoken::Expect;
use crate::secret::Secret;
use crate::settings::{Grant, Platform, RawSettings, Settings};
use crate::token::{check_now, parse_token_response, TokenGrant};

pub use connector_interface::device::{DeviceCode, DevicePoll};
pub type StartInput = connector_interface::DeviceCodeStartInput<RawSettings>;
pub type PollInput = connector_interface::DeviceCodePollInput<RawSettings>;

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// MSAL Python's defaults when Entra's answer leaves them out.
const DEFAULT_INTERVAL: i64 = 5;
const DEFAULT_EXPIRES_IN: i64 = 1800;

/// The `devicecode` endpoint of the connection's cloud and tenant.
fn endpoint(s: &Settings) -> String {
    s.endpoints.token(&s.tenant).replace("/oauth2/v2.0/token", "/oauth2/v2.0/devicecode")
}

fn delegated(input_settings: &RawSettings, platform: &Platform) -> CResult<Settings> {
    let s = Settings::validate(input_settings, platform)?;
    if s.grant != Grant::AuthorizationCode {
        return Err(ConnectorError::invalid(
            "settings.grant",
            "Device code sign-in is for a person signing in; app-only connections (client credentials) need no sign-in.",
        ));
    }
    Ok(s)
}

/// What the `devicecode` endpoint answers (MSAL.NET also reads the v1 name `verification_url`).
#[derive(Deserialize)]
struct StartResponse {
    #[serde(default)]
    user_code: Option<String>,
    #[serde(default)]
    device_code: Option<Secret>,
    #[serde(default)]
    verification_uri: Option<String>,
    #[serde(default)]
    verification_url: Option<String>,
    #[serde(default)]
    expires_in: Option<Value>,
    #[serde(default)]
    interval: Option<Value>,
    #[serde(default)]
    message: Option<String>,
}

/// A number, or a number sent as a string (MSAL accepts both).
fn seconds(v: &Option<Value>) -> Option<i64> {
    match v {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

fn invalid_start(why: &str) -> ConnectorError {
    ConnectorError::plain(
        ErrorCode::InvalidResponse,
        format!("Microsoft Entra ID answered the device code request with something that is not a device code: {why}."),
    )
}

fn plain_text(v: &str, max: usize) -> bool {
    !v.is_empty() && v.len() <= max && !v.chars().any(char::is_control)
}

/// Reads the `devicecode` answer.
pub fn parse_start(s: &Settings, body: &str, now: i64) -> CResult<DeviceCode> {
    let r: StartResponse = serde_json::from_str(body).map_err(|_| invalid_start("the body is not JSON"))?;
    let user_code = r.user_code.filter(|c| plain_text(c, 64)).ok_or_else(|| invalid_start("no user_code"))?;
    let device_code =
        r.device_code.filter(|c| !c.is_empty() && c.len() <= 4096).ok_or_else(|| invalid_start("no device_code"))?;
    let uri = r.verification_uri.or(r.verification_url).ok_or_else(|| invalid_start("no verification_uri"))?;
    let scheme_ok = uri.starts_with("https://") || (s.endpoints.overridden && uri.starts_with("http://"));
    if !scheme_ok || !plain_text(&uri, 512) || uri.contains(' ') {
        return Err(invalid_start("the verification address is not an https address"));
    }
    let expires_in = seconds(&r.expires_in).unwrap_or(DEFAULT_EXPIRES_IN).clamp(1, 3600);
    let interval = seconds(&r.interval).unwrap_or(DEFAULT_INTERVAL).clamp(1, 60);
    let message = r.message.filter(|m| plain_text(m, 1024)).unwrap_or_else(|| {
        format!("To sign in, use a web browser to open the page {uri} and enter the code {user_code} to authenticate.")
    });
    Ok(DeviceCode {
        user_code,
        device_code,
        verification_uri: uri,
        expires_in,
        expires_at: now.saturating_add(expires_in),
        interval,
        message,
    })
}

/// `device_code_start`.
pub fn start(input: &StartInput, platform: &Platform, http: &mut dyn HttpClient) -> CResult<DeviceCode> {
    let s = delegated(&input.settings, platform)?;
    check_now(input.now)?;
    let scope = s.scopes.delegated_request();
    let mut request = crate::wire::identity_platform(HttpRequest::post_form(
        endpoint(&s),
        encode::pairs([("client_id", s.client.id.as_str()), ("scope", &scope)]),
    ));
    match http.send(&mut request) {
        HttpOutcome::TransportError(t) => Err(ConnectorError::classified(classify::from_transport(Phase::Token, &t))),
        HttpOutcome::Response(r) if r.is_success() => parse_start(&s, &r.body, input.now),
        HttpOutcome::Response(r) => Err(refusal(classify::from_response(Phase::Token, &r, None, &[]))),
    }
}

/// A refusal, with the remedy device code sign-in needs where the app is not a public client.
fn refusal(mut c: connector_interface::Classification) -> ConnectorError {
    if c.code == Class::InvalidClient && c.provider.aadsts.iter().any(|&code| code == 7000218 || code == 700025) {
        c.remediation = "Device code sign-in needs an app registration that allows public client flows: in the Microsoft Entra admin center, App registrations > the app > Authentication > Advanced settings > Allow public client flows: Yes. Or sign in with the browser (Save and authorize) instead.".into();
    }
    ConnectorError::classified(c)
}

/// The poll's form body (as MSAL's, without its copy of the device code in `code`, a field
/// of ADFS that Entra does not read).
pub fn poll_request(s: &Settings, device_code: &Secret) -> HttpRequest {
    let mut fields = vec![
        ("client_id", s.client.id.as_str()),
        ("grant_type", GRANT_TYPE),
        ("device_code", device_code.expose()),
        ("client_info", "1"),
    ];
    if s.cae {
        fields.push(("claims", crate::cae::CP1));
    }
    crate::wire::identity_platform(HttpRequest::post_form(s.endpoints.token(&s.tenant), encode::pairs(fields)))
}

/// The OAuth `error` of a 4xx answer's body.
fn oauth_error(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    v.get("error")?.as_str().map(str::to_string)
}

/// `device_code_poll`: one poll.
pub fn poll(input: &PollInput, platform: &Platform, http: &mut dyn HttpClient) -> CResult<DevicePoll> {
    let s = delegated(&input.settings, platform)?;
    check_now(input.now)?;
    if input.device_code.is_empty() || input.device_code.len() > 4096 {
        return Err(ConnectorError::invalid("device_code", "device_code must be the code device_code_start gave."));
    }
    let mut request = poll_request(&s, &input.device_code);
    let r = match http.send(&mut request) {
        HttpOutcome::TransportError(t) => {
            return Err(ConnectorError::classified(classify::from_transport(Phase::Token, &t)))
        }
        HttpOutcome::Response(r) => r,
    };
    if r.is_success() {
        let expect = Expect { nonce: None, now: input.now };
        let tokens = parse_token_response(&s, &r.body, TokenGrant::DeviceCode, &expect)?;
        return Ok(DevicePoll::SignedIn { tokens: Box::new(tokens) });
    }
    let text = |t: &str| t.to_string();
    match oauth_error(&r.body).as_deref() {
        Some("authorization_pending") => Ok(DevicePoll::Pending),
        Some("slow_down") => Ok(DevicePoll::SlowDown),
        Some("authorization_declined") => Ok(DevicePoll::Declined {
            message: text("The sign-in was declined on the code page. Start again to sign in."),
        }),
        Some("expired_token") | Some("code_expired") => Ok(DevicePoll::Expired {
            message: text("The code expired before the sign-in was finished. Start again for a new code."),
        }),
        Some("bad_verification_code") => Ok(DevicePoll::BadCode {
            message: text("Microsoft does not know this device code. Start again for a new code."),
        }),
        _ => Err(refusal(classify::from_response(Phase::Token, &r, None, &[input.device_code.expose()]))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpResponse;

    fn settings() -> RawSettings {
        RawSettings {
            name: "Laptop".into(),
            scopes: vec!["User.Read".into()],
            client_id: Some("9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d".into()),
            ..Default::default()
        }
    }

    fn answer(status: u16, body: &str) -> HttpOutcome {
        HttpOutcome::Response(HttpResponse { status, headers: Default::default(), body: body.into() })
    }

    #[test]
    fn start_asks_the_devicecode_endpoint_and_reads_entras_answer() {
        let mut sent = Vec::new();
        let mut http = |r: &HttpRequest| {
            sent.push(r.clone());
            answer(
                200,
                r#"{"user_code":"F8RZ7Q6DK","device_code":"DAQABAAEAAAD","verification_uri":"https://microsoft.com/devicelogin","expires_in":"900","interval":5,"message":"To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code F8RZ7Q6DK to authenticate."}"#,
            )
        };
        let d = start(
            &StartInput { settings: settings(), now: 1_700_000_000, client_request_id: None },
            &Platform::default(),
            &mut http,
        )
        .unwrap();
        assert_eq!(sent[0].url, "https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode");
        let body = sent[0].body.as_deref().unwrap();
        assert!(body.starts_with("client_id=9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d&scope="), "{body}");
        assert!(!body.contains("client_secret"));
        assert_eq!((d.user_code.as_str(), d.expires_in, d.interval), ("F8RZ7Q6DK", 900, 5));
        assert_eq!(d.expires_at, 1_700_000_900);
        assert!(d.message.contains("F8RZ7Q6DK"));
    }

    #[test]
    fn start_fills_msals_defaults_and_refuses_what_is_not_a_code() {
        let s = Settings::validate(&settings(), &Platform::default()).unwrap();
        let d = parse_start(
            &s,
            r#"{"user_code":"A","device_code":"B","verification_url":"https://microsoft.com/devicelogin"}"#,
            1_700_000_000,
        )
        .unwrap();
        assert_eq!((d.interval, d.expires_in), (5, 1800));
        assert!(d.message.contains("https://microsoft.com/devicelogin") && d.message.contains(" A "));
        for bad in [
            "[]",
            r#"{"device_code":"B","verification_uri":"https://x.example"}"#,
            r#"{"user_code":"A","device_code":"B","verification_uri":"http://phish.example"}"#,
            r#"{"user_code":"A\u0007","device_code":"B","verification_uri":"https://x.example"}"#,
        ] {
            assert!(parse_start(&s, bad, 1_700_000_000).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_poll_answer_is_told_apart() {
        let input = PollInput {
            settings: settings(),
            device_code: Secret::new("DAQABAAEAAAD"),
            now: 1_700_000_000,
            client_request_id: None,
        };
        type Check = fn(&DevicePoll) -> bool;
        let cases: [(&str, Check); 5] = [
            (r#"{"error":"authorization_pending","error_codes":[70016]}"#, |p| *p == DevicePoll::Pending),
            (r#"{"error":"slow_down"}"#, |p| *p == DevicePoll::SlowDown),
            (r#"{"error":"authorization_declined","error_codes":[65004]}"#, |p| {
                matches!(p, DevicePoll::Declined { .. })
            }),
            (r#"{"error":"expired_token","error_codes":[70019]}"#, |p| matches!(p, DevicePoll::Expired { .. })),
            (r#"{"error":"bad_verification_code","error_codes":[70018]}"#, |p| matches!(p, DevicePoll::BadCode { .. })),
        ];
        for (body, ok) in cases {
            let mut sent = Vec::new();
            let mut http = |r: &HttpRequest| {
                sent.push(r.body.clone().unwrap_or_default());
                answer(400, body)
            };
            let p = poll(&input, &Platform::default(), &mut http).unwrap();
            assert!(ok(&p), "{body}: {p:?}");
            assert_eq!(
                sent[0],
                "client_id=9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=DAQABAAEAAAD&client_info=1&claims=%7B%22access_token%22%3A%20%7B%22xms_cc%22%3A%20%7B%22values%22%3A%20%5B%22cp1%22%5D%7D%7D%7D"
            );
        }
        // An app that is not a public client: the remedy says which switch to turn on.
        let mut http = |_: &HttpRequest| {
            answer(
                401,
                r#"{"error":"invalid_client","error_description":"AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.","error_codes":[7000218]}"#,
            )
        };
        let e = poll(&input, &Platform::default(), &mut http).unwrap_err();
        assert!(e.remediation().unwrap().contains("Allow public client flows"), "{e:?}");
    }
}
