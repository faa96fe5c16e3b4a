//! The HTTP boundary. The connector never opens a socket: it describes a request (the
//! interface's [`HttpRequest`]), and the host (which checks allowed hosts on every hop, applies
//! timeouts and size caps) answers with either a response or a transport error, as a value.
//! See docs/interface.md, "Host HTTP".

pub use connector_interface::federated::{FederatedTokenOutcome, FederatedTokenRequest};
pub use connector_interface::http::{HttpOutcome, HttpRequest, HttpResponse, TransportError, TransportKind};
pub use connector_interface::sign::{SignOutcome, SignRequest};

/// What the connector asks of its host: sending a request (the host function in the plugin, a
/// fake in tests) and, where the host offers `connector_sign`, signing with a key the connector
/// never holds.
pub trait HttpClient {
    /// Sends `request`. A client in between may add headers to it on its way (the call's
    /// request id, `wire::Traced`), in place rather than on a copy.
    fn send(&mut self, request: &mut HttpRequest) -> HttpOutcome;

    /// Signs with the host's key named in `request`. A host without the function answers
    /// `not_offered`.
    fn sign(&mut self, _request: &SignRequest) -> SignOutcome {
        SignOutcome::failed("not_offered", "this host does not offer connector_sign")
    }

    /// The current token of the workload identity named in `request`. A host without the
    /// function answers `not_offered`.
    fn federated_token(&mut self, _request: &FederatedTokenRequest) -> FederatedTokenOutcome {
        FederatedTokenOutcome::failed("not_offered", "this host does not offer connector_federated_token")
    }
}

impl<F: FnMut(&HttpRequest) -> HttpOutcome> HttpClient for F {
    fn send(&mut self, request: &mut HttpRequest) -> HttpOutcome {
        self(request)
    }
}

/// A client for exports that make no request: refusing is the only answer.
pub struct NoHttp;

impl HttpClient for NoHttp {
    fn send(&mut self, _: &mut HttpRequest) -> HttpOutcome {
        HttpOutcome::transport(TransportKind::BlockedHost, "this export makes no HTTP requests")
    }
}
