//! Text for people: the connection panel as a platform shows it, and a classification.

use connector_interface::{Classification, Description, Setting, SettingKind};
use serde_json::Value;

fn kind_word(k: SettingKind) -> &'static str {
    match k {
        SettingKind::Text => "text",
        SettingKind::Secret => "secret",
        SettingKind::PrivateKey => "private key",
        SettingKind::Select => "select",
        SettingKind::Multiselect => "multiselect",
    }
}

/// The "Create connection" panel described by `describe`'s output.
pub fn panel(d: &Description) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Create connection: {} (connector {} {}, interface v{})\n",
        d.name, d.id, d.version, d.interface_version
    ));
    let (basic, advanced): (Vec<&Setting>, Vec<&Setting>) = d.settings.iter().partition(|x| !x.advanced);
    for x in basic {
        out.push_str(&setting(x));
    }
    if !advanced.is_empty() {
        out.push_str("\nAdvanced settings\n");
        for x in advanced {
            out.push_str(&setting(x));
        }
    }
    // The HTTP view is the connector's own document: shown as it says it.
    if let Some(h) = d.http_view.as_object() {
        out.push_str("\nHTTP view\n");
        for k in [
            "authorize_url",
            "token_url",
            "admin_consent_url",
            "scope_delimiter",
            "default_scopes",
            "pkce_method",
            "client_authentication",
            "graph_base_uri",
        ] {
            if let Some(v) = h.get(k) {
                let v = v.as_str().map(|x| format!("{x:?}")).unwrap_or_else(|| v.to_string());
                out.push_str(&format!("  {k}: {v}\n"));
            }
        }
        if let Some(p) = h.get("ping") {
            let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            out.push_str(&format!("  ping: {} {}\n", s("method"), s("url")));
        }
    }
    out.push_str("\n[ Save and authorize ]\n");
    out
}

fn setting(x: &Setting) -> String {
    let required = if x.required { " *" } else { "" };
    let mut out = format!("\n  {}{}  ({}, key {})\n", x.label, required, kind_word(x.kind), x.key);
    out.push_str(&format!("      {}\n", x.help));
    if let Some(d) = x.default.as_ref().filter(|d| !d.is_null()) {
        out.push_str(&format!("      default: {}\n", d.as_str().map(str::to_string).unwrap_or_else(|| d.to_string())));
    }
    if let Some(opts) = &x.options {
        let shown: Vec<&str> = opts.iter().map(|o| o.value.as_ref()).collect();
        if shown.len() > 8 {
            out.push_str(&format!("      options: {} and {} more", shown[..8].join(", "), shown.len() - 8));
        } else {
            out.push_str(&format!("      options: {}", shown.join(", ")));
        }
        if let Some(from) = &x.options_from {
            out.push_str(&format!("  [Fetch data: {from}]  [»] add all  [>] add checked"));
        }
        out.push('\n');
    }
    out
}

/// `key value` pairs of a JSON object, in key order.
fn pairs(v: &Value, skip: &str) -> Vec<String> {
    v.as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| *k != skip)
        .map(|(k, v)| format!("{k} {}", v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
        .collect()
}

/// A classification as a person reads it.
pub fn classification(c: &Classification) -> String {
    let mut out = String::new();
    let retry = match c.retry_after_seconds {
        Some(r) if c.retryable => format!("retry after {r} s"),
        _ if c.retryable => "retryable".to_string(),
        _ => "not retryable".to_string(),
    };
    out.push_str(&format!("{} (action: {}, {retry})\n", c.code.as_str(), c.action.as_str()));
    out.push_str(&format!("{}\n", c.message));
    out.push_str(&format!("What to do: {}\n", c.remediation));
    let provider = pairs(&serde_json::to_value(&c.provider).unwrap_or_default(), "description");
    if !provider.is_empty() {
        out.push_str(&format!("Provider: {}\n", provider.join(", ")));
    }
    let support = pairs(&serde_json::to_value(&c.support).unwrap_or_default(), "");
    if !support.is_empty() {
        out.push_str(&format!("Support: {}\n", support.join(", ")));
    }
    if let Some(claims) = &c.claims {
        out.push_str(&format!("Claims for the next sign-in: {claims}\n"));
    }
    out.push_str(&format!("More: {}\n", c.docs_url));
    out
}
