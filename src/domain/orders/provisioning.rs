//! After shipment and the provisioning delay, licenses land: in each line's
//! customer account (its VA, else the default VA), or in the order's holding
//! account (its VA), where they cannot be used until reassigned. The users of
//! each customer account get the delivery email. Safe on several instances:
//! each line is claimed by one conditional update, and each order is one
//! transaction, so its delivery email goes out once.

use diesel::prelude::*;

use crate::db::schema::{license_deposits_due, licenses, order_lines, products, virtual_accounts};
use crate::db::DbConnection;
use crate::domain::error::DomainResult;

/// Deposits the licenses of every due order; returns how many lines were
/// deposited. Only the orders still waiting for theirs are read
/// (`license_deposits_due`): a round costs the same however many orders
/// were delivered before.
pub fn deposit_due(conn: &mut DbConnection, base_url: &str) -> DomainResult<usize> {
    let now = crate::db::now();
    let due: Vec<i64> = license_deposits_due::table
        .filter(license_deposits_due::due_at.le(now))
        .order((license_deposits_due::due_at, license_deposits_due::order_id))
        .select(license_deposits_due::order_id)
        .limit(100)
        .load(conn)?;
    let mut deposited = 0;
    for order_id in due {
        deposited += crate::db::transaction(conn, |conn| deposit_order(conn, order_id, now, base_url))?;
    }
    Ok(deposited)
}

fn deposit_order(conn: &mut DbConnection, order_id: i64, now: chrono::NaiveDateTime, base_url: &str) -> DomainResult<usize> {
    let order = super::load_row(conn, order_id)?;
    let lines: Vec<(i64, Option<i64>, Option<i64>, i32, Option<String>, String)> = order_lines::table
        .inner_join(products::table)
        .filter(order_lines::order_id.eq(order_id))
        .filter(order_lines::licenses_deposited_at.is_null())
        .order(order_lines::line_no)
        .select((
            order_lines::id,
            order_lines::account_id,
            order_lines::virtual_account_id,
            order_lines::quantity,
            products::license_name,
            products::category,
        ))
        .load(conn)?;
    let mut deposited = 0;
    // (customer account, lines delivered there)
    let mut delivered: Vec<(i64, Vec<i64>)> = Vec::new();
    for (line_id, account, va, quantity, license, category) in lines {
        let claimed = diesel::update(order_lines::table.find(line_id).filter(order_lines::licenses_deposited_at.is_null()))
            .set(order_lines::licenses_deposited_at.eq(now))
            .execute(conn)?;
        if claimed == 0 {
            continue;
        }
        if category == "pak" && license.is_some() && account.is_none() && order.holding_account_id.is_none() {
            // No account to land in: the PAK gets a claim code its owner types in the license manager.
            diesel::update(order_lines::table.find(line_id))
                .set(order_lines::pak_code.eq(Some(crate::domain::licenses::claims::new_code())))
                .execute(conn)?;
            continue;
        }
        let (Some(license), Some(target)) = (license, account.or(order.holding_account_id)) else { continue };
        let va = match (account, va) {
            (Some(_), Some(va)) => Some(va),
            (None, _) if order.holding_virtual_account_id.is_some() => order.holding_virtual_account_id,
            _ => virtual_accounts::table
                .filter(virtual_accounts::smart_account_id.eq(target))
                .filter(virtual_accounts::is_default.eq(true))
                .select(virtual_accounts::id)
                .first(conn)
                .optional()?,
        };
        let Some(va) = va else { continue };
        diesel::insert_into(licenses::table)
            .values((
                licenses::smart_account_id.eq(target),
                licenses::virtual_account_id.eq(va),
                licenses::license_name.eq(license),
                licenses::quantity.eq(quantity),
                licenses::in_use.eq(0),
                licenses::order_line_id.eq(line_id),
                licenses::created_at.eq(now),
                // A PAK waits to be claimed into a VA (its claim certificate); smart licenses count at once.
                licenses::claimed_at.eq((category != "pak").then_some(now)),
            ))
            .execute(conn)?;
        deposited += 1;
        if let Some(a) = account {
            match delivered.iter_mut().find(|d| d.0 == a) {
                Some(d) => d.1.push(line_id),
                None => delivered.push((a, vec![line_id])),
            }
        }
    }
    for (account, lines) in delivered {
        super::notices::delivery(conn, &order, account, &lines, base_url)?;
    }
    // Every line is claimed above (by this round or an earlier one): the order waits no more.
    diesel::delete(license_deposits_due::table.find(order_id)).execute(conn)?;
    Ok(deposited)
}
