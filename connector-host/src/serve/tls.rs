//! HTTPS for `serve`: the certificate chain and private key a person gives (PEM files), checked
//! at start so that a wrong file stops the server with an error naming it, never at the first
//! connection. rustls with the ring provider; HTTP/1.1 (what the server speaks).

use std::path::Path;
use std::sync::Arc;

use axum_server::tls_rustls::RustlsConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::cli::CliError;

fn refused(what: &str, path: &Path, why: impl std::fmt::Display) -> CliError {
    CliError::Other(format!("--{what} {}: {why}", path.display()))
}

/// The server's TLS configuration from a PEM certificate chain and a PEM private key.
pub fn config(cert: &Path, key: &Path) -> Result<RustlsConfig, CliError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| refused("tls-cert", cert, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| refused("tls-cert", cert, e))?;
    if chain.is_empty() {
        return Err(refused("tls-cert", cert, "no CERTIFICATE block in the file"));
    }
    // The key's own error text never quotes the key.
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| refused("tls-key", key, format!("not a PEM private key ({})", kind(&e))))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| CliError::Other(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| refused("tls-key", key, format!("does not fit the certificate in --tls-cert ({e})")))?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(RustlsConfig::from_config(Arc::new(server)))
}

/// What went wrong reading a PEM file, in words that never carry its content.
fn kind(e: &rustls_pki_types::pem::Error) -> &'static str {
    use rustls_pki_types::pem::Error;
    match e {
        Error::NoItemsFound => "no PRIVATE KEY block in the file",
        Error::Io(_) => "cannot read the file",
        _ => "the PEM text is malformed",
    }
}
