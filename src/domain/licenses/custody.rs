//! Chain of custody of a license batch: the order line, its assignment
//! history (holding account, customer account, VA; pre-assignment,
//! reassignment, case), the movements inside the account (transfers,
//! claims) and the devices of its VA that use the product.

use diesel::prelude::*;

use crate::db::schema::{assignment_events, devices, license_movements, licenses, order_lines, orders, users, virtual_accounts};
use crate::db::DbConnection;
use crate::domain::accounts;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::Actor;

#[derive(Debug, Clone)]
pub struct Step {
    pub at: chrono::NaiveDateTime,
    pub what: String,
    pub how: String,
    pub who: String,
}

#[derive(Debug, Clone)]
pub struct Custody {
    pub license_name: String,
    pub order_id: i64,
    pub web_order_id: String,
    pub line_no: i32,
    pub steps: Vec<Step>,
    /// Devices in the VAs holding this line's licenses that use its product.
    pub devices: Vec<(String, String, i32)>,
}

/// The chain of custody of the licenses from one order line in this account.
/// 404 unless the account holds licenses from that line in a VA the actor sees.
pub fn of_line(conn: &mut DbConnection, actor: &Actor, account_id: i64, line_id: i64) -> DomainResult<Custody> {
    let ctx = accounts::load(conn, actor, account_id)?;
    let vas = super::visible_vas(conn, &ctx)?;
    let ids: Vec<i64> = vas.iter().map(|v| v.id).collect();
    let held: Vec<(i64, String)> = licenses::table
        .filter(licenses::smart_account_id.eq(account_id))
        .filter(licenses::order_line_id.eq(line_id))
        .filter(licenses::virtual_account_id.eq_any(&ids))
        .select((licenses::virtual_account_id, licenses::license_name))
        .load(conn)?;
    let Some((_, license_name)) = held.first().cloned() else { return Err(DomainError::NotFound) };
    let (order_id, line_no, shipped_at): (i64, i32, Option<chrono::NaiveDateTime>) = order_lines::table
        .inner_join(orders::table)
        .filter(order_lines::id.eq(line_id))
        .select((orders::id, order_lines::line_no, orders::shipped_at))
        .first(conn)?;
    let mut steps = Vec::new();
    let history: Vec<(chrono::NaiveDateTime, String, String, String, Option<String>, Option<i64>)> = assignment_events::table
        .left_join(users::table.on(users::id.nullable().eq(assignment_events::actor_user_id)))
        .filter(assignment_events::order_id.eq(order_id))
        .filter(assignment_events::line_id.eq(line_id).or(assignment_events::line_id.is_null()))
        .filter(assignment_events::masked.eq(false))
        .order((assignment_events::created_at, assignment_events::id))
        .select((
            assignment_events::created_at,
            assignment_events::from_label,
            assignment_events::to_label,
            assignment_events::how,
            users::name.nullable(),
            assignment_events::line_id,
        ))
        .load(conn)?;
    for (at, from, to, how, who, _) in history {
        let what = if from.is_empty() { format!("Assigned to {to}") } else { format!("{from} → {to}") };
        steps.push(Step { at, what, how: how.replace('_', " "), who: who.unwrap_or_else(|| "Portal".into()) });
    }
    if let Some(at) = shipped_at {
        steps.push(Step { at, what: "Order shipped; licenses provisioned".into(), how: "shipment".into(), who: "Operations".into() });
    }
    let moves: Vec<(chrono::NaiveDateTime, i32, Option<i64>, Option<i64>, String, String, Option<String>)> = license_movements::table
        .left_join(users::table.on(users::id.nullable().eq(license_movements::actor_user_id)))
        .filter(license_movements::smart_account_id.eq(account_id))
        .filter(license_movements::order_line_id.eq(line_id))
        .order((license_movements::created_at, license_movements::id))
        .select((
            license_movements::created_at,
            license_movements::quantity,
            license_movements::from_virtual_account_id,
            license_movements::to_virtual_account_id,
            license_movements::how,
            license_movements::reason,
            users::name.nullable(),
        ))
        .load(conn)?;
    let names: Vec<(i64, String)> = virtual_accounts::table
        .filter(virtual_accounts::smart_account_id.eq(account_id))
        .select((virtual_accounts::id, virtual_accounts::name))
        .load(conn)?;
    let name = |id: Option<i64>| {
        id.and_then(|i| names.iter().find(|n| n.0 == i)).map(|n| n.1.clone()).unwrap_or_else(|| "a deleted virtual account".into())
    };
    for (at, q, from, to, how, reason, who) in moves {
        let what = if how == "claim" {
            format!("{q} claimed into {}", name(to))
        } else {
            format!("{q} transferred from {} to {}: {reason}", name(from), name(to))
        };
        steps.push(Step { at, what, how, who: who.unwrap_or_else(|| "Portal".into()) });
    }
    steps.sort_by_key(|s| s.at);
    let held_vas: Vec<i64> = held.iter().map(|h| h.0).collect();
    let devs: Vec<(String, i64, i32)> = devices::table
        .filter(devices::virtual_account_id.eq_any(&held_vas))
        .filter(devices::license_name.eq(&license_name))
        .filter(devices::removed_at.is_null())
        .order(devices::name_key)
        .limit(200)
        .select((devices::name, devices::virtual_account_id, devices::licenses))
        .load(conn)?;
    let devices = devs.into_iter().map(|(n, va, l)| (n, name(Some(va)), l)).collect();
    Ok(Custody { license_name, order_id, web_order_id: crate::domain::orders::web_order_id(order_id), line_no, steps, devices })
}
