//! Creating a connection and signing it in: the panel's settings checked by the connector,
//! "Save and authorize" (a fresh state, PKCE verifier and nonce kept sealed for ten minutes and
//! usable once), the redirect back, the code exchange, and the connection test.

use std::collections::BTreeMap;

use connector_interface::io::{AuthorizeUrlInput, ExchangeCodeInput, TestConnectionInput, TestResult};
use connector_interface::{
    AdminConsentUrlInput, ClassifyErrorInput, ConnectorError, Phase, QueryIn, Secret, ValidateSettingsInput,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::clock::{random_token, sign_in_secrets};
use super::error::{PlatformError, StateError};
use super::store::{Pending, PendingSecrets, Purpose, Record, Secrets, Status};
use super::{Platform, PENDING_TTL_SECS};
use crate::error::HostError;

/// What "Save and authorize" gives the person: the URL to open.
#[derive(Debug, Clone)]
pub struct AuthorizationStart {
    pub url: String,
    pub state: String,
}

/// What the platform shows once connected.
#[derive(Debug, Clone)]
pub struct Connected {
    /// The connection's name.
    pub name: String,
    pub summary: String,
    pub test: Option<TestResult>,
    pub test_error: Option<ConnectorError>,
}

/// The hash a pending sign-in is kept under: the state itself is never stored.
fn state_hash(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

impl Platform {
    /// Creates a connection from the panel's settings: the connector validates them (field
    /// errors name the field), the name must be unique, secret settings are sealed.
    pub fn create(&self, settings: &Value) -> Result<Record, PlatformError> {
        let Value::Object(settings) = settings else {
            return Err(ConnectorError::invalid("settings", "The settings must be a JSON object.").into());
        };
        // A PKCS#12 bundle is opened into PEM; private keys are checked against their
        // certificates here, and the connector sees references in their place.
        let settings = &self.open_bundles(settings)?;
        let (for_connector, keys) = self.hold_keys_of(settings)?;
        // validate_settings is optional in interface v1: a connector without it is checked at sign-in.
        match self.host.v1_with(&keys).validate_settings(&ValidateSettingsInput { settings: for_connector }) {
            Ok(answer) => {
                answer?;
            }
            Err(HostError::NoSuchExport { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let name = settings.get("name").and_then(Value::as_str).unwrap_or("").trim().to_string();
        let mut public = settings.clone();
        public.insert("name".into(), json!(name));
        let mut secrets = Secrets::default();
        for k in &self.secret_keys {
            if let Some(v) = public.remove(k) {
                secrets.settings.insert(k.clone(), v);
            }
        }
        let now = self.now();
        let record = Record {
            name,
            settings: public,
            status: Status::PendingAuthorization,
            remedy: Some("Click Save and authorize to sign in.".into()),
            last_error: None,
            identity: None,
            expires_at: None,
            secrets,
            generation: 0,
            created_at: now,
            updated_at: now,
            last_refresh_at: None,
            keepalive: Default::default(),
        };
        self.store.insert(&record)?;
        Ok(record)
    }

    /// "Save and authorize": a fresh state, PKCE verifier and nonce, kept (sealed) for ten
    /// minutes and usable once; the URL comes from the connector.
    pub fn begin_authorization(&self, name: &str) -> Result<AuthorizationStart, PlatformError> {
        let r = self.store.get(name)?;
        let (state, verifier, nonce) = sign_in_secrets();
        let verifier = Secret::new(verifier);
        let (settings, keys) = self.for_connector(&r)?;
        let out = self.host.v1_with(&keys).authorize_url(&AuthorizeUrlInput {
            settings,
            redirect_uri: self.redirect_uri.clone(),
            state: state.clone(),
            code_verifier: verifier.clone(),
            nonce: Some(nonce.clone()),
            claims: r.secrets.claims.clone(),
        })??;
        let secrets = PendingSecrets { code_verifier: Some(verifier), nonce: Some(nonce), purpose: Purpose::SignIn };
        self.keep_pending(name, &state, secrets)?;
        Ok(AuthorizationStart { url: out.url, state })
    }

    /// "Grant admin consent": an administrator accepts the connection's permissions for the
    /// whole tenant. The state is kept like a sign-in's (ten minutes, usable once), so the
    /// redirect back is checked the same way.
    pub fn begin_admin_consent(&self, name: &str) -> Result<AuthorizationStart, PlatformError> {
        let r = self.store.get(name)?;
        let state = random_token(32);
        let (settings, keys) = self.for_connector(&r)?;
        let out = self.host.v1_with(&keys).admin_consent_url(&AdminConsentUrlInput {
            settings,
            redirect_uri: self.redirect_uri.clone(),
            state: state.clone(),
        })??;
        let secrets = PendingSecrets { code_verifier: None, nonce: None, purpose: Purpose::AdminConsent };
        self.keep_pending(name, &state, secrets)?;
        Ok(AuthorizationStart { url: out.url, state })
    }

    fn keep_pending(&self, name: &str, state: &str, secrets: PendingSecrets) -> Result<(), PlatformError> {
        let now = self.now();
        self.store.expire_pending(now - PENDING_TTL_SECS)?;
        self.store.put_pending(&Pending {
            state_hash: state_hash(state),
            name: name.to_string(),
            secrets,
            created_at: now,
        })
    }

    /// The redirect back from sign-in or admin consent. Checks the state (known, unused, not
    /// expired), then classifies an error redirect, or exchanges the code, stores the tokens and
    /// tests the connection, or records the tenant's consent. Nothing is stored on failure.
    pub fn complete_authorization(&self, query: &BTreeMap<String, String>) -> Result<Connected, PlatformError> {
        let state = query.get("state").ok_or(StateError::Missing)?;
        let pending = self.store.take_pending(&state_hash(state))?.ok_or(StateError::Unknown)?;
        if self.now() - pending.created_at > PENDING_TTL_SECS {
            return Err(StateError::Expired.into());
        }
        if query.contains_key("error") {
            let c = self.host.v1().classify_error(&ClassifyErrorInput {
                query: Some(QueryIn::Map(query.clone())),
                redirect_uri: Some(self.redirect_uri.clone()),
                ..ClassifyErrorInput::new(Phase::Authorize)
            })??;
            return Err(ConnectorError::classified(c).into());
        }
        if pending.secrets.purpose == Purpose::AdminConsent {
            return self.consented(&pending.name, query);
        }
        let code = query.get("code").ok_or(StateError::NoCode)?;
        let verifier = pending.secrets.code_verifier.ok_or(StateError::Unknown)?;
        let mut r = self.store.get(&pending.name)?;
        let (settings, keys) = self.for_connector(&r)?;
        let tokens = self.host.v1_with(&keys).exchange_code(&ExchangeCodeInput {
            settings,
            redirect_uri: self.redirect_uri.clone(),
            code: Secret::new(code.as_str()),
            code_verifier: verifier,
            nonce: pending.secrets.nonce,
            now: self.now(),
            assertion_id: Some(super::credentials::assertion_id()),
            client_request_id: Some(super::credentials::request_id(&pending.name, "exchange_code")),
            claims: r.secrets.claims.clone(),
        })??;
        let read = r.generation;
        self.apply_tokens(&mut r, tokens, true);
        self.store.update(&r, read)?;
        self.test(&pending.name)
    }

    /// An administrator's consent came back: the connection's remedy no longer asks for it.
    fn consented(&self, name: &str, query: &BTreeMap<String, String>) -> Result<Connected, PlatformError> {
        if !query.get("admin_consent").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Err(StateError::NoConsent.into());
        }
        let tenant = query.get("tenant").map(String::as_str).unwrap_or("the tenant");
        self.change(name, |r| {
            let consent_was_missing = r.last_error.as_ref().and_then(ConnectorError::action)
                == Some(connector_interface::Action::GrantAdminConsent);
            if r.status == Status::NeedsAttention && consent_was_missing {
                r.status = if r.secrets.refresh_token.is_some() || r.secrets.access_token.is_some() {
                    Status::NeedsReauthorization
                } else {
                    Status::PendingAuthorization
                };
                r.remedy = Some("Admin consent was granted: sign in again to use it.".into());
            }
        })?;
        Ok(Connected {
            name: name.to_string(),
            summary: format!("An administrator granted this connection's permissions for tenant {tenant}."),
            test: None,
            test_error: None,
        })
    }

    /// Tests the connection (the connector's ping) with a fresh token. A claims challenge is
    /// answered as a flow's would be ([`Platform::claims_challenge`]) and the test made once more.
    pub fn test(&self, name: &str) -> Result<Connected, PlatformError> {
        let first = self.test_once(name)?;
        let claims = first.as_ref().err().and_then(ConnectorError::classification).and_then(|c| c.claims.clone());
        let result = match claims {
            Some(claims) => {
                self.answer_claims(name, &claims)?;
                self.test_once(name)?
            }
            None => first,
        };
        result.map_err(|e| self.failed(name, e))
    }

    fn failed(&self, name: &str, e: ConnectorError) -> PlatformError {
        match self.mark_failure(name, &e) {
            Ok(()) => e.into(),
            Err(store) => store,
        }
    }

    fn test_once(&self, name: &str) -> Result<Result<Connected, ConnectorError>, PlatformError> {
        let token = self.access_token(name)?;
        let r = self.store.get(name)?;
        let (settings, keys) = self.for_connector(&r)?;
        let input = TestConnectionInput {
            settings,
            access_token: Secret::new(token),
            client_request_id: Some(super::credentials::request_id(name, "test_connection")),
        };
        Ok(self.host.v1_with(&keys).test_connection(&input)?.map(|t| Connected {
            name: name.to_string(),
            summary: t.summary.clone(),
            test: Some(t),
            test_error: None,
        }))
    }
}
