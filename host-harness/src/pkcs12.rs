//! PKCS#12 bundles (.pfx, .p12), as Windows' certificate export and most admins' tooling make
//! them: read with their password into the PEM certificate chain and PKCS#8 private key the rest
//! of the platform takes (`signing.rs`). Neither the password nor the key reaches an error, a
//! log or `Debug`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use p12_keystore::{KeyStore, Pkcs12ImportPolicy};

/// A bundle larger than this is not a certificate and its key.
pub const MAX_BUNDLE_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Pkcs12Error {
    #[error("it is not a PKCS#12 bundle, or its password is wrong")]
    Unreadable,
    #[error("the PKCS#12 bundle holds no private key with a certificate")]
    NoKey,
    #[error("the PKCS#12 bundle is larger than {MAX_BUNDLE_BYTES} bytes")]
    TooLarge,
}

/// What a bundle holds, as PEM.
pub struct Bundle {
    /// The certificate chain, the key's certificate first.
    pub certificate_pem: String,
    /// The private key (PKCS#8).
    pub private_key_pem: String,
}

impl std::fmt::Debug for Bundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bundle").field("private_key_pem", &"[redacted]").finish_non_exhaustive()
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

/// Whether `bytes` look like a DER PKCS#12 bundle (a SEQUENCE) rather than PEM text.
pub fn looks_like_bundle(bytes: &[u8]) -> bool {
    bytes.first() == Some(&0x30)
}

/// Reads a bundle with its password.
pub fn read(der: &[u8], password: &str) -> Result<Bundle, Pkcs12Error> {
    if der.len() > MAX_BUNDLE_BYTES {
        return Err(Pkcs12Error::TooLarge);
    }
    let store =
        KeyStore::from_pkcs12(der, password, Pkcs12ImportPolicy::Strict).map_err(|_| Pkcs12Error::Unreadable)?;
    let (_, chain) = store.private_key_chain().ok_or(Pkcs12Error::NoKey)?;
    if chain.certs().is_empty() {
        return Err(Pkcs12Error::NoKey);
    }
    Ok(Bundle {
        certificate_pem: chain.certs().iter().map(|c| pem("CERTIFICATE", c.as_der())).collect(),
        private_key_pem: pem("PRIVATE KEY", chain.key().as_der()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::{read_certificate, SigningKey};

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/certificates").join(name),
        )
        .unwrap()
    }

    #[test]
    fn reads_modern_and_legacy_bundles_into_a_fitting_pair() {
        let cert = String::from_utf8(fixture("a.cert.pem")).unwrap();
        let der_of = |pem: &str| x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap().1.contents;
        // AES-256 with PBKDF2 (OpenSSL 3's default), and 3DES with SHA-1 (Windows' export).
        for name in ["a.pfx", "a-3des.pfx"] {
            let b = read(&fixture(name), "fixture-password").unwrap();
            assert_eq!(der_of(&b.certificate_pem), der_of(&cert), "{name}");
            // The key is the certificate's.
            let key = SigningKey::from_pem(&b.private_key_pem).unwrap();
            assert_eq!(key.public_key_der(), read_certificate(&cert).unwrap().1.as_slice(), "{name}");
            assert_eq!(format!("{b:?}"), "Bundle { private_key_pem: \"[redacted]\", .. }");
        }
        assert_eq!(read(&fixture("a.pfx"), "wrong-password").unwrap_err(), Pkcs12Error::Unreadable);
        assert_eq!(read(b"-----BEGIN CERTIFICATE-----", "x").unwrap_err(), Pkcs12Error::Unreadable);
        assert!(looks_like_bundle(&fixture("a.pfx")) && !looks_like_bundle(b"-----BEGIN"));
    }
}
