//! Requesting a smart account and completing its set-up: the request form's
//! rules, the temporary (pending) account, the single-use "Complete Smart
//! Account Setup" link, activation, and operations' review of edited domains.

use base64::Engine;
use chrono::Duration;
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::db::models::account::{NewAccountRole, NewSmartAccount, NewVirtualAccount, SetupLinkRow, SmartAccountRow};
use crate::db::schema::{account_nominations, account_roles, setup_links, smart_accounts, users, virtual_accounts};
use crate::db::DbConnection;
use crate::domain::accounts::{events, load_row, DomainResult};
use crate::domain::error::FieldErrors;
use crate::domain::policy::{self, AdministerCompanies, Permit};
use crate::domain::roles::{AccountKind, AccountStatus, Role};
use crate::domain::values::{CompanyName, DomainIdentifier, EmailAddress};
use crate::domain::{Actor, DomainError};
use crate::mail::{self, Email};

/// How long a "Complete Smart Account Setup" link works.
pub const SETUP_LINK_DAYS: i64 = 14;
pub const DEFAULT_VIRTUAL_ACCOUNT: &str = "DEFAULT";

/// The request form as typed, across all its steps.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct AccountRequestInput {
    #[serde(default)]
    pub kind: String,
    /// "yes": the requester can represent the company and activates; "no": notify `approver_email`.
    #[serde(default)]
    pub authority: String,
    #[serde(default)]
    pub approver_email: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub domain: String,
    #[serde(default)]
    pub duplicate_reason: String,
    #[serde(default)]
    pub company_name: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub state_province: String,
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub administrators: String,
    #[serde(default)]
    pub access_for_myself: Option<String>,
    /// Requested from an order's assignment search: the order, and what to assign.
    #[serde(default)]
    pub order_id: String,
    #[serde(default)]
    pub order_target: String,
    #[serde(default)]
    pub order_lines: String,
}

/// The steps of the request form, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Authority = 1,
    Account = 2,
    Company = 3,
    Administrators = 4,
    Review = 5,
}

impl Step {
    pub fn from_number(n: u8) -> Step {
        match n {
            2 => Step::Account,
            3 => Step::Company,
            4 => Step::Administrators,
            0 | 1 => Step::Authority,
            _ => Step::Review,
        }
    }
    pub fn number(self) -> u8 {
        self as u8
    }
    pub fn next(self) -> Step {
        Step::from_number(self.number() + 1)
    }
    pub fn previous(self) -> Step {
        Step::from_number(self.number().saturating_sub(1).max(1))
    }
}

/// ISO 3166 countries: (alpha-2 code, name), sorted by name.
pub fn countries() -> Vec<(&'static str, &'static str)> {
    let mut all: Vec<(&str, &str)> = celes::Country::get_countries().iter().map(|c| (c.alpha2, c.long_name)).collect();
    all.sort_by_key(|(_, n)| *n);
    all
}

fn country_name(code: &str) -> Option<&'static str> {
    celes::Country::get_countries().iter().find(|c| c.alpha2.eq_ignore_ascii_case(code)).map(|c| c.long_name)
}

impl AccountRequestInput {
    pub fn kind(&self) -> Option<AccountKind> {
        AccountKind::parse(&self.kind)
    }
    pub fn requester_activates(&self) -> bool {
        self.authority != "no"
    }
    pub fn wants_access_for_myself(&self) -> bool {
        self.access_for_myself.is_some()
    }
    /// The email whose domain gives the default domain identifier: the
    /// requester's, or the approver's when someone else authorizes.
    pub fn default_domain(&self, actor: &Actor) -> Option<DomainIdentifier> {
        if self.requester_activates() {
            EmailAddress::parse(&actor.email).ok().map(|e| e.domain())
        } else {
            EmailAddress::parse(&self.approver_email).ok().map(|e| e.domain())
        }
    }
    pub fn domain_edited(&self, actor: &Actor) -> bool {
        match (self.default_domain(actor), DomainIdentifier::parse(&self.domain)) {
            (Some(d), Ok(typed)) => d != typed,
            _ => false,
        }
    }
    /// A partner asking for a customer account for its own use ("partner also
    /// consumer"): a customer account the requester's own company will hold.
    pub fn is_own_customer_account(&self, actor: &Actor) -> bool {
        actor.company_kind.is_partner() && self.kind() == Some(AccountKind::Customer) && self.requester_activates()
    }
    pub fn country_name(&self) -> Option<&'static str> {
        country_name(&self.country)
    }
    pub fn administrator_emails(&self) -> Vec<String> {
        self.administrators.split([',', ';', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(|s| s.to_lowercase()).collect()
    }
}

/// Checks the fields of one step (and, for review, of all).
pub fn check_step(actor: &Actor, input: &AccountRequestInput, step: Step) -> FieldErrors {
    let mut e = FieldErrors::new();
    if step == Step::Authority || step == Step::Review {
        match input.kind() {
            None => e.add("kind", "Choose a customer or a holding account."),
            Some(kind) if !policy::may_request_account(actor, kind) => {
                e.add("kind", "Only distributors, resellers and service providers have holding accounts.")
            }
            _ => {}
        }
        match input.authority.as_str() {
            "yes" => {}
            "no" => match EmailAddress::parse(&input.approver_email) {
                Err(m) => e.add("approver_email", m),
                Ok(approver) => {
                    let own = EmailAddress::parse(&actor.email).map(|a| a.domain()).ok();
                    let for_customer = input.kind() == Some(AccountKind::Customer) && actor.company_kind.is_partner();
                    if approver.as_str() == actor.email {
                        e.add("approver_email", "That is you: choose \"Yes, I can represent my company\" instead.");
                    } else if !for_customer && Some(approver.domain()) != own {
                        e.add(
                            "approver_email",
                            "The person who authorizes must work for your company (an email at your company's domain).",
                        );
                    }
                }
            },
            _ => e.add("authority", "Say whether you can represent the company."),
        }
    }
    if step == Step::Account || step == Step::Review {
        if let Err(m) = CompanyName::parse(&input.name) {
            e.add("name", m.replace("company name", "account name"));
        }
        if let Err(m) = DomainIdentifier::parse(&input.domain) {
            e.add("domain", m);
        }
    }
    if step == Step::Company || step == Step::Review {
        let any = [&input.company_name, &input.address, &input.state_province, &input.postal_code, &input.country]
            .iter()
            .any(|f| !f.trim().is_empty());
        if any {
            if let Err(m) = CompanyName::parse(&input.company_name) {
                e.add("company_name", m);
            }
            if input.country_name().is_none() {
                e.add("country", "Choose a country from the list.");
            }
            for (field, value, label) in [
                ("address", &input.address, "The address"),
                ("state_province", &input.state_province, "The state or province"),
                ("postal_code", &input.postal_code, "The postal code"),
            ] {
                if value.trim().is_empty() {
                    e.add(field, format!("{label} is needed with company information; write NA where it does not apply."));
                } else if value.chars().count() > 200 {
                    e.add(field, format!("{label} has at most 200 characters."));
                }
            }
        }
    }
    if step == Step::Administrators || step == Step::Review {
        let emails = input.administrator_emails();
        if emails.len() > 20 {
            e.add("administrators", "Nominate at most 20 administrators.");
        }
        for email in emails {
            if EmailAddress::parse(&email).is_err() {
                e.add("administrators", format!("\"{email}\" is not a valid email address."));
                break;
            }
        }
    }
    e
}

/// An existing account that looks like the one being requested.
#[derive(Debug, Clone)]
pub struct SimilarAccount {
    pub id: i64,
    pub name: String,
    pub domain: String,
    pub kind: AccountKind,
    pub status: AccountStatus,
    /// Same identifier: a second one cannot be made.
    pub same_domain: bool,
    pub owner_company_id: Option<i64>,
}

impl SimilarAccount {
    /// One of the company's own accounts (a partner's holding account, say).
    pub fn owned_by(&self, company: &i64) -> bool {
        self.owner_company_id == Some(*company)
    }
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Accounts with the same domain (or one under the same company domain), or a
/// name that starts like the typed one. Rejected requests are left out.
pub fn similar_accounts(conn: &mut DbConnection, name: &str, domain: &str) -> DomainResult<Vec<SimilarAccount>> {
    // A hint while typing: text that cannot be a name or domain matches nothing
    // (the form's own check says why beside the field).
    if crate::domain::values::has_control(name) || crate::domain::values::has_control(domain) {
        return Ok(Vec::new());
    }
    let domain = domain.trim().to_lowercase();
    let base = base_domain(&domain);
    let name_prefix: String = name.trim().to_lowercase().chars().take(6).collect();
    let mut found: Vec<SmartAccountRow> = Vec::new();
    if !base.is_empty() {
        let rows: Vec<SmartAccountRow> = smart_accounts::table
            .filter(smart_accounts::status.ne(AccountStatus::Rejected.as_str()))
            .filter(smart_accounts::domain.eq(&base).or(smart_accounts::domain.like(format!("%.{}", escape_like(&base))).escape('\\')))
            .select(SmartAccountRow::as_select())
            .limit(10)
            .load(conn)?;
        found.extend(rows);
    }
    if name_prefix.chars().count() >= 3 {
        let rows: Vec<SmartAccountRow> = smart_accounts::table
            .filter(smart_accounts::status.ne(AccountStatus::Rejected.as_str()))
            .filter(smart_accounts::name_key.ge(name_prefix.clone()))
            .filter(smart_accounts::name_key.lt(format!("{name_prefix}\u{10FFFF}")))
            .select(SmartAccountRow::as_select())
            .limit(10)
            .load(conn)?;
        for r in rows {
            if !found.iter().any(|f| f.id == r.id) {
                found.push(r);
            }
        }
    }
    Ok(found
        .into_iter()
        .map(|r| SimilarAccount {
            same_domain: r.domain == domain,
            owner_company_id: r.owner_company_id,
            id: r.id,
            name: r.name,
            domain: r.domain,
            kind: AccountKind::parse(&r.kind).unwrap_or(AccountKind::Customer),
            status: AccountStatus::parse(&r.status).unwrap_or(AccountStatus::Pending),
        })
        .collect())
}

/// The prefix of a partner's own customer account's domain identifier, when
/// its company domain names its holding account already: `it.contoso.example`.
pub const OWN_ACCOUNT_PREFIX: &str = "it";

/// The reason recorded for a partner's own customer account beside the company's other accounts.
pub const OWN_ACCOUNT_REASON: &str = "The partner's own customer account, for the products it buys for its own use.";

/// What a partner needs to know before asking for its own customer account:
/// its company domain is taken by one of its accounts, so the customer
/// account takes a prefixed identifier, which operations review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnAccountHint {
    /// The company's email domain (`contoso.example`).
    pub own_domain: String,
    /// The account that has that identifier (`Contoso Holding`).
    pub taken_by: String,
    /// The identifier suggested instead (`it.contoso.example`).
    pub suggested: String,
}

/// The identifier suggested for a partner's own customer account: its company domain with a prefix.
pub fn own_customer_domain(actor: &Actor) -> Option<DomainIdentifier> {
    if !actor.company_kind.is_partner() {
        return None;
    }
    DomainIdentifier::parse(&format!("{OWN_ACCOUNT_PREFIX}.{}", own_domain(actor)?)).ok()
}

/// For a partner whose company domain is some account's identifier already:
/// what its own customer account should use instead. `None` for others.
pub fn own_account_hint(conn: &mut DbConnection, actor: &Actor) -> DomainResult<Option<OwnAccountHint>> {
    let (Some(suggested), Some(own)) = (own_customer_domain(actor), own_domain(actor)) else { return Ok(None) };
    let taken_by: Option<String> = smart_accounts::table
        .filter(smart_accounts::domain.eq(own.as_str()))
        .filter(smart_accounts::status.ne(AccountStatus::Rejected.as_str()))
        .select(smart_accounts::name)
        .first(conn)
        .optional()?;
    Ok(taken_by.map(|taken_by| OwnAccountHint { own_domain: own.to_string(), taken_by, suggested: suggested.to_string() }))
}

fn own_domain(actor: &Actor) -> Option<DomainIdentifier> {
    EmailAddress::parse(&actor.email).ok().map(|e| e.domain())
}

/// Whether `domain` is a prefixed identifier under the partner's own company domain.
fn under_own_domain(actor: &Actor, domain: &DomainIdentifier) -> bool {
    own_domain(actor).is_some_and(|own| domain.as_str().ends_with(&format!(".{own}")))
}

/// No second account by accident: the same domain identifier is refused; an
/// account under the same company domain needs a stated reason, except a
/// partner's own customer account under its own company domain (it goes to
/// operations' review as any edited identifier does).
pub fn duplicate_errors(conn: &mut DbConnection, actor: &Actor, input: &AccountRequestInput) -> DomainResult<FieldErrors> {
    let mut e = FieldErrors::new();
    let Ok(domain) = DomainIdentifier::parse(&input.domain) else { return Ok(e) };
    let similar = similar_accounts(conn, &input.name, domain.as_str())?;
    let own_customer = input.is_own_customer_account(actor);
    if let Some(taken) = similar.iter().find(|s| s.same_domain) {
        match own_customer_domain(actor) {
            Some(suggested) if own_customer && own_domain(actor).as_ref() == Some(&domain) => e.add(
                "domain",
                format!(
                    "{domain} is the identifier of your company's {} account {}. Your own customer account takes a prefixed \
                     identifier, such as {suggested}; operations review it before the account can be activated.",
                    taken.kind.as_str(),
                    taken.name
                ),
            ),
            _ => e.add("domain", format!("An account with the domain identifier {domain} exists already: request access to it instead.")),
        }
    } else if own_customer && under_own_domain(actor, &domain) {
        // The company's own accounts under its domain: no reason to give.
    } else if similar.iter().any(|s| base_domain(&s.domain) == base_domain(domain.as_str())) && input.duplicate_reason.trim().is_empty() {
        e.add(
            "duplicate_reason",
            "An account for this company's domain exists already. Request access to it, or say why a second account is needed.",
        );
    }
    Ok(e)
}

/// `emea.acme.com` → `acme.com`: the company part of a domain identifier.
pub fn base_domain(domain: &str) -> String {
    let labels: Vec<&str> = domain.split('.').filter(|l| !l.is_empty()).collect();
    if labels.len() <= 2 {
        labels.join(".")
    } else {
        labels[labels.len() - 2..].join(".")
    }
}

fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    (token.clone(), hash_token(&token))
}

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Makes a single-use link for `email` and queues the "Complete Smart Account Setup" mail.
fn send_setup_link(conn: &mut DbConnection, account: &SmartAccountRow, email: &str, base_url: &str) -> QueryResult<()> {
    let (token, hash) = new_token();
    let now = crate::db::now();
    diesel::insert_into(setup_links::table)
        .values((
            setup_links::smart_account_id.eq(account.id),
            setup_links::token_hash.eq(&hash),
            setup_links::email.eq(email),
            setup_links::created_at.eq(now),
            setup_links::expires_at.eq(now + Duration::days(SETUP_LINK_DAYS)),
        ))
        .execute(conn)?;
    let url = format!("{base_url}/accounts/setup/{token}");
    mail::enqueue(
        conn,
        &Email::notice(
            email,
            format!("Complete Smart Account Setup: {}", account.name),
            "account_setup",
            &[
                format!(
                    "A {} smart account \"{}\" ({}) was requested and waits for you to activate it.",
                    account.kind, account.name, account.domain
                ),
                format!(
                    "The link works once and expires in {SETUP_LINK_DAYS} days. Sign in, or register with this email address, to continue."
                ),
            ],
            Some(("Complete Smart Account Setup", &url)),
        ),
    )?;
    Ok(())
}

/// Submits a request: creates the pending (temporary) account with its
/// default virtual account, queues the confirmation to the requester and,
/// unless operations must review the domain, the set-up link to the authorizer.
pub fn request_account(conn: &mut DbConnection, actor: &Actor, input: &AccountRequestInput, base_url: &str) -> DomainResult<i64> {
    let errors = check_step(actor, input, Step::Review);
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let kind = input.kind().expect("checked");
    let name = CompanyName::parse(&input.name).expect("checked");
    let domain = DomainIdentifier::parse(&input.domain).expect("checked");
    let edited = input.domain_edited(actor);
    let approver = if input.requester_activates() { actor.email.clone() } else { input.approver_email.trim().to_lowercase() };
    crate::db::transaction(conn, |conn| {
        let dup = duplicate_errors(conn, actor, input)?;
        if !dup.is_empty() {
            return Err(dup.into());
        }
        let related =
            similar_accounts(conn, name.as_str(), domain.as_str())?.iter().any(|s| base_domain(&s.domain) == base_domain(domain.as_str()));
        let reason = match input.duplicate_reason.trim() {
            "" if input.is_own_customer_account(actor) && under_own_domain(actor, &domain) => OWN_ACCOUNT_REASON,
            r => r,
        };
        let company_given = !input.company_name.trim().is_empty();
        let opt = |s: &str| if company_given { Some(s.trim().to_string()) } else { None };
        let (company_name, address, state, postal) =
            (opt(&input.company_name), opt(&input.address), opt(&input.state_province), opt(&input.postal_code));
        let country = if company_given { Some(input.country.trim().to_uppercase()) } else { None };
        let status = if edited { AccountStatus::PendingDomainReview } else { AccountStatus::Pending };
        let id: i64 = diesel::insert_into(smart_accounts::table)
            .values(&NewSmartAccount {
                name: name.as_str(),
                domain: domain.as_str(),
                kind: kind.as_str(),
                status: status.as_str(),
                owner_company_id: None,
                requested_by: actor.user_id.0,
                approver_email: &approver,
                domain_edited: edited,
                duplicate_reason: if related { Some(reason) } else { None },
                company_name: company_name.as_deref(),
                country: country.as_deref(),
                address: address.as_deref(),
                state_province: state.as_deref(),
                postal_code: postal.as_deref(),
                created_at: crate::db::now(),
                version: 0,
                name_key: &name.as_str().to_lowercase(),
            })
            .returning(smart_accounts::id)
            .get_result(conn)
            .map_err(|e| match e {
                diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => DomainError::Invalid(
                    FieldErrors::single("domain", format!("An account with the domain identifier {domain} exists already.")),
                ),
                e => e.into(),
            })?;
        diesel::insert_into(virtual_accounts::table)
            .values(&NewVirtualAccount {
                smart_account_id: id,
                name: DEFAULT_VIRTUAL_ACCOUNT,
                name_key: &DEFAULT_VIRTUAL_ACCOUNT.to_lowercase(),
                description: "Default virtual account",
                is_public: true,
                is_default: true,
                created_at: crate::db::now(),
            })
            .execute(conn)?;
        let mut nominated = input.administrator_emails();
        nominated.retain(|e| *e != approver);
        nominated.dedup();
        for email in &nominated {
            nominate(conn, id, email, Role::SaAdministrator)?;
        }
        if input.wants_access_for_myself() && !input.requester_activates() {
            nominate(conn, id, &actor.email, Role::SaUser)?;
        }
        events::record(
            conn,
            id,
            None,
            Some(actor.user_id.0),
            "requested",
            &format!(
                "{} requested the {} account {} ({}); to be activated by {}",
                actor.name,
                kind.as_str(),
                name.as_str(),
                domain,
                approver
            ),
        )?;
        let row = load_row(conn, id)?;
        let account_url = format!("{base_url}/accounts/{id}");
        let mut paragraphs = vec![format!(
            "Your request for the {} smart account \"{}\" ({}) was received. The account exists now as a temporary (pending) account: orders can be assigned to it, but its licenses cannot be used until it is activated.",
            kind.as_str(),
            name.as_str(),
            domain
        )];
        if edited {
            paragraphs.push("You edited the domain identifier, so operations review it before the account can be activated. This takes longer; you will get an email when it is decided.".into());
        } else if input.requester_activates() {
            paragraphs.push("We have sent you a \"Complete Smart Account Setup\" link to activate it.".into());
        } else {
            paragraphs.push(format!("{approver} has been asked to authorize and activate it."));
        }
        mail::enqueue(
            conn,
            &Email::notice(
                &actor.email,
                format!("Smart account requested: {}", name.as_str()),
                "account_requested",
                &paragraphs,
                Some(("View the request", &account_url)),
            ),
        )?;
        if !edited {
            send_setup_link(conn, &row, &approver, base_url)?;
        }
        Ok(id)
    })
}

fn nominate(conn: &mut DbConnection, account_id: i64, email: &str, role: Role) -> QueryResult<()> {
    let exists: i64 = account_nominations::table
        .filter(account_nominations::smart_account_id.eq(account_id))
        .filter(account_nominations::email.eq(email))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        diesel::insert_into(account_nominations::table)
            .values((
                account_nominations::smart_account_id.eq(account_id),
                account_nominations::email.eq(email),
                account_nominations::role.eq(role.as_str()),
                account_nominations::created_at.eq(crate::db::now()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Creates an account that is active at once, with `administrator` as its SA
/// Administrator: set-up work (demo data, migrations of existing customers).
pub fn create_active(
    conn: &mut DbConnection,
    _permit: &Permit<AdministerCompanies>,
    administrator: &Actor,
    name: &str,
    domain: &str,
    kind: AccountKind,
) -> DomainResult<i64> {
    let name = CompanyName::parse(name).map_err(|m| FieldErrors::single("name", m))?;
    let domain = DomainIdentifier::parse(domain).map_err(|m| FieldErrors::single("domain", m))?;
    crate::db::transaction(conn, |conn| {
        let now = crate::db::now();
        let id: i64 = diesel::insert_into(smart_accounts::table)
            .values(&NewSmartAccount {
                name: name.as_str(),
                domain: domain.as_str(),
                kind: kind.as_str(),
                status: AccountStatus::Active.as_str(),
                owner_company_id: Some(administrator.company_id.0),
                requested_by: administrator.user_id.0,
                approver_email: &administrator.email,
                domain_edited: false,
                duplicate_reason: None,
                company_name: None,
                country: None,
                address: None,
                state_province: None,
                postal_code: None,
                created_at: now,
                version: 0,
                name_key: &name.as_str().to_lowercase(),
            })
            .returning(smart_accounts::id)
            .get_result(conn)?;
        diesel::update(smart_accounts::table.find(id)).set(smart_accounts::activated_at.eq(now)).execute(conn)?;
        diesel::insert_into(virtual_accounts::table)
            .values(&NewVirtualAccount {
                smart_account_id: id,
                name: DEFAULT_VIRTUAL_ACCOUNT,
                name_key: &DEFAULT_VIRTUAL_ACCOUNT.to_lowercase(),
                description: "Default virtual account",
                is_public: true,
                is_default: true,
                created_at: now,
            })
            .execute(conn)?;
        grant(conn, id, administrator.user_id.0, Role::SaAdministrator, None)?;
        events::record(
            conn,
            id,
            None,
            Some(administrator.user_id.0),
            "activated",
            &format!("Account created active with {} as SA Administrator", administrator.name),
        )?;
        Ok(id)
    })
}

/// Why a set-up link cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupLinkProblem {
    Unknown,
    Used,
    Expired,
    /// The account is no longer waiting for activation (activated or rejected).
    NotPending,
    /// Signed in as someone other than the person the link was sent to.
    WrongPerson,
}

impl SetupLinkProblem {
    pub fn message(self) -> &'static str {
        match self {
            SetupLinkProblem::Unknown => "This set-up link is not valid. Check that you copied the whole link from the email.",
            SetupLinkProblem::Used => "This set-up link has been used already. Each link works once; if the account still needs activating, ask the requester to send a new one.",
            SetupLinkProblem::Expired => "This set-up link has expired. Ask the requester to send a new one.",
            SetupLinkProblem::NotPending => "This account is no longer waiting for activation.",
            SetupLinkProblem::WrongPerson => "This link was sent to someone else. Sign in with the email address the link was sent to.",
        }
    }
}

/// A usable set-up link with its account.
#[derive(Debug, Clone)]
pub struct OpenSetup {
    pub link_id: i64,
    pub email: String,
    pub account: SmartAccountRow,
    pub requester_name: String,
    pub requester_company: String,
}

/// Checks a set-up link for the signed-in actor.
pub fn open_setup_link(conn: &mut DbConnection, actor: &Actor, token: &str) -> DomainResult<Result<OpenSetup, SetupLinkProblem>> {
    let link: Option<SetupLinkRow> = setup_links::table
        .filter(setup_links::token_hash.eq(hash_token(token)))
        .select(SetupLinkRow::as_select())
        .first(conn)
        .optional()?;
    let Some(link) = link else {
        return Ok(Err(SetupLinkProblem::Unknown));
    };
    if link.used_at.is_some() {
        return Ok(Err(SetupLinkProblem::Used));
    }
    if link.expires_at <= crate::db::now() {
        return Ok(Err(SetupLinkProblem::Expired));
    }
    let account = load_row(conn, link.smart_account_id)?;
    if account.status != AccountStatus::Pending.as_str() {
        return Ok(Err(SetupLinkProblem::NotPending));
    }
    if link.email != actor.email {
        return Ok(Err(SetupLinkProblem::WrongPerson));
    }
    let (requester_name, requester_company): (String, String) = users::table
        .inner_join(crate::db::schema::companies::table)
        .filter(users::id.eq(account.requested_by))
        .select((users::name, crate::db::schema::companies::name))
        .first(conn)?;
    Ok(Ok(OpenSetup { link_id: link.id, email: link.email, account, requester_name, requester_company }))
}

fn use_link(conn: &mut DbConnection, actor: &Actor, token: &str) -> DomainResult<OpenSetup> {
    match open_setup_link(conn, actor, token)? {
        Ok(open) => {
            // Claim the link: only one request can turn used_at from NULL.
            let claimed = diesel::update(setup_links::table.find(open.link_id).filter(setup_links::used_at.is_null()))
                .set(setup_links::used_at.eq(crate::db::now()))
                .execute(conn)?;
            if claimed == 0 {
                return Err(DomainError::Conflict(SetupLinkProblem::Used.message().into()));
            }
            Ok(open)
        }
        Err(problem) => Err(DomainError::Conflict(problem.message().into())),
    }
}

/// Activates the account: the activator's company owns it, the activator
/// becomes SA Administrator, nominated people get their roles (or an
/// invitation to register), the requester is told.
pub fn activate(conn: &mut DbConnection, actor: &Actor, token: &str, base_url: &str) -> DomainResult<i64> {
    crate::db::transaction(conn, |conn| {
        let open = use_link(conn, actor, token)?;
        let account = open.account;
        let now = crate::db::now();
        diesel::update(smart_accounts::table.find(account.id))
            .set((
                smart_accounts::status.eq(AccountStatus::Active.as_str()),
                smart_accounts::owner_company_id.eq(actor.company_id.0),
                smart_accounts::activated_at.eq(now),
                smart_accounts::version.eq(account.version + 1),
            ))
            .execute(conn)?;
        grant(conn, account.id, actor.user_id.0, Role::SaAdministrator, None)?;
        events::record(
            conn,
            account.id,
            None,
            Some(actor.user_id.0),
            "activated",
            &format!("{} activated the account and became SA Administrator", actor.name),
        )?;
        let account_url = format!("{base_url}/accounts/{}", account.id);
        let nominations: Vec<(i64, String, String)> = account_nominations::table
            .filter(account_nominations::smart_account_id.eq(account.id))
            .select((account_nominations::id, account_nominations::email, account_nominations::role))
            .load(conn)?;
        for (nomination_id, email, role) in nominations {
            let role = Role::parse(&role).unwrap_or(Role::SaUser);
            let user: Option<i64> = users::table.filter(users::email.eq(&email)).select(users::id).first(conn).optional()?;
            match user {
                Some(uid) => {
                    grant(conn, account.id, uid, role, Some(actor.user_id.0))?;
                    diesel::delete(account_nominations::table.find(nomination_id)).execute(conn)?;
                    events::record(conn, account.id, None, Some(actor.user_id.0), "user_added", &format!("{email} became {role}"))?;
                    mail::enqueue(
                        conn,
                        &Email::notice(
                            &email,
                            format!("You are {role} of {}", account.name),
                            "account_role",
                            &[format!("The smart account \"{}\" ({}) is active and you are its {role}.", account.name, account.domain)],
                            Some(("Open the account", &account_url)),
                        ),
                    )?;
                }
                None => {
                    mail::enqueue(
                        conn,
                        &Email::notice(&email, format!("You were nominated for {}", account.name), "account_nomination", &[format!("The smart account \"{}\" ({}) is active and you were nominated as its {role}. Register with this email address to take up the role.", account.name, account.domain)], Some(("Register", &format!("{base_url}/register")))),
                    )?;
                }
            }
        }
        let requester_email: String = users::table.find(account.requested_by).select(users::email).first(conn)?;
        if requester_email != actor.email {
            mail::enqueue(
                conn,
                &Email::notice(
                    &requester_email,
                    format!("Smart account activated: {}", account.name),
                    "account_activated",
                    &[format!("{} activated the smart account \"{}\" ({}).", actor.name, account.name, account.domain)],
                    Some(("Open the account", &account_url)),
                ),
            )?;
        }
        Ok(account.id)
    })
}

/// "No, notify this person": the link is used up and a new one goes to the nominee.
pub fn nominate_authorizer(conn: &mut DbConnection, actor: &Actor, token: &str, email: &str, base_url: &str) -> DomainResult<()> {
    let nominee = EmailAddress::parse(email).map_err(|m| FieldErrors::single("email", m))?;
    if nominee.as_str() == actor.email {
        return Err(FieldErrors::single("email", "That is you: choose \"Yes\" to activate the account yourself.").into());
    }
    crate::db::transaction(conn, |conn| {
        let open = use_link(conn, actor, token)?;
        diesel::update(smart_accounts::table.find(open.account.id))
            .set((smart_accounts::approver_email.eq(nominee.as_str()), smart_accounts::version.eq(open.account.version + 1)))
            .execute(conn)?;
        events::record(
            conn,
            open.account.id,
            None,
            Some(actor.user_id.0),
            "nominated",
            &format!("{} asked {} to authorize activation", actor.name, nominee),
        )?;
        send_setup_link(conn, &open.account, nominee.as_str(), base_url)?;
        Ok(())
    })
}

pub(crate) fn grant(conn: &mut DbConnection, account_id: i64, user_id: i64, role: Role, granted_by: Option<i64>) -> QueryResult<i64> {
    let existing: Option<(i64, String)> = account_roles::table
        .filter(account_roles::smart_account_id.eq(account_id))
        .filter(account_roles::user_id.eq(user_id))
        .select((account_roles::id, account_roles::role))
        .first(conn)
        .optional()?;
    match existing {
        Some((id, current)) => {
            // Never lower a role on activation: an administrator stays one.
            let current = Role::parse(&current).unwrap_or(Role::VaUser);
            if role < current {
                diesel::update(account_roles::table.find(id)).set(account_roles::role.eq(role.as_str())).execute(conn)?;
            }
            Ok(id)
        }
        None => diesel::insert_into(account_roles::table)
            .values(&NewAccountRole {
                smart_account_id: account_id,
                user_id,
                role: role.as_str(),
                partner_access: false,
                granted_by,
                created_at: crate::db::now(),
            })
            .returning(account_roles::id)
            .get_result(conn),
    }
}

/// Nominations waiting for this newly registered user, on active accounts, become roles.
pub fn claim_nominations(conn: &mut DbConnection, user_id: i64, email: &str) -> QueryResult<()> {
    let waiting: Vec<(i64, i64, String)> = account_nominations::table
        .inner_join(smart_accounts::table)
        .filter(account_nominations::email.eq(email))
        .filter(smart_accounts::status.eq(AccountStatus::Active.as_str()))
        .select((account_nominations::id, account_nominations::smart_account_id, account_nominations::role))
        .load(conn)?;
    for (id, account_id, role) in waiting {
        let role = Role::parse(&role).unwrap_or(Role::SaUser);
        grant(conn, account_id, user_id, role, None)?;
        diesel::delete(account_nominations::table.find(id)).execute(conn)?;
        events::record(conn, account_id, None, Some(user_id), "user_added", &format!("{email} registered and became {role}"))?;
    }
    Ok(())
}

/// An account waiting for operations' review of its edited domain identifier.
#[derive(Debug, Clone)]
pub struct DomainReview {
    pub id: i64,
    pub name: String,
    pub domain: String,
    pub kind: AccountKind,
    pub requested_by: String,
    pub requester_email: String,
    pub approver_email: String,
    pub created_at: chrono::NaiveDateTime,
}

pub fn domain_review_queue(conn: &mut DbConnection, _permit: &Permit<AdministerCompanies>) -> DomainResult<Vec<DomainReview>> {
    let rows: Vec<(SmartAccountRow, String, String)> = smart_accounts::table
        .inner_join(users::table.on(users::id.eq(smart_accounts::requested_by)))
        .filter(smart_accounts::status.eq(AccountStatus::PendingDomainReview.as_str()))
        .order((smart_accounts::created_at, smart_accounts::id))
        .select((SmartAccountRow::as_select(), users::name, users::email))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(r, who, email)| DomainReview {
            id: r.id,
            kind: AccountKind::parse(&r.kind).unwrap_or(AccountKind::Customer),
            name: r.name,
            domain: r.domain,
            requested_by: who,
            requester_email: email,
            approver_email: r.approver_email,
            created_at: r.created_at,
        })
        .collect())
}

fn reviewable(conn: &mut DbConnection, account_id: i64) -> DomainResult<SmartAccountRow> {
    let row = load_row(conn, account_id)?;
    if row.status != AccountStatus::PendingDomainReview.as_str() {
        return Err(DomainError::Conflict("This request has been decided already.".into()));
    }
    Ok(row)
}

pub fn approve_domain(
    conn: &mut DbConnection,
    permit: &Permit<AdministerCompanies>,
    actor: &Actor,
    account_id: i64,
    base_url: &str,
) -> DomainResult<()> {
    let _ = permit;
    crate::db::transaction(conn, |conn| {
        let row = reviewable(conn, account_id)?;
        diesel::update(smart_accounts::table.find(row.id))
            .set((smart_accounts::status.eq(AccountStatus::Pending.as_str()), smart_accounts::version.eq(row.version + 1)))
            .execute(conn)?;
        events::record(
            conn,
            row.id,
            None,
            Some(actor.user_id.0),
            "domain_approved",
            &format!("{} approved the domain identifier {}", actor.name, row.domain),
        )?;
        let requester: String = users::table.find(row.requested_by).select(users::email).first(conn)?;
        mail::enqueue(
            conn,
            &Email::notice(
                &requester,
                format!("Domain identifier approved: {}", row.domain),
                "domain_review",
                &[format!(
                    "Operations approved the domain identifier {} for \"{}\". {} has been sent the link to activate the account.",
                    row.domain, row.name, row.approver_email
                )],
                Some(("View the account", &format!("{base_url}/accounts/{}", row.id))),
            ),
        )?;
        send_setup_link(conn, &row, &row.approver_email, base_url)?;
        Ok(())
    })
}

pub fn reject_domain(
    conn: &mut DbConnection,
    permit: &Permit<AdministerCompanies>,
    actor: &Actor,
    account_id: i64,
    reason: &str,
    base_url: &str,
) -> DomainResult<()> {
    let _ = permit;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(FieldErrors::single("reason", "Say why the request is rejected; the requester reads it.").into());
    }
    crate::db::transaction(conn, |conn| {
        let row = reviewable(conn, account_id)?;
        diesel::update(smart_accounts::table.find(row.id))
            .set((
                smart_accounts::status.eq(AccountStatus::Rejected.as_str()),
                smart_accounts::rejection_reason.eq(reason),
                smart_accounts::version.eq(row.version + 1),
            ))
            .execute(conn)?;
        events::record(
            conn,
            row.id,
            None,
            Some(actor.user_id.0),
            "domain_rejected",
            &format!("{} rejected the request: {reason}", actor.name),
        )?;
        let requester: String = users::table.find(row.requested_by).select(users::email).first(conn)?;
        mail::enqueue(
            conn,
            &Email::notice(
                &requester,
                format!("Smart account request rejected: {}", row.name),
                "domain_review",
                &[
                    format!("Operations rejected the request for \"{}\" with the domain identifier {}.", row.name, row.domain),
                    format!("Reason: {reason}"),
                ],
                Some(("View the request", &format!("{base_url}/accounts/{}", row.id))),
            ),
        )?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::actor::{CompanyId, UserId};
    use crate::domain::company::CompanyKind;

    fn actor(kind: CompanyKind, email: &str) -> Actor {
        Actor {
            user_id: UserId(1),
            email: email.into(),
            name: "R".into(),
            company_id: CompanyId(1),
            company_name: "C".into(),
            company_kind: kind,
            notify_orders: true,
            notify_reminders: true,
            is_company_admin: false,
            audience: None,
        }
    }

    fn input(kind: &str, authority: &str, approver: &str) -> AccountRequestInput {
        AccountRequestInput { kind: kind.into(), authority: authority.into(), approver_email: approver.into(), ..Default::default() }
    }

    #[test]
    fn a_partner_requesting_a_customer_account_names_the_customers_approver() {
        let reseller = actor(CompanyKind::Reseller, "carlos@contoso.example");
        let i = input("customer", "no", "adam@acme.example");
        assert!(check_step(&reseller, &i, Step::Authority).is_empty());
        assert_eq!(i.default_domain(&reseller).unwrap().as_str(), "acme.example", "defaulted from the approver's email");
    }

    #[test]
    fn a_customer_or_a_holding_request_names_an_approver_of_the_own_company() {
        let customer = actor(CompanyKind::Customer, "maya@metalworks.example");
        let e = check_step(&customer, &input("customer", "no", "someone@other.example"), Step::Authority);
        assert!(e.get("approver_email").unwrap().contains("your company"));
        assert!(check_step(&customer, &input("customer", "no", "boss@metalworks.example"), Step::Authority).is_empty());
        let distributor = actor(CompanyKind::Distributor, "nora@northwind.example");
        assert!(check_step(&distributor, &input("holding", "no", "x@acme.example"), Step::Authority).get("approver_email").is_some());
    }

    #[test]
    fn customers_cannot_request_holding_accounts() {
        let customer = actor(CompanyKind::Customer, "maya@metalworks.example");
        assert!(check_step(&customer, &input("holding", "yes", ""), Step::Authority).get("kind").is_some());
        let reseller = actor(CompanyKind::Reseller, "carlos@contoso.example");
        assert!(check_step(&reseller, &input("holding", "yes", ""), Step::Authority).is_empty());
    }

    #[test]
    fn the_domain_is_defaulted_from_the_requester_and_editing_it_is_noticed() {
        let customer = actor(CompanyKind::Customer, "maya@metalworks.example");
        let mut i = input("customer", "yes", "");
        assert_eq!(i.default_domain(&customer).unwrap().as_str(), "metalworks.example");
        i.domain = "Metalworks.Example".into();
        assert!(!i.domain_edited(&customer), "case does not count as an edit");
        i.domain = "emea.metalworks.example".into();
        assert!(i.domain_edited(&customer));
    }

    #[test]
    fn company_information_is_optional_but_complete_when_given_with_na_allowed() {
        let customer = actor(CompanyKind::Customer, "maya@metalworks.example");
        assert!(check_step(&customer, &AccountRequestInput::default(), Step::Company).is_empty());
        let partial = AccountRequestInput { company_name: "Acme Corp".into(), ..Default::default() };
        let e = check_step(&customer, &partial, Step::Company);
        assert!(e.get("country").is_some() && e.get("postal_code").is_some());
        let full = AccountRequestInput {
            company_name: "Acme Corp".into(),
            country: "IE".into(),
            address: "1 Main Street".into(),
            state_province: "NA".into(),
            postal_code: "NA".into(),
            ..Default::default()
        };
        assert!(check_step(&customer, &full, Step::Company).is_empty());
        assert!(check_step(&customer, &AccountRequestInput { country: "XX".into(), ..full }, Step::Company).get("country").is_some());
    }

    #[test]
    fn nominated_administrators_are_each_validated() {
        let customer = actor(CompanyKind::Customer, "maya@metalworks.example");
        let ok = AccountRequestInput { administrators: "a@metalworks.example, B@Metalworks.example".into(), ..Default::default() };
        assert!(check_step(&customer, &ok, Step::Administrators).is_empty());
        assert_eq!(ok.administrator_emails(), vec!["a@metalworks.example", "b@metalworks.example"]);
        let bad = AccountRequestInput { administrators: "a@metalworks.example, nonsense".into(), ..Default::default() };
        assert!(check_step(&customer, &bad, Step::Administrators).get("administrators").unwrap().contains("nonsense"));
    }

    #[test]
    fn the_base_domain_drops_prefixes() {
        assert_eq!(base_domain("emea.acme.example"), "acme.example");
        assert_eq!(base_domain("acme.example"), "acme.example");
    }

    #[test]
    fn the_steps_go_forward_and_back_within_bounds() {
        assert_eq!(Step::Authority.previous(), Step::Authority);
        assert_eq!(Step::Administrators.next(), Step::Review);
        assert_eq!(Step::Review.next(), Step::Review);
    }
}
