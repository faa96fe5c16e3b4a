//! Encryption at rest for tokens and secrets: ChaCha20-Poly1305 with a random 96-bit nonce per
//! value and the row's name as associated data (a value moved to another row does not open).
//! The key comes from `CONNECTOR_HOST_KEY` (base64, 32 bytes) or a key file created with mode
//! 0600 beside the store.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use super::PlatformError;

pub const KEY_ENV: &str = "CONNECTOR_HOST_KEY";

pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the OS random source works");
    b
}

impl Sealer {
    /// The key from the environment, or from `key_file` (created on first use, mode 0600).
    pub fn load(key_file: &Path) -> Result<Sealer, PlatformError> {
        let key: Vec<u8> = match std::env::var(KEY_ENV).ok().filter(|v| !v.is_empty()) {
            Some(v) => {
                STANDARD.decode(v.trim()).map_err(|_| PlatformError::Config(format!("{KEY_ENV} is not base64")))?
            }
            None => read_or_create(key_file)?,
        };
        if key.len() != 32 {
            return Err(PlatformError::Config(format!("the store key must be 32 bytes (it is {})", key.len())));
        }
        Ok(Sealer { cipher: ChaCha20Poly1305::new(Key::from_slice(&key)) })
    }

    pub fn seal(&self, aad: &str, plain: &[u8]) -> Vec<u8> {
        let nonce = random::<12>();
        let mut out = nonce.to_vec();
        out.extend(
            self.cipher
                .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad: aad.as_bytes() })
                .expect("encryption does not fail"),
        );
        out
    }

    pub fn open(&self, aad: &str, sealed: &[u8]) -> Result<Vec<u8>, PlatformError> {
        if sealed.len() < 12 + 16 {
            return Err(PlatformError::Store("a sealed value is too short".into()));
        }
        let (nonce, body) = sealed.split_at(12);
        self.cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: aad.as_bytes() }).map_err(|_| {
            PlatformError::Store(
                "a sealed value does not open with this key (wrong key, or the store was tampered with)".into(),
            )
        })
    }
}

fn read_or_create(path: &Path) -> Result<Vec<u8>, PlatformError> {
    match std::fs::read_to_string(path) {
        Ok(text) => STANDARD
            .decode(text.trim())
            .map_err(|_| PlatformError::Config(format!("{} is not a base64 key", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Written to a temporary file, then linked into place: a crash never leaves a
            // half-written key, and two processes starting at once agree on one key.
            let key = random::<32>();
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| PlatformError::Store(format!("cannot create {}: {e}", dir.display())))?;
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
            written.map_err(|e| PlatformError::Store(format!("cannot write the key file {}: {e}", tmp.display())))?;
            let linked = std::fs::hard_link(&tmp, path);
            let _ = std::fs::remove_file(&tmp);
            match linked {
                Ok(()) => Ok(key.to_vec()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_or_create(path),
                Err(e) => Err(PlatformError::Store(format!("cannot create the key file {}: {e}", path.display()))),
            }
        }
        Err(e) => Err(PlatformError::Store(format!("cannot read the key file {}: {e}", path.display()))),
    }
}
