//! Device code sign-in as Entra runs it (learn.microsoft.com/entra/identity-platform/
//! v2-oauth2-device-code): `/{tenant}/oauth2/v2.0/devicecode` hands out a code, the code page
//! (`/devicelogin`) lets a person enter it and accept or decline, and the token endpoint answers
//! each poll: `authorization_pending` (AADSTS70016), `slow_down` (polled sooner than the
//! interval), `authorization_declined`, `expired_token` (AADSTS70019), `bad_verification_code`
//! (AADSTS70018), or the tokens, once.

use serde_json::json;

use super::aadsts;
use super::model::App;
use super::oauth::{check_one_resource, tenant_segment};
use super::respond::{self, aad_error, escape};
use super::token_jwt::random;
use super::{Incoming, State};

/// How long a code is valid (Entra: 15 minutes) and the poll interval it asks for.
pub const EXPIRES_IN: i64 = 900;
pub const INTERVAL: i64 = 5;
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceState {
    Pending,
    Approved { user_id: String },
    Declined,
    Redeemed,
}

/// A device code handed out.
#[derive(Debug, Clone)]
pub struct DeviceGrant {
    pub client_id: String,
    pub tenant_path: String,
    pub scopes: Vec<String>,
    pub user_code: String,
    pub issued_at: i64,
    /// The interval the client must keep (5 s more after each slow_down).
    pub interval: i64,
    pub last_poll: Option<i64>,
    pub state: DeviceState,
}

/// A user code as Entra writes them: nine letters and digits, no look-alikes.
fn user_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    random(32).bytes().take(9).map(|b| ALPHABET[b as usize % ALPHABET.len()] as char).collect()
}

/// `POST /{tenant}/oauth2/v2.0/devicecode`.
pub(crate) fn start(s: &mut State, req: &Incoming) -> axum::response::Response {
    let now = s.now();
    let Some(client_id) = req.form.get("client_id") else {
        return aad_error(now, &aadsts::MISSING_PARAMETER, &["client_id"]);
    };
    if s.app(client_id).is_none() {
        return aad_error(now, &aadsts::APP_NOT_FOUND, &[client_id.as_str()]);
    }
    let tenant_path = tenant_segment(&req.path).to_string();
    if s.tenant(&tenant_path).is_none() && !matches!(tenant_path.as_str(), "common" | "organizations") {
        return aad_error(now, &aadsts::TENANT_NOT_FOUND, &[tenant_path.as_str()]);
    }
    let scopes: Vec<String> =
        req.form.get("scope").map(|s| s.split_whitespace().map(str::to_string).collect()).unwrap_or_default();
    if scopes.is_empty() {
        return aad_error(now, &aadsts::MISSING_PARAMETER, &["scope"]);
    }
    if let Err(text) = check_one_resource(&scopes) {
        return aad_error(now, &aadsts::SEVERAL_RESOURCES_SCOPE, &[&text]);
    }
    let device_code = format!("DAQABIQEAAAD{}", random(96));
    let code = user_code();
    let uri = format!("{}/devicelogin", s.base_url);
    s.device_codes.insert(
        device_code.clone(),
        DeviceGrant {
            client_id: client_id.clone(),
            tenant_path,
            scopes,
            user_code: code.clone(),
            issued_at: now,
            interval: INTERVAL,
            last_poll: None,
            state: DeviceState::Pending,
        },
    );
    respond::json(
        200,
        &json!({
            "user_code": code,
            "device_code": device_code,
            "verification_uri": uri,
            "expires_in": EXPIRES_IN,
            "interval": INTERVAL,
            "message": format!("To sign in, use a web browser to open the page {uri} and enter the code {code} to authenticate."),
        }),
    )
}

/// One poll of the token endpoint with `grant_type=urn:ietf:params:oauth:grant-type:device_code`;
/// `Ok(user_id, scopes)` when the tokens are to be issued.
pub(crate) fn poll(
    s: &mut State,
    req: &Incoming,
    app: &App,
) -> Result<(String, Vec<String>), axum::response::Response> {
    let now = s.now();
    let Some(device_code) = req.form.get("device_code") else {
        return Err(aad_error(now, &aadsts::MISSING_PARAMETER, &["device_code"]));
    };
    let Some(grant) = s.device_codes.get_mut(device_code) else {
        return Err(aad_error(now, &aadsts::DEVICE_BAD_CODE, &[]));
    };
    if grant.client_id != app.client_id {
        return Err(aad_error(now, &aadsts::DEVICE_BAD_CODE, &[]));
    }
    if now - grant.issued_at > EXPIRES_IN || grant.state == DeviceState::Redeemed {
        return Err(aad_error(now, &aadsts::DEVICE_EXPIRED, &[]));
    }
    let too_soon = grant.last_poll.is_some_and(|t| now - t < grant.interval);
    grant.last_poll = Some(now);
    if too_soon {
        grant.interval += 5;
        return Err(aad_error(now, &aadsts::DEVICE_SLOW_DOWN, &[]));
    }
    match grant.state.clone() {
        DeviceState::Pending => Err(aad_error(now, &aadsts::DEVICE_PENDING, &[])),
        DeviceState::Declined => Err(aad_error(now, &aadsts::DEVICE_DECLINED, &[])),
        DeviceState::Approved { user_id } => {
            grant.state = DeviceState::Redeemed;
            Ok((user_id, grant.scopes.clone()))
        }
        DeviceState::Redeemed => Err(aad_error(now, &aadsts::DEVICE_EXPIRED, &[])),
    }
}

fn page(body: &str) -> axum::response::Response {
    respond::html(
        200,
        format!(
            "<!DOCTYPE html><html><head><title>Enter code</title></head><body><h1>Enter code</h1>{body}</body></html>"
        ),
    )
}

/// `GET /devicelogin`: the code page; `POST /devicelogin` with `code`, `decision` (`accept` or
/// `decline`) and optionally `user`: the person's answer.
pub(crate) fn login(s: &mut State, req: &Incoming) -> axum::response::Response {
    if req.method != axum::http::Method::POST {
        return page(
            "<p>Enter the code displayed on your app or device.</p><form method=\"post\" action=\"/devicelogin\"><input name=\"code\" id=\"code\" autocomplete=\"off\"><button name=\"decision\" value=\"accept\" id=\"next\">Next</button><button name=\"decision\" value=\"decline\" id=\"decline\">Cancel</button></form>",
        );
    }
    let now = s.now();
    let code = req.form.get("code").map(|c| c.trim().to_ascii_uppercase()).unwrap_or_default();
    let user_id = req.form.get("user").cloned().unwrap_or_else(|| s.default_user.clone());
    let accept = req.form.get("decision").map(String::as_str) == Some("accept");
    let Some(grant) = s
        .device_codes
        .values_mut()
        .find(|g| g.user_code == code && g.state == DeviceState::Pending && now - g.issued_at <= EXPIRES_IN)
    else {
        return page("<p id=\"error\">That code didn't work. Check the code and try again.</p>");
    };
    grant.state = if accept { DeviceState::Approved { user_id } } else { DeviceState::Declined };
    let client_id = grant.client_id.clone();
    let app = s.app(&client_id).map(|a| a.name.clone()).unwrap_or_default();
    if accept {
        page(&format!(
            "<p id=\"done\">You have signed in to the {} application on your device. You may now close this window.</p>",
            escape(&app)
        ))
    } else {
        page("<p id=\"done\">You declined the sign-in. You may now close this window.</p>")
    }
}
