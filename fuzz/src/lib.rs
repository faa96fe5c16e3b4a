//! What every fuzz target does: run one export of the connector's core on arbitrary bytes,
//! with a fake HTTP boundary whose answers the same bytes choose, and insist on an envelope.

use entra_id_connector::api;
use connector_interface::Export;
use entra_id_connector::http::{HttpOutcome, HttpRequest, HttpResponse, TransportError, TransportKind};
use entra_id_connector::secret::Secret;
use entra_id_connector::settings::Platform;

/// Answers chosen by the input, so both success and failure paths are reached.
fn answer(data: &[u8]) -> HttpOutcome {
    let pick = data.iter().fold(0u8, |a, b| a.wrapping_add(*b));
    let body = String::from_utf8_lossy(data).into_owned();
    match pick % 4 {
        0 => HttpOutcome::TransportError(TransportError { kind: TransportKind::Timeout, message: "fuzz".into() }),
        1 => HttpOutcome::Response(HttpResponse { status: 200, headers: Default::default(), body }),
        2 => HttpOutcome::Response(HttpResponse { status: 400, headers: [("retry-after".to_string(), "3".to_string())].into(), body }),
        _ => HttpOutcome::Response(HttpResponse { status: 401, headers: [("www-authenticate".to_string(), body.chars().take(200).collect())].into(), body }),
    }
}

/// Runs `export` on `data`; panics (a finding) when the answer is not an envelope.
pub fn run(export: Export, data: &[u8]) {
    let platform = Platform { client_id: Some("11111111-2222-3333-4444-555555555555".into()), client_secret: Some(Secret::new("fuzz-secret")), ..Default::default() };
    let mut http = |_: &HttpRequest| answer(data);
    let out = api::call(export.name(), data, &platform, &mut http);
    let v: serde_json::Value = serde_json::from_str(&out).expect("the answer is JSON");
    let obj = v.as_object().expect("the answer is an object");
    assert!(obj.len() == 1 && (obj.contains_key("ok") || obj["error"]["code"].is_string()), "not an envelope: {out}");
    assert!(!out.contains("fuzz-secret"), "the client secret leaked: {out}");
}
