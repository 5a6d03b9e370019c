//! Passwords: the strength rule for new ones, "Forgot your password?" by
//! email, and changing one's own. A reset or a change ends sessions.
//!
//! Checking or hashing a password keeps a core busy for a while, and in a
//! burst waits for its turn (`credentials`): it never runs on a database
//! connection. What a check needs is read first (`stored`, `begin_reset`),
//! the check runs with no connection (`Stored::check`, `check_change`,
//! `PreparedReset::hash`), and the change is written afterwards, in one
//! transaction that first makes sure the password checked is still the
//! person's (`Proof`).

use diesel::prelude::*;

use crate::db::models::user::User;
use crate::db::schema::users;
use crate::db::DbConnection;
use crate::domain::credentials;
use crate::domain::error::{DomainResult, FieldErrors};
use crate::domain::identity::links::{self, LinkProblem, Purpose};
use crate::domain::identity::{security, sessions};
use crate::domain::values::{EmailAddress, NewPassword};
use crate::domain::DomainError;
use crate::mail::{self, Email};

/// A new password: long enough, and not one that is easy to guess (common
/// passwords, keyboard patterns, the person's own name or address).
pub fn parse_new(input: &str, hints: &[&str]) -> Result<NewPassword, String> {
    let password = NewPassword::parse(input)?;
    let mut words: Vec<&str> = Vec::new();
    let lowered: Vec<String> = hints.iter().map(|h| h.to_lowercase()).collect();
    for h in &lowered {
        words.push(h.as_str());
        if let Some((local, _)) = h.split_once('@') {
            words.push(local);
        }
        words.extend(h.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() >= 3));
    }
    let estimate = zxcvbn::zxcvbn(input, &words);
    if (estimate.score() as u8) < 2 {
        let warning = estimate.feedback().and_then(|f| f.warning()).map(|w| format!(" ({w})")).unwrap_or_default();
        return Err(format!("This password is too easy to guess{warning}. Use a longer phrase of unrelated words."));
    }
    Ok(password)
}

/// "Forgot your password?": the same answer whether the address is known or
/// not. A known, active person gets a single-use link valid for an hour
/// (at most one a minute, five a day).
pub fn forgot(conn: &mut DbConnection, email: &str, ip: &str, base_url: &str) -> DomainResult<()> {
    let Ok(email) = EmailAddress::parse(email) else { return Ok(()) };
    crate::db::transaction(conn, |conn| {
        let user: Option<User> = users::table
            .filter(users::email.eq(email.as_str()))
            .filter(users::deactivated_at.is_null())
            .select(User::as_select())
            .first(conn)
            .optional()?;
        let Some(user) = user else { return Ok(()) };
        if links::resend_wait(conn, user.id, Purpose::ResetPassword).is_err() {
            return Ok(());
        }
        let token = links::issue(conn, user.id, Purpose::ResetPassword)?;
        let url = format!("{base_url}/password/reset/{token}");
        security::own(conn, user.id, user.company_id, "password_reset_requested", "", ip)?;
        mail::enqueue(
            conn,
            &Email::notice(
                &user.email,
                "Reset your password",
                "password_reset",
                &[
                    format!("Hello {},", user.name),
                    "Someone (we hope you) asked to reset your Smart Account Portal password. Follow the link to choose a new one. It works once and expires in one hour.".into(),
                    "If you did not ask, ignore this message: your password stays as it is.".into(),
                ],
                Some(("Choose a new password", &url)),
            ),
        )?;
        Ok(())
    })
}

/// Checks a reset link before showing the form.
pub fn check_reset(conn: &mut DbConnection, token: &str) -> DomainResult<Result<(), LinkProblem>> {
    Ok(links::peek(conn, token, Purpose::ResetPassword)?.map(|_| ()))
}

/// A reset whose link and new password were read and checked: the new
/// password is still to be hashed (`hash`), with no connection held.
pub struct PreparedReset {
    token: String,
    user: User,
    password: NewPassword,
}

/// A reset ready to be written (`reset`).
pub struct HashedReset {
    token: String,
    user: User,
    hash: String,
}

/// Reads a reset link and checks the new password given with it.
pub fn begin_reset(conn: &mut DbConnection, token: &str, new_password: &str) -> DomainResult<Result<PreparedReset, LinkProblem>> {
    let user_id = match links::peek(conn, token, Purpose::ResetPassword)? {
        Ok(id) => id,
        Err(p) => return Ok(Err(p)),
    };
    let user: User = users::table.find(user_id).select(User::as_select()).first(conn)?;
    let password = parse_new(new_password, &[&user.email, &user.name]).map_err(|m| FieldErrors::single("password", m))?;
    Ok(Ok(PreparedReset { token: token.to_string(), user, password }))
}

impl PreparedReset {
    pub fn hash(self) -> DomainResult<HashedReset> {
        let hash = credentials::hash_password(&self.password)?;
        Ok(HashedReset { token: self.token, user: self.user, hash })
    }
}

/// Sets a new password from a reset link: single use (the link is taken in
/// the same transaction); every session of the person ends. Following the
/// link also proves the address.
pub fn reset(conn: &mut DbConnection, reset: HashedReset, ip: &str) -> DomainResult<Result<User, LinkProblem>> {
    let HashedReset { token, user, hash } = reset;
    crate::db::transaction(conn, |conn| {
        let user_id = match links::consume(conn, &token, Purpose::ResetPassword)? {
            Ok(id) => id,
            Err(p) => return Ok(Err(p)),
        };
        if user_id != user.id {
            return Ok(Err(LinkProblem::Unknown));
        }
        let now = crate::db::now();
        diesel::update(users::table.find(user_id))
            .set((users::password_hash.eq(&hash), users::email_confirmed_at.eq(Some(user.email_confirmed_at.unwrap_or(now)))))
            .execute(conn)?;
        sessions::end_all(conn, user_id, None)?;
        security::own(conn, user_id, user.company_id, "password_reset", "every session ended", ip)?;
        Ok(Ok(users::table.find(user_id).select(User::as_select()).first(conn)?))
    })
}

/// A person's password as stored, read so that a password can be checked
/// against it with no connection held.
pub struct Stored {
    user: User,
}

/// Proof that a person gave their current password: made only by
/// `Stored::check`, and good while that password is still theirs (`confirm`).
pub struct Proof {
    user: User,
}

pub fn stored(conn: &mut DbConnection, user_id: i64) -> DomainResult<Stored> {
    Ok(Stored { user: users::table.find(user_id).select(User::as_select()).first(conn)? })
}

const NOT_CURRENT: &str = "That is not your current password.";

impl Stored {
    /// The proof, or the message for the form's `field`.
    pub fn check(self, password: &str, field: &'static str) -> Result<Proof, FieldErrors> {
        self.verify(password).ok_or_else(|| FieldErrors::single(field, NOT_CURRENT))
    }

    fn verify(self, password: &str) -> Option<Proof> {
        credentials::verify_password(password, Some(&self.user.password_hash)).then_some(Proof { user: self.user })
    }
}

impl Proof {
    /// The person as read before the check.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// Within a change's transaction, before it writes: the password checked
    /// is still the person's (on PostgreSQL their row stays locked until the
    /// transaction ends; SQLite's write transaction holds the database), else
    /// a conflict and nothing is written.
    pub fn confirm(&self, conn: &mut DbConnection) -> DomainResult<()> {
        let current = users::table.find(self.user.id).filter(users::password_hash.eq(&self.user.password_hash)).select(users::id);
        let found: Option<i64> = match conn {
            DbConnection::Postgresql(pg) => current.for_update().first(pg).optional()?,
            DbConnection::Sqlite(_) => current.first(conn).optional()?,
        };
        found.map(|_| ()).ok_or_else(|| DomainError::Conflict("Your password was changed meanwhile. Try again with the new one.".into()))
    }
}

/// What the change-password form sends.
#[derive(Debug, Clone, Default)]
pub struct ChangeInput {
    pub current: String,
    pub new: String,
}

/// A change whose current password was checked and new one hashed.
pub struct CheckedChange {
    proof: Proof,
    hash: String,
}

/// Checks the current password and hashes the new one, with no connection.
pub fn check_change(stored: Stored, input: &ChangeInput) -> DomainResult<CheckedChange> {
    let (email, name) = (stored.user.email.clone(), stored.user.name.clone());
    let mut errors = FieldErrors::new();
    let proof = stored.verify(&input.current);
    if proof.is_none() {
        errors.add("current_password", NOT_CURRENT);
    }
    let password = errors.check("new_password", parse_new(&input.new, &[&email, &name]));
    if input.new == input.current && errors.is_empty() {
        errors.add("new_password", "Choose a password other than the current one.");
    }
    let (Some(proof), Some(password)) = (proof, password.filter(|_| errors.is_empty())) else { return Err(errors.into()) };
    let hash = credentials::hash_password(&password)?;
    Ok(CheckedChange { proof, hash })
}

/// Changes one's own password (the current one checked by `check_change`);
/// other sessions end.
pub fn change(conn: &mut DbConnection, checked: CheckedChange, keep_session: i64, ip: &str) -> DomainResult<()> {
    let user = checked.proof.user();
    crate::db::transaction(conn, |conn| {
        checked.proof.confirm(conn)?;
        diesel::update(users::table.find(user.id)).set(users::password_hash.eq(&checked.hash)).execute(conn)?;
        let ended = sessions::end_all(conn, user.id, Some(keep_session))?;
        security::own(conn, user.id, user.company_id, "password_changed", &format!("{ended} other sessions ended"), ip)?;
        Ok::<_, DomainError>(())
    })
}

#[cfg(test)]
mod tests {
    use super::parse_new;

    #[test]
    fn common_and_personal_passwords_are_refused() {
        for weak in ["password123", "1234567890", "qwertyuiop", "iloveyou12", "letmein2026"] {
            assert!(parse_new(weak, &[]).is_err(), "{weak}");
        }
        assert!(parse_new("ada.lovelace1", &["ada.lovelace@metalworks.example", "Ada Lovelace"]).is_err());
        assert!(parse_new("short", &[]).unwrap_err().contains("at least 10"));
        assert!(parse_new("correct horse battery", &[]).is_ok());
        assert!(parse_new("vK3#pq9!Lm2x", &[]).is_ok());
    }
}
