//! What every request of one export call carries besides its own fields, as MSAL sends it
//! (tests/fixtures/msal/requests.json): the host's `client-request-id`, so that a failure can be
//! found in Microsoft's sign-in logs and in the platform's, and on the identity platform's
//! endpoints the library's name and version and the protocol features it handles.

use connector_interface::ConnectorError;

use crate::error::CResult;
use crate::http::{HttpClient, HttpOutcome, HttpRequest};
use crate::settings::is_guid;

/// `x-client-SKU`: which client library is calling (MSAL Python sends `MSAL.Python`).
pub const SKU: &str = env!("CARGO_PKG_NAME");
/// `x-client-Ver`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// `x-ms-lib-capability`: the client honours `Retry-After` and HTTP 429 from the token endpoint.
pub const LIB_CAPABILITY: &str = "retry-after, h429";

/// The request id of one export call, checked: a GUID from the host, or none.
pub fn request_id(id: Option<&str>) -> CResult<Option<&str>> {
    match id {
        Some(id) if is_guid(id) => Ok(Some(id)),
        Some(_) => Err(ConnectorError::invalid(
            "client_request_id",
            "client_request_id must be a random GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).",
        )),
        None => Ok(None),
    }
}

/// Adds what a request to the identity platform (the token and device code endpoints) carries.
pub fn identity_platform(mut request: HttpRequest) -> HttpRequest {
    request.headers.insert("x-client-sku".into(), SKU.into());
    request.headers.insert("x-client-ver".into(), VERSION.into());
    request.headers.insert("x-ms-lib-capability".into(), LIB_CAPABILITY.into());
    request
}

/// The host's client, with the call's request id put on every request and written into the
/// `support` of every failure the call classifies.
pub struct Traced<'a> {
    inner: &'a mut dyn HttpClient,
    id: Option<&'a str>,
}

impl<'a> Traced<'a> {
    pub fn new(inner: &'a mut dyn HttpClient, id: Option<&'a str>) -> CResult<Self> {
        Ok(Traced { inner, id: request_id(id)? })
    }

    /// The call's failure with the request id in its `support` (Microsoft's answer may already
    /// name it: Graph's `innerError` and, with `return-client-request-id`, the token endpoint).
    pub fn mark<T>(&self, result: CResult<T>) -> CResult<T> {
        match self.id {
            Some(id) => result.map_err(|e| e.with_client_request_id(id)),
            None => result,
        }
    }
}

impl HttpClient for Traced<'_> {
    fn send(&mut self, request: &mut HttpRequest) -> HttpOutcome {
        if let Some(id) = self.id {
            request.headers.insert("client-request-id".into(), id.into());
            request.headers.insert("return-client-request-id".into(), "true".into());
        }
        self.inner.send(request)
    }

    fn sign(&mut self, request: &crate::http::SignRequest) -> crate::http::SignOutcome {
        self.inner.sign(request)
    }

    fn federated_token(&mut self, request: &crate::http::FederatedTokenRequest) -> crate::http::FederatedTokenOutcome {
        self.inner.federated_token(request)
    }
}

/// Runs one network export with its request id: checked, sent, and kept with any failure.
pub fn traced<T>(
    http: &mut dyn HttpClient,
    id: Option<&str>,
    run: impl FnOnce(&mut dyn HttpClient) -> CResult<T>,
) -> CResult<T> {
    let mut traced = Traced::new(http, id)?;
    let result = run(&mut traced);
    traced.mark(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::{self, Phase};
    use crate::http::HttpResponse;

    const ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

    #[test]
    fn every_request_of_the_call_carries_the_id_and_failures_keep_it() {
        let mut seen = Vec::new();
        let mut host = |r: &HttpRequest| {
            seen.push(r.headers.clone());
            HttpOutcome::Response(HttpResponse { status: 400, body: "{}".into(), ..HttpResponse::default() })
        };
        let result: CResult<()> = traced(&mut host, Some(ID), |http| {
            for _ in 0..2 {
                if let HttpOutcome::Response(r) =
                    http.send(&mut HttpRequest::get("https://graph.example/v1.0/me".into()))
                {
                    return Err(ConnectorError::classified(classify::from_response(Phase::Graph, &r, None, &[])));
                }
            }
            Ok(())
        });
        let e = result.unwrap_err();
        assert_eq!(e.classification().unwrap().support.client_request_id.as_deref(), Some(ID));
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0]["client-request-id"], ID);
        assert_eq!(seen[0]["return-client-request-id"], "true");
    }

    #[test]
    fn microsofts_own_echo_is_kept_and_a_bad_id_is_refused() {
        let result: CResult<()> = traced(&mut crate::http::NoHttp, Some(ID), |_| {
            let mut c = classify::from_transport(
                Phase::Token,
                &crate::http::TransportError { kind: crate::http::TransportKind::Timeout, message: "t".into() },
            );
            c.support.client_request_id = Some("11111111-1111-1111-1111-111111111111".into());
            Err(ConnectorError::classified(c))
        });
        let c = result.unwrap_err();
        assert_eq!(
            c.classification().unwrap().support.client_request_id.as_deref(),
            Some("11111111-1111-1111-1111-111111111111")
        );
        let e = traced(&mut crate::http::NoHttp, Some("not-a-guid"), |_| Ok(())).unwrap_err();
        assert_eq!(e.field(), Some("client_request_id"));
        // Without an id nothing is added.
        let mut headers = None;
        let mut host = |r: &HttpRequest| {
            headers = Some(r.headers.clone());
            HttpOutcome::transport(crate::http::TransportKind::Timeout, "t")
        };
        let _ = traced(&mut host, None, |http| {
            http.send(&mut HttpRequest::get("https://g.example/".into()));
            Ok(())
        });
        assert!(!headers.unwrap().contains_key("client-request-id"));
    }
}
