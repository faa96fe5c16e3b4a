//! Certificate credentials on the platform's side: a private key a person saves is checked
//! against its certificate (it fits, the certificate is valid now), sealed with the other secret
//! settings, and never handed to the connector: each call gets a key reference in its place and
//! may sign with that key, and only that key, through `connector_sign`.

use std::sync::Arc;

use connector_interface::io::Settings;
use connector_interface::ConnectorError;
use serde_json::Value;

use super::error::PlatformError;
use super::store::Record;
use super::Platform;
use crate::signing::{check_pair, read_certificate, CertificateInfo, CredentialError, Keys, SigningKey};

/// A setting of kind `private_key` and the setting holding its certificate.
#[derive(Debug, Clone)]
pub(crate) struct PrivateKeySetting {
    pub key: String,
    pub certificate: Option<String>,
}

/// A fresh GUID for a client assertion's `jti` (randomness is the platform's input).
pub fn assertion_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn text<'a>(settings: &'a Settings, key: &str) -> Option<&'a str> {
    settings.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// A refusal of a saved key or certificate, naming the field and never quoting the material.
fn field_error(field: &str, problem: &CredentialError) -> PlatformError {
    let message = problem.to_string();
    let mut sentence = message[..1].to_uppercase();
    sentence.push_str(&message[1..]);
    sentence.push('.');
    ConnectorError::invalid(format!("settings.{field}"), sentence).into()
}

impl Platform {
    /// The saved settings checked and made fit for the connector: each private key read and
    /// checked against its certificate at `now`, and replaced by its reference.
    pub(crate) fn hold_keys_of(&self, settings: &Settings) -> Result<(Settings, Keys), PlatformError> {
        let mut out = settings.clone();
        let mut keys = Keys::default();
        for pk in &self.private_keys {
            let Some(pem) = text(settings, &pk.key) else { continue };
            let key = match pk.certificate.as_deref() {
                Some(cert_field) => {
                    let Some(cert) = text(settings, cert_field) else {
                        return Err(ConnectorError::invalid(
                            format!("settings.{cert_field}"),
                            "A private key needs its certificate: give the certificate (PEM) uploaded to the app registration.",
                        )
                        .into());
                    };
                    check_pair(cert, pem, self.now())
                        .map_err(|e| {
                            let field = match e {
                                CredentialError::KeyNotPem
                                | CredentialError::KeyNotRsa
                                | CredentialError::KeyMismatch => &pk.key,
                                _ => cert_field,
                            };
                            field_error(field, &e)
                        })?
                        .1
                }
                None => SigningKey::from_pem(pem).map_err(|e| field_error(&pk.key, &e))?,
            };
            out.insert(pk.key.clone(), Value::String(keys.insert(&format!("settings.{}", pk.key), Arc::new(key))));
        }
        Ok((out, keys))
    }

    /// A stored connection's settings as the connector gets them, with the keys it may sign
    /// with during the call (private keys are read from the sealed settings, not checked again:
    /// an expired certificate is for the identity provider to refuse and the connector to classify).
    pub(crate) fn for_connector(&self, r: &Record) -> Result<(Settings, Keys), PlatformError> {
        let mut settings = r.full_settings();
        let mut keys = Keys::default();
        for pk in &self.private_keys {
            let Some(pem) = text(&settings, &pk.key) else { continue };
            // Checked when saved: a key that no longer reads is a store problem, said without it.
            let key = SigningKey::from_pem(pem).map_err(|e| field_error(&pk.key, &e))?;
            let reference = keys.insert(&format!("settings.{}", pk.key), Arc::new(key));
            settings.insert(pk.key.clone(), Value::String(reference));
        }
        Ok((settings, keys))
    }

    /// The certificates of a connection's settings, with their validity and thumbprints.
    pub fn certificates(&self, r: &Record) -> Vec<CertificateInfo> {
        self.private_keys
            .iter()
            .filter_map(|pk| pk.certificate.as_deref())
            .filter_map(|field| text(&r.settings, field))
            .filter_map(|pem| read_certificate(pem).ok().map(|(info, _)| info))
            .collect()
    }

    /// A warning when one of a connection's certificates ends within 30 days.
    pub fn certificate_warning(&self, r: &Record) -> Option<String> {
        let now = self.now();
        self.certificates(r).iter().find_map(|c| c.expiry_warning(now))
    }
}
