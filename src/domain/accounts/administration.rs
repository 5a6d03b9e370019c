//! Administering an active account: properties, virtual accounts, users and
//! roles (partner access included), the agreement, and access requests.

use diesel::prelude::*;

use crate::db::models::account::{AccessRequestRow, NewAccountRole, NewVirtualAccount, VirtualAccountRow};
use crate::db::schema::{
    access_requests, account_role_virtual_accounts, account_roles, companies, orders, smart_accounts, users, virtual_accounts,
};
use crate::db::DbConnection;
use crate::domain::accounts::request::grant;
use crate::domain::accounts::{events, permit, AccountInContext, DomainResult};
use crate::domain::company::CompanyKind;
use crate::domain::error::FieldErrors;
use crate::domain::policy::{self, Capability};
use crate::domain::roles::{AccountKind, AccountStatus, Role};
use crate::domain::values::{CompanyName, EmailAddress};
use crate::domain::{Actor, DomainError};
use crate::mail::{self, Email};

/// Past this many virtual accounts the portal warns; past the limit it refuses.
pub const VIRTUAL_ACCOUNT_WARNING: i64 = 100;
pub const VIRTUAL_ACCOUNT_LIMIT: i64 = 1000;

/// Renames the account, unless someone changed it since the form was loaded.
pub fn update_properties(conn: &mut DbConnection, actor: &Actor, account_id: i64, name: &str, version: i32) -> DomainResult<()> {
    let name = CompanyName::parse(name).map_err(|m| FieldErrors::single("name", m.replace("company name", "account name")))?;
    crate::db::transaction(conn, |conn| {
        let (ctx, _permit) = permit(conn, actor, account_id, Capability::EditProperties)?;
        let changed = diesel::update(smart_accounts::table.find(account_id).filter(smart_accounts::version.eq(version)))
            .set((
                smart_accounts::name.eq(name.as_str()),
                smart_accounts::name_key.eq(name.as_str().to_lowercase()),
                smart_accounts::version.eq(version + 1),
            ))
            .execute(conn)?;
        if changed == 0 {
            return Err(DomainError::Conflict(
                "Someone else changed this account after you opened the form. Your change was not saved; reload to see theirs.".into(),
            ));
        }
        // Orders parked in the account show and sort by its name: they follow the new one.
        diesel::update(orders::table.filter(orders::holding_account_id.eq(account_id)))
            .set((orders::holding_name.eq(name.as_str()), orders::holding_name_key.eq(name.as_str().to_lowercase())))
            .execute(conn)?;
        events::record(
            conn,
            account_id,
            None,
            Some(actor.user_id.0),
            "properties_updated",
            &format!("Name changed from \"{}\" to \"{}\"", ctx.account.name, name.as_str()),
        )?;
        Ok(())
    })
}

/// What the virtual-account form sends.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct VirtualAccountInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub visibility: String,
}

fn parse_va(input: &VirtualAccountInput) -> Result<(String, String, bool), FieldErrors> {
    let mut e = FieldErrors::new();
    let name: String = input.name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        e.add("name", "Enter a name for the virtual account.");
    } else if name.chars().count() > 80 {
        e.add("name", "A virtual account name has at most 80 characters.");
    } else if crate::domain::values::has_control(&name) {
        e.add("name", "A virtual account name cannot contain control characters.");
    }
    let description = input.description.trim().to_string();
    if description.chars().count() > 500 {
        e.add("description", "A description has at most 500 characters.");
    } else if let Err(m) = crate::domain::values::parse_free_text(&description, "a description", 500, false) {
        e.add("description", m);
    }
    let public = match input.visibility.as_str() {
        "public" => true,
        "private" => false,
        _ => {
            e.add("visibility", "Choose public or private.");
            false
        }
    };
    if e.is_empty() {
        Ok((name, description, public))
    } else {
        Err(e)
    }
}

fn name_taken(conn: &mut DbConnection, account_id: i64, key: &str, except: Option<i64>) -> QueryResult<bool> {
    let mut q = virtual_accounts::table
        .filter(virtual_accounts::smart_account_id.eq(account_id))
        .filter(virtual_accounts::name_key.eq(key))
        .into_boxed::<crate::db::MultiBackend>();
    if let Some(id) = except {
        q = q.filter(virtual_accounts::id.ne(id));
    }
    Ok(q.count().get_result::<i64>(conn)? > 0)
}

/// Creates a virtual account. Returns its id and, past 100, a warning.
pub fn create_virtual_account(
    conn: &mut DbConnection,
    actor: &Actor,
    account_id: i64,
    input: &VirtualAccountInput,
) -> DomainResult<(i64, Option<String>)> {
    let (name, description, public) = parse_va(input)?;
    crate::db::transaction(conn, |conn| {
        permit(conn, actor, account_id, Capability::ManageVirtualAccounts)?;
        let count: i64 = virtual_accounts::table.filter(virtual_accounts::smart_account_id.eq(account_id)).count().get_result(conn)?;
        if count >= VIRTUAL_ACCOUNT_LIMIT {
            return Err(FieldErrors::single(
                "name",
                format!("An account has at most {VIRTUAL_ACCOUNT_LIMIT} virtual accounts; delete unused ones first."),
            )
            .into());
        }
        let key = name.to_lowercase();
        if name_taken(conn, account_id, &key, None)? {
            return Err(FieldErrors::single("name", format!("A virtual account named \"{name}\" exists already in this account.")).into());
        }
        let id: i64 = diesel::insert_into(virtual_accounts::table)
            .values(&NewVirtualAccount {
                smart_account_id: account_id,
                name: &name,
                name_key: &key,
                description: &description,
                is_public: public,
                is_default: false,
                created_at: crate::db::now(),
            })
            .returning(virtual_accounts::id)
            .get_result(conn)?;
        events::record(
            conn,
            account_id,
            Some(id),
            Some(actor.user_id.0),
            "va_created",
            &format!("Virtual account \"{name}\" created ({})", if public { "public" } else { "private" }),
        )?;
        let warning = (count + 1 > VIRTUAL_ACCOUNT_WARNING).then(|| {
            format!("This account now has {} virtual accounts. Many virtual accounts make licenses hard to find; the limit is {VIRTUAL_ACCOUNT_LIMIT}.", count + 1)
        });
        Ok((id, warning))
    })
}

fn load_va(conn: &mut DbConnection, account_id: i64, va_id: i64) -> DomainResult<VirtualAccountRow> {
    virtual_accounts::table
        .find(va_id)
        .filter(virtual_accounts::smart_account_id.eq(account_id))
        .select(VirtualAccountRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound)
}

pub fn update_virtual_account(
    conn: &mut DbConnection,
    actor: &Actor,
    account_id: i64,
    va_id: i64,
    input: &VirtualAccountInput,
) -> DomainResult<()> {
    let (name, description, public) = parse_va(input)?;
    crate::db::transaction(conn, |conn| {
        permit(conn, actor, account_id, Capability::ManageVirtualAccounts)?;
        let va = load_va(conn, account_id, va_id)?;
        let key = name.to_lowercase();
        if name_taken(conn, account_id, &key, Some(va_id))? {
            return Err(FieldErrors::single("name", format!("A virtual account named \"{name}\" exists already in this account.")).into());
        }
        diesel::update(virtual_accounts::table.find(va_id))
            .set((
                virtual_accounts::name.eq(&name),
                virtual_accounts::name_key.eq(&key),
                virtual_accounts::description.eq(&description),
                virtual_accounts::is_public.eq(public),
            ))
            .execute(conn)?;
        events::record(
            conn,
            account_id,
            Some(va_id),
            Some(actor.user_id.0),
            "va_updated",
            &format!("Virtual account \"{}\" is now \"{name}\" ({})", va.name, if public { "public" } else { "private" }),
        )?;
        Ok(())
    })
}

/// Deletes an empty virtual account; never the default one.
pub fn delete_virtual_account(conn: &mut DbConnection, actor: &Actor, account_id: i64, va_id: i64) -> DomainResult<()> {
    crate::db::transaction(conn, |conn| {
        permit(conn, actor, account_id, Capability::ManageVirtualAccounts)?;
        let va = load_va(conn, account_id, va_id)?;
        if va.is_default {
            return Err(DomainError::Conflict("The default virtual account cannot be deleted.".into()));
        }
        let users_in: i64 = account_role_virtual_accounts::table
            .filter(account_role_virtual_accounts::virtual_account_id.eq(va_id))
            .count()
            .get_result(conn)?;
        if users_in > 0 {
            return Err(DomainError::Conflict(format!(
                "\"{}\" is not empty: {users_in} user(s) have a role in it. Move or remove them first.",
                va.name
            )));
        }
        let held: i64 = crate::db::schema::licenses::table
            .filter(crate::db::schema::licenses::virtual_account_id.eq(va_id))
            .filter(crate::db::schema::licenses::quantity.gt(0))
            .count()
            .get_result(conn)?;
        let devices: i64 = crate::db::schema::devices::table
            .filter(crate::db::schema::devices::virtual_account_id.eq(va_id))
            .filter(crate::db::schema::devices::removed_at.is_null())
            .count()
            .get_result(conn)?;
        if held > 0 || devices > 0 {
            return Err(DomainError::Conflict(format!(
                "\"{}\" is not empty: it holds licenses or devices. Transfer the licenses and move the devices first.",
                va.name
            )));
        }
        events::record(conn, account_id, None, Some(actor.user_id.0), "va_deleted", &format!("Virtual account \"{}\" deleted", va.name))?;
        diesel::delete(crate::db::schema::licenses::table.filter(crate::db::schema::licenses::virtual_account_id.eq(va_id)))
            .execute(conn)?;
        diesel::delete(virtual_accounts::table.find(va_id)).execute(conn)?;
        Ok(())
    })
}

/// A user's role in an account, as the users page lists it.
#[derive(Debug, Clone)]
pub struct AccountUser {
    pub role_id: i64,
    pub user_id: i64,
    pub name: String,
    pub email: String,
    pub company: String,
    pub role: Role,
    pub partner_access: bool,
    pub virtual_accounts: Vec<(i64, String)>,
}

/// The users the actor may see: everyone for SA roles and operations; for VA
/// roles, the VA-level users of their virtual accounts.
pub fn list_users(conn: &mut DbConnection, ctx: &AccountInContext) -> DomainResult<Vec<AccountUser>> {
    policy::account_permit(&ctx.access, Capability::ViewUsers)?;
    let rows: Vec<(i64, i64, String, bool, String, String, String)> = account_roles::table
        .inner_join(users::table.inner_join(companies::table))
        .filter(account_roles::smart_account_id.eq(ctx.account.id))
        .select((
            account_roles::id,
            users::id,
            account_roles::role,
            account_roles::partner_access,
            users::name,
            users::email,
            companies::name,
        ))
        .order((users::name, users::id))
        .load(conn)?;
    let role_ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let vas: Vec<(i64, i64, String)> = account_role_virtual_accounts::table
        .inner_join(virtual_accounts::table)
        .filter(account_role_virtual_accounts::account_role_id.eq_any(&role_ids))
        .select((account_role_virtual_accounts::account_role_id, virtual_accounts::id, virtual_accounts::name))
        .order(virtual_accounts::name_key)
        .load(conn)?;
    let limited = ctx.access.role.is_some_and(Role::is_va_role);
    Ok(rows
        .into_iter()
        .map(|(role_id, user_id, role, partner_access, name, email, company)| AccountUser {
            role_id,
            user_id,
            name,
            email,
            company,
            role: Role::parse(&role).unwrap_or(Role::VaUser),
            partner_access,
            virtual_accounts: vas.iter().filter(|v| v.0 == role_id).map(|v| (v.1, v.2.clone())).collect(),
        })
        .filter(|u| !limited || u.virtual_accounts.iter().any(|(id, _)| ctx.access.virtual_accounts.contains(id)))
        .collect())
}

/// What the add-user, partner-access and change-role forms send.
#[derive(Debug, Clone, Default)]
pub struct RoleInput {
    pub email: String,
    pub role: String,
    pub virtual_accounts: Vec<i64>,
    /// Partner access: the customer's acknowledgment of what it means.
    pub acknowledged: bool,
}

/// Parses role and virtual accounts and asks policy whether the actor may
/// hand out that role on those virtual accounts.
fn checked_role(conn: &mut DbConnection, ctx: &AccountInContext, input: &RoleInput, allowed: &[Role]) -> DomainResult<(Role, Vec<i64>)> {
    let Some(role) = Role::parse(&input.role).filter(|r| allowed.contains(r)) else {
        return Err(FieldErrors::single("role", "Choose a role.").into());
    };
    let mut vas = input.virtual_accounts.clone();
    vas.sort_unstable();
    vas.dedup();
    if role.is_va_role() {
        if vas.is_empty() {
            return Err(FieldErrors::single("virtual_accounts", "Choose the virtual accounts this role covers.").into());
        }
        let in_account: i64 = virtual_accounts::table
            .filter(virtual_accounts::smart_account_id.eq(ctx.account.id))
            .filter(virtual_accounts::id.eq_any(&vas))
            .count()
            .get_result(conn)?;
        if in_account != vas.len() as i64 {
            return Err(FieldErrors::single("virtual_accounts", "Choose virtual accounts of this account.").into());
        }
        for va in &vas {
            policy::account_permit(&ctx.access, Capability::ManageUsersOfVirtualAccount(*va))?;
        }
    } else {
        vas.clear();
        policy::account_permit(&ctx.access, Capability::ManageUsers)?;
    }
    Ok((role, vas))
}

fn set_role_vas(conn: &mut DbConnection, role_id: i64, vas: &[i64]) -> QueryResult<()> {
    diesel::delete(account_role_virtual_accounts::table.filter(account_role_virtual_accounts::account_role_id.eq(role_id)))
        .execute(conn)?;
    for va in vas {
        diesel::insert_into(account_role_virtual_accounts::table)
            .values((account_role_virtual_accounts::account_role_id.eq(role_id), account_role_virtual_accounts::virtual_account_id.eq(va)))
            .execute(conn)?;
    }
    Ok(())
}

fn va_names(conn: &mut DbConnection, vas: &[i64]) -> QueryResult<String> {
    let names: Vec<String> = virtual_accounts::table
        .filter(virtual_accounts::id.eq_any(vas))
        .select(virtual_accounts::name)
        .order(virtual_accounts::name_key)
        .load(conn)?;
    Ok(names.join(", "))
}

/// Adds a user of the account's own company (or, with `partner`, a partner's
/// user, with the customer's acknowledgment) in a role.
pub fn add_user(
    conn: &mut DbConnection,
    actor: &Actor,
    account_id: i64,
    input: &RoleInput,
    partner: bool,
    base_url: &str,
) -> DomainResult<()> {
    let email = EmailAddress::parse(&input.email).map_err(|m| FieldErrors::single("email", m))?;
    crate::db::transaction(conn, |conn| {
        let ctx = crate::domain::accounts::load(conn, actor, account_id)?;
        let allowed: &[Role] = if partner { &Role::PARTNER } else { &Role::ALL };
        if partner {
            policy::account_permit(&ctx.access, Capability::GrantPartnerAccess)?;
            if !input.acknowledged {
                return Err(FieldErrors::single("acknowledged", "Confirm that you understand what partner access means.").into());
            }
        }
        let (role, vas) = checked_role(conn, &ctx, input, allowed)?;
        let user: Option<(i64, String, i64, String, String)> = users::table
            .inner_join(companies::table)
            .filter(users::email.eq(email.as_str()))
            .select((users::id, users::name, companies::id, companies::kind, companies::name))
            .first(conn)
            .optional()?;
        let Some((user_id, user_name, company_id, company_kind, company_name)) = user else {
            return Err(FieldErrors::single("email", format!("No portal user has the email {email}. Ask them to register first.")).into());
        };
        let company_kind = CompanyKind::parse(&company_kind).unwrap_or(CompanyKind::Customer);
        if partner {
            if !company_kind.is_partner() {
                return Err(FieldErrors::single(
                    "email",
                    format!("{email} works for {company_name}, which is not a partner (distributor, reseller or service provider)."),
                )
                .into());
            }
        } else if ctx.account.owner_company_id != Some(company_id) {
            let hint = if company_kind.is_partner() && ctx.account.kind == AccountKind::Customer {
                " To give a partner access, use \"Grant partner access\"."
            } else {
                ""
            };
            return Err(
                FieldErrors::single("email", format!("{email} works for {company_name}, not for this account's company.{hint}")).into()
            );
        }
        let has: i64 = account_roles::table
            .filter(account_roles::smart_account_id.eq(account_id))
            .filter(account_roles::user_id.eq(user_id))
            .count()
            .get_result(conn)?;
        if has > 0 {
            return Err(FieldErrors::single(
                "email",
                format!("{user_name} has a role in this account already; change it in the list below."),
            )
            .into());
        }
        let role_id: i64 = diesel::insert_into(account_roles::table)
            .values(&NewAccountRole {
                smart_account_id: account_id,
                user_id,
                role: role.as_str(),
                partner_access: partner,
                granted_by: Some(actor.user_id.0),
                created_at: crate::db::now(),
            })
            .returning(account_roles::id)
            .get_result(conn)?;
        set_role_vas(conn, role_id, &vas)?;
        let scope = if vas.is_empty() { String::new() } else { format!(" for {}", va_names(conn, &vas)?) };
        let (kind, detail) = if partner {
            ("partner_access_granted", format!("{} granted partner access to {user_name} ({company_name}) as {role}{scope}", actor.name))
        } else {
            ("user_added", format!("{} added {user_name} as {role}{scope}", actor.name))
        };
        events::record(conn, account_id, vas.first().copied(), Some(actor.user_id.0), kind, &detail)?;
        mail::enqueue(
            conn,
            &Email::notice(
                email.as_str(),
                format!("You have access to {}", ctx.account.name),
                "account_role",
                &[format!(
                    "{} gave you the role {role}{scope} in the smart account \"{}\" ({}).",
                    actor.name, ctx.account.name, ctx.account.domain
                )],
                Some(("Open the account", &format!("{base_url}/accounts/{account_id}"))),
            ),
        )?;
        Ok(())
    })
}

fn load_role(conn: &mut DbConnection, account_id: i64, role_id: i64) -> DomainResult<(i64, Role, bool, String)> {
    let row: Option<(i64, String, bool, String)> = account_roles::table
        .inner_join(users::table)
        .filter(account_roles::id.eq(role_id))
        .filter(account_roles::smart_account_id.eq(account_id))
        .select((account_roles::user_id, account_roles::role, account_roles::partner_access, users::name))
        .first(conn)
        .optional()?;
    let (uid, role, partner, name) = row.ok_or(DomainError::NotFound)?;
    Ok((uid, Role::parse(&role).unwrap_or(Role::VaUser), partner, name))
}

fn role_vas(conn: &mut DbConnection, role_id: i64) -> QueryResult<Vec<i64>> {
    account_role_virtual_accounts::table
        .filter(account_role_virtual_accounts::account_role_id.eq(role_id))
        .select(account_role_virtual_accounts::virtual_account_id)
        .load(conn)
}

/// The actor may touch this existing role: SA administrators any; VA
/// administrators only VA-level roles within their own virtual accounts.
fn may_touch(conn: &mut DbConnection, ctx: &AccountInContext, role_id: i64, role: Role) -> DomainResult<()> {
    if role.is_va_role() {
        for va in role_vas(conn, role_id)? {
            policy::account_permit(&ctx.access, Capability::ManageUsersOfVirtualAccount(va))?;
        }
        policy::account_permit(&ctx.access, Capability::ViewUsers)?;
        Ok(())
    } else {
        policy::account_permit(&ctx.access, Capability::ManageUsers).map(|_| ())
    }
}

fn administrators(conn: &mut DbConnection, account_id: i64) -> QueryResult<i64> {
    account_roles::table
        .filter(account_roles::smart_account_id.eq(account_id))
        .filter(account_roles::role.eq(Role::SaAdministrator.as_str()))
        .count()
        .get_result(conn)
}

const LAST_ADMINISTRATOR: &str = "An account always keeps at least one SA Administrator: make someone else SA Administrator first.";

pub fn change_role(conn: &mut DbConnection, actor: &Actor, account_id: i64, role_id: i64, input: &RoleInput) -> DomainResult<()> {
    crate::db::transaction(conn, |conn| {
        let ctx = crate::domain::accounts::load(conn, actor, account_id)?;
        let (_uid, current, partner, name) = load_role(conn, account_id, role_id)?;
        may_touch(conn, &ctx, role_id, current)?;
        let allowed: &[Role] = if partner { &Role::PARTNER } else { &Role::ALL };
        let (role, vas) = checked_role(conn, &ctx, input, allowed)?;
        if current == Role::SaAdministrator && role != Role::SaAdministrator && administrators(conn, account_id)? <= 1 {
            return Err(DomainError::Conflict(LAST_ADMINISTRATOR.into()));
        }
        diesel::update(account_roles::table.find(role_id)).set(account_roles::role.eq(role.as_str())).execute(conn)?;
        set_role_vas(conn, role_id, &vas)?;
        let scope = if vas.is_empty() { String::new() } else { format!(" for {}", va_names(conn, &vas)?) };
        events::record(
            conn,
            account_id,
            vas.first().copied(),
            Some(actor.user_id.0),
            "user_changed",
            &format!("{} changed {name} from {current} to {role}{scope}", actor.name),
        )?;
        Ok(())
    })
}

pub fn remove_user(conn: &mut DbConnection, actor: &Actor, account_id: i64, role_id: i64) -> DomainResult<()> {
    crate::db::transaction(conn, |conn| {
        let ctx = crate::domain::accounts::load(conn, actor, account_id)?;
        let (_uid, current, _partner, name) = load_role(conn, account_id, role_id)?;
        may_touch(conn, &ctx, role_id, current)?;
        if current == Role::SaAdministrator && administrators(conn, account_id)? <= 1 {
            return Err(DomainError::Conflict(LAST_ADMINISTRATOR.into()));
        }
        let vas = role_vas(conn, role_id)?;
        diesel::delete(account_roles::table.find(role_id)).execute(conn)?;
        events::record(
            conn,
            account_id,
            vas.first().copied(),
            Some(actor.user_id.0),
            "user_removed",
            &format!("{} removed {name} ({current})", actor.name),
        )?;
        Ok(())
    })
}

/// Accepts the Smart Licensing Agreement. Accepting twice changes nothing.
pub fn accept_agreement(conn: &mut DbConnection, actor: &Actor, account_id: i64) -> DomainResult<()> {
    crate::db::transaction(conn, |conn| {
        let (ctx, _permit) = permit(conn, actor, account_id, Capability::AcceptAgreement)?;
        if ctx.account.agreement_accepted() {
            return Ok(());
        }
        diesel::update(smart_accounts::table.find(account_id).filter(smart_accounts::agreement_accepted_at.is_null()))
            .set((smart_accounts::agreement_accepted_at.eq(crate::db::now()), smart_accounts::agreement_accepted_by.eq(actor.user_id.0)))
            .execute(conn)?;
        events::record(
            conn,
            account_id,
            None,
            Some(actor.user_id.0),
            "agreement_accepted",
            &format!("{} accepted the Smart Licensing Agreement", actor.name),
        )?;
        Ok(())
    })
}

/// An account found by the access-request search.
#[derive(Debug, Clone)]
pub struct FoundAccount {
    pub id: i64,
    pub name: String,
    pub domain: String,
    pub kind: AccountKind,
    pub status: AccountStatus,
    /// The actor has a role in it already.
    pub member: bool,
    /// The actor asked for access and waits for an answer.
    pub requested: bool,
}

/// Accounts whose name or domain identifier starts with `q` (not rejected ones).
pub fn search(conn: &mut DbConnection, actor: &Actor, q: &str) -> DomainResult<Vec<FoundAccount>> {
    let q = crate::domain::values::parse_search(q, 200).map_err(|m| FieldErrors::single("q", m))?.to_lowercase();
    if q.chars().count() < 2 {
        return Ok(Vec::new());
    }
    let rows = crate::domain::accounts::prefix_matches(conn, &q, None, &Vec::new, Some(0), 20)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let member: Vec<i64> = account_roles::table
        .filter(account_roles::user_id.eq(actor.user_id.0))
        .filter(account_roles::smart_account_id.eq_any(&ids))
        .select(account_roles::smart_account_id)
        .load(conn)?;
    let requested: Vec<i64> = access_requests::table
        .filter(access_requests::user_id.eq(actor.user_id.0))
        .filter(access_requests::status.eq("pending"))
        .filter(access_requests::smart_account_id.eq_any(&ids))
        .select(access_requests::smart_account_id)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| FoundAccount {
            member: member.contains(&r.id),
            requested: requested.contains(&r.id),
            id: r.id,
            name: r.name,
            domain: r.domain,
            kind: AccountKind::parse(&r.kind).unwrap_or(AccountKind::Customer),
            status: AccountStatus::parse(&r.status).unwrap_or(AccountStatus::Pending),
        })
        .collect())
}

/// Asks the account's administrators for access. Asking twice changes nothing.
pub fn request_access(conn: &mut DbConnection, actor: &Actor, account_id: i64, message: &str, base_url: &str) -> DomainResult<()> {
    let message: String = message.trim().chars().take(1000).collect();
    crate::db::transaction(conn, |conn| {
        let row = crate::domain::accounts::load_row(conn, account_id)?;
        if row.status == AccountStatus::Rejected.as_str() {
            return Err(DomainError::NotFound);
        }
        let has: i64 = account_roles::table
            .filter(account_roles::smart_account_id.eq(account_id))
            .filter(account_roles::user_id.eq(actor.user_id.0))
            .count()
            .get_result(conn)?;
        if has > 0 {
            return Err(DomainError::Conflict("You have a role in this account already.".into()));
        }
        let pending: i64 = access_requests::table
            .filter(access_requests::smart_account_id.eq(account_id))
            .filter(access_requests::user_id.eq(actor.user_id.0))
            .filter(access_requests::status.eq("pending"))
            .count()
            .get_result(conn)?;
        if pending > 0 {
            return Ok(());
        }
        diesel::insert_into(access_requests::table)
            .values((
                access_requests::smart_account_id.eq(account_id),
                access_requests::user_id.eq(actor.user_id.0),
                access_requests::message.eq(&message),
                access_requests::status.eq("pending"),
                access_requests::created_at.eq(crate::db::now()),
            ))
            .execute(conn)?;
        events::record(
            conn,
            account_id,
            None,
            Some(actor.user_id.0),
            "access_requested",
            &format!("{} ({}, {}) asked for access", actor.name, actor.email, actor.company_name),
        )?;
        let admins: Vec<String> = account_roles::table
            .inner_join(users::table)
            .filter(account_roles::smart_account_id.eq(account_id))
            .filter(account_roles::role.eq(Role::SaAdministrator.as_str()))
            .select(users::email)
            .load(conn)?;
        let url = format!("{base_url}/accounts/{account_id}/access-requests");
        let mut paragraphs = vec![format!(
            "{} ({}) of {} asks for access to the smart account \"{}\".",
            actor.name, actor.email, actor.company_name, row.name
        )];
        if !message.is_empty() {
            paragraphs.push(format!("Their message: {message}"));
        }
        for admin in admins {
            mail::enqueue(
                conn,
                &Email::notice(
                    &admin,
                    format!("Access request for {}", row.name),
                    "access_request",
                    &paragraphs,
                    Some(("Approve or deny", &url)),
                ),
            )?;
        }
        Ok(())
    })
}

#[derive(Debug, Clone)]
pub struct AccessRequest {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub company: String,
    pub message: String,
    pub status: String,
    pub reason: Option<String>,
    pub created_at: chrono::NaiveDateTime,
}

pub fn access_requests_of(conn: &mut DbConnection, ctx: &AccountInContext) -> DomainResult<Vec<AccessRequest>> {
    policy::account_permit(&ctx.access, Capability::DecideAccessRequests)?;
    let rows: Vec<(AccessRequestRow, String, String, String)> = access_requests::table
        .inner_join(users::table.inner_join(companies::table))
        .filter(access_requests::smart_account_id.eq(ctx.account.id))
        .order((access_requests::status.desc(), access_requests::id.desc()))
        .select((AccessRequestRow::as_select(), users::name, users::email, companies::name))
        .limit(200)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(r, name, email, company)| AccessRequest {
            id: r.id,
            name,
            email,
            company,
            message: r.message,
            status: r.status,
            reason: r.reason,
            created_at: r.created_at,
        })
        .collect())
}

/// Approves (with an SA-level role) or denies (with a reason) an access request.
pub fn decide_access(
    conn: &mut DbConnection,
    actor: &Actor,
    account_id: i64,
    request_id: i64,
    approve: bool,
    role: &str,
    reason: &str,
    base_url: &str,
) -> DomainResult<()> {
    let reason = reason.trim();
    let role = if approve {
        Some(Role::parse(role).filter(|r| !r.is_va_role()).ok_or_else(|| FieldErrors::single("role", "Choose the role to give."))?)
    } else {
        if reason.is_empty() {
            return Err(FieldErrors::single("reason", "Say why you deny the request; the requester reads it.").into());
        }
        None
    };
    crate::db::transaction(conn, |conn| {
        let (ctx, _permit) = permit(conn, actor, account_id, Capability::DecideAccessRequests)?;
        let request: AccessRequestRow = access_requests::table
            .find(request_id)
            .filter(access_requests::smart_account_id.eq(account_id))
            .select(AccessRequestRow::as_select())
            .first(conn)
            .optional()?
            .ok_or(DomainError::NotFound)?;
        if request.status != "pending" {
            return Err(DomainError::Conflict("This request has been answered already.".into()));
        }
        let (name, email): (String, String) = users::table.find(request.user_id).select((users::name, users::email)).first(conn)?;
        diesel::update(access_requests::table.find(request_id))
            .set((
                access_requests::status.eq(if approve { "approved" } else { "denied" }),
                access_requests::decided_by.eq(actor.user_id.0),
                access_requests::decided_at.eq(crate::db::now()),
                access_requests::reason.eq(if reason.is_empty() { None } else { Some(reason) }),
            ))
            .execute(conn)?;
        let url = format!("{base_url}/accounts/{account_id}");
        match role {
            Some(role) => {
                grant(conn, account_id, request.user_id, role, Some(actor.user_id.0))?;
                events::record(
                    conn,
                    account_id,
                    None,
                    Some(actor.user_id.0),
                    "access_approved",
                    &format!("{} approved access for {name} as {role}", actor.name),
                )?;
                mail::enqueue(
                    conn,
                    &Email::notice(
                        &email,
                        format!("Access granted to {}", ctx.account.name),
                        "access_decision",
                        &[format!("{} approved your request: you are {role} of \"{}\".", actor.name, ctx.account.name)],
                        Some(("Open the account", &url)),
                    ),
                )?;
            }
            None => {
                events::record(
                    conn,
                    account_id,
                    None,
                    Some(actor.user_id.0),
                    "access_denied",
                    &format!("{} denied access for {name}: {reason}", actor.name),
                )?;
                mail::enqueue(
                    conn,
                    &Email::notice(
                        &email,
                        format!("Access denied to {}", ctx.account.name),
                        "access_decision",
                        &[
                            format!("{} denied your request for access to \"{}\".", actor.name, ctx.account.name),
                            format!("Reason: {reason}"),
                        ],
                        None,
                    ),
                )?;
            }
        }
        Ok(())
    })
}
