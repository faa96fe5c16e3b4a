//! The panel's pages, rendered on the server from what the platform and the connector say
//! (`describe` makes the "Create connection" form of any interface v1 connector). Every value is
//! escaped; the pages carry no inline script (their Content-Security-Policy allows only the
//! panel's own script file), and never a secret: a secret setting is write-only.

use connector_interface::{Description, Setting, SettingKind};
use host_harness::platform::{Record, Status};

use crate::serve::api::escape;

/// A whole page: the layout around `body`, with the session's CSRF token for the script.
pub fn page(title: &str, csrf: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} · connector-host</title>\
         <meta name=\"csrf-token\" content=\"{c}\"><link rel=\"stylesheet\" href=\"/panel/panel.css\">\
         <script src=\"/panel/panel.js\" defer></script></head><body>\
         <header><a href=\"/\">Connections</a> · <a href=\"/connections/new\">Create connection</a> \
         <a href=\"/\" id=\"sign-out\" class=\"right\">Sign out</a></header>\
         <main><h1>{t}</h1>{body}</main></body></html>",
        t = escape(title),
        c = escape(csrf),
    )
}

/// A page for a person who is not signed in (no script, no data).
pub fn signed_out() -> String {
    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in · connector-host</title></head>\
     <body><h1>Sign in</h1><p>Open the one-time sign-in link that <code>connector-host serve</code> printed \
     when it started.</p></body></html>"
        .to_string()
}

fn status_words(s: Status) -> &'static str {
    match s {
        Status::PendingAuthorization => "Waiting for sign-in",
        Status::Connected => "Connected",
        Status::NeedsReauthorization => "Needs sign-in again",
        Status::NeedsAttention => "Needs attention",
    }
}

fn path_segment(name: &str) -> String {
    form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>().replace('+', "%20")
}

/// The Connections list.
pub fn connections(records: &[Record], now: i64) -> String {
    if records.is_empty() {
        return "<p id=\"empty\">No connection yet. <a href=\"/connections/new\">Create connection</a></p>".into();
    }
    let mut rows = String::new();
    for r in records {
        let who = r
            .identity
            .as_ref()
            .map(|i| format!("{} ({})", i.username.clone().or(i.app_id.clone()).unwrap_or_default(), i.tenant_id));
        let token = match r.expires_at {
            Some(e) if e > now => format!("valid {} min", (e - now) / 60),
            Some(_) => "expired".into(),
            None => "-".into(),
        };
        let failure = r
            .last_error
            .as_ref()
            .map(|e| format!("{} {}", e.message(), e.remediation().unwrap_or_default()))
            .unwrap_or_default();
        rows.push_str(&format!(
            "<tr><td><a class=\"connection\" href=\"/connections/{}\">{}</a></td><td class=\"status\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            path_segment(&r.name),
            escape(&r.name),
            status_words(r.status),
            escape(&who.unwrap_or_else(|| "-".into())),
            escape(&token),
            escape(&failure),
        ));
    }
    format!(
        "<table id=\"connections\"><thead><tr><th>Name</th><th>Status</th><th>Signed in as (tenant)</th><th>Token</th><th>Last failure and what to do</th></tr></thead><tbody>{rows}</tbody></table>"
    )
}

/// One field of the form; `pem` when it takes a PEM text (several lines).
fn field(s: &Setting, pem: bool) -> String {
    let key = escape(&s.key);
    let star = if s.required { " *" } else { "" };
    let input = match s.kind {
        SettingKind::Text if pem => format!(
            "<textarea id=\"setting-{key}\" name=\"{key}\" rows=\"4\" spellcheck=\"false\" placeholder=\"-----BEGIN CERTIFICATE-----\"></textarea>"
        ),
        // Write-only, like a secret: never rendered back. A PKCS#12 file goes in the same
        // field (its base64, read by the page's script), its password in the field after it.
        SettingKind::PrivateKey => format!(
            "<textarea id=\"setting-{key}\" name=\"{key}\" rows=\"4\" spellcheck=\"false\" autocomplete=\"off\" placeholder=\"-----BEGIN PRIVATE KEY-----\"></textarea>\
             <p class=\"help\">Or a PKCS#12 file (.pfx, .p12) holding the certificate and its key: \
             <input type=\"file\" accept=\".pfx,.p12,application/x-pkcs12\" class=\"pkcs12\" id=\"pkcs12-{key}\" data-target=\"setting-{key}\"></p>"
        ),
        SettingKind::Text => {
            let value = s.default.as_ref().and_then(|d| d.as_str()).map(escape).unwrap_or_default();
            format!("<input type=\"text\" id=\"setting-{key}\" name=\"{key}\" placeholder=\"{value}\">")
        }
        // Write-only: never rendered back.
        SettingKind::Secret => {
            format!("<input type=\"password\" id=\"setting-{key}\" name=\"{key}\" autocomplete=\"new-password\">")
        }
        SettingKind::Select => {
            let default = s.default.as_ref().and_then(|d| d.as_str()).unwrap_or_default();
            let options: String = s
                .options
                .iter()
                .flatten()
                .map(|o| {
                    let sel = if o.value == default { " selected" } else { "" };
                    format!("<option value=\"{}\"{sel}>{}</option>", escape(&o.value), escape(&o.label))
                })
                .collect();
            format!("<select id=\"setting-{key}\" name=\"{key}\">{options}</select>")
        }
        SettingKind::Multiselect => {
            let options: String = s
                .options
                .iter()
                .flatten()
                .map(|o| format!("<option value=\"{}\">{}</option>", escape(&o.value), escape(&o.label)))
                .collect();
            let chosen: String = s
                .default
                .as_ref()
                .and_then(|d| d.as_array())
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str())
                .map(|v| format!("<option value=\"{0}\">{0}</option>", escape(v)))
                .collect();
            let fetch = s
                .options_from
                .as_ref()
                .map(|_| "<button type=\"button\" class=\"fetch\">Fetch data</button> <span class=\"source\"></span>")
                .unwrap_or("");
            format!(
                "<div class=\"picker\" data-key=\"{key}\"><div>{fetch}<br><input type=\"search\" class=\"filter\" placeholder=\"Filter\">\
                 <br><select multiple size=\"10\" class=\"available\">{options}</select></div>\
                 <div class=\"moves\"><button type=\"button\" class=\"add-all\" title=\"Add all\">»</button>\
                 <button type=\"button\" class=\"add\" title=\"Add the selected\">&gt;</button>\
                 <button type=\"button\" class=\"remove\" title=\"Remove the selected\">&lt;</button></div>\
                 <div><select multiple size=\"10\" class=\"chosen\" id=\"setting-{key}\" name=\"{key}\">{chosen}</select></div></div>"
            )
        }
    };
    let bundle_password = if s.kind == SettingKind::PrivateKey {
        let p = escape(&host_harness::platform::credentials::bundle_password_key(&s.key));
        format!(
            "<div class=\"setting\" data-key=\"{p}\"><label for=\"setting-{p}\">PKCS#12 password</label>\
             <input type=\"password\" id=\"setting-{p}\" autocomplete=\"off\">\
             <p class=\"help\">The password of the PKCS#12 file, used once to open it and never kept.</p></div>"
        )
    } else {
        String::new()
    };
    format!(
        "<div class=\"setting\" data-key=\"{key}\"><label for=\"setting-{key}\">{label}{star}</label>{input}\
         <p class=\"help\">{help}</p><p class=\"field-error\" id=\"error-{key}\"></p></div>{bundle_password}",
        label = escape(&s.label),
        help = escape(&s.help),
    )
}

/// The "Create connection" form, from `describe`.
pub fn create_form(d: &Description) -> String {
    let (basic, advanced): (Vec<&Setting>, Vec<&Setting>) = d.settings.iter().partition(|s| !s.advanced);
    // The certificates private keys go with are PEM texts too.
    let pem = |s: &Setting| d.private_keys().any(|k| k.certificate.as_deref() == Some(&*s.key));
    let basic: String = basic.into_iter().map(|s| field(s, pem(s))).collect();
    let advanced: String = advanced.into_iter().map(|s| field(s, pem(s))).collect();
    format!(
        "<p>{}</p><form id=\"create\">{basic}<details><summary>Advanced settings</summary>{advanced}</details>\
         <p id=\"form-error\" class=\"error\"></p><p id=\"popup-blocked\" hidden>The sign-in window was blocked. \
         <a id=\"same-window\" href=\"#\">Sign in in this window instead</a>.</p>\
         <button type=\"submit\" id=\"save-and-authorize\">Save and authorize</button> \
         <button type=\"button\" id=\"save-device\">Save and sign in with a code</button></form>",
        escape(d.description.as_deref().unwrap_or(&d.name)),
    )
}

/// One connection: status, who, scopes, warnings (a certificate about to end), the last failure
/// with its remedy and support ids, and what can be done.
pub fn connection(r: &Record, warnings: &[String]) -> String {
    let requested: Vec<String> = r
        .settings
        .get("scopes")
        .and_then(|s| s.as_array())
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect();
    let who = r.identity.as_ref().map(|i| {
        format!(
            "{} in tenant {}",
            i.username.clone().or(i.display_name.clone()).or(i.app_id.clone()).unwrap_or_default(),
            i.tenant_id
        )
    });
    let claims = if r.secrets.claims.is_some() {
        "<p id=\"claims\">Microsoft asked for a token that meets a Conditional Access or Continuous Access Evaluation requirement (a claims challenge): the next refresh or sign-in carries the claims it named.</p>"
    } else {
        ""
    };
    let failure = r.last_error.as_ref().map(|e| {
        let support = e
            .classification()
            .map(|c| serde_json::to_value(&c.support).unwrap_or_default())
            .and_then(|v| v.as_object().cloned())
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("<li>{}: <code>{}</code></li>", escape(k), escape(v.as_str().unwrap_or_default())))
                    .collect::<String>()
            })
            .unwrap_or_default();
        format!(
            "<section id=\"failure\"><h2>Last failure</h2><p class=\"message\">{}</p><p class=\"remedy\">{}</p><ul class=\"support\">{support}</ul></section>",
            escape(e.message()),
            escape(e.remediation().unwrap_or_default())
        )
    });
    format!(
        "<section id=\"connection\" data-name=\"{name}\"><p id=\"status\">{status}</p>{who}{remedy}{warnings}{claims}\
         <p>Requested scopes: <span id=\"requested\">{requested}</span></p><p id=\"signin-result\"></p><div id=\"test-result\"></div></section>{failure}\
         <section id=\"device\" hidden><h2>Sign in with a code</h2><p>On any device, open <a id=\"device-uri\" target=\"_blank\" rel=\"noopener noreferrer\"></a> \
         and enter the code <strong id=\"device-user-code\"></strong></p><p id=\"device-message\"></p><p id=\"device-left\"></p>\
         <button type=\"button\" id=\"device-cancel\">Cancel</button></section>\
         <p class=\"actions\"><button type=\"button\" id=\"test\">Test</button> <button type=\"button\" id=\"refresh\">Refresh now</button> \
         <button type=\"button\" id=\"reauthorize\">Reauthorize</button> <button type=\"button\" id=\"device-sign-in\">Sign in with a code</button> \
         <button type=\"button\" id=\"admin-consent\">Grant admin consent</button> \
         <button type=\"button\" id=\"delete\">Delete</button></p><p id=\"action-result\"></p>",
        name = escape(&r.name),
        status = status_words(r.status),
        who = who.map(|w| format!("<p id=\"who\">Signed in as {}</p>", escape(&w))).unwrap_or_default(),
        remedy = r
            .remedy
            .as_ref()
            .filter(|_| r.status != Status::Connected)
            // The last failure below already says it.
            .filter(|m| r.last_error.as_ref().and_then(|e| e.remediation()) != Some(m.as_str()))
            .map(|m| format!("<p id=\"remedy\">{}</p>", escape(m)))
            .unwrap_or_default(),
        requested = escape(&requested.join(", ")),
        failure = failure.unwrap_or_default(),
        warnings = warnings.iter().map(|w| format!("<p class=\"warning\">{}</p>", escape(w))).collect::<String>(),
    )
}

/// The page the sign-in window lands on: it tells the panel (BroadcastChannel and postMessage,
/// through the panel's callback script) and closes itself. Opened in the panel's own window
/// (a blocked pop-up's fallback), it cannot close itself: it goes back to the connection.
pub fn callback(ok: bool, name: &str, title: &str, text: &str) -> String {
    let back = if ok && !name.is_empty() {
        format!("/connections/{}?signed_in=1", path_segment(name))
    } else {
        "/".to_string()
    };
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <script src=\"/panel/callback.js\" defer></script></head><body>\
         <h1>{t}</h1><p id=\"outcome\" data-ok=\"{ok}\" data-name=\"{n}\">{x}</p>\
         <p><a id=\"back\" href=\"{b}\">Return to the platform</a></p></body></html>",
        t = escape(title),
        n = escape(name),
        x = escape(text),
        b = escape(&back),
    )
}

#[cfg(test)]
mod tests {
    use host_harness::platform::{Record, Secrets, Status};

    fn record(claims: Option<&str>) -> Record {
        Record {
            name: "HR".into(),
            settings: serde_json::Map::new(),
            status: Status::NeedsReauthorization,
            remedy: None,
            last_error: None,
            identity: None,
            expires_at: None,
            secrets: Secrets { claims: claims.map(str::to_string), ..Secrets::default() },
            generation: 1,
            created_at: 0,
            updated_at: 0,
            last_refresh_at: None,
            keepalive: Default::default(),
        }
    }

    #[test]
    fn a_pending_claims_challenge_is_said_and_never_quoted() {
        let claims = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;
        let page = super::connection(&record(Some(claims)), &[]);
        assert!(page.contains("id=\"claims\"") && page.contains("next refresh or sign-in"), "{page}");
        assert!(!page.contains("1700000000"));
        assert!(!super::connection(&record(None), &[]).contains("id=\"claims\""));
    }
}
