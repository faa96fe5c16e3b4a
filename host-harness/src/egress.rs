//! The egress policy: which addresses a connector's requests may reach and which host names a
//! manifest may allow. A connector is third-party code and DNS answers are not the platform's:
//! whatever a manifest says or a name resolves to, a request goes only to a public unicast
//! address, and plain HTTP only to loopback in the test mode a mock needs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused: the rule it breaks, as the refusal names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forbidden {
    Loopback,
    Private,
    LinkLocal,
    UniqueLocal,
    SharedAddressSpace,
    Multicast,
    Unspecified,
    Documentation,
    Benchmarking,
    Reserved,
}

impl Forbidden {
    pub fn rule(self) -> &'static str {
        match self {
            Forbidden::Loopback => "loopback (127.0.0.0/8, ::1)",
            Forbidden::Private => "private (RFC 1918: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)",
            Forbidden::LinkLocal => "link-local (169.254.0.0/16, fe80::/10), where cloud metadata services live",
            Forbidden::UniqueLocal => "unique local (fc00::/7)",
            Forbidden::SharedAddressSpace => "carrier-grade NAT (100.64.0.0/10)",
            Forbidden::Multicast => "multicast",
            Forbidden::Unspecified => "unspecified (0.0.0.0, ::)",
            Forbidden::Documentation => "documentation (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32)",
            Forbidden::Benchmarking => "benchmarking (198.18.0.0/15, 2001:2::/48)",
            Forbidden::Reserved => "reserved (0.0.0.0/8, 192.0.0.0/24, 240.0.0.0/4, broadcast, IPv6 outside 2000::/3)",
        }
    }
}

fn v4(ip: Ipv4Addr) -> Option<Forbidden> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_unspecified() => Forbidden::Unspecified,
        (127, ..) => Forbidden::Loopback,
        (10, ..) | (172, 16..=31, _) | (192, 168, _) => Forbidden::Private,
        (169, 254, _) => Forbidden::LinkLocal,
        (100, 64..=127, _) => Forbidden::SharedAddressSpace,
        (224..=239, ..) => Forbidden::Multicast,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Forbidden::Documentation,
        (198, 18..=19, _) => Forbidden::Benchmarking,
        (0, ..) | (192, 0, 0) | (240..=255, ..) => Forbidden::Reserved,
        _ => return None,
    })
}

fn v6(ip: Ipv6Addr) -> Option<Forbidden> {
    // An IPv4-mapped (::ffff:a.b.c.d) or IPv4-compatible form is the IPv4 address it carries.
    if let Some(mapped) = ip.to_ipv4_mapped() {
        return v4(mapped);
    }
    let s = ip.segments();
    Some(match s {
        _ if ip.is_unspecified() => Forbidden::Unspecified,
        _ if ip.is_loopback() => Forbidden::Loopback,
        [0xfe80..=0xfebf, ..] => Forbidden::LinkLocal,
        [0xfc00..=0xfdff, ..] => Forbidden::UniqueLocal,
        [0xff00..=0xffff, ..] => Forbidden::Multicast,
        [0x2001, 0xdb8, ..] => Forbidden::Documentation,
        [0x2001, 0x2, 0, ..] => Forbidden::Benchmarking,
        // NAT64 (64:ff9b::/96) carries an IPv4 address too.
        [0x64, 0xff9b, 0, 0, 0, 0, ..] => {
            return v4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8))
        }
        // Global unicast is 2000::/3; everything else (IPv4-compatible ::a.b.c.d, discard,
        // site-local) is reserved.
        [0x2000..=0x3fff, ..] => return None,
        _ => Forbidden::Reserved,
    })
}

/// The rule `ip` breaks, or None for a public unicast address.
pub fn forbidden(ip: IpAddr) -> Option<Forbidden> {
    match ip {
        IpAddr::V4(ip) => v4(ip),
        IpAddr::V6(ip) => v6(ip),
    }
}

/// Whether a request may go to `ip` by `scheme`: https to a public unicast address; in test mode
/// (`allow_loopback`, a load option the platform sets for its mock, never a manifest field) also
/// to loopback, and plain http only to loopback. Otherwise the rule broken, for the refusal.
pub fn permitted(ip: IpAddr, scheme: &str, allow_loopback: bool) -> Result<(), String> {
    let f = forbidden(ip);
    let loopback_ok = allow_loopback && f == Some(Forbidden::Loopback);
    if scheme.eq_ignore_ascii_case("http") {
        return if loopback_ok {
            Ok(())
        } else {
            Err("plain http is refused: only https, with the certificate verified (http goes only to loopback, in the host's test mode)".into())
        };
    }
    match f {
        None => Ok(()),
        Some(_) if loopback_ok => Ok(()),
        Some(f) => Err(format!("its address {ip} is {}, never reachable by a connector", f.rule())),
    }
}

/// Why an `allowed_hosts` entry of a manifest is refused: an IP literal in any notation
/// (dotted, decimal, octal, hex, short, IPv6, IPv4-mapped IPv6), or a wildcard over a public
/// suffix (`*.com`, `*.co.uk`, `*.github.io` by the Public Suffix List), which would
/// allow every site registered under it.
pub fn host_entry_problem(entry: &str) -> Option<String> {
    let (wildcard, name) = match entry.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, entry),
    };
    // The WHATWG URL host parser reads 2852039166, 0251.0376.0251.0376, 0xa9fea9fe and 127.1 as
    // IPv4, as browsers and HTTP clients do.
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    let literal = name.parse::<IpAddr>().is_ok()
        || bare.parse::<Ipv6Addr>().is_ok()
        || matches!(url::Host::parse(name), Ok(url::Host::Ipv4(_) | url::Host::Ipv6(_)));
    if literal {
        return Some(format!(
            "{entry:?} is an IP address; allowed_hosts takes host names only (an address can be inside the platform's network, such as the cloud metadata service 169.254.169.254)"
        ));
    }
    if wildcard && psl::domain_str(&name.to_ascii_lowercase()).is_none() {
        return Some(format!(
            "{entry:?} covers a whole public suffix ({name} is on the Public Suffix List), so it would allow every site registered under it; name the registrable domain, such as *.example.{name}"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn every_internal_range_is_refused_and_public_addresses_pass() {
        let refused = [
            ("127.0.0.1", Forbidden::Loopback),
            ("127.255.0.9", Forbidden::Loopback),
            ("::1", Forbidden::Loopback),
            ("10.0.0.5", Forbidden::Private),
            ("172.16.0.1", Forbidden::Private),
            ("172.31.255.255", Forbidden::Private),
            ("192.168.1.1", Forbidden::Private),
            ("169.254.169.254", Forbidden::LinkLocal),
            ("fe80::1", Forbidden::LinkLocal),
            ("fc00::1", Forbidden::UniqueLocal),
            ("fd12:3456::1", Forbidden::UniqueLocal),
            ("100.64.0.1", Forbidden::SharedAddressSpace),
            ("100.127.255.254", Forbidden::SharedAddressSpace),
            ("224.0.0.1", Forbidden::Multicast),
            ("ff02::1", Forbidden::Multicast),
            ("0.0.0.0", Forbidden::Unspecified),
            ("::", Forbidden::Unspecified),
            ("192.0.2.10", Forbidden::Documentation),
            ("198.51.100.1", Forbidden::Documentation),
            ("203.0.113.7", Forbidden::Documentation),
            ("2001:db8::1", Forbidden::Documentation),
            ("198.18.0.1", Forbidden::Benchmarking),
            ("2001:2::1", Forbidden::Benchmarking),
            ("255.255.255.255", Forbidden::Reserved),
            ("240.0.0.1", Forbidden::Reserved),
            ("::ffff:127.0.0.1", Forbidden::Loopback),
            ("::ffff:169.254.169.254", Forbidden::LinkLocal),
            ("::ffff:10.0.0.5", Forbidden::Private),
            ("64:ff9b::a9fe:a9fe", Forbidden::LinkLocal),
        ];
        for (a, f) in refused {
            assert_eq!(forbidden(ip(a)), Some(f), "{a}");
            assert!(permitted(ip(a), "https", false).unwrap_err().contains(f.rule()), "{a}");
        }
        for a in ["20.190.151.68", "40.126.0.1", "172.32.0.1", "100.128.0.1", "2603:1006::1", "::ffff:20.190.151.68"] {
            assert_eq!(forbidden(ip(a)), None, "{a}");
            assert!(permitted(ip(a), "https", false).is_ok());
        }
    }

    #[test]
    fn plain_http_and_loopback_only_in_test_mode() {
        assert!(permitted(ip("127.0.0.1"), "http", true).is_ok());
        assert!(permitted(ip("127.0.0.1"), "https", true).is_ok());
        assert!(permitted(ip("127.0.0.1"), "http", false).unwrap_err().contains("plain http"));
        assert!(permitted(ip("20.190.151.68"), "http", true).unwrap_err().contains("plain http"));
        // Test mode opens loopback only: never the metadata service or a private network.
        assert!(permitted(ip("169.254.169.254"), "https", true).is_err());
        assert!(permitted(ip("10.0.0.5"), "https", true).is_err());
    }

    #[test]
    fn manifest_entries() {
        for ok in ["login.example.com", "*.example.com", "graph.example.us", "*.login.example.co.uk"] {
            assert_eq!(host_entry_problem(ok), None, "{ok}");
        }
        for literal in [
            "169.254.169.254",
            "2852039166",
            "0251.0376.0251.0376",
            "0xa9fea9fe",
            "127.1",
            "[::1]",
            "::1",
            "[::ffff:169.254.169.254]",
            "*.10.0.0.5",
        ] {
            let p = host_entry_problem(literal).unwrap_or_else(|| panic!("{literal} passed"));
            assert!(p.contains("is an IP address"), "{literal}: {p}");
        }
        for suffix in ["*.com", "*.co.uk", "*.github.io", "*.blogspot.com"] {
            let p = host_entry_problem(suffix).unwrap_or_else(|| panic!("{suffix} passed"));
            assert!(p.contains("Public Suffix List"), "{suffix}: {p}");
        }
    }
}
