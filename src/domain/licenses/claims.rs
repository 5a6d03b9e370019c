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
pub fn claim(
    conn: &mut DbConnection,
    actor: &Actor,
    account_id: i64,
    license_id: i64,
    va_raw: &str,
    base_url: &str,
) -> DomainResult<String> {
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
            .set((
                licenses::claimed_at.eq(Some(now)),
                licenses::claimed_by.eq(Some(actor.user_id.0)),
                licenses::virtual_account_id.eq(to.id),
            ))
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
        events::record(
            conn,
            account_id,
            Some(to.id),
            Some(actor.user_id.0),
            "pak_claimed",
            &format!("{quantity} × {name} claimed into {}", to.name),
        )?;
        super::shortages::reconcile(conn, account_id, to.id, &name, Some(actor.user_id.0), base_url)?;
        Ok(format!("{quantity} × {name} claimed into {}.", to.name))
    })
}

/// A new PAK claim code: `PAK-XXXX-XXXX-XXXX` without look-alike characters.
pub fn new_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let group = |rng: &mut rand::rngs::ThreadRng| (0..4).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect::<String>();
    format!("PAK-{}-{}-{}", group(&mut rng), group(&mut rng), group(&mut rng))
}

/// Normalises a typed code: upper case, no spaces.
pub fn normalise_code(typed: &str) -> String {
    typed.trim().to_uppercase().chars().filter(|c| !c.is_whitespace()).collect()
}

/// Claims a PAK from an order that went to no account by typing its code,
/// into a VA the actor manages licenses in. Field errors under `code` and `claim_va`.
pub fn claim_code(
    conn: &mut DbConnection,
    actor: &Actor,
    account_id: i64,
    typed: &str,
    va_raw: &str,
    base_url: &str,
) -> DomainResult<String> {
    crate::db::transaction(conn, |conn| {
        let ctx = accounts::load(conn, actor, account_id)?;
        let vas = super::visible_vas(conn, &ctx)?;
        if !vas.iter().any(|v| v.can_transfer) {
            return Err(DomainError::Forbidden);
        }
        let mut errors = FieldErrors::new();
        let to = va_raw.trim().parse::<i64>().ok().and_then(|t| vas.iter().find(|v| v.id == t && v.can_transfer)).cloned();
        if to.is_none() {
            errors.add("claim_va", "Choose one of the virtual accounts you manage licenses in.");
        }
        let code = normalise_code(typed);
        let line: Option<(i64, i32, Option<String>)> = if code.is_empty() {
            None
        } else {
            order_lines::table
                .inner_join(crate::db::schema::products::table)
                .filter(order_lines::pak_code.eq(&code))
                .select((order_lines::id, order_lines::quantity, crate::db::schema::products::license_name))
                .first(conn)
                .optional()?
        };
        let taken = match &line {
            Some((id, _, _)) => licenses::table.filter(licenses::order_line_id.eq(*id)).count().get_result::<i64>(conn)? > 0,
            None => false,
        };
        match (&line, taken) {
            (None, _) => errors.add("code", "No PAK has this claim code. Check the code on the order."),
            (Some(_), true) => errors.add("code", "This PAK has been claimed already."),
            _ => {}
        }
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors));
        }
        let (Some((line_id, quantity, Some(name))), Some(to)) = (line, to) else {
            return Err(DomainError::Invalid(FieldErrors::single("code", "This code does not name a license.")));
        };
        let now = crate::db::now();
        diesel::insert_into(licenses::table)
            .values((
                licenses::smart_account_id.eq(account_id),
                licenses::virtual_account_id.eq(to.id),
                licenses::license_name.eq(&name),
                licenses::quantity.eq(quantity),
                licenses::in_use.eq(0),
                licenses::order_line_id.eq(Some(line_id)),
                licenses::created_at.eq(now),
                licenses::claimed_at.eq(Some(now)),
                licenses::claimed_by.eq(Some(actor.user_id.0)),
            ))
            .execute(conn)?;
        diesel::insert_into(license_movements::table)
            .values((
                license_movements::smart_account_id.eq(account_id),
                license_movements::order_line_id.eq(Some(line_id)),
                license_movements::license_name.eq(&name),
                license_movements::from_virtual_account_id.eq(None::<i64>),
                license_movements::to_virtual_account_id.eq(Some(to.id)),
                license_movements::quantity.eq(quantity),
                license_movements::how.eq("claim"),
                license_movements::reason.eq(format!("PAK claim code {code} typed")),
                license_movements::actor_user_id.eq(Some(actor.user_id.0)),
                license_movements::created_at.eq(now),
            ))
            .execute(conn)?;
        events::record(
            conn,
            account_id,
            Some(to.id),
            Some(actor.user_id.0),
            "pak_claimed",
            &format!("{quantity} × {name} claimed into {} with code {code}", to.name),
        )?;
        super::shortages::reconcile(conn, account_id, to.id, &name, Some(actor.user_id.0), base_url)?;
        Ok(format!("{quantity} × {name} claimed into {}.", to.name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_codes_are_readable_and_typed_codes_normalised() {
        let c = new_code();
        assert_eq!(c.len(), 18);
        assert!(c.starts_with("PAK-") && !c.contains('O') && !c.contains('0') && !c.contains('I') && !c.contains('1'));
        assert_eq!(normalise_code(" pak-abcd-efgh-jkmn "), "PAK-ABCD-EFGH-JKMN");
    }
}
