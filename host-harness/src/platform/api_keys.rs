//! API keys of the platform's HTTP API: `chk_<id>_<secret>`, shown once when made. The store
//! keeps the id, a name and the SHA-256 of the secret, never the secret; a presented key is
//! found by its id and its secret's hash compared in constant time. A key verified in the last
//! second is answered from memory (`verified_keys.rs`).

use std::time::Instant;

use connector_interface::Secret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::clock::random_token;
use super::error::PlatformError;
use super::store::ApiKey;
use super::Platform;

const PREFIX: &str = "chk_";

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn hash(secret: &str) -> String {
    hex::encode(digest(secret))
}

/// The id and the secret of a presented key, when it has the key's shape.
fn split(presented: &str) -> Option<(&str, &str)> {
    let rest = presented.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 12 && !secret.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric())).then_some((id, secret))
}

impl Platform {
    /// A new key named `name`: its record, and the key itself (shown once, never stored).
    pub fn create_api_key(&self, name: &str) -> Result<(ApiKey, Secret), PlatformError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(PlatformError::Request("an API key's name must have 1 to 100 characters".into()));
        }
        let id: String = random_token(12).chars().filter(char::is_ascii_alphanumeric).take(12).collect();
        let id = if id.len() == 12 { id } else { format!("{id:0<12}") };
        let secret = random_token(32);
        let key = ApiKey {
            id: id.clone(),
            name: name.to_string(),
            hash: hash(&secret),
            created_at: self.now(),
            revoked_at: None,
        };
        self.store.put_api_key(&key)?;
        Ok((key, Secret::new(format!("{PREFIX}{id}_{secret}"))))
    }

    /// The key a request presented, when it is one of this platform's and not revoked.
    pub fn verify_api_key(&self, presented: &str) -> Result<Option<ApiKey>, PlatformError> {
        let Some((id, secret)) = split(presented) else { return Ok(None) };
        let Some(key) = self.store.api_key(id)? else { return Ok(None) };
        let digest = digest(secret);
        let same: bool = hex::encode(digest).as_bytes().ct_eq(key.hash.as_bytes()).into();
        if !same || key.revoked_at.is_some() {
            return Ok(None);
        }
        self.verified_keys.put(key.clone(), digest, Instant::now());
        Ok(Some(key))
    }

    /// The key a request presented when this process verified that same key less than a second
    /// ago (`verified_keys.rs`), without reading the store; None otherwise (then
    /// [`Self::verify_api_key`] decides).
    pub fn recently_verified_api_key(&self, presented: &str) -> Option<ApiKey> {
        let (id, secret) = split(presented)?;
        self.verified_keys.get(id, &digest(secret), Instant::now())
    }

    /// Revokes the key `id`; false when there is no such key. This process stops accepting it at
    /// once; others within a second.
    pub fn revoke_api_key(&self, id: &str) -> Result<bool, PlatformError> {
        let revoked = self.store.revoke_api_key(id, self.now());
        self.verified_keys.forget(id);
        revoked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shape_of_a_key() {
        assert_eq!(split("chk_abcdefghijkl_s3cr3t"), Some(("abcdefghijkl", "s3cr3t")));
        for bad in ["", "chk_", "chk_abc_s", "xyz_abcdefghijkl_s", "chk_abcdefghijkl_", "chk_abcdefghij-l_s"] {
            assert_eq!(split(bad), None, "{bad}");
        }
        assert_eq!(hash("a").len(), 64);
    }
}
