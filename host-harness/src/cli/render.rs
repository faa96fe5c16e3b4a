//! Text for people: the connection panel as a platform shows it.

use serde_json::Value;

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// The "Create connection" panel described by `describe`'s output.
pub fn panel(d: &Value) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Create connection: {} (connector {} {}, interface v{})\n",
        s(d, "name"),
        s(d, "id"),
        s(d, "version"),
        d.get("interface_version").and_then(Value::as_u64).unwrap_or(0)
    ));
    let settings = d.get("settings").and_then(Value::as_array).cloned().unwrap_or_default();
    let (basic, advanced): (Vec<&Value>, Vec<&Value>) =
        settings.iter().partition(|x| !x.get("advanced").and_then(Value::as_bool).unwrap_or(false));
    for x in basic {
        out.push_str(&setting(x));
    }
    if !advanced.is_empty() {
        out.push_str("\nAdvanced settings\n");
        for x in advanced {
            out.push_str(&setting(x));
        }
    }
    if let Some(h) = d.get("http_view") {
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
            out.push_str(&format!("  ping: {} {}\n", s(p, "method"), s(p, "url")));
        }
    }
    out.push_str("\n[ Save and authorize ]\n");
    out
}

fn setting(x: &Value) -> String {
    let required = if x.get("required").and_then(Value::as_bool).unwrap_or(false) { " *" } else { "" };
    let mut out = format!("\n  {}{}  ({}, key {})\n", s(x, "label"), required, s(x, "kind"), s(x, "key"));
    out.push_str(&format!("      {}\n", s(x, "help")));
    if let Some(d) = x.get("default").filter(|d| !d.is_null()) {
        out.push_str(&format!("      default: {}\n", d.as_str().map(str::to_string).unwrap_or_else(|| d.to_string())));
    }
    if let Some(opts) = x.get("options").and_then(Value::as_array) {
        let shown: Vec<&str> = opts.iter().map(|o| s(o, "value")).collect();
        if shown.len() > 8 {
            out.push_str(&format!("      options: {} and {} more", shown[..8].join(", "), shown.len() - 8));
        } else {
            out.push_str(&format!("      options: {}", shown.join(", ")));
        }
        if let Some(from) = x.get("options_from").and_then(Value::as_str) {
            out.push_str(&format!("  [Fetch data: {from}]  [»] add all  [>] add checked"));
        }
        out.push('\n');
    }
    out
}

/// A classification as a person reads it.
pub fn classification(c: &Value) -> String {
    let mut out = String::new();
    let retry = match c.get("retry_after_seconds").and_then(Value::as_f64) {
        Some(r) if c.get("retryable").and_then(Value::as_bool) == Some(true) => format!("retry after {r} s"),
        _ if c.get("retryable").and_then(Value::as_bool) == Some(true) => "retryable".to_string(),
        _ => "not retryable".to_string(),
    };
    out.push_str(&format!("{} (action: {}, {retry})\n", s(c, "code"), s(c, "action")));
    out.push_str(&format!("{}\n", s(c, "message")));
    out.push_str(&format!("What to do: {}\n", s(c, "remediation")));
    if let Some(p) = c.get("provider").and_then(Value::as_object).filter(|p| !p.is_empty()) {
        let parts: Vec<String> = p
            .iter()
            .filter(|(k, _)| *k != "description")
            .map(|(k, v)| format!("{k} {}", v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
            .collect();
        out.push_str(&format!("Provider: {}\n", parts.join(", ")));
    }
    if let Some(sup) = c.get("support").and_then(Value::as_object).filter(|p| !p.is_empty()) {
        let parts: Vec<String> = sup.iter().map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or(""))).collect();
        out.push_str(&format!("Support: {}\n", parts.join(", ")));
    }
    if let Some(claims) = c.get("claims").and_then(Value::as_str) {
        out.push_str(&format!("Claims for the next sign-in: {claims}\n"));
    }
    out.push_str(&format!("More: {}\n", s(c, "docs_url")));
    out
}
