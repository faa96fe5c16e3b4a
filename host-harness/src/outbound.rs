//! Outbound HTTP on behalf of a connector: one pooled client, every hop checked against the
//! manifest's allowed hosts, a timeout per request bounded by the call's deadline, a cap on
//! the response body, and transport failures returned as values.
//!
//! Redirects are followed only for GET and HEAD (a POST to a token endpoint carries a secret and
//! is never re-sent anywhere), each hop is checked, and `Authorization` is dropped when a hop
//! changes host.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::{Duration, Instant};

use connector_interface::http::{redact_query, HttpOutcome, HttpRequest, HttpResponse, TransportKind};

use crate::resolver::{Blocked, Egress};

pub const MAX_REDIRECTS: usize = 5;

/// Host patterns: `login.example.com` (exact, any port) or `*.example.com` (subdomains).
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    patterns: Vec<String>,
}

impl HostPolicy {
    pub fn new(patterns: impl IntoIterator<Item = String>) -> Self {
        HostPolicy { patterns: patterns.into_iter().map(|p| p.to_ascii_lowercase()).collect() }
    }

    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        self.patterns.iter().any(|p| match p.strip_prefix("*.") {
            Some(suffix) => {
                host.len() > suffix.len() + 1
                    && host.ends_with(suffix)
                    && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
            }
            None => *p == host,
        })
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
}

#[derive(Clone)]
pub struct Outbound {
    agent: ureq::Agent,
    policy: HostPolicy,
    max_body: u64,
    request_timeout: Duration,
}

impl Outbound {
    /// `in_flight` is how many requests may be out at once (one per connector instance): that many
    /// connections to one host are kept open between requests, so that a burst (keep-alive's 64
    /// refreshes in flight) reuses its connections instead of opening, and on TLS shaking hands,
    /// again for every request past the pool's size.
    pub fn new(policy: HostPolicy, max_body: u64, request_timeout: Duration, egress: Egress, in_flight: usize) -> Self {
        let per_host = in_flight.max(16);
        let config = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .max_idle_connections(per_host * 2)
            .max_idle_connections_per_host(per_host)
            .user_agent("connector-host/1")
            .build();
        let agent = crate::resolver::agent(config, egress);
        Outbound { agent, policy, max_body, request_timeout }
    }

    pub fn policy(&self) -> &HostPolicy {
        &self.policy
    }

    /// Sends `req`, giving up at `deadline` at the latest.
    pub fn send(&self, req: &HttpRequest, deadline: Option<Instant>) -> HttpOutcome {
        let method = req.method.to_ascii_uppercase();
        if !matches!(method.as_str(), "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD") {
            return HttpOutcome::transport(
                TransportKind::InvalidUrl,
                format!("method {} is not supported", method.chars().take(16).collect::<String>()),
            );
        }
        let mut url = match url::Url::parse(&req.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
            _ => return HttpOutcome::transport(TransportKind::InvalidUrl, "the URL is not an absolute http(s) URL"),
        };
        let mut headers = req.headers.clone();
        let follows = matches!(method.as_str(), "GET" | "HEAD");
        let mut hop = 0;
        loop {
            let host = url.host_str().unwrap_or_default().to_string();
            if !self.policy.allows(&host) {
                let (kind, what) = if hop == 0 {
                    (TransportKind::BlockedHost, "is not in the manifest's allowed hosts")
                } else {
                    (TransportKind::RedirectBlocked, "(reached by a redirect) is not in the manifest's allowed hosts")
                };
                tracing::warn!(host = %host, hop, "outbound request blocked");
                return HttpOutcome::transport(kind, format!("host {host} {what}; the request was not sent"));
            }
            let timeout = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left.min(self.request_timeout),
                    _ => {
                        return HttpOutcome::transport(
                            TransportKind::Timeout,
                            "the call's time ran out before the request was sent",
                        )
                    }
                },
                None => self.request_timeout,
            };
            let started = Instant::now();
            let result = self.once(&method, &url, &headers, req.body.as_deref(), timeout);
            tracing::debug!(method = %method, url = %redact_query(url.as_str()), elapsed_ms = started.elapsed().as_millis() as u64, "outbound request");
            let response = match result {
                Ok(r) => r,
                Err(outcome) => return outcome,
            };
            let location = response.headers.get("location").cloned();
            match (follows, response.status, location) {
                (true, 301 | 302 | 303 | 307 | 308, Some(loc)) if hop < MAX_REDIRECTS => {
                    let Ok(next) = url.join(&loc) else {
                        return HttpOutcome::transport(
                            TransportKind::InvalidUrl,
                            "a redirect's Location is not a valid URL",
                        );
                    };
                    if next.host_str() != url.host_str() {
                        headers.retain(|k, _| !k.eq_ignore_ascii_case("authorization"));
                    }
                    url = next;
                    hop += 1;
                }
                _ => return HttpOutcome::Response(response),
            }
        }
    }

    fn once(
        &self,
        method: &str,
        url: &url::Url,
        headers: &BTreeMap<String, String>,
        body: Option<&str>,
        timeout: Duration,
    ) -> Result<HttpResponse, HttpOutcome> {
        let mut builder = ureq::http::Request::builder().method(method).uri(url.as_str());
        for (k, v) in headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let request = builder
            .body(body.unwrap_or_default().as_bytes().to_vec())
            .map_err(|_| HttpOutcome::transport(TransportKind::InvalidUrl, "the request's headers are not valid"))?;
        let request = self.agent.configure_request(request).timeout_global(Some(timeout)).build();
        let mut response = self.agent.run(request).map_err(map_error)?;
        let mut out_headers: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in response.headers() {
            let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
            out_headers
                .entry(name.as_str().to_ascii_lowercase())
                .and_modify(|e| {
                    e.push_str(", ");
                    e.push_str(&v)
                })
                .or_insert(v);
        }
        let status = response.status().as_u16();
        let mut buf = Vec::new();
        let reader = response.body_mut().with_config().limit(self.max_body).reader();
        let mut limited = reader.take(self.max_body + 1);
        match limited.read_to_end(&mut buf) {
            Ok(_) if buf.len() as u64 > self.max_body => {
                return Err(HttpOutcome::transport(
                    TransportKind::TooLarge,
                    format!("the response body is larger than {} bytes", self.max_body),
                ))
            }
            Ok(_) => {}
            Err(e) => return Err(map_io(&e)),
        }
        Ok(HttpResponse { status, headers: out_headers, body: String::from_utf8_lossy(&buf).into_owned() })
    }
}

fn map_io(e: &std::io::Error) -> HttpOutcome {
    use std::io::ErrorKind as K;
    if let Some(blocked) = e.get_ref().and_then(|i| i.downcast_ref::<Blocked>()) {
        return HttpOutcome::transport(TransportKind::BlockedHost, short(&blocked.0));
    }
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<ureq::Error>()) {
        return map_error_ref(inner);
    }
    let kind = match e.kind() {
        K::TimedOut | K::WouldBlock => TransportKind::Timeout,
        K::ConnectionRefused => TransportKind::Refused,
        K::ConnectionReset | K::ConnectionAborted | K::UnexpectedEof | K::BrokenPipe => TransportKind::ConnectionReset,
        _ if e.to_string().contains("limit") => TransportKind::TooLarge,
        _ => TransportKind::Io,
    };
    HttpOutcome::transport(kind, short(&e.to_string()))
}

fn map_error(e: ureq::Error) -> HttpOutcome {
    map_error_ref(&e)
}

fn map_error_ref(e: &ureq::Error) -> HttpOutcome {
    use ureq::Error as E;
    let kind = match e {
        E::Timeout(_) => TransportKind::Timeout,
        E::HostNotFound => TransportKind::Dns,
        E::ConnectionFailed => TransportKind::Refused,
        E::BodyExceedsLimit(_) => TransportKind::TooLarge,
        E::Tls(_) | E::Rustls(_) => TransportKind::Tls,
        E::BadUri(_) | E::Http(_) => TransportKind::InvalidUrl,
        E::Io(io) => return map_io(io),
        E::Protocol(_) => TransportKind::ConnectionReset,
        _ => TransportKind::Io,
    };
    HttpOutcome::transport(kind, short(&e.to_string()))
}

fn short(s: &str) -> String {
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_patterns() {
        let p =
            HostPolicy::new(["login.example.net".to_string(), "*.example.com".to_string(), "127.0.0.1".to_string()]);
        assert!(p.allows("login.example.net"));
        assert!(p.allows("LOGIN.example.net"));
        assert!(p.allows("a.example.com"));
        assert!(!p.allows("example.com"));
        assert!(!p.allows("badexample.com"));
        assert!(!p.allows("login.example.net.evil.io"));
        assert!(p.allows("127.0.0.1"));
        assert!(!p.allows("localhost"));
        assert!(!HostPolicy::default().allows("anything"));
    }

    /// An outbound path whose resolver answers `ip` for `allowed.test`.
    fn resolving_to(ip: &str, allow_loopback: bool) -> Outbound {
        let answers = std::collections::BTreeMap::from([("allowed.test".to_string(), vec![ip.parse().unwrap()])]);
        let egress = Egress { allow_loopback, answers: Some(std::sync::Arc::new(answers)) };
        Outbound::new(HostPolicy::new(["allowed.test".to_string()]), 1024, Duration::from_secs(1), egress, 16)
    }

    fn refusal(o: &Outbound, url: &str) -> String {
        let req = HttpRequest { method: "GET".into(), url: url.into(), headers: Default::default(), body: None };
        match o.send(&req, None) {
            HttpOutcome::TransportError(t) if t.kind == TransportKind::BlockedHost => t.message,
            other => panic!("{url}: {other:?}"),
        }
    }

    #[test]
    fn every_refusal_names_its_rule() {
        let m = refusal(&resolving_to("169.254.169.254", false), "https://allowed.test/latest/meta-data");
        assert!(m.contains("allowed.test") && m.contains("link-local") && m.contains("169.254.169.254"), "{m}");
        let m = refusal(&resolving_to("10.0.0.5", true), "https://allowed.test/");
        assert!(m.contains("private (RFC 1918"), "{m}");
        let m = refusal(&resolving_to("::ffff:127.0.0.1", false), "https://allowed.test/");
        assert!(m.contains("loopback"), "{m}");
        let m = refusal(&resolving_to("100.64.0.1", false), "https://allowed.test/");
        assert!(m.contains("carrier-grade NAT"), "{m}");
        let m = refusal(&resolving_to("20.190.151.68", true), "http://allowed.test/");
        assert!(m.contains("plain http"), "{m}");
    }

    #[test]
    fn blocked_hosts_are_never_contacted() {
        let o = Outbound::new(
            HostPolicy::new(["allowed.test".to_string()]),
            1024,
            Duration::from_secs(1),
            Egress::default(),
            16,
        );
        let req = HttpRequest {
            method: "GET".into(),
            url: "http://127.0.0.1:9/".into(),
            headers: Default::default(),
            body: None,
        };
        match o.send(&req, None) {
            HttpOutcome::TransportError(t) => assert_eq!(t.kind, TransportKind::BlockedHost),
            other => panic!("{other:?}"),
        }
        let bad = HttpRequest {
            method: "GET".into(),
            url: "file:///etc/passwd".into(),
            headers: Default::default(),
            body: None,
        };
        assert!(matches!(o.send(&bad, None), HttpOutcome::TransportError(t) if t.kind == TransportKind::InvalidUrl));
    }
}
