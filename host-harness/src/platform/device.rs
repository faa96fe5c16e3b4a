//! Device code sign-in for a connection (RFC 8628): the connector asks the identity provider for a code and
//! makes each poll; the platform owns the timer. It waits the interval between polls, 5 seconds
//! more after each `slow_down`, stops at the code's expiry, and stops at once when the waiter
//! says the person cancelled. The tokens are stored as a browser sign-in's are.

use std::time::Duration;

use connector_interface::device::{DeviceCode, DevicePoll};
use connector_interface::{DeviceCodePollInput, DeviceCodeStartInput};

use super::{Platform, PlatformError, Record};

/// Seconds added to the interval after each `slow_down` (RFC 8628 3.5).
pub const SLOW_DOWN_SECS: i64 = 5;

/// Why a device code sign-in ended without tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error("{0}")]
    Declined(String),
    #[error("{0}")]
    Expired(String),
    #[error("{0}")]
    BadCode(String),
    #[error("the sign-in was cancelled before it was finished")]
    Cancelled,
    #[error("device code sign-in is for a connection a person signs in to; {0:?} is app-only")]
    AppOnly(String),
}

impl DeviceError {
    /// A stable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            DeviceError::Declined(_) => "device_sign_in_declined",
            DeviceError::Expired(_) => "device_code_expired",
            DeviceError::BadCode(_) => "device_code_unknown",
            DeviceError::Cancelled => "device_sign_in_cancelled",
            DeviceError::AppOnly(_) => "device_sign_in_app_only",
        }
    }
}

impl From<DeviceError> for PlatformError {
    fn from(e: DeviceError) -> Self {
        PlatformError::Device(e)
    }
}

/// How the platform waits between polls: sleeps `wait`, answering false when the person
/// cancelled (a closed page, Ctrl-C, a cancel button). Tests wait on a clock of their own.
pub trait Waiter {
    fn wait(&mut self, wait: Duration, seconds_left: i64) -> bool;
}

/// Sleeps for real; never cancelled.
pub struct Sleep;

impl Waiter for Sleep {
    fn wait(&mut self, wait: Duration, _seconds_left: i64) -> bool {
        std::thread::sleep(wait);
        true
    }
}

impl Platform {
    /// A code for a person to enter, for the connection `name`.
    pub fn device_code_start(&self, name: &str) -> Result<DeviceCode, PlatformError> {
        let r = self.store.get(name)?;
        if Self::is_app_only(&r) {
            return Err(DeviceError::AppOnly(name.to_string()).into());
        }
        let (settings, keys) = self.for_connector(&r)?;
        let client_request_id = Some(super::credentials::request_id(name, "device_code_start"));
        let input = DeviceCodeStartInput { settings, now: self.now(), client_request_id };
        let code = self.host.v1_with(&keys).device_code_start(&input)??;
        tracing::info!(connection = %name, expires_in = code.expires_in, "device code sign-in started");
        Ok(code)
    }

    /// Polls until the person signs in (the tokens stored, the connection tested), declines,
    /// the code expires, or `waiter` says they cancelled.
    pub fn device_code_wait(
        &self,
        name: &str,
        code: &DeviceCode,
        waiter: &mut dyn Waiter,
    ) -> Result<Record, PlatformError> {
        let mut interval = code.interval.max(1);
        // The connection's settings and keys, read once for every poll.
        let (settings, keys) = self.for_connector(&self.store.get(name)?)?;
        loop {
            let left = code.expires_at - self.now();
            if left <= 0 {
                return Err(DeviceError::Expired(
                    "The code expired before the sign-in was finished. Start again for a new code.".into(),
                )
                .into());
            }
            if !waiter.wait(Duration::from_secs(interval.min(left) as u64), left) {
                tracing::info!(connection = %name, "device code sign-in cancelled");
                return Err(DeviceError::Cancelled.into());
            }
            let answer = self.host.v1_with(&keys).device_code_poll(&DeviceCodePollInput {
                settings: settings.clone(),
                device_code: code.device_code.clone(),
                now: self.now(),
                client_request_id: Some(super::credentials::request_id(name, "device_code_poll")),
            })??;
            match answer {
                DevicePoll::Pending => {}
                DevicePoll::SlowDown => interval += SLOW_DOWN_SECS,
                DevicePoll::Declined { message } => return Err(DeviceError::Declined(message).into()),
                DevicePoll::Expired { message } => return Err(DeviceError::Expired(message).into()),
                DevicePoll::BadCode { message } => return Err(DeviceError::BadCode(message).into()),
                DevicePoll::SignedIn { tokens } => {
                    let mut r = self.store.get(name)?;
                    let read = r.generation;
                    self.apply_tokens(&mut r, *tokens, true);
                    self.store.update(&r, read)?;
                    tracing::info!(connection = %name, "device code sign-in finished");
                    self.test(name)?;
                    return self.store.get(name);
                }
            }
        }
    }
}
