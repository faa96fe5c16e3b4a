//! A scripted "browser" for the mock's sign-in and consent pages: opens an authorize (or admin
//! consent) URL, picks a user, clicks Accept or Cancel, and returns where the mock redirects.
//! Tests and the demo use it to sign in without a person.

use std::time::Duration;

/// What the browser saw.
#[derive(Debug, Clone, PartialEq)]
pub enum BrowserOutcome {
    /// The mock redirected to the app's redirect URI (with `code` or `error`).
    Redirected(String),
    /// The mock showed an error page instead (bad client, unregistered redirect URI, ...).
    ErrorPage { status: u16, text: String },
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn hidden(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    Some(page[start..start + page[start..].find('"')?].to_string())
}

fn form_action(page: &str) -> Option<String> {
    let start = page.find("action=\"")? + "action=\"".len();
    Some(page[start..start + page[start..].find('"')?].to_string())
}

/// Text of an error page's `<p id="error">`.
fn page_error(page: &str) -> String {
    let text = page
        .find("<p id=\"error\">")
        .map(|i| &page[i + 14..])
        .and_then(|r| r.find("</p>").map(|j| &r[..j]))
        .unwrap_or(page);
    text.replace("&#39;", "'").replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// Opens `url`, signs in as `user_id` (None: the page's default) and accepts or cancels.
pub fn sign_in(url: &str, user_id: Option<&str>, accept: bool) -> Result<BrowserOutcome, String> {
    let agent = agent();
    let mut page_resp = agent.get(url).call().map_err(|e| format!("cannot open the sign-in page: {e}"))?;
    let status = page_resp.status().as_u16();
    if status == 302 {
        let loc = page_resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        return Ok(BrowserOutcome::Redirected(loc));
    }
    let page = page_resp.body_mut().read_to_string().map_err(|e| format!("cannot read the sign-in page: {e}"))?;
    let (Some(txn), Some(action)) = (hidden(&page, "txn"), form_action(&page)) else {
        return Ok(BrowserOutcome::ErrorPage { status, text: page_error(&page) });
    };
    let base = url::Url::parse(url).map_err(|e| format!("bad URL: {e}"))?;
    let post_to = base.join(&action).map_err(|e| format!("bad form action: {e}"))?;
    let mut fields: Vec<(&str, &str)> = vec![("txn", &txn), ("decision", if accept { "accept" } else { "cancel" })];
    if let Some(u) = user_id {
        fields.push(("user", u));
    }
    let resp =
        agent.post(post_to.as_str()).send_form(fields).map_err(|e| format!("cannot submit the consent page: {e}"))?;
    let status = resp.status().as_u16();
    match resp.headers().get("location").and_then(|v| v.to_str().ok()) {
        Some(loc) if status == 302 => Ok(BrowserOutcome::Redirected(loc.to_string())),
        _ => {
            let mut resp = resp;
            let body = resp.body_mut().read_to_string().unwrap_or_default();
            Ok(BrowserOutcome::ErrorPage { status, text: page_error(&body) })
        }
    }
}

/// The pairs of a redirect's query (`code` and `state`, or `error`).
pub fn query_of(location: &str) -> std::collections::BTreeMap<String, String> {
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or("");
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

/// Signs in like [`sign_in`] and answers where the mock redirected; an error page is an error
/// naming what the page said.
pub fn sign_in_redirect(url: &str, user_id: Option<&str>, accept: bool) -> Result<String, String> {
    match sign_in(url, user_id, accept)? {
        BrowserOutcome::Redirected(location) => Ok(location),
        BrowserOutcome::ErrorPage { status, text } => {
            Err(format!("the sign-in page showed an error ({status}): {text}"))
        }
    }
}

/// A person at the device code page: opens `verification_uri`, enters `user_code`, and accepts
/// or declines. The page's text after the answer, or why it could not be given.
pub fn enter_device_code(verification_uri: &str, user_code: &str, accept: bool) -> Result<String, String> {
    let agent = agent();
    let mut page = agent.get(verification_uri).call().map_err(|e| format!("cannot open the code page: {e}"))?;
    let page = page.body_mut().read_to_string().map_err(|e| format!("cannot read the code page: {e}"))?;
    let action = form_action(&page).ok_or("the code page has no form")?;
    let base = url::Url::parse(verification_uri).map_err(|e| format!("bad URL: {e}"))?;
    let post_to = base.join(&action).map_err(|e| format!("bad form action: {e}"))?;
    let decision = if accept { "accept" } else { "decline" };
    let mut resp = agent
        .post(post_to.as_str())
        .send_form([("code", user_code), ("decision", decision)])
        .map_err(|e| format!("cannot submit the code page: {e}"))?;
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    if body.contains("id=\"error\"") {
        return Err(page_error(&body));
    }
    Ok(body)
}

/// Follows a redirect as the browser would: a GET of `location` (the platform's callback).
pub fn follow(location: &str) -> Result<(), String> {
    agent().get(location).call().map(drop).map_err(|e| format!("the callback did not answer: {e}"))
}
