//! Token files: where a workload identity's current token lives (a Kubernetes projected
//! service-account token, a CI job's OIDC token).
//!
//! The platform configures the path; the connector is given a reference in its place and asks
//! for the token through `connector_federated_token` on every token request. The file is read
//! again each time: the runtime rotates it, and a kept copy expires.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use connector_interface::federated::{FederatedTokenOutcome, FederatedTokenRequest, TOKEN_REFERENCE_PREFIX};

/// A token larger than this is not a token (Kubernetes' are about 1 KiB).
pub const MAX_TOKEN_BYTES: u64 = 64 * 1024;

/// Why a token file gave no token. Never quotes the file's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenFileError {
    #[error("cannot read the file it names: {0}")]
    Unreadable(String),
    #[error("the file it names is empty")]
    Empty,
    #[error("the file it names is larger than {MAX_TOKEN_BYTES} bytes, so it does not hold a token")]
    TooLarge,
    #[error("the file it names holds more than one word: a token is a single JWT")]
    NotAToken,
}

impl TokenFileError {
    /// The stable code `connector_federated_token` answers with.
    pub fn code(&self) -> &'static str {
        match self {
            TokenFileError::Unreadable(_) => "unreadable",
            TokenFileError::Empty => "empty",
            TokenFileError::TooLarge | TokenFileError::NotAToken => "unreadable",
        }
    }
}

/// Reads the token a file holds now.
pub fn read_token(path: &Path) -> Result<String, TokenFileError> {
    let len = std::fs::metadata(path).map_err(|e| TokenFileError::Unreadable(e.kind().to_string()))?.len();
    if len > MAX_TOKEN_BYTES {
        return Err(TokenFileError::TooLarge);
    }
    let text = std::fs::read_to_string(path).map_err(|e| TokenFileError::Unreadable(e.kind().to_string()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(TokenFileError::Empty);
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(TokenFileError::NotAToken);
    }
    Ok(token.to_string())
}

/// The token files a host holds, by reference.
#[derive(Debug, Clone, Default)]
pub struct TokenFiles {
    by_reference: BTreeMap<String, (String, PathBuf)>,
}

impl TokenFiles {
    /// Holds `path` under `name` (the configuration key); returns its reference.
    pub fn insert(&mut self, name: &str, path: PathBuf) -> String {
        let reference = format!("{TOKEN_REFERENCE_PREFIX}{name}");
        self.by_reference.insert(reference.clone(), (name.to_string(), path));
        reference
    }

    pub fn is_empty(&self) -> bool {
        self.by_reference.is_empty()
    }

    /// Answers a `connector_federated_token` request: the file read now.
    pub fn read(&self, request: &FederatedTokenRequest) -> FederatedTokenOutcome {
        let Some((name, path)) = self.by_reference.get(&request.source) else {
            return FederatedTokenOutcome::failed(
                "unknown_source",
                "this host holds no token source by that reference",
            );
        };
        match read_token(path) {
            Ok(token) => FederatedTokenOutcome::Token(token),
            Err(e) => {
                tracing::warn!(source = %name, problem = %e, "the federated token file gave no token");
                FederatedTokenOutcome::failed(e.code(), format!("the platform's {name}: {e}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_file_anew_each_time_and_names_what_is_wrong_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let mut files = TokenFiles::default();
        let reference = files.insert("federated_token_file", path.clone());
        assert_eq!(reference, "host-token:federated_token_file");
        let ask = |files: &TokenFiles| files.read(&FederatedTokenRequest { source: reference.clone() });
        match ask(&files) {
            FederatedTokenOutcome::Error(e) => assert_eq!(e.code, "unreadable"),
            other => panic!("{other:?}"),
        }
        std::fs::write(&path, "first.token.sig\n").unwrap();
        assert_eq!(ask(&files), FederatedTokenOutcome::Token("first.token.sig".into()));
        std::fs::write(&path, "second.token.sig").unwrap();
        assert_eq!(ask(&files), FederatedTokenOutcome::Token("second.token.sig".into()));
        std::fs::write(&path, "  \n").unwrap();
        assert!(matches!(ask(&files), FederatedTokenOutcome::Error(e) if e.code == "empty"));
        std::fs::write(&path, "secret-a secret-b").unwrap();
        match ask(&files) {
            FederatedTokenOutcome::Error(e) => assert!(!e.message.contains("secret-a"), "{}", e.message),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            files.read(&FederatedTokenRequest { source: "host-token:other".into() }),
            FederatedTokenOutcome::Error(e) if e.code == "unknown_source"
        ));
        assert_eq!(format!("{:?}", FederatedTokenOutcome::Token("t0ken".into())), "Token([redacted])");
    }
}
