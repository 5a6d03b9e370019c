//! The typed session: who is signed in, the CSRF token, and flash messages.
//! The store behind it is a signed cookie, or Redis when `REDIS_URL` is set.

use std::collections::HashMap;

use actix_session::storage::{CookieSessionStore, LoadError, RedisSessionStore, SaveError, SessionKey, SessionStore, UpdateError};
use actix_session::{Session, SessionExt};
use actix_web::cookie::time::Duration;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// The random token naming the person's row in `user_sessions`.
const SESSION_TOKEN: &str = "sid";
/// A person who gave the right password and still owes a two-step code
/// (or, for operations without one, an enrolment): user id and deadline.
const PENDING_USER: &str = "pending_user";
const PENDING_UNTIL: &str = "pending_until";
const PENDING_NEXT: &str = "pending_next";
/// A two-step secret shown for enrolment, kept until a code confirms it.
const ENROL_SECRET: &str = "enrol_secret";
const CSRF: &str = "csrf";
const FLASH: &str = "flash";
/// The kits whose minor lines the person collapsed, per order.
const COLLAPSED: &str = "collapsed";
/// Orders whose collapsed kits are remembered (the most recent ones).
const COLLAPSED_ORDERS: usize = 20;

/// Cookie sessions for a single instance; Redis for several behind a load balancer.
pub enum PortalSessionStore {
    Cookie(CookieSessionStore),
    Redis(RedisSessionStore),
}

type State = HashMap<String, String>;

impl SessionStore for PortalSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        match self {
            Self::Cookie(s) => s.load(key).await,
            Self::Redis(s) => s.load(key).await,
        }
    }
    async fn save(&self, state: State, ttl: &Duration) -> Result<SessionKey, SaveError> {
        match self {
            Self::Cookie(s) => s.save(state, ttl).await,
            Self::Redis(s) => s.save(state, ttl).await,
        }
    }
    async fn update(&self, key: SessionKey, state: State, ttl: &Duration) -> Result<SessionKey, UpdateError> {
        match self {
            Self::Cookie(s) => s.update(key, state, ttl).await,
            Self::Redis(s) => s.update(key, state, ttl).await,
        }
    }
    async fn update_ttl(&self, key: &SessionKey, ttl: &Duration) -> Result<(), anyhow::Error> {
        match self {
            Self::Cookie(s) => s.update_ttl(key, ttl).await,
            Self::Redis(s) => s.update_ttl(key, ttl).await,
        }
    }
    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        match self {
            Self::Cookie(s) => s.delete(key).await,
            Self::Redis(s) => s.delete(key).await,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flash {
    pub level: String,
    pub message: String,
}

pub struct PortalSession(Session);

impl PortalSession {
    pub fn from_request(req: &HttpRequest) -> PortalSession {
        PortalSession(req.get_session())
    }

    /// The token of the signed-in person's session row, if any.
    pub fn token(&self) -> Option<String> {
        self.0.get::<String>(SESSION_TOKEN).ok().flatten()
    }

    /// Signs in: a new session id (no fixation), the session row's token, a
    /// fresh CSRF token; any pending two-step state is dropped.
    pub fn sign_in(&self, token: &str) -> Result<(), actix_session::SessionInsertError> {
        self.0.renew();
        for key in [PENDING_USER, PENDING_UNTIL, PENDING_NEXT, ENROL_SECRET] {
            self.0.remove(key);
        }
        self.0.insert(SESSION_TOKEN, token)?;
        self.0.insert(CSRF, new_token())
    }

    /// The password was right; a second step is owed within ten minutes.
    pub fn set_pending(&self, user_id: i64, next: &str) -> Result<(), actix_session::SessionInsertError> {
        self.0.renew();
        self.0.remove(SESSION_TOKEN);
        self.0.insert(PENDING_USER, user_id)?;
        self.0.insert(PENDING_UNTIL, chrono::Utc::now().timestamp() + 600)?;
        self.0.insert(PENDING_NEXT, next)?;
        self.0.insert(CSRF, new_token())
    }

    /// The person owing a second step, and where they were going.
    pub fn pending(&self) -> Option<(i64, String)> {
        let user = self.0.get::<i64>(PENDING_USER).ok().flatten()?;
        let until = self.0.get::<i64>(PENDING_UNTIL).ok().flatten()?;
        if chrono::Utc::now().timestamp() > until {
            return None;
        }
        let next = self.0.get::<String>(PENDING_NEXT).ok().flatten().unwrap_or_else(|| "/".into());
        Some((user, next))
    }

    /// Where a new person was going when they registered, for after the confirmation.
    pub fn set_after_confirm(&self, next: &str) {
        let _ = self.0.insert("after_confirm", next);
    }

    pub fn take_after_confirm(&self) -> Option<String> {
        let next = self.0.get::<String>("after_confirm").ok().flatten();
        self.0.remove("after_confirm");
        next
    }

    pub fn enrol_secret(&self) -> Option<String> {
        self.0.get::<String>(ENROL_SECRET).ok().flatten()
    }

    pub fn set_enrol_secret(&self, secret: &str) {
        let _ = self.0.insert(ENROL_SECRET, secret);
    }

    pub fn clear_enrol_secret(&self) {
        self.0.remove(ENROL_SECRET);
    }

    /// Signs out: forgets everything and moves to a new session id, which
    /// can still carry the "signed out" message.
    pub fn sign_out(&self) {
        self.0.clear();
        self.0.renew();
    }

    /// The session's CSRF token, made on first use.
    pub fn csrf_token(&self) -> String {
        if let Ok(Some(t)) = self.0.get::<String>(CSRF) {
            return t;
        }
        let t = new_token();
        let _ = self.0.insert(CSRF, &t);
        t
    }

    /// The token if one exists, without making one.
    pub fn existing_csrf_token(&self) -> Option<String> {
        self.0.get::<String>(CSRF).ok().flatten()
    }

    pub fn flash(&self, level: &str, message: impl Into<String>) {
        let mut all = self.0.get::<Vec<Flash>>(FLASH).ok().flatten().unwrap_or_default();
        all.push(Flash { level: level.into(), message: message.into() });
        let _ = self.0.insert(FLASH, all);
    }

    /// The kits of `order` collapsed on its page, as last chosen in this session.
    pub fn collapsed_lines(&self, order: i64) -> Vec<i64> {
        let all = self.0.get::<Vec<(i64, Vec<i64>)>>(COLLAPSED).ok().flatten().unwrap_or_default();
        all.into_iter().find(|(o, _)| *o == order).map(|(_, lines)| lines).unwrap_or_default()
    }

    /// Remembers the collapsed kits of `order` (the latest orders only).
    pub fn remember_collapsed(&self, order: i64, lines: &[i64]) {
        let mut all = self.0.get::<Vec<(i64, Vec<i64>)>>(COLLAPSED).ok().flatten().unwrap_or_default();
        let before = all.iter().find(|(o, _)| *o == order).map(|(_, l)| l.clone());
        if before.as_deref() == Some(lines) || (before.is_none() && lines.is_empty()) {
            return;
        }
        all.retain(|(o, _)| *o != order);
        if !lines.is_empty() {
            all.insert(0, (order, lines.to_vec()));
        }
        all.truncate(COLLAPSED_ORDERS);
        let _ = self.0.insert(COLLAPSED, all);
    }

    pub fn take_flashes(&self) -> Vec<Flash> {
        let all = self.0.get::<Vec<Flash>>(FLASH).ok().flatten().unwrap_or_default();
        if !all.is_empty() {
            self.0.remove(FLASH);
        }
        all
    }
}

impl FromRequest for PortalSession {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(PortalSession::from_request(req)))
    }
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
