//! Where `connector-host` finds the connector's manifest when `--manifest` is not given, so that
//! it works from any directory: `CONNECTOR_HOST_MANIFEST`, then `manifests/` under the working
//! directory (a checkout), then beside the executable (`target/release` in a checkout), then the
//! installed share directory (`make install`: `PREFIX/share/connector-host/`).

use std::path::{Path, PathBuf};

use host_harness::error::{HostError, ManifestError};

pub const MANIFEST_ENV: &str = "CONNECTOR_HOST_MANIFEST";
pub const MANIFEST_FILE: &str = "microsoft-entra-id.json";

/// The places looked at, in order, for an executable at `exe` and a working directory `cwd`.
pub fn candidates(env: Option<PathBuf>, cwd: &Path, exe: Option<&Path>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = env.into_iter().collect();
    out.push(cwd.join("manifests").join(MANIFEST_FILE));
    if let Some(dir) = exe.and_then(Path::parent) {
        // target/release/connector-host -> manifests/ of the checkout
        out.push(dir.join("../../manifests").join(MANIFEST_FILE));
        // PREFIX/bin/connector-host -> PREFIX/share/connector-host/
        out.push(dir.join("../share/connector-host").join(MANIFEST_FILE));
    }
    out
}

/// `given`, or the first candidate that exists.
pub fn manifest(given: Option<&Path>) -> Result<PathBuf, HostError> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    let env = std::env::var_os(MANIFEST_ENV).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = &env {
        // An explicit setting is used as given (a missing file is reported as such).
        return Ok(p.clone());
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    let exe = std::env::current_exe().ok().and_then(|e| e.canonicalize().ok());
    let tried = candidates(None, &cwd, exe.as_deref());
    match tried.iter().find(|p| p.is_file()) {
        Some(p) => Ok(p.clone()),
        None => Err(ManifestError::NotFound {
            tried: tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkout_then_beside_the_executable_then_installed() {
        let c = candidates(None, Path::new("/w"), Some(Path::new("/repo/target/release/connector-host")));
        assert_eq!(
            c,
            [
                PathBuf::from("/w/manifests/microsoft-entra-id.json"),
                PathBuf::from("/repo/target/release/../../manifests/microsoft-entra-id.json"),
                PathBuf::from("/repo/target/release/../share/connector-host/microsoft-entra-id.json"),
            ]
        );
        let c = candidates(Some("/etc/m.json".into()), Path::new("/w"), None);
        assert_eq!(c[0], PathBuf::from("/etc/m.json"));
    }
}
