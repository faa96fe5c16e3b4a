//! The largest documents the connector writes on its hot paths, written by hand: the token
//! request handed to the host (`connector_http`), the token set a token export answers, and the
//! authorize and admin consent URLs' answers. Their bulk is tokens (kilobytes of base64url) or a
//! URL, and serde_json escapes a string one byte at a time,
//! which inside wasm (with fuel metering on every loop) was the largest single item of a token
//! export's profile. [`push_str`] looks at eight bytes at a time instead. Everything that is not
//! a long string still goes through serde_json, and tests hold both documents byte for byte to
//! what serde_json writes.

use serde::Serialize;

use crate::authorize::{AdminConsentOutput, AuthorizeOutput};
use crate::http::HttpRequest;
use crate::idtoken::Identity;
use crate::token::TokenSet;
use crate::words::{any_quote_or_backslash, word, HIGHS, ONES};

/// Whether any of the eight bytes of `w` is one JSON escapes: a control character (below 0x20),
/// `"` or `\`. (Bytes of 0x80 and above, the UTF-8 of non-ASCII characters, are written as is.)
fn any_to_escape(w: u64) -> bool {
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
    below_space != 0 || any_quote_or_backslash(w)
}

/// The escape of one byte, as serde_json writes it; None when it is written as is.
fn escape_of(byte: u8) -> Option<&'static [u8]> {
    Some(match byte {
        b'"' => b"\\\"",
        b'\\' => b"\\\\",
        b'\n' => b"\\n",
        b'\r' => b"\\r",
        b'\t' => b"\\t",
        0x08 => b"\\b",
        0x0c => b"\\f",
        0..=0x1f => return Some(&CONTROL[usize::from(byte)]),
        _ => return None,
    })
}

/// `\u00XX` for every control character (those with a short escape are never looked up here).
const CONTROL: [[u8; 6]; 32] = {
    let hex = b"0123456789abcdef";
    let mut t = [[0u8; 6]; 32];
    let mut i = 0;
    while i < 32 {
        t[i] = [b'\\', b'u', b'0', b'0', hex[i >> 4], hex[i & 15]];
        i += 1;
    }
    t
};

/// How many bytes at the start of `bytes`, in whole words of eight, JSON writes as they are.
fn clean_words(bytes: &[u8]) -> usize {
    bytes.chunks_exact(8).take_while(|w| !any_to_escape(word(w))).count() * 8
}

/// Appends `s` as a JSON string, quoted and escaped exactly as serde_json does.
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        i += clean_words(&bytes[i..]);
        let end = (i + 8).min(bytes.len());
        for (j, &byte) in bytes.iter().enumerate().take(end).skip(i) {
            if let Some(escape) = escape_of(byte) {
                out.extend_from_slice(&bytes[run..j]);
                out.extend_from_slice(escape);
                run = j + 1;
            }
        }
        i = end;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// Appends `value` as serde_json writes it.
fn push_serde(out: &mut Vec<u8>, value: &impl Serialize) -> serde_json::Result<()> {
    serde_json::to_writer(&mut *out, value)
}

/// `"name":` after a comma unless it is the first member.
fn key(out: &mut Vec<u8>, name: &str, first: bool) {
    if !first {
        out.push(b',');
    }
    push_str(out, name);
    out.push(b':');
}

/// The JSON of an [`HttpRequest`], as serde_json writes it (the host reads it with serde).
pub fn request(r: &HttpRequest) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + r.url.len() + r.body.as_ref().map_or(0, String::len));
    out.push(b'{');
    key(&mut out, "method", true);
    push_str(&mut out, &r.method);
    key(&mut out, "url", false);
    push_str(&mut out, &r.url);
    key(&mut out, "headers", false);
    out.push(b'{');
    for (n, (k, v)) in r.headers.iter().enumerate() {
        key(&mut out, k, n == 0);
        push_str(&mut out, v);
    }
    out.push(b'}');
    if let Some(body) = &r.body {
        key(&mut out, "body", false);
        push_str(&mut out, body);
    }
    out.push(b'}');
    out
}

/// The envelope `{"ok": token set}` as serde_json writes it: the tokens by [`push_str`], the rest
/// by serde_json, member by member in the order the type declares them.
pub fn token_set_envelope(t: &TokenSet) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(
        512 + t.access_token.len()
            + t.refresh_token.as_ref().map_or(0, |s| s.len())
            + t.id_token.as_ref().map_or(0, |s| s.len()),
    );
    out.extend_from_slice(b"{\"ok\":{");
    key(&mut out, "access_token", true);
    push_str(&mut out, t.access_token.expose());
    key(&mut out, "token_type", false);
    push_str(&mut out, &t.token_type);
    key(&mut out, "expires_at", false);
    push_serde(&mut out, &t.expires_at)?;
    key(&mut out, "expires_in", false);
    push_serde(&mut out, &t.expires_in)?;
    key(&mut out, "scopes", false);
    push_strs(&mut out, &t.scopes);
    if let Some(refresh) = &t.refresh_token {
        key(&mut out, "refresh_token", false);
        push_str(&mut out, refresh.expose());
    }
    key(&mut out, "refresh_token_rotated", false);
    push_serde(&mut out, &t.refresh_token_rotated)?;
    if let Some(id) = &t.id_token {
        key(&mut out, "id_token", false);
        push_str(&mut out, id.expose());
    }
    if let Some(identity) = &t.identity {
        key(&mut out, "identity", false);
        push_identity(&mut out, identity);
    }
    key(&mut out, "grant", false);
    push_serde(&mut out, &t.grant)?;
    if !t.notes.is_empty() {
        key(&mut out, "notes", false);
        push_strs(&mut out, &t.notes);
    }
    out.extend_from_slice(b"}}");
    Ok(out)
}

/// A list of strings as serde_json writes it.
fn push_strs(out: &mut Vec<u8>, items: &[String]) {
    out.push(b'[');
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        push_str(out, item);
    }
    out.push(b']');
}

/// An [`Identity`] as serde_json writes it: the members in the order the type declares them, the
/// absent ones left out (`skip_serializing_if`). A member added to the type must be added here;
/// the token set's test writes every one.
fn push_identity(out: &mut Vec<u8>, i: &Identity) {
    out.push(b'{');
    key(out, "tenant_id", true);
    push_str(out, &i.tenant_id);
    let optional = [
        ("object_id", &i.object_id),
        ("username", &i.username),
        ("display_name", &i.display_name),
        ("app_id", &i.app_id),
        ("home_account_id", &i.home_account_id),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            key(out, name, false);
            push_str(out, value);
        }
    }
    out.push(b'}');
}

/// The envelope `{"ok":{...}}` of an answer whose members are all strings, in the order given
/// (the order the type declares them, as serde_json writes it).
fn strings_envelope(members: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + members.iter().map(|(k, v)| k.len() + v.len() + 6).sum::<usize>());
    out.extend_from_slice(b"{\"ok\":{");
    for (n, (name, value)) in members.iter().enumerate() {
        key(&mut out, name, n == 0);
        push_str(&mut out, value);
    }
    out.extend_from_slice(b"}}");
    out
}

/// The envelope of an authorize URL: the URL is most of it.
pub fn authorize_envelope(o: &AuthorizeOutput) -> Vec<u8> {
    strings_envelope(&[
        ("url", &o.url),
        ("code_challenge", &o.code_challenge),
        ("code_challenge_method", &o.code_challenge_method),
        ("scope", &o.scope),
        ("client_id", &o.client_id),
        ("tenant", &o.tenant),
    ])
}

/// The envelope of an admin consent URL.
pub fn consent_envelope(o: &AdminConsentOutput) -> Vec<u8> {
    strings_envelope(&[("url", &o.url), ("scope", &o.scope), ("client_id", &o.client_id), ("tenant", &o.tenant)])
}

#[cfg(test)]
mod tests;
