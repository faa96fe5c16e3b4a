//! Every fuzz seed through the real .wasm: an envelope within the timeout, never a trap.

use std::time::Instant;

use e2e::*;

#[test]
fn every_seed_through_the_wasm() {
    let host = shared_host();
    let root = root().join("fuzz/corpus");
    let mut n = 0;
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        let export = dir.file_name().unwrap().to_str().unwrap().to_string();
        for file in std::fs::read_dir(&dir).unwrap() {
            let input = std::fs::read(file.unwrap().path()).unwrap();
            let started = Instant::now();
            let text = host.call_raw(&export, &input).unwrap_or_else(|e| panic!("{export}: host error {e}"));
            assert!(started.elapsed() < host.timeout());
            let _answer = host_harness::error::parse_envelope::<serde_json::Value>(&export, &text)
                .unwrap_or_else(|e| panic!("{export}: {e}"));
            n += 1;
        }
    }
    assert!(n >= 20, "{n} seeds");
}
