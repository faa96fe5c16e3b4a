//! What wraps every request: a body limit, a time limit, rate limits per API key and per
//! client address, and headers that keep answers out of caches, frames and guessed types.

use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tower_http::set_header::SetResponseHeaderLayer;

/// The largest request body accepted (a connection's settings are a few KiB).
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// A request's time limit; a refresh that retries as classified fits in it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(90);

/// Token buckets per API key id and per client address.
pub struct RateLimits {
    pub per_key: DefaultKeyedRateLimiter<String>,
    pub per_client: DefaultKeyedRateLimiter<std::net::IpAddr>,
}

impl RateLimits {
    /// `per_second` requests a second each, in bursts of twice that.
    pub fn new(per_second: u32) -> RateLimits {
        let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(per_second.max(1).saturating_mul(2)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_second(rate).allow_burst(burst);
        RateLimits { per_key: RateLimiter::keyed(quota), per_client: RateLimiter::keyed(quota) }
    }
}

/// The headers every answer carries: no caching (answers hold connection data and tokens), no
/// framing, no type sniffing, no referrer, and a policy that allows no active content.
pub fn security_headers() -> Vec<SetResponseHeaderLayer<HeaderValue>> {
    // A page that sets its own policy (the panel's) keeps it.
    let h = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    vec![
        h(header::CACHE_CONTROL, "no-store"),
        h(header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        h(header::X_FRAME_OPTIONS, "DENY"),
        h(header::REFERRER_POLICY, "no-referrer"),
        h(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    ]
}
