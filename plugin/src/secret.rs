//! Secret values (client secrets, codes, tokens, verifiers): the interface's redacted type.

pub use connector_interface::Secret;
