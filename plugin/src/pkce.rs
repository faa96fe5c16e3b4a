//! PKCE (RFC 7636): the verifier comes from the host; the connector checks it and derives the
//! S256 challenge, BASE64URL-no-padding(SHA256(ASCII(verifier))).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::{CResult, ConnectorError};
use crate::secret::Secret;

/// RFC 7636 section 4.1: 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
pub fn check_verifier(field: &str, verifier: &Secret) -> CResult<()> {
    let v = verifier.expose();
    if !(43..=128).contains(&v.len()) {
        return Err(ConnectorError::invalid(
            field,
            format!(
                "The PKCE code verifier must be 43 to 128 characters long (RFC 7636 section 4.1); it is {}.",
                v.len()
            ),
        ));
    }
    if !v.bytes().all(is_unreserved) {
        return Err(ConnectorError::invalid(
            field,
            "The PKCE code verifier may only use letters, digits and - . _ ~ (RFC 7636 section 4.1).",
        ));
    }
    Ok(())
}

pub fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// The S256 code challenge of a verifier.
pub fn challenge(verifier: &Secret) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        let v = Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        check_verifier("code_verifier", &v).unwrap();
        assert_eq!(challenge(&v), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn refuses_bad_verifiers() {
        assert!(check_verifier("v", &Secret::new("short")).is_err());
        assert!(check_verifier("v", &Secret::new("a".repeat(129))).is_err());
        assert!(check_verifier("v", &Secret::new(format!("{}+", "a".repeat(43)))).is_err());
        let e = check_verifier("v", &Secret::new(format!("{} ", "x".repeat(50)))).unwrap_err();
        assert!(!e.message().contains("xxxx"), "the verifier must not be echoed");
    }
}
