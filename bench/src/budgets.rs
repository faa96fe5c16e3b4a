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
        name: "every budgeted export within 2 times its limit (moving its bytes + the native core)",
        missed: |f| {
            f.budgeted_ratios
                .iter()
                .filter(|(_, r)| *r > 2.0)
                .map(|(label, r)| format!("{label}: to_limit {r:.2} > 2.0"))
                .collect()
        },
    },
    Budget {
        name: "starting a sign-in at least 5 times faster than MSAL Python",
        missed: |f| match &f.msal {
            Ok(m) => one(m.speedup() < 5.0, || {
                format!(
                    "msal: {:.1} us against MSAL's {:.1} us, {:.2} times faster < 5",
                    m.ours_us,
                    m.msal_us,
                    m.speedup()
                )
            }),
            // Without msal there is nothing to judge; the row says why.
            Err(_) => Vec::new(),
        },
    },
    Budget {
        name: "guard: no linear memory growth between 1 000 and 10 000 calls",
        missed: |f| {
            let [_, m1000, m10000] = f.cold.memory;
            one(m10000 > m1000, || {
                format!("linear memory grew from {m1000} to {m10000} bytes between 1,000 and 10,000 calls")
            })
        },
    },
    Budget {
        name: "guard: flows with 8 workers at least 1.6 times 1 worker",
        missed: |f| {
            let (f1, f8) = (f.flows_1.per_s, f.flows_8.per_s);
            one(f8 < 1.6 * f1, || format!("flows: 8 workers {f8:.0}/s is less than 1.6 x 1 worker {f1:.0}/s"))
        },
    },
    Budget {
        name: "guard: no failed flow",
        missed: |f| {
            let failures = f.flows_1.failures + f.flows_8.failures + f.flows_8_postgres.failures;
            one(failures > 0, || format!("flows: {failures} failures"))
        },
    },
    Budget {
        name: "guard: wasm at most 512 KiB",
        missed: |f| one(f.wasm_bytes > 512 * 1024, || format!("wasm_bytes {} > 524288", f.wasm_bytes)),
    },
    Budget {
        name: "guard: a new instance within 30 floors",
        missed: |f| {
            let floors = f.cold.instantiate.median / f.floor.median;
            one(floors > 30.0, || format!("instantiate_us {:.0} is {floors:.1} floors > 30", f.cold.instantiate.median))
        },
    },
    Budget {
        name: "guard: a cached compile within 2 % of the cache-off compile",
        missed: |f| {
            let share = f.cold.compile_cached.median / f.cold.compile.median;
            one(share > 0.02, || {
                format!(
                    "compile_cached_ms {:.1} is {:.1} % of the cache-off {:.0} ms > 2 %",
                    f.cold.compile_cached.median / 1000.0,
                    share * 100.0,
                    f.cold.compile.median / 1000.0
                )
            })
        },
    },
];

/// Each budget with its misses (none when met), in the table's order.
pub fn judge(f: &Figures) -> Vec<(&'static str, Vec<String>)> {
    BUDGETS.iter().map(|b| (b.name, (b.missed)(f))).collect()
}
