//! Single-use links mailed to a person (confirm the address, reset the
//! password): a random token in the mail, only its SHA-256 in the database,
//! an expiry, and a `used_at` that a second use finds set.

use base64::Engine;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::db::schema::user_tokens;
use crate::db::DbConnection;
use crate::domain::error::DomainResult;
use crate::domain::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    ConfirmEmail,
    ResetPassword,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::ConfirmEmail => "confirm_email",
            Purpose::ResetPassword => "reset_password",
        }
    }
    /// How long a link stays valid.
    pub fn lifetime(self) -> Duration {
        match self {
            Purpose::ConfirmEmail => Duration::hours(24),
            Purpose::ResetPassword => Duration::hours(1),
        }
    }
}

/// A fresh random token (for the link) and its hash (for the database).
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// Why a link cannot be followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    Unknown,
    Used,
    Expired,
}

impl LinkProblem {
    pub fn message(self) -> &'static str {
        match self {
            LinkProblem::Unknown => "This link is not valid. Check that you copied the whole link from the mail.",
            LinkProblem::Used => "This link has been used already. Each link works once.",
            LinkProblem::Expired => "This link has expired. Ask for a new one below.",
        }
    }
}

/// The pure judgement of a stored link at `now`.
pub fn judge(expires_at: NaiveDateTime, used_at: Option<NaiveDateTime>, now: NaiveDateTime) -> Result<(), LinkProblem> {
    if used_at.is_some() {
        Err(LinkProblem::Used)
    } else if now >= expires_at {
        Err(LinkProblem::Expired)
    } else {
        Ok(())
    }
}

/// Stores a new link for `user_id` and returns the token to mail.
pub fn issue(conn: &mut DbConnection, user_id: i64, purpose: Purpose) -> QueryResult<String> {
    let (token, hash) = new_token();
    let now = crate::db::now();
    diesel::insert_into(user_tokens::table)
        .values((
            user_tokens::user_id.eq(user_id),
            user_tokens::purpose.eq(purpose.as_str()),
            user_tokens::token_hash.eq(&hash),
            user_tokens::created_at.eq(now),
            user_tokens::expires_at.eq(now + purpose.lifetime()),
        ))
        .execute(conn)?;
    Ok(token)
}

/// When the newest link of this purpose was made, for throttling resends.
pub fn newest(conn: &mut DbConnection, user_id: i64, purpose: Purpose) -> QueryResult<Option<NaiveDateTime>> {
    user_tokens::table
        .filter(user_tokens::user_id.eq(user_id))
        .filter(user_tokens::purpose.eq(purpose.as_str()))
        .select(diesel::dsl::max(user_tokens::created_at))
        .first(conn)
}

/// How many links of this purpose were made since `since`.
pub fn issued_since(conn: &mut DbConnection, user_id: i64, purpose: Purpose, since: NaiveDateTime) -> QueryResult<i64> {
    user_tokens::table
        .filter(user_tokens::user_id.eq(user_id))
        .filter(user_tokens::purpose.eq(purpose.as_str()))
        .filter(user_tokens::created_at.gt(since))
        .count()
        .get_result(conn)
}

/// Checks a link without using it: the user it belongs to.
pub fn peek(conn: &mut DbConnection, token: &str, purpose: Purpose) -> DomainResult<Result<i64, LinkProblem>> {
    let row: Option<(i64, i64, NaiveDateTime, Option<NaiveDateTime>)> = user_tokens::table
        .filter(user_tokens::token_hash.eq(hash_token(token)))
        .filter(user_tokens::purpose.eq(purpose.as_str()))
        .select((user_tokens::id, user_tokens::user_id, user_tokens::expires_at, user_tokens::used_at))
        .first(conn)
        .optional()?;
    Ok(match row {
        None => Err(LinkProblem::Unknown),
        Some((_, user_id, expires, used)) => judge(expires, used, crate::db::now()).map(|_| user_id),
    })
}

/// Uses a link once, inside the caller's transaction: a second use (even a
/// concurrent one) finds it used. Also retires the person's other unused
/// links of the same purpose.
pub fn consume(conn: &mut DbConnection, token: &str, purpose: Purpose) -> DomainResult<Result<i64, LinkProblem>> {
    let user_id = match peek(conn, token, purpose)? {
        Ok(id) => id,
        Err(p) => return Ok(Err(p)),
    };
    let now = crate::db::now();
    let taken =
        diesel::update(user_tokens::table.filter(user_tokens::token_hash.eq(hash_token(token))).filter(user_tokens::used_at.is_null()))
            .set(user_tokens::used_at.eq(now))
            .execute(conn)?;
    if taken != 1 {
        return Ok(Err(LinkProblem::Used));
    }
    diesel::update(
        user_tokens::table
            .filter(user_tokens::user_id.eq(user_id))
            .filter(user_tokens::purpose.eq(purpose.as_str()))
            .filter(user_tokens::used_at.is_null()),
    )
    .set(user_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok(Ok(user_id))
}

/// Throttle for resending links: at most one a minute and five a day.
pub fn resend_wait(conn: &mut DbConnection, user_id: i64, purpose: Purpose) -> DomainResult<()> {
    let now = crate::db::now();
    if let Some(last) = newest(conn, user_id, purpose)? {
        let next = last + Duration::seconds(60);
        if next > now {
            return Err(DomainError::Throttled { retry_after_secs: (next - now).num_seconds().max(1) });
        }
    }
    if issued_since(conn, user_id, purpose, now - Duration::hours(24))? >= 5 {
        return Err(DomainError::Throttled { retry_after_secs: 3600 });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn a_link_is_good_until_it_expires_and_only_once() {
        let expires = t("2026-11-25 12:00:00");
        assert_eq!(judge(expires, None, t("2026-11-25 11:59:59")), Ok(()));
        assert_eq!(judge(expires, None, t("2026-11-25 12:00:00")), Err(LinkProblem::Expired));
        assert_eq!(judge(expires, Some(t("2026-11-25 11:00:00")), t("2026-11-25 11:30:00")), Err(LinkProblem::Used));
    }

    #[test]
    fn lifetimes_are_a_day_to_confirm_and_an_hour_to_reset() {
        assert_eq!(Purpose::ConfirmEmail.lifetime(), Duration::hours(24));
        assert_eq!(Purpose::ResetPassword.lifetime(), Duration::hours(1));
    }

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let (a, ha) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(ha, hash_token(&a));
        assert!(!ha.contains(&a));
        assert_eq!(ha.len(), 64);
    }
}
