//! Who may use the panel: a person who opened the one-time sign-in link `serve` printed (as
//! Jupyter does). The link's token works once, for ten minutes; it starts a session whose id
//! travels in an HttpOnly, SameSite=Strict cookie and whose CSRF token every state-changing
//! request must carry. Only hashes of tokens and session ids are kept.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use host_harness::platform::random_token;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// How long a sign-in link works.
pub const LINK_TTL: Duration = Duration::from_secs(600);
/// How long a session lasts without use.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// The session cookie's name.
pub const COOKIE: &str = "chs";

fn hash(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// A panel session: its CSRF token (shown to its pages, sent back in `X-CSRF-Token`).
#[derive(Clone)]
pub struct Session {
    pub csrf: String,
    last_used: Instant,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Session([redacted])")
    }
}

#[derive(Default)]
pub struct Sessions {
    links: Mutex<HashMap<String, Instant>>,
    sessions: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// A new one-time sign-in token (for the link `serve` prints).
    pub fn new_link(&self) -> String {
        let token = random_token(24);
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        links.retain(|_, made| made.elapsed() < LINK_TTL);
        links.insert(hash(&token), Instant::now());
        token
    }

    /// Uses a sign-in token (once): a new session id, or None.
    pub fn sign_in(&self, token: &str) -> Option<String> {
        let made = self.links.lock().unwrap_or_else(|e| e.into_inner()).remove(&hash(token))?;
        if made.elapsed() >= LINK_TTL {
            return None;
        }
        let id = random_token(32);
        let session = Session { csrf: random_token(24), last_used: Instant::now() };
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|_, s| s.last_used.elapsed() < SESSION_TTL);
        sessions.insert(hash(&id), session);
        Some(id)
    }

    /// The live session of a cookie's id.
    pub fn session(&self, id: &str) -> Option<Session> {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let s = sessions.get_mut(&hash(id))?;
        if s.last_used.elapsed() >= SESSION_TTL {
            return None;
        }
        s.last_used = Instant::now();
        Some(s.clone())
    }

    /// Whether `presented` is the session's CSRF token (constant time).
    pub fn csrf_ok(session: &Session, presented: &str) -> bool {
        session.csrf.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_works_once_and_a_session_checks_its_csrf() {
        let s = Sessions::default();
        let link = s.new_link();
        let id = s.sign_in(&link).unwrap();
        assert!(s.sign_in(&link).is_none(), "a link works once");
        assert!(s.sign_in("made-up").is_none());
        let session = s.session(&id).unwrap();
        assert!(Sessions::csrf_ok(&session, &session.csrf.clone()));
        assert!(!Sessions::csrf_ok(&session, "other"));
        assert!(s.session("not-a-session").is_none());
        assert_eq!(format!("{session:?}"), "Session([redacted])");
    }
}
