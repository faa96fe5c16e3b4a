//! One entry for every export: decode the input strictly, run the core, encode the envelope.
//! The wasm export layer and the native tests both go through here, so they behave alike.

use connector_interface::Export;

use crate::error::{envelope, CResult, ConnectorError, ErrorCode};
use crate::http::{HttpClient, HttpOutcome, HttpRequest};
use crate::input::decode;
use crate::settings::Platform;
use crate::wire::traced;
use crate::{authorize, classify, describe, device, graph, token};

/// Runs `export` on `input`; the answer is always an interface v1 envelope.
pub fn call(export: &str, input: &[u8], platform: &Platform, http: &mut dyn HttpClient) -> String {
    match Export::from_name(export) {
        Some(e) => run(e, input, platform, http),
        None => envelope::<()>(Err(ConnectorError::plain(
            ErrorCode::NotImplemented,
            format!("This connector has no export named {}.", export.chars().take(64).collect::<String>()),
        ))),
    }
}

/// Runs one export of the interface's table (the match is exhaustive: a new export in the
/// table does not compile until it is handled here).
fn run(export: Export, input: &[u8], platform: &Platform, http: &mut dyn HttpClient) -> String {
    match export {
        Export::Describe => {
            // `describe` also accepts an empty input.
            let input = if input.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { input };
            envelope(decode(input).and_then(|i| describe::describe(&i, platform)))
        }
        Export::ValidateSettings => {
            envelope(decode(input).and_then(|i| crate::settings::validate_export(&i, platform)))
        }
        Export::ListScopes => envelope(decode(input).and_then(|i: graph::ListScopesInput| {
            traced(http, i.client_request_id.as_deref(), |http| graph::list_scopes(&i, platform, http))
        })),
        Export::AuthorizeUrl => {
            written_envelope(decode(input).and_then(|i| authorize::authorize_url(&i, platform)), |o| {
                Some(crate::json_out::authorize_envelope(o))
            })
        }
        Export::AdminConsentUrl => {
            written_envelope(decode(input).and_then(|i| authorize::admin_consent_url(&i, platform)), |o| {
                Some(crate::json_out::consent_envelope(o))
            })
        }
        Export::ExchangeCode => token_envelope(decode(input).and_then(|i: token::ExchangeInput| {
            traced(http, i.client_request_id.as_deref(), |http| token::exchange_code(&i, platform, http))
        })),
        Export::RefreshToken => token_envelope(decode(input).and_then(|i: token::RefreshInput| {
            traced(http, i.client_request_id.as_deref(), |http| token::refresh_token(&i, platform, http))
        })),
        Export::ClientCredentials => token_envelope(decode(input).and_then(|i: token::ClientCredentialsInput| {
            traced(http, i.client_request_id.as_deref(), |http| token::client_credentials(&i, platform, http))
        })),
        Export::TestConnection => envelope(decode(input).and_then(|i: graph::TestInput| {
            traced(http, i.client_request_id.as_deref(), |http| graph::test_connection(&i, platform, http))
        })),
        Export::ClassifyError => envelope(decode(input).and_then(|i| classify::classify_export(&i))),
        Export::DeviceCodeStart => envelope(decode(input).and_then(|i: device::StartInput| {
            traced(http, i.client_request_id.as_deref(), |http| device::start(&i, platform, http))
        })),
        Export::DeviceCodePoll => envelope(decode(input).and_then(|i: device::PollInput| {
            traced(http, i.client_request_id.as_deref(), |http| device::poll(&i, platform, http))
        })),
    }
}

/// The envelope of an answer `json_out` writes with `write` (tokens or a URL are most of its
/// bytes), or, should that fail, as every envelope is written; a failure as every envelope is.
fn written_envelope<T: serde::Serialize>(result: CResult<T>, write: impl Fn(&T) -> Option<Vec<u8>>) -> String {
    match &result {
        Ok(answer) => write(answer).and_then(|bytes| String::from_utf8(bytes).ok()).unwrap_or_else(|| envelope(result)),
        Err(_) => envelope(result),
    }
}

/// [`written_envelope`] of a token export's token set.
fn token_envelope(result: CResult<token::TokenSet>) -> String {
    written_envelope(result, |t| crate::json_out::token_set_envelope(t).ok())
}

/// Whether `export` reads the platform configuration (its app registration and endpoints).
pub fn needs_platform(export: &str) -> bool {
    export != Export::ClassifyError.name()
}

/// `{"ok":{"pad":"aaa..."}}` of exactly `n` bytes (at least the 17 bytes of the frame).
pub fn sized_envelope(n: usize) -> String {
    const FRAME: usize = r#"{"ok":{"pad":""}}"#.len();
    format!(r#"{{"ok":{{"pad":"{}"}}}}"#, "a".repeat(n.saturating_sub(FRAME)))
}

/// Exports whose answer is a large document that, without a network request, depends only on
/// the input and the platform configuration: the panel asks for them every time it opens.
pub const MEMOIZED: [&str; 2] = [Export::Describe.name(), Export::ListScopes.name()];

/// Inputs larger than this are answered but not remembered.
const MEMO_MAX_INPUT: usize = 4096;

/// The last answer of each [`MEMOIZED`] export, given again for the same input and platform
/// configuration (one per plugin instance). An answer that needed a network request (a live
/// scope catalog) is never remembered.
#[derive(Default)]
pub struct Memo {
    entries: Vec<(&'static str, Vec<u8>, Platform, String)>,
}

/// Counts the requests an export made.
struct Counting<'a> {
    inner: &'a mut dyn HttpClient,
    requests: usize,
}

impl HttpClient for Counting<'_> {
    fn send(&mut self, request: &mut HttpRequest) -> HttpOutcome {
        self.requests += 1;
        self.inner.send(request)
    }
}

impl Memo {
    /// [`call`], answered from memory when the same export was called with the same input and
    /// platform and needed no network request.
    pub fn call(&mut self, export: &str, input: &[u8], platform: &Platform, http: &mut dyn HttpClient) -> String {
        let Some(&name) = MEMOIZED.iter().find(|m| **m == export) else {
            return call(export, input, platform, http);
        };
        if let Some((.., answer)) = self.entries.iter().find(|(e, i, p, _)| *e == name && i == input && p == platform) {
            return answer.clone();
        }
        let mut counting = Counting { inner: http, requests: 0 };
        let answer = call(export, input, platform, &mut counting);
        if counting.requests == 0 && input.len() <= MEMO_MAX_INPUT {
            self.entries.retain(|(e, ..)| *e != name);
            self.entries.push((name, input.to_vec(), platform.clone(), answer.clone()));
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{HttpResponse, NoHttp};

    #[test]
    fn classify_error_needs_no_platform() {
        assert!(!needs_platform("classify_error"));
        let full = Platform {
            client_id: Some("11111111-2222-3333-4444-555555555555".into()),
            client_secret: Some(crate::secret::Secret::new("s")),
            login_base_url: Some("http://127.0.0.1:1".into()),
            graph_base_url: Some("http://127.0.0.1:1".into()),
            ..Platform::default()
        };
        let input =
            br#"{"phase":"token","status":400,"body":"{\"error\":\"invalid_client\",\"error_codes\":[7000215]}"}"#;
        let without = call("classify_error", input, &Platform::default(), &mut NoHttp);
        assert!(without.contains("\"code\":\"invalid_client\""), "{without}");
        assert_eq!(without, call("classify_error", input, &full, &mut NoHttp));
        for export in ["describe", "authorize_url", "exchange_code", "list_scopes", "validate_settings"] {
            assert!(needs_platform(export), "{export}");
        }
    }

    #[test]
    fn sized_envelope_is_exact() {
        for n in [0, 17, 18, 1000, 10_240] {
            let e = sized_envelope(n);
            assert_eq!(e.len(), n.max(17), "{n}");
            assert!(serde_json::from_str::<serde_json::Value>(&e).unwrap()["ok"]["pad"].is_string());
        }
    }

    #[test]
    fn memo_answers_alike_and_keys_on_input_and_platform() {
        let platform =
            Platform { client_id: Some("11111111-2222-3333-4444-555555555555".into()), ..Platform::default() };
        let mut memo = Memo::default();
        for export in MEMOIZED {
            let first = memo.call(export, b"{}", &platform, &mut NoHttp);
            assert_eq!(first, call(export, b"{}", &platform, &mut NoHttp));
            assert_eq!(memo.call(export, b"{}", &platform, &mut NoHttp), first);
        }
        // Another platform configuration or input is not answered from memory.
        let other = Platform { client_secret: Some(crate::secret::Secret::new("s")), ..platform.clone() };
        assert!(memo.call("describe", b"{}", &other, &mut NoHttp).contains("client_secret_post"));
        let input = br#"{"settings":{"name":"n","scopes":["User.Read"],"cloud":"china"}}"#;
        assert!(memo.call("describe", input, &other, &mut NoHttp).contains("login.chinacloudapi.cn"));
        assert_eq!(memo.entries.len(), 2, "one answer kept per export");
        // Other exports are never remembered.
        memo.call("classify_error", br#"{"phase":"graph","status":500,"body":""}"#, &platform, &mut NoHttp);
        assert_eq!(memo.entries.len(), 2);
    }

    #[test]
    fn an_answer_that_needed_the_network_is_not_remembered() {
        let platform =
            Platform { client_id: Some("11111111-2222-3333-4444-555555555555".into()), ..Platform::default() };
        let mut memo = Memo::default();
        let mut calls = 0;
        let mut graph = |_: &HttpRequest| {
            calls += 1;
            HttpOutcome::Response(HttpResponse { status: 503, ..HttpResponse::default() })
        };
        let input = br#"{"access_token":"eyJ0eXAiOiJKV1QifQ.e30.sig"}"#;
        memo.call("list_scopes", input, &platform, &mut graph);
        memo.call("list_scopes", input, &platform, &mut graph);
        assert_eq!(calls, 2);
        assert!(memo.entries.is_empty());
    }
}
