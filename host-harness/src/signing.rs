//! Certificate credentials on the host's side: the private keys a connector signs with through
//! `connector_sign` and never sees, the certificates that go with them, and the check a platform
//! makes when a person saves one (a key that fits the certificate, a certificate valid now).
//!
//! RSA only: the client assertions identity providers take are PS256 or RS256. Keys are read from PEM
//! (PKCS#8 or PKCS#1); signing is ring's.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use connector_interface::sign::{SignAlgorithm, SignOutcome, SignRequest};
use connector_interface::KEY_REFERENCE_PREFIX;
use ring::rand::SystemRandom;
use ring::signature::{KeyPair, RsaKeyPair, RSA_PKCS1_SHA256, RSA_PSS_SHA256};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

/// Days before a certificate's end from which connections and status warn.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// Why a key or certificate was refused. Messages name the problem, never quote the material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialError {
    #[error("the private key is not PEM (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)")]
    KeyNotPem,
    #[error("the private key is not an RSA key of 2048 bits or more (client assertions are signed with RSA)")]
    KeyNotRsa,
    #[error("the certificate is not PEM (-----BEGIN CERTIFICATE-----)")]
    CertificateNotPem,
    #[error("the certificate could not be read as X.509")]
    CertificateUnreadable,
    #[error("the private key does not belong to the certificate")]
    KeyMismatch,
    #[error("the certificate expired on {0} (UTC); upload a new certificate to the app registration and give it here")]
    Expired(String),
    #[error("the certificate is not valid before {0} (UTC)")]
    NotYetValid(String),
}

/// A private key the host signs with. `Debug` never shows it.
pub struct SigningKey {
    pair: RsaKeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey([redacted])")
    }
}

impl SigningKey {
    /// Reads a PEM private key (PKCS#8 or PKCS#1 RSA).
    pub fn from_pem(pem: &str) -> Result<SigningKey, CredentialError> {
        let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|_| CredentialError::KeyNotPem)?;
        let pair = match &der {
            PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
            _ => return Err(CredentialError::KeyNotRsa),
        }
        .map_err(|_| CredentialError::KeyNotRsa)?;
        Ok(SigningKey { pair })
    }

    /// The public key as DER `RSAPublicKey` (what a certificate's subjectPublicKey holds).
    pub fn public_key_der(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    pub fn sign(&self, algorithm: SignAlgorithm, data: &[u8]) -> Vec<u8> {
        let mut sig = vec![0; self.pair.public().modulus_len()];
        let padding: &'static dyn ring::signature::RsaEncoding = match algorithm {
            SignAlgorithm::PS256 => &RSA_PSS_SHA256,
            SignAlgorithm::RS256 => &RSA_PKCS1_SHA256,
        };
        // Fails only for a buffer of the wrong length, or when the system has no randomness.
        self.pair.sign(padding, &SystemRandom::new(), data, &mut sig).expect("RSA signing");
        sig
    }
}

/// A certificate as the platform shows it: validity and both thumbprints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    pub subject: String,
    pub not_before: i64,
    pub not_after: i64,
    /// SHA-1 in upper-case hex: the thumbprint identity providers' admin pages list.
    pub sha1_thumbprint: String,
    /// `x5t#S256`: base64url of the SHA-256 of the DER.
    pub x5t_s256: String,
}

impl CertificateInfo {
    /// Days until the certificate ends (negative once it has).
    pub fn days_left(&self, now: i64) -> i64 {
        (self.not_after - now).div_euclid(86_400)
    }

    /// A warning when the certificate ends within [`EXPIRY_WARNING_DAYS`].
    pub fn expiry_warning(&self, now: i64) -> Option<String> {
        let days = self.days_left(now);
        (days < EXPIRY_WARNING_DAYS).then(|| {
            format!(
                "The certificate {} expires in {days} days ({} UTC): upload a new certificate to the app registration and give it here before then.",
                self.sha1_thumbprint,
                utc(self.not_after)
            )
        })
    }
}

/// Reads the first certificate of a PEM text.
pub fn read_certificate(pem: &str) -> Result<(CertificateInfo, Vec<u8>), CredentialError> {
    let der = CertificateDer::pem_slice_iter(pem.as_bytes())
        .next()
        .and_then(Result::ok)
        .ok_or(CredentialError::CertificateNotPem)?;
    let (_, cert) =
        x509_parser::parse_x509_certificate(der.as_ref()).map_err(|_| CredentialError::CertificateUnreadable)?;
    let validity = cert.validity();
    let info = CertificateInfo {
        subject: cert.subject().to_string(),
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
        sha1_thumbprint: hex::encode_upper(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, der.as_ref())),
        x5t_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(der.as_ref())),
    };
    Ok((info, cert.public_key().subject_public_key.data.to_vec()))
}

/// The check made when a person saves a certificate and its key: the key is RSA and fits the
/// certificate, and the certificate is valid at `now`.
pub fn check_pair(cert_pem: &str, key_pem: &str, now: i64) -> Result<(CertificateInfo, SigningKey), CredentialError> {
    let (info, public) = read_certificate(cert_pem)?;
    let key = SigningKey::from_pem(key_pem)?;
    if key.public_key_der() != public.as_slice() {
        return Err(CredentialError::KeyMismatch);
    }
    if now > info.not_after {
        return Err(CredentialError::Expired(utc(info.not_after)));
    }
    if now < info.not_before {
        return Err(CredentialError::NotYetValid(utc(info.not_before)));
    }
    Ok((info, key))
}

/// `2027-01-31 12:00` for Unix seconds.
fn utc(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .map(|d| format!("{:04}-{:02}-{:02} {:02}:{:02}", d.year(), d.month() as u8, d.day(), d.hour(), d.minute()))
        .unwrap_or_else(|_| t.to_string())
}

/// The keys a call may sign with, by reference (`host-key:...`).
#[derive(Debug, Clone, Default)]
pub struct Keys(BTreeMap<String, Arc<SigningKey>>);

impl Keys {
    /// The reference a key held for `name` is passed as.
    pub fn reference(name: &str) -> String {
        format!("{KEY_REFERENCE_PREFIX}{name}")
    }

    /// Adds a key; answers its reference.
    pub fn insert(&mut self, name: &str, key: Arc<SigningKey>) -> String {
        let r = Self::reference(name);
        self.0.insert(r.clone(), key);
        r
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn holds(&self, reference: &str) -> bool {
        self.0.contains_key(reference)
    }

    /// `connector_sign`: signs with the named key if this call holds it.
    pub fn sign(&self, request: &SignRequest) -> SignOutcome {
        let Some(key) = self.0.get(&request.key) else {
            return SignOutcome::failed("unknown_key", "no key with this reference was given for this call");
        };
        let Ok(data) = URL_SAFE_NO_PAD.decode(&request.data) else {
            return SignOutcome::failed("invalid_request", "data is not base64url without padding");
        };
        if data.len() > 64 * 1024 {
            return SignOutcome::failed("invalid_request", "data is longer than 64 KiB");
        }
        SignOutcome::Signature(URL_SAFE_NO_PAD.encode(key.sign(request.algorithm, &data)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_quote_the_material() {
        let secret_looking = "-----BEGIN PRIVATE KEY-----\nU0VDUkVUU0VDUkVU\n-----END PRIVATE KEY-----\n";
        let e = SigningKey::from_pem(secret_looking).unwrap_err();
        assert!(!e.to_string().contains("U0VD"));
        assert_eq!(SigningKey::from_pem("nothing").unwrap_err(), CredentialError::KeyNotPem);
        assert_eq!(read_certificate("nothing").unwrap_err(), CredentialError::CertificateNotPem);
        assert_eq!(utc(86_400 * 365), "1971-01-01 00:00");
    }

    #[test]
    fn unknown_keys_and_bad_data_are_refused() {
        let keys = Keys::default();
        let r = SignRequest { key: "host-key:x".into(), algorithm: SignAlgorithm::PS256, data: "AA".into() };
        assert!(matches!(keys.sign(&r), SignOutcome::Error(f) if f.code == "unknown_key"));
    }
}
