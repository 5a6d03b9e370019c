//! Two-step sign-in with an authenticator app (TOTP, RFC 6238: SHA-1, six
//! digits, 30-second steps, one step of clock skew), ten single-use recovery
//! codes, codes throttled like passwords, and each code step accepted once.
//! Required for operations staff.

use chrono::Duration;
use diesel::prelude::*;
use rand::Rng;
use totp_rs::{Builder, Secret, Totp};

use crate::db::models::user::User;
use crate::db::schema::{recovery_codes, sign_in_failures, users};
use crate::db::DbConnection;
use crate::domain::error::{DomainResult, FieldErrors};
use crate::domain::identity::links::hash_token;
use crate::domain::identity::passwords::Proof;
use crate::domain::identity::{security, sessions};
use crate::domain::DomainError;

pub const ISSUER: &str = "Smart Account Portal";
pub const RECOVERY_CODES: usize = 10;
const MAX_FAILURES: i64 = 5;
const WINDOW_MINUTES: i64 = 15;

/// A fresh secret, base32 as authenticator apps show it.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill(&mut bytes);
    Secret::from(bytes.to_vec()).to_base32()
}

fn totp(secret_base32: &str, account: &str) -> Result<Totp, DomainError> {
    let secret = Secret::try_from_base32(secret_base32).map_err(|e| DomainError::Other(anyhow::anyhow!("bad TOTP secret: {e:?}")))?;
    let account: String = account.chars().filter(|c| *c != ':').collect();
    Builder::new()
        .with_secret(secret.as_ref().to_vec())
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| DomainError::Other(anyhow::anyhow!("TOTP: {e:?}")))
}

/// The `otpauth://` address an authenticator app reads from the QR code.
pub fn otpauth_url(secret_base32: &str, email: &str) -> DomainResult<String> {
    totp(secret_base32, email)?.to_url().map_err(|e| DomainError::Other(anyhow::anyhow!("TOTP URL: {e:?}")))
}

/// The QR code of the `otpauth://` address, drawn as SVG by the portal.
pub fn qr_svg(secret_base32: &str, email: &str) -> DomainResult<String> {
    let url = otpauth_url(secret_base32, email)?;
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(|e| DomainError::Other(anyhow::anyhow!("QR: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    // Inline in HTML: without the XML declaration.
    Ok(match svg.find("<svg") {
        Some(i) => svg[i..].to_string(),
        None => svg,
    })
}

/// The current six-digit code for a secret (for tests and the device of a demo).
pub fn code_at(secret_base32: &str, unix_seconds: u64) -> DomainResult<String> {
    Ok(totp(secret_base32, "x")?.generate(unix_seconds).to_string())
}

/// The step a code belongs to, if it is right at `unix_seconds` (±1 step).
pub fn matching_step(secret_base32: &str, code: &str, unix_seconds: u64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    totp(secret_base32, "x").ok()?.check(&code, unix_seconds)
}

fn unix_now() -> u64 {
    chrono::Utc::now().timestamp().max(0) as u64
}

fn throttle_key(user_id: i64) -> String {
    format!("two-step:{user_id}")
}

fn check_throttle(conn: &mut DbConnection, user_id: i64) -> DomainResult<()> {
    let since = crate::db::now() - Duration::minutes(WINDOW_MINUTES);
    let key = throttle_key(user_id);
    let failures: i64 =
        sign_in_failures::table.filter(sign_in_failures::email.eq(&key)).filter(sign_in_failures::at.gt(since)).count().get_result(conn)?;
    if failures >= MAX_FAILURES {
        let oldest: Option<chrono::NaiveDateTime> = sign_in_failures::table
            .filter(sign_in_failures::email.eq(&key))
            .filter(sign_in_failures::at.gt(since))
            .select(diesel::dsl::min(sign_in_failures::at))
            .first(conn)?;
        let retry = oldest.map(|o| (o - since).num_seconds().max(1)).unwrap_or(60);
        return Err(DomainError::Throttled { retry_after_secs: retry });
    }
    Ok(())
}

fn fail(conn: &mut DbConnection, user: &User, ip: &str) -> DomainResult<()> {
    diesel::insert_into(sign_in_failures::table)
        .values((sign_in_failures::email.eq(throttle_key(user.id)), sign_in_failures::ip.eq(ip), sign_in_failures::at.eq(crate::db::now())))
        .execute(conn)?;
    security::own(conn, user.id, user.company_id, "two_step_failed", "", ip)?;
    Ok(())
}

/// Turns two-step sign-in on with a secret the person's app shows a right
/// code for. Returns the recovery codes, shown once.
pub fn enable(conn: &mut DbConnection, user_id: i64, secret: &str, code: &str, ip: &str) -> DomainResult<Vec<String>> {
    let user: User = users::table.find(user_id).select(User::as_select()).first(conn)?;
    check_throttle(conn, user_id)?;
    let Some(step) = matching_step(secret, code, unix_now()) else {
        fail(conn, &user, ip)?;
        return Err(FieldErrors::single("code", "That code is not right. Enter the six digits your app shows now.").into());
    };
    crate::db::transaction(conn, |conn| {
        diesel::update(users::table.find(user_id))
            .set((
                users::totp_secret.eq(Some(secret)),
                users::totp_enabled_at.eq(Some(crate::db::now())),
                users::totp_last_step.eq(Some(step as i64)),
            ))
            .execute(conn)?;
        let codes = replace_recovery_codes(conn, user_id)?;
        security::own(conn, user_id, user.company_id, "two_step_enabled", "", ip)?;
        Ok(codes)
    })
}

fn replace_recovery_codes(conn: &mut DbConnection, user_id: i64) -> QueryResult<Vec<String>> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id))).execute(conn)?;
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    let mut rng = rand::rng();
    for _ in 0..RECOVERY_CODES {
        let raw: String = (0..10).map(|_| char::from(b"abcdefghjkmnpqrstuvwxyz23456789"[rng.random_range(0..31)])).collect();
        let code = format!("{}-{}", &raw[..5], &raw[5..]);
        diesel::insert_into(recovery_codes::table)
            .values((recovery_codes::user_id.eq(user_id), recovery_codes::code_hash.eq(hash_token(&code))))
            .execute(conn)?;
        codes.push(code);
    }
    Ok(codes)
}

/// New recovery codes (the old ones stop working), with the password
/// (checked by `passwords::Stored::check`).
pub fn regenerate_recovery_codes(conn: &mut DbConnection, proof: &Proof, ip: &str) -> DomainResult<Vec<String>> {
    let user = proof.user();
    if user.totp_enabled_at.is_none() {
        return Err(DomainError::Conflict("Two-step sign-in is not on.".into()));
    }
    crate::db::transaction(conn, |conn| {
        proof.confirm(conn)?;
        let codes = replace_recovery_codes(conn, user.id)?;
        security::own(conn, user.id, user.company_id, "two_step_enabled", "new recovery codes", ip)?;
        Ok(codes)
    })
}

pub fn unused_recovery_codes(conn: &mut DbConnection, user_id: i64) -> QueryResult<i64> {
    recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)).filter(recovery_codes::used_at.is_null()).count().get_result(conn)
}

/// The second step of signing in: a code from the app (each step once) or
/// an unused recovery code. Throttled: five failures in 15 minutes.
pub fn verify(conn: &mut DbConnection, user_id: i64, code: &str, ip: &str) -> DomainResult<User> {
    let user: User = users::table
        .filter(users::id.eq(user_id))
        .filter(users::deactivated_at.is_null())
        .select(User::as_select())
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound)?;
    let Some(secret) = user.totp_secret.clone().filter(|_| user.totp_enabled_at.is_some()) else {
        return Err(DomainError::Conflict("Two-step sign-in is not on for this person.".into()));
    };
    check_throttle(conn, user_id)?;
    let wrong = "That code is not right. Enter the six digits your app shows now, or a recovery code.";
    if let Some(step) = matching_step(&secret, code, unix_now()) {
        // Each step is accepted once: a code seen on the wire cannot be replayed.
        let taken = diesel::update(
            users::table.filter(users::id.eq(user_id)).filter(users::totp_last_step.is_null().or(users::totp_last_step.lt(step as i64))),
        )
        .set(users::totp_last_step.eq(Some(step as i64)))
        .execute(conn)?;
        if taken == 1 {
            return Ok(user);
        }
        fail(conn, &user, ip)?;
        return Err(FieldErrors::single("code", "That code was used already. Wait for the next one.").into());
    }
    let normalised = code.trim().to_lowercase();
    if normalised.len() == 11 && normalised.as_bytes()[5] == b'-' {
        let used = diesel::update(
            recovery_codes::table
                .filter(recovery_codes::user_id.eq(user_id))
                .filter(recovery_codes::code_hash.eq(hash_token(&normalised)))
                .filter(recovery_codes::used_at.is_null()),
        )
        .set(recovery_codes::used_at.eq(Some(crate::db::now())))
        .execute(conn)?;
        if used == 1 {
            security::own(conn, user_id, user.company_id, "recovery_code_used", "", ip)?;
            return Ok(user);
        }
    }
    fail(conn, &user, ip)?;
    Err(FieldErrors::single("code", wrong).into())
}

/// Whether a person may turn two-step sign-in off: never operations, for
/// whom it is required.
pub fn may_disable(required: bool) -> DomainResult<()> {
    if required {
        return Err(DomainError::Conflict("Two-step sign-in is required for operations staff.".into()));
    }
    Ok(())
}

/// Turns two-step sign-in off (with the password, checked by
/// `passwords::Stored::check`); never for operations. Other sessions end.
pub fn disable(conn: &mut DbConnection, proof: &Proof, keep_session: i64, required: bool, ip: &str) -> DomainResult<()> {
    may_disable(required)?;
    let user = proof.user();
    crate::db::transaction(conn, |conn| {
        proof.confirm(conn)?;
        diesel::update(users::table.find(user.id))
            .set((users::totp_secret.eq(None::<String>), users::totp_enabled_at.eq(None::<chrono::NaiveDateTime>)))
            .execute(conn)?;
        diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user.id))).execute(conn)?;
        sessions::end_all(conn, user.id, Some(keep_session))?;
        security::own(conn, user.id, user.company_id, "two_step_disabled", "", ip)?;
        Ok::<_, DomainError>(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_vector_and_a_step_of_skew() {
        // RFC 6238 appendix B, SHA-1: secret "12345678901234567890", T = 59 → 94287082 (8 digits; 6 digits: 287082).
        let secret = Secret::from(b"12345678901234567890".to_vec()).to_base32();
        assert_eq!(code_at(&secret, 59).unwrap(), "287082");
        assert_eq!(matching_step(&secret, "287082", 59), Some(1));
        assert_eq!(matching_step(&secret, "287082", 59 + 30), Some(1), "one step late is accepted");
        assert_eq!(matching_step(&secret, "287082", 59 + 90), None, "three steps late is not");
        assert_eq!(matching_step(&secret, "28708", 59), None);
        assert_eq!(matching_step(&secret, "abcdef", 59), None);
    }

    #[test]
    fn the_qr_code_is_an_svg_of_the_otpauth_address() {
        let secret = new_secret();
        let url = otpauth_url(&secret, "olga@ops.example").unwrap();
        assert!(url.starts_with("otpauth://totp/Smart%20Account%20Portal:olga%40ops.example?"), "{url}");
        assert!(url.contains(&format!("secret={secret}")));
        let svg = qr_svg(&secret, "olga@ops.example").unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("</svg>"), "inline SVG, no XML declaration");
    }
}
