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

/// A fresh GUID for the requests of one call of a connection's network export, logged with the
/// connection's name so that the platform's log and the provider's sign-in logs can be joined.
pub fn request_id(connection: &str, export: &str) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    tracing::info!(connection = %connection, export, client_request_id = %id, "request to the provider");
    id
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

/// What a PKCS#12 bundle's password setting is called, beside its private key setting.
pub fn bundle_password_key(private_key: &str) -> String {
    format!("{private_key}_password")
}

impl Platform {
    /// Settings whose private key is a PKCS#12 bundle (base64 of the .pfx file) with its
    /// password in `{key}_password`: the bundle opened into the PEM key, and its certificate
    /// into the certificate setting when that is empty. The password is dropped, never stored.
    pub(crate) fn open_bundles(&self, settings: &Settings) -> Result<Settings, PlatformError> {
        use base64::Engine;
        let mut out = settings.clone();
        for pk in &self.private_keys {
            let password = out.remove(&bundle_password_key(&pk.key));
            let Some(value) = text(settings, &pk.key) else { continue };
            if value.starts_with("-----BEGIN") {
                continue;
            }
            let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            let Ok(der) = base64::engine::general_purpose::STANDARD.decode(compact) else { continue };
            if !crate::pkcs12::looks_like_bundle(&der) {
                continue;
            }
            let password = password.as_ref().and_then(Value::as_str).unwrap_or_default();
            let bundle = crate::pkcs12::read(&der, password).map_err(|e| {
                let mut sentence = format!("The PKCS#12 bundle cannot be opened: {e}");
                sentence.push('.');
                PlatformError::from(ConnectorError::invalid(format!("settings.{}", pk.key), sentence))
            })?;
            out.insert(pk.key.clone(), Value::String(bundle.private_key_pem.clone()));
            if let Some(cert_field) = &pk.certificate {
                if text(&out, cert_field).is_none() {
                    out.insert(cert_field.clone(), Value::String(bundle.certificate_pem.clone()));
                }
            }
        }
        Ok(out)
    }

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
