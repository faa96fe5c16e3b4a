//! Where compiled connectors are cached between loads, and how.
//!
//! extism compiles through wasmtime, whose cache keeps each compiled module as a zstd-compressed
//! file and reads it back on the next load of the same module with the same engine settings.
//! Left to its defaults, wasmtime compresses a new entry at level 3 and, after 256 loads,
//! recompresses it at level 20 on a background thread: a second of one core's work per module,
//! and an entry that decompresses about 15 % slower than before, on every load after that. The
//! host keeps its own cache, at level 1 from the start and never recompressed: a warm load of
//! the shipped connector takes about 4.3 ms instead of 5.3 to 5.8 (docs/performance.md), for
//! entries about a third larger on disk (490 KB instead of 370).
//!
//! The cache holds native code that the host runs: it belongs in a directory only this user can
//! write (never a shared temporary directory).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use extism::PluginBuilder;
use serde::Serialize;

use crate::error::{ConfigError, HostError};

/// zstd level of every entry the host writes: the fastest to decompress that wasmtime accepts
/// (its cache takes levels 0 to 21, where 0 means zstd's default, 3).
pub const COMPRESSION_LEVEL: i32 = 1;

/// The name of the wasmtime cache configuration the host writes into its cache directory.
pub const CONFIG_FILE: &str = "wasmtime-cache.toml";

/// The subdirectory wasmtime keeps its entries in. wasmtime's cleaner deletes every file of its
/// directory it does not recognize, so the configuration lives beside it, not in it. Its
/// `.cleanup.wip-PID` files are not leftovers: each is the proof of a recent cleanup, which
/// wasmtime removes itself once the cleanup interval has passed (removing them earlier would
/// make every load walk and clean the whole cache again).
pub const ENTRIES_DIR: &str = "compiled";

/// Where compiled connectors are cached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CompileCache {
    /// The platform's cache: what `EXTISM_CACHE_CONFIG` names when it is set (extism's own
    /// setting; empty turns the cache off), otherwise `connector-host` under `$XDG_CACHE_HOME`
    /// or `$HOME/.cache`. With none of them set, or when that directory cannot be prepared,
    /// every load compiles (a warning says why).
    #[default]
    Platform,
    /// This directory (created when missing). A directory that cannot be prepared fails the load.
    Dir(PathBuf),
    /// No cache: every load compiles.
    Off,
}

/// The platform's cache directory, when the environment names a base for it.
pub fn platform_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| Path::new(v).is_absolute())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("connector-host"))
}

/// Sets up `builder`'s compile cache as `cache` says.
pub fn apply<'a>(builder: PluginBuilder<'a>, cache: &CompileCache) -> Result<PluginBuilder<'a>, HostError> {
    match cache {
        CompileCache::Off => Ok(builder.with_cache_disabled()),
        CompileCache::Dir(dir) => Ok(builder.with_cache_config(prepare(dir)?)),
        // extism reads its own setting when the builder names no cache.
        CompileCache::Platform if std::env::var_os("EXTISM_CACHE_CONFIG").is_some() => Ok(builder),
        CompileCache::Platform => match platform_dir().map(|dir| prepare_own(&dir)) {
            Some(Ok(file)) => Ok(builder.with_cache_config(file)),
            Some(Err(e)) => {
                tracing::warn!("compiling without a cache: {e}");
                Ok(builder.with_cache_disabled())
            }
            None => {
                tracing::warn!("compiling without a cache: neither XDG_CACHE_HOME nor HOME is set");
                Ok(builder.with_cache_disabled())
            }
        },
    }
}

#[derive(Serialize)]
struct ConfigFile<'a> {
    cache: Settings<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Settings<'a> {
    directory: &'a str,
    baseline_compression_level: i32,
    optimized_compression_level: i32,
}

/// The wasmtime cache configuration for `dir`: entries in its [`ENTRIES_DIR`], compressed once
/// at [`COMPRESSION_LEVEL`] and never recompressed (the optimized level equals the baseline).
pub fn config_text(dir: &Path) -> Result<String, HostError> {
    let entries = dir.join(ENTRIES_DIR);
    let directory = entries.to_str().ok_or_else(|| ConfigError::CacheDirNotUtf8(dir.to_path_buf()))?;
    let file = ConfigFile {
        cache: Settings {
            directory,
            baseline_compression_level: COMPRESSION_LEVEL,
            optimized_compression_level: COMPRESSION_LEVEL,
        },
    };
    // A struct of a string and two integers always serializes.
    Ok(toml::to_string(&file).unwrap_or_default())
}

/// [`prepare`] for the platform's own directory: it is made 0700 even when it already exists
/// (compiled connectors are the platform's, not other users').
fn prepare_own(dir: &Path) -> Result<PathBuf, HostError> {
    let file = prepare(dir)?;
    crate::files::restrict(dir, 0o700).map_err(|source| ConfigError::CacheDir {
        what: "protect",
        dir: dir.to_path_buf(),
        source,
    })?;
    Ok(file)
}

/// Creates `dir` (0700 when the host creates it) and its configuration file (0600; rewritten
/// only when it differs, through a temporary file renamed over it, so a concurrent load never
/// reads half of it); the file's path.
pub fn prepare(dir: &Path) -> Result<PathBuf, HostError> {
    let failed =
        |what: &'static str, source: std::io::Error| ConfigError::CacheDir { what, dir: dir.to_path_buf(), source };
    crate::files::create_private_dir(dir).map_err(|e| failed("create", e))?;
    let dir = std::fs::canonicalize(dir).map_err(|e| failed("open", e))?;
    let text = config_text(&dir)?;
    let file = dir.join(CONFIG_FILE);
    if std::fs::read_to_string(&file).ok().as_deref() != Some(text.as_str()) {
        // Unique to this process and call: loads on other threads may be writing it too.
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let partial = dir.join(format!(
            "{CONFIG_FILE}.{}-{}.partial",
            std::process::id(),
            WRITES.fetch_add(1, Ordering::Relaxed)
        ));
        crate::files::write_private(&partial, text.as_bytes())
            .and_then(|()| std::fs::rename(&partial, &file))
            .map_err(|e| {
                let _ = std::fs::remove_file(&partial);
                failed("write into", e)
            })?;
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_names_the_directory_and_one_compression_level() {
        let text = config_text(Path::new("/var/cache/connector host/it's \"here\"")).unwrap();
        let parsed: toml::Value = toml::from_str(&text).unwrap();
        let cache = &parsed["cache"];
        assert_eq!(cache["directory"].as_str(), Some("/var/cache/connector host/it's \"here\"/compiled"));
        assert_eq!(cache["baseline-compression-level"].as_integer(), Some(1));
        assert_eq!(cache["optimized-compression-level"].as_integer(), Some(1));
        assert_eq!(cache.as_table().unwrap().len(), 3, "wasmtime refuses unknown keys: {text}");
    }

    #[test]
    fn prepare_writes_the_file_once_and_wasmtime_accepts_it() {
        let dir = tempfile::tempdir().unwrap();
        let cache_dir = dir.path().join("nested/cache");
        let file = prepare(&cache_dir).unwrap();
        assert_eq!(file, std::fs::canonicalize(&cache_dir).unwrap().join(CONFIG_FILE));
        let written = std::fs::metadata(&file).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(prepare(&cache_dir).unwrap(), file);
        assert_eq!(
            std::fs::metadata(&file).unwrap().modified().unwrap(),
            written,
            "an unchanged file is not rewritten"
        );
        // A stale file is replaced, and no partial file is left behind.
        std::fs::write(&file, "[cache]\nbaseline-compression-level = 3\n").unwrap();
        prepare(&cache_dir).unwrap();
        assert!(std::fs::read_to_string(&file).unwrap().contains("optimized-compression-level = 1"));
        let names: Vec<_> = std::fs::read_dir(&cache_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, [std::ffi::OsString::from(CONFIG_FILE)]);
        wasmtime::Cache::from_file(Some(&file)).expect("wasmtime accepts the configuration");
    }

    #[test]
    fn loads_preparing_one_directory_at_once_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let cache_dir = dir.path().join("cache");
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let d = cache_dir.clone();
                std::thread::spawn(move || prepare(&d))
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
        let names: Vec<_> = std::fs::read_dir(&cache_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, [std::ffi::OsString::from(CONFIG_FILE)]);
    }

    #[test]
    fn a_directory_that_cannot_be_made_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("a-file");
        std::fs::write(&blocker, "").unwrap();
        let e = prepare(&blocker.join("cache")).unwrap_err().to_string();
        assert!(e.starts_with("cannot create the cache directory ") && e.contains("a-file/cache"), "{e}");
    }
}
