//! Reading the claims of a JWT (id_token, access token) without checking its signature.
//!
//! The id_token comes straight from the token endpoint over TLS, so its issuer is vouched for by
//! TLS (OpenID Connect Core 3.1.3.7 item 6; MSAL Python checks iss, aud, exp and nonce the same
//! way). Access tokens are read only to learn the granted `scp`/`roles` for display.

use std::borrow::Cow;
use std::fmt;

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The decoded payload of a compact JWT (three dot-separated parts), or None when it is not one.
pub fn payload(token: &str) -> Option<Vec<u8>> {
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || payload.len() > 64 * 1024 {
        return None;
    }
    URL_SAFE_NO_PAD.decode(payload).or_else(|_| URL_SAFE.decode(payload)).ok()
}

/// The claims object of a compact JWT, or None when it is not one.
pub fn claims(token: &str) -> Option<Map<String, Value>> {
    match serde_json::from_slice(&payload(token)?).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

pub fn str_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// The claims an id_token is checked by and its identity read from. Every other claim is
/// skipped unread, so only these few are ever allocated; of a claim given twice, the last counts
/// (as in a `serde_json::Map`).
#[derive(Default)]
pub struct IdClaims {
    pub aud: Option<Value>,
    pub iss: Option<Value>,
    pub tid: Option<Value>,
    pub nonce: Option<Value>,
    pub exp: Option<Value>,
    pub nbf: Option<Value>,
    pub oid: Option<Value>,
    pub preferred_username: Option<Value>,
    pub name: Option<Value>,
}

impl IdClaims {
    /// The id_token claims of a decoded payload (see [`payload`]); None when it is not a JSON
    /// object.
    pub fn read(payload: &[u8]) -> Option<IdClaims> {
        serde_json::from_slice(payload).ok()
    }

    fn slot(&mut self, name: &str) -> Option<&mut Option<Value>> {
        Some(match name {
            "aud" => &mut self.aud,
            "iss" => &mut self.iss,
            "tid" => &mut self.tid,
            "nonce" => &mut self.nonce,
            "exp" => &mut self.exp,
            "nbf" => &mut self.nbf,
            "oid" => &mut self.oid,
            "preferred_username" => &mut self.preferred_username,
            "name" => &mut self.name,
            _ => return None,
        })
    }
}

/// Text of a claim.
pub fn text(claim: &Option<Value>) -> Option<&str> {
    claim.as_ref().and_then(Value::as_str)
}

/// A NumericDate: an integer, or a number with a fraction (truncated).
pub fn int(claim: &Option<Value>) -> Option<i64> {
    claim.as_ref().and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
}

/// Written by hand rather than derived: only an object is claims (a derived struct also reads an
/// array, member by member).
impl<'de> Deserialize<'de> for IdClaims {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Claims;
        impl<'de> Visitor<'de> for Claims {
            type Value = IdClaims;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JWT's claims")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<IdClaims, A::Error> {
                let mut claims = IdClaims::default();
                while let Some(Name(name)) = m.next_key()? {
                    match claims.slot(&name) {
                        Some(slot) => *slot = Some(m.next_value()?),
                        None => {
                            m.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(claims)
            }
        }
        d.deserialize_map(Claims)
    }
}

/// A claim's name, borrowed unless it had to be unescaped.
struct Name<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a claim's name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_claims_and_refuses_garbage() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"tid":"t","exp":5}"#);
        let c = claims(&format!("eyJhbGciOiJub25lIn0.{payload}.sig")).unwrap();
        assert_eq!(str_claim(&c, "tid"), Some("t"));
        assert!(claims("opaque-token").is_none());
        assert!(claims("a.b").is_none());
        assert!(claims("a.!!!.c").is_none());
        assert!(claims(&format!("a.{}.c", URL_SAFE_NO_PAD.encode(b"[1]"))).is_none());
    }

    #[test]
    fn id_claims_keep_what_a_claims_map_has_and_nothing_else() {
        let docs = [
            r#"{"aud":"a","iss":"https://h/t/v2.0","tid":"t","nonce":"n","exp":5,"nbf":4,"oid":"o","preferred_username":"u","name":"N","other":{"x":[1,{"y":null}]}}"#,
            r#"{"aud":["a",1,"b",null,["c"]],"exp":1.9e3,"nbf":-3,"tid":7,"iss":null,"name":true,"oid":{"a":"b"}}"#,
            r#"{"exp":18446744073709551615,"nbf":-9223372036854775808,"n\u0061me":"esc\"aped \u00e9","nonce":""}"#,
            r#"{"exp":"5","aud":{},"preferred_username":[],"tid":"first","tid":"last"}"#,
            r#"{}"#,
        ];
        for doc in docs {
            let map: Map<String, Value> = serde_json::from_str(doc).unwrap();
            let mut c = IdClaims::read(doc.as_bytes()).unwrap_or_else(|| panic!("{doc}"));
            for name in ["aud", "iss", "tid", "nonce", "exp", "nbf", "oid", "preferred_username", "name"] {
                let claim = c.slot(name).unwrap().clone();
                assert_eq!(claim.as_ref(), map.get(name), "{name} of {doc}");
                assert_eq!(
                    int(&claim),
                    claim.as_ref().and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
                );
                assert_eq!(text(&claim), map.get(name).and_then(Value::as_str));
            }
        }
        assert_eq!(int(&Some(serde_json::json!(1.9e3))), Some(1900));
        assert_eq!(int(&Some(serde_json::json!("5"))), None);
    }

    #[test]
    fn id_claims_are_only_read_from_an_object() {
        for not_claims in [&b"[1]"[..], b" [\"a\", 1]", b"1", b"\"x\"", b"null", b"{", b"{} x", b""] {
            assert!(IdClaims::read(not_claims).is_none(), "{:?}", String::from_utf8_lossy(not_claims));
        }
        let doc = br#"{"tid":"t"}"#;
        let token = format!("h.{}.s", URL_SAFE_NO_PAD.encode(doc));
        assert_eq!(payload(&token).as_deref(), Some(&doc[..]));
        assert!(payload("h.p").is_none() && payload("a.b.c.d").is_none());
    }
}
