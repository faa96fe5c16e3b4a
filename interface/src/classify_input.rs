//! `classify_error`'s input. The fields whose decoders are written out, so that a wrong value is
//! reported at its field, in the interface's words:
//! - `query` and `transport_error` take one of two shapes; serde's `untagged` would buffer the value
//!   and, on a mismatch, answer "data did not match any variant of untagged enum QueryIn" for the
//!   whole input;
//! - `phase` is a name; serde_json decodes a derived enum given a number as a syntax error
//!   ("expected value"), which would tell the user that valid JSON is not JSON.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Where the failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    Authorize,
    Token,
    Refresh,
    Graph,
    Transport,
}

/// Every phase, in declaration order, and its name at the same index.
const PHASES: [Phase; 5] = [Phase::Authorize, Phase::Token, Phase::Refresh, Phase::Graph, Phase::Transport];
const PHASE_NAMES: &[&str] = &["authorize", "token", "refresh", "graph", "transport"];

impl Phase {
    pub const ALL: &'static [Phase] = &PHASES;

    pub fn name(self) -> &'static str {
        PHASE_NAMES[self as usize]
    }
}

impl Serialize for Phase {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

struct PhaseVisitor;

impl<'de> Visitor<'de> for PhaseVisitor {
    type Value = Phase;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("one of `authorize`, `token`, `refresh`, `graph`, `transport`")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Phase, E> {
        match PHASE_NAMES.iter().position(|n| *n == v) {
            Some(i) => Ok(PHASES[i]),
            None => Err(E::unknown_variant(v, PHASE_NAMES)),
        }
    }
}

impl<'de> Deserialize<'de> for Phase {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Phase, D::Error> {
        d.deserialize_str(PhaseVisitor)
    }
}

/// Input of `classify_error`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ClassifyErrorInput {
    pub phase: Phase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Response headers as received; an `Authorization` header's credential is never echoed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<QueryIn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_error: Option<TransportIn>,
    /// Unix seconds, to measure a `Retry-After` given as a date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<i64>,
    /// The redirect URI the platform used, for the `redirect_uri_mismatch` remedy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
}

impl ClassifyErrorInput {
    /// An input of `phase` and nothing else.
    pub fn new(phase: Phase) -> Self {
        ClassifyErrorInput {
            phase,
            status: None,
            headers: BTreeMap::new(),
            body: None,
            query: None,
            transport_error: None,
            now: None,
            redirect_uri: None,
        }
    }
}

/// `query` as an object of strings or as the raw query string.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryIn {
    Map(BTreeMap<String, String>),
    Raw(String),
}

/// `transport_error` as a kind (`"timeout"`) or `{"kind", "message"}`.
#[derive(Debug, Clone, PartialEq)]
pub enum TransportIn {
    Kind(String),
    Full { kind: String, message: Option<String> },
}

impl TransportIn {
    pub fn kind(&self) -> &str {
        match self {
            TransportIn::Kind(kind) | TransportIn::Full { kind, .. } => kind,
        }
    }
}

impl Serialize for QueryIn {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            QueryIn::Map(m) => m.serialize(s),
            QueryIn::Raw(r) => s.serialize_str(r),
        }
    }
}

impl Serialize for TransportIn {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            TransportIn::Kind(k) => s.serialize_str(k),
            TransportIn::Full { kind, message } => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("kind", kind)?;
                if let Some(message) = message {
                    m.serialize_entry("message", message)?;
                }
                m.end()
            }
        }
    }
}

struct QueryVisitor;

impl<'de> Visitor<'de> for QueryVisitor {
    type Value = QueryIn;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of strings or a query string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<QueryIn, E> {
        Ok(QueryIn::Raw(v.to_owned()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<QueryIn, A::Error> {
        let mut pairs = BTreeMap::new();
        while let Some((k, v)) = map.next_entry::<String, String>()? {
            pairs.insert(k, v);
        }
        Ok(QueryIn::Map(pairs))
    }
}

impl<'de> Deserialize<'de> for QueryIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<QueryIn, D::Error> {
        d.deserialize_any(QueryVisitor)
    }
}

struct TransportVisitor;

impl<'de> Visitor<'de> for TransportVisitor {
    type Value = TransportIn;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a kind such as \"timeout\" or an object with \"kind\" and \"message\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<TransportIn, E> {
        Ok(TransportIn::Kind(v.to_owned()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TransportIn, A::Error> {
        let (mut kind, mut message) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "kind" if kind.is_none() => kind = Some(map.next_value::<String>()?),
                "message" if message.is_none() => message = map.next_value::<Option<String>>()?,
                "kind" | "message" => return Err(de::Error::custom(format_args!("duplicate field `{key}`"))),
                _ => return Err(de::Error::unknown_field(&key, &["kind", "message"])),
            }
        }
        let kind = kind.ok_or_else(|| de::Error::missing_field("kind"))?;
        Ok(TransportIn::Full { kind, message })
    }
}

impl<'de> Deserialize<'de> for TransportIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TransportIn, D::Error> {
        d.deserialize_any(TransportVisitor)
    }
}

#[cfg(feature = "schema")]
mod schema {
    use std::borrow::Cow;

    use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

    impl JsonSchema for super::Phase {
        fn schema_name() -> Cow<'static, str> {
            "Phase".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({ "enum": super::PHASE_NAMES })
        }
    }

    impl JsonSchema for super::QueryIn {
        fn schema_name() -> Cow<'static, str> {
            "QueryIn".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({ "oneOf": [{ "type": "object", "additionalProperties": { "type": "string" } }, { "type": "string" }] })
        }
    }

    impl JsonSchema for super::TransportIn {
        fn schema_name() -> Cow<'static, str> {
            "TransportIn".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({ "oneOf": [
                { "type": "string" },
                { "type": "object", "properties": { "kind": { "type": "string" }, "message": { "type": "string" } },
                  "required": ["kind"], "additionalProperties": false }
            ] })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_by_name_both_ways() {
        assert_eq!(PHASES.len(), PHASE_NAMES.len());
        for (i, phase) in PHASES.into_iter().enumerate() {
            assert_eq!(phase as usize, i);
            let json = format!("\"{}\"", PHASE_NAMES[i]);
            assert_eq!(serde_json::to_string(&phase).unwrap(), json);
            assert_eq!(serde_json::from_str::<Phase>(&json).unwrap(), phase);
        }
        let e = serde_json::from_str::<Phase>("5").unwrap_err();
        assert!(e.is_data() && e.to_string().contains("expected one of `authorize`"), "{e}");
        let e = serde_json::from_str::<Phase>(r#""lunch""#).unwrap_err();
        assert!(e.to_string().starts_with("unknown variant `lunch`, expected one of `authorize`"), "{e}");
    }

    #[test]
    fn both_shapes_decode() {
        let q: QueryIn = serde_json::from_str(r#""?error=access_denied""#).unwrap();
        assert_eq!(q, QueryIn::Raw("?error=access_denied".into()));
        let q: QueryIn = serde_json::from_str(r#"{"error":"access_denied","state":"s"}"#).unwrap();
        assert_eq!(q, QueryIn::Map([("error".into(), "access_denied".into()), ("state".into(), "s".into())].into()));
        let t: TransportIn = serde_json::from_str(r#""timeout""#).unwrap();
        assert_eq!(t, TransportIn::Kind("timeout".into()));
        let t: TransportIn = serde_json::from_str(r#"{"kind":"dns","message":"no such host"}"#).unwrap();
        assert_eq!(t, TransportIn::Full { kind: "dns".into(), message: Some("no such host".into()) });
        let t: TransportIn = serde_json::from_str(r#"{"kind":"dns","message":null}"#).unwrap();
        assert_eq!(t.kind(), "dns");
    }

    #[test]
    fn a_wrong_shape_says_what_was_expected() {
        let e = |json: &str| serde_json::from_str::<QueryIn>(json).unwrap_err().to_string();
        assert!(e("5").contains("expected an object of strings or a query string"), "{}", e("5"));
        assert!(e(r#"{"error":5}"#).contains("expected a string"), "{}", e(r#"{"error":5}"#));
        let e = |json: &str| serde_json::from_str::<TransportIn>(json).unwrap_err().to_string();
        assert!(e("[1]").contains("expected a kind such as \"timeout\""), "{}", e("[1]"));
        assert!(e(r#"{"message":"m"}"#).contains("missing field `kind`"), "{}", e(r#"{"message":"m"}"#));
        assert!(
            e(r#"{"kind":"dns","code":1}"#).contains("unknown field `code`"),
            "{}",
            e(r#"{"kind":"dns","code":1}"#)
        );
        assert!(e(r#"{"kind":"dns","kind":"io"}"#).contains("duplicate field `kind`"));
        assert!(e(r#"{"kind":5}"#).contains("expected a string"));
    }
}
