//! After shipment and the provisioning delay, licenses land: in each line's
//! customer account (its VA, else the default VA), or in the order's holding
//! account, where they cannot be used until reassigned. Safe on several
//! instances: each line is claimed by one conditional update.

use diesel::prelude::*;

use crate::db::schema::{licenses, order_lines, orders, products, virtual_accounts};
use crate::db::DbConnection;
use crate::domain::orders::rules::OrderStatus;

/// Deposits the licenses of every due line; returns how many lines were deposited.
pub fn deposit_due(conn: &mut DbConnection) -> QueryResult<usize> {
    let now = crate::db::now();
    let due: Vec<(i64, i64, Option<i64>, Option<i64>, i32, Option<String>, Option<i64>)> = order_lines::table
        .inner_join(orders::table)
        .inner_join(products::table)
        .filter(orders::status.eq(OrderStatus::Shipped.as_str()))
        .filter(orders::licenses_due_at.le(now))
        .filter(order_lines::licenses_deposited_at.is_null())
        .select((
            order_lines::id,
            orders::id,
            order_lines::account_id,
            order_lines::virtual_account_id,
            order_lines::quantity,
            products::license_name,
            orders::holding_account_id,
        ))
        .limit(500)
        .load(conn)?;
    let mut deposited = 0;
    for (line_id, _order_id, account, va, quantity, license, holding) in due {
        conn.transaction(|conn| {
            let claimed = diesel::update(order_lines::table.find(line_id).filter(order_lines::licenses_deposited_at.is_null()))
                .set(order_lines::licenses_deposited_at.eq(now))
                .execute(conn)?;
            if claimed == 0 {
                return Ok(());
            }
            let (Some(license), Some(target)) = (license, account.or(holding)) else { return Ok(()) };
            let va = match (account, va) {
                (Some(_), Some(va)) => va,
                _ => virtual_accounts::table
                    .filter(virtual_accounts::smart_account_id.eq(target))
                    .filter(virtual_accounts::is_default.eq(true))
                    .select(virtual_accounts::id)
                    .first(conn)?,
            };
            diesel::insert_into(licenses::table)
                .values((
                    licenses::smart_account_id.eq(target),
                    licenses::virtual_account_id.eq(va),
                    licenses::license_name.eq(license),
                    licenses::quantity.eq(quantity),
                    licenses::in_use.eq(0),
                    licenses::order_line_id.eq(line_id),
                    licenses::created_at.eq(now),
                ))
                .execute(conn)?;
            deposited += 1;
            diesel::QueryResult::Ok(())
        })?;
    }
    Ok(deposited)
}
