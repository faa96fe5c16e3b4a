//! The connectors the bench times and the HTTP boundaries it gives them: the host's, a native
//! one over ureq, one that records an answer and one that replays it.

use connector_host::mock_idp;
use entra_id_connector::http::{HttpClient, HttpOutcome, HttpRequest, HttpResponse, TransportError, TransportKind};
use extism::{Function, Manifest, Plugin, PluginBuilder, UserData, Wasm, PTR};
use host_harness::ConnectorHost;
use mock_entra::MockEntra;

/// Instances a bare engine of the bench holds at once, at most (it keeps batches of 25 alive).
const BENCH_MAX_INSTANCES: u32 = 64;

/// The connector's HTTP boundary natively, over ureq, for native figures of network exports.
pub struct NativeHttp(pub ureq::Agent);

impl HttpClient for NativeHttp {
    fn send(&mut self, r: &mut HttpRequest) -> HttpOutcome {
        let mut b = ureq::http::Request::builder().method(r.method.as_str()).uri(r.url.as_str());
        for (k, v) in &r.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        let req = b.body(r.body.clone().unwrap_or_default().into_bytes()).unwrap();
        match self.0.run(req) {
            Ok(mut resp) => HttpOutcome::Response(HttpResponse {
                status: resp.status().as_u16(),
                headers: resp
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                    .collect(),
                body: resp.body_mut().read_to_string().unwrap_or_default(),
            }),
            Err(e) => HttpOutcome::TransportError(TransportError { kind: TransportKind::Io, message: e.to_string() }),
        }
    }
}

/// Keeps the last outcome a client gave, to replay it, and the length of the last request's
/// document.
pub struct Recording<C>(pub C, pub Option<HttpOutcome>, pub Option<usize>);

impl<C: HttpClient> HttpClient for Recording<C> {
    fn send(&mut self, r: &mut HttpRequest) -> HttpOutcome {
        self.2 = serde_json::to_vec(&*r).ok().map(|d| d.len());
        let outcome = self.0.send(r);
        self.1 = Some(outcome.clone());
        outcome
    }
}

/// Answers every request with the same outcome.
pub struct Canned(pub HttpOutcome);

impl HttpClient for Canned {
    fn send(&mut self, _: &mut HttpRequest) -> HttpOutcome {
        self.0.clone()
    }
}

/// A bare instance configured as the host configures the connector for the mock, whose
/// `connector_http` answers every request with `outcome`: a network export's own work, without the
/// network and without the host's outbound path.
pub fn canned_instance(module: &Wasm, mock: &MockEntra, outcome: &HttpOutcome) -> Plugin {
    let config = mock_idp::load_options(&mock.base_url()).config;
    let manifest = Manifest::new([module.clone()]).with_config(config.into_iter());
    bare_builder(manifest, serde_json::to_string(outcome).unwrap(), true).build().unwrap()
}

/// A connector built outside `ConnectorHost`, with the host's engine configuration and compile
/// cache, whose `connector_http` answers every request with `answer`, with or without fuel.
pub fn bare_builder(manifest: Manifest, answer: String, fuel: bool) -> PluginBuilder<'static> {
    let http = Function::new("connector_http", [PTR], [PTR], UserData::new(()), move |plugin, _inputs, outputs, _| {
        let h = plugin.memory_new(&answer)?;
        outputs[0] = plugin.memory_to_val(h);
        Ok(())
    });
    // The module imports the optional host functions too; no benchmarked export uses them.
    let not_offered = |name: &'static str| {
        Function::new(name, [PTR], [PTR], UserData::new(()), |plugin, _inputs, outputs, _| {
            let h = plugin.memory_new(r#"{"error":{"code":"not_offered","message":"not in the benchmark"}}"#)?;
            outputs[0] = plugin.memory_to_val(h);
            Ok(())
        })
    };
    let b = PluginBuilder::new(manifest)
        .with_wasmtime_config(host_harness::host::engine_config(BENCH_MAX_INSTANCES))
        .with_wasi(false)
        .with_functions([http, not_offered("connector_sign"), not_offered("connector_federated_token")]);
    let b = host_harness::cache::apply(b, &host_harness::CompileCache::Platform).expect("the compile cache");
    if fuel {
        b.with_fuel_limit(5_000_000_000)
    } else {
        b
    }
}

pub fn host_for(mock: &MockEntra) -> ConnectorHost {
    let options = mock_idp::load_options(&mock.base_url());
    ConnectorHost::load(&crate::root().join("manifests/microsoft-entra-id.json"), &options)
        .expect("the connector loads (make build)")
}

/// Bytes of machine code wasmtime makes of the module with the host's engine configuration plus the
/// fuel metering and epoch checks extism adds: what a warm-cache load reads and decompresses.
pub fn compiled_bytes(wasm: &[u8]) -> usize {
    let mut config = host_harness::host::engine_config(BENCH_MAX_INSTANCES);
    config.consume_fuel(true).epoch_interruption(true);
    wasmtime::Engine::new(&config).and_then(|engine| engine.precompile_module(wasm)).map_or(0, |code| code.len())
}

pub fn builder(module: &Wasm) -> PluginBuilder<'static> {
    builder_fuel(module, true)
}

/// The connector with the platform's app configured, every request refused.
pub fn builder_fuel(module: &Wasm, fuel: bool) -> PluginBuilder<'static> {
    let manifest = Manifest::new([module.clone()]).with_config_key("client_id", mock_entra::TEST_CLIENT_ID);
    bare_builder(manifest, r#"{"transport_error":{"kind":"blocked_host","message":"bench"}}"#.into(), fuel)
}
