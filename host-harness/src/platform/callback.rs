//! The local listener for the sign-in redirect: `http://localhost:PORT/callback`. It hands the
//! query of the first request to `/callback` to the platform and shows the person a short page.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::RawQuery;
use axum::response::Html;

pub struct CallbackListener {
    pub port: u16,
    rx: std::sync::mpsc::Receiver<BTreeMap<String, String>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl CallbackListener {
    /// Listens on 127.0.0.1:`port` (0 picks a free port).
    pub fn bind(port: u16) -> std::io::Result<CallbackListener> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let (tx, rx) = std::sync::mpsc::channel();
        let tx = Arc::new(Mutex::new(tx));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name("oauth-callback".into()).spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = axum::Router::new().route(
                    "/callback",
                    axum::routing::get(move |RawQuery(q): RawQuery| {
                        let tx = tx.clone();
                        async move {
                            let pairs: BTreeMap<String, String> = form_urlencoded::parse(q.unwrap_or_default().as_bytes()).into_owned().collect();
                            let failed = pairs.contains_key("error");
                            let _ = tx.lock().map(|t| t.send(pairs));
                            Html(if failed {
                                "<!DOCTYPE html><html><body><h1>Sign-in did not complete</h1><p>Return to the platform to see what to do.</p></body></html>"
                            } else {
                                "<!DOCTYPE html><html><body><h1>Signed in</h1><p>You can close this window and return to the platform.</p></body></html>"
                            })
                        }
                    }),
                );
                let _ = axum::serve(listener, app).with_graceful_shutdown(async move {
                    let _ = stop_rx.await;
                }).await;
            });
        })?;
        Ok(CallbackListener { port, rx, shutdown: Some(stop_tx), thread: Some(thread) })
    }

    pub fn redirect_uri(&self) -> String {
        format!("http://localhost:{}/callback", self.port)
    }

    /// The query of the redirect, or None when `timeout` passes; `tick` is called once a second
    /// with the seconds left (a visible countdown).
    pub fn wait(&self, timeout: Duration, mut tick: impl FnMut(u64)) -> Option<BTreeMap<String, String>> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            tick(left.as_secs());
            match self.rx.recv_timeout(left.min(Duration::from_secs(1))) {
                Ok(q) => return Some(q),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                Err(_) => return None,
            }
        }
    }
}

impl Drop for CallbackListener {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
