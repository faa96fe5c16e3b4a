//! Encryption at rest for tokens and secrets: ChaCha20-Poly1305 with a random 96-bit nonce per
//! value and the row's name as associated data (a value moved to another row does not open).
//! The key comes from `CONNECTOR_HOST_KEY` (base64, 32 bytes) or a key file created with mode
//! 0600 beside the store.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use super::clock::random_bytes;
use super::error::{KeyError, StoreError};

pub const KEY_ENV: &str = "CONNECTOR_HOST_KEY";

pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    /// The key from the environment, or from `key_file` (created on first use, mode 0600).
    pub fn load(key_file: &Path) -> Result<Sealer, KeyError> {
        let key: Vec<u8> = match std::env::var(KEY_ENV).ok().filter(|v| !v.is_empty()) {
            Some(v) => STANDARD.decode(v.trim()).map_err(|_| KeyError::EnvNotBase64 { env: KEY_ENV })?,
            None => read_or_create(key_file)?,
        };
        if key.len() != 32 {
            return Err(KeyError::Length(key.len()));
        }
        Ok(Sealer { cipher: ChaCha20Poly1305::new(Key::from_slice(&key)) })
    }

    pub fn seal(&self, aad: &str, plain: &[u8]) -> Vec<u8> {
        let nonce = random_bytes::<12>();
        let mut out = nonce.to_vec();
        out.extend(
            self.cipher
                .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad: aad.as_bytes() })
                .expect("encryption does not fail"),
        );
        out
    }

    /// The plain bytes of a value sealed for `aad`; refused when the key or `aad` differ or a
    /// byte was altered.
    pub fn open(&self, aad: &str, sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        let refused = || StoreError::Sealed { owner: aad.chars().take(64).collect() };
        if sealed.len() < 12 + 16 {
            return Err(refused());
        }
        let (nonce, body) = sealed.split_at(12);
        self.cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: aad.as_bytes() }).map_err(|_| refused())
    }
}

fn read_or_create(path: &Path) -> Result<Vec<u8>, KeyError> {
    let failed = |what: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| KeyError::File { what, path, source }
    };
    match std::fs::read_to_string(path) {
        Ok(text) => STANDARD.decode(text.trim()).map_err(|_| KeyError::FileNotBase64(path.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Written to a temporary file, then linked into place: a crash never leaves a
            // half-written key, and two processes starting at once agree on one key.
            let key = random_bytes::<32>();
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                crate::files::create_private_dir(dir).map_err(failed("create the directory of", path))?;
            }
            let tmp = path.with_extension(format!("key.{}.tmp", std::process::id()));
            use std::io::Write;
            #[cfg(unix)]
            use std::os::unix::fs::OpenOptionsExt;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            opts.mode(0o600);
            let written = opts.open(&tmp).and_then(|mut f| {
                f.write_all(STANDARD.encode(key).as_bytes())?;
                f.sync_all()
            });
            written.map_err(failed("write", &tmp))?;
            let linked = std::fs::hard_link(&tmp, path);
            let _ = std::fs::remove_file(&tmp);
            match linked {
                Ok(()) => Ok(key.to_vec()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_or_create(path),
                Err(e) => Err(failed("create", path)(e)),
            }
        }
        Err(e) => Err(failed("read", path)(e)),
    }
}
