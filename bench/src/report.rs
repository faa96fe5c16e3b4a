//! The run's report: `target/bench-report.json` and the table on stdout.

use std::path::PathBuf;

use serde_json::{json, Map, Value};

use crate::figures::Figures;
use crate::measure::fig;

/// Writes the JSON report; its path.
pub fn write(f: &Figures, violations: &[String], path: PathBuf) -> PathBuf {
    let mut instantiate = fig(f.cold.instantiate);
    instantiate["how"] =
        "new_from_compiled plus the new instance's first noop, less a warm instance's noop timed right after".into();
    instantiate["new_from_compiled"] = fig(f.cold.new_from_compiled);
    let flows = |x: crate::figures::Flows| json!({"per_s": x.per_s, "flows": x.flows, "failures": x.failures, "store_commits": x.store_commits});
    let [m1, m1000, m10000] = f.cold.memory;
    let report = json!({
        "machine": {"cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), "os": std::env::consts::OS},
        "wasm_bytes": f.wasm_bytes,
        "floor_us": fig(f.floor),
        "exports": f.exports,
        "compile_ms": {"median_ms": f.cold.compile.median / 1000.0, "samples": f.cold.compile.samples},
        "compile_cached_ms": {"median_ms": f.cold.compile_cached.median / 1000.0, "samples": f.cold.compile_cached.samples},
        "compiled_bytes": f.compiled_bytes,
        "instantiate_us": instantiate,
        "fuel_overhead": {"authorize_url_with_fuel": fig(f.cold.with_fuel), "authorize_url_without_fuel": fig(f.cold.without_fuel)},
        "first_call_us": fig(f.cold.first_call),
        "memory": {"linear_after_1": m1, "linear_after_1000": m1000, "linear_after_10000": m10000, "host_peak_rss": f.host_peak_rss},
        "flows_per_s": {"workers_1": flows(f.flows_1), "workers_8": flows(f.flows_8), "workers_8_postgres": flows(f.flows_8_postgres)},
        "msal": match &f.msal {
            Ok(m) => json!({"ours_us": m.ours_us, "msal_us": m.msal_us, "msal_by_process_us": m.msal_by_process_us, "msal_version": m.version, "times_faster": (m.speedup() * 100.0).round() / 100.0}),
            Err(why) => json!({"not_measured": why}),
        },
        "budget_violations": violations,
    });
    std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap_or_default()).expect("the report is written");
    path
}

/// The table and the summary lines.
pub fn print(f: &Figures) {
    print_rows(f.floor, &f.rows);
    print_host_calls(&f.exports);
    println!(
        "wasm {} bytes ({} compiled); compile {:.1} ms (cache off), {:.2} ms (cached); instantiate {:.0} us ({:.0} of it new_from_compiled); first call {:.0} us",
        f.wasm_bytes,
        f.compiled_bytes,
        f.cold.compile.median / 1000.0,
        f.cold.compile_cached.median / 1000.0,
        f.cold.instantiate.median,
        f.cold.new_from_compiled.median,
        f.cold.first_call.median
    );
    let [m1, m1000, m10000] = f.cold.memory;
    println!(
        "linear memory {m1} -> {m1000} -> {m10000} bytes after 1 / 1,000 / 10,000 calls; host peak RSS {} MiB",
        f.host_peak_rss / 1024 / 1024
    );
    let (a, b) = (f.flows_1, f.flows_8);
    println!(
        "flows: {:.1}/s with 1 worker, {:.1}/s with 8 ({:.2}x), failures {}; store commits per flow {:.2} and {:.2}",
        a.per_s,
        b.per_s,
        b.per_s / a.per_s.max(0.001),
        a.failures + b.failures,
        a.store_commits as f64 / a.flows.max(1) as f64,
        b.store_commits as f64 / b.flows.max(1) as f64
    );
    print_msal(&f.msal);
    let pg = f.flows_8_postgres;
    println!(
        "flows on PostgreSQL: {:.1}/s with 8 workers ({:.2}x SQLite's), failures {}",
        pg.per_s,
        pg.per_s / b.per_s.max(0.001),
        pg.failures
    );
}

/// For the rows whose export calls a host function: the distance to the limit had that
/// function's documents been counted as the export's own bytes are (information, not a budget).
pub fn print_host_calls(entries: &Map<String, Value>) {
    for (label, entry) in entries {
        let h = &entry["host_calls"];
        if h.is_object() {
            println!(
                "{label}: {} times a limit of {} us counting its connector_http documents too ({} bytes written, {} read)",
                h["to_limit"], h["limit_us"], h["request_bytes"], h["answer_bytes"]
            );
        }
    }
}

/// The exports' table: each row beside its floor, with its limit and the distance to it.
pub fn print_rows(floor: crate::measure::Figure, rows: &[crate::rows::Row]) {
    println!(
        "{:<36} {:>9} {:>9} {:>9} {:>8} {:>8} {:>9} {:>9} {:>9} {:>8}",
        "export", "floor us", "wasm us", "native us", "x floor", "bytes", "moving us", "own us", "limit us", "to limit"
    );
    println!("{:<36} {:>9.1} {:>9} {:>9} {:>8}", "floor (noop, all samples)", floor.median, "-", "-", "1.00");
    for (label, fl, w, n, bytes, moved, own) in rows {
        let r = w.median / fl.median;
        let (fl, w, n) = (fl.median, w.median, n.median);
        if *bytes == 0 {
            println!("{label:<36} {fl:>9.1} {w:>9.1} {n:>9.1} {r:>8.2}");
        } else {
            let limit = moved + n;
            let to = w / limit;
            println!(
                "{label:<36} {fl:>9.1} {w:>9.1} {n:>9.1} {r:>8.2} {bytes:>8} {moved:>9.1} {own:>9.1} {limit:>9.1} {to:>8.2}"
            );
        }
    }
}

/// Starting a sign-in against MSAL Python.
pub fn print_msal(msal: &Result<crate::msal::Msal, String>) {
    match msal {
        Ok(m) => println!(
            "starting a sign-in: {:.1} us (state, verifier, nonce, authorize_url) against MSAL Python {}'s initiate_auth_code_flow {:.1} us ({} processes: {}): {:.2} times faster",
            m.ours_us,
            m.version,
            m.msal_us,
            m.msal_by_process_us.len(),
            m.msal_by_process_us.iter().map(|us| format!("{us:.0}")).collect::<Vec<_>>().join(", "),
            m.speedup()
        ),
        Err(why) => println!("starting a sign-in against MSAL Python: {why}"),
    }
}
