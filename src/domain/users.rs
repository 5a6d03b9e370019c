//! Users: sign-in with throttling, profile and notification preferences,
//! and the set-up path that creates the first operations user. Registration,
//! membership and passwords are in `identity`.

use chrono::Duration;
use diesel::prelude::*;

use crate::db::models::user::{NewSignInFailure, User};
use crate::db::schema::{sign_in_failures, users};
use crate::db::DbConnection;
use crate::domain::company::{self, CompanyKind};
use crate::domain::credentials;
use crate::domain::error::{DomainResult, FieldErrors};
use crate::domain::policy::{self, AdministerCompanies, EditOwnProfile, Permit};
use crate::domain::values::{CompanyName, EmailAddress, NewPassword, PersonName};
use crate::domain::{Actor, DomainError};

/// Failed sign-ins allowed per email address, and per client address, in the window.
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
pub const MAX_FAILURES_PER_ADDRESS: i64 = 30;
pub const THROTTLE_WINDOW_MINUTES: i64 = 15;

/// A sign-in whose throttle has been checked and whose person, if any,
/// has been looked up; its password is checked next, without a database
/// connection (`check`): a hash keeps a core busy for tens of
/// milliseconds, and while a burst of sign-ins waits its turn to hash
/// (`credentials`) the pool's connections stay free for everyone else.
pub struct SignInAttempt {
    email: String,
    found: Option<User>,
    at: chrono::NaiveDateTime,
}

/// A sign-in whose password has been checked: only `SignInAttempt::check`
/// makes one, so `finish_sign_in` cannot be told a password matched
/// without its hash having been verified.
pub struct CheckedSignIn {
    attempt: SignInAttempt,
    matched: bool,
}

impl SignInAttempt {
    /// Verifies the password against the person's hash (or a dummy one
    /// when nobody has this email, so the time taken tells nothing).
    pub fn check(self, password: &str) -> CheckedSignIn {
        let matched = credentials::verify_password(password, self.found.as_ref().map(|u| u.password_hash.as_str()));
        CheckedSignIn { attempt: self, matched }
    }
}

/// The first step of a sign-in: the email's form, then the throttle (too
/// many recent failures for this email or this client address refuse it
/// before any password is checked), then the person with this email.
pub fn begin_sign_in(conn: &mut DbConnection, email: &str, client_address: &str) -> DomainResult<SignInAttempt> {
    let email = email.trim().to_lowercase();
    if crate::domain::values::has_control(&email) {
        return Err(FieldErrors::single("email", "Enter an email address without control characters.").into());
    }
    let now = crate::db::now();
    let since = now - Duration::minutes(THROTTLE_WINDOW_MINUTES);
    let by_account: i64 = sign_in_failures::table
        .filter(sign_in_failures::email.eq(&email))
        .filter(sign_in_failures::at.gt(since))
        .count()
        .get_result(conn)?;
    let by_address: i64 = sign_in_failures::table
        .filter(sign_in_failures::ip.eq(client_address))
        .filter(sign_in_failures::at.gt(since))
        .count()
        .get_result(conn)?;
    if by_account >= MAX_FAILURES_PER_ACCOUNT || by_address >= MAX_FAILURES_PER_ADDRESS {
        let oldest: Option<chrono::NaiveDateTime> = sign_in_failures::table
            .filter(sign_in_failures::email.eq(&email).or(sign_in_failures::ip.eq(client_address)))
            .filter(sign_in_failures::at.gt(since))
            .select(diesel::dsl::min(sign_in_failures::at))
            .first(conn)?;
        let retry = oldest.map(|o| (o - since).num_seconds().max(1)).unwrap_or(60);
        return Err(DomainError::Throttled { retry_after_secs: retry });
    }
    let found: Option<User> = users::table.filter(users::email.eq(&email)).select(User::as_select()).first(conn).optional()?;
    Ok(SignInAttempt { email, found, at: now })
}

/// The last step of a sign-in: every failure, for known and unknown emails
/// alike, gives the same answer and counts towards the throttle; a
/// deactivated person is refused after the right password only; a success
/// clears the email's failures.
pub fn finish_sign_in(conn: &mut DbConnection, checked: CheckedSignIn, client_address: &str) -> DomainResult<User> {
    let CheckedSignIn { attempt: SignInAttempt { email, found, at }, matched } = checked;
    match (matched, found) {
        (true, Some(user)) if user.deactivated_at.is_some() => {
            Err(DomainError::Conflict("This account has been deactivated by your company's administrator.".into()))
        }
        (true, Some(user)) => {
            diesel::delete(sign_in_failures::table.filter(sign_in_failures::email.eq(&email))).execute(conn)?;
            Ok(user)
        }
        (_, found) => {
            crate::db::transaction(conn, |conn| {
                diesel::insert_into(sign_in_failures::table)
                    .values(&NewSignInFailure { email: &email, ip: client_address, at })
                    .execute(conn)?;
                if let Some(u) = &found {
                    crate::domain::identity::security::own(conn, u.id, u.company_id, "sign_in_failed", "wrong password", client_address)?;
                }
                Ok::<_, DomainError>(())
            })?;
            Err(FieldErrors::single("email", "That email and password do not match an account.").into())
        }
    }
}

/// Notification preferences a user can set on their profile.
#[derive(Debug, Clone, Copy)]
pub struct Preferences {
    pub notify_orders: bool,
    pub notify_reminders: bool,
}

pub fn update_profile(
    conn: &mut DbConnection,
    _permit: Permit<EditOwnProfile>,
    actor: &Actor,
    name: &str,
    preferences: Preferences,
) -> DomainResult<()> {
    let name = PersonName::parse(name).map_err(|m| FieldErrors::single("name", m))?;
    diesel::update(users::table.find(actor.user_id.0))
        .set((
            users::name.eq(name.as_str()),
            users::notify_orders.eq(preferences.notify_orders),
            users::notify_reminders.eq(preferences.notify_reminders),
        ))
        .execute(conn)?;
    Ok(())
}

/// A person to create with `create_users`.
pub struct NewMember<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password: &'a str,
    pub company_name: &'a str,
    pub kind: CompanyKind,
}

/// Creates a confirmed member in the company of the email's domain, creating
/// that company with `kind` when it does not exist. For operations and
/// set-up (CLI, demo): the only way besides an invitation to make operations staff.
pub fn create_user(
    conn: &mut DbConnection,
    permit: &Permit<AdministerCompanies>,
    email: &str,
    name: &str,
    password: &str,
    company_name: &str,
    kind: CompanyKind,
) -> DomainResult<Actor> {
    let mut created = create_users(conn, permit, &[NewMember { email, name, password, company_name, kind }])?;
    Ok(created.remove(0))
}

/// `create_user` for several people in one transaction, in order. Their
/// passwords are hashed side by side before it begins (each hash keeps a
/// core busy for a while): the demo's people are ready in a fraction of the
/// time one after the other would take.
pub fn create_users(conn: &mut DbConnection, _permit: &Permit<AdministerCompanies>, people: &[NewMember<'_>]) -> DomainResult<Vec<Actor>> {
    let mut checked = Vec::with_capacity(people.len());
    let mut passwords = Vec::with_capacity(people.len());
    for person in people {
        let mut errors = FieldErrors::new();
        let email = errors.check("email", EmailAddress::parse(person.email));
        let name = errors.check("name", PersonName::parse(person.name));
        let password = errors.check("password", NewPassword::parse(person.password));
        let company_name = errors.check("company_name", CompanyName::parse(person.company_name));
        let (Some(email), Some(name), Some(password), Some(company_name)) = (email, name, password, company_name) else {
            return Err(errors.into());
        };
        checked.push((email, name, company_name, person.kind));
        passwords.push(password);
    }
    let hashes = credentials::hash_passwords(&passwords)?;
    crate::db::transaction(conn, |conn| {
        let mut created = Vec::with_capacity(checked.len());
        for ((email, name, company_name, kind), hash) in checked.iter().zip(&hashes) {
            let domain = email.domain();
            let company = match company::find_by_domain(conn, &domain)? {
                Some(c) => c,
                None => company::create(conn, company_name, *kind, &domain)?,
            };
            // The first member of a company is its company administrator.
            let members: i64 = users::table.filter(users::company_id.eq(company.id)).count().get_result(conn)?;
            let user = crate::domain::identity::membership::insert_user(
                conn,
                Some(company.id),
                email,
                name,
                hash,
                Some(crate::db::now()),
                members == 0,
                None,
            )?;
            created.push(Actor::from_rows(user, company));
        }
        Ok(created)
    })
}

/// For the CLI: a permit for set-up work done at the console.
pub fn console_permit() -> Permit<AdministerCompanies> {
    policy::system_permit()
}
