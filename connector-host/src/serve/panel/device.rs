//! Device code sign-in from the panel: the server asks for a code and waits for the person on a
//! thread of its own (the platform's timer: the interval, 5 s more after slow_down, the code's
//! expiry); the page shows the address and the code with a countdown and asks for the outcome.
//! Cancel stops the wait at once. A sign-in waits in the replica that started it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use host_harness::platform::device::{DeviceError, Waiter};
use host_harness::platform::{Platform, PlatformError};
use serde::Serialize;

use super::super::api::{blocking, ApiResult};
use super::super::errors::ApiError;
use super::super::AppState;

/// One waiting (or finished) device code sign-in, as the page sees it.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceView {
    /// `waiting`, `connected`, `declined`, `expired`, `bad_code`, `cancelled` or `failed`.
    pub state: &'static str,
    pub user_code: String,
    pub verification_uri: String,
    /// The identity provider's sentence, or how the sign-in ended.
    pub message: String,
    pub expires_at: i64,
    /// Seconds until the code expires, by the server's clock.
    pub seconds_left: i64,
}

struct Session {
    view: Mutex<DeviceView>,
    cancel: AtomicBool,
}

/// The device code sign-ins of this replica, by connection name.
#[derive(Default)]
pub struct DeviceSessions {
    by_name: Mutex<HashMap<String, Arc<Session>>>,
}

/// Waits in short steps so that a cancel takes effect within a fraction of a second.
struct Cancellable(Arc<Session>);

impl Waiter for Cancellable {
    fn wait(&mut self, wait: Duration, _seconds_left: i64) -> bool {
        let step = Duration::from_millis(200);
        let mut waited = Duration::ZERO;
        while waited < wait {
            if self.0.cancel.load(Ordering::SeqCst) {
                return false;
            }
            std::thread::sleep(step.min(wait - waited));
            waited += step;
        }
        !self.0.cancel.load(Ordering::SeqCst)
    }
}

fn ended(e: &PlatformError) -> (&'static str, String) {
    match e {
        PlatformError::Device(DeviceError::Declined(m)) => ("declined", m.clone()),
        PlatformError::Device(DeviceError::Expired(m)) => ("expired", m.clone()),
        PlatformError::Device(DeviceError::BadCode(m)) => ("bad_code", m.clone()),
        PlatformError::Device(DeviceError::Cancelled) => ("cancelled", "The sign-in was cancelled.".into()),
        other => ("failed", other.to_string()),
    }
}

/// `POST /panel/api/connections/{name}/device`: a code, and the wait started.
pub async fn start(State(s): State<Arc<AppState>>, Path(name): Path<String>) -> ApiResult<Json<DeviceView>> {
    let n = name.clone();
    let code = blocking(&s, move |p| p.device_code_start(&n)).await?;
    let session = Arc::new(Session {
        view: Mutex::new(DeviceView {
            state: "waiting",
            user_code: code.user_code.clone(),
            verification_uri: code.verification_uri.clone(),
            message: code.message.clone(),
            expires_at: code.expires_at,
            seconds_left: code.expires_in,
        }),
        cancel: AtomicBool::new(false),
    });
    let view = session.view.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(earlier) =
        s.devices.by_name.lock().unwrap_or_else(|e| e.into_inner()).insert(name.clone(), session.clone())
    {
        earlier.cancel.store(true, Ordering::SeqCst);
    }
    let platform: Arc<Platform> = s.platform.clone();
    std::thread::spawn(move || {
        let outcome = platform.device_code_wait(&name, &code, &mut Cancellable(session.clone()));
        let mut v = session.view.lock().unwrap_or_else(|e| e.into_inner());
        match outcome {
            Ok(_) => {
                v.state = "connected";
                v.message = "Signed in.".into();
            }
            Err(e) => {
                let (state, message) = ended(&e);
                v.state = state;
                v.message = message;
            }
        }
    });
    Ok(Json(view))
}

fn session_of(s: &AppState, name: &str) -> Option<Arc<Session>> {
    s.devices.by_name.lock().unwrap_or_else(|e| e.into_inner()).get(name).cloned()
}

fn not_started() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "No device code sign-in was started for this connection here.")
}

/// `GET /panel/api/connections/{name}/device`: how the sign-in stands.
pub async fn status(State(s): State<Arc<AppState>>, Path(name): Path<String>) -> ApiResult<Json<DeviceView>> {
    let session = session_of(&s, &name).ok_or_else(not_started)?;
    let mut view = session.view.lock().unwrap_or_else(|e| e.into_inner()).clone();
    view.seconds_left = (view.expires_at - s.platform.now()).max(0);
    Ok(Json(view))
}

/// `DELETE /panel/api/connections/{name}/device`: stop waiting.
pub async fn cancel(State(s): State<Arc<AppState>>, Path(name): Path<String>) -> ApiResult<StatusCode> {
    session_of(&s, &name).ok_or_else(not_started)?.cancel.store(true, Ordering::SeqCst);
    Ok(StatusCode::NO_CONTENT)
}
