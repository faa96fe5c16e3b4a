//! A generic host for connector plugins (interface v1) and the integration platform around
//! them. Nothing here knows which service a connector talks to: the connector says it through
//! interface v1 (`connector-interface`), and identity providers to test against are parameters.

pub mod cache;
pub mod conformance;
pub mod egress;
pub mod error;
pub mod files;
pub mod host;
pub mod instances;
pub mod manifest;
pub mod outbound;
pub mod pkcs12;
pub mod platform;
pub mod resolver;
pub mod signing;
pub mod token_files;

pub use cache::CompileCache;
pub use error::{CallResult, ConnectorError, HostError};
pub use host::{ConnectorHost, LoadOptions, V1};
