//! `connector-host`: the command line of the host and of the platform around connectors, and
//! the glue that points a connector at the embedded mock identity provider (`mock_idp`).

pub mod cli;
pub mod mock_idp;
pub mod serve;
