//! Time and randomness: the platform's inputs. Tests replace the clock; randomness comes from
//! the OS CSPRNG, in one place.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// The platform's clock in Unix seconds, replaceable in tests.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Now, in Unix seconds (0 before 1970, which no machine here is).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

pub fn system_clock() -> Clock {
    Arc::new(unix_now)
}

/// `N` bytes from the OS CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The OS source failing is not a state the platform can go on from (no key, no state).
    getrandom::fill(&mut b).expect("the OS random source works");
    b
}

/// `n` bytes from the OS CSPRNG, base64url (state, PKCE verifier, nonce).
pub fn random_token(n: usize) -> String {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).expect("the OS random source works");
    URL_SAFE_NO_PAD.encode(b)
}

/// A sign-in's state, PKCE verifier and nonce (32, 48 and 24 bytes from the OS CSPRNG,
/// base64url), drawn in one request to the OS: starting a sign-in is on the panel's path, and
/// each request costs a system call.
pub fn sign_in_secrets() -> (String, String, String) {
    let b = random_bytes::<{ 32 + 48 + 24 }>();
    (URL_SAFE_NO_PAD.encode(&b[..32]), URL_SAFE_NO_PAD.encode(&b[32..80]), URL_SAFE_NO_PAD.encode(&b[80..]))
}

/// A number below `bound` from the OS CSPRNG (jitter); 0 when `bound` is 0.
pub fn random_below(bound: u64) -> u64 {
    if bound == 0 {
        return 0;
    }
    u64::from_le_bytes(random_bytes::<8>()) % bound
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_s_secrets_have_their_lengths_and_are_never_drawn_twice() {
        let (state, verifier, nonce) = sign_in_secrets();
        // 32, 48 and 24 bytes in base64url without padding; a verifier of 43 to 128 characters
        // (RFC 7636).
        assert_eq!((state.len(), verifier.len(), nonce.len()), (43, 64, 32));
        let url_safe = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        assert!(url_safe(&state) && url_safe(&verifier) && url_safe(&nonce));
        assert!(state != verifier[..43] && verifier[..32] != nonce && state[..32] != nonce);
        let again = sign_in_secrets();
        assert!(again.0 != state && again.1 != verifier && again.2 != nonce);
    }
}
