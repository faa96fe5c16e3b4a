//! `Retry-After` (RFC 9110 section 10.2.3): delay-seconds or an HTTP date. Graph samples show
//! fractional seconds (2.128), so those are accepted. MSAL caps the wait at 3600 s; so do we.

pub const MAX_RETRY_AFTER: f64 = 3600.0;

/// Suggested waits when the service gave none (learn.microsoft.com/entra/architecture/resilience-client-app:
/// back off, first retry a few seconds later).
pub const THROTTLED_HINT: f64 = 10.0;
pub const TRANSIENT_HINT: f64 = 5.0;

/// Seconds to wait, or None when the value is garbage. `now` is Unix seconds, if known; without
/// it an HTTP date is measured from the response's `Date` header (`date_header`).
pub fn parse(value: &str, now: Option<i64>, date_header: Option<&str>) -> Option<f64> {
    let v = value.trim();
    if v.is_empty() || v.len() > 64 {
        return None;
    }
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| secs.min(MAX_RETRY_AFTER));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    let at = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64;
    let reference = match now {
        Some(n) => n,
        None => {
            let d = httpdate::parse_http_date(date_header?.trim()).ok()?;
            d.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64
        }
    };
    Some(((at - reference).max(0) as f64).min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn forms() {
        assert_eq!(parse("120", None, None), Some(120.0));
        assert_eq!(parse(" 2.128 ", None, None), Some(2.128));
        assert_eq!(parse("999999", None, None), Some(3600.0));
        assert_eq!(parse("-3", None, None), None);
        assert_eq!(parse("soon", None, None), None);
        assert_eq!(parse("NaN", None, None), None);
        assert_eq!(parse("inf", None, None), None);
        // 1994-11-15T08:12:31Z is 784887151.
        assert_eq!(parse("Tue, 15 Nov 1994 08:12:31 GMT", Some(784_887_100), None), Some(51.0));
        assert_eq!(parse("Tue, 15 Nov 1994 08:12:31 GMT", None, Some("Tue, 15 Nov 1994 08:12:01 GMT")), Some(30.0));
        assert_eq!(parse("Tue, 15 Nov 1994 08:12:31 GMT", None, None), None);
        assert_eq!(parse("Tue, 15 Nov 1994 08:12:31 GMT", Some(900_000_000), None), Some(0.0));
    }
}
