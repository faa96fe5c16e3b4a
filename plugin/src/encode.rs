//! Percent-encoding for query strings and form bodies.
//!
//! Everything but RFC 3986 unreserved characters is encoded, so a space is `%20` (as in
//! Microsoft's own samples) and `:`/`/` in a redirect URI are `%3A`/`%2F`.
//!
//! Written here rather than through `percent_encoding`'s iterator, which hands out one slice per
//! run or escaped byte: inside wasm, with fuel counted on every loop, that iterator was the
//! largest item of the authorize URL's profile (about 5 % of starting a sign-in). Runs of kept
//! characters are copied whole; tests hold the output to `percent_encoding`'s.

use crate::words::{word, HIGHS, ONES};

/// Whether a byte is written as is: the unreserved characters (letters, digits, `-._~`).
const KEPT: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~');
        b += 1;
    }
    t
};

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Whether all eight bytes of `w` are kept, looked at together: tokens and codes are long runs
/// of kept characters (base64url), and one test per word is cheaper in wasm than eight lookups.
fn all_kept(w: u64) -> bool {
    if w & HIGHS != 0 {
        return false;
    }
    // Every byte is below 0x80 from here on. With its high bit set, subtracting a byte of at most
    // 0x80 never borrows from the next byte, and the high bit tells whether it was at least that.
    let at_least = |x: u64, c: u8| (x | HIGHS).wrapping_sub(ONES * u64::from(c)) & HIGHS;
    let equal = |c: u8| !at_least(w ^ (ONES * u64::from(c)), 1) & HIGHS;
    let digit = at_least(w, b'0') & !at_least(w, b'9' + 1);
    // Setting 0x20 folds upper-case letters onto lower-case ones and moves nothing else into them.
    let folded = w | (ONES * 0x20);
    let letter = at_least(folded, b'a') & !at_least(folded, b'z' + 1);
    let mark = equal(b'-') | equal(b'.') | equal(b'_') | equal(b'~');
    (digit | letter | mark) == HIGHS
}

/// How many bytes at the start of `bytes` are kept: whole words first, then byte by byte.
fn kept_prefix(bytes: &[u8]) -> usize {
    let words = bytes.chunks_exact(8).take_while(|w| all_kept(word(w))).count() * 8;
    let tail = &bytes[words..];
    words + tail.iter().position(|&b| !KEPT[usize::from(b)]).unwrap_or(tail.len())
}

/// Encodes one component.
pub fn component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_component(&mut out, s);
    out
}

/// Appends one encoded component to `out`.
pub fn push_component(out: &mut String, s: &str) {
    let mut rest = s;
    while !rest.is_empty() {
        let run = kept_prefix(rest.as_bytes());
        // Every byte before `run` is ASCII, so `run` falls between two characters.
        let (kept, encoded) = rest.split_at(run);
        out.push_str(kept);
        let Some(c) = encoded.chars().next() else { break };
        let mut utf8 = [0u8; 4];
        for &b in c.encode_utf8(&mut utf8).as_bytes() {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
        rest = &encoded[c.len_utf8()..];
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
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    use proptest::prelude::*;

    /// The same set, as `percent_encoding` states it: the reference the encoder is held to.
    const UNRESERVED_KEPT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

    fn reference(s: &str) -> String {
        utf8_percent_encode(s, UNRESERVED_KEPT).to_string()
    }

    #[test]
    fn encodes_like_the_docs() {
        assert_eq!(
            super::component("openid offline_access https://graph.microsoft.com/mail.read"),
            "openid%20offline_access%20https%3A%2F%2Fgraph.microsoft.com%2Fmail.read"
        );
        assert_eq!(super::pairs([("a", "b c"), ("d~", "é")]), "a=b%20c&d~=%C3%A9");
    }

    #[test]
    fn every_character_class_is_encoded_as_percent_encoding_does() {
        let every_ascii: String = (0u8..0x80).map(char::from).collect();
        for s in
            ["", "a", "%", "%%", "é", "aé", "éa", "中文🙂", "\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}", &every_ascii]
        {
            assert_eq!(super::component(s), reference(s), "{s:?}");
        }
    }

    #[test]
    fn a_word_is_kept_only_when_each_of_its_bytes_is() {
        // Every byte value at every place of a word of kept characters.
        for place in 0..8 {
            for b in 0..=255u8 {
                let mut w = *b"aZ09-._~";
                w[place] = b;
                assert_eq!(super::all_kept(u64::from_le_bytes(w)), super::KEPT[usize::from(b)], "{b:#04x} at {place}");
            }
        }
    }

    proptest! {
        #[test]
        fn mostly_kept_text_is_encoded_as_percent_encoding_does(s in "[A-Za-z0-9._~-]{0,40}([ %/:+=@é\\x00\\x7f][A-Za-z0-9._~-]{0,20}){0,4}") {
            prop_assert_eq!(super::component(&s), reference(&s));
        }

        #[test]
        fn any_text_is_encoded_as_percent_encoding_does(s in any::<String>()) {
            prop_assert_eq!(super::component(&s), reference(&s));
        }

        #[test]
        fn any_pairs_are_joined_and_encoded(pairs in proptest::collection::vec((any::<String>(), any::<String>()), 0..6)) {
            let expected: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", reference(k), reference(v))).collect();
            prop_assert_eq!(super::pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))), expected.join("&"));
        }
    }
}
