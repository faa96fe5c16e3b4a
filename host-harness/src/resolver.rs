//! Name resolution for the connector's outbound requests: remembered for a short while, and
//! vetted. Every address a name resolves to is checked against the egress rules (`egress.rs`)
//! before ureq connects, and ureq connects to exactly the addresses returned here, so a second
//! lookup (DNS rebinding) cannot swap in an internal address.
//!
//! ureq resolves a request's host before it looks for a pooled connection, and with a timeout
//! set (every connector request has one, bounded by the call's deadline) it resolves on a new
//! thread each time, so a hung DNS cannot outlast the call. That is one thread per request,
//! pooled connection or not. This resolver keeps an answer for [`TTL`]: the first request to a
//! host resolves (on a thread, within its timeout), the next ones within the TTL do not.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// How long an answer is used. Short against the minutes-long TTLs identity providers give their endpoints.
pub const TTL: Duration = Duration::from_secs(30);

/// Hosts remembered at most; beyond that the oldest answers are dropped first.
const MAX_HOSTS: usize = 64;

pub struct CachingResolver<R = DefaultResolver> {
    inner: R,
    ttl: Duration,
    answers: Mutex<HashMap<String, (Instant, ResolvedSocketAddrs)>>,
}

impl Default for CachingResolver {
    fn default() -> Self {
        CachingResolver::with(DefaultResolver::default(), TTL)
    }
}

impl<R> fmt::Debug for CachingResolver<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachingResolver").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl<R: Resolver> CachingResolver<R> {
    /// Remembers what `inner` answers for `ttl`.
    pub fn with(inner: R, ttl: Duration) -> Self {
        CachingResolver { inner, ttl, answers: Mutex::new(HashMap::new()) }
    }

    /// Hosts with an answer still in use.
    pub fn remembered(&self) -> usize {
        let now = Instant::now();
        self.answers.lock().unwrap_or_else(|e| e.into_inner()).values().filter(|(at, _)| now - *at < self.ttl).count()
    }
}

impl<R: Resolver> Resolver for CachingResolver<R> {
    fn resolve(&self, uri: &Uri, config: &Config, timeout: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let key = match (uri.scheme(), uri.authority()) {
            (Some(scheme), Some(authority)) => DefaultResolver::host_and_port(scheme, authority),
            _ => None,
        };
        let Some(key) = key else {
            return self.inner.resolve(uri, config, timeout);
        };
        let now = Instant::now();
        if let Some((at, addrs)) = self.answers.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            if now - *at < self.ttl {
                return Ok(addrs.clone());
            }
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        answers.retain(|_, (at, _)| now - *at < self.ttl);
        if answers.len() >= MAX_HOSTS {
            if let Some(oldest) = answers.iter().min_by_key(|(_, (at, _))| *at).map(|(k, _)| k.clone()) {
                answers.remove(&oldest);
            }
        }
        answers.insert(key, (now, addrs.clone()));
        Ok(addrs)
    }
}

/// Where the outbound path may connect, beyond the rules every request obeys.
#[derive(Clone, Debug, Default)]
pub struct Egress {
    /// Test mode: loopback, and plain http towards it, are reachable (the platform's mock on
    /// 127.0.0.1). A load option of the platform, never a manifest field.
    pub allow_loopback: bool,
    /// Fixed answers in place of DNS, by host name (tests: an allowed name that resolves to an
    /// internal address). A name not listed does not resolve.
    pub answers: Option<Arc<BTreeMap<String, Vec<IpAddr>>>>,
}

/// A request refused for the address it would have reached.
#[derive(Debug)]
pub struct Blocked(pub String);

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Blocked {}

/// Resolves (through the cache, or the fixed answers) and keeps only the addresses the egress
/// rules allow; none left is a [`Blocked`] refusal naming the rule.
#[derive(Debug)]
pub struct VettingResolver {
    cache: CachingResolver,
    egress: Egress,
}

impl VettingResolver {
    pub fn new(egress: Egress) -> Self {
        VettingResolver { cache: CachingResolver::default(), egress }
    }
}

impl Resolver for VettingResolver {
    fn resolve(&self, uri: &Uri, config: &Config, timeout: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let scheme = uri.scheme_str().unwrap_or("https");
        let found = match (&self.egress.answers, host.parse::<IpAddr>()) {
            (Some(answers), Err(_)) => {
                let port = uri.port_u16().unwrap_or(if scheme == "http" { 80 } else { 443 });
                let mut out = self.empty();
                for ip in answers.get(&host).into_iter().flatten().take(16) {
                    out.push(SocketAddr::new(*ip, port));
                }
                if out.is_empty() {
                    return Err(ureq::Error::HostNotFound);
                }
                out
            }
            _ => self.cache.resolve(uri, config, timeout)?,
        };
        let mut kept = self.empty();
        let mut refusal = None;
        for addr in found.iter().copied() {
            match crate::egress::permitted(addr.ip(), scheme, self.egress.allow_loopback) {
                Ok(()) => kept.push(addr),
                Err(rule) => {
                    refusal.get_or_insert(rule);
                }
            }
        }
        match refusal {
            Some(rule) if kept.is_empty() => {
                tracing::warn!(host = %host, "outbound request blocked by address");
                Err(ureq::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    Blocked(format!("host {host} was not contacted: {rule}")),
                )))
            }
            _ => Ok(kept),
        }
    }
}

/// An agent with `config` whose lookups go through a [`VettingResolver`].
pub fn agent(config: Config, egress: Egress) -> ureq::Agent {
    ureq::Agent::with_parts(config, ureq::unversioned::transport::DefaultConnector::new(), VettingResolver::new(egress))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Counts the lookups that reach it; refuses `fail.test`.
    #[derive(Debug, Default)]
    struct Counting(AtomicUsize);

    impl Resolver for Counting {
        fn resolve(
            &self,
            uri: &Uri,
            config: &Config,
            timeout: NextTimeout,
        ) -> Result<ResolvedSocketAddrs, ureq::Error> {
            self.0.fetch_add(1, Ordering::SeqCst);
            if uri.host() == Some("fail.test") {
                return Err(ureq::Error::HostNotFound);
            }
            DefaultResolver::default().resolve(uri, config, timeout)
        }
    }

    fn timeout() -> NextTimeout {
        NextTimeout { after: Duration::from_secs(2).into(), reason: ureq::Timeout::Resolve, ..NextTimeout::default() }
    }

    fn lookups(r: &CachingResolver<Counting>) -> usize {
        r.inner.0.load(Ordering::SeqCst)
    }

    #[test]
    fn an_answer_is_used_again_within_the_ttl_per_host_and_port() {
        let r = CachingResolver::with(Counting::default(), TTL);
        let config = Config::default();
        let a: Uri = "http://127.0.0.1:9/token".parse().unwrap();
        let first = r.resolve(&a, &config, timeout()).unwrap();
        assert_eq!(first[0], "127.0.0.1:9".parse().unwrap());
        let again = r.resolve(&"http://127.0.0.1:9/other?x=1".parse().unwrap(), &config, timeout()).unwrap();
        assert_eq!(again[0], first[0]);
        assert_eq!(lookups(&r), 1);
        r.resolve(&"http://127.0.0.1:10/".parse().unwrap(), &config, timeout()).unwrap();
        assert_eq!((lookups(&r), r.remembered()), (2, 2));
    }

    #[test]
    fn an_expired_answer_or_a_failure_is_not_used() {
        let r = CachingResolver::with(Counting::default(), Duration::ZERO);
        let config = Config::default();
        let a: Uri = "http://127.0.0.1:9/".parse().unwrap();
        r.resolve(&a, &config, timeout()).unwrap();
        r.resolve(&a, &config, timeout()).unwrap();
        assert_eq!((lookups(&r), r.remembered()), (2, 0));

        let r = CachingResolver::with(Counting::default(), TTL);
        let bad: Uri = "http://fail.test/".parse().unwrap();
        assert!(r.resolve(&bad, &config, timeout()).is_err());
        assert!(r.resolve(&bad, &config, timeout()).is_err());
        assert_eq!((lookups(&r), r.remembered()), (2, 0));
    }
}
