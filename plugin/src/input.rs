//! Strict decoding of an export's input document.
//!
//! Every export takes one JSON document. Anything malformed (not UTF-8, not JSON, a wrong type,
//! a missing or unknown field, an unknown enum value, an oversized value) becomes an
//! `invalid_input` error that names the field by its path (`settings.scopes[2]`, `$` for the
//! document itself). Nothing here panics.

use serde::de::DeserializeOwned;

use crate::error::{CResult, ConnectorError};
use crate::words::{any_quote_or_backslash, word};

/// Largest input document accepted, in bytes. Real inputs are a few KiB; a Graph error body
/// given to `classify_error` may be larger, so the limit is generous.
pub const MAX_INPUT_BYTES: usize = 4 * 1024 * 1024;

/// Nesting deeper than this is refused before serde sees it (serde_json's own limit is 128).
pub const MAX_DEPTH: usize = 64;

/// Decodes `bytes` into `T`, naming the offending field on failure.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> CResult<T> {
    let text = precheck(bytes)?;
    serde_json::from_str(text).map_err(|e| refusal(text, &e))
}

/// What every input must be before serde sees it: bounded, UTF-8, not too deep, an object.
/// Kept apart from the generic [`decode`] so that it is in the module once, not once per type.
fn precheck(bytes: &[u8]) -> CResult<&str> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(ConnectorError::invalid(
            "$",
            format!("The input is {} bytes; at most {MAX_INPUT_BYTES} bytes are accepted.", bytes.len()),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ConnectorError::invalid("$", format!("The input is not valid UTF-8 (at byte {}).", e.valid_up_to()))
    })?;
    if nesting_depth(text) > MAX_DEPTH {
        return Err(ConnectorError::invalid("$", format!("The input nests deeper than {MAX_DEPTH} levels.")));
    }
    // serde would also read a struct from a JSON array (by position): inputs are objects.
    if !text.trim_start().starts_with('{') {
        return Err(ConnectorError::invalid("$", "The input must be a JSON object."));
    }
    Ok(text)
}

fn refusal(text: &str, e: &serde_json::Error) -> ConnectorError {
    ConnectorError::invalid(field_of_error(text, e), describe_serde_error(e))
}

/// The field a serde_json error is about, from where in the text it stopped. serde_json reports
/// the position of the next unread byte: just after the offending value (at or just inside it
/// when its shape is wrong), just after the `}` of an object missing a field, or just after an
/// unknown key. Tracking the path during parsing instead (serde_path_to_error) doubles every
/// input type's decoding code in the module; this reads the text again only when decoding failed.
fn field_of_error(text: &str, e: &serde_json::Error) -> String {
    // A truncated document (or an error serde_json could not place) is about the whole input.
    if e.line() == 0 || e.is_eof() {
        return "$".to_string();
    }
    let line_start: usize = text.split_inclusive('\n').take(e.line() - 1).map(str::len).sum();
    let mut at = (line_start + e.column()).min(text.len());
    let message = e.to_string();
    let before = text.as_bytes()[..at].trim_ascii_end();
    // A missing field is reported just after the `}` of the object that lacks it; a value of
    // the wrong shape, at or inside the `[` or `{` it starts with.
    let closing = message.starts_with("missing field `") && before.ends_with(b"}");
    let opening = matches!(before.last(), Some(b'[' | b'{')) && before.len() > 1;
    if closing || opening {
        at = before.len() - 1;
    }
    let (container, member) = path_at(&text.as_bytes()[..at]);
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix).and_then(|rest| rest.split('`').next()));
    match (named, member) {
        (Some(name), _) => join(&container, name),
        (None, Some(member)) => join(&container, &member),
        (None, None) if container.is_empty() => "$".to_string(),
        (None, None) => container,
    }
}

fn join(container: &str, name: &str) -> String {
    if container.is_empty() || name.starts_with('[') {
        format!("{container}{name}")
    } else {
        format!("{container}.{name}")
    }
}

enum Frame {
    /// The last key read, and whether its value is complete.
    Object(Option<String>, bool),
    Array(usize),
}

/// The path of the innermost container open at the end of `prefix` (`settings.scopes`) and the
/// member being read there (`now`, `[2]`), if any.
fn path_at(prefix: &[u8]) -> (String, Option<String>) {
    let mut stack: Vec<Frame> = Vec::new();
    let (mut in_string, mut escaped, mut string_start) = (false, false, 0);
    for (i, &b) in prefix.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => {
                    in_string = false;
                    if let Some(Frame::Object(key @ None, _)) = stack.last_mut() {
                        *key = Some(String::from_utf8_lossy(&prefix[string_start..i]).chars().take(64).collect());
                    }
                }
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => (in_string, string_start) = (true, i + 1),
            b'{' => stack.push(Frame::Object(None, false)),
            b'[' => stack.push(Frame::Array(0)),
            b'}' | b']' => {
                stack.pop();
                if let Some(Frame::Object(_, done)) = stack.last_mut() {
                    *done = true;
                }
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object(key, done)) => (*key, *done) = (None, false),
                Some(Frame::Array(n)) => *n += 1,
                None => {}
            },
            _ => {}
        }
    }
    let member = |f: &Frame| match f {
        Frame::Object(Some(key), false) => Some(key.clone()),
        Frame::Object(..) => None,
        Frame::Array(n) => Some(format!("[{n}]")),
    };
    let container =
        stack[..stack.len().saturating_sub(1)].iter().filter_map(member).fold(String::new(), |p, m| join(&p, &m));
    (container, stack.last().and_then(member))
}

/// The greatest bracket depth outside strings; cheap and never fails.
fn nesting_depth(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut max, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            // A string is skipped in one tight loop: most of an input's bytes are in strings.
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    // Eight bytes at a time while none of them ends the string or escapes.
                    if let Some(chunk) = bytes.get(i..i + 8) {
                        if !any_quote_or_backslash(word(chunk)) {
                            i += 8;
                            continue;
                        }
                    }
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    max
}

/// serde_json's message without its " at line 1 column 7" suffix, in JSON's words, with a capital
/// and a stop.
fn describe_serde_error(e: &serde_json::Error) -> String {
    let raw = in_json_terms(&without_value(&e.to_string()));
    let cut = raw.rfind(" at line ").map(|i| &raw[..i]).unwrap_or(&raw);
    let text = match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("the input is not valid JSON ({cut}, line {} column {})", e.line(), e.column())
        }
        _ => cut.to_string(),
    };
    let text: String = text.chars().take(300).collect();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_ascii_uppercase(), chars.as_str()),
        None => "The input is not acceptable.".to_string(),
    }
}

/// serde quotes the offending string in some messages (`invalid type: string "...", expected
/// i64`, ``unknown variant `...` ``): a token pasted into the wrong field would come back in the
/// error. The value is dropped; the field's name says where it was.
fn without_value(message: &str) -> String {
    for (prefix, plain) in [
        ("invalid type: string ", "invalid type: a string"),
        ("invalid value: string ", "invalid value: a string"),
        ("unknown variant ", "unknown value"),
    ] {
        if let (true, Some(i)) = (message.starts_with(prefix), message.rfind(", expected ")) {
            return format!("{plain}{}", &message[i..]);
        }
    }
    message.to_string()
}

/// serde names what it expected and what it found in Rust's terms (`i64`, `sequence`, `map`,
/// `floating point`); the people reading these errors write JSON.
fn in_json_terms(message: &str) -> String {
    const TERMS: &[(&str, &str)] = &[
        ("expected i64", "expected a whole number"),
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        ("expected a sequence", "expected an array"),
        ("expected a map", "expected an object"),
        ("type: sequence,", "type: an array,"),
        ("type: map,", "type: an object,"),
        ("floating point `", "number `"),
    ];
    TERMS.iter().fold(message.to_string(), |text, (rust, json)| text.replace(rust, json))
}

/// Refuses a string longer than `max` characters.
pub fn check_len(field: &str, value: &str, max: usize) -> CResult<()> {
    if value.chars().count() > max {
        return Err(ConnectorError::invalid(field, format!("{field} is longer than {max} characters.")));
    }
    Ok(())
}

/// Refuses an empty (or all-whitespace) string.
pub fn check_present(field: &str, value: &str) -> CResult<()> {
    if value.trim().is_empty() {
        return Err(ConnectorError::invalid(field, format!("{field} must not be empty.")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        settings: Inner,
        now: i64,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        scopes: Vec<String>,
    }

    fn field_of(input: &[u8]) -> String {
        match decode::<Outer>(input) {
            Err(ConnectorError::Plain(crate::error::PlainError { field, .. })) => field.unwrap(),
            other => panic!("expected invalid_input, got {other:?}"),
        }
    }

    #[test]
    fn names_the_offending_field() {
        assert_eq!(field_of(br#"{"settings":{"scopes":["a",1]},"now":1}"#), "settings.scopes[1]");
        assert_eq!(field_of(br#"{"settings":{"scopes":[]}}"#), "now");
        assert_eq!(field_of(br#"{"settings":{}, "now": 1}"#), "settings.scopes");
        assert_eq!(field_of(br#"{"settings":{"scopes":[],"x":1},"now":1}"#), "settings.x");
        assert_eq!(field_of(br#"{"settings":{"scopes":[]},"now":"soon"}"#), "now");
        assert_eq!(field_of(b"not json"), "$");
        assert_eq!(field_of(b"\xff\xfe"), "$");
        assert_eq!(field_of(b"[{}, 1]"), "$");
        assert_eq!(field_of(br#"{"settings":{"scopes":[]},"now":99999999999999999999}"#), "now");
        assert_eq!(field_of(br#"{"settings":{"scopes":[]},"now":1e400}"#), "now");
        assert_eq!(
            field_of(b"{\n \"settings\": {\n  \"scopes\": [\"a\", 2]\n },\n \"now\": 1\n}"),
            "settings.scopes[1]"
        );
        assert_eq!(field_of(b"{\n \"settings\": {\n  \"scopes\": []\n }\n}\n"), "now");
        assert_eq!(field_of(br#"{"settings":{"scopes":["a"]},"now":1,"extra":2}"#), "extra");
        assert_eq!(field_of(br#"{"now":1,"settings":{"scopes":"User.Read"}}"#), "settings.scopes");
        assert_eq!(field_of(br#"{"now":1,"settings":{"scopes":["[{,", {}]}}"#), "settings.scopes[1]");
        assert_eq!(field_of(br#"{"settings":{"scopes":["a"],"co\"lor":1},"now":1}"#), "settings.co\"lor");
        assert_eq!(field_of(br#"{"settings":{"scopes":["a"]},"now":1"#), "$");
        assert_eq!(field_of(br#"{"settings":{"scopes":{"a":1}},"now":1}"#), "settings.scopes");
    }

    #[test]
    fn a_misplaced_value_is_not_echoed() {
        for input in [
            br#"{"settings":{"scopes":[]},"now":"rt-0.AX-very-secret-refresh-token"}"#.as_slice(),
            br#"{"settings":{"scopes":[]},"now":"rt-0.AX-very-secret-refresh-token, expected"}"#,
        ] {
            match decode::<Outer>(input) {
                Err(ConnectorError::Plain(crate::error::PlainError { field, message, .. })) => {
                    assert_eq!(field.as_deref(), Some("now"));
                    assert!(!message.contains("very-secret"), "{message}");
                    assert!(message.starts_with("Invalid type: a string, expected"), "{message}");
                }
                other => panic!("expected invalid_input, got {other:?}"),
            }
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        enum Phase {
            Token,
        }
        let e = decode::<std::collections::HashMap<String, Phase>>(br#"{"p":"eyJ0eXAiOi-token"}"#).unwrap_err();
        assert!(!e.message().contains("eyJ0eXAiOi"), "{}", e.message());
        assert!(e.message().starts_with("Unknown value, expected"), "{}", e.message());
    }

    #[test]
    fn messages_speak_json() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct T {
            n: Option<i64>,
            s: Option<u16>,
            v: Option<Vec<String>>,
            m: Option<std::collections::BTreeMap<String, String>>,
        }
        for (input, expected) in [
            (r#"{"n":1.5}"#, "Invalid type: number `1.5`, expected a whole number."),
            (r#"{"n":"1"}"#, "Invalid type: a string, expected a whole number."),
            (r#"{"s":-1}"#, "Invalid value: integer `-1`, expected a whole number from 0 to 65535."),
            (r#"{"v":{}}"#, "Invalid type: an object, expected an array."),
            (r#"{"m":[1]}"#, "Invalid type: an array, expected an object."),
        ] {
            let e = decode::<T>(input.as_bytes()).unwrap_err();
            assert_eq!(e.message(), expected, "{input}");
        }
    }

    #[test]
    fn refuses_deep_nesting_and_huge_input() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(field_of(deep.as_bytes()), "$");
        let huge = vec![b' '; MAX_INPUT_BYTES + 1];
        assert_eq!(field_of(&huge), "$");
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        assert_eq!(nesting_depth(r#"{"a":"[[[[[\"[[["}"#), 1);
        assert_eq!(nesting_depth(r#"{"a":"x\\","b":[[1]]}"#), 3);
        assert_eq!(nesting_depth(r#"{"a":"unterminated [[["#), 1);
        // Long strings are skipped eight bytes at a time: an escaped quote or backslash at every
        // offset of a word, and the string's end at every offset, still end it where they should.
        for pad in 0..20 {
            let p = "a".repeat(pad);
            assert_eq!(nesting_depth(&format!(r#"{{"k":"{p}\"{p}[[[","x":[1]}}"#)), 2, "{pad}");
            assert_eq!(nesting_depth(&format!(r#"{{"k":"{p}\\","x":[[{p}]]}}"#)), 3, "{pad}");
            assert_eq!(nesting_depth(&format!(r#"{{"k":"{p}"}}"#)), 1, "{pad}");
        }
    }
}
