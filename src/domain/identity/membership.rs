//! Membership is granted, never taken: registration makes a person, a
//! confirmed address comes from a mailed link, and a company administrator
//! admits people (a request or an invitation). Operations are never made
//! by registration. A company never loses its last administrator.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::models::company::Company;
use crate::db::models::user::{NewUser, User};
use crate::db::schema::{account_roles, companies, invitations, membership_requests, smart_accounts, users};
use crate::db::DbConnection;
use crate::domain::company::{self, CompanyKind};
use crate::domain::credentials;
use crate::domain::error::{DomainResult, FieldErrors};
use crate::domain::identity::links::{self, LinkProblem, Purpose};
use crate::domain::identity::passwords;
use crate::domain::identity::security::{self, Record, SecurityEvent};
use crate::domain::identity::sessions;
use crate::domain::policy::{self, AdministerMembers, Permit};
use crate::domain::roles::Role;
use crate::domain::values::{CompanyName, EmailAddress, NewPassword, PersonName};
use crate::domain::{Actor, DomainError};
use crate::mail::{self, Email};

/// How long an invitation can be followed.
pub const INVITATION_DAYS: i64 = 7;

/// What the registration form sends, before parsing.
#[derive(Debug, Clone, Default)]
pub struct RegistrationInput {
    pub name: String,
    pub email: String,
    pub password: String,
    pub company_name: String,
}

/// The refusal for an operations domain, wherever it comes up.
pub const OPERATIONS_REFUSAL: &str =
    "Operations staff accounts are not made by registering. Ask an operations company administrator for an invitation.";

/// A registration whose fields are valid and whose password is hashed:
/// made without a database connection (`prepare_registration`), so a
/// burst of registrations waiting their turn to hash holds none.
pub struct Registration {
    name: PersonName,
    email: EmailAddress,
    company_name: Option<CompanyName>,
    hash: String,
}

/// Checks the registration form's fields and hashes its password.
pub fn prepare_registration(input: &RegistrationInput) -> DomainResult<Registration> {
    let mut errors = FieldErrors::new();
    let name = errors.check("name", PersonName::parse(&input.name));
    let email = errors.check("email", EmailAddress::parse(&input.email));
    let password = errors.check("password", passwords::parse_new(&input.password, &[&input.email, &input.name]));
    let company_name =
        if input.company_name.trim().is_empty() { None } else { errors.check("company_name", CompanyName::parse(&input.company_name)) };
    let (Some(name), Some(email), Some(password)) = (name, email, password) else { return Err(errors.into()) };
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let hash = credentials::hash_password(&password)?;
    Ok(Registration { name, email, company_name, hash })
}

/// Registers a person: nothing but a name, an address to confirm and a
/// password. The "Confirm your email" link goes out through the outbox.
pub fn register(conn: &mut DbConnection, registration: Registration, ip: &str, base_url: &str) -> DomainResult<User> {
    let Registration { name, email, company_name, hash } = registration;
    crate::db::transaction(conn, |conn| {
        let taken: i64 = users::table.filter(users::email.eq(email.as_str())).count().get_result(conn)?;
        if taken > 0 {
            return Err(FieldErrors::single("email", "An account with this email exists already. Sign in instead.").into());
        }
        let domain = email.domain();
        match company::find_by_domain(conn, &domain)? {
            Some(c) if c.kind == CompanyKind::Operations.as_str() => {
                return Err(FieldErrors::single("email", OPERATIONS_REFUSAL).into());
            }
            Some(_) => {}
            None if company_name.is_none() => {
                return Err(FieldErrors::single(
                    "company_name",
                    format!("No company is known by {domain} yet: enter your company's name to create it."),
                )
                .into());
            }
            None => {}
        }
        let user = insert_user(conn, None, &email, &name, &hash, None, false, company_name.as_ref().map(|c| c.as_str()))?;
        security::own(conn, user.id, None, "registered", "", ip)?;
        send_confirmation(conn, &user, base_url)?;
        Ok(user)
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_user(
    conn: &mut DbConnection,
    company_id: Option<i64>,
    email: &EmailAddress,
    name: &PersonName,
    hash: &str,
    confirmed_at: Option<NaiveDateTime>,
    is_company_admin: bool,
    requested_company_name: Option<&str>,
) -> DomainResult<User> {
    let id: i64 = diesel::insert_into(users::table)
        .values(&NewUser {
            company_id,
            email: email.as_str(),
            name: name.as_str(),
            password_hash: hash,
            notify_orders: true,
            notify_reminders: true,
            created_at: crate::db::now(),
            email_confirmed_at: confirmed_at,
            is_company_admin,
            requested_company_name,
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

fn send_confirmation(conn: &mut DbConnection, user: &User, base_url: &str) -> QueryResult<()> {
    let token = links::issue(conn, user.id, Purpose::ConfirmEmail)?;
    let url = format!("{base_url}/confirm-email/{token}");
    mail::enqueue(
        conn,
        &Email::notice(
            &user.email,
            "Confirm your email",
            "confirm_email",
            &[
                format!("Hello {},", user.name),
                "Follow the link below to confirm that this address is yours. The link works once and expires in 24 hours.".into(),
                "If you did not register at the Smart Account Portal, ignore this message.".into(),
            ],
            Some(("Confirm your email", &url)),
        ),
    )?;
    Ok(())
}

/// Mails a new confirmation link (throttled: one a minute, five a day).
pub fn resend_confirmation(conn: &mut DbConnection, user_id: i64, base_url: &str) -> DomainResult<()> {
    crate::db::transaction(conn, |conn| {
        let user: User = users::table.find(user_id).select(User::as_select()).first(conn)?;
        if user.email_confirmed_at.is_some() {
            return Ok(());
        }
        links::resend_wait(conn, user_id, Purpose::ConfirmEmail)?;
        send_confirmation(conn, &user, base_url)?;
        Ok(())
    })
}

/// What following a confirmation link led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// A new customer company was made; the person is its administrator.
    CreatedCompany(String),
    /// A company owns the domain: the person may ask to join it.
    MayAskToJoin(String),
    /// Nothing further can be done by the person alone.
    Outsider,
}

/// Follows a "Confirm your email" link: single use, 24 hours. A domain that
/// no company owns makes a customer company with the person as its first
/// member and company administrator.
pub fn confirm_email(
    conn: &mut DbConnection,
    token: &str,
    ip: &str,
    base_url: &str,
) -> DomainResult<Result<(i64, Confirmed), LinkProblem>> {
    crate::db::transaction(conn, |conn| {
        let user_id = match links::consume(conn, token, Purpose::ConfirmEmail)? {
            Ok(id) => id,
            Err(p) => return Ok(Err(p)),
        };
        let now = crate::db::now();
        diesel::update(users::table.find(user_id)).set(users::email_confirmed_at.eq(now)).execute(conn)?;
        let user: User = users::table.find(user_id).select(User::as_select()).first(conn)?;
        security::own(conn, user.id, user.company_id, "email_confirmed", "", ip)?;
        if user.company_id.is_some() {
            return Ok(Ok((user_id, Confirmed::Outsider)));
        }
        let email = EmailAddress::parse(&user.email).map_err(|m| DomainError::Other(anyhow::anyhow!(m)))?;
        let domain = email.domain();
        let owner = match company::find_by_domain(conn, &domain)? {
            Some(c) => {
                let n = members(conn, c.id)?;
                Some((c, n))
            }
            None => None,
        };
        let rule = on_confirmation(owner.as_ref().map(|(c, n)| (CompanyKind::parse(&c.kind), *n)));
        let outcome = match (rule, owner) {
            (OnConfirmation::Nothing, _) => Confirmed::Outsider,
            (OnConfirmation::MayAsk, Some((c, _))) => Confirmed::MayAskToJoin(c.name),
            (OnConfirmation::FirstAdministrator, Some((c, _))) => {
                join(conn, &user, c.id, true)?;
                if let Some(actor) = Actor::load(conn, user.id)? {
                    mail::enqueue(conn, &Email::welcome(&actor, base_url))?;
                }
                Confirmed::CreatedCompany(c.name)
            }
            (_, _) => {
                let name = user
                    .requested_company_name
                    .as_deref()
                    .and_then(|n| CompanyName::parse(n).ok())
                    .map(Ok)
                    .unwrap_or_else(|| CompanyName::parse(domain.as_str()))
                    .map_err(|m| DomainError::Other(anyhow::anyhow!(m)))?;
                let c = company::create(conn, &name, policy::kind_for_self_registered_company(), &domain)?;
                join(conn, &user, c.id, true)?;
                security::record(
                    conn,
                    Record {
                        user_id: Some(user.id),
                        company_id: Some(c.id),
                        actor_user_id: Some(user.id),
                        kind: "company_created",
                        detail: &c.name,
                        ip,
                    },
                )?;
                if let Some(actor) = Actor::load(conn, user.id)? {
                    mail::enqueue(conn, &Email::welcome(&actor, base_url))?;
                }
                Confirmed::CreatedCompany(c.name)
            }
        };
        Ok(Ok((user_id, outcome)))
    })
}

/// What a confirmed address leads to, from the company that owns its domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConfirmation {
    /// No company owns the domain: make a customer company, the person its administrator.
    CreateCompany,
    /// The company exists but has nobody to decide (it was made for the
    /// domain by someone else's request, e.g. a partner asking for an
    /// account on a customer's behalf): the person becomes its administrator.
    FirstAdministrator,
    /// The company has members: the person may ask to join; its administrators decide.
    MayAsk,
    /// Operations are never joined by a confirmed address.
    Nothing,
}

/// The pure rule: `owner` is the owning company's kind and member count.
pub fn on_confirmation(owner: Option<(Option<CompanyKind>, i64)>) -> OnConfirmation {
    match owner {
        None => OnConfirmation::CreateCompany,
        Some((Some(CompanyKind::Operations), _)) => OnConfirmation::Nothing,
        Some((_, 0)) => OnConfirmation::FirstAdministrator,
        Some(_) => OnConfirmation::MayAsk,
    }
}

fn members(conn: &mut DbConnection, company_id: i64) -> QueryResult<i64> {
    users::table.filter(users::company_id.eq(company_id)).count().get_result(conn)
}

/// Makes a person a member: the company, the flag, and the account set-up
/// nominations waiting for their (now confirmed) address.
fn join(conn: &mut DbConnection, user: &User, company_id: i64, admin: bool) -> DomainResult<()> {
    diesel::update(users::table.find(user.id))
        .set((users::company_id.eq(Some(company_id)), users::is_company_admin.eq(admin)))
        .execute(conn)?;
    crate::domain::accounts::request::claim_nominations(conn, user.id, &user.email)?;
    Ok(())
}

/// What a confirmed person without a company sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinState {
    /// A company owns the domain; the person has not asked yet.
    CanAsk {
        company: String,
    },
    Waiting {
        company: String,
        since: NaiveDateTime,
    },
    Denied {
        company: String,
    },
    /// The domain belongs to operations: never joined by asking.
    Operations,
    /// No company owns the domain (it was removed since registering): make one.
    NoCompany,
}

pub fn join_state(conn: &mut DbConnection, user_id: i64) -> DomainResult<JoinState> {
    let user: User = users::table.find(user_id).select(User::as_select()).first(conn)?;
    let latest: Option<(String, NaiveDateTime, String)> = membership_requests::table
        .inner_join(companies::table)
        .filter(membership_requests::user_id.eq(user_id))
        .order(membership_requests::id.desc())
        .select((membership_requests::status, membership_requests::created_at, companies::name))
        .first(conn)
        .optional()?;
    match latest {
        Some((status, since, company)) if status == "pending" => return Ok(JoinState::Waiting { company, since }),
        Some((status, _, company)) if status == "denied" => return Ok(JoinState::Denied { company }),
        _ => {}
    }
    let email = EmailAddress::parse(&user.email).map_err(|m| DomainError::Other(anyhow::anyhow!(m)))?;
    Ok(match company::find_by_domain(conn, &email.domain())? {
        Some(c) if c.kind == CompanyKind::Operations.as_str() => JoinState::Operations,
        Some(c) => JoinState::CanAsk { company: c.name },
        None => JoinState::NoCompany,
    })
}

fn admins_of(conn: &mut DbConnection, company_id: i64) -> QueryResult<Vec<(i64, String, String)>> {
    users::table
        .filter(users::company_id.eq(company_id))
        .filter(users::is_company_admin.eq(true))
        .filter(users::deactivated_at.is_null())
        .select((users::id, users::email, users::name))
        .order(users::id)
        .load(conn)
}

/// A confirmed person asks to join the company that owns their domain; its
/// company administrators are told by mail. Asking twice does nothing more.
pub fn ask_to_join(conn: &mut DbConnection, user_id: i64, ip: &str, base_url: &str) -> DomainResult<String> {
    crate::db::transaction(conn, |conn| {
        let user: User = users::table.find(user_id).select(User::as_select()).first(conn)?;
        if user.email_confirmed_at.is_none() || user.company_id.is_some() {
            return Err(DomainError::Forbidden);
        }
        let email = EmailAddress::parse(&user.email).map_err(|m| DomainError::Other(anyhow::anyhow!(m)))?;
        let Some(c) = company::find_by_domain(conn, &email.domain())? else { return Err(DomainError::NotFound) };
        if c.kind == CompanyKind::Operations.as_str() {
            return Err(DomainError::Conflict(OPERATIONS_REFUSAL.into()));
        }
        let open: i64 = membership_requests::table
            .filter(membership_requests::user_id.eq(user_id))
            .filter(membership_requests::status.ne("approved"))
            .count()
            .get_result(conn)?;
        if open > 0 {
            return Ok(c.name);
        }
        let now = crate::db::now();
        diesel::insert_into(membership_requests::table)
            .values((
                membership_requests::user_id.eq(user_id),
                membership_requests::company_id.eq(c.id),
                membership_requests::status.eq("pending"),
                membership_requests::created_at.eq(now),
            ))
            .execute(conn)?;
        security::record(
            conn,
            Record {
                user_id: Some(user_id),
                company_id: Some(c.id),
                actor_user_id: Some(user_id),
                kind: "membership_requested",
                detail: &c.name,
                ip,
            },
        )?;
        let url = format!("{base_url}/company");
        for (_, to, name) in admins_of(conn, c.id)? {
            mail::enqueue(
                conn,
                &Email::notice(
                    &to,
                    format!("{} asks to join {}", user.name, c.name),
                    "membership_requested",
                    &[
                        format!("Hello {name},"),
                        format!("{} ({}) confirmed their address and asks to join {}.", user.name, user.email, c.name),
                        "As a company administrator you approve or deny the request on the company page. Until then they see nothing of the company.".into(),
                    ],
                    Some(("Review the request", &url)),
                ),
            )?;
        }
        Ok(c.name)
    })
}

/// A company administrator approves or denies a request; the person is told.
pub fn decide_request(
    conn: &mut DbConnection,
    permit: &Permit<AdministerMembers>,
    actor: &Actor,
    request_id: i64,
    approve: bool,
    ip: &str,
    base_url: &str,
) -> DomainResult<()> {
    let _ = permit;
    crate::db::transaction(conn, |conn| {
        let row: Option<(i64, String)> = membership_requests::table
            .filter(membership_requests::id.eq(request_id))
            .filter(membership_requests::company_id.eq(actor.company_id.0))
            .select((membership_requests::user_id, membership_requests::status))
            .first(conn)
            .optional()?;
        let Some((user_id, status)) = row else { return Err(DomainError::NotFound) };
        if status != "pending" {
            return Err(DomainError::Conflict(format!("This request was {status} already.")));
        }
        let user: User = users::table.find(user_id).select(User::as_select()).first(conn)?;
        let now = crate::db::now();
        let new_status = if approve { "approved" } else { "denied" };
        diesel::update(membership_requests::table.find(request_id))
            .set((
                membership_requests::status.eq(new_status),
                membership_requests::decided_at.eq(Some(now)),
                membership_requests::decided_by.eq(Some(actor.user_id.0)),
            ))
            .execute(conn)?;
        if approve {
            if user.company_id.is_some() {
                return Err(DomainError::Conflict(format!("{} belongs to a company already.", user.name)));
            }
            join(conn, &user, actor.company_id.0, false)?;
        }
        let kind = if approve { "membership_approved" } else { "membership_denied" };
        record_by_admin(conn, actor, &user, kind, ip)?;
        let (subject, text) = if approve {
            (
                format!("You are a member of {}", actor.company_name),
                format!("{} approved your request: you are now a member of {}.", actor.name, actor.company_name),
            )
        } else {
            (
                format!("Your request to join {}", actor.company_name),
                format!(
                    "{} did not approve your request to join {}. If you think this is a mistake, contact them directly.",
                    actor.name, actor.company_name
                ),
            )
        };
        let url = format!("{base_url}/");
        mail::enqueue(
            conn,
            &Email::notice(
                &user.email,
                subject,
                kind,
                &[format!("Hello {},", user.name), text],
                approve.then_some(("Open the portal", url.as_str())),
            ),
        )?;
        Ok(())
    })
}

/// What a company administrator types to invite someone.
#[derive(Debug, Clone, Default)]
pub struct InvitationInput {
    pub email: String,
    /// A smart account of the company and an SA role in it, both optional.
    pub smart_account_id: String,
    pub role: String,
}

/// Smart accounts in which the administrator may grant a role with an invitation.
pub fn grantable_accounts(conn: &mut DbConnection, actor: &Actor) -> QueryResult<Vec<(i64, String)>> {
    account_roles::table
        .inner_join(smart_accounts::table)
        .filter(account_roles::user_id.eq(actor.user_id.0))
        .filter(account_roles::role.eq(Role::SaAdministrator.as_str()))
        .filter(smart_accounts::owner_company_id.eq(actor.company_id.0))
        .select((smart_accounts::id, smart_accounts::name))
        .order(smart_accounts::name)
        .load(conn)
}

pub const INVITABLE_ROLES: [Role; 3] = [Role::SaAdministrator, Role::SaUser, Role::SaApprover];

/// Invites a person by email: a single-use link valid for 7 days that
/// confirms the address and joins the company at once.
pub fn invite(
    conn: &mut DbConnection,
    permit: &Permit<AdministerMembers>,
    actor: &Actor,
    input: &InvitationInput,
    ip: &str,
    base_url: &str,
) -> DomainResult<()> {
    let _ = permit;
    let mut errors = FieldErrors::new();
    let email = errors.check("email", EmailAddress::parse(&input.email));
    let account: Option<i64> = match input.smart_account_id.trim() {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.add("smart_account_id", "Choose one of the listed smart accounts.");
                None
            }
        },
    };
    let role = match (account, input.role.trim()) {
        (None, _) => None,
        (Some(_), r) => match Role::parse(r).filter(|r| INVITABLE_ROLES.contains(r)) {
            Some(r) => Some(r),
            None => {
                errors.add("role", "Choose the role to grant in that account.");
                None
            }
        },
    };
    let Some(email) = email else { return Err(errors.into()) };
    if !errors.is_empty() {
        return Err(errors.into());
    }
    crate::db::transaction(conn, |conn| {
        if let Some(id) = account {
            if !grantable_accounts(conn, actor)?.iter().any(|(a, _)| *a == id) {
                return Err(FieldErrors::single("smart_account_id", "Choose one of the listed smart accounts.").into());
            }
        }
        let existing: Option<(Option<i64>, Option<NaiveDateTime>)> = users::table
            .filter(users::email.eq(email.as_str()))
            .select((users::company_id, users::deactivated_at))
            .first(conn)
            .optional()?;
        if let Some((Some(company), _)) = existing {
            let msg = if company == actor.company_id.0 {
                format!("{email} is a member of {} already.", actor.company_name)
            } else {
                format!("{email} is a member of another company.")
            };
            return Err(FieldErrors::single("email", msg).into());
        }
        let now = crate::db::now();
        diesel::update(
            invitations::table
                .filter(invitations::company_id.eq(actor.company_id.0))
                .filter(invitations::email.eq(email.as_str()))
                .filter(invitations::accepted_at.is_null())
                .filter(invitations::withdrawn_at.is_null()),
        )
        .set(invitations::withdrawn_at.eq(Some(now)))
        .execute(conn)?;
        let (token, hash) = links::new_token();
        diesel::insert_into(invitations::table)
            .values((
                invitations::company_id.eq(actor.company_id.0),
                invitations::email.eq(email.as_str()),
                invitations::invited_by.eq(actor.user_id.0),
                invitations::token_hash.eq(&hash),
                invitations::smart_account_id.eq(account),
                invitations::role.eq(role.map(|r| r.as_str())),
                invitations::created_at.eq(now),
                invitations::expires_at.eq(now + Duration::days(INVITATION_DAYS)),
            ))
            .execute(conn)?;
        security::record(
            conn,
            Record {
                user_id: None,
                company_id: Some(actor.company_id.0),
                actor_user_id: Some(actor.user_id.0),
                kind: "invited",
                detail: email.as_str(),
                ip,
            },
        )?;
        send_invitation(conn, actor, email.as_str(), &token, base_url)?;
        Ok(())
    })
}

fn send_invitation(conn: &mut DbConnection, actor: &Actor, to: &str, token: &str, base_url: &str) -> QueryResult<()> {
    let url = format!("{base_url}/invitations/{token}");
    mail::enqueue(
        conn,
        &Email::notice(
            to,
            format!("{} invites you to {} on the Smart Account Portal", actor.name, actor.company_name),
            "invitation",
            &[
                "Hello,".into(),
                format!("{} invites you to join {} on the Smart Account Portal.", actor.name, actor.company_name),
                format!("Follow the link to accept. It works once and expires in {INVITATION_DAYS} days."),
            ],
            Some(("Accept the invitation", &url)),
        ),
    )?;
    Ok(())
}

fn own_invitation(
    conn: &mut DbConnection,
    actor: &Actor,
    invitation_id: i64,
) -> DomainResult<(String, Option<NaiveDateTime>, Option<NaiveDateTime>)> {
    invitations::table
        .filter(invitations::id.eq(invitation_id))
        .filter(invitations::company_id.eq(actor.company_id.0))
        .select((invitations::email, invitations::accepted_at, invitations::withdrawn_at))
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound)
}

/// Sends a pending invitation again with a new link and a new 7 days.
pub fn resend_invitation(
    conn: &mut DbConnection,
    permit: &Permit<AdministerMembers>,
    actor: &Actor,
    invitation_id: i64,
    base_url: &str,
) -> DomainResult<()> {
    let _ = permit;
    crate::db::transaction(conn, |conn| {
        let (email, accepted, withdrawn) = own_invitation(conn, actor, invitation_id)?;
        if accepted.is_some() || withdrawn.is_some() {
            return Err(DomainError::Conflict("This invitation is no longer open.".into()));
        }
        let (token, hash) = links::new_token();
        let now = crate::db::now();
        diesel::update(invitations::table.find(invitation_id))
            .set((invitations::token_hash.eq(&hash), invitations::expires_at.eq(now + Duration::days(INVITATION_DAYS))))
            .execute(conn)?;
        send_invitation(conn, actor, &email, &token, base_url)?;
        Ok(())
    })
}

pub fn withdraw_invitation(
    conn: &mut DbConnection,
    permit: &Permit<AdministerMembers>,
    actor: &Actor,
    invitation_id: i64,
    ip: &str,
) -> DomainResult<()> {
    let _ = permit;
    crate::db::transaction(conn, |conn| {
        let (email, accepted, withdrawn) = own_invitation(conn, actor, invitation_id)?;
        if accepted.is_some() {
            return Err(DomainError::Conflict("This invitation was accepted already.".into()));
        }
        if withdrawn.is_none() {
            diesel::update(invitations::table.find(invitation_id))
                .set(invitations::withdrawn_at.eq(Some(crate::db::now())))
                .execute(conn)?;
            security::record(
                conn,
                Record {
                    user_id: None,
                    company_id: Some(actor.company_id.0),
                    actor_user_id: Some(actor.user_id.0),
                    kind: "invitation_withdrawn",
                    detail: &email,
                    ip,
                },
            )?;
        }
        Ok(())
    })
}

/// An invitation as its link shows it.
#[derive(Debug, Clone)]
pub struct InvitationView {
    pub email: String,
    pub company: String,
    pub invited_by: String,
    /// Someone has this address already (they sign in to accept).
    pub existing_user: bool,
}

/// An open invitation: its id, company, address, inviter, and the account and role it names.
type OpenInvitation = (i64, i64, String, i64, Option<i64>, Option<String>);

fn open_invitation(conn: &mut DbConnection, token: &str) -> DomainResult<Result<OpenInvitation, LinkProblem>> {
    type Row = (i64, i64, String, i64, Option<i64>, Option<String>, NaiveDateTime, Option<NaiveDateTime>, Option<NaiveDateTime>);
    let row: Option<Row> = invitations::table
        .filter(invitations::token_hash.eq(links::hash_token(token)))
        .select((
            invitations::id,
            invitations::company_id,
            invitations::email,
            invitations::invited_by,
            invitations::smart_account_id,
            invitations::role,
            invitations::expires_at,
            invitations::accepted_at,
            invitations::withdrawn_at,
        ))
        .first(conn)
        .optional()?;
    let Some((id, company_id, email, by, account, role, expires, accepted, withdrawn)) = row else {
        return Ok(Err(LinkProblem::Unknown));
    };
    if withdrawn.is_some() {
        return Ok(Err(LinkProblem::Unknown));
    }
    if let Err(p) = links::judge(expires, accepted, crate::db::now()) {
        return Ok(Err(p));
    }
    Ok(Ok((id, company_id, email, by, account, role)))
}

pub fn view_invitation(conn: &mut DbConnection, token: &str) -> DomainResult<Result<InvitationView, LinkProblem>> {
    let (_, company_id, email, by, _, _) = match open_invitation(conn, token)? {
        Ok(x) => x,
        Err(p) => return Ok(Err(p)),
    };
    let company: String = companies::table.find(company_id).select(companies::name).first(conn)?;
    let invited_by: String = users::table.find(by).select(users::name).first(conn)?;
    let existing: i64 = users::table.filter(users::email.eq(&email)).count().get_result(conn)?;
    Ok(Ok(InvitationView { email, company, invited_by, existing_user: existing > 0 }))
}

/// Accepting an invitation: a new person gives a name and a password; a
/// person who has this address already (signed in as them) just accepts.
#[derive(Debug, Clone, Default)]
pub struct AcceptInput {
    pub name: String,
    pub password: String,
}

/// An invitation being accepted: read, with the new person's name and
/// password checked. A new person's password is hashed by `hash`, with no
/// connection held, before `accept_invitation` writes.
pub struct Accepting {
    invitation: OpenInvitation,
    existing: Option<User>,
    new_person: Option<(PersonName, NewPassword)>,
}

/// An invitation ready to be accepted: a new person's password hashed.
pub struct Hashed {
    invitation: OpenInvitation,
    existing: Option<User>,
    new_person: Option<(PersonName, String)>,
}

/// Reads an invitation and checks what the person gave to accept it.
pub fn begin_invitation(conn: &mut DbConnection, token: &str, input: &AcceptInput) -> DomainResult<Result<Accepting, LinkProblem>> {
    let invitation = match open_invitation(conn, token)? {
        Ok(x) => x,
        Err(p) => return Ok(Err(p)),
    };
    let existing: Option<User> = users::table.filter(users::email.eq(&invitation.2)).select(User::as_select()).first(conn).optional()?;
    let new_person = match &existing {
        Some(_) => None,
        None => {
            let mut errors = FieldErrors::new();
            let name = errors.check("name", PersonName::parse(&input.name));
            let password = errors.check("password", passwords::parse_new(&input.password, &[&invitation.2, &input.name]));
            let (Some(name), Some(password)) = (name, password) else { return Err(errors.into()) };
            Some((name, password))
        }
    };
    Ok(Ok(Accepting { invitation, existing, new_person }))
}

impl Accepting {
    /// A new person's password hashed (nothing to do for someone who has an account).
    pub fn hash(self) -> DomainResult<Hashed> {
        let new_person = match self.new_person {
            Some((name, password)) => Some((name, credentials::hash_password(&password)?)),
            None => None,
        };
        Ok(Hashed { invitation: self.invitation, existing: self.existing, new_person })
    }
}

/// Follows an invitation: the address is confirmed by the link, the person
/// joins at once, and the role named in it is granted. Returns the user.
pub fn accept_invitation(
    conn: &mut DbConnection,
    accepting: Hashed,
    signed_in_as: Option<i64>,
    ip: &str,
    base_url: &str,
) -> DomainResult<Result<User, LinkProblem>> {
    let Hashed { invitation: (id, company_id, email, by, account, role), existing, new_person: hash } = accepting;
    crate::db::transaction(conn, |conn| {
        let now = crate::db::now();
        let taken = diesel::update(invitations::table.find(id).filter(invitations::accepted_at.is_null()))
            .set(invitations::accepted_at.eq(Some(now)))
            .execute(conn)?;
        if taken != 1 {
            return Ok(Err(LinkProblem::Used));
        }
        let user = match (&existing, &hash) {
            (Some(u), _) => {
                if signed_in_as != Some(u.id) {
                    return Err(DomainError::Forbidden);
                }
                if u.company_id.is_some() {
                    return Err(DomainError::Conflict("You are a member of a company already.".into()));
                }
                diesel::update(users::table.find(u.id))
                    .set(users::email_confirmed_at.eq(Some(u.email_confirmed_at.unwrap_or(now))))
                    .execute(conn)?;
                users::table.find(u.id).select(User::as_select()).first(conn)?
            }
            (None, Some((name, hash))) => {
                let email = EmailAddress::parse(&email).map_err(|m| DomainError::Other(anyhow::anyhow!(m)))?;
                insert_user(conn, None, &email, name, hash, Some(now), false, None)?
            }
            (None, None) => unreachable!("a new person always has a password here"),
        };
        join(conn, &user, company_id, false)?;
        security::record(
            conn,
            Record {
                user_id: Some(user.id),
                company_id: Some(company_id),
                actor_user_id: Some(user.id),
                kind: "invitation_accepted",
                detail: &user.email,
                ip,
            },
        )?;
        if let (Some(account_id), Some(role)) = (account, role) {
            // The inviter grants the role now, with their rights as they stand now.
            if let Some(inviter) = Actor::load(conn, by)? {
                let input = crate::domain::accounts::administration::RoleInput {
                    email: user.email.clone(),
                    role,
                    virtual_accounts: vec![],
                    acknowledged: false,
                };
                match crate::domain::accounts::administration::add_user(conn, &inviter, account_id, &input, false, base_url) {
                    Ok(()) | Err(DomainError::Invalid(_)) | Err(DomainError::Forbidden) | Err(DomainError::NotFound) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let user: User = users::table.find(user.id).select(User::as_select()).first(conn)?;
        Ok(Ok(user))
    })
}

/// Members, requests, invitations and events: the company page.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub last_sign_in_at: Option<NaiveDateTime>,
    pub is_company_admin: bool,
    pub deactivated: bool,
    pub two_step: bool,
}

#[derive(Debug, Clone)]
pub struct PendingRequest {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub since: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: i64,
    pub email: String,
    pub invited_by: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub state: &'static str,
    pub open: bool,
}

#[derive(Debug, Clone)]
pub struct CompanyOverview {
    pub members: Vec<Member>,
    /// Filled for company administrators only.
    pub requests: Vec<PendingRequest>,
    pub invitations: Vec<Invitation>,
    pub events: Vec<SecurityEvent>,
    pub grantable_accounts: Vec<(i64, String)>,
}

pub fn overview(conn: &mut DbConnection, actor: &Actor) -> DomainResult<CompanyOverview> {
    let rows: Vec<(i64, String, String, Option<NaiveDateTime>, bool, Option<NaiveDateTime>, Option<NaiveDateTime>)> = users::table
        .filter(users::company_id.eq(actor.company_id.0))
        .order((users::deactivated_at.is_not_null(), users::name, users::id))
        .select((
            users::id,
            users::name,
            users::email,
            users::last_sign_in_at,
            users::is_company_admin,
            users::deactivated_at,
            users::totp_enabled_at,
        ))
        .load(conn)?;
    let admin = policy::may_administer_members(actor).is_ok();
    let members = rows
        .into_iter()
        .filter(|r| admin || r.5.is_none())
        .map(|(id, name, email, last_sign_in_at, is_company_admin, deactivated, totp)| Member {
            id,
            name,
            email,
            last_sign_in_at,
            is_company_admin,
            deactivated: deactivated.is_some(),
            two_step: totp.is_some(),
        })
        .collect();
    if !admin {
        return Ok(CompanyOverview { members, requests: vec![], invitations: vec![], events: vec![], grantable_accounts: vec![] });
    }
    let requests = membership_requests::table
        .inner_join(users::table.on(users::id.eq(membership_requests::user_id)))
        .filter(membership_requests::company_id.eq(actor.company_id.0))
        .filter(membership_requests::status.eq("pending"))
        .order(membership_requests::id)
        .select((membership_requests::id, users::name, users::email, membership_requests::created_at))
        .load::<(i64, String, String, NaiveDateTime)>(conn)?
        .into_iter()
        .map(|(id, name, email, since)| PendingRequest { id, name, email, since })
        .collect();
    let now = crate::db::now();
    let invitations = invitations::table
        .inner_join(users::table.on(users::id.eq(invitations::invited_by)))
        .filter(invitations::company_id.eq(actor.company_id.0))
        .order(invitations::id.desc())
        .limit(50)
        .select((
            invitations::id,
            invitations::email,
            users::name,
            invitations::created_at,
            invitations::expires_at,
            invitations::accepted_at,
            invitations::withdrawn_at,
        ))
        .load::<(i64, String, String, NaiveDateTime, NaiveDateTime, Option<NaiveDateTime>, Option<NaiveDateTime>)>(conn)?
        .into_iter()
        .map(|(id, email, invited_by, created_at, expires_at, accepted, withdrawn)| {
            let state = if accepted.is_some() {
                "accepted"
            } else if withdrawn.is_some() {
                "withdrawn"
            } else if expires_at <= now {
                "expired"
            } else {
                "pending"
            };
            Invitation { id, email, invited_by, created_at, expires_at, state, open: state == "pending" || state == "expired" }
        })
        .collect();
    let events = security::for_company(conn, actor.company_id.0, 50)?;
    let grantable_accounts = grantable_accounts(conn, actor)?;
    Ok(CompanyOverview { members, requests, invitations, events, grantable_accounts })
}

fn member_of(conn: &mut DbConnection, actor: &Actor, user_id: i64) -> DomainResult<User> {
    users::table
        .filter(users::id.eq(user_id))
        .filter(users::company_id.eq(actor.company_id.0))
        .select(User::as_select())
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound)
}

fn active_admins(conn: &mut DbConnection, company_id: i64) -> QueryResult<i64> {
    users::table
        .filter(users::company_id.eq(company_id))
        .filter(users::is_company_admin.eq(true))
        .filter(users::deactivated_at.is_null())
        .count()
        .get_result(conn)
}

pub const LAST_ADMIN: &str = "A company keeps at least one active company administrator: make someone else one first.";

/// Deactivates a member: every session ends at once; they cannot sign in.
pub fn deactivate(conn: &mut DbConnection, permit: &Permit<AdministerMembers>, actor: &Actor, user_id: i64, ip: &str) -> DomainResult<()> {
    let _ = permit;
    crate::db::transaction(conn, |conn| {
        let user = member_of(conn, actor, user_id)?;
        if user.deactivated_at.is_some() {
            return Ok(());
        }
        if user.is_company_admin && active_admins(conn, actor.company_id.0)? <= 1 {
            return Err(DomainError::Conflict(LAST_ADMIN.into()));
        }
        diesel::update(users::table.find(user_id)).set(users::deactivated_at.eq(Some(crate::db::now()))).execute(conn)?;
        sessions::end_all(conn, user_id, None)?;
        record_by_admin(conn, actor, &user, "deactivated", ip)?;
        Ok(())
    })
}

/// A company administrator's decision about a person, in the security events.
fn record_by_admin(conn: &mut DbConnection, actor: &Actor, user: &User, kind: &str, ip: &str) -> QueryResult<()> {
    let detail = format!("{} by {}", user.email, actor.name);
    security::record(
        conn,
        Record {
            user_id: Some(user.id),
            company_id: Some(actor.company_id.0),
            actor_user_id: Some(actor.user_id.0),
            kind,
            detail: &detail,
            ip,
        },
    )
}

/// Grants or removes the company administrator flag; never the last one.
pub fn set_company_admin(
    conn: &mut DbConnection,
    permit: &Permit<AdministerMembers>,
    actor: &Actor,
    user_id: i64,
    admin: bool,
    ip: &str,
) -> DomainResult<()> {
    let _ = permit;
    crate::db::transaction(conn, |conn| {
        let user = member_of(conn, actor, user_id)?;
        if user.is_company_admin == admin {
            return Ok(());
        }
        if admin && user.deactivated_at.is_some() {
            return Err(DomainError::Conflict(format!("{} is deactivated.", user.name)));
        }
        if !admin && user.deactivated_at.is_none() && active_admins(conn, actor.company_id.0)? <= 1 {
            return Err(DomainError::Conflict(LAST_ADMIN.into()));
        }
        diesel::update(users::table.find(user_id)).set(users::is_company_admin.eq(admin)).execute(conn)?;
        let kind = if admin { "company_admin_granted" } else { "company_admin_removed" };
        record_by_admin(conn, actor, &user, kind, ip)?;
        Ok(())
    })
}

/// The company a user belongs to, for pages that name it.
pub fn company_name(conn: &mut DbConnection, company_id: i64) -> QueryResult<Company> {
    companies::table.find(company_id).select(Company::as_select()).first(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confirmed_address_joins_nothing_by_itself_where_someone_can_decide() {
        assert_eq!(on_confirmation(None), OnConfirmation::CreateCompany);
        for kind in [CompanyKind::Customer, CompanyKind::Reseller, CompanyKind::Distributor, CompanyKind::ServiceProvider] {
            assert_eq!(on_confirmation(Some((Some(kind), 3))), OnConfirmation::MayAsk, "{kind:?}");
            assert_eq!(on_confirmation(Some((Some(kind), 0))), OnConfirmation::FirstAdministrator, "{kind:?}");
        }
        assert_eq!(on_confirmation(Some((Some(CompanyKind::Operations), 0))), OnConfirmation::Nothing, "never operations");
        assert_eq!(on_confirmation(Some((Some(CompanyKind::Operations), 5))), OnConfirmation::Nothing);
    }
}
