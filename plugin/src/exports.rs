//! The extism export layer: read the input bytes and the platform configuration, call the core,
//! return its envelope. Every export answers with an envelope; an extism error means the call
//! itself failed, never that the connector refused.

use extism_pdk::*;

use crate::api;
use crate::http::{HttpClient, HttpOutcome, HttpRequest, TransportError};
use crate::secret::Secret;
use crate::settings::Platform;

#[host_fn]
extern "ExtismHost" {
    fn connector_http(request: Json<HttpRequest>) -> Json<HttpOutcome>;
}

/// Outbound HTTP through the host's `connector_http` function.
struct HostHttp;

impl HttpClient for HostHttp {
    fn send(&mut self, request: &HttpRequest) -> HttpOutcome {
        match unsafe { connector_http(Json(request.clone())) } {
            Ok(Json(outcome)) => outcome,
            Err(_) => HttpOutcome::TransportError(TransportError {
                kind: "io".into(),
                message: "the host could not carry out the request".into(),
            }),
        }
    }
}

fn platform() -> Platform {
    let get = |k: &str| config::get(k).ok().flatten().filter(|v| !v.is_empty());
    Platform {
        client_id: get("client_id"),
        client_secret: get("client_secret").map(Secret::new),
        login_base_url: get("login_base_url"),
        graph_base_url: get("graph_base_url"),
    }
}

thread_local! {
    /// This instance's remembered answers (wasm runs one call at a time per instance).
    static MEMO: std::cell::RefCell<api::Memo> = std::cell::RefCell::new(api::Memo::default());
}

fn run(export: &str, input: Vec<u8>) -> FnResult<String> {
    Ok(MEMO.with(|memo| memo.borrow_mut().call(export, &input, &platform(), &mut HostHttp)))
}

/// The interface version this plugin implements; the host checks it at load.
#[plugin_fn]
pub fn interface_version(_: ()) -> FnResult<String> {
    Ok("1".into())
}

/// The cheapest possible export: a constant envelope. Benchmarks measure the extism floor with it.
#[plugin_fn]
pub fn noop(_: ()) -> FnResult<String> {
    Ok("{\"ok\":{}}".into())
}

/// This instance's linear memory in bytes (for leak checks).
#[plugin_fn]
pub fn memory_bytes(_: ()) -> FnResult<String> {
    Ok((core::arch::wasm32::memory_size(0) * 65536).to_string())
}

#[plugin_fn]
pub fn describe(input: Vec<u8>) -> FnResult<String> {
    run("describe", input)
}

#[plugin_fn]
pub fn validate_settings(input: Vec<u8>) -> FnResult<String> {
    run("validate_settings", input)
}

#[plugin_fn]
pub fn list_scopes(input: Vec<u8>) -> FnResult<String> {
    run("list_scopes", input)
}

#[plugin_fn]
pub fn authorize_url(input: Vec<u8>) -> FnResult<String> {
    run("authorize_url", input)
}

#[plugin_fn]
pub fn admin_consent_url(input: Vec<u8>) -> FnResult<String> {
    run("admin_consent_url", input)
}

#[plugin_fn]
pub fn exchange_code(input: Vec<u8>) -> FnResult<String> {
    run("exchange_code", input)
}

#[plugin_fn]
pub fn refresh_token(input: Vec<u8>) -> FnResult<String> {
    run("refresh_token", input)
}

#[plugin_fn]
pub fn client_credentials(input: Vec<u8>) -> FnResult<String> {
    run("client_credentials", input)
}

#[plugin_fn]
pub fn test_connection(input: Vec<u8>) -> FnResult<String> {
    run("test_connection", input)
}

#[plugin_fn]
pub fn classify_error(input: Vec<u8>) -> FnResult<String> {
    run("classify_error", input)
}
