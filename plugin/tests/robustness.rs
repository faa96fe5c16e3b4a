//! The deterministic share of fuzzing, run by `make test`: every seed of `fuzz/corpus` and
//! thousands of mutations of them go through every export of the native core. Each answer must
//! be an envelope; nothing may panic; the client secret never appears. (`make fuzz` runs
//! libFuzzer on the same entry for longer.)

use entra_id_connector::api;
use entra_id_connector::http::{HttpOutcome, HttpRequest, HttpResponse, TransportError, TransportKind};
use entra_id_connector::secret::Secret;
use entra_id_connector::settings::Platform;
use proptest::prelude::*;

fn seeds() -> Vec<(String, Vec<u8>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut out = Vec::new();
    for export in connector_interface::EXPORTS.iter().map(|e| e.name) {
        for entry in std::fs::read_dir(root.join(export)).unwrap() {
            out.push((export.to_string(), std::fs::read(entry.unwrap().path()).unwrap()));
        }
    }
    out
}

fn answer(data: &[u8]) -> HttpOutcome {
    let pick = data.iter().fold(0u8, |a, b| a.wrapping_add(*b));
    let body = String::from_utf8_lossy(data).into_owned();
    match pick % 4 {
        0 => HttpOutcome::TransportError(TransportError { kind: TransportKind::Timeout, message: "t".into() }),
        1 => HttpOutcome::Response(HttpResponse { status: 200, headers: Default::default(), body }),
        2 => HttpOutcome::Response(HttpResponse {
            status: 400,
            headers: [("retry-after".to_string(), "3".to_string())].into(),
            body,
        }),
        _ => HttpOutcome::Response(HttpResponse {
            status: 401,
            headers: [("www-authenticate".to_string(), body.chars().take(200).collect())].into(),
            body,
        }),
    }
}

fn check(export: &str, data: &[u8]) -> Result<(), String> {
    let platform = Platform {
        client_id: Some("11111111-2222-3333-4444-555555555555".into()),
        client_secret: Some(Secret::new("platform-secret-value")),
        ..Default::default()
    };
    let mut http = |_: &HttpRequest| answer(data);
    let out = api::call(export, data, &platform, &mut http);
    let v: serde_json::Value = serde_json::from_str(&out).map_err(|_| format!("{export}: not JSON: {out}"))?;
    let obj = v.as_object().ok_or("not an object")?;
    if !(obj.len() == 1 && (obj.contains_key("ok") || obj["error"]["code"].is_string())) {
        return Err(format!("{export}: not an envelope: {out}"));
    }
    if out.contains("platform-secret-value") {
        return Err(format!("{export}: the client secret leaked"));
    }
    Ok(())
}

#[test]
fn every_seed_answers_with_an_envelope() {
    let seeds = seeds();
    assert!(seeds.len() >= 20, "{}", seeds.len());
    for (export, data) in &seeds {
        check(export, data).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_seeds_and_random_bytes_never_panic(seed in 0usize..1000, flips in proptest::collection::vec((0usize..4096, any::<u8>()), 0..6), cut in proptest::option::of(0usize..4096), random in proptest::collection::vec(any::<u8>(), 0..256), which in 0usize..3) {
        let seeds = seeds();
        let (export, mut data) = seeds[seed % seeds.len()].clone();
        match which {
            0 => {
                for (at, b) in flips {
                    if !data.is_empty() {
                        let i = at % data.len();
                        data[i] = b;
                    }
                }
            }
            1 => {
                if let Some(c) = cut {
                    data.truncate(c % (data.len() + 1));
                }
            }
            _ => data = random,
        }
        prop_assert!(check(&export, &data).is_ok(), "{:?}", check(&export, &data));
    }
}
