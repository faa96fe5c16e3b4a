//! Hostile modules: a call that spins forever and one that grows memory without bound are
//! stopped (fuel, memory cap) without harming the host or a call running beside them.

use std::time::{Duration, Instant};

use e2e::*;
use host_harness::{ConnectorHost, HostError, LoadOptions};
use serde_json::json;

/// A hand-assembled module: `spin` loops forever; `grow` asks for one more page forever.
/// (module (memory 1) (func $spin (loop (br 0))) (func $grow (loop (drop (memory.grow (i32.const 1))) (br 0)))
///         (export "spin" (func $spin)) (export "grow" (func $grow)))
const HOSTILE: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type: () -> ()
    0x03, 0x03, 0x02, 0x00, 0x00, // two functions of type 0
    0x05, 0x03, 0x01, 0x00, 0x01, // memory: min 1 page
    0x07, 0x0f, 0x02, 0x04, b's', b'p', b'i', b'n', 0x00, 0x00, 0x04, b'g', b'r', b'o', b'w', 0x00,
    0x01, // exports
    0x0a, 0x16, 0x02, // code: two bodies
    0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b, // spin: loop br 0 end end
    0x0c, 0x00, 0x03, 0x40, 0x41, 0x01, 0x40, 0x00, 0x1a, 0x0c, 0x00, 0x0b,
    0x0b, // grow: loop (i32.const 1) memory.grow drop br 0 end end
];

fn hostile_host(dir: &std::path::Path) -> ConnectorHost {
    std::fs::write(dir.join("hostile.wasm"), HOSTILE).unwrap();
    let manifest = json!({
        "id": "hostile", "name": "Hostile", "version": "0.0.1", "interface_version": 1,
        "wasm": {"path": "hostile.wasm", "sha256": host_harness::manifest::sha256_hex(HOSTILE)},
        "allowed_hosts": [], "timeout_ms": 2000, "limits": {"max_fuel": 200_000_000, "max_pages": 64}
    });
    std::fs::write(dir.join("hostile.json"), manifest.to_string()).unwrap();
    ConnectorHost::load(&dir.join("hostile.json"), &LoadOptions { skip_interface_check: true, ..Default::default() })
        .unwrap()
}

#[test]
fn runaway_calls_are_stopped_without_harming_others() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = std::sync::Arc::new(hostile_host(dir.path()));
    for export in ["spin", "grow"] {
        let h = hostile.clone();
        let started = Instant::now();
        let runaway = std::thread::spawn(move || h.call_raw(export, b""));
        // The real connector keeps answering while the runaway burns its budget.
        let mut answered = 0;
        while !runaway.is_finished() {
            assert!(shared_host().v1().describe(&Default::default()).unwrap().is_ok());
            answered += 1;
        }
        match (export, runaway.join().unwrap()) {
            ("spin", Err(HostError::OutOfFuel { export: e })) | ("grow", Err(HostError::OutOfMemory { export: e })) => {
                assert_eq!(e, export)
            }
            (_, other) => panic!("{export}: expected a limit to stop it, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{export} ran {:?}", started.elapsed());
        assert!(answered > 0);
    }
    // The hostile host itself still works for the next call (a fresh instance).
    assert!(matches!(hostile.call_raw("spin", b""), Err(HostError::OutOfFuel { .. })));
}

/// A refresh that must fail (its endpoint misbehaves); the error it ends with.
fn failed_refresh(host: &ConnectorHost) -> host_harness::ConnectorError {
    host.call(
        "refresh_token",
        &json!({"settings": {"name": "n", "scopes": ["User.Read"]}, "refresh_token": "rt", "now": now()}),
    )
    .unwrap()
    .unwrap_err()
}

#[test]
fn a_token_endpoint_that_never_answers_ends_at_the_timeout_as_transient() {
    let silent = TinyServer::start(|_| (Duration::from_secs(30), String::new()));
    let host = host_towards(&silent.base(), &silent.base(), Some(1000));
    let started = Instant::now();
    let e = failed_refresh(&host);
    assert_eq!(e.code(), "transient");
    assert_eq!(details(&e)["provider"]["transport_error"], "timeout");
    assert!(started.elapsed() < Duration::from_millis(2500), "{:?}", started.elapsed());
}

#[test]
fn a_huge_response_is_cut_at_the_cap_and_classified() {
    let w = World::new();
    w.mock.script(
        e2e::mock_entra::Endpoint::Token,
        e2e::mock_entra::Calls::Next(1),
        e2e::mock_entra::Fault::HugeBody { bytes: 100 * 1024 * 1024 },
    );
    let e = w
        .host
        .call("client_credentials", &json!({"settings": {"name": "n", "scopes": ["User.Read.All"], "grant": "client_credentials", "tenant": e2e::mock_entra::TEST_TENANT_ID}, "now": now()}))
        .unwrap()
        .unwrap_err();
    assert_eq!(e.code(), "transient");
    assert_eq!(details(&e)["provider"]["transport_error"], "too_large");
}

#[test]
fn a_token_endpoint_that_answers_one_byte_a_second_ends_at_the_timeout() {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut conn, _)) = listener.accept() {
            let mut buf = [0u8; 4096];
            let _ = std::io::Read::read(&mut conn, &mut buf);
            let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 40\r\n\r\n{\"access_token\":\"x\",\"expires_in\":3600}";
            for b in answer {
                if conn.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    let host = host_towards(&base, &base, Some(1500));
    let started = Instant::now();
    let e = failed_refresh(&host);
    assert_eq!((e.code(), details(&e)["provider"]["transport_error"].as_str()), ("transient", Some("timeout")));
    assert!(started.elapsed() < Duration::from_millis(3000), "{:?}", started.elapsed());
}
