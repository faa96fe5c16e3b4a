//! Loading a connector and calling its exports.
//!
//! The module is compiled once ([`extism::CompiledPlugin`]); instances are made from it, at most
//! `LoadOptions::max_instances` at once, and idle ones kept for reuse (`instances.rs`), one call
//! per instance at a time. A call's CPU is bounded by fuel (per
//! store, so a runaway call never interrupts another: extism's epoch timeout is engine-wide)
//! and its outbound HTTP by the call's deadline, through the host's own `connector_http`.
//! Where a connector declares `connector_sign`, it signs with the keys of the call in progress
//! (and the platform's own), never holding them (`signing.rs`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use connector_interface::exports::required_names;
use connector_interface::federated::{FederatedTokenOutcome, FederatedTokenRequest, FEDERATED_TOKEN_FUNCTION};
use connector_interface::sign::{SignOutcome, SignRequest, SIGN_FUNCTION};
use connector_interface::{Export, HttpOutcome, HttpRequest, TransportKind};
use extism::{CompiledPlugin, CurrentPlugin, Function, PluginBuilder, UserData, Val, PTR};
use serde_json::Value;

use crate::cache::{self, CompileCache};
use crate::error::{parse_envelope, CallResult, ConfigError, HostError};
use crate::instances::{Instances, Lease, LeaseError};
use crate::manifest::{self, LoadedManifest};
use crate::outbound::{HostPolicy, Outbound};
use crate::resolver::Egress;
use crate::signing::Keys;
use crate::token_files::TokenFiles;

/// The optional host functions this host offers (a manifest's `host_functions`).
pub const HOST_FUNCTIONS: &[&str] = &[SIGN_FUNCTION, FEDERATED_TOKEN_FUNCTION];

/// Instances of one connector alive at once unless `LoadOptions::max_instances` says otherwise.
pub const DEFAULT_MAX_INSTANCES: u32 = 32;

/// The most `LoadOptions::max_instances` may be: their slots' address space (16 TiB at this
/// bound) must fit beside other connectors in a process's 128 TiB.
pub const MAX_INSTANCES_LIMIT: u32 = 1024;

/// The wasmtime configuration every connector is compiled with; extism adds its own settings
/// (fuel, epoch interruption, the compile cache) on top.
///
/// Two of wasmtime's defaults are turned off, both for a platform that loads modules, not a
/// debugger (see `Config::native_unwind_info` and `Config::generate_address_map`):
/// - native unwind information (`.eh_frame`) exists only for native unwinders and profilers to walk
///   through wasm frames; wasmtime's own traps and backtraces do not use it, and registering it is
///   a cost of every load;
/// - the map from machine code back to wasm offsets serves backtraces of a trap, and the shipped
///   module has no names for them to show; a trap still reports its kind.
///
/// Together they make the compiled module about 15 % smaller, which is what a warm-cache load
/// reads and decompresses (docs/performance.md).
///
/// Instances are placed by wasmtime's pooling allocator, sized for `max_instances` extism plugins:
/// a new instance takes slots reserved at load instead of mapping and unmapping its memories,
/// which makes it about a third cheaper (docs/performance.md). An extism plugin takes four slots
/// of a kind: extism's kernel, the connector's module twice (extism instantiates it once when it
/// links and again at the first call) and the store's GC heap (which holds extism's host-context
/// reference); `instances.rs` tests that `max_instances` plugins fit. A memory slot reserves
/// address space, not memory: 4 GiB (what spares compiled code its bounds checks) and a guard,
/// so about half a TiB for 32 plugins; what a call touched is given back when its instance goes.
pub fn engine_config(max_instances: u32) -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config.native_unwind_info(false).generate_address_map(false);
    let slots = max_instances.max(1).saturating_mul(4);
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    pool.total_core_instances(slots).total_memories(slots).total_tables(slots).total_gc_heaps(slots);
    // Extism calls synchronously and loads no components: no fiber stacks (the default 1 000 of
    // them cost every load about 7 ms) and no component instances.
    pool.total_stacks(0).total_component_instances(0);
    config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    config
}

/// The module as the host gives it to extism: by its path, with the manifest's pin (which
/// `manifest::load` found equal to the bytes it read), so that extism, which reads it again to
/// compile, refuses any other bytes. Every instance starts from a copy of extism's manifest
/// (`Plugin::new_from_compiled`): given as data, the module itself (half a megabyte) was copied
/// into each instance, a quarter of the time making one took, and kept there.
pub fn extism_module(loaded: &LoadedManifest) -> extism::Wasm {
    extism::Wasm::file(&loaded.wasm_path).with_hash(&loaded.manifest.wasm.sha256)
}

/// How the platform loads a connector beyond what its manifest says.
#[derive(Clone, Default)]
pub struct LoadOptions {
    /// Platform configuration values (declared keys only), over their environment variables.
    pub config: BTreeMap<String, String>,
    /// Hosts allowed in addition to the manifest's (a test harness adds its mock's address).
    pub extra_allowed_hosts: Vec<String>,
    /// Overrides the manifest's call timeout.
    pub timeout_ms: Option<u64>,
    /// Instances alive at once, at most ([`DEFAULT_MAX_INSTANCES`] when unset): more calls at
    /// once wait for a free instance, within their timeout.
    pub max_instances: Option<u32>,
    /// Where compiled connectors are cached between loads (`cache.rs`).
    pub cache: CompileCache,
    /// Skips the interface check at load (only for tests that load hostile modules).
    pub skip_interface_check: bool,
    /// Test mode: loopback addresses, and plain http towards them, are reachable (for a mock on
    /// 127.0.0.1). Everything else is https to public addresses, whatever this says.
    pub allow_loopback: bool,
    /// Fixed name resolution in place of DNS (tests of what an allowed name may resolve to).
    pub resolver: Option<std::sync::Arc<std::collections::BTreeMap<String, Vec<std::net::IpAddr>>>>,
    /// Keeps every export's input and every `connector_sign` request the module makes (for the
    /// conformance suite and tests that prove what a connector is, and is not, given).
    pub recorder: Option<Recorder>,
}

/// The configuration's values and what a recorder kept may be secrets (a client secret, a
/// private key's file, codes): `Debug` names the keys and counts, never a value.
impl std::fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadOptions")
            .field("config_keys", &self.config.keys().collect::<Vec<_>>())
            .field("extra_allowed_hosts", &self.extra_allowed_hosts)
            .field("timeout_ms", &self.timeout_ms)
            .field("max_instances", &self.max_instances)
            .field("cache", &self.cache)
            .field("skip_interface_check", &self.skip_interface_check)
            .field("allow_loopback", &self.allow_loopback)
            .field("resolver", &self.resolver)
            .field("recorder", &self.recorder.as_ref().map(|r| r.lock().map(|v| v.len()).unwrap_or(0)))
            .finish()
    }
}

#[cfg(test)]
mod load_options_tests {
    use super::*;

    #[test]
    fn debug_names_configuration_keys_never_values() {
        let mut o = LoadOptions { recorder: Some(Default::default()), ..Default::default() };
        o.config.insert("client_secret".into(), "s3cr3t-value".into());
        record(&o.recorder, "exchange_code", b"code-value");
        let d = format!("{o:?}");
        assert!(d.contains("client_secret") && !d.contains("s3cr3t") && !d.contains("code-value"), "{d}");
    }
}

/// What crossed into the module: `(export or host function, bytes)`, in order.
pub type Recorder = Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

fn record(recorder: &Option<Recorder>, what: &str, bytes: &[u8]) {
    if let Some(r) = recorder {
        r.lock().unwrap_or_else(|e| e.into_inner()).push((what.to_string(), bytes.to_vec()));
    }
}

/// Per-call context handed to the host functions.
struct CallContext {
    deadline: Instant,
    /// The platform's own keys (its app's certificate), for every call.
    host_keys: Arc<Keys>,
    /// The keys of this call (a connection's certificate), none for most calls.
    call_keys: Option<Keys>,
    /// The platform's token files (workload identity), read anew for every request.
    token_files: Arc<TokenFiles>,
    recorder: Option<Recorder>,
}

pub struct ConnectorHost {
    loaded: LoadedManifest,
    /// The fuel each call starts with (`limits.max_fuel`).
    max_fuel: u64,
    instances: Instances,
    timeout: Duration,
    outbound: Outbound,
    host_keys: Arc<Keys>,
    token_files: Arc<TokenFiles>,
    recorder: Option<Recorder>,
    /// Whether the module exports a name, as found at its first call: the module never changes,
    /// and asking extism each time builds and drops the export's function type (a fifth of an
    /// empty call, docs/performance.md).
    exports: ExportNames,
}

/// Names looked up in a loaded module, at most [`ExportNames::MAX`] of them remembered (a
/// caller that tries many names that do not exist cannot grow it).
#[derive(Default)]
struct ExportNames(std::sync::RwLock<std::collections::HashMap<String, bool>>);

impl ExportNames {
    const MAX: usize = 256;

    fn exists(&self, plugin: &extism::Plugin, export: &str) -> bool {
        if let Some(&known) = self.0.read().unwrap_or_else(|e| e.into_inner()).get(export) {
            return known;
        }
        let exists = plugin.function_exists(export);
        let mut names = self.0.write().unwrap_or_else(|e| e.into_inner());
        if names.len() < Self::MAX {
            names.insert(export.to_string(), exists);
        }
        exists
    }
}

/// A host function that takes one JSON document and answers one: the request is read (and
/// recorded) and `answer` gives the outcome from the call's context; `not_a_request` answers an
/// input that is not the request document, `no_context` a call without a context.
fn json_host_function<Q: serde::de::DeserializeOwned, A: serde::Serialize>(
    plugin: &mut CurrentPlugin,
    inputs: &[Val],
    outputs: &mut [Val],
    name: &str,
    answer: impl FnOnce(&CallContext, Q) -> A,
    not_a_request: A,
    no_context: A,
) -> Result<(), extism::Error> {
    let bytes: Vec<u8> = plugin.memory_get_val(&inputs[0])?;
    let outcome = match plugin.host_context::<CallContext>() {
        Ok(ctx) => {
            record(&ctx.recorder, name, &bytes);
            match serde_json::from_slice::<Q>(&bytes) {
                Ok(req) => answer(ctx, req),
                Err(_) => not_a_request,
            }
        }
        Err(_) => no_context,
    };
    let out = serde_json::to_vec(&outcome)?;
    let handle = plugin.memory_new(&out)?;
    outputs[0] = plugin.memory_to_val(handle);
    Ok(())
}

/// `connector_sign`: a JSON `SignRequest` in, a JSON `SignOutcome` out; signs only with a key of
/// the call in progress or of the platform.
fn connector_sign(
    plugin: &mut CurrentPlugin,
    inputs: &[Val],
    outputs: &mut [Val],
    _: UserData<()>,
) -> Result<(), extism::Error> {
    json_host_function(
        plugin,
        inputs,
        outputs,
        SIGN_FUNCTION,
        |ctx, req: SignRequest| match &ctx.call_keys {
            Some(keys) if keys.holds(&req.key) => keys.sign(&req),
            _ => ctx.host_keys.sign(&req),
        },
        SignOutcome::failed("invalid_request", "the input is not a connector_sign request document"),
        SignOutcome::failed("unknown_key", "no keys were given for this call"),
    )
}

/// `connector_federated_token`: a JSON `FederatedTokenRequest` in, a JSON
/// `FederatedTokenOutcome` out; the token file read now.
fn connector_federated_token(
    plugin: &mut CurrentPlugin,
    inputs: &[Val],
    outputs: &mut [Val],
    _: UserData<()>,
) -> Result<(), extism::Error> {
    json_host_function(
        plugin,
        inputs,
        outputs,
        FEDERATED_TOKEN_FUNCTION,
        |ctx, req: FederatedTokenRequest| ctx.token_files.read(&req),
        FederatedTokenOutcome::failed(
            "invalid_request",
            "the input is not a connector_federated_token request document",
        ),
        FederatedTokenOutcome::failed("unknown_source", "no token sources were given for this call"),
    )
}

fn connector_http(
    plugin: &mut CurrentPlugin,
    inputs: &[Val],
    outputs: &mut [Val],
    data: UserData<Outbound>,
) -> Result<(), extism::Error> {
    let bytes: Vec<u8> = plugin.memory_get_val(&inputs[0])?;
    let deadline = plugin.host_context::<CallContext>().ok().map(|c| c.deadline);
    let outbound = data.get()?.lock().map_err(|_| extism::Error::msg("outbound client lock poisoned"))?.clone();
    let outcome = match serde_json::from_slice::<HttpRequest>(&bytes) {
        Ok(req) => outbound.send(&req, deadline),
        Err(_) => {
            HttpOutcome::transport(TransportKind::InvalidUrl, "the request is not a valid host HTTP request document")
        }
    };
    let out = serde_json::to_vec(&outcome)?;
    let handle = plugin.memory_new(&out)?;
    outputs[0] = plugin.memory_to_val(handle);
    Ok(())
}

impl ConnectorHost {
    /// Loads the connector a manifest describes: every manifest check, compile, interface
    /// version and required exports.
    pub fn load(manifest_path: &Path, options: &LoadOptions) -> Result<ConnectorHost, HostError> {
        let loaded = manifest::load(manifest_path)?;
        Self::from_loaded(loaded, options)
    }

    pub fn from_loaded(loaded: LoadedManifest, options: &LoadOptions) -> Result<ConnectorHost, HostError> {
        let m = &loaded.manifest;
        if let Some(f) = m.host_functions.iter().find(|f| !HOST_FUNCTIONS.contains(&f.as_str())) {
            return Err(ConfigError::HostFunction { name: f.chars().take(64).collect() }.into());
        }
        let mut config = manifest::platform_config(m, &options.config)?;
        let host_keys = Arc::new(manifest::hold_private_keys(m, &mut config)?);
        let token_files = Arc::new(manifest::hold_token_files(m, &mut config)?);
        let mut hosts = m.allowed_hosts.clone();
        hosts.extend(options.extra_allowed_hosts.iter().cloned());
        let egress = Egress { allow_loopback: options.allow_loopback, answers: options.resolver.clone() };
        let max_instances = options.max_instances.unwrap_or(DEFAULT_MAX_INSTANCES);
        if !(1..=MAX_INSTANCES_LIMIT).contains(&max_instances) {
            return Err(ConfigError::MaxInstances { value: max_instances, limit: MAX_INSTANCES_LIMIT }.into());
        }
        let outbound = Outbound::new(
            HostPolicy::new(hosts),
            m.max_http_response_bytes(),
            Duration::from_millis(m.http_timeout_ms()),
            egress,
            max_instances as usize,
        );
        let extism_manifest = extism::Manifest::new([extism_module(&loaded)])
            .with_config(config.into_iter())
            .with_memory_max(m.max_pages());
        let http = Function::new("connector_http", [PTR], [PTR], UserData::new(outbound.clone()), connector_http);
        let sign = Function::new(SIGN_FUNCTION, [PTR], [PTR], UserData::new(()), connector_sign);
        let federated =
            Function::new(FEDERATED_TOKEN_FUNCTION, [PTR], [PTR], UserData::new(()), connector_federated_token);
        let builder = PluginBuilder::new(extism_manifest)
            .with_wasmtime_config(engine_config(max_instances))
            .with_wasi(false)
            .with_functions([http, sign, federated])
            .with_fuel_limit(m.max_fuel());
        let builder = cache::apply(builder, &options.cache)?;
        let compiled = CompiledPlugin::new(builder).map_err(|source| {
            manifest::changed_since_load(&loaded).map_or(HostError::Load { source }, HostError::from)
        })?;
        let host = ConnectorHost {
            max_fuel: m.max_fuel(),
            timeout: Duration::from_millis(options.timeout_ms.unwrap_or(m.timeout_ms())),
            loaded,
            instances: Instances::new(compiled, max_instances as usize),
            outbound,
            host_keys,
            token_files,
            recorder: options.recorder.clone(),
            exports: ExportNames::default(),
        };
        if !options.skip_interface_check {
            host.check_interface()?;
        }
        Ok(host)
    }

    fn check_interface(&self) -> Result<(), HostError> {
        let mut lease = self.instance("interface_version", Instant::now() + self.timeout)?;
        let p = lease.plugin();
        for export in required_names() {
            if !p.function_exists(export) {
                return Err(HostError::MissingExport(export.to_string()));
            }
        }
        let v: String = p.call("interface_version", "").map_err(|source| HostError::Load { source })?;
        if v.trim() != self.loaded.manifest.interface_version.to_string() {
            return Err(HostError::InterfaceVersion {
                expected: self.loaded.manifest.interface_version,
                found: v.chars().take(16).collect(),
            });
        }
        lease.keep();
        Ok(())
    }

    pub fn manifest(&self) -> &manifest::Manifest {
        &self.loaded.manifest
    }

    pub fn loaded(&self) -> &LoadedManifest {
        &self.loaded
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn allowed_hosts(&self) -> &[String] {
        self.outbound.policy().patterns()
    }

    /// The connector's outbound path (its allowed hosts, timeouts and size cap), for requests
    /// the platform makes on a connection's behalf.
    pub fn outbound(&self) -> &Outbound {
        &self.outbound
    }

    /// An instance for a call to `export`, waiting for one until `deadline` when all are busy.
    fn instance(&self, export: &str, deadline: Instant) -> Result<Lease<'_>, HostError> {
        self.instances.lease(deadline).map_err(|e| match e {
            LeaseError::Busy { max } => {
                HostError::Busy { export: export.into(), max, ms: self.timeout.as_millis() as u64 }
            }
            LeaseError::Make(source) => HostError::Load { source },
        })
    }

    /// Calls `export` with raw input bytes; returns the raw output text (an envelope).
    pub fn call_raw(&self, export: &str, input: &[u8]) -> Result<String, HostError> {
        self.call_raw_with(export, input, None)
    }

    /// As [`Self::call_raw`], the connector able to sign with `keys` during this call.
    pub fn call_raw_with(&self, export: &str, input: &[u8], keys: Option<&Keys>) -> Result<String, HostError> {
        // The call's time limit covers waiting for a free instance too.
        let started = Instant::now();
        let deadline = started + self.timeout;
        let mut lease = self.instance(export, deadline)?;
        let p = lease.plugin();
        if !self.exports.exists(p, export) {
            lease.keep();
            return Err(HostError::NoSuchExport { export: export.chars().take(64).collect() });
        }
        record(&self.recorder, export, input);
        let ctx = CallContext {
            deadline,
            host_keys: self.host_keys.clone(),
            call_keys: keys.cloned(),
            token_files: self.token_files.clone(),
            recorder: self.recorder.clone(),
        };
        let result: Result<String, extism::Error> = p.call_with_host_context(export, input, ctx);
        let elapsed = started.elapsed();
        tracing::debug!(export, elapsed_us = elapsed.as_micros() as u64, ok = result.is_ok(), "connector call");
        match result {
            Ok(out) => {
                lease.keep();
                if elapsed > self.timeout + Duration::from_millis(250) {
                    return Err(HostError::Timeout { export: export.into(), ms: self.timeout.as_millis() as u64 });
                }
                Ok(out)
            }
            Err(source) => {
                // The store's fuel, read before the instance goes: extism reports running out of
                // it as a message, but an empty tank is a fact of the store.
                let out_of_fuel = p.fuel_consumed().is_some_and(|used| used >= self.max_fuel);
                // A trapped instance may hold broken state: it is dropped, never reused.
                drop(lease);
                let export = export.to_string();
                Err(if out_of_fuel {
                    HostError::OutOfFuel { export }
                } else if source.root_cause().to_string() == extism_oom() {
                    HostError::OutOfMemory { export }
                } else {
                    HostError::Trap { export, code: source.downcast_ref::<wasmtime::Trap>().copied(), source }
                })
            }
        }
    }

    /// Calls `export` with a JSON input and splits the envelope, its `ok` as JSON (the raw view
    /// the command line's `call` and tests of hostile input use).
    pub fn call(&self, export: &str, input: &Value) -> CallResult<Value> {
        let text = self.call_raw(export, input.to_string().as_bytes())?;
        parse_envelope(export, &text)
    }

    /// The typed view of interface v1 over this connector: one method per export.
    pub fn v1(&self) -> V1<'_> {
        V1 { host: self, keys: None }
    }

    /// The typed view, the connector able to sign with `keys` during these calls (a
    /// connection's certificate key, held by the platform).
    pub fn v1_with<'a>(&'a self, keys: &'a Keys) -> V1<'a> {
        V1 { host: self, keys: Some(keys) }
    }

    /// How many instances wait in the idle pool.
    pub fn idle_instances(&self) -> usize {
        self.instances.idle()
    }

    /// How many instances are alive, idle or in a call (never more than `max_instances`).
    pub fn live_instances(&self) -> usize {
        self.instances.live()
    }

    pub fn max_instances(&self) -> usize {
        self.instances.max()
    }
}

/// What extism's memory limiter reports when a call's memory would pass `limits.max_pages`
/// (extism 1.41, `Plugin::raw_call`); extism gives no type for it.
fn extism_oom() -> &'static str {
    "oom"
}

/// Typed calls of interface v1: the input and output types of each export come from the
/// interface's table, so a connector's answer is read once, into its type.
pub struct V1<'a> {
    host: &'a ConnectorHost,
    keys: Option<&'a Keys>,
}

macro_rules! typed_calls {
    ($(($name:ident, $variant:ident, $required:literal, $input:ident, $output:ident)),* $(,)?) => {
        impl V1<'_> {
            $(
                #[doc = concat!("`", stringify!($name), "`: [`connector_interface::", stringify!($input), "`] in, [`connector_interface::", stringify!($output), "`] out.")]
                pub fn $name(&self, input: &connector_interface::$input) -> CallResult<connector_interface::$output> {
                    self.host.call_typed_with(Export::$variant, input, self.keys)
                }
            )*
        }
    };
}

connector_interface::interface_v1_exports!(typed_calls);

impl ConnectorHost {
    /// Calls an export of the table with a typed input; its answer read as `T`.
    pub fn call_typed<I: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        export: Export,
        input: &I,
    ) -> CallResult<T> {
        self.call_typed_with(export, input, None)
    }

    fn call_typed_with<I: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        export: Export,
        input: &I,
        keys: Option<&Keys>,
    ) -> CallResult<T> {
        // Serializing the interface's types cannot fail: maps with string keys, no floats as keys.
        let bytes = serde_json::to_vec(input).unwrap_or_default();
        let text = self.call_raw_with(export.name(), &bytes, keys)?;
        crate::error::parse_answer(export, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// wasmtime's compiled artifact (an ELF image) of a one-function module under `config`.
    fn compiled_with(config: wasmtime::Config) -> Vec<u8> {
        let wat = r#"(module (func (export "f") (param i32) (result i32) local.get 0 i32.const 1 i32.add))"#;
        wasmtime::Engine::new(&config).unwrap().precompile_module(wat.as_bytes()).unwrap()
    }

    fn has(artifact: &[u8], section: &str) -> bool {
        artifact.windows(section.len()).any(|w| w == section.as_bytes())
    }

    #[test]
    fn connectors_compile_without_unwind_info_or_address_map() {
        let default = compiled_with(wasmtime::Config::new());
        assert!(has(&default, ".eh_frame") && has(&default, ".wasmtime.addrmap"));
        let ours = compiled_with(engine_config(DEFAULT_MAX_INSTANCES));
        assert!(!has(&ours, ".eh_frame"), "unwind information is still emitted");
        assert!(!has(&ours, ".wasmtime.addrmap"), "the address map is still emitted");
        assert!(ours.len() < default.len());
    }
}
