//! Smart accounts: requesting and activating them, virtual accounts, users
//! and roles, partner access, the licensing agreement, access requests and
//! the event log. Every operation loads the actor's access and asks `policy`.

pub mod administration;
pub mod events;
pub mod request;

use diesel::prelude::*;

use crate::db::ids::ids_in;
use crate::db::models::account::{SmartAccountRow, VirtualAccountRow};
use crate::db::schema::{account_role_virtual_accounts, account_roles, smart_accounts, users, virtual_accounts};
use crate::db::DbConnection;
use crate::domain::policy::{self, AccountAccess, Capability, OnAccount, Permit};
use crate::domain::roles::{AccountKind, AccountStatus, Role};
use crate::domain::{Actor, DomainError};

pub use events::AccountEvent;

pub type DomainResult<T> = Result<T, DomainError>;

/// A smart account as pages show it.
#[derive(Debug, Clone)]
pub struct SmartAccount {
    pub id: i64,
    pub name: String,
    pub domain: String,
    pub kind: AccountKind,
    pub status: AccountStatus,
    pub approver_email: String,
    pub domain_edited: bool,
    pub rejection_reason: Option<String>,
    pub agreement_accepted_at: Option<chrono::NaiveDateTime>,
    pub agreement_accepted_by: Option<String>,
    pub created_at: chrono::NaiveDateTime,
    pub activated_at: Option<chrono::NaiveDateTime>,
    pub version: i32,
    pub requested_by: i64,
    pub owner_company_id: Option<i64>,
}

impl SmartAccount {
    fn from_row(r: SmartAccountRow, accepted_by: Option<String>) -> SmartAccount {
        SmartAccount {
            id: r.id,
            name: r.name,
            domain: r.domain,
            kind: AccountKind::parse(&r.kind).unwrap_or(AccountKind::Customer),
            status: AccountStatus::parse(&r.status).unwrap_or(AccountStatus::Pending),
            approver_email: r.approver_email,
            domain_edited: r.domain_edited,
            rejection_reason: r.rejection_reason,
            agreement_accepted_at: r.agreement_accepted_at,
            agreement_accepted_by: accepted_by,
            created_at: r.created_at,
            activated_at: r.activated_at,
            version: r.version,
            requested_by: r.requested_by,
            owner_company_id: r.owner_company_id,
        }
    }

    pub fn agreement_accepted(&self) -> bool {
        self.agreement_accepted_at.is_some()
    }
}

/// An account with what the actor holds in it.
#[derive(Debug, Clone)]
pub struct AccountInContext {
    pub account: SmartAccount,
    pub access: AccountAccess,
}

impl AccountInContext {
    pub fn can(&self, capability: Capability) -> bool {
        policy::allows(&self.access, capability)
    }
    pub fn role_label(&self) -> &'static str {
        self.access.role.map(Role::label).unwrap_or(if self.access.operations { "Operations" } else { "Requester" })
    }
}

pub(crate) fn load_row(conn: &mut DbConnection, account_id: i64) -> DomainResult<SmartAccountRow> {
    smart_accounts::table.find(account_id).select(SmartAccountRow::as_select()).first(conn).optional()?.ok_or(DomainError::NotFound)
}

/// Accounts with the name of who accepted their agreement.
fn rows_with_acceptor(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<(SmartAccountRow, Option<String>)>> {
    smart_accounts::table
        .left_join(users::table.on(users::id.nullable().eq(smart_accounts::agreement_accepted_by)))
        .filter(ids_in(smart_accounts::id, ids))
        .select((SmartAccountRow::as_select(), users::name.nullable()))
        .load(conn)
}

/// The actor's roles on some accounts with the VAs each covers: (account,
/// role, VA), a row per VA or one without.
type RoleRow = (i64, String, Option<i64>);

fn roles_with_vas(conn: &mut DbConnection, actor: &Actor, ids: &[i64]) -> QueryResult<Vec<RoleRow>> {
    account_roles::table
        .left_join(account_role_virtual_accounts::table)
        .filter(ids_in(account_roles::smart_account_id, ids))
        .filter(account_roles::user_id.eq(actor.user_id.0))
        .select((account_roles::smart_account_id, account_roles::role, account_role_virtual_accounts::virtual_account_id.nullable()))
        .load(conn)
}

/// The actor's access to an account, from their role rows (any accounts').
fn access_in(actor: &Actor, row: &SmartAccountRow, roles: &[RoleRow]) -> AccountAccess {
    let mine: Vec<&RoleRow> = roles.iter().filter(|r| r.0 == row.id).collect();
    let role = mine.first().and_then(|r| Role::parse(&r.1));
    access_from(actor, row, role, mine.iter().filter_map(|r| r.2).collect())
}

/// The actor's access to an account, from their role on it (if any) and
/// the VAs that role covers.
fn access_from(actor: &Actor, row: &SmartAccountRow, role: Option<Role>, virtual_accounts: Vec<i64>) -> AccountAccess {
    AccountAccess {
        account_id: row.id,
        kind: AccountKind::parse(&row.kind).unwrap_or(AccountKind::Customer),
        status: AccountStatus::parse(&row.status).unwrap_or(AccountStatus::Pending),
        role,
        virtual_accounts,
        operations: actor.is_operations(),
        requester: row.requested_by == actor.user_id.0,
    }
}

/// Loads several accounts for the actor at once, in a fixed number of
/// statements whatever their number; those the actor may not know are left
/// out (what [`load`] answers 404 for).
pub fn load_many(conn: &mut DbConnection, actor: &Actor, ids: &[i64]) -> DomainResult<Vec<AccountInContext>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = rows_with_acceptor(conn, ids)?;
    let roles = roles_with_vas(conn, actor, ids)?;
    let mut out = Vec::new();
    for id in ids {
        let Some((row, accepted_by)) = rows.iter().find(|(r, _)| r.id == *id) else { continue };
        let access = access_in(actor, row, &roles);
        if policy::account_permit(&access, Capability::ViewAccount).is_err() {
            continue;
        }
        out.push(AccountInContext { account: SmartAccount::from_row(row.clone(), accepted_by.clone()), access });
    }
    Ok(out)
}

/// Loads an account for the actor, or 404 when they may not know it exists.
pub fn load(conn: &mut DbConnection, actor: &Actor, account_id: i64) -> DomainResult<AccountInContext> {
    let (row, accepted_by) = rows_with_acceptor(conn, &[account_id])?.pop().ok_or(DomainError::NotFound)?;
    let access = access_in(actor, &row, &roles_with_vas(conn, actor, &[account_id])?);
    policy::account_permit(&access, Capability::ViewAccount)?;
    Ok(AccountInContext { account: SmartAccount::from_row(row, accepted_by), access })
}

/// Loads an account the actor may use for `capability` (404 / 403 otherwise).
pub fn load_for(conn: &mut DbConnection, actor: &Actor, account_id: i64, capability: Capability) -> DomainResult<AccountInContext> {
    let ctx = load(conn, actor, account_id)?;
    policy::account_permit(&ctx.access, capability)?;
    Ok(ctx)
}

/// Loads an account and a permit for `capability` on it (404 / 403 otherwise).
pub(crate) fn permit(
    conn: &mut DbConnection,
    actor: &Actor,
    account_id: i64,
    capability: Capability,
) -> DomainResult<(AccountInContext, Permit<OnAccount>)> {
    let ctx = load(conn, actor, account_id)?;
    let permit = policy::account_permit(&ctx.access, capability)?;
    Ok((ctx, permit))
}

/// A row of the "my accounts" list.
#[derive(Debug, Clone)]
pub struct AccountSummary {
    pub id: i64,
    pub name: String,
    pub domain: String,
    pub kind: AccountKind,
    pub status: AccountStatus,
    pub role: Option<Role>,
}

/// Where a page of "your smart accounts" starts: after this name key and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountCursor {
    pub name_key: String,
    pub id: i64,
}

impl AccountCursor {
    pub fn encode(&self) -> String {
        format!("{}:{}", self.id, self.name_key)
    }
    pub fn decode(s: &str) -> Option<AccountCursor> {
        let (id, name_key) = s.split_once(':')?;
        Some(AccountCursor { id: id.parse().ok()?, name_key: name_key.to_string() })
    }
}

/// A page of the accounts an actor holds a role in or requested.
#[derive(Debug, Clone, Default)]
pub struct AccountList {
    pub rows: Vec<AccountSummary>,
    /// Where the next page starts, if there is one.
    pub next: Option<AccountCursor>,
}

/// How many accounts a page of "your smart accounts" shows.
pub const ACCOUNTS_PAGE: i64 = 50;

/// Accounts the actor holds a role in, and those they requested, in name
/// order, `limit` after `after`: two index ranges that stop at a page, so
/// someone who requested a hundred thousand accounts gets a page as fast as
/// someone with one. Roles: all of them, or only these.
pub fn list_for(
    conn: &mut DbConnection,
    actor: &Actor,
    after: Option<&AccountCursor>,
    limit: i64,
    roles: Option<&[Role]>,
) -> DomainResult<AccountList> {
    use diesel::dsl::sql;
    use diesel::sql_types::{BigInt, Bool, Text};
    let beyond = |c: &AccountCursor| {
        sql::<Bool>("(smart_accounts.name_key, smart_accounts.id) > (")
            .bind::<Text, _>(c.name_key.clone())
            .sql(", ")
            .bind::<BigInt, _>(c.id)
            .sql(")")
    };
    let mut with_role = smart_accounts::table
        .inner_join(account_roles::table)
        .filter(account_roles::user_id.eq(actor.user_id.0))
        .select((SmartAccountRow::as_select(), account_roles::role))
        .order((smart_accounts::name_key, smart_accounts::id))
        .limit(limit + 1)
        .into_boxed();
    if let Some(c) = after {
        with_role = with_role.filter(beyond(c));
    }
    if let Some(roles) = roles {
        with_role = with_role.filter(crate::db::ids::texts_in(account_roles::role, &roles.iter().map(|r| r.as_str()).collect::<Vec<_>>()));
    }
    let with_role: Vec<(SmartAccountRow, String)> = with_role.load(conn)?;
    let mut out: Vec<(String, AccountSummary)> =
        with_role.into_iter().map(|(r, role)| (r.name_key.clone(), summary(r, Role::parse(&role)))).collect();
    if roles.is_none() {
        let mut requested = smart_accounts::table
            .filter(smart_accounts::requested_by.eq(actor.user_id.0))
            .select(SmartAccountRow::as_select())
            .order((smart_accounts::name_key, smart_accounts::id))
            .limit(limit + 1)
            .into_boxed();
        if let Some(c) = after {
            requested = requested.filter(beyond(c));
        }
        for r in requested.load::<SmartAccountRow>(conn)? {
            if !out.iter().any(|(_, a)| a.id == r.id) {
                out.push((r.name_key.clone(), summary(r, None)));
            }
        }
    }
    out.sort_by(|a, b| (&a.0, a.1.id).cmp(&(&b.0, b.1.id)));
    let more = out.len() as i64 > limit;
    out.truncate(limit.max(0) as usize);
    let next = if more { out.last().map(|(key, a)| AccountCursor { name_key: key.clone(), id: a.id }) } else { None };
    Ok(AccountList { rows: out.into_iter().map(|(_, a)| a).collect(), next })
}

fn summary(r: SmartAccountRow, role: Option<Role>) -> AccountSummary {
    AccountSummary {
        id: r.id,
        name: r.name,
        domain: r.domain,
        kind: AccountKind::parse(&r.kind).unwrap_or(AccountKind::Customer),
        status: AccountStatus::parse(&r.status).unwrap_or(AccountStatus::Pending),
        role,
    }
}

/// The virtual accounts the actor may see in an account: all of them for SA
/// roles and operations, only their own for VA roles.
pub fn virtual_accounts(conn: &mut DbConnection, ctx: &AccountInContext) -> DomainResult<Vec<VirtualAccountRow>> {
    policy::account_permit(&ctx.access, Capability::ViewUsers)?;
    let all: Vec<VirtualAccountRow> = virtual_accounts::table
        .filter(virtual_accounts::smart_account_id.eq(ctx.account.id))
        .select(VirtualAccountRow::as_select())
        .order((virtual_accounts::is_default.desc(), virtual_accounts::name_key))
        .load(conn)?;
    if ctx.access.role.is_some_and(Role::is_va_role) {
        Ok(all.into_iter().filter(|v| ctx.access.virtual_accounts.contains(&v.id)).collect())
    } else {
        Ok(all)
    }
}

/// A restriction on which accounts a search may return.
pub(crate) type AccountFilter =
    Box<dyn BoxableExpression<smart_accounts::table, crate::db::MultiBackend, SqlType = diesel::sql_types::Bool>>;

/// Where an account search looks: a restriction, and whether it names a
/// person's few accounts by id (the accounts of their roles), which are
/// then read by id and sorted, never found by walking the name range.
pub(crate) struct SearchSource {
    pub filter: AccountFilter,
    pub by_id: bool,
}

/// An account found by the beginning of its name or domain identifier.
#[derive(Debug, Clone, Queryable)]
pub(crate) struct PrefixMatch {
    pub id: i64,
    pub name_key: String,
    pub name: String,
    pub domain: String,
    pub kind: String,
    pub status: String,
}

/// Accounts (not rejected) whose lowercased name or domain identifier starts
/// with `q`, the first `limit` by name. `sources` names where to look: each is
/// a restriction an index serves (a company's accounts, those of a person's
/// roles, ...), and the accounts returned are those of any source; none means
/// every account. Each source's name range and domain range is read in order
/// and stops at `limit`, all in one statement, so the cost grows neither with
/// the number of accounts nor with how few of them a source holds. An empty
/// `q` lists the first accounts by name. `sources_text` numbers the text
/// `sources` writes (below 4; the same number, the same SQL, whatever the
/// ids bound in it): the statement is then kept prepared under its number
/// instead of having its text built again to find it.
pub(crate) fn prefix_matches(
    conn: &mut DbConnection,
    q: &str,
    kind: Option<AccountKind>,
    sources: &dyn Fn() -> Vec<SearchSource>,
    sources_text: Option<u8>,
    limit: i64,
) -> QueryResult<Vec<PrefixMatch>> {
    let upper = format!("{q}\u{10FFFF}");
    let mut members = Vec::new();
    let mut restricted = false;
    let fields: &[bool] = if q.is_empty() { &[false] } else { &[false, true] };
    for &by_domain in fields {
        let restrictions: Vec<Option<SearchSource>> = {
            let s = sources();
            if s.is_empty() {
                vec![None]
            } else {
                s.into_iter().map(Some).collect()
            }
        };
        for restrict in restrictions {
            let by_id = restrict.as_ref().is_some_and(|s| s.by_id);
            let mut query = smart_accounts::table
                .filter(smart_accounts::status.ne(AccountStatus::Rejected.as_str()))
                .select((
                    smart_accounts::id,
                    smart_accounts::name_key,
                    smart_accounts::name,
                    smart_accounts::domain,
                    smart_accounts::kind,
                    smart_accounts::status,
                ))
                .into_boxed::<crate::db::MultiBackend>();
            if let Some(kind) = kind {
                query = query.filter(smart_accounts::kind.eq(kind.as_str()));
            }
            if let Some(source) = restrict {
                restricted = true;
                query = query.filter(source.filter);
            }
            // A source of a few ids compares the name (or domain) as an
            // expression, which no index answers: both databases then read
            // the source's accounts by id, where at a few thousand accounts
            // SQLite would rather walk the whole name range.
            query = match (by_domain, by_id) {
                (true, false) => query.filter(smart_accounts::domain.ge(q.to_string())).filter(smart_accounts::domain.lt(upper.clone())),
                (false, false) => {
                    query.filter(smart_accounts::name_key.ge(q.to_string())).filter(smart_accounts::name_key.lt(upper.clone()))
                }
                (true, true) => query
                    .filter(smart_accounts::domain.concat("").ge(q.to_string()))
                    .filter(smart_accounts::domain.concat("").lt(upper.clone())),
                (false, true) => query
                    .filter(smart_accounts::name_key.concat("").ge(q.to_string()))
                    .filter(smart_accounts::name_key.concat("").lt(upper.clone())),
            };
            query = if by_domain {
                query.order((smart_accounts::domain, smart_accounts::id))
            } else {
                query.order((smart_accounts::name_key, smart_accounts::id))
            };
            members.push(query);
        }
    }
    let union = crate::db::union::UnionAll::limited(members, limit.max(0));
    // The text depends on the sources', on whether the domain is searched
    // too (a typed `q`) and the kind filtered, and on the limit.
    let variant = match (sources_text, limit) {
        (Some(text), 20) if text < 4 => text * 4 + u8::from(q.is_empty()) * 2 + u8::from(kind.is_some()),
        _ => u8::MAX,
    };
    struct PrefixUnion;
    let run = |conn: &mut DbConnection| crate::db::union::load_variant!(conn, PrefixUnion, variant, union);
    // A partner's union of sources takes far longer for PostgreSQL to plan
    // than to run, and its plan does not depend on the values; a search of
    // every account needs a plan for its prefix (an ordered walk of the
    // name range for a prefix most accounts share, a few rows read and
    // sorted for one that few do).
    let mut found: Vec<PrefixMatch> =
        if restricted { crate::db::with_generic_plan(conn, run)? } else { crate::db::with_custom_plan(conn, run)? };
    found.sort_by(|a, b| (&a.name_key, a.id).cmp(&(&b.name_key, b.id)));
    found.dedup_by_key(|m| m.id);
    found.truncate(limit.max(0) as usize);
    Ok(found)
}
