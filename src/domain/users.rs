//! Users: registration, sign-in with throttling, profile and notification
//! preferences, and the set-up path that creates the first operations user.

use chrono::Duration;
use diesel::prelude::*;

use crate::db::models::user::{NewSignInFailure, NewUser, User};
use crate::db::schema::{sign_in_failures, users};
use crate::db::DbConnection;
use crate::domain::company::{self, CompanyKind};
use crate::domain::credentials;
use crate::domain::error::{DomainResult, FieldErrors};
use crate::domain::policy::{self, AdministerCompanies, EditOwnProfile, Permit};
use crate::domain::values::{CompanyName, EmailAddress, NewPassword, PersonName};
use crate::domain::{Actor, DomainError};
use crate::mail::{self, Email};

/// Failed sign-ins allowed per email address, and per client address, in the window.
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
pub const MAX_FAILURES_PER_ADDRESS: i64 = 30;
pub const THROTTLE_WINDOW_MINUTES: i64 = 15;

/// What the registration form sends, before parsing.
#[derive(Debug, Clone, Default)]
pub struct RegistrationInput {
    pub name: String,
    pub email: String,
    pub password: String,
    pub company_name: String,
}

/// A registration that passed every field check.
pub struct Registration {
    name: PersonName,
    email: EmailAddress,
    password: NewPassword,
    company_name: Option<CompanyName>,
}

impl TryFrom<&RegistrationInput> for Registration {
    type Error = FieldErrors;
    fn try_from(input: &RegistrationInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = errors.check("name", PersonName::parse(&input.name));
        let email = errors.check("email", EmailAddress::parse(&input.email));
        let password = errors.check("password", NewPassword::parse(&input.password));
        // The company name is needed only when the email domain is new; checked then.
        let company_name = CompanyName::parse(&input.company_name).ok();
        match (name, email, password, errors.is_empty()) {
            (Some(name), Some(email), Some(password), true) => Ok(Registration { name, email, password, company_name }),
            _ => Err(errors),
        }
    }
}

/// Registers a user: joins the company that owns the email's domain, or
/// creates a customer company for it. Sends the welcome email via the outbox.
pub fn register(conn: &mut DbConnection, input: &RegistrationInput, base_url: &str) -> DomainResult<Actor> {
    let registration = Registration::try_from(input)?;
    // Hash outside the transaction: it is slow and touches nothing.
    let hash = credentials::hash_password(&registration.password)?;
    crate::db::transaction(conn, |conn| {
        let taken: i64 = users::table.filter(users::email.eq(registration.email.as_str())).count().get_result(conn)?;
        if taken > 0 {
            return Err(FieldErrors::single("email", "An account with this email exists already. Sign in instead.").into());
        }
        let domain = registration.email.domain();
        let company = match company::find_by_domain(conn, &domain)? {
            Some(c) => c,
            None => {
                let Some(name) = &registration.company_name else {
                    return Err(FieldErrors::single(
                        "company_name",
                        format!("No company is known by {domain} yet: enter your company's name to create it."),
                    )
                    .into());
                };
                company::create(conn, name, policy::kind_for_self_registered_company(), &domain)?
            }
        };
        let user = insert_user(conn, company.id, &registration.email, &registration.name, &hash)?;
        crate::domain::accounts::request::claim_nominations(conn, user.id, &user.email)?;
        let actor = Actor::from_rows(user, company);
        mail::enqueue(conn, &Email::welcome(&actor, base_url))?;
        Ok(actor)
    })
}

fn insert_user(conn: &mut DbConnection, company_id: i64, email: &EmailAddress, name: &PersonName, hash: &str) -> DomainResult<User> {
    let id: i64 = diesel::insert_into(users::table)
        .values(&NewUser {
            company_id,
            email: email.as_str(),
            name: name.as_str(),
            password_hash: hash,
            notify_orders: true,
            notify_reminders: true,
            created_at: crate::db::now(),
        })
        .returning(users::id)
        .get_result(conn)
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
                DomainError::Invalid(FieldErrors::single("email", "An account with this email exists already."))
            }
            e => e.into(),
        })?;
    Ok(users::table.find(id).select(User::as_select()).first(conn)?)
}

/// Checks an email and password. Every failure, for known and unknown emails
/// alike, gives the same answer and counts towards the throttle.
pub fn authenticate(conn: &mut DbConnection, email: &str, password: &str, client_address: &str) -> DomainResult<Actor> {
    let email = email.trim().to_lowercase();
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
    let ok = credentials::verify_password(password, found.as_ref().map(|u| u.password_hash.as_str()));
    match (ok, found) {
        (true, Some(user)) => {
            crate::db::transaction(conn, |conn| {
                diesel::delete(sign_in_failures::table.filter(sign_in_failures::email.eq(&email))).execute(conn)?;
                diesel::update(users::table.find(user.id)).set(users::last_sign_in_at.eq(now)).execute(conn)?;
                Ok::<_, DomainError>(())
            })?;
            Actor::load(conn, user.id)?.ok_or(DomainError::NotFound)
        }
        _ => {
            diesel::insert_into(sign_in_failures::table)
                .values(&NewSignInFailure { email: &email, ip: client_address, at: now })
                .execute(conn)?;
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

/// Creates a user in the company of the email's domain, creating that company
/// with `kind` when it does not exist. For operations and set-up (CLI, demo).
pub fn create_user(
    conn: &mut DbConnection,
    _permit: &Permit<AdministerCompanies>,
    email: &str,
    name: &str,
    password: &str,
    company_name: &str,
    kind: CompanyKind,
) -> DomainResult<Actor> {
    let mut errors = FieldErrors::new();
    let email = errors.check("email", EmailAddress::parse(email));
    let name = errors.check("name", PersonName::parse(name));
    let password = errors.check("password", NewPassword::parse(password));
    let company_name = errors.check("company_name", CompanyName::parse(company_name));
    let (Some(email), Some(name), Some(password), Some(company_name)) = (email, name, password, company_name) else {
        return Err(errors.into());
    };
    let hash = credentials::hash_password(&password)?;
    crate::db::transaction(conn, |conn| {
        let domain = email.domain();
        let company = match company::find_by_domain(conn, &domain)? {
            Some(c) => c,
            None => company::create(conn, &company_name, kind, &domain)?,
        };
        let user = insert_user(conn, company.id, &email, &name, &hash)?;
        Ok(Actor::from_rows(user, company))
    })
}

/// For the CLI: a permit for set-up work done at the console.
pub fn console_permit() -> Permit<AdministerCompanies> {
    policy::system_permit()
}
