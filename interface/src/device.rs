//! Device code sign-in (RFC 8628; learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code):
//! for a person on a machine without a browser. `device_code_start` asks for a code; the person
//! opens the address on any device and enters it; the host polls with `device_code_poll`,
//! waiting `interval` seconds between polls (5 more after each `slow_down`), until a token set,
//! a refusal, or `expires_at`. The host owns the timer and can stop waiting at any time.

use serde::{Deserialize, Serialize};

use crate::secret::Secret;
use crate::token::TokenSet;

/// The output of `device_code_start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DeviceCode {
    /// What the person enters at `verification_uri`.
    pub user_code: String,
    /// What the host polls with; a secret (whoever holds it gets the tokens).
    pub device_code: Secret,
    /// Where the person goes (https://microsoft.com/devicelogin).
    pub verification_uri: String,
    /// Seconds the code is valid from `now`.
    pub expires_in: i64,
    /// `now` + `expires_in`: the host stops polling then.
    pub expires_at: i64,
    /// Seconds to wait between polls.
    pub interval: i64,
    /// Microsoft's sentence for the person, naming the address and the code.
    pub message: String,
}

/// The output of `device_code_poll`: one poll's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum DevicePoll {
    /// The person has not finished yet: wait `interval`, then poll again.
    Pending,
    /// Polling too often: add 5 seconds to the interval, then poll again.
    SlowDown,
    /// The person declined the sign-in: stop.
    Declined { message: String },
    /// The code expired before the person finished: stop (start again for a new code).
    Expired { message: String },
    /// Microsoft does not know the device code: stop.
    BadCode { message: String },
    /// Signed in: the token set, to store like a code exchange's.
    SignedIn { tokens: Box<TokenSet> },
}
