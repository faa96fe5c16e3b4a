//! Everything one run of the bench measured, as the budgets judge it and the report records it.

use serde_json::{Map, Value};

use crate::coldstart::ColdStart;
use crate::measure::Figure;
use crate::rows::Row;

/// Whole flows with some workers for some seconds.
#[derive(Debug, Clone, Copy)]
pub struct Flows {
    pub per_s: f64,
    pub flows: usize,
    pub failures: usize,
    pub store_commits: u64,
}

pub struct Figures {
    pub wasm_bytes: usize,
    pub compiled_bytes: usize,
    /// The floor (`noop`), pooled from every export's rounds.
    pub floor: Figure,
    /// The table's rows and the report's entries, by label.
    pub rows: Vec<Row>,
    pub exports: Map<String, Value>,
    /// (label, wasm over the floor taken beside it) of the rows a budget judges.
    pub budgeted_ratios: Vec<(String, f64)>,
    /// Compiling, instantiating, fuel and linear memory.
    pub cold: ColdStart,
    pub host_peak_rss: u64,
    pub flows_1: Flows,
    pub flows_8: Flows,
    /// Eight workers on PostgreSQL (a server on the same machine) beside `flows_8` on SQLite.
    pub flows_8_postgres: Flows,
    /// Starting a sign-in against MSAL Python, or why it was not measured.
    pub msal: Result<crate::msal::Msal, String>,
}
