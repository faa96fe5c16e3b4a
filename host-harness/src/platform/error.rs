//! What the platform's operations fail with. Every variant keeps its cause (`source()`); the
//! text is one line a person can act on, and never carries a secret.

use std::path::PathBuf;

use connector_interface::ConnectorError;

use crate::error::HostError;

#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error(transparent)]
    Host(#[from] HostError),
    /// The connector refused or the provider failed; the classification says what to do.
    #[error("{}", describe_connector_error(.0))]
    Connector(Box<ConnectorError>),
    #[error("a connection named {0:?} already exists; names must be unique")]
    NameTaken(String),
    #[error("no connection named {0:?}")]
    NotFound(String),
    #[error(
        "the connection {0:?} changed while this change was made (another request or process came first); try again"
    )]
    Changed(String),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("the connection {name:?} {status}: {remedy}")]
    Unusable { name: String, status: &'static str, remedy: String },
    /// A device code sign-in ended without tokens.
    #[error(transparent)]
    Device(crate::platform::device::DeviceError),
    /// The platform's own request (`api`) cannot be sent as asked.
    #[error("{0}")]
    Request(String),
}

fn describe_connector_error(e: &ConnectorError) -> String {
    match (e.field(), e.remediation()) {
        (Some(f), _) => format!("{f}: {}", e.message()),
        (None, Some(r)) => format!("{} ({}) {r}", e.message(), e.code()),
        (None, None) => format!("{} ({})", e.message(), e.code()),
    }
}

impl From<ConnectorError> for PlatformError {
    fn from(e: ConnectorError) -> Self {
        PlatformError::Connector(Box::new(e))
    }
}

impl PlatformError {
    /// 1 for a connector or connection problem, 2 for a usage, host or store problem.
    pub fn exit_code(&self) -> u8 {
        match self {
            PlatformError::Host(_) | PlatformError::Store(_) | PlatformError::Key(_) => 2,
            _ => 1,
        }
    }
}

/// A sign-in answer that does not belong to a pending authorization of this platform.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("the sign-in answer has no state; it is not an answer to this platform's request")]
    Missing,
    #[error("the sign-in answer's state is unknown or was already used; start again with Save and authorize")]
    Unknown,
    #[error("the sign-in took longer than 10 minutes and expired; start again with Save and authorize")]
    Expired,
    #[error("the sign-in answer has neither a code nor an error")]
    NoCode,
    #[error("the admin consent answer says neither admin_consent=True nor an error")]
    NoConsent,
}

/// The store could not do what was asked; nothing was half-written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("store: cannot create or protect {}: {source}", .path.display())]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("store: a sealed value of {owner:?} cannot be opened (wrong key, or the value was altered)")]
    Sealed { owner: String },
    #[error("store: the {what} of {owner:?} is not readable: {source}")]
    Corrupt {
        what: &'static str,
        owner: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("store: connection {owner:?} has the unknown status {status:?}")]
    UnknownStatus { owner: String, status: String },
    #[error("store: the writer stopped before the change was committed")]
    WriterGone,
    #[error("store: the transaction did not commit: {0}")]
    Commit(#[source] std::sync::Arc<rusqlite::Error>),
    #[error("store: a change could not be kept apart from the others; none was kept")]
    Isolation,
    #[error("store: PostgreSQL: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("store: the PostgreSQL server cannot be reached ({0}); the change was not made")]
    Unavailable(String),
    #[error("store: not a PostgreSQL URL ({0}); expected postgres://USER@HOST:PORT/DATABASE")]
    Url(String),
}

/// The key that seals secrets at rest.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{env} is not base64")]
    EnvNotBase64 { env: &'static str },
    #[error("{} is not a base64 key", .0.display())]
    FileNotBase64(PathBuf),
    #[error("the store key must be 32 bytes (it is {0})")]
    Length(usize),
    #[error("cannot {what} the key file {}: {source}", .path.display())]
    File {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
