//! Percent-encoding for query strings and form bodies.
//!
//! Everything but RFC 3986 unreserved characters is encoded, so a space is `%20` (as in
//! Microsoft's own samples) and `:`/`/` in a redirect URI are `%3A`/`%2F`.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

const UNRESERVED_KEPT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Encodes one component.
pub fn component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_component(&mut out, s);
    out
}

/// Appends one encoded component to `out`.
pub fn push_component(out: &mut String, s: &str) {
    for chunk in utf8_percent_encode(s, UNRESERVED_KEPT) {
        out.push_str(chunk);
    }
}

/// `k1=v1&k2=v2`, each side encoded.
pub fn pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::with_capacity(256);
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        push_component(&mut out, k);
        out.push('=');
        push_component(&mut out, v);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_like_the_docs() {
        assert_eq!(
            super::component("openid offline_access https://graph.microsoft.com/mail.read"),
            "openid%20offline_access%20https%3A%2F%2Fgraph.microsoft.com%2Fmail.read"
        );
        assert_eq!(super::pairs([("a", "b c"), ("d~", "é")]), "a=b%20c&d~=%C3%A9");
    }
}
