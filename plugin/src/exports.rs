//! The extism export layer: read the input bytes and the platform configuration, call the core,
//! return its envelope. Every export answers with an envelope; an extism error means the call
//! itself failed, never that the connector refused.
//!
//! It uses extism-pdk's memory primitives, not its `anyhow`-returning conveniences
//! (`config::get`, `Memory::from_bytes`, `#[host_fn]` with `Json`): nothing here can fail in a way
//! an `anyhow::Error` would describe, and linking one brings its `Debug` (with std's backtrace
//! printer and symbol demangler, about 32 KB) into a module that never prints it. It also means a
//! configuration value that is not UTF-8 reads as absent, where `config::get` would trap.

use extism_pdk::memory::internal;
use extism_pdk::{extism, ManagedMemory, Memory};

use crate::api;
use crate::http::{
    FederatedTokenOutcome, FederatedTokenRequest, HttpClient, HttpOutcome, HttpRequest, SignOutcome, SignRequest,
    TransportKind,
};
use crate::secret::Secret;
use crate::settings::Platform;

#[link(wasm_import_module = "extism:host/user")]
extern "C" {
    /// The host's outbound HTTP: the offset of a JSON `HttpRequest` in extism's memory in, the
    /// offset of a JSON `HttpOutcome` out.
    fn connector_http(request: u64) -> u64;
    /// The host's signing (optional in interface v1, declared in the manifest's
    /// `host_functions`): the offset of a JSON `SignRequest` in, of a JSON `SignOutcome` out.
    fn connector_sign(request: u64) -> u64;
    /// The host's workload identity token (optional, declared like `connector_sign`): the offset
    /// of a JSON `FederatedTokenRequest` in, of a JSON `FederatedTokenOutcome` out.
    fn connector_federated_token(request: u64) -> u64;
}

/// A new block of extism's memory holding `bytes`.
fn memory_with(bytes: &[u8]) -> Memory {
    let handle = internal::memory_alloc(bytes.len() as u64);
    internal::store(handle, bytes);
    Memory(handle)
}

/// One round trip through a host function that takes a JSON document and answers one; None
/// when the request cannot be written or the answer read.
fn host_call<Q: serde::Serialize, A: serde::de::DeserializeOwned>(
    f: unsafe extern "C" fn(u64) -> u64,
    request: &Q,
) -> Option<A> {
    host_call_with(f, &serde_json::to_vec(request).ok()?)
}

/// [`host_call`] with the request document already written.
fn host_call_with<A: serde::de::DeserializeOwned>(f: unsafe extern "C" fn(u64) -> u64, body: &[u8]) -> Option<A> {
    // Freed when the call returns.
    let request = ManagedMemory::from(memory_with(body));
    let answer = unsafe { f(request.offset()) };
    serde_json::from_slice(&Memory::find(answer)?.to_vec()).ok()
}

/// The host's services: outbound HTTP through `connector_http`, signing through `connector_sign`,
/// a workload identity's token through `connector_federated_token`.
struct HostHttp;

impl HttpClient for HostHttp {
    fn send(&mut self, request: &mut HttpRequest) -> HttpOutcome {
        // Written by hand (`json_out`): the hot path's largest document after the answer.
        host_call_with(connector_http, &crate::json_out::request(request))
            .unwrap_or_else(|| HttpOutcome::transport(TransportKind::Io, "the host could not carry out the request"))
    }

    fn sign(&mut self, request: &SignRequest) -> SignOutcome {
        host_call(connector_sign, request).unwrap_or_else(|| {
            SignOutcome::failed("invalid_request", "the host's answer to connector_sign was not readable")
        })
    }

    fn federated_token(&mut self, request: &FederatedTokenRequest) -> FederatedTokenOutcome {
        host_call(connector_federated_token, request).unwrap_or_else(|| {
            FederatedTokenOutcome::failed(
                "invalid_request",
                "the host's answer to connector_federated_token was not readable",
            )
        })
    }
}

/// A platform configuration value; absent when unset, empty or not UTF-8.
fn config_value(key: &str) -> Option<String> {
    // The host takes the key's block over (and frees it).
    let offset = unsafe { extism::config_get(memory_with(key.as_bytes()).offset()) };
    let value = Memory::find(offset)?;
    let bytes = value.to_vec();
    value.free();
    String::from_utf8(bytes).ok().filter(|v| !v.is_empty())
}

fn platform() -> Platform {
    Platform {
        client_id: config_value("client_id"),
        client_secret: config_value("client_secret").map(Secret::new),
        client_certificate: config_value("client_certificate"),
        client_private_key: config_value("client_private_key"),
        federated_token_file: config_value("federated_token_file"),
        login_base_url: config_value("login_base_url"),
        graph_base_url: config_value("graph_base_url"),
    }
}

thread_local! {
    /// This instance's remembered answers (wasm runs one call at a time per instance).
    static MEMO: std::cell::RefCell<api::Memo> = std::cell::RefCell::new(api::Memo::default());
    /// This instance's platform configuration, read at its first call that needs it. Extism fixes
    /// an instance's configuration when the host makes it (the manifest's `config`; the host can
    /// read it afterwards but not change it), so reading it once per instance is exact, and every
    /// later call saves a host round trip per key (seven keys, about 3 us each in wasm).
    static PLATFORM: std::cell::OnceCell<Platform> = const { std::cell::OnceCell::new() };
}

/// Runs one export: input bytes in, the envelope out. Written without `#[plugin_fn]`, which
/// wraps every export in code that formats extism errors (about 8 KB over the ten exports) for
/// a path an envelope never takes.
fn run(export: &str) -> i32 {
    let input = extism_pdk::input_bytes();
    let call = |platform: &Platform| MEMO.with(|memo| memo.borrow_mut().call(export, &input, platform, &mut HostHttp));
    // An export that needs no platform configuration does not read it.
    let answer = if api::needs_platform(export) {
        PLATFORM.with(|p| call(p.get_or_init(platform)))
    } else {
        call(&Platform::default())
    };
    answer_with(&answer)
}

/// Sets `text` as the call's output.
fn answer_with(text: &str) -> i32 {
    memory_with(text.as_bytes()).set_output();
    0
}

/// One `#[no_mangle]` function per export of the interface's table.
macro_rules! exports {
    ($(($name:ident, $variant:ident, $required:literal, $input:ident, $output:ident)),* $(,)?) => {
        $(
            #[doc = concat!("The `", stringify!($name), "` export of interface v1.")]
            #[no_mangle]
            pub extern "C" fn $name() -> i32 {
                run(stringify!($name))
            }
        )*
    };
}

connector_interface::interface_v1_exports!(exports);

/// The interface version this plugin implements; the host checks it at load.
#[no_mangle]
pub extern "C" fn interface_version() -> i32 {
    answer_with(INTERFACE_VERSION)
}

/// [`connector_interface::INTERFACE_VERSION`] as the text the export answers.
const INTERFACE_VERSION: &str = {
    assert!(connector_interface::INTERFACE_VERSION == 1, "update the text below with the version");
    "1"
};

/// The cheapest possible export: a constant envelope. Benchmarks measure the extism floor with it.
#[no_mangle]
pub extern "C" fn noop() -> i32 {
    answer_with("{\"ok\":{}}")
}

/// An envelope of exactly N bytes, N being the decimal number its input starts with (at most
/// 4 MiB); the rest of the input is ignored, but loaded like any export's. Benchmarks measure
/// with it what extism charges for moving an export's input and answer, without the work.
#[no_mangle]
pub extern "C" fn sized_noop() -> i32 {
    let input = extism_pdk::input_bytes();
    let n = input.iter().take_while(|b| b.is_ascii_digit()).take(8).fold(0usize, |n, b| n * 10 + usize::from(b - b'0'));
    answer_with(&crate::api::sized_envelope(n.min(4 << 20)))
}

/// This instance's linear memory in bytes (for leak checks).
#[no_mangle]
pub extern "C" fn memory_bytes() -> i32 {
    answer_with(&(core::arch::wasm32::memory_size(0) * 65536).to_string())
}
