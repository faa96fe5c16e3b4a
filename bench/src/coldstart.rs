//! A connector's start and its footprint: compiling (with and without the cache), making an
//! instance, the first call, what fuel metering costs, and linear memory over many calls.

use std::time::Instant;

use extism::{CompiledPlugin, Plugin, Wasm};
use serde_json::Value;

use crate::clients::{builder, builder_fuel};
use crate::measure::{measure, median_of, Figure};

pub struct ColdStart {
    pub compile: Figure,
    pub compile_cached: Figure,
    pub instantiate: Figure,
    pub new_from_compiled: Figure,
    pub first_call: Figure,
    pub with_fuel: Figure,
    pub without_fuel: Figure,
    /// Linear memory after 1, 1 000 and 10 000 calls.
    pub memory: [u64; 3],
}

/// `cases` are the exports' (label, export, input, other) rows; authorize_url's input times fuel.
pub fn measure_cold_start(module: &Wasm, cases: &[(&str, &str, Value, Option<Value>)]) -> ColdStart {
    let compile = measure(5, || {
        CompiledPlugin::new(builder(module).with_cache_disabled()).unwrap();
    });
    let compile_cached = measure(20, || {
        CompiledPlugin::new(builder(module)).unwrap();
    });
    let compiled = CompiledPlugin::new(builder(module)).unwrap();
    // A new instance ready to call. `Plugin::new_from_compiled` makes the store, the linker and
    // extism's kernel instance; extism instantiates the connector's module itself lazily, at the
    // first call. Each sample times a new instance and its first `noop`, less a `noop` on a warm
    // instance of the same kind (bare, without the host's pool) timed right after: what is left is
    // the instance's making. Instances are dropped outside the timing, in batches.
    let mut warm = Plugin::new_from_compiled(&compiled).unwrap();
    let _: String = warm.call("noop", "").unwrap();
    let (mut made, mut complete) = (Vec::with_capacity(300), Vec::with_capacity(300));
    let mut kept = Vec::with_capacity(25);
    for i in 0..330 {
        let t = Instant::now();
        let mut p = Plugin::new_from_compiled(&compiled).unwrap();
        let new_us = t.elapsed().as_secs_f64() * 1e6;
        let t = Instant::now();
        let _: String = p.call("noop", "").unwrap();
        let first_us = t.elapsed().as_secs_f64() * 1e6;
        let t = Instant::now();
        let _: String = warm.call("noop", "").unwrap();
        let warm_us = t.elapsed().as_secs_f64() * 1e6;
        // The first 30 warm up.
        if i >= 30 {
            made.push(new_us);
            complete.push(new_us + first_us - warm_us);
        }
        kept.push(p);
        if kept.len() == 25 {
            kept.clear();
        }
    }
    drop(kept);
    // The first real call on an instance just made (the instance's making not counted): the
    // module's instantiation plus describe's answer, not remembered yet.
    let mut firsts = Vec::with_capacity(100);
    while firsts.len() < 100 {
        for mut p in (0..25).map(|_| Plugin::new_from_compiled(&compiled).unwrap()).collect::<Vec<_>>() {
            let t = Instant::now();
            let _: String = p.call("describe", "{}").unwrap();
            firsts.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }

    // What fuel metering costs: authorize_url on a bare instance with and without fuel.
    let auth = cases.iter().find(|c| c.1 == "authorize_url").expect("an authorize_url case");
    let auth_bytes = auth.2.to_string().into_bytes();
    let mut fueled = Plugin::new_from_compiled(&compiled).unwrap();
    let with_fuel = measure(2000, || {
        let _: String = fueled.call("authorize_url", auth_bytes.as_slice()).unwrap();
    });
    let unfueled_compiled = CompiledPlugin::new(builder_fuel(module, false)).unwrap();
    let mut unfueled = Plugin::new_from_compiled(&unfueled_compiled).unwrap();
    let without_fuel = measure(2000, || {
        let _: String = unfueled.call("authorize_url", auth_bytes.as_slice()).unwrap();
    });

    // Memory: one instance, 1 then 1000 then 10000 mixed calls.
    let mut p = Plugin::new_from_compiled(&compiled).unwrap();
    let mixed: Vec<(&str, Vec<u8>)> = cases
        .iter()
        .map(|(_, e, i, _)| (*e, i.to_string().into_bytes()))
        .chain([("authorize_url", b"not json".to_vec()), ("exchange_code", b"{}".to_vec())])
        .collect();
    let mut mem_after = |calls: usize| -> u64 {
        for i in 0..calls {
            let (e, input) = &mixed[i % mixed.len()];
            let _: String = p.call(e, input.as_slice()).unwrap();
        }
        let m: String = p.call("memory_bytes", "").unwrap();
        m.parse().unwrap_or(0)
    };
    let memory = [mem_after(1), mem_after(999), mem_after(9000)];
    ColdStart {
        compile,
        compile_cached,
        instantiate: median_of(complete),
        new_from_compiled: median_of(made),
        first_call: median_of(firsts),
        with_fuel,
        without_fuel,
        memory,
    }
}
