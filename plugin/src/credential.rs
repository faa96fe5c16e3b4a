//! How the connection's app proves who it is at the token endpoint: nothing (a public client),
//! a client secret, a certificate whose private key the host keeps
//! (learn.microsoft.com/entra/identity-platform/certificate-credentials), or a workload
//! identity's token the host reads anew for each request (learn.microsoft.com/entra/workload-id).
//!
//! The connector holds the certificate (public) and a key reference; the private key never
//! enters the module. A value that looks like a key where a reference belongs is refused.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use connector_interface::{KEY_REFERENCE_PREFIX, TOKEN_REFERENCE_PREFIX};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::error::{CResult, ConnectorError};
use crate::secret::Secret;

/// Certificates in a chain, at most (a leaf and its issuers).
const MAX_CHAIN: usize = 8;
/// One certificate's DER, at most.
const MAX_DER: usize = 16 * 1024;

#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A public client: sends no credential (AADSTS700025 otherwise).
    None,
    Secret(Secret),
    Certificate(Certificate),
    /// Workload identity federation: the host's reference to the token source (a token file).
    Federated(String),
}

impl Credential {
    pub fn is_none(&self) -> bool {
        matches!(self, Credential::None)
    }

    /// The token endpoint authentication method (OpenID Connect's names), for `describe`.
    pub fn method(&self) -> &'static str {
        match self {
            Credential::None => "none (public client)",
            Credential::Secret(_) => "client_secret_post",
            Credential::Certificate(_) => "private_key_jwt (certificate)",
            Credential::Federated(_) => "private_key_jwt (workload identity federation)",
        }
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::None => f.write_str("None"),
            Credential::Secret(_) => f.write_str("Secret([redacted])"),
            Credential::Certificate(c) => write!(f, "Certificate({})", c.sha1_thumbprint()),
            Credential::Federated(source) => write!(f, "Federated({source})"),
        }
    }
}

impl Credential {
    /// A workload identity's token source, by the host's reference (never a path or a token).
    pub fn federated(field: &str, reference: &str) -> CResult<Credential> {
        if !reference.starts_with(TOKEN_REFERENCE_PREFIX) || reference.len() > 256 {
            return Err(ConnectorError::invalid(
                field,
                "The federated token's source must be a host token reference (host-token:...): the platform reads the token file, never the connector.",
            ));
        }
        Ok(Credential::Federated(reference.to_string()))
    }
}

/// A certificate credential: the chain (leaf first, DER) and the host's reference to its key.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    pub chain: Vec<Vec<u8>>,
    pub key: String,
    /// Send the chain in the assertion's `x5c` (subject name and issuer authentication).
    pub send_chain: bool,
}

impl Certificate {
    /// Reads a PEM certificate (chain) and checks that `key` is a host key reference.
    pub fn new(cert_field: &str, pem: &str, key_field: &str, key: &str, send_chain: bool) -> CResult<Certificate> {
        if pem.contains("PRIVATE KEY") {
            return Err(ConnectorError::invalid(
                cert_field,
                "This holds a private key; give the certificate (-----BEGIN CERTIFICATE-----) here and the private key in its own field.",
            ));
        }
        let chain = pem_certificates(pem).ok_or_else(|| {
            ConnectorError::invalid(
                cert_field,
                "The certificate must be PEM text starting with -----BEGIN CERTIFICATE----- (the public certificate uploaded to the app registration).",
            )
        })?;
        if !key.starts_with(KEY_REFERENCE_PREFIX) || key.len() > 256 {
            return Err(ConnectorError::invalid(
                key_field,
                "The private key must stay with the platform: it passes this connector a key reference (host-key:...), never the key itself.",
            ));
        }
        Ok(Certificate { chain, key: key.to_string(), send_chain })
    }

    pub fn leaf(&self) -> &[u8] {
        &self.chain[0]
    }

    /// `x5t#S256`: base64url of the SHA-256 of the leaf's DER.
    pub fn x5t_s256(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.leaf()))
    }

    /// The thumbprint the Entra admin center shows (SHA-1, upper-case hex).
    pub fn sha1_thumbprint(&self) -> String {
        Sha1::digest(self.leaf()).iter().map(|b| format!("{b:02X}")).collect()
    }

    /// `x5c`: the chain, each certificate standard base64 (RFC 7515 4.1.6).
    pub fn x5c(&self) -> Vec<String> {
        self.chain.iter().map(|der| STANDARD.encode(der)).collect()
    }
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Certificate({})", self.sha1_thumbprint())
    }
}

/// The DER of every `CERTIFICATE` block of a PEM text, in order; None when there is none or a
/// block is not base64 of a plausible size.
fn pem_certificates(pem: &str) -> Option<Vec<Vec<u8>>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let body_start = start + BEGIN.len();
        let len = rest[body_start..].find(END)?;
        let body: String = rest[body_start..body_start + len].chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = STANDARD.decode(body).ok()?;
        // A DER certificate is a SEQUENCE.
        if der.first() != Some(&0x30) || der.len() > MAX_DER || out.len() == MAX_CHAIN {
            return None;
        }
        out.push(der);
        rest = &rest[body_start + len + END.len()..];
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate (openssl req -x509 -newkey rsa:2048), public material only.
    pub const PEM: &str = include_str!("../tests/fixtures/certificate.pem");

    #[test]
    fn reads_a_chain_and_computes_both_thumbprints() {
        let c = Certificate::new("c", PEM, "k", "host-key:settings.client_private_key", false).unwrap();
        assert_eq!(c.chain.len(), 1);
        assert_eq!(c.x5t_s256().len(), 43);
        assert_eq!(c.sha1_thumbprint().len(), 40);
        assert!(format!("{c:?}").contains(&c.sha1_thumbprint()));
    }

    #[test]
    fn refuses_keys_where_references_belong_and_garbage_certificates() {
        let e = Certificate::new("c", PEM, "k", "-----BEGIN PRIVATE KEY-----\nMIIE", false).unwrap_err();
        assert_eq!(e.field(), Some("k"));
        assert!(!e.message().contains("MIIE"));
        let e = Certificate::new(
            "c",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
            "k",
            "host-key:x",
            false,
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("c"));
        for bad in [
            "",
            "hello",
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----",
            "-----BEGIN CERTIFICATE-----\nAAAA",
        ] {
            assert!(Certificate::new("c", bad, "k", "host-key:x", false).is_err(), "{bad}");
        }
    }
}
