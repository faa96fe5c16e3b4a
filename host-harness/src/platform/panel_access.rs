//! Who may use the platform's web panel: a person who opened a one-time sign-in link (as
//! Jupyter does). `serve` prints one when it starts and `connector-host panel-link` makes
//! another. A link works once, for ten minutes; it starts a session that lasts eight hours
//! without use. The store keeps only SHA-256 hashes of links and session ids, so every replica
//! on the same store knows every session and a stolen database opens none. A session's CSRF
//! token is derived from its id (never stored): only a holder of the id can compute it.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::clock::random_token;
use super::error::PlatformError;
use super::store::{PanelGrant, PanelGrantKind};
use super::Platform;

/// How long a sign-in link works, in seconds.
pub const LINK_TTL_SECS: i64 = 600;
/// How long a session lasts without use, in seconds.
pub const SESSION_TTL_SECS: i64 = 8 * 3600;
/// A session's last use is written at most this often (a page view is not a write).
const TOUCH_EVERY_SECS: i64 = 60;

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new grant for `token`, made and used `now`.
fn grant(token: &str, kind: PanelGrantKind, now: i64) -> PanelGrant {
    PanelGrant { hash: hash(token), kind, created_at: now, last_used: now }
}

/// A panel session as its pages see it: the CSRF token their requests must carry.
#[derive(Clone)]
pub struct PanelSession {
    pub csrf: String,
    /// The hash the session is stored under (for signing out).
    hash: String,
}

impl std::fmt::Debug for PanelSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PanelSession([redacted])")
    }
}

impl PanelSession {
    fn of(id: &str) -> PanelSession {
        let csrf = hex::encode(Sha256::digest(format!("connector-host panel csrf\0{id}").as_bytes()));
        PanelSession { csrf, hash: hash(id) }
    }

    /// Whether `presented` is this session's CSRF token (constant time).
    pub fn csrf_ok(&self, presented: &str) -> bool {
        self.csrf.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

impl Platform {
    /// A new one-time sign-in token for the panel (the link's `token`).
    pub fn new_panel_link(&self) -> Result<String, PlatformError> {
        let now = self.now();
        self.store.expire_panel_grants(now - LINK_TTL_SECS, now - SESSION_TTL_SECS)?;
        let token = random_token(24);
        self.store.put_panel_grant(&grant(&token, PanelGrantKind::Link, now))?;
        Ok(token)
    }

    /// Uses a sign-in token (once): the new session's id, or None when the token is unknown,
    /// used or older than ten minutes.
    pub fn panel_sign_in(&self, token: &str) -> Result<Option<String>, PlatformError> {
        let Some(link) = self.store.take_panel_grant(&hash(token), PanelGrantKind::Link)? else {
            return Ok(None);
        };
        let now = self.now();
        if now - link.created_at >= LINK_TTL_SECS {
            return Ok(None);
        }
        let id = random_token(32);
        self.store.put_panel_grant(&grant(&id, PanelGrantKind::Session, now))?;
        Ok(Some(id))
    }

    /// The live session of a cookie's id.
    pub fn panel_session(&self, id: &str) -> Result<Option<PanelSession>, PlatformError> {
        let now = self.now();
        let session = PanelSession::of(id);
        let Some(grant) = self.store.panel_session(&session.hash)? else { return Ok(None) };
        if now - grant.last_used >= SESSION_TTL_SECS {
            return Ok(None);
        }
        if now - grant.last_used >= TOUCH_EVERY_SECS {
            self.store.touch_panel_session(&session.hash, now)?;
        }
        Ok(Some(session))
    }

    /// Ends a session (Sign out).
    pub fn panel_sign_out(&self, session: &PanelSession) -> Result<(), PlatformError> {
        self.store.take_panel_grant(&session.hash, PanelGrantKind::Session).map(drop)
    }
}
