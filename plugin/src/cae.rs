//! Continuous Access Evaluation (learn.microsoft.com/entra/identity-platform/claims-challenge):
//! a client that declares the capability `cp1` in its requests' `claims` gets CAE tokens, which
//! Microsoft Graph revokes the moment an account is disabled or a policy changes, answering with
//! a claims challenge the client must carry into its next token request.
//!
//! The `claims` value is built as MSAL Python builds it (`_merge_claims_challenge_and_capabilities`:
//! the challenge, with `access_token.xms_cc` set to the capabilities, written by `json.dumps`),
//! so that the request matches MSAL's byte for byte (tests/fixtures/msal/requests.json).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{CResult, ConnectorError};

/// The claims of a client that declares `cp1` and has no challenge to meet.
pub const CP1: &str = r#"{"access_token": {"xms_cc": {"values": ["cp1"]}}}"#;

/// Claims requests larger than this are refused (a real challenge is a few hundred bytes).
const MAX: usize = 8192;

fn invalid(field: &str) -> ConnectorError {
    ConnectorError::invalid(
        field,
        format!("{field} must be a JSON object (the decoded claims challenge), at most 8 KiB."),
    )
}

/// The challenge as a JSON object, or an error naming `field`.
pub fn parse(field: &str, challenge: &str) -> CResult<Map<String, Value>> {
    if challenge.len() > MAX {
        return Err(invalid(field));
    }
    match serde_json::from_str(challenge) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(invalid(field)),
    }
}

/// The `claims` of a request: the challenge (from `field`), with `cp1` declared when `declare`.
pub fn claims(field: &str, declare: bool, challenge: Option<&str>) -> CResult<Option<String>> {
    let Some(challenge) = challenge else {
        return Ok(declare.then(|| CP1.to_string()));
    };
    let mut doc = parse(field, challenge)?;
    if declare {
        let access = doc.entry("access_token").or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(access) = access else {
            return Err(invalid(field));
        };
        access.insert("xms_cc".into(), serde_json::json!({"values": ["cp1"]}));
    }
    Ok(Some(python_json(&Value::Object(doc))))
}

/// JSON as Python's `json.dumps` writes it by default: `", "` between items, `": "` after keys.
fn python_json(v: &Value) -> String {
    struct Python;
    impl serde_json::ser::Formatter for Python {
        fn begin_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
            if first {
                Ok(())
            } else {
                w.write_all(b", ")
            }
        }
        fn begin_object_key<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
            if first {
                Ok(())
            } else {
                w.write_all(b", ")
            }
        }
        fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
            w.write_all(b": ")
        }
    }
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, Python);
    // Writing a Value to a Vec cannot fail, and serde_json writes UTF-8 only.
    let _ = v.serialize(&mut ser);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_are_merged_into_a_challenge_as_msal_merges_them() {
        assert_eq!(claims("claims", true, None).unwrap().as_deref(), Some(CP1));
        assert_eq!(claims("claims", false, None).unwrap(), None);
        // The challenge and the result of MSAL Python 1.39 (tests/fixtures/msal/requests.json).
        let challenge = r#"{"access_token":{"nbf":{"essential":true,"value":"1604106651"}}}"#;
        assert_eq!(
            claims("claims", true, Some(challenge)).unwrap().unwrap(),
            r#"{"access_token": {"nbf": {"essential": true, "value": "1604106651"}, "xms_cc": {"values": ["cp1"]}}}"#
        );
        assert_eq!(
            claims("claims", false, Some(challenge)).unwrap().unwrap(),
            r#"{"access_token": {"nbf": {"essential": true, "value": "1604106651"}}}"#
        );
        let id_token_only = claims("claims", true, Some(r#"{"id_token":{"acrs":{"essential":true}}}"#)).unwrap();
        assert_eq!(
            id_token_only.unwrap(),
            r#"{"access_token": {"xms_cc": {"values": ["cp1"]}}, "id_token": {"acrs": {"essential": true}}}"#
        );
    }

    #[test]
    fn what_is_not_a_claims_object_is_refused_by_name() {
        for bad in ["not json", "[1]", r#"{"access_token":3}"#, &format!(r#"{{"a":"{}"}}"#, "x".repeat(MAX))] {
            assert_eq!(claims("claims", true, Some(bad)).unwrap_err().field(), Some("claims"), "{bad}");
        }
    }
}
