//! Connector interface v1: the serde types both sides of the wasm boundary speak, and the one
//! table of exports. A connector serializes its answers with them, a host reads them back; the
//! documents they make are the ones docs/schemas describes (a test holds them together, both
//! ways).
//!
//! Nothing here runs a call or knows a provider: it is the vocabulary of the contract
//! (docs/interface.md), kept lean because every connector carries it into its module.

pub mod classification;
mod classify_input;
pub mod describe;
pub mod device;
pub mod envelope;
pub mod error;
pub mod exports;
pub mod federated;
pub mod http;
pub mod io;
pub mod secret;
pub mod sign;
pub mod token;

pub use classification::{
    Action, Class, Classification, ClassifyErrorInput, Phase, Provider, QueryIn, Support, TransportIn,
};
pub use describe::{Description, Setting, SettingKind, SettingOption};
pub use device::{DeviceCode, DevicePoll};
pub use envelope::Envelope;
pub use error::{ConnectorError, ErrorCode, PlainError};
pub use exports::{Export, EXPORTS};
pub use federated::{FederatedTokenOutcome, FederatedTokenRequest, FEDERATED_TOKEN_FUNCTION, TOKEN_REFERENCE_PREFIX};
pub use http::{HttpOutcome, HttpRequest, HttpResponse, TransportError, TransportKind};
pub use io::*;
pub use secret::Secret;
pub use sign::{SignAlgorithm, SignFailure, SignOutcome, SignRequest, KEY_REFERENCE_PREFIX, SIGN_FUNCTION};
pub use token::{Grant, Identity, TokenSet};

/// The interface version this crate describes; a connector's `interface_version` export answers it.
pub const INTERFACE_VERSION: u32 = 1;
