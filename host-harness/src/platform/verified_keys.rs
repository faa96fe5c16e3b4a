//! API keys verified in the last [`VERIFIED_FOR`]: a client that sends many requests with one
//! key has it checked against the store once a second, not once a request (the store read and
//! the hop to a blocking thread were about half of the service's cost per token hand-out,
//! docs/performance.md).
//!
//! A key is remembered with the SHA-256 of the secret that was verified, so only the same key
//! is answered from memory; a wrong secret always goes to the store. Revoking a key forgets it at
//! once in the process that revoked it; another process (a replica, or `connector-host api-keys
//! revoke`) stops accepting it within [`VERIFIED_FOR`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use subtle::ConstantTimeEq;

use super::store::ApiKey;

/// How long a verified key is accepted without reading the store again.
pub const VERIFIED_FOR: Duration = Duration::from_secs(1);

/// Keys remembered at most; beyond it, expired ones are dropped first, then nothing new is kept.
const MAX_KEYS: usize = 1024;

struct Verified {
    digest: [u8; 32],
    key: ApiKey,
    until: Instant,
}

#[derive(Default)]
pub struct VerifiedKeys(Mutex<HashMap<String, Verified>>);

impl VerifiedKeys {
    /// The key `id` when its secret's SHA-256 is `digest` and it was verified less than
    /// [`VERIFIED_FOR`] before `now`.
    pub fn get(&self, id: &str, digest: &[u8; 32], now: Instant) -> Option<ApiKey> {
        let keys = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let v = keys.get(id)?;
        let same: bool = v.digest.ct_eq(digest).into();
        (same && now < v.until).then(|| v.key.clone())
    }

    /// Remembers `key`, just verified at `now` with the secret whose SHA-256 is `digest`.
    pub fn put(&self, key: ApiKey, digest: [u8; 32], now: Instant) {
        let mut keys = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if keys.len() >= MAX_KEYS {
            keys.retain(|_, v| now < v.until);
        }
        if keys.len() < MAX_KEYS || keys.contains_key(&key.id) {
            keys.insert(key.id.clone(), Verified { digest, key, until: now + VERIFIED_FOR });
        }
    }

    /// Forgets the key `id` (revoked).
    pub fn forget(&self, id: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> ApiKey {
        ApiKey { id: id.into(), name: "n".into(), hash: "h".into(), created_at: 0, revoked_at: None }
    }

    #[test]
    fn the_same_secret_within_the_time_and_nothing_else() {
        let keys = VerifiedKeys::default();
        let t = Instant::now();
        keys.put(key("abcdefghijkl"), [1; 32], t);
        assert_eq!(keys.get("abcdefghijkl", &[1; 32], t + Duration::from_millis(999)), Some(key("abcdefghijkl")));
        // Another secret for the same id, another id, and the same key once its time is up.
        assert_eq!(keys.get("abcdefghijkl", &[2; 32], t), None);
        assert_eq!(keys.get("bbbbbbbbbbbb", &[1; 32], t), None);
        assert_eq!(keys.get("abcdefghijkl", &[1; 32], t + VERIFIED_FOR), None);
        // A revoked key is forgotten at once.
        keys.put(key("abcdefghijkl"), [1; 32], t);
        keys.forget("abcdefghijkl");
        assert_eq!(keys.get("abcdefghijkl", &[1; 32], t), None);
    }

    #[test]
    fn at_most_max_keys_and_expired_ones_make_room() {
        let keys = VerifiedKeys::default();
        let t = Instant::now();
        for i in 0..MAX_KEYS + 10 {
            keys.put(key(&format!("{i:012}")), [0; 32], t);
        }
        assert_eq!(keys.0.lock().unwrap().len(), MAX_KEYS);
        assert_eq!(keys.get(&format!("{:012}", MAX_KEYS + 5), &[0; 32], t), None);
        // Once the remembered ones expire, a new key is kept again.
        let later = t + VERIFIED_FOR;
        keys.put(key("newnewnewnew"), [0; 32], later);
        assert_eq!(keys.get("newnewnewnew", &[0; 32], later), Some(key("newnewnewnew")));
        assert_eq!(keys.0.lock().unwrap().len(), 1);
    }
}
