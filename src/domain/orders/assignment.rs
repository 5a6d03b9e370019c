//! Assigning orders to smart accounts: the holding account at the header, a
//! customer account (and VA) per line, for several lines, or at the order
//! level; the partner holding association; the search that offers only
//! accounts the actor may assign to; and the history of every change.

use diesel::prelude::*;

use crate::db::schema::{
    account_roles, assignment_events, companies, licenses, order_lines, orders, products, smart_accounts, users, virtual_accounts,
};
use crate::db::DbConnection;
use crate::domain::catalogue::SaRequirement;
use crate::domain::company::CompanyKind;
use crate::domain::error::{DomainResult, FieldErrors};
use crate::domain::orders::rules::{self, AssignmentHow, LineFacts, OrderStatus};
use crate::domain::orders::{bump, for_change, listing, load_row, notices, OrderRow};
use crate::domain::roles::{AccountKind, AccountStatus, Role};
use crate::domain::{Actor, DomainError};

pub(crate) fn record(
    conn: &mut DbConnection,
    order_id: i64,
    line_id: Option<i64>,
    actor: Option<i64>,
    how: AssignmentHow,
    target: &str,
    from: &str,
    to: &str,
) -> QueryResult<()> {
    // After a hand-off to a reseller, the reseller's side records; the
    // distributor sees "assigned by reseller" instead of the labels.
    let handed_off: Option<i64> = orders::table.find(order_id).select(orders::handoff_company_id).first(conn)?;
    insert_event(conn, order_id, line_id, actor, how, target, from, to, handed_off.is_some() && line_id.is_some())
}

#[allow(clippy::too_many_arguments)]
fn insert_event(
    conn: &mut DbConnection,
    order_id: i64,
    line_id: Option<i64>,
    actor: Option<i64>,
    how: AssignmentHow,
    target: &str,
    from: &str,
    to: &str,
    masked: bool,
) -> QueryResult<()> {
    diesel::insert_into(assignment_events::table)
        .values((
            assignment_events::order_id.eq(order_id),
            assignment_events::line_id.eq(line_id),
            assignment_events::actor_user_id.eq(actor),
            assignment_events::how.eq(how.as_str()),
            assignment_events::target.eq(target),
            assignment_events::from_label.eq(from),
            assignment_events::to_label.eq(to),
            assignment_events::created_at.eq(crate::db::now()),
            assignment_events::masked.eq(masked),
        ))
        .execute(conn)?;
    Ok(())
}

/// "Name (domain)" or "Name (domain) / VA", or "Not assigned".
pub(crate) fn label_of(conn: &mut DbConnection, account: Option<i64>, va: Option<i64>) -> QueryResult<String> {
    let Some(account) = account else { return Ok("Not assigned".into()) };
    let (name, domain): (String, String) =
        smart_accounts::table.find(account).select((smart_accounts::name, smart_accounts::domain)).first(conn)?;
    let va: Option<String> = match va {
        Some(v) => virtual_accounts::table.find(v).select(virtual_accounts::name).first(conn).optional()?,
        None => None,
    };
    Ok(match va {
        Some(v) => format!("{name} ({domain}) / {v}"),
        None => format!("{name} ({domain})"),
    })
}

use crate::domain::accounts::{AccountFilter, SearchSource};

/// Where the accounts the actor may assign orders to come from: those their
/// company owns, those they hold a role in (other than approver), and those a
/// colleague requested (pending accounts requested on a customer's behalf).
/// A distributor may also move an order to a reseller's holding account
/// (rule 9). `None` for operations, who may assign to any. Each source is a
/// restriction an index serves, so a search reads each source's own range and
/// stops at 20 matches however many accounts there are; `kind`, when known,
/// lets the owner source read only the owners that kind allows. With `hint`,
/// the colleagues' requests are marked as few (`InFew`), so that the planner
/// reads them by requester, not by name, even when its statistics see one
/// requester with most of the accounts.
fn assignable_sources(actor: &Actor, kind: Option<AccountKind>, hint: bool) -> Option<Vec<SearchSource>> {
    if actor.is_operations() {
        return None;
    }
    let company = actor.company_id.0;
    let roles = account_roles::table
        .filter(account_roles::user_id.eq(actor.user_id.0))
        .filter(account_roles::role.ne(Role::SaApprover.as_str()))
        .select(account_roles::smart_account_id);
    let colleagues = users::table.filter(users::company_id.eq(company)).select(users::id);
    let owner = smart_accounts::owner_company_id.assume_not_null();
    let owned: AccountFilter = if actor.company_kind != CompanyKind::Distributor {
        Box::new(owner.eq(company))
    } else {
        let owners =
            companies::table.filter(companies::kind.eq(CompanyKind::Reseller.as_str()).or(companies::id.eq(company))).select(companies::id);
        match kind {
            Some(AccountKind::Holding) => Box::new(owner.eq_any(owners)),
            Some(AccountKind::Customer) => Box::new(owner.eq(company)),
            None => Box::new(owner.eq(company).or(smart_accounts::kind.eq(AccountKind::Holding.as_str()).and(owner.eq_any(owners)))),
        }
    };
    let requested: AccountFilter = if hint {
        Box::new(crate::db::InFew(smart_accounts::requested_by, colleagues))
    } else {
        Box::new(smart_accounts::requested_by.eq_any(colleagues))
    };
    Some(vec![
        SearchSource { filter: owned, by_id: false },
        SearchSource { filter: Box::new(smart_accounts::id.eq_any(roles)), by_id: true },
        SearchSource { filter: requested, by_id: false },
    ])
}

/// Which of its few texts `assignable_sources(actor, Some(kind), true)`
/// writes: none (operations), the company's own, or a distributor's for
/// holding or for customer accounts.
fn assignable_text(actor: &Actor, kind: AccountKind) -> u8 {
    match (actor.is_operations(), actor.company_kind == CompanyKind::Distributor, kind) {
        (true, _, _) => 0,
        (false, false, _) => 1,
        (false, true, AccountKind::Holding) => 2,
        (false, true, AccountKind::Customer) => 3,
    }
}

/// The accounts the actor may assign orders to, as one filter: any of the sources.
fn assignable_filter(actor: &Actor) -> Option<AccountFilter> {
    let mut sources = assignable_sources(actor, None, false)?.into_iter().map(|s| s.filter);
    let first = sources.next()?;
    Some(sources.fold(first, |all, source| Box::new(all.or(source))))
}

/// Whether the actor may assign orders to this account.
pub fn may_assign_to(conn: &mut DbConnection, actor: &Actor, account_id: i64) -> QueryResult<bool> {
    let mut q = smart_accounts::table.filter(smart_accounts::id.eq(account_id)).into_boxed::<crate::db::MultiBackend>();
    if let Some(f) = assignable_filter(actor) {
        q = q.filter(f);
    }
    Ok(q.count().get_result::<i64>(conn)? == 1)
}

/// An account offered by the assignment search, with the VAs it shows.
#[derive(Debug, Clone)]
pub struct AccountOption {
    pub id: i64,
    pub name: String,
    pub domain: String,
    pub status: AccountStatus,
    pub virtual_accounts: Vec<(i64, String)>,
}

/// Accounts of the kind, assignable by the actor, whose lowercased name or
/// domain identifier starts with `q` (the first by name when `q` is empty):
/// at most 20, sorted by name. Flat in the number of accounts.
pub fn prefix_search(
    conn: &mut DbConnection,
    kind: AccountKind,
    actor: &Actor,
    q: &str,
) -> QueryResult<Vec<(i64, String, String, String)>> {
    let sources = || assignable_sources(actor, Some(kind), true).unwrap_or_default();
    let found = crate::domain::accounts::prefix_matches(conn, q, Some(kind), &sources, Some(assignable_text(actor, kind)), 20)?;
    Ok(found.into_iter().map(|m| (m.id, m.name, m.domain, m.status)).collect())
}

/// Rule 4: search by domain identifier or name within the chosen kind, among
/// accounts the actor may assign to. Public VAs show; a private VA only when
/// its exact name is typed.
pub fn search(conn: &mut DbConnection, actor: &Actor, kind: AccountKind, q: &str) -> DomainResult<Vec<AccountOption>> {
    let q = crate::domain::values::parse_search(q, 200).map_err(|m| FieldErrors::single("q", m))?.to_lowercase();
    let mut rows = prefix_search(conn, kind, actor, &q)?;
    // One statement for the virtual accounts: the public ones of the
    // accounts found and, for a typed name, the private ones of exactly that
    // name wherever they are (judged below, rarely any).
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut parts = Vec::new();
    if !ids.is_empty() {
        parts.push(
            virtual_accounts::table
                .filter(crate::db::ids::ids_in(virtual_accounts::smart_account_id, &ids))
                .filter(virtual_accounts::is_public.eq(true))
                .select(VaRow::as_select())
                .into_boxed::<crate::db::MultiBackend>(),
        );
    }
    if !q.is_empty() {
        // `NOT is_public` written out, not bound: the plan knows it asks for
        // the private VAs (few, judged by the column's statistics) and
        // reads them through the name index, on a generic plan too.
        parts.push(
            virtual_accounts::table
                .filter(diesel::dsl::not(virtual_accounts::is_public))
                .filter(virtual_accounts::name_key.eq(q.clone()))
                .select(VaRow::as_select())
                .limit(50)
                .into_boxed(),
        );
    }
    let mut vas: Vec<VaRow> = if parts.is_empty() { Vec::new() } else { crate::db::union::UnionAll::new(parts).load(conn)? };
    let candidates: Vec<VaRow> = {
        let (public, private): (Vec<VaRow>, Vec<VaRow>) = vas.into_iter().partition(|v| v.is_public);
        vas = public;
        private
    };
    vas.sort_by(|a, b| (!a.is_default, &a.name_key).cmp(&(!b.is_default, &b.name_key)));
    let private_hits: Vec<VaRow> = if candidates.is_empty() {
        Vec::new()
    } else {
        let accounts: Vec<i64> = candidates.iter().map(|c| c.account).collect();
        let mut q = smart_accounts::table
            .filter(crate::db::ids::ids_in(smart_accounts::id, &accounts))
            .select(smart_accounts::id)
            .into_boxed::<crate::db::MultiBackend>();
        if let Some(f) = assignable_filter(actor) {
            q = q.filter(f);
        }
        let allowed: Vec<i64> = q.load(conn)?;
        candidates.into_iter().filter(|c| allowed.contains(&c.account)).collect()
    };
    let private_accounts: Vec<i64> = private_hits.iter().map(|h| h.account).filter(|a| !ids.contains(a)).collect();
    if !private_accounts.is_empty() {
        let extra: Vec<(i64, String, String, String)> = smart_accounts::table
            .filter(crate::db::ids::ids_in(smart_accounts::id, &private_accounts))
            .filter(smart_accounts::kind.eq(kind.as_str()))
            .select((smart_accounts::id, smart_accounts::name, smart_accounts::domain, smart_accounts::status))
            .load(conn)?;
        for r in extra {
            if !rows.iter().any(|x| x.0 == r.0) {
                rows.push(r);
            }
        }
    }
    Ok(rows
        .into_iter()
        .map(|(id, name, domain, status)| AccountOption {
            virtual_accounts: vas.iter().chain(private_hits.iter()).filter(|v| v.account == id).map(|v| (v.id, v.name.clone())).collect(),
            id,
            name,
            domain,
            status: AccountStatus::parse(&status).unwrap_or(AccountStatus::Pending),
        })
        .collect())
}

/// A virtual account as the assignment search reads it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = virtual_accounts)]
struct VaRow {
    #[diesel(column_name = smart_account_id)]
    account: i64,
    id: i64,
    name: String,
    name_key: String,
    is_public: bool,
    is_default: bool,
}

pub(crate) struct Target {
    pub id: i64,
    pub kind: AccountKind,
    pub status: AccountStatus,
    pub va: Option<i64>,
    pub va_in_account: bool,
    pub owner: Option<i64>,
}

/// Loads the chosen account (404 unless assignable by the actor) and checks the VA.
pub(crate) fn target(conn: &mut DbConnection, actor: &Actor, account_id: i64, va: Option<i64>) -> DomainResult<Target> {
    let row: Option<(String, String, Option<i64>)> = smart_accounts::table
        .find(account_id)
        .select((smart_accounts::kind, smart_accounts::status, smart_accounts::owner_company_id))
        .first(conn)
        .optional()?;
    let (kind, status, owner) = row.ok_or_else(|| FieldErrors::single("account_id", "Choose an account from the search results."))?;
    let kind = AccountKind::parse(&kind).unwrap_or(AccountKind::Customer);
    if !may_assign_to(conn, actor, account_id)? {
        return Err(FieldErrors::single("account_id", "You cannot assign orders to that smart account.").into());
    }
    let va_in_account = match va {
        Some(v) => {
            virtual_accounts::table.find(v).filter(virtual_accounts::smart_account_id.eq(account_id)).count().get_result::<i64>(conn)? == 1
        }
        None => true,
    };
    Ok(Target { id: account_id, kind, status: AccountStatus::parse(&status).unwrap_or(AccountStatus::Pending), va, va_in_account, owner })
}

fn refused(e: rules::AssignmentError) -> DomainError {
    FieldErrors::single("account_id", e.message()).into()
}

/// After submission, a change of assignment is a reassignment.
fn how_for(order: &OrderRow, before_submit: AssignmentHow) -> AssignmentHow {
    match order.status() {
        OrderStatus::Quote | OrderStatus::Draft => before_submit,
        _ => AssignmentHow::Reassignment,
    }
}

pub(crate) fn default_va(conn: &mut DbConnection, account: i64) -> QueryResult<Option<i64>> {
    virtual_accounts::table
        .filter(virtual_accounts::smart_account_id.eq(account))
        .filter(virtual_accounts::is_default.eq(true))
        .select(virtual_accounts::id)
        .first(conn)
        .optional()
}

/// Puts a holding account (and its VA, else the default VA) at the header
/// (rule 2: only there, only one), or removes it. A distributor moving a
/// submitted order to a reseller's holding account hands it over (rule 9);
/// the new holding account's users are told an assignment is required.
pub fn set_holding(
    conn: &mut DbConnection,
    actor: &Actor,
    order_id: i64,
    account_id: Option<i64>,
    va: Option<i64>,
    version: i32,
    base_url: &str,
) -> DomainResult<()> {
    crate::db::transaction(conn, |conn| {
        let order = for_change(conn, actor, order_id, Some(version))?;
        let mut owner = None;
        let mut holding_va = None;
        if let Some(id) = account_id {
            let t = target(conn, actor, id, va)?;
            rules::check_header_holding(order.status(), t.kind, t.status).map_err(refused)?;
            if !t.va_in_account {
                return Err(refused(rules::AssignmentError::VirtualAccountOfAnotherAccount));
            }
            owner = t.owner;
            holding_va = match t.va {
                Some(v) => Some(v),
                None => default_va(conn, id)?,
            };
        } else {
            rules::assignment_open(order.status()).map_err(refused)?;
            rules::check_holding_removal(&order_facts(conn, &order)?)
                .map_err(|m| DomainError::from(FieldErrors::single("account_id", m)))?;
        }
        if order.holding_account_id == account_id && order.holding_virtual_account_id == holding_va {
            return Ok(());
        }
        let from = label_of(conn, order.holding_account_id, order.holding_virtual_account_id)?;
        let to = label_of(conn, account_id, holding_va)?;
        let owner_kind: Option<String> = match owner {
            Some(c) => companies::table.find(c).select(companies::kind).first(conn).optional()?,
            None => None,
        };
        let handoff = match owner {
            Some(c) if c != order.company_id && owner_kind.as_deref() == Some(CompanyKind::Reseller.as_str()) => Some(c),
            _ => None,
        };
        let moved = order.holding_account_id != account_id;
        let submitted = !order.status().items_editable();
        diesel::update(orders::table.find(order_id))
            .set((
                orders::holding_account_id.eq(account_id),
                orders::holding_virtual_account_id.eq(holding_va),
                orders::handoff_company_id.eq(handoff),
                orders::handoff_at.eq(if handoff.is_some() {
                    order.handoff_at.filter(|_| order.handoff_company_id == handoff).or(Some(crate::db::now()))
                } else {
                    None
                }),
            ))
            .execute(conn)?;
        if moved && submitted {
            // The wait in the new holding account starts now, with its own reminders.
            diesel::update(orders::table.find(order_id))
                .set((
                    orders::waiting_since.eq(None::<chrono::NaiveDateTime>),
                    orders::sa_rank.eq(listing::RANK_NONE),
                    orders::reminders_sent.eq(0),
                ))
                .execute(conn)?;
        }
        let how = how_for(&order, if has_lines(conn, order_id)? { AssignmentHow::Header } else { AssignmentHow::PreAssignment });
        record(conn, order_id, None, Some(actor.user_id.0), how, "Header: holding account", &from, &to)?;
        bump(conn, &order)?;
        listing::refresh(conn, order_id)?;
        let after = load_row(conn, order_id)?;
        if moved && submitted && after.sa_rank == listing::RANK_NOT_ASSIGNED {
            notices::assignment_required(conn, &after, base_url)?;
        }
        Ok(())
    })
}

fn has_lines(conn: &mut DbConnection, order_id: i64) -> QueryResult<bool> {
    Ok(order_lines::table.filter(order_lines::order_id.eq(order_id)).count().get_result::<i64>(conn)? > 0)
}

/// (line id, line no, requirement, account, va, licenses deposited, sku, parent)
type LineState = (i64, i32, String, Option<i64>, Option<i64>, bool, String, Option<i64>);

fn line_states(conn: &mut DbConnection, order_id: i64) -> QueryResult<Vec<LineState>> {
    let rows: Vec<(i64, i32, String, Option<i64>, Option<i64>, Option<chrono::NaiveDateTime>, String, Option<i64>)> = order_lines::table
        .inner_join(products::table)
        .filter(order_lines::order_id.eq(order_id))
        .order(order_lines::line_no)
        .select((
            order_lines::id,
            order_lines::line_no,
            products::sa_requirement,
            order_lines::account_id,
            order_lines::virtual_account_id,
            order_lines::licenses_deposited_at,
            products::sku,
            order_lines::parent_line_id,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(|(id, no, req, a, v, d, sku, p)| (id, no, req, a, v, d.is_some(), sku, p)).collect())
}

/// Each line's facts, named as refusals name them ("1.2 in kit 1.0").
fn facts_all(states: &[LineState]) -> Vec<LineFacts> {
    let refs = references(states);
    states.iter().zip(refs).map(|(l, r)| LineFacts { reference: r, ..facts_of(l) }).collect()
}

fn references(states: &[LineState]) -> Vec<String> {
    rules::line_references(&states.iter().map(|l| (l.0, l.1, l.7)).collect::<Vec<_>>())
}

fn facts_of(l: &LineState) -> LineFacts {
    LineFacts {
        id: l.0,
        line_no: l.1,
        reference: l.1.to_string(),
        label: l.6.clone(),
        requirement: SaRequirement::parse(&l.2),
        is_minor: l.7.is_some(),
        customer_account: l.3,
        // Licenses parked in a holding account still follow a reassignment.
        deposited: l.5 && l.3.is_some(),
    }
}

/// The facts the rules judge an order by.
pub(crate) fn order_facts(conn: &mut DbConnection, order: &OrderRow) -> QueryResult<rules::OrderFacts> {
    Ok(rules::OrderFacts {
        status: order.status(),
        order_type: order.order_type(),
        holding_account: order.holding_account_id,
        lines: facts_all(&line_states(conn, order.id)?),
    })
}

/// Sets one line's customer account; licenses parked in the holding account
/// move with it. Returns whether licenses moved (they are delivered).
fn apply_to_line(
    conn: &mut DbConnection,
    actor: &Actor,
    order: &OrderRow,
    l: &LineState,
    t: &Target,
    how: AssignmentHow,
    to: &str,
) -> DomainResult<bool> {
    let from = label_of(conn, l.3, l.4)?;
    diesel::update(order_lines::table.find(l.0))
        .set((order_lines::account_id.eq(t.id), order_lines::virtual_account_id.eq(t.va)))
        .execute(conn)?;
    record(conn, order.id, Some(l.0), Some(actor.user_id.0), how, &format!("Line {}", l.1), &from, to)?;
    if !l.5 {
        return Ok(false);
    }
    let va = match t.va {
        Some(v) => Some(v),
        None => default_va(conn, t.id)?,
    };
    let Some(va) = va else { return Ok(false) };
    let n = diesel::update(licenses::table.filter(licenses::order_line_id.eq(l.0)))
        .set((licenses::smart_account_id.eq(t.id), licenses::virtual_account_id.eq(va)))
        .execute(conn)?;
    Ok(n > 0)
}

/// Assigns a customer account (and VA) to the chosen lines (rule 3), all or nothing.
#[allow(clippy::too_many_arguments)]
pub fn assign_lines(
    conn: &mut DbConnection,
    actor: &Actor,
    order_id: i64,
    line_ids: &[i64],
    account_id: i64,
    va: Option<i64>,
    version: i32,
    base_url: &str,
) -> DomainResult<usize> {
    if line_ids.is_empty() {
        return Err(FieldErrors::single("lines", "Select the lines to assign.").into());
    }
    crate::db::transaction(conn, |conn| {
        let order = for_change(conn, actor, order_id, Some(version))?;
        let t = target(conn, actor, account_id, va)?;
        let states = line_states(conn, order_id)?;
        let chosen: Vec<&LineState> = states.iter().filter(|l| line_ids.contains(&l.0)).collect();
        if chosen.len() != line_ids.len() {
            return Err(DomainError::NotFound);
        }
        let refs = references(&states);
        for l in &chosen {
            let reference = states.iter().position(|s| s.0 == l.0).map(|i| refs[i].clone()).unwrap_or_default();
            rules::check_line_assignment(order.status(), &facts_of(l), t.kind, t.status, t.va_in_account)
                .map_err(|e| DomainError::from(FieldErrors::single("account_id", format!("Line {reference}: {}", e.message()))))?;
        }
        let to = label_of(conn, Some(t.id), t.va)?;
        let how = how_for(&order, AssignmentHow::Line);
        let mut changed = 0;
        let mut delivered = Vec::new();
        for l in chosen {
            if l.3 == Some(t.id) && l.4 == t.va {
                continue;
            }
            if apply_to_line(conn, actor, &order, l, &t, how, &to)? {
                delivered.push(l.0);
            }
            changed += 1;
        }
        bump(conn, &order)?;
        listing::refresh(conn, order_id)?;
        notices::delivery(conn, &order, t.id, &delivered, base_url)?;
        Ok(changed)
    })
}

/// Sets the customer account at the order level: before items are added this
/// is the pre-assignment (it cascades to lines added later too); afterwards it
/// sets every line that takes an account and may still change.
pub fn set_order_level(
    conn: &mut DbConnection,
    actor: &Actor,
    order_id: i64,
    account_id: i64,
    va: Option<i64>,
    version: i32,
    base_url: &str,
) -> DomainResult<usize> {
    crate::db::transaction(conn, |conn| {
        let order = for_change(conn, actor, order_id, Some(version))?;
        let t = target(conn, actor, account_id, va)?;
        let changed = order_level(conn, actor, &order, &t)?;
        bump(conn, &order)?;
        listing::refresh(conn, order_id)?;
        notices::delivery(conn, &order, t.id, &changed.1, base_url)?;
        Ok(changed.0)
    })
}

/// The order-level assignment of one order, inside the caller's transaction:
/// (lines changed, lines whose parked licenses moved).
fn order_level(conn: &mut DbConnection, actor: &Actor, order: &OrderRow, t: &Target) -> DomainResult<(usize, Vec<i64>)> {
    if t.kind == AccountKind::Holding {
        return Err(refused(rules::AssignmentError::HoldingOnlyAtHeader).into_header_hint());
    }
    if !t.status.accepts_orders() {
        return Err(refused(rules::AssignmentError::AccountNotAccepting));
    }
    if !t.va_in_account {
        return Err(refused(rules::AssignmentError::VirtualAccountOfAnotherAccount));
    }
    rules::assignment_open(order.status()).map_err(refused)?;
    let states = line_states(conn, order.id)?;
    let pre = states.is_empty();
    let to = label_of(conn, Some(t.id), t.va)?;
    if order.status().items_editable() {
        let from = label_of(conn, order.default_account_id, order.default_virtual_account_id)?;
        diesel::update(orders::table.find(order.id))
            .set((orders::default_account_id.eq(t.id), orders::default_virtual_account_id.eq(t.va)))
            .execute(conn)?;
        if from != to {
            let how = if pre { AssignmentHow::PreAssignment } else { AssignmentHow::OrderLevel };
            record(conn, order.id, None, Some(actor.user_id.0), how, "Header: customer account for all lines", &from, &to)?;
        }
    }
    let how = how_for(order, AssignmentHow::OrderLevel);
    let mut changed = 0;
    let mut delivered = Vec::new();
    for l in &states {
        let f = facts_of(l);
        if !f.requirement.takes_account() || (l.3 == Some(t.id) && l.4 == t.va) {
            continue;
        }
        if rules::check_line_assignment(order.status(), &f, t.kind, t.status, t.va_in_account).is_err() {
            continue;
        }
        if apply_to_line(conn, actor, order, l, t, how, &to)? {
            delivered.push(l.0);
        }
        changed += 1;
    }
    Ok((changed, delivered))
}

trait HeaderHint {
    fn into_header_hint(self) -> DomainError;
}

impl HeaderHint for DomainError {
    fn into_header_hint(self) -> DomainError {
        FieldErrors::single(
            "account_id",
            "A holding account goes to the order header: choose \"Holding\" there. Lines and the order level take customer accounts.",
        )
        .into()
    }
}

/// Where a bulk reassignment moves orders.
#[derive(Debug, Clone, Copy)]
pub enum BulkTarget {
    /// A customer account (and VA) for every eligible line.
    Customer { account: i64, va: Option<i64> },
    /// A (reseller's) holding account at the header.
    Holding { account: i64 },
}

/// What a bulk reassignment did, order by order.
#[derive(Debug, Clone, Default)]
pub struct BulkSummary {
    /// (order id, lines changed)
    pub moved: Vec<(i64, usize)>,
    /// (order id, why not)
    pub refused: Vec<(i64, String)>,
    /// Where the orders went: the account (and virtual account), as history names it.
    pub to: String,
}

/// What the user saw of an order when they chose it for a bulk move: an
/// order changed since is refused, never overwritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// The order's version on the list it was selected from.
    Version(i32),
    /// "All matching": the assignment changes committed when the list was
    /// loaded; any other change to the order refuses it.
    UpTo(Snapshot),
}

/// Which assignment changes a list had seen when it was loaded, carried by
/// the list's bulk form for "all matching".
///
/// The newest change's id bounds it on both databases. SQLite commits one
/// writer at a time, in id order, so that bound is exact there. PostgreSQL
/// allocates ids before commit: a change whose id is below the bound may
/// still have been in flight when the list was read. There the token also
/// carries the database snapshot (`pg_current_snapshot()`), and each change
/// records its transaction (`assignment_events.xact`), so a change that
/// snapshot could not see counts as unseen whatever its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    bound: i64,
    /// `xmin:xmax:xip,…` as PostgreSQL writes a `pg_snapshot`.
    pg: Option<String>,
}

impl Snapshot {
    /// The snapshot of the newest change's id and, on PostgreSQL, the
    /// database's snapshot (`xmin:xmax:xip`) of the same moment.
    pub fn at(bound: i64, pg: Option<String>) -> Snapshot {
        Snapshot { bound, pg }
    }

    /// The newest change's id.
    pub fn bound(&self) -> i64 {
        self.bound
    }
}

impl std::fmt::Display for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.pg {
            Some(pg) => write!(f, "{}@{}", self.bound, pg),
            None => write!(f, "{}", self.bound),
        }
    }
}

/// Why a snapshot token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSnapshot;

impl std::str::FromStr for Snapshot {
    type Err = BadSnapshot;

    /// Accepts exactly what [`Snapshot`]'s `Display` writes: a token is
    /// user input, so a PostgreSQL snapshot is checked here as PostgreSQL
    /// would (xmin ≤ xmax, in-progress ids within them and ascending)
    /// before it ever reaches the database.
    fn from_str(s: &str) -> Result<Snapshot, BadSnapshot> {
        const MAX_IN_PROGRESS: usize = 10_000;
        let number = |t: &str| -> Result<u64, BadSnapshot> {
            if t.is_empty() || t.len() > 20 || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(BadSnapshot);
            }
            t.parse().map_err(|_| BadSnapshot)
        };
        let (bound, pg) = match s.split_once('@') {
            Some((b, pg)) => (b, Some(pg)),
            None => (s, None),
        };
        let bound = i64::try_from(number(bound)?).map_err(|_| BadSnapshot)?;
        let Some(pg) = pg else { return Ok(Snapshot { bound, pg: None }) };
        let mut parts = pg.splitn(3, ':');
        let (xmin, xmax, xip) = match (parts.next(), parts.next(), parts.next()) {
            (Some(a), Some(b), Some(c)) => (number(a)?, number(b)?, c),
            _ => return Err(BadSnapshot),
        };
        if xmin == 0 || xmin > xmax || xmax > i64::MAX as u64 {
            return Err(BadSnapshot);
        }
        if !xip.is_empty() {
            let mut last = xmin;
            for (i, t) in xip.split(',').enumerate() {
                let x = number(t)?;
                if i >= MAX_IN_PROGRESS || x < last || x >= xmax {
                    return Err(BadSnapshot);
                }
                last = x;
            }
        }
        Ok(Snapshot { bound, pg: Some(pg.to_string()) })
    }
}

/// What a list loaded now has seen, taken before the list is read: a
/// change committed after it refuses a bulk move of "all matching".
pub fn snapshot(conn: &mut DbConnection) -> DomainResult<Snapshot> {
    match conn {
        DbConnection::Postgresql(_) => {
            use diesel::dsl::sql;
            use diesel::sql_types::{BigInt, Text};
            // One statement: the bound and the snapshot are of one moment.
            // It has no parameters, so its one plan is kept prepared
            // (`Fixed`) rather than parsed and planned on every list page.
            struct ListSnapshot;
            let (bound, snap): (i64, String) = crate::db::union::Fixed::<ListSnapshot, _>::new(
                assignment_events::table.select((sql::<BigInt>("COALESCE(MAX(id), 0)"), sql::<Text>("pg_current_snapshot()::text"))),
            )
            .get_result(conn)?;
            Ok(Snapshot { bound, pg: Some(snap) })
        }
        DbConnection::Sqlite(_) => {
            let max: Option<i64> = assignment_events::table.select(diesel::dsl::max(assignment_events::id)).first(conn)?;
            Ok(Snapshot { bound: max.unwrap_or(0), pg: None })
        }
    }
}

/// Refuses an order changed since the user saw it, saying by whom as far as
/// the user may know ("you", in another window, or "someone else").
fn unchanged_since(conn: &mut DbConnection, actor: &Actor, order: &OrderRow, seen: &Seen) -> DomainResult<()> {
    let changed = match seen {
        Seen::Version(v) => *v != order.version,
        Seen::UpTo(snap) => changed_among(conn, &[order.id], snap)?.contains(&order.id),
    };
    if !changed {
        return Ok(());
    }
    Err(changed_since_seen(conn, actor, order)?)
}

/// The refusal of an order changed since the user saw it.
fn changed_since_seen(conn: &mut DbConnection, actor: &Actor, order: &OrderRow) -> DomainResult<DomainError> {
    let last: Option<Option<i64>> = assignment_events::table
        .filter(assignment_events::order_id.eq(order.id))
        .order(assignment_events::id.desc())
        .select(assignment_events::actor_user_id)
        .first(conn)
        .optional()?;
    let who = match last.flatten() {
        Some(u) if u == actor.user_id.0 => "you (in another window)",
        _ => "someone else",
    };
    Ok(DomainError::Conflict(format!(
        "{} was changed by {who} since you loaded the list, so it was left as it is now. Load the list again to see it.",
        order.web_order_id()
    )))
}

/// Moves many orders at once; each order all or nothing, in its own
/// transaction, judged by the same rules as one at a time, and only if it
/// is still as the user saw it.
pub fn bulk_reassign(
    conn: &mut DbConnection,
    actor: &Actor,
    orders_seen: &[(i64, Seen)],
    to: BulkTarget,
    base_url: &str,
) -> DomainResult<BulkSummary> {
    let mut summary = BulkSummary::default();
    let (account, va) = match to {
        BulkTarget::Customer { account, va } => (account, va),
        BulkTarget::Holding { account } => (account, None),
    };
    // The target is judged once; an unusable one refuses the whole request.
    let t = target(conn, actor, account, va)?;
    match (to, t.kind) {
        (BulkTarget::Customer { .. }, AccountKind::Holding) => {
            return Err(refused(rules::AssignmentError::HoldingOnlyAtHeader).into_header_hint())
        }
        (BulkTarget::Holding { .. }, AccountKind::Customer) => return Err(refused(rules::AssignmentError::NotAHoldingAccount)),
        _ => {}
    }
    let mut ids: Vec<(i64, Seen)> = orders_seen.to_vec();
    ids.sort_by_key(|(id, _)| *id);
    ids.dedup_by_key(|(id, _)| *id);
    if let BulkTarget::Customer { .. } = to {
        return bulk_to_customer(conn, actor, &ids, &t, base_url);
    }
    summary.to = label_of(conn, Some(t.id), None)?;
    for (id, seen) in ids {
        let result = crate::db::transaction(conn, |conn| -> DomainResult<usize> {
            let order = for_change(conn, actor, id, None)?;
            unchanged_since(conn, actor, &order, &seen)?;
            if order.status().items_editable() {
                return Err(DomainError::Conflict("It has not been submitted yet; assign it on its order page.".into()));
            }
            match to {
                BulkTarget::Customer { .. } => {
                    let (n, delivered) = order_level(conn, actor, &order, &t)?;
                    if n == 0 {
                        return Err(DomainError::Conflict("No line of it can take that account now.".into()));
                    }
                    bump(conn, &order)?;
                    listing::refresh(conn, id)?;
                    notices::delivery(conn, &order, t.id, &delivered, base_url)?;
                    Ok(n)
                }
                BulkTarget::Holding { account } => {
                    set_holding(conn, actor, id, Some(account), None, order.version, base_url)?;
                    Ok(1)
                }
            }
        });
        tally(&mut summary, id, result)?;
    }
    Ok(summary)
}

fn tally(summary: &mut BulkSummary, id: i64, result: DomainResult<usize>) -> DomainResult<()> {
    match result {
        Ok(n) => summary.moved.push((id, n)),
        Err(DomainError::NotFound) => summary.refused.push((id, "Not found.".into())),
        Err(DomainError::Forbidden) => summary.refused.push((id, "You cannot change this order's assignments.".into())),
        Err(DomainError::Conflict(m)) => summary.refused.push((id, m)),
        Err(DomainError::Invalid(e)) => summary.refused.push((id, e.joined())),
        Err(e) => return Err(e),
    }
    Ok(())
}

/// The bulk move to a customer account. The orders, their lines and the
/// actor's audience are read once for all orders; each order is then judged
/// by the same rules as one at a time (visibility, `check_line_assignment`,
/// `listing_state`). The orders of a chunk are written in one transaction:
/// they are locked and their versions checked as any edit's (an order
/// changed since it was read, or since the list was loaded, is refused and
/// left as it is), then their lines, history and listing state are written
/// a few statements for the whole chunk, whatever its size.
fn bulk_to_customer(conn: &mut DbConnection, actor: &Actor, seen: &[(i64, Seen)], t: &Target, base_url: &str) -> DomainResult<BulkSummary> {
    let ids: Vec<i64> = seen.iter().map(|(id, _)| *id).collect();
    let seen: std::collections::HashMap<i64, Seen> = seen.iter().cloned().collect();
    use crate::domain::orders::visibility;
    let mut summary = BulkSummary::default();
    let audience = visibility::audience(conn, actor)?;
    let to = label_of(conn, Some(t.id), t.va)?;
    summary.to = to.clone();
    let mut labels: std::collections::HashMap<(Option<i64>, Option<i64>), String> = std::collections::HashMap::new();
    let now = crate::db::now();
    for chunk in ids.chunks(500) {
        let rows: Vec<OrderRow> = orders::table.filter(orders::id.eq_any(chunk)).select(OrderRow::as_select()).load(conn)?;
        let mut all_lines: Vec<(i64, LineState)> = order_lines::table
            .inner_join(products::table)
            .filter(order_lines::order_id.eq_any(chunk))
            .order((order_lines::order_id, order_lines::line_no))
            .select((
                order_lines::order_id,
                (
                    order_lines::id,
                    order_lines::line_no,
                    products::sa_requirement,
                    order_lines::account_id,
                    order_lines::virtual_account_id,
                    order_lines::licenses_deposited_at.is_not_null(),
                    products::sku,
                    order_lines::parent_line_id,
                ),
            ))
            .load(conn)?;
        let mut judged: Vec<(&OrderRow, Vec<LineState>)> = Vec::new();
        for &id in chunk {
            let Some(order) = rows.iter().find(|o| o.id == id) else {
                summary.refused.push((id, "Not found.".into()));
                continue;
            };
            let lines: Vec<LineState> = all_lines.iter().filter(|(o, _)| *o == id).map(|(_, l)| l.clone()).collect();
            all_lines.retain(|(o, _)| *o != id);
            let access = order.access(lines.iter().map(|l| visibility::LineAccess { id: l.0, account: l.3, va: l.4 }).collect());
            let sight = visibility::sight(&audience, &access);
            let refusal = if !sight.any() {
                DomainError::NotFound
            } else if sight != visibility::Sight::Whole || !visibility::may_reassign(&audience, &access) {
                DomainError::Forbidden
            } else if order.status().items_editable() {
                DomainError::Conflict("It has not been submitted yet; assign it on its order page.".into())
            } else {
                judged.push((order, lines));
                continue;
            };
            tally(&mut summary, id, Err(refusal))?;
        }
        if judged.is_empty() {
            continue;
        }
        let outcomes = crate::db::transaction(conn, |conn| move_chunk(conn, actor, &judged, &seen, t, &to, &mut labels, now, base_url))?;
        for (id, result) in outcomes {
            tally(&mut summary, id, result)?;
        }
    }
    summary.moved.sort_by_key(|m| m.0);
    summary.refused.sort_by_key(|r| r.0);
    Ok(summary)
}

/// The current versions of these orders, locked until the transaction ends
/// (SQLite's write transaction holds the whole database already).
fn lock_versions(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<std::collections::HashMap<i64, i32>> {
    #[derive(diesel::QueryableByName)]
    struct Locked {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        version: i32,
    }
    let rows: Vec<(i64, i32)> = match conn {
        DbConnection::Postgresql(pg) => diesel::sql_query("SELECT id, version FROM orders WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(ids)
            .load::<Locked>(pg)?
            .into_iter()
            .map(|l| (l.id, l.version))
            .collect(),
        DbConnection::Sqlite(_) => orders::table.filter(orders::id.eq_any(ids)).select((orders::id, orders::version)).load(conn)?,
    };
    Ok(rows.into_iter().collect())
}

/// Which of these orders have an assignment change the snapshot did not see.
fn changed_among(conn: &mut DbConnection, ids: &[i64], snap: &Snapshot) -> DomainResult<std::collections::HashSet<i64>> {
    #[derive(diesel::QueryableByName)]
    struct Changed {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        order_id: i64,
    }
    if let (DbConnection::Postgresql(pg), Some(taken)) = (&mut *conn, &snap.pg) {
        use diesel::sql_types::{Array, BigInt, Text};
        let rows: Vec<Changed> = diesel::sql_query(
            "SELECT DISTINCT order_id FROM assignment_events WHERE order_id = ANY($1) \
             AND (id > $2 OR (xact IS NOT NULL AND NOT pg_visible_in_snapshot(xact, $3::pg_snapshot)))",
        )
        .bind::<Array<BigInt>, _>(ids)
        .bind::<BigInt, _>(snap.bound)
        .bind::<Text, _>(taken)
        .load(pg)?;
        return Ok(rows.into_iter().map(|r| r.order_id).collect());
    }
    let rows: Vec<i64> = assignment_events::table
        .filter(assignment_events::order_id.eq_any(ids))
        .filter(assignment_events::id.gt(snap.bound))
        .select(assignment_events::order_id)
        .distinct()
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// One order of a chunk as it will be written.
struct Planned<'a> {
    order: &'a OrderRow,
    plain: Vec<&'a LineState>,
    parked: Vec<&'a LineState>,
    lines: &'a [LineState],
    eligible: usize,
}

/// Writes a chunk of judged orders; the result of each. Runs in the chunk's
/// transaction.
#[allow(clippy::too_many_arguments)]
fn move_chunk(
    conn: &mut DbConnection,
    actor: &Actor,
    judged: &[(&OrderRow, Vec<LineState>)],
    seen: &std::collections::HashMap<i64, Seen>,
    t: &Target,
    to: &str,
    labels: &mut std::collections::HashMap<(Option<i64>, Option<i64>), String>,
    now: chrono::NaiveDateTime,
    base_url: &str,
) -> DomainResult<Vec<(i64, DomainResult<usize>)>> {
    let ids: Vec<i64> = judged.iter().map(|(o, _)| o.id).collect();
    let versions = lock_versions(conn, &ids)?;
    let mut changed = std::collections::HashSet::new();
    let mut snapshots: Vec<&Snapshot> = Vec::new();
    for id in &ids {
        if let Some(Seen::UpTo(snap)) = seen.get(id) {
            if !snapshots.contains(&snap) {
                snapshots.push(snap);
            }
        }
    }
    for snap in snapshots {
        let of_snap: Vec<i64> = ids.iter().copied().filter(|id| matches!(seen.get(id), Some(Seen::UpTo(s)) if s == snap)).collect();
        changed.extend(changed_among(conn, &of_snap, snap)?);
    }
    let mut outcomes: Vec<(i64, DomainResult<usize>)> = Vec::new();
    let mut planned: Vec<Planned> = Vec::new();
    for (order, lines) in judged {
        let was_changed = match seen.get(&order.id) {
            Some(Seen::Version(v)) => *v != order.version,
            Some(Seen::UpTo(_)) => changed.contains(&order.id),
            None => true,
        };
        if was_changed {
            outcomes.push((order.id, Err(changed_since_seen(conn, actor, order)?)));
            continue;
        }
        if versions.get(&order.id) != Some(&order.version) {
            let m = format!("{} was changed by someone else at the same moment.", order.web_order_id());
            outcomes.push((order.id, Err(DomainError::Conflict(m))));
            continue;
        }
        match plan_move(order, lines, t) {
            Ok(p) => planned.push(p),
            Err(e) => outcomes.push((order.id, Err(e))),
        }
    }
    if planned.is_empty() {
        return Ok(outcomes);
    }
    // The lines without parked licenses, and their history, for all orders at once.
    let plain_ids: Vec<i64> = planned.iter().flat_map(|p| p.plain.iter().map(|l| l.0)).collect();
    for part in plain_ids.chunks(10_000) {
        diesel::update(order_lines::table.filter(order_lines::id.eq_any(part)))
            .set((order_lines::account_id.eq(t.id), order_lines::virtual_account_id.eq(t.va)))
            .execute(conn)?;
    }
    let mut events = Vec::new();
    for p in &planned {
        let masked = p.order.handoff_company_id.is_some();
        for l in &p.plain {
            let from = match labels.get(&(l.3, l.4)) {
                Some(f) => f.clone(),
                None => {
                    let f = label_of(conn, l.3, l.4)?;
                    labels.insert((l.3, l.4), f.clone());
                    f
                }
            };
            events.push((
                assignment_events::order_id.eq(p.order.id),
                assignment_events::line_id.eq(Some(l.0)),
                assignment_events::actor_user_id.eq(Some(actor.user_id.0)),
                assignment_events::how.eq(AssignmentHow::Reassignment.as_str()),
                assignment_events::target.eq(format!("Line {}", l.1)),
                assignment_events::from_label.eq(from),
                assignment_events::to_label.eq(to.to_string()),
                assignment_events::created_at.eq(now),
                assignment_events::masked.eq(masked),
            ));
        }
    }
    for part in events.chunks(1_000) {
        // Many rows in one statement, which each backend writes in its own way.
        let insert = diesel::insert_into(assignment_events::table).values(part);
        match conn {
            DbConnection::Postgresql(pg) => insert.execute(pg)?,
            DbConnection::Sqlite(lite) => insert.execute(lite)?,
        };
    }
    // Licenses parked in the holding account move with their lines, one by one.
    let mut delivered: Vec<Vec<i64>> = Vec::new();
    for p in &planned {
        let mut moved = Vec::new();
        for l in &p.parked {
            if apply_to_line(conn, actor, p.order, l, t, AssignmentHow::Reassignment, to)? {
                moved.push(l.0);
            }
        }
        delivered.push(moved);
    }
    // The listing state from the lines as they are now, written for the
    // orders that share it in one statement.
    type Listed = (i32, Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>, i32, Option<i64>);
    let mut groups: Vec<(Listed, Vec<i64>)> = Vec::new();
    let mut mixed: Vec<(i64, Vec<i64>, bool)> = Vec::new();
    for p in &planned {
        let order = p.order;
        let after: Vec<LineState> = p
            .lines
            .iter()
            .map(|l| {
                if p.plain.iter().chain(p.parked.iter()).any(|e| e.0 == l.0) {
                    (l.0, l.1, l.2.clone(), Some(t.id), t.va, l.5, l.6.clone(), l.7)
                } else {
                    l.clone()
                }
            })
            .collect();
        let facts = rules::OrderFacts {
            status: order.status(),
            order_type: order.order_type(),
            holding_account: order.holding_account_id,
            lines: facts_all(&after),
        };
        let before = listing::ListingState { rank: order.sa_rank, waiting_since: order.waiting_since, assigned_at: order.assigned_at };
        let state = listing::listing_state(order.status(), order.order_type(), rules::customer_account_status(&facts), before, now);
        let mut accounts: Vec<i64> = after.iter().filter_map(|l| l.3).collect();
        accounts.sort_unstable();
        accounts.dedup();
        let reminders =
            if state.rank == listing::RANK_NOT_ASSIGNED && state.waiting_since == before.waiting_since { order.reminders_sent } else { 0 };
        let key =
            (state.rank, state.waiting_since, state.assigned_at, reminders, if accounts.len() == 1 { Some(accounts[0]) } else { None });
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.1.push(order.id),
            None => groups.push((key, vec![order.id])),
        }
        let mut before_accounts: Vec<i64> = p.lines.iter().filter_map(|l| l.3).collect();
        before_accounts.sort_unstable();
        before_accounts.dedup();
        mixed.push((order.id, accounts, before_accounts.len() > 1));
    }
    for ((rank, waiting_since, assigned_at, reminders, customer), members) in groups {
        // Every order here is locked at the version it was judged by.
        diesel::update(orders::table.filter(orders::id.eq_any(&members)))
            .set((
                orders::version.eq(orders::version + 1),
                orders::sa_rank.eq(rank),
                orders::waiting_since.eq(waiting_since),
                orders::assigned_at.eq(assigned_at),
                orders::reminders_sent.eq(reminders),
                orders::customer_account_id.eq(customer),
            ))
            .execute(conn)?;
    }
    for (id, accounts, may_have_rows) in mixed {
        listing::write_mixed(conn, id, &accounts, may_have_rows)?;
    }
    for (p, moved) in planned.iter().zip(delivered) {
        notices::delivery(conn, p.order, t.id, &moved, base_url)?;
        outcomes.push((p.order.id, Ok(p.eligible)));
    }
    Ok(outcomes)
}

/// Which lines of an order a bulk move changes, or why it changes none.
fn plan_move<'a>(order: &'a OrderRow, lines: &'a [LineState], t: &Target) -> DomainResult<Planned<'a>> {
    rules::assignment_open(order.status()).map_err(refused)?;
    let eligible: Vec<&LineState> = lines
        .iter()
        .filter(|l| {
            let f = facts_of(l);
            f.requirement.takes_account()
                && !(l.3 == Some(t.id) && l.4 == t.va)
                && rules::check_line_assignment(order.status(), &f, t.kind, t.status, t.va_in_account).is_ok()
        })
        .collect();
    if eligible.is_empty() {
        return Err(DomainError::Conflict("No line of it can take that account now.".into()));
    }
    let n = eligible.len();
    let (parked, plain): (Vec<&LineState>, Vec<&LineState>) = eligible.into_iter().partition(|l| l.5);
    Ok(Planned { order, plain, parked, lines, eligible: n })
}

/// Removes a line's customer account (before its licenses are deposited).
pub fn clear_line(conn: &mut DbConnection, actor: &Actor, order_id: i64, line_id: i64, version: i32) -> DomainResult<()> {
    crate::db::transaction(conn, |conn| {
        let order = for_change(conn, actor, order_id, Some(version))?;
        rules::assignment_open(order.status()).map_err(refused)?;
        let states = line_states(conn, order_id)?;
        let l = states.iter().find(|l| l.0 == line_id).ok_or(DomainError::NotFound)?;
        if l.5 {
            return Err(refused(rules::AssignmentError::LicensesDeposited));
        }
        if l.3.is_none() {
            return Ok(());
        }
        let from = label_of(conn, l.3, l.4)?;
        diesel::update(order_lines::table.find(line_id))
            .set((order_lines::account_id.eq(None::<i64>), order_lines::virtual_account_id.eq(None::<i64>)))
            .execute(conn)?;
        record(
            conn,
            order_id,
            Some(line_id),
            Some(actor.user_id.0),
            how_for(&order, AssignmentHow::Line),
            &format!("Line {}", l.1),
            &from,
            "Not assigned",
        )?;
        bump(conn, &order)?;
        listing::refresh(conn, order_id)
    })
}

/// Rule 5: link the partner's own holding account as a record while the
/// licenses go to a customer account; its users then see the order.
pub fn associate_holding(conn: &mut DbConnection, actor: &Actor, order_id: i64, account_id: Option<i64>, version: i32) -> DomainResult<()> {
    crate::db::transaction(conn, |conn| {
        let order = for_change(conn, actor, order_id, Some(version))?;
        rules::assignment_open(order.status()).map_err(refused)?;
        if let Some(id) = account_id {
            let t = target(conn, actor, id, None)?;
            if t.kind != AccountKind::Holding {
                return Err(refused(rules::AssignmentError::NotAHoldingAccount));
            }
        }
        if order.associated_holding_account_id == account_id {
            return Ok(());
        }
        let from = label_of(conn, order.associated_holding_account_id, None)?;
        let to = label_of(conn, account_id, None)?;
        diesel::update(orders::table.find(order_id)).set(orders::associated_holding_account_id.eq(account_id)).execute(conn)?;
        record(
            conn,
            order_id,
            None,
            Some(actor.user_id.0),
            how_for(&order, AssignmentHow::Header),
            "Header: associated partner holding account",
            &from,
            &to,
        )?;
        bump(conn, &order)
    })
}

/// One row of "View History".
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub line_id: Option<i64>,
    pub target: String,
    pub how: &'static str,
    pub from: String,
    pub to: String,
    pub who: String,
    pub at: chrono::NaiveDateTime,
}

/// The assignment history of an order (or of one line), oldest first.
pub fn history(conn: &mut DbConnection, actor: &Actor, order_id: i64, line_id: Option<i64>) -> DomainResult<Vec<HistoryEntry>> {
    let (order, audience, _, sight) = crate::domain::orders::seen(conn, actor, order_id)?;
    if !sight.any() {
        return Err(DomainError::NotFound);
    }
    let masked = crate::domain::orders::visibility::masked(&audience, &order.access(Vec::new()));
    let mut q = assignment_events::table
        .left_join(users::table.on(users::id.nullable().eq(assignment_events::actor_user_id)))
        .filter(assignment_events::order_id.eq(order_id))
        .into_boxed::<crate::db::MultiBackend>();
    if let Some(l) = line_id {
        q = q.filter(assignment_events::line_id.eq(l));
    }
    let rows: Vec<(Option<i64>, String, String, String, String, Option<String>, chrono::NaiveDateTime, bool)> = q
        .order(assignment_events::id)
        .select((
            assignment_events::line_id,
            assignment_events::target,
            assignment_events::how,
            assignment_events::from_label,
            assignment_events::to_label,
            users::name.nullable(),
            assignment_events::created_at,
            assignment_events::masked,
        ))
        .load(conn)?;
    // Lines are named as the order page numbers them now (1.0, 1.1, …), whatever an entry's text says.
    let keys: Vec<(i64, i32, Option<i64>)> = order_lines::table
        .filter(order_lines::order_id.eq(order_id))
        .select((order_lines::id, order_lines::line_no, order_lines::parent_line_id))
        .load(conn)?;
    let numbers: std::collections::HashMap<i64, String> = keys.iter().map(|k| k.0).zip(rules::line_numbers(&keys)).collect();
    let hide = |label: String| if label == "Not assigned" { label } else { "Assigned by reseller".to_string() };
    Ok(rows
        .into_iter()
        // A customer account's users see the history of their lines only.
        .filter(|r| match &sight {
            crate::domain::orders::visibility::Sight::Lines(ids) => r.0.is_some_and(|l| ids.contains(&l)),
            _ => true,
        })
        .map(|(line_id, target, how, from, to, who, at, masked_event)| {
            let hidden = masked && masked_event;
            HistoryEntry {
                target: match line_id.and_then(|l| numbers.get(&l)) {
                    Some(n) => rules::history_target(&target, n),
                    None => target,
                },
                line_id,
                how: AssignmentHow::label_of(&how),
                from: if hidden { hide(from) } else { from },
                to: if hidden { hide(to) } else { to },
                who: if hidden { "Reseller".into() } else { who.unwrap_or_else(|| "Portal".into()) },
                at,
            }
        })
        .collect())
}

/// "Request New Customer (or Holding) Smart Account" from an order's search:
/// the request creates the pending account, which is assigned at once, in one
/// transaction. For a customer account, the creator's email must belong to the
/// end customer's company (its domain) when the order names that domain.
pub fn request_and_assign(
    conn: &mut DbConnection,
    actor: &Actor,
    order_id: i64,
    input: &crate::domain::accounts::request::AccountRequestInput,
    base_url: &str,
) -> DomainResult<i64> {
    use crate::domain::accounts::request;
    crate::db::transaction(conn, |conn| {
        let order = for_change(conn, actor, order_id, None)?;
        let kind = input.kind();
        if kind == Some(AccountKind::Customer) && !order.end_customer_domain.is_empty() && input.authority == "no" {
            let creator =
                crate::domain::values::EmailAddress::parse(&input.approver_email).map(|e| e.domain().to_string()).unwrap_or_default();
            if request::base_domain(&creator) != request::base_domain(&order.end_customer_domain) {
                return Err(FieldErrors::single(
                    "approver_email",
                    format!("The creator must work for the end customer: use an email at {}.", order.end_customer_domain),
                )
                .into());
            }
        }
        let account = request::request_account(conn, actor, input, base_url)?;
        let version = load_row(conn, order_id)?.version;
        let lines: Vec<i64> = input.order_lines.split(',').filter_map(|l| l.trim().parse().ok()).collect();
        match input.order_target.as_str() {
            "holding" => set_holding(conn, actor, order_id, Some(account), None, version, base_url)?,
            "associate" => associate_holding(conn, actor, order_id, Some(account), version)?,
            "lines" => {
                assign_lines(conn, actor, order_id, &lines, account, None, version, base_url)?;
            }
            _ => {
                set_order_level(conn, actor, order_id, account, None, version, base_url)?;
            }
        }
        Ok(account)
    })
}

#[cfg(test)]
mod tests {
    use super::Snapshot;

    #[test]
    fn a_snapshot_reads_back_from_what_it_writes() {
        for s in [
            Snapshot { bound: 0, pg: None },
            Snapshot { bound: 42, pg: None },
            Snapshot { bound: 42, pg: Some("100:100:".into()) },
            Snapshot { bound: 7, pg: Some("100:105:100,102,104".into()) },
        ] {
            assert_eq!(s.to_string().parse::<Snapshot>(), Ok(s.clone()), "{s}");
        }
        assert_eq!("12@3:9:4,8".parse::<Snapshot>().unwrap().bound(), 12);
    }

    #[test]
    fn a_snapshot_token_that_postgresql_would_refuse_is_refused_before_it_gets_there() {
        let too_many = format!("1@1:20000:{}", (1..15_000).map(|x| x.to_string()).collect::<Vec<_>>().join(","));
        for bad in [
            "",
            "-1",
            "+5",
            " 5",
            "5 ",
            "abc",
            "99999999999999999999",
            "5@",
            "5@1",
            "5@1:2",
            "5@0:0:",
            "5@9:3:",
            "5@3:9:2",
            "5@3:9:9",
            "5@3:9:5,4",
            "5@3:9:5,,6",
            "5@3:9:5,",
            "5@3:9:x",
            "5@3:18446744073709551615:",
            "5@3:9:4@1",
            "5@3:9:4;DROP TABLE orders",
            "5@'\"<script>",
            "5@3:9:\0",
            &too_many,
        ] {
            assert!(bad.parse::<Snapshot>().is_err(), "{bad:?}");
        }
    }
}
