//! API keys of the platform's HTTP API: `chk_<id>_<secret>`, shown once when made. The store
//! keeps the id, a name and the SHA-256 of the secret, never the secret; a presented key is
//! found by its id and its secret's hash compared in constant time.

use connector_interface::Secret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::clock::random_token;
use super::error::PlatformError;
use super::store::ApiKey;
use super::Platform;

const PREFIX: &str = "chk_";

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
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
        let same: bool = hash(secret).as_bytes().ct_eq(key.hash.as_bytes()).into();
        Ok((same && key.revoked_at.is_none()).then_some(key))
    }

    /// Revokes the key `id`; false when there is no such key.
    pub fn revoke_api_key(&self, id: &str) -> Result<bool, PlatformError> {
        self.store.revoke_api_key(id, self.now())
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
