//! Microsoft Entra ID connector (interface v1).
//!
//! The protocol core is plain Rust that builds and tests natively: settings, scopes, PKCE, the
//! authorize and admin consent URLs, token requests and responses, id_token checks, Graph calls
//! and error classification. `exports` (wasm32 only) is the thin extism layer over [`api::call`].

pub mod api;
pub mod assertion;
pub mod authorize;
pub mod cae;
pub mod catalog;
pub mod classify;
pub mod cloud;
pub mod credential;
pub mod describe;
pub mod device;
pub mod encode;
pub mod error;
pub mod federated;
pub mod graph;
pub mod http;
pub mod idtoken;
pub mod input;
pub mod json_out;
pub mod jwt;
pub mod pkce;
pub mod scopes;
pub mod secret;
pub mod settings;
pub mod token;
pub mod wire;
pub mod words;

#[cfg(target_arch = "wasm32")]
mod exports;
