//! The budgets, in one table: each names what it limits and says how a run missed it.

use crate::figures::Figures;

pub struct Budget {
    pub name: &'static str,
    /// What a run that missed it shows, one line a miss.
    pub missed: fn(&Figures) -> Vec<String>,
}

fn one(missed: bool, line: impl FnOnce() -> String) -> Vec<String> {
    if missed {
        vec![line()]
    } else {
        Vec::new()
    }
}

pub const BUDGETS: &[Budget] = &[
    Budget {
        name: "every budgeted export within 1.5 floors",
        missed: |f| {
            f.budgeted_ratios
                .iter()
                .filter(|(_, r)| *r > 1.5)
                .map(|(label, r)| format!("{label}: ratio_to_floor {r:.2} > 1.5"))
                .collect()
        },
    },
    Budget {
        name: "no linear memory growth between 1 000 and 10 000 calls",
        missed: |f| {
            let [_, m1000, m10000] = f.cold.memory;
            one(m10000 > m1000, || {
                format!("linear memory grew from {m1000} to {m10000} bytes between 1,000 and 10,000 calls")
            })
        },
    },
    Budget {
        name: "flows with 8 workers at least 1.6 times 1 worker",
        missed: |f| {
            let (f1, f8) = (f.flows_1.per_s, f.flows_8.per_s);
            one(f8 < 1.6 * f1, || format!("flows: 8 workers {f8:.0}/s is less than 1.6 x 1 worker {f1:.0}/s"))
        },
    },
    Budget {
        name: "no failed flow",
        missed: |f| {
            let failures = f.flows_1.failures + f.flows_8.failures + f.flows_8_postgres.failures;
            one(failures > 0, || format!("flows: {failures} failures"))
        },
    },
    Budget {
        name: "wasm at most 200 KiB",
        missed: |f| one(f.wasm_bytes > 200 * 1024, || format!("wasm_bytes {} > 204800", f.wasm_bytes)),
    },
    Budget {
        name: "a new instance within 300 us",
        missed: |f| {
            one(f.cold.instantiate.median > 300.0, || format!("instantiate_us {:.0} > 300", f.cold.instantiate.median))
        },
    },
    Budget {
        name: "a cached compile within 5 ms",
        missed: |f| {
            let ms = f.cold.compile_cached.median / 1000.0;
            one(ms > 5.0, || format!("compile_cached_ms {ms:.1} > 5"))
        },
    },
];

/// Each budget with its misses (none when met), in the table's order.
pub fn judge(f: &Figures) -> Vec<(&'static str, Vec<String>)> {
    BUDGETS.iter().map(|b| (b.name, (b.missed)(f))).collect()
}
