use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::secret::Secret;
use crate::token::TokenGrant;
use connector_interface::token::Identity;

fn serde_str(s: &str) -> Vec<u8> {
    serde_json::to_vec(s).unwrap()
}

#[test]
fn strings_are_escaped_as_serde_json_escapes_them() {
    let mut every_byte = String::new();
    for c in (0u8..0x80).map(char::from) {
        every_byte.push(c);
    }
    for s in [
        "",
        "a",
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiIwMDAwMDAwMy0wMDAwLTAwMDAtYzAwMC0wMDAwMDAwMDAwMDAifQ.sig-_",
        "quote \" and backslash \\ at 7\"",
        "1234567\"",
        "12345678\n",
        "tab\tcr\rlf\nbs\u{8}ff\u{c}nul\u{0}us\u{1f}del\u{7f}",
        "non-ASCII: é, 中文, 🙂, and \u{2028}",
        &every_byte,
    ] {
        let mut out = Vec::new();
        push_str(&mut out, s);
        assert_eq!(String::from_utf8(out).unwrap(), String::from_utf8(serde_str(s)).unwrap(), "{s:?}");
    }
}

fn request_strategy() -> impl Strategy<Value = HttpRequest> {
    (
        "[A-Z]{3,6}",
        any::<String>(),
        proptest::collection::btree_map(any::<String>(), any::<String>(), 0..6),
        proptest::option::of(any::<String>()),
    )
        .prop_map(|(method, url, headers, body)| HttpRequest { method, url, headers, body })
}

fn token_set(secret: String, notes: Vec<String>, identity: bool, optional: bool) -> TokenSet {
    TokenSet {
        access_token: Secret::new(format!("at.{secret}")),
        token_type: "Bearer".into(),
        expires_at: 1_767_225_600,
        expires_in: 3599,
        scopes: if optional { vec!["User.Read".into(), format!("sc\"{secret}")] } else { Vec::new() },
        refresh_token: optional.then(|| Secret::new(format!("rt\\{secret}"))),
        refresh_token_rotated: optional,
        id_token: optional.then(|| Secret::new(format!("{secret}.id"))),
        identity: identity.then(|| Identity {
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
            object_id: Some(secret.clone()),
            username: (!optional).then(|| format!("{secret}@contoso.com")),
            display_name: Some("Ada \"Countess\" Lovelace".into()),
            app_id: optional.then(|| format!("app\n{secret}")),
            home_account_id: optional.then(|| "uid.utid".into()),
        }),
        grant: if optional { TokenGrant::RefreshToken } else { TokenGrant::ClientCredentials },
        notes,
    }
}

proptest! {
    #[test]
    fn any_string_is_written_as_serde_json_writes_it(s in any::<String>()) {
        let mut out = Vec::new();
        push_str(&mut out, &s);
        prop_assert_eq!(out, serde_str(&s));
    }

    #[test]
    fn a_request_is_written_as_serde_json_writes_it(r in request_strategy()) {
        prop_assert_eq!(request(&r), serde_json::to_vec(&r).unwrap());
    }

    #[test]
    fn a_token_set_envelope_is_written_as_the_generic_envelope_writes_it(
        secret in any::<String>(),
        notes in proptest::collection::vec(any::<String>(), 0..3),
        identity in any::<bool>(),
        optional in any::<bool>(),
    ) {
        let t = token_set(secret, notes, identity, optional);
        let by_hand = String::from_utf8(token_set_envelope(&t).unwrap()).unwrap();
        prop_assert_eq!(by_hand, crate::error::envelope(Ok(t)));
    }
}

proptest! {
    #[test]
    fn the_url_answers_are_written_as_the_generic_envelope_writes_them(
        parts in proptest::collection::vec(any::<String>(), 6),
        method in prop_oneof![Just("S256"), Just("plain \"quoted\"")],
    ) {
        let authorize = AuthorizeOutput {
            url: parts[0].clone(),
            code_challenge: parts[1].clone(),
            code_challenge_method: method.into(),
            scope: parts[2].clone(),
            client_id: parts[3].clone(),
            tenant: parts[4].clone(),
        };
        let by_hand = String::from_utf8(authorize_envelope(&authorize)).unwrap();
        prop_assert_eq!(by_hand, crate::error::envelope(Ok(authorize)));
        let consent = AdminConsentOutput {
            url: parts[5].clone(),
            scope: parts[2].clone(),
            client_id: parts[3].clone(),
            tenant: parts[4].clone(),
        };
        let by_hand = String::from_utf8(consent_envelope(&consent)).unwrap();
        prop_assert_eq!(by_hand, crate::error::envelope(Ok(consent)));
    }
}

#[test]
fn a_request_without_headers_or_body() {
    let r = HttpRequest { method: "GET".into(), url: "https://x/".into(), headers: BTreeMap::new(), body: None };
    assert_eq!(request(&r), serde_json::to_vec(&r).unwrap());
}
