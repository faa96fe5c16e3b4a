//! A generic host for connector plugins (interface v1) and a simulator of the integration
//! platform around them. Nothing here knows which service a connector talks to, except the
//! mock identity provider in `mock_entra`, which lives apart.

pub mod cache;
pub mod conformance;
pub mod error;
pub mod host;
pub mod instances;
pub mod manifest;
// The mock's handlers return `Result<_, Response>` to answer early; one Response per request.
#[allow(clippy::result_large_err)]
pub mod mock_entra;
pub mod outbound;
pub mod platform;
pub mod resolver;
pub mod wire;

pub use cache::CompileCache;
pub use error::{CallResult, ConnectorError, HostError};
pub use host::{ConnectorHost, LoadOptions};
pub mod cli;
