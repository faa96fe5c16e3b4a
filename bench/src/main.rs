//! `make bench`: the connector's cost beside the extism floor, cold start, size, memory and
//! whole flows, judged against the budgets (`budgets.rs`), reported in
//! `target/bench-report.json` and a table. Exits 1 when a budget is missed.
//!
//! `connector-bench exports` measures and prints the exports' rows and the MSAL row alone (no
//! budgets judged); `connector-bench flows [workers] [seconds]` runs the flows alone; `connector-bench serve
//! [clients] [connections] [seconds]` puts `connector-host serve` under load (`serve.rs`);
//! `connector-bench scale [connections] [latency_ms]` runs keep-alive at scale on PostgreSQL
//! with one and two replicas (`scale.rs`).

mod budgets;
mod clients;
mod coldstart;
mod exports;
mod figures;
mod flows;
mod inputs;
mod measure;
mod msal;
mod report;
mod rows;
mod scale;
mod serve;

use entra_id_connector::secret::Secret;
use entra_id_connector::settings::Platform as ConnectorPlatform;
use mock_entra::MockEntra;

use crate::figures::Figures;

fn main() {
    std::process::exit(run());
}

pub fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The host's peak resident memory (`VmHWM`) in bytes.
fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0u64)
        * 1024
}

fn run() -> i32 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("scale") {
        let n = |i: usize, d: u64| args.get(i).and_then(|v| v.parse().ok()).unwrap_or(d);
        return scale::run(n(1, 100_000) as usize, n(2, 100));
    }
    let mock = MockEntra::start().expect("the mock starts");
    if args.first().map(String::as_str) == Some("serve") {
        let n = |i: usize, d: u64| args.get(i).and_then(|v| v.parse().ok()).unwrap_or(d);
        return serve::run(n(1, 200) as usize, n(2, 1000) as usize, n(3, 30));
    }
    if args.first().map(String::as_str) == Some("flows") {
        let workers = args.get(1).and_then(|w| w.parse().ok()).unwrap_or(8);
        let secs = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(4.0);
        let f = flows::flows(&mock, workers, secs);
        println!(
            "flows: {:.1}/s with {workers} workers ({} flows, {} failures, {} store commits, {:.2} per flow)",
            f.per_s,
            f.flows,
            f.failures,
            f.store_commits,
            f.store_commits as f64 / f.flows.max(1) as f64
        );
        return i32::from(f.failures > 0);
    }
    let host = clients::host_for(&mock);
    let wasm = host.loaded().wasm.clone();
    let platform = ConnectorPlatform {
        client_id: Some(mock_entra::TEST_CLIENT_ID.into()),
        client_secret: Some(Secret::new(mock_entra::TEST_CLIENT_SECRET)),
        login_base_url: Some(mock.base_url()),
        graph_base_url: Some(mock.base_url()),
        ..Default::default()
    };
    let exports = exports::measure_exports(&host, &mock, &platform);
    if args.first().map(String::as_str) == Some("exports") {
        report::print_rows(exports.floor, &exports.rows);
        report::print_host_calls(&exports.entries);
        report::print_msal(&msal::compare(&host));
        return 0;
    }
    let cold = coldstart::measure_cold_start(&host_harness::host::extism_module(host.loaded()), &exports::cases());
    let figures = Figures {
        wasm_bytes: wasm.len(),
        compiled_bytes: clients::compiled_bytes(&wasm),
        floor: exports.floor,
        rows: exports.rows,
        exports: exports.entries,
        budgeted_ratios: exports.budgeted_ratios,
        cold,
        host_peak_rss: peak_rss(),
        flows_1: flows::flows(&mock, 1, 4.0),
        flows_8: flows::flows(&mock, 8, 4.0),
        flows_8_postgres: flows::flows_on_postgres(&mock, 8, 4.0),
        msal: msal::compare(&host),
    };
    let judged = budgets::judge(&figures);
    let violations: Vec<String> = judged.iter().flat_map(|(_, missed)| missed.clone()).collect();
    let path = report::write(&figures, &violations, root().join("target/bench-report.json"));
    report::print(&figures);
    println!("report: {}", path.display());
    println!("budgets:");
    for (name, missed) in &judged {
        if missed.is_empty() {
            println!("  met     {name}");
        } else {
            println!("  MISSED  {name}: {}", missed.join("; "));
        }
    }
    i32::from(!violations.is_empty())
}
