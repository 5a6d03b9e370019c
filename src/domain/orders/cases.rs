//! Rule 10: once licenses are in a customer account, partners cannot change
//! the assignment; they open a case (reason, target account), and operations
//! resolve it in their queue, moving the licenses and recording it in the
//! order's history. The partner is emailed either way.

use diesel::prelude::*;

use crate::db::schema::{cases, licenses, order_lines, orders, smart_accounts, users, virtual_accounts};
use crate::db::DbConnection;
use crate::domain::error::{DomainResult, FieldErrors};
use crate::domain::orders::assignment::{default_va, label_of, record, target};
use crate::domain::orders::rules::{AssignmentHow, OrderStatus};
use crate::domain::orders::{for_change, listing, load_row, notices, web_order_id, OrderView};
use crate::domain::roles::AccountKind;
use crate::domain::{policy, Actor, DomainError};

pub const OPEN: &str = "open";
pub const RESOLVED: &str = "resolved";
pub const DECLINED: &str = "declined";

/// The "Open a case" form.
#[derive(Debug, Clone, Default)]
pub struct CaseInput {
    pub lines: Vec<i64>,
    /// The target account's domain identifier.
    pub account: String,
    /// Optional: the target virtual account's name.
    pub virtual_account: String,
    pub reason: String,
}

/// A case as the order page and operations' queue show it.
#[derive(Debug, Clone)]
pub struct CaseView {
    pub id: i64,
    pub order_id: i64,
    pub web_order_id: String,
    pub reason: String,
    pub target: String,
    pub lines: String,
    pub status: String,
    pub resolution: String,
    pub opened_by: String,
    pub created_at: chrono::NaiveDateTime,
}

/// Opens a case on deposited lines of an order the actor may reassign.
pub fn open(conn: &mut DbConnection, actor: &Actor, order_id: i64, input: &CaseInput) -> DomainResult<i64> {
    crate::db::transaction(conn, |conn| {
        let order = for_change(conn, actor, order_id, None)?;
        let mut e = FieldErrors::new();
        let reason = input.reason.trim();
        if reason.chars().count() < 10 {
            e.add("reason", "Say what is wrong and where the licenses belong (at least 10 characters).");
        } else if reason.chars().count() > 2000 {
            e.add("reason", "Keep the reason under 2000 characters.");
        }
        let deposited: Vec<(i64, i32, Option<i64>)> = order_lines::table
            .filter(order_lines::order_id.eq(order_id))
            .filter(order_lines::licenses_deposited_at.is_not_null())
            .filter(order_lines::account_id.is_not_null())
            .select((order_lines::id, order_lines::line_no, order_lines::account_id))
            .load(conn)?;
        if input.lines.is_empty() {
            e.add("lines", "Choose the lines whose licenses should move.");
        } else if !input.lines.iter().all(|l| deposited.iter().any(|d| d.0 == *l)) {
            e.add("lines", "A case moves licenses already in a customer account; the other lines can still be reassigned directly.");
        }
        let domain = input.account.trim().to_lowercase();
        if crate::domain::values::has_control(&domain) || crate::domain::values::has_control(&input.virtual_account) {
            e.add("account", "Enter the account's domain identifier and virtual account without control characters.");
        }
        let found: Option<i64> = if domain.is_empty() || !e.is_empty() {
            None
        } else {
            smart_accounts::table.filter(smart_accounts::domain.eq(&domain)).select(smart_accounts::id).first(conn).optional()?
        };
        let va: Option<i64> = match (found, input.virtual_account.trim()) {
            (Some(a), name) if !name.is_empty() => {
                let v = virtual_accounts::table
                    .filter(virtual_accounts::smart_account_id.eq(a))
                    .filter(virtual_accounts::name_key.eq(name.to_lowercase()))
                    .select(virtual_accounts::id)
                    .first(conn)
                    .optional()?;
                if v.is_none() {
                    e.add("virtual_account", "That account has no virtual account of this name.");
                }
                v
            }
            _ => None,
        };
        let t = if domain.is_empty() {
            e.add("account_id", "Enter the domain identifier of the smart account the licenses belong in.");
            None
        } else if let Some(account_id) = found {
            match target(conn, actor, account_id, va) {
                Ok(t) if t.kind != AccountKind::Customer => {
                    e.add("account_id", "Licenses move to a customer account.");
                    None
                }
                Ok(t) if !t.va_in_account => {
                    e.add("account_id", "That virtual account belongs to another smart account.");
                    None
                }
                Ok(t) => Some(t),
                Err(DomainError::Invalid(fe)) => {
                    e.add("account_id", fe.joined());
                    None
                }
                Err(other) => return Err(other),
            }
        } else {
            e.add("account_id", "No smart account has this domain identifier.");
            None
        };
        if let Some(t) = &t {
            if deposited.iter().filter(|d| input.lines.contains(&d.0)).all(|d| d.2 == Some(t.id)) && t.va.is_none() {
                e.add("account_id", "The licenses are in that account already.");
            }
        }
        let (Some(t), true) = (t, e.is_empty()) else { return Err(e.into()) };
        let lines: Vec<String> = input.lines.iter().map(|l| l.to_string()).collect();
        let id: i64 = diesel::insert_into(cases::table)
            .values((
                cases::order_id.eq(order.id),
                cases::opened_by.eq(actor.user_id.0),
                cases::reason.eq(reason),
                cases::target_account_id.eq(t.id),
                cases::target_virtual_account_id.eq(t.va),
                cases::line_ids.eq(lines.join(",")),
                cases::status.eq(OPEN),
                cases::resolution.eq(""),
                cases::created_at.eq(crate::db::now()),
            ))
            .returning(cases::id)
            .get_result(conn)?;
        Ok(id)
    })
}

type CaseRow = (i64, i64, String, i64, Option<i64>, String, String, String, String, chrono::NaiveDateTime);

/// The cases as pages show them: the line numbers of all cases in one query,
/// each target's label once.
fn views(conn: &mut DbConnection, rows: Vec<CaseRow>) -> DomainResult<Vec<CaseView>> {
    let ids_of = |line_ids: &str| -> Vec<i64> { line_ids.split(',').filter_map(|l| l.parse().ok()).collect() };
    let all_ids: Vec<i64> = rows.iter().flat_map(|r| ids_of(&r.5)).collect();
    let numbers: Vec<(i64, i32)> = if all_ids.is_empty() {
        Vec::new()
    } else {
        order_lines::table.filter(order_lines::id.eq_any(&all_ids)).select((order_lines::id, order_lines::line_no)).load(conn)?
    };
    let mut labels: std::collections::HashMap<(i64, Option<i64>), String> = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for (id, order_id, reason, account, va, line_ids, status, resolution, opened_by, created_at) in rows {
        let target = match labels.get(&(account, va)) {
            Some(l) => l.clone(),
            None => {
                let l = label_of(conn, Some(account), va)?;
                labels.insert((account, va), l.clone());
                l
            }
        };
        let lines: Vec<String> =
            ids_of(&line_ids).iter().filter_map(|l| numbers.iter().find(|n| n.0 == *l)).map(|n| n.1.to_string()).collect();
        out.push(CaseView {
            id,
            order_id,
            web_order_id: web_order_id(order_id),
            reason,
            target,
            lines: lines.join(", "),
            status,
            resolution,
            opened_by,
            created_at,
        });
    }
    Ok(out)
}

macro_rules! case_columns {
    () => {
        (
            cases::id,
            cases::order_id,
            cases::reason,
            cases::target_account_id,
            cases::target_virtual_account_id,
            cases::line_ids,
            cases::status,
            cases::resolution,
            users::name,
            cases::created_at,
        )
    };
}

/// The cases of an order as `view` shows it: none unless the viewer may
/// change its assignments, which the view judged when it was loaded for them.
pub fn for_view(conn: &mut DbConnection, view: &OrderView) -> DomainResult<Vec<CaseView>> {
    if !view.can_reassign || !view.has_cases {
        return Ok(Vec::new());
    }
    let rows: Vec<CaseRow> = cases::table
        .inner_join(users::table.on(users::id.eq(cases::opened_by)))
        .filter(cases::order_id.eq(view.order.id))
        .order(cases::id.desc())
        .select(case_columns!())
        .load(conn)?;
    views(conn, rows)
}

/// Operations' queue: open cases, oldest first.
pub fn queue(conn: &mut DbConnection, actor: &Actor) -> DomainResult<Vec<CaseView>> {
    if !policy::may_fulfil_orders(actor) {
        return Err(DomainError::NotFound);
    }
    let rows: Vec<CaseRow> = cases::table
        .inner_join(users::table.on(users::id.eq(cases::opened_by)))
        .filter(cases::status.eq(OPEN))
        .order((cases::created_at, cases::id))
        .limit(500)
        .select(case_columns!())
        .load(conn)?;
    views(conn, rows)
}

/// Operations resolve a case: the lines and their licenses move to the
/// target account (its VA, else the default VA), recorded in the history as
/// a support case; the partner and the account's users are emailed.
pub fn resolve(conn: &mut DbConnection, actor: &Actor, case_id: i64, note: &str, base_url: &str) -> DomainResult<()> {
    close(conn, actor, case_id, note, true, base_url)
}

pub fn decline(conn: &mut DbConnection, actor: &Actor, case_id: i64, note: &str, base_url: &str) -> DomainResult<()> {
    if note.trim().is_empty() {
        return Err(FieldErrors::single("resolution", "Tell the partner why the case is declined.").into());
    }
    close(conn, actor, case_id, note, false, base_url)
}

fn close(conn: &mut DbConnection, actor: &Actor, case_id: i64, note: &str, resolve: bool, base_url: &str) -> DomainResult<()> {
    if !policy::may_fulfil_orders(actor) {
        return Err(DomainError::NotFound);
    }
    crate::db::transaction(conn, |conn| {
        let (order_id, opened_by, account, va, line_ids): (i64, i64, i64, Option<i64>, String) = cases::table
            .find(case_id)
            .select((cases::order_id, cases::opened_by, cases::target_account_id, cases::target_virtual_account_id, cases::line_ids))
            .first(conn)
            .optional()?
            .ok_or(DomainError::NotFound)?;
        // One conditional update: a double submit or a second operator finds it closed.
        let claimed = diesel::update(cases::table.find(case_id).filter(cases::status.eq(OPEN)))
            .set((
                cases::status.eq(if resolve { RESOLVED } else { DECLINED }),
                cases::resolution.eq(note.trim()),
                cases::resolved_by.eq(actor.user_id.0),
                cases::resolved_at.eq(crate::db::now()),
            ))
            .execute(conn)?;
        if claimed == 0 {
            return Err(DomainError::Conflict(format!("Case #{case_id} was closed already.")));
        }
        let order = load_row(conn, order_id)?;
        if resolve {
            if order.status() == OrderStatus::Cancelled {
                return Err(DomainError::Conflict("The order was cancelled.".into()));
            }
            let va_landing = match va {
                Some(v) => v,
                None => default_va(conn, account)?
                    .ok_or_else(|| DomainError::Conflict("The target account has no default virtual account.".into()))?,
            };
            let ids: Vec<i64> = line_ids.split(',').filter_map(|l| l.parse().ok()).collect();
            let lines: Vec<(i64, i32, Option<i64>, Option<i64>)> = order_lines::table
                .filter(order_lines::id.eq_any(&ids))
                .filter(order_lines::order_id.eq(order_id))
                .select((order_lines::id, order_lines::line_no, order_lines::account_id, order_lines::virtual_account_id))
                .load(conn)?;
            let to = label_of(conn, Some(account), va)?;
            for (line_id, line_no, from_account, from_va) in &lines {
                let from = label_of(conn, *from_account, *from_va)?;
                diesel::update(order_lines::table.find(line_id))
                    .set((order_lines::account_id.eq(account), order_lines::virtual_account_id.eq(va)))
                    .execute(conn)?;
                diesel::update(licenses::table.filter(licenses::order_line_id.eq(line_id)))
                    .set((licenses::smart_account_id.eq(account), licenses::virtual_account_id.eq(va_landing)))
                    .execute(conn)?;
                record(
                    conn,
                    order_id,
                    Some(*line_id),
                    Some(actor.user_id.0),
                    AssignmentHow::Case,
                    &format!("Line {line_no} (case #{case_id})"),
                    &from,
                    &to,
                )?;
            }
            diesel::update(orders::table.find(order_id)).set(orders::version.eq(order.version + 1)).execute(conn)?;
            listing::refresh(conn, order_id)?;
            let moved: Vec<i64> = lines.iter().map(|l| l.0).collect();
            notices::delivery(conn, &order, account, &moved, base_url)?;
        }
        notices::case_closed(conn, case_id, opened_by, &order, resolve, note, base_url)
    })
}
