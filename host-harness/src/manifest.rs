//! The connector manifest: parsed, checked against `manifests/manifest.schema.json`, and its
//! wasm file checked against the pinned SHA-256. Every refusal is one clear line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{ConfigError, HostError, ManifestError};
use crate::signing::{Keys, SigningKey};
use crate::token_files::TokenFiles;

/// The schema every manifest must satisfy.
pub const SCHEMA: &str = include_str!("../../manifests/manifest.schema.json");

/// Interface versions this host implements.
pub const SUPPORTED_INTERFACE_VERSIONS: &[u32] = &[1];

pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
pub const DEFAULT_HTTP_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_MAX_PAGES: u32 = 512;
pub const DEFAULT_MAX_HTTP_RESPONSE_BYTES: u64 = 4 * 1024 * 1024;
pub const DEFAULT_MAX_FUEL: u64 = 5_000_000_000;

#[derive(Debug, Clone, Deserialize)]
pub struct WasmRef {
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Limits {
    pub max_pages: Option<u32>,
    pub max_http_response_bytes: Option<u64>,
    pub max_fuel: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ConfigKey {
    pub key: String,
    pub description: String,
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub env: Option<String>,
    #[serde(default)]
    pub test_only: bool,
    /// A private key (PEM, or the path of a PEM file): the host keeps it and gives the
    /// connector a key reference for `connector_sign` in its place.
    #[serde(default)]
    pub private_key: bool,
    /// For a private key: the configuration key of its certificate, filled from a PKCS#12
    /// bundle when the private key is one and the certificate is not given.
    #[serde(default)]
    pub certificate: Option<String>,
    /// For a private key: the configuration key of a PKCS#12 bundle's password (never passed to
    /// the connector).
    #[serde(default)]
    pub password: Option<String>,
    /// The path of a file holding a workload identity's current token: the host reads it again
    /// for every `connector_federated_token` request and gives the connector a reference in its
    /// place.
    #[serde(default)]
    pub token_file: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub id: String,
    pub name: String,
    pub version: String,
    pub interface_version: u32,
    pub wasm: WasmRef,
    pub allowed_hosts: Vec<String>,
    pub timeout_ms: Option<u64>,
    pub http_timeout_ms: Option<u64>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub platform_config: Vec<ConfigKey>,
    /// Optional host functions the connector imports (`connector_sign`).
    #[serde(default)]
    pub host_functions: Vec<String>,
}

/// A manifest that passed every check, with its module's bytes.
#[derive(Debug, Clone)]
pub struct LoadedManifest {
    pub path: PathBuf,
    pub manifest: Manifest,
    pub wasm_path: PathBuf,
    pub wasm: Vec<u8>,
}

impl Manifest {
    pub fn timeout_ms(&self) -> u64 {
        self.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS)
    }
    pub fn http_timeout_ms(&self) -> u64 {
        self.http_timeout_ms.unwrap_or(DEFAULT_HTTP_TIMEOUT_MS).min(self.timeout_ms())
    }
    pub fn max_pages(&self) -> u32 {
        self.limits.max_pages.unwrap_or(DEFAULT_MAX_PAGES)
    }
    pub fn max_http_response_bytes(&self) -> u64 {
        self.limits.max_http_response_bytes.unwrap_or(DEFAULT_MAX_HTTP_RESPONSE_BYTES)
    }
    pub fn max_fuel(&self) -> u64 {
        self.limits.max_fuel.unwrap_or(DEFAULT_MAX_FUEL)
    }
}

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let schema: serde_json::Value = serde_json::from_str(SCHEMA).expect("the embedded manifest schema is JSON");
        jsonschema::validator_for(&schema).expect("the embedded manifest schema is a valid JSON Schema")
    })
}

/// Parses and checks a manifest document (no file access).
pub fn parse(path: &Path, text: &str) -> Result<Manifest, ManifestError> {
    let path_buf = || path.to_path_buf();
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|source| ManifestError::Json { path: path_buf(), source })?;
    // Host names are checked first: an IP literal or a public-suffix wildcard gets its reason,
    // not a schema pattern.
    let hosts = doc.get("allowed_hosts").and_then(serde_json::Value::as_array).into_iter().flatten();
    let problems: Vec<String> =
        hosts.filter_map(serde_json::Value::as_str).filter_map(crate::egress::host_entry_problem).collect();
    if !problems.is_empty() {
        return Err(ManifestError::AllowedHosts { path: path_buf(), problems });
    }
    let mut errors: Vec<String> = validator()
        .iter_errors(&doc)
        .map(|e| {
            let at = e.instance_path().to_string();
            let at =
                if at.is_empty() { "(top level)".to_string() } else { at.trim_start_matches('/').replace('/', ".") };
            format!("{at}: {e}")
        })
        .collect();
    if !errors.is_empty() {
        errors.sort();
        errors.truncate(3);
        return Err(ManifestError::Schema { path: path_buf(), errors });
    }
    let m: Manifest = serde_json::from_value(doc).map_err(|source| ManifestError::Json { path: path_buf(), source })?;
    if !SUPPORTED_INTERFACE_VERSIONS.contains(&m.interface_version) {
        return Err(ManifestError::UnsupportedVersion {
            path: path_buf(),
            version: m.interface_version,
            supported: SUPPORTED_INTERFACE_VERSIONS,
        });
    }
    Ok(m)
}

/// The lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Reads and parses the manifest at `path`; its text and the module's path beside it.
fn read(path: &Path) -> Result<(String, Manifest, PathBuf), ManifestError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ManifestError::Read { path: path.to_path_buf(), source })?;
    let manifest = parse(path, &text)?;
    let wasm_path = path.parent().unwrap_or(Path::new(".")).join(&manifest.wasm.path);
    Ok((text, manifest, wasm_path))
}

fn read_wasm(path: &Path, wasm_path: &Path) -> Result<Vec<u8>, ManifestError> {
    std::fs::read(wasm_path).map_err(|source| ManifestError::WasmRead {
        path: path.to_path_buf(),
        wasm: wasm_path.to_path_buf(),
        source,
    })
}

/// When the module on disk is no longer the one `loaded` read and checked against the pin (the
/// host hands extism the module's path, and extism reads it again): gone, or other bytes.
pub fn changed_since_load(loaded: &LoadedManifest) -> Option<ManifestError> {
    let now = match read_wasm(&loaded.path, &loaded.wasm_path) {
        Ok(bytes) => bytes,
        Err(gone) => return Some(gone),
    };
    // `load` found the bytes it read equal to the pin.
    let actual = sha256_hex(&now);
    (actual != loaded.manifest.wasm.sha256).then(|| ManifestError::HashMismatch {
        path: loaded.path.clone(),
        wasm: loaded.wasm_path.clone(),
        actual,
        pinned: loaded.manifest.wasm.sha256.clone(),
    })
}

/// Reads, validates and hash-checks a manifest and its module.
pub fn load(path: &Path) -> Result<LoadedManifest, ManifestError> {
    let (_, manifest, wasm_path) = read(path)?;
    let wasm = read_wasm(path, &wasm_path)?;
    let actual = sha256_hex(&wasm);
    if actual != manifest.wasm.sha256 {
        return Err(ManifestError::HashMismatch {
            path: path.to_path_buf(),
            wasm: wasm_path,
            actual,
            pinned: manifest.wasm.sha256.clone(),
        });
    }
    Ok(LoadedManifest { path: path.to_path_buf(), manifest, wasm_path, wasm })
}

/// Rewrites the manifest's pinned hash to match its wasm file (the packaging step of
/// `make build`). Returns the new hash and whether the file changed.
pub fn pin(path: &Path) -> Result<(String, bool), ManifestError> {
    let (text, manifest, wasm_path) = read(path)?;
    let actual = sha256_hex(&read_wasm(path, &wasm_path)?);
    if actual == manifest.wasm.sha256 {
        return Ok((actual, false));
    }
    let updated = text.replacen(&manifest.wasm.sha256, &actual, 1);
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, updated)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|source| ManifestError::Write { path: path.to_path_buf(), source })?;
    Ok((actual, true))
}

/// Platform configuration for the connector: each declared key from its environment variable,
/// then `overrides` (which may also set test-only keys).
pub fn platform_config(
    m: &Manifest,
    overrides: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, HostError> {
    let mut out = BTreeMap::new();
    for k in &m.platform_config {
        if k.test_only {
            continue;
        }
        if let Some(v) = k.env.as_deref().and_then(|e| std::env::var(e).ok()).filter(|v| !v.is_empty()) {
            out.insert(k.key.clone(), v);
        }
    }
    for (k, v) in overrides {
        if !m.platform_config.iter().any(|c| &c.key == k) {
            return Err(ConfigError::Undeclared(k.clone()).into());
        }
        out.insert(k.clone(), v.clone());
    }
    for k in m.platform_config.iter().filter(|k| k.required) {
        if !out.contains_key(&k.key) {
            return Err(ConfigError::Missing { key: k.key.clone(), env: k.env.clone() }.into());
        }
    }
    Ok(out)
}

/// Takes the private keys out of a connector's configuration: each is read (PEM text, or the
/// path of a PEM file), kept by the host, and replaced by its reference.
pub fn hold_private_keys(m: &Manifest, config: &mut BTreeMap<String, String>) -> Result<Keys, HostError> {
    let mut keys = Keys::default();
    for k in m.platform_config.iter().filter(|k| k.private_key) {
        let Some(value) = config.get(&k.key).cloned() else { continue };
        let password = k.password.as_ref().and_then(|p| config.remove(p)).unwrap_or_default();
        let (pem, bundle_certificate) = if value.trim_start().starts_with("-----BEGIN") {
            (value, None)
        } else {
            let unreadable = |reason: String| ConfigError::PrivateKeyFile { key: k.key.clone(), reason };
            let bytes = std::fs::read(value.trim()).map_err(|e| unreadable(e.kind().to_string()))?;
            if crate::pkcs12::looks_like_bundle(&bytes) {
                let b = crate::pkcs12::read(&bytes, &password)
                    .map_err(|problem| ConfigError::Pkcs12 { key: k.key.clone(), problem })?;
                (b.private_key_pem.clone(), Some(b.certificate_pem.clone()))
            } else {
                (String::from_utf8(bytes).map_err(|_| unreadable("it is neither PEM text nor PKCS#12".into()))?, None)
            }
        };
        // A certificate given beside the bundle wins over the bundle's own.
        if let (Some(cert), Some(cert_key)) = (bundle_certificate, &k.certificate) {
            config.entry(cert_key.clone()).or_insert(cert);
        }
        let key =
            SigningKey::from_pem(&pem).map_err(|problem| ConfigError::PrivateKey { key: k.key.clone(), problem })?;
        let reference = keys.insert(&format!("platform.{}", k.key), Arc::new(key));
        config.insert(k.key.clone(), reference);
    }
    Ok(keys)
}

/// Takes the token file paths out of a connector's configuration: each file must be readable
/// now (a workload identity's token is in place before the process starts), is held by the host
/// and replaced by its reference.
pub fn hold_token_files(m: &Manifest, config: &mut BTreeMap<String, String>) -> Result<TokenFiles, HostError> {
    let mut files = TokenFiles::default();
    for k in m.platform_config.iter().filter(|k| k.token_file) {
        let Some(value) = config.get(&k.key) else { continue };
        let path = PathBuf::from(value.trim());
        crate::token_files::read_token(&path)
            .map_err(|problem| ConfigError::TokenFile { key: k.key.clone(), problem })?;
        let reference = files.insert(&format!("platform.{}", k.key), path);
        config.insert(k.key.clone(), reference);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(text: &str) -> String {
        parse(Path::new("m.json"), text).unwrap_err().to_string()
    }

    const GOOD: &str = r#"{"id":"x-y","name":"X","version":"1.0.0","interface_version":1,"wasm":{"path":"a.wasm","sha256":"0000000000000000000000000000000000000000000000000000000000000000"},"allowed_hosts":["a.example"]}"#;

    #[test]
    fn refusals_name_what_is_wrong() {
        assert!(parse(Path::new("m.json"), GOOD).is_ok());
        let m = msg("{\n  \"id\": ,\n}");
        assert!(m.contains("line 2 column"), "{m}");
        let m = msg(&GOOD.replace("\"allowed_hosts\":[\"a.example\"]", "\"allowed_hosts\":[\"https://a.example\"]"));
        assert!(m.contains("allowed_hosts.0"), "{m}");
        let m = msg(&GOOD.replace("\"name\":\"X\",", ""));
        assert!(m.contains("name"), "{m}");
        let m = msg(&GOOD.replace("\"interface_version\":1", "\"interface_version\":2"));
        assert!(m.contains("interface_version 2 is not supported"), "{m}");
        let m = msg(&GOOD.replace("}", ",\"extra\":1}"));
        assert!(m.contains("extra"), "{m}");
    }

    #[test]
    fn a_pkcs12_key_fills_its_certificate_and_its_password_never_reaches_the_connector() {
        let text = GOOD.replace(
            "\"allowed_hosts\"",
            r#""platform_config":[{"key":"k","description":"d","private_key":true,"certificate":"c","password":"p"},{"key":"c","description":"d"},{"key":"p","description":"d","secret":true}],"allowed_hosts""#,
        );
        let m = parse(Path::new("m.json"), &text).unwrap();
        let bundle = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/certificates/a.pfx");
        let mut config = BTreeMap::from([
            ("k".to_string(), bundle.to_str().unwrap().to_string()),
            ("p".to_string(), "fixture-password".to_string()),
        ]);
        let keys = hold_private_keys(&m, &mut config).unwrap();
        assert!(!config.contains_key("p"), "the password is taken out of the connector's configuration");
        assert!(config["c"].starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(keys.holds(&config["k"]), "the key is held and the connector gets its reference");
    }

    #[test]
    fn defaults_are_safe() {
        let m = parse(Path::new("m.json"), GOOD).unwrap();
        assert_eq!(m.timeout_ms(), DEFAULT_TIMEOUT_MS);
        assert!(m.http_timeout_ms() <= m.timeout_ms());
    }
}
