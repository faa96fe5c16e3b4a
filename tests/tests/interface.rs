//! The interface crate and docs/schemas describe one contract: for every export (and the
//! envelope, the error and host HTTP), the JSON Schema of the Rust type and the documented
//! schema have the same properties, the same required ones, the same closed objects and the
//! same enum values, checked both ways, at every level both describe. The fuzz targets and the
//! exports the module has come from the same table.

use std::collections::BTreeSet;

use connector_interface::*;
use e2e::*;
use schemars::schema_for;
use serde_json::Value;

/// `schema` with its `$ref`s into `root`'s `$defs` followed.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap();
            resolve(root, &root["$defs"][name])
        }
        None => schema,
    }
}

fn keys(v: &Value, k: &str) -> Option<BTreeSet<String>> {
    match v.get(k)? {
        Value::Object(m) => Some(m.keys().cloned().collect()),
        Value::Array(a) => Some(a.iter().map(|x| x.as_str().map(str::to_string).unwrap_or(x.to_string())).collect()),
        _ => None,
    }
}

/// The alternatives of a `oneOf` or `anyOf` (an `Option<T>` is `anyOf [T, null]` in schemars).
fn alternatives<'a>(root: &'a Value, s: &'a Value) -> Vec<&'a Value> {
    let s = resolve(root, s);
    match s.get("oneOf").or(s.get("anyOf")).and_then(Value::as_array) {
        Some(alts) => alts
            .iter()
            .flat_map(|a| alternatives(root, a))
            .filter(|a| a.get("type") != Some(&Value::String("null".into())))
            .collect(),
        None => vec![s],
    }
}

/// Compares the documented schema `doc` with the type's schema `ty` at `path`; differences go
/// to `out`.
fn compare(path: &str, doc_root: &Value, doc: &Value, ty_root: &Value, ty: &Value, out: &mut Vec<String>) {
    let (docs, tys) = (alternatives(doc_root, doc), alternatives(ty_root, ty));
    if docs.len() != tys.len() {
        // One side is a union the other writes as one shape (such as a map or a string): compare
        // the shapes that have properties, pairwise by their property names.
        for d in &docs {
            if let Some(dp) = keys(d, "properties") {
                match tys.iter().find(|t| keys(t, "properties") == Some(dp.clone())) {
                    Some(t) => compare(path, doc_root, d, ty_root, t, out),
                    None => out.push(format!("{path}: no shape of the type has the properties {dp:?}")),
                }
            }
        }
        return;
    }
    for (d, t) in docs.into_iter().zip(tys) {
        if let (Some(de), Some(te)) = (keys(d, "enum"), keys(t, "enum")) {
            if de != te {
                out.push(format!("{path}: enum {de:?} documented, {te:?} in the type"));
            }
        }
        let (Some(dp), Some(tp)) = (keys(d, "properties"), keys(t, "properties")) else {
            // An open map or an opaque value on one side (settings, the HTTP view): the
            // connector's own document, not the interface's.
            if let (Some(di), Some(ti)) = (d.get("items"), t.get("items")) {
                compare(&format!("{path}[]"), doc_root, di, ty_root, ti, out);
            }
            continue;
        };
        if dp != tp {
            out.push(format!(
                "{path}: documented only {:?}, in the type only {:?}",
                dp.difference(&tp).collect::<Vec<_>>(),
                tp.difference(&dp).collect::<Vec<_>>()
            ));
        }
        let (dr, tr) = (keys(d, "required").unwrap_or_default(), keys(t, "required").unwrap_or_default());
        if dr != tr {
            out.push(format!("{path}: required {dr:?} documented, {tr:?} in the type"));
        }
        let closed = |s: &Value| s.get("additionalProperties") == Some(&Value::Bool(false));
        if closed(d) != closed(t) {
            out.push(format!("{path}: closed {} documented, {} in the type", closed(d), closed(t)));
        }
        for k in dp.intersection(&tp) {
            compare(&format!("{path}.{k}"), doc_root, &d["properties"][k], ty_root, &t["properties"][k], out);
        }
    }
}

fn agree(doc_name: &str, ty: schemars::Schema) -> Vec<String> {
    let doc = schema(doc_name);
    let ty = ty.to_value();
    let mut out = Vec::new();
    compare(doc_name, &doc, &doc, &ty, &ty, &mut out);
    out
}

macro_rules! each_export {
    ($(($name:ident, $variant:ident, $required:literal, $input:ident, $output:ident)),* $(,)?) => {
        fn export_schemas() -> Vec<(&'static str, schemars::Schema, schemars::Schema)> {
            vec![$((stringify!($name), schema_for!($input), schema_for!($output))),*]
        }
    };
}
interface_v1_exports!(each_export);

#[test]
fn the_types_and_docs_schemas_agree_both_ways() {
    let mut out = Vec::new();
    for (name, input, output) in export_schemas() {
        out.extend(agree(&format!("{name}.input"), input));
        out.extend(agree(&format!("{name}.output"), output));
    }
    out.extend(agree("envelope", schema_for!(Envelope<Value>)));
    out.extend(agree("error", schema_for!(PlainError)));
    out.extend(agree("host_http.request", schema_for!(HttpRequest)));
    out.extend(agree("host_http.outcome", schema_for!(HttpOutcome)));
    out.extend(agree("host_sign.request", schema_for!(SignRequest)));
    out.extend(agree("host_sign.outcome", schema_for!(SignOutcome)));
    out.extend(agree("host_federated_token.request", schema_for!(FederatedTokenRequest)));
    out.extend(agree("host_federated_token.outcome", schema_for!(FederatedTokenOutcome)));
    assert!(out.is_empty(), "the interface's types and docs/schemas differ:\n{}", out.join("\n"));
}

#[test]
fn a_difference_is_found() {
    // The comparison is not vacuous: a documented property the type lacks, a required one it
    // makes optional and an enum value it does not know are each reported.
    let mut doc = schema("exchange_code.output");
    doc["properties"]["extra"] = serde_json::json!({"type": "string"});
    doc["required"].as_array_mut().unwrap().push("refresh_token".into());
    doc["properties"]["grant"]["enum"].as_array_mut().unwrap().push("password".into());
    let ty = schema_for!(TokenSet).to_value();
    let mut out = Vec::new();
    compare("t", &doc, &doc, &ty, &ty, &mut out);
    let text = out.join("\n");
    assert!(text.contains("documented only [\"extra\"]"), "{text}");
    assert!(text.contains("required"), "{text}");
    assert!(text.contains("password"), "{text}");
}

#[test]
fn real_answers_read_as_the_types() {
    // Every export's answer to its seed inputs reads into the table's output type.
    let host = shared_host();
    let root = root().join("fuzz/corpus");
    let mut read = 0;
    for e in EXPORTS {
        for file in std::fs::read_dir(root.join(e.name)).unwrap() {
            let input = std::fs::read(file.unwrap().path()).unwrap();
            let text = host.call_raw(e.name, &input).unwrap();
            let doc: Value = serde_json::from_str(&text).unwrap();
            let Some(ok) = doc.get("ok") else { continue };
            let typed = match e.export {
                Export::Describe => serde_json::from_value::<Description>(ok.clone()).map(drop),
                Export::ValidateSettings => serde_json::from_value::<Validated>(ok.clone()).map(drop),
                Export::ListScopes => serde_json::from_value::<ScopeList>(ok.clone()).map(drop),
                Export::AuthorizeUrl => serde_json::from_value::<AuthorizeUrlOutput>(ok.clone()).map(drop),
                Export::AdminConsentUrl => serde_json::from_value::<AdminConsentUrlOutput>(ok.clone()).map(drop),
                Export::ExchangeCode | Export::RefreshToken | Export::ClientCredentials => {
                    serde_json::from_value::<TokenSet>(ok.clone()).map(drop)
                }
                Export::TestConnection => serde_json::from_value::<TestResult>(ok.clone()).map(drop),
                Export::ClassifyError => serde_json::from_value::<Classification>(ok.clone()).map(drop),
                Export::DeviceCodeStart => serde_json::from_value::<DeviceCode>(ok.clone()).map(drop),
                Export::DeviceCodePoll => serde_json::from_value::<DevicePoll>(ok.clone()).map(drop),
            };
            typed.unwrap_or_else(|err| panic!("{}: {err}: {ok}", e.name));
            read += 1;
        }
    }
    assert!(read >= 10, "{read} answers read");
}

#[test]
fn the_fuzz_targets_are_the_export_table() {
    let cargo = std::fs::read_to_string(root().join("fuzz/Cargo.toml")).unwrap();
    let bins: BTreeSet<String> = cargo
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .map(|n| n.trim_end_matches('"').to_string())
        .filter(|n| n != "entra-id-connector-fuzz")
        .collect();
    let table: BTreeSet<String> = EXPORTS.iter().map(|e| e.name.to_string()).collect();
    assert_eq!(bins, table, "fuzz/Cargo.toml's targets");
    for e in EXPORTS {
        let target = std::fs::read_to_string(root().join(format!("fuzz/fuzz_targets/{}.rs", e.name))).unwrap();
        assert!(target.contains(&format!("Export::{:?}", e.export)), "{} fuzzes another export", e.name);
    }
}

#[test]
fn the_module_has_every_export_of_the_table() {
    let host = shared_host();
    for e in EXPORTS {
        // An export the module lacks is a host error; every one of the table answers an envelope.
        let text = host.call_raw(e.name, b"{}").unwrap_or_else(|err| panic!("{}: {err}", e.name));
        assert!(text.starts_with("{\"ok\"") || text.starts_with("{\"error\""), "{}: {text}", e.name);
    }
    // Asked again, from the host's memory of the module's names: the same answers.
    for _ in 0..2 {
        assert!(matches!(
            host.call_raw("no_such_export", b"{}"),
            Err(host_harness::HostError::NoSuchExport { export }) if export == "no_such_export"
        ));
        assert!(host.call_raw("describe", b"{}").is_ok());
    }
    // Hundreds of names that do not exist: each refused, and the real ones still answer.
    for i in 0..300 {
        let name = format!("missing_{i}");
        assert!(matches!(host.call_raw(&name, b"{}"), Err(host_harness::HostError::NoSuchExport { .. })));
    }
    assert!(host.call_raw("noop", b"").is_ok());
}
