//! Fault scripts as a person types them: `ENDPOINT CALLS FAULT`, such as
//! `token nth:2 status:429:3` (`connector-host mock-entra --fault`). Every number is checked
//! against its type's range: `status:70000` is refused, not wrapped.

use std::fmt;
use std::str::FromStr;

use crate::{Calls, Endpoint, Fault};

/// One scripted fault: which endpoint, which of its calls, what goes wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultScript {
    pub endpoint: Endpoint,
    pub calls: Calls,
    pub fault: Fault,
}

/// Why a script was refused; its text names the part at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    script: String,
    reason: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "--fault {:?}: {}; expected \"ENDPOINT CALLS FAULT\", such as \"token nth:2 status:429:3\"",
            self.script, self.reason
        )
    }
}

impl std::error::Error for ScriptError {}

/// The endpoints a script names, and their words.
const ENDPOINTS: &[(&str, Endpoint)] = &[
    ("authorize", Endpoint::Authorize),
    ("token", Endpoint::Token),
    ("adminconsent", Endpoint::AdminConsent),
    ("graph", Endpoint::Graph),
    ("discovery", Endpoint::Discovery),
    ("devicecode", Endpoint::DeviceCode),
];

/// The faults without a number, and their words.
const PLAIN_FAULTS: &[(&str, Fault)] = &[
    ("drop", Fault::Drop),
    ("revoked", Fault::RevokedRefreshToken),
    ("inactive", Fault::InactiveRefreshToken),
    ("secret-expired", Fault::ClientSecretExpired),
    ("consent", Fault::ConsentRequired),
    ("mfa", Fault::MfaRequired),
    ("conditional-access", Fault::BlockedByConditionalAccess),
    ("claims", Fault::ClaimsChallenge),
];

/// `text` as a number of type `T`, or why not (naming `what`).
fn number<T: TryFrom<u64>>(what: &str, text: Option<&str>) -> Result<T, String> {
    let text = text.ok_or_else(|| format!("{what} needs a number"))?;
    let wide: u64 = text.parse().map_err(|_| format!("{what} {text:?} is not a whole number"))?;
    T::try_from(wide).map_err(|_| format!("{what} {text} is out of range"))
}

/// An HTTP status: 100 to 599.
fn status(text: Option<&str>) -> Result<u16, String> {
    let s: u16 = number("status", text)?;
    if (100..=599).contains(&s) {
        Ok(s)
    } else {
        Err(format!("status {s} is not an HTTP status (100 to 599)"))
    }
}

impl FromStr for Endpoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        ENDPOINTS.iter().find(|(w, _)| *w == s).map(|(_, e)| *e).ok_or_else(|| {
            format!(
                "unknown endpoint {s:?} (one of {})",
                ENDPOINTS.iter().map(|(w, _)| *w).collect::<Vec<_>>().join(", ")
            )
        })
    }
}

impl FromStr for Calls {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.split(':');
        let calls = match parts.next() {
            Some("next") => Calls::Next(number("next", parts.next())?),
            Some("nth") => Calls::Nth(number("nth", parts.next())?),
            Some("always") => Calls::Always,
            _ => return Err(format!("unknown calls {s:?} (next:N, nth:K or always)")),
        };
        match parts.next() {
            Some(extra) => Err(format!("unexpected {extra:?} after the calls")),
            None => Ok(calls),
        }
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.split(':');
        let word = parts.next().unwrap_or_default();
        let fault = match word {
            "status" => Fault::Status { status: status(parts.next())?, retry_after: parts.next().map(str::to_string) },
            "slow" => Fault::Slow { delay_ms: number("slow", parts.next())? },
            "html" => Fault::Html { status: status(parts.next())? },
            "truncated" => Fault::TruncatedJson { status: status(parts.next())? },
            "huge" => Fault::HugeBody { bytes: number("huge", parts.next())? },
            _ => match PLAIN_FAULTS.iter().find(|(w, _)| *w == word) {
                Some((_, f)) => f.clone(),
                None => return Err(format!("unknown fault {word:?}")),
            },
        };
        match parts.next() {
            Some(extra) => Err(format!("unexpected {extra:?} after the fault")),
            None => Ok(fault),
        }
    }
}

impl FromStr for FaultScript {
    type Err = ScriptError;

    fn from_str(text: &str) -> Result<Self, ScriptError> {
        let refuse = |reason: String| ScriptError { script: text.to_string(), reason };
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [endpoint, calls, fault] = parts[..] else {
            return Err(refuse(format!("{} words instead of 3", parts.len())));
        };
        Ok(FaultScript {
            endpoint: endpoint.parse().map_err(refuse)?,
            calls: calls.parse().map_err(refuse)?,
            fault: fault.parse().map_err(refuse)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<FaultScript, String> {
        s.parse::<FaultScript>().map_err(|e| e.to_string())
    }

    #[test]
    fn scripts() {
        assert_eq!(
            parse("token nth:2 status:429:3").unwrap(),
            FaultScript {
                endpoint: Endpoint::Token,
                calls: Calls::Nth(2),
                fault: Fault::Status { status: 429, retry_after: Some("3".into()) }
            }
        );
        assert_eq!(parse("graph always claims").unwrap().fault, Fault::ClaimsChallenge);
        assert_eq!(parse("token next:1 slow:5000").unwrap().fault, Fault::Slow { delay_ms: 5000 });
        assert_eq!(parse("discovery next:3 huge:1048576").unwrap().fault, Fault::HugeBody { bytes: 1 << 20 });
    }

    #[test]
    fn refusals_name_the_part_at_fault() {
        let cases = [
            ("token soon drop", "unknown calls \"soon\""),
            ("nowhere next:1 drop", "unknown endpoint \"nowhere\""),
            ("token next:1", "2 words instead of 3"),
            ("token next:1 status:70000", "status 70000 is out of range"),
            ("token next:1 status:700", "status 700 is not an HTTP status"),
            ("token next:99999999999 drop", "next 99999999999 is out of range"),
            ("token nth:-1 drop", "nth \"-1\" is not a whole number"),
            ("token next:1 html", "status needs a number"),
            ("token next:1 drop:5", "unexpected \"5\" after the fault"),
            ("token next:1 lunch", "unknown fault \"lunch\""),
        ];
        for (script, expected) in cases {
            let e = parse(script).unwrap_err();
            assert!(e.contains(expected), "{script}: {e}");
            assert!(e.starts_with(&format!("--fault {script:?}")), "{e}");
        }
    }
}
