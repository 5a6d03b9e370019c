//! Passwords: the strength rule for new ones, "Forgot your password?" by
//! email, and changing one's own. A reset or a change ends sessions.

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

/// Sets a new password from a reset link: single use; every session of the
/// person ends. Following the link also proves the address.
pub fn reset(conn: &mut DbConnection, token: &str, new_password: &str, ip: &str) -> DomainResult<Result<User, LinkProblem>> {
    let user_id = match links::peek(conn, token, Purpose::ResetPassword)? {
        Ok(id) => id,
        Err(p) => return Ok(Err(p)),
    };
    let user: User = users::table.find(user_id).select(User::as_select()).first(conn)?;
    let password = parse_new(new_password, &[&user.email, &user.name]).map_err(|m| FieldErrors::single("password", m))?;
    let hash = credentials::hash_password(&password)?;
    crate::db::transaction(conn, |conn| {
        if let Err(p) = links::consume(conn, token, Purpose::ResetPassword)? {
            return Ok(Err(p));
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

/// What the change-password form sends.
#[derive(Debug, Clone, Default)]
pub struct ChangeInput {
    pub current: String,
    pub new: String,
}

/// Changes one's own password: the current one is needed; other sessions end.
pub fn change(conn: &mut DbConnection, user_id: i64, keep_session: i64, input: &ChangeInput, ip: &str) -> DomainResult<()> {
    let user: User = users::table.find(user_id).select(User::as_select()).first(conn)?;
    let mut errors = FieldErrors::new();
    if !credentials::verify_password(&input.current, Some(&user.password_hash)) {
        errors.add("current_password", "That is not your current password.");
    }
    let password = errors.check("new_password", parse_new(&input.new, &[&user.email, &user.name]));
    if input.new == input.current && errors.is_empty() {
        errors.add("new_password", "Choose a password other than the current one.");
    }
    let Some(password) = password.filter(|_| errors.is_empty()) else { return Err(errors.into()) };
    let hash = credentials::hash_password(&password)?;
    crate::db::transaction(conn, |conn| {
        diesel::update(users::table.find(user_id)).set(users::password_hash.eq(&hash)).execute(conn)?;
        let ended = sessions::end_all(conn, user_id, Some(keep_session))?;
        security::own(conn, user_id, user.company_id, "password_changed", &format!("{ended} other sessions ended"), ip)?;
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
