//! PAKs: SA optional lines of shipped orders land in the account unclaimed
//! ("Register claim certificates" in the delivery mail leads here) and are
//! claimed into a VA by a user who may manage licenses there.

use diesel::prelude::*;

use crate::db::schema::{license_movements, licenses, order_lines, virtual_accounts};
use crate::db::DbConnection;
use crate::domain::accounts::{self, events};
use crate::domain::error::{DomainError, DomainResult, FieldErrors};
use crate::domain::Actor;

use super::ClaimablePak;

/// The PAK batches of an account waiting to be claimed.
pub fn claimable(conn: &mut DbConnection, account: i64) -> DomainResult<Vec<ClaimablePak>> {
    let rows: Vec<(i64, String, i32, Option<i64>, String)> = licenses::table
        .inner_join(virtual_accounts::table)
        .left_join(order_lines::table.on(order_lines::id.nullable().eq(licenses::order_line_id)))
        .filter(licenses::smart_account_id.eq(account))
        .filter(licenses::claimed_at.is_null())
        .filter(licenses::quantity.gt(0))
        .order(licenses::id)
        .select((licenses::id, licenses::license_name, licenses::quantity, order_lines::order_id.nullable(), virtual_accounts::name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(license_id, license_name, quantity, order, va)| ClaimablePak {
            license_id,
            license_name,
            quantity,
            order: order.map(|o| (o, crate::domain::orders::web_order_id(o))),
            virtual_account: va,
        })
        .collect())
}

/// Claims a delivered PAK batch into a VA the actor manages licenses in.
pub fn claim(conn: &mut DbConnection, actor: &Actor, account_id: i64, license_id: i64, va_raw: &str, base_url: &str) -> DomainResult<String> {
    crate::db::transaction(conn, |conn| {
        let ctx = accounts::load(conn, actor, account_id)?;
        let vas = super::visible_vas(conn, &ctx)?;
        let row: Option<(String, i32, Option<i64>, i64)> = licenses::table
            .filter(licenses::id.eq(license_id))
            .filter(licenses::smart_account_id.eq(account_id))
            .filter(licenses::claimed_at.is_null())
            .select((licenses::license_name, licenses::quantity, licenses::order_line_id, licenses::virtual_account_id))
            .first(conn)
            .optional()?;
        let (name, quantity, line, was_in) = row.ok_or(DomainError::NotFound)?;
        if !vas.iter().any(|v| v.can_transfer) {
            return Err(DomainError::Forbidden);
        }
        let Some(to) = va_raw.trim().parse::<i64>().ok().and_then(|t| vas.iter().find(|v| v.id == t && v.can_transfer)).cloned() else {
            return Err(DomainError::Invalid(FieldErrors::single("va", "Choose one of the virtual accounts you manage licenses in.")));
        };
        let now = crate::db::now();
        let n = diesel::update(licenses::table.find(license_id).filter(licenses::claimed_at.is_null()))
            .set((licenses::claimed_at.eq(Some(now)), licenses::claimed_by.eq(Some(actor.user_id.0)), licenses::virtual_account_id.eq(to.id)))
            .execute(conn)?;
        if n != 1 {
            return Err(DomainError::Conflict("Someone claimed these licenses meanwhile.".into()));
        }
        diesel::insert_into(license_movements::table)
            .values((
                license_movements::smart_account_id.eq(account_id),
                license_movements::order_line_id.eq(line),
                license_movements::license_name.eq(&name),
                license_movements::from_virtual_account_id.eq(Some(was_in)),
                license_movements::to_virtual_account_id.eq(Some(to.id)),
                license_movements::quantity.eq(quantity),
                license_movements::how.eq("claim"),
                license_movements::reason.eq("PAK claim certificate registered"),
                license_movements::actor_user_id.eq(Some(actor.user_id.0)),
                license_movements::created_at.eq(now),
            ))
            .execute(conn)?;
        events::record(conn, account_id, Some(to.id), Some(actor.user_id.0), "pak_claimed", &format!("{quantity} × {name} claimed into {}", to.name))?;
        super::shortages::reconcile(conn, account_id, to.id, &name, Some(actor.user_id.0), base_url)?;
        Ok(format!("{quantity} × {name} claimed into {}.", to.name))
    })
}
