//! The exports timed through the host, each beside the floor and the cost of moving its bytes
//! taken in turn with it, and natively; the network exports against the mock, and again with
//! the token endpoint's answer replayed.

use entra_id_connector::settings::Platform as ConnectorPlatform;
use host_harness::ConnectorHost;
use mock_entra::MockEntra;
use serde_json::{json, Map, Value};

use crate::clients::{canned_instance, Canned, NativeHttp, Recording};
use crate::inputs::{
    code_for, exchange_input, large_graph_error, now, settings, settings_map, REDIRECT, REQUEST_ID, TOKEN_ERROR,
    VERIFIER,
};
use crate::measure::{measure, measure_in_turn, median_of, Figure};
use crate::rows::{network_row, sized_row, with_floor_and_moving, HostCallBytes, Measured, Row};

/// What the exports' rounds gave.
pub struct Exports {
    pub rows: Vec<Row>,
    pub entries: Map<String, Value>,
    pub budgeted_ratios: Vec<(String, f64)>,
    pub floor: Figure,
}

impl Exports {
    /// A sized row; a budgeted one's wasm figure over its limit (moving its bytes plus the native
    /// core) joins the ratios the budget judges.
    fn push(&mut self, label: &str, (row, entry): (Row, Value), budgeted: bool) {
        if budgeted {
            let limit = row.5 + row.3.median;
            self.budgeted_ratios.push((label.to_string(), row.2.median / limit));
        }
        self.rows.push(row);
        self.entries.insert(label.to_string(), entry);
    }
}

/// (label, export, input, another input: when set, calls alternate between the two so that the
/// instance's remembered answer never serves; such rows are information, not budgets).
pub fn cases() -> Vec<(&'static str, &'static str, Value, Option<Value>)> {
    let auth = json!({"settings": settings(), "redirect_uri": REDIRECT, "state": "bench-state-0123456789", "code_verifier": VERIFIER, "nonce": "bench-nonce-0123456789"});
    let consent = json!({"settings": settings(), "redirect_uri": REDIRECT, "state": "bench-state-0123456789"});
    let graph_error =
        json!({"phase": "graph", "status": 403, "headers": {"request-id": "r"}, "body": large_graph_error()});
    let token_error = json!({"phase": "token", "status": 400, "body": TOKEN_ERROR});
    vec![
        ("describe", "describe", json!({}), None),
        ("describe (not remembered)", "describe", json!({}), Some(json!({"settings": null}))),
        ("list_scopes", "list_scopes", json!({}), None),
        ("list_scopes (not remembered)", "list_scopes", json!({}), Some(json!({"settings": null}))),
        ("authorize_url", "authorize_url", auth, None),
        ("admin_consent_url", "admin_consent_url", consent, None),
        ("classify_error (large Graph error)", "classify_error", graph_error, None),
        ("classify_error (token error)", "classify_error", token_error, None),
    ]
}

/// `input`, or `other` and `input` by turns when there is another.
fn alternating<'a>(input: &'a [u8], other: Option<&'a [u8]>) -> impl FnMut() -> &'a [u8] {
    let mut flip = false;
    move || {
        flip = !flip;
        match other {
            Some(o) if flip => o,
            _ => input,
        }
    }
}

pub fn measure_exports(host: &ConnectorHost, mock: &MockEntra, platform: &ConnectorPlatform) -> Exports {
    let module = host_harness::host::extism_module(host.loaded());
    // The floor: the cheapest export through the same host path (`noop`, a constant answer). It
    // is taken in turn with every figure that is compared with it; `floor` pools those samples.
    let mut floor_samples: Vec<f64> = Vec::new();
    let mut noop = || {
        host.call_raw("noop", b"").unwrap();
    };
    let mut out =
        Exports { rows: Vec::new(), entries: Map::new(), budgeted_ratios: Vec::new(), floor: median_of(vec![0.0]) };
    let mut memo = entra_id_connector::api::Memo::default();
    for (label, export, input, other) in cases() {
        let bytes = input.to_string().into_bytes();
        let other = other.as_ref().map(|o| o.to_string().into_bytes());
        let answer_bytes = host.call_raw(export, &bytes).unwrap().len();
        // The wasm and the native calls each alternate their inputs the same way, without a copy.
        let (mut wasm_input, mut native_input) =
            (alternating(&bytes, other.as_deref()), alternating(&bytes, other.as_deref()));
        let in_turn = with_floor_and_moving(
            host,
            2000,
            (&mut noop, &mut floor_samples),
            (bytes.len(), answer_bytes),
            None,
            &mut || {
                host.call_raw(export, wasm_input()).unwrap();
            },
            &mut || {
                let input = native_input();
                if other.is_some() {
                    entra_id_connector::api::call(export, input, platform, &mut entra_id_connector::http::NoHttp);
                } else {
                    memo.call(export, input, platform, &mut entra_id_connector::http::NoHttp);
                }
            },
        );
        let budgeted = other.is_none();
        let measured = Measured { label, in_turn, input_bytes: bytes.len(), answer_bytes, budgeted };
        out.push(label, sized_row(measured), budgeted);
    }

    // Network exports against the mock on loopback.
    let codes: Vec<String> = (0..60).map(|_| code_for(host)).collect();
    let mut it = codes.into_iter();
    let [fl, w] = measure_in_turn(
        50,
        [&mut noop, &mut || {
            let code = it.next().unwrap_or_default();
            host.v1().exchange_code(&exchange_input(code)).unwrap().ok();
        }],
    );
    floor_samples.extend_from_slice(&fl);
    let (fl, w) = (median_of(fl), median_of(w));
    let native_codes: Vec<String> = (0..60).map(|_| code_for(host)).collect();
    let mut it = native_codes.into_iter();
    let mut nh = NativeHttp(ureq::Agent::config_builder().http_status_as_error(false).build().into());
    let n = measure(50, || {
        let code = it.next().unwrap_or_default();
        let input = serde_json::to_vec(&exchange_input(code)).unwrap();
        entra_id_connector::api::call("exchange_code", &input, platform, &mut nh);
    });
    let (row, entry) = network_row("exchange_code (mock)", fl, w, n);
    out.rows.push(row);
    out.entries.insert("exchange_code".into(), entry);
    let t = host.v1().exchange_code(&exchange_input(code_for(host))).unwrap().unwrap();
    let typed = connector_interface::RefreshTokenInput {
        settings: settings_map(),
        refresh_token: t.refresh_token,
        now: now(),
        assertion_id: None,
        // As the platform sends it: every network call carries a request id.
        client_request_id: Some(REQUEST_ID.into()),
        claims: None,
    };
    let [fl, w] = measure_in_turn(
        200,
        [&mut noop, &mut || {
            host.v1().refresh_token(&typed).unwrap().unwrap();
        }],
    );
    floor_samples.extend_from_slice(&fl);
    let (fl, w) = (median_of(fl), median_of(w));
    let refresh = serde_json::to_vec(&typed).unwrap();
    let n = measure(200, || {
        entra_id_connector::api::call("refresh_token", &refresh, platform, &mut nh);
    });
    let (row, entry) = network_row("refresh_token (mock)", fl, w, n);
    out.rows.push(row);
    out.entries.insert("refresh_token".into(), entry);

    // The same two exports with the token endpoint's answer recorded once and replayed: the
    // connector's own work (reading the answer, checking the id_token, writing the token set),
    // apart from the network, judged against the limit like the others.
    let exchange = serde_json::to_vec(&exchange_input(code_for(host))).unwrap();
    for (label, export, bytes) in [
        ("exchange_code (canned answer)", "exchange_code", exchange),
        ("refresh_token (canned answer)", "refresh_token", refresh),
    ] {
        let mut recording =
            Recording(NativeHttp(ureq::Agent::config_builder().http_status_as_error(false).build().into()), None, None);
        let first = entra_id_connector::api::call(export, &bytes, platform, &mut recording);
        assert!(first.starts_with("{\"ok\""), "{label}: {first}");
        let outcome = recording.1.expect("the export made a request");
        // The request document as the connector writes it (`json_out::request`, byte for byte
        // serde_json's) and the answer document as the host writes it.
        let host_calls = HostCallBytes {
            written: recording.2.expect("the request was kept"),
            read: serde_json::to_vec(&outcome).unwrap().len(),
        };
        let mut instance = canned_instance(&module, mock, &outcome);
        let answer_bytes = instance.call::<&[u8], &[u8]>(export, &bytes).unwrap().len();
        let mut canned = Canned(outcome);
        let in_turn = with_floor_and_moving(
            host,
            500,
            (&mut noop, &mut floor_samples),
            (bytes.len(), answer_bytes),
            Some(host_calls),
            &mut || {
                instance.call::<&[u8], &[u8]>(export, &bytes).unwrap();
            },
            &mut || {
                entra_id_connector::api::call(export, &bytes, platform, &mut canned);
            },
        );
        let measured = Measured { label, in_turn, input_bytes: bytes.len(), answer_bytes, budgeted: true };
        out.push(label, sized_row(measured), true);
    }
    out.floor = median_of(floor_samples);
    out
}
