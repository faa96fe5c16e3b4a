//! `Retry-After` (RFC 9110 section 10.2.3): delay-seconds (`1*DIGIT`) or an HTTP date. Graph
//! samples show fractional seconds (2.128), so digits, a point and digits are accepted too; signs,
//! exponents, `inf` and `NaN` are not. MSAL caps the wait at 3600 s; so do we.

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
    if v.as_bytes()[0].is_ascii_digit() {
        return delay_seconds(v);
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

/// Fraction digits kept: a microsecond is finer than any wait needs.
const FRACTION_DIGITS: usize = 6;

/// `1*DIGIT [ "." 1*DIGIT ]`, capped at [`MAX_RETRY_AFTER`]. Not `str::parse::<f64>`: it takes
/// forms no server sends (`+5`, `1e3`, `.5`, `inf`) and its tables are 15 KB of the module.
fn delay_seconds(v: &str) -> Option<f64> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (whole, fraction) = match v.split_once('.') {
        Some((w, f)) if digits(w) && digits(f) => (w, &f[..f.len().min(FRACTION_DIGITS)]),
        None if digits(v) => (v, ""),
        _ => return None,
    };
    let cap = MAX_RETRY_AFTER as u64;
    // Only digits are left, so a whole part that does not parse is too long for a u64.
    let whole = whole.parse::<u64>().map_or(cap, |w| w.min(cap));
    let scale = 10u64.pow(fraction.len() as u32);
    let fraction = if fraction.is_empty() { 0 } else { fraction.parse::<u64>().ok()? };
    // Both operands are exact in an f64, so the quotient is the correctly rounded decimal.
    Some(((whole * scale + fraction) as f64 / scale as f64).min(MAX_RETRY_AFTER))
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
        assert_eq!(parse("007", None, None), Some(7.0));
        assert_eq!(parse("0.5", None, None), Some(0.5));
        assert_eq!(parse("3599.9999999", None, None), Some(3599.999999));
        assert_eq!(parse("3600.5", None, None), Some(3600.0));
        assert_eq!(parse("99999999999999999999999999", None, None), Some(3600.0));
        for odd in ["+5", "1e3", ".5", "2.", "2..1", "2.1.1", "1 2", "5s", "١٢"] {
            assert_eq!(parse(odd, None, None), None, "{odd}");
        }
        // 1994-11-15T08:12:31Z is 784887151.
        assert_eq!(parse("Tue, 15 Nov 1994 08:12:31 GMT", Some(784_887_100), None), Some(51.0));
        assert_eq!(parse("Tue, 15 Nov 1994 08:12:31 GMT", None, Some("Tue, 15 Nov 1994 08:12:01 GMT")), Some(30.0));
        assert_eq!(parse("Tue, 15 Nov 1994 08:12:31 GMT", None, None), None);
        assert_eq!(parse("Tue, 15 Nov 1994 08:12:31 GMT", Some(900_000_000), None), Some(0.0));
    }
}
