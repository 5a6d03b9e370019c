//! Transfers of licenses between VAs of one account (the guide's Metalworks
//! example): a quantity up to what is available, with a reason, whole or not
//! at all, in one transaction; batches keep their order line, so the chain of
//! custody follows them.

use diesel::prelude::*;

use crate::db::schema::{license_movements, licenses};
use crate::db::DbConnection;
use crate::domain::accounts::{self, events};
use crate::domain::error::{DomainError, DomainResult, FieldErrors};
use crate::domain::policy::{self, Capability};
use crate::domain::Actor;

use super::shortages::{self, owned_and_in_use};

/// The transfer form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TransferInput {
    #[serde(default)]
    pub license: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub quantity: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct Transferred {
    pub license_name: String,
    pub quantity: i64,
    pub from: String,
    pub to: String,
}

/// Parses a quantity: a whole number from 1 to `max`.
pub fn parse_quantity(input: &str, available: i64) -> Result<i64, String> {
    let q: i64 = input.trim().parse().map_err(|_| "Enter a whole number of licenses.".to_string())?;
    if q < 1 {
        return Err("Transfer at least one license.".into());
    }
    if q > available {
        return Err(format!("Only {available} available to transfer."));
    }
    Ok(q)
}

/// Moves `quantity` licenses of a product from one VA to another. Errors name
/// the field; nothing is written unless all of it moves.
pub fn transfer(
    conn: &mut DbConnection,
    actor: &Actor,
    account_id: i64,
    input: &TransferInput,
    base_url: &str,
) -> DomainResult<Transferred> {
    crate::db::transaction(conn, |conn| {
        let ctx = accounts::load(conn, actor, account_id)?;
        let vas = super::visible_vas(conn, &ctx)?;
        if !vas.iter().any(|v| v.can_transfer) {
            return Err(policy::account_permit(&ctx.access, Capability::TransferLicenses(None)).err().unwrap_or(DomainError::Forbidden));
        }
        let mut errors = FieldErrors::new();
        let pick = |field: &'static str, raw: &str, errors: &mut FieldErrors| {
            let found = raw.trim().parse::<i64>().ok().and_then(|id| vas.iter().find(|v| v.id == id && v.can_transfer));
            if found.is_none() {
                errors.add(field, "Choose one of the virtual accounts you manage licenses in.");
            }
            found.cloned()
        };
        let from = pick("from", &input.from, &mut errors);
        let to = pick("to", &input.to, &mut errors);
        if let (Some(f), Some(t)) = (&from, &to) {
            if f.id == t.id {
                errors.add("to", "Choose a different virtual account to transfer to.");
            }
        }
        let license = input.license.trim().to_string();
        if license.is_empty() {
            errors.add("license", "Choose a product.");
        }
        let reason = input.reason.trim().to_string();
        if reason.is_empty() {
            errors.add("reason", "Say why the licenses move; the event log keeps it.");
        } else if reason.chars().count() > 500 {
            errors.add("reason", "Keep the reason under 500 characters.");
        }
        let mut quantity = None;
        if let Some(f) = &from {
            if !license.is_empty() {
                let (owned, in_use) = owned_and_in_use(conn, f.id, &license)?;
                if owned == 0 {
                    errors.add("license", format!("{} owns no {license} licenses.", f.name));
                } else {
                    quantity = errors.check("quantity", parse_quantity(&input.quantity, (owned - in_use).max(0)));
                }
            }
        }
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors));
        }
        let (from, to, quantity) = (from.expect("checked"), to.expect("checked"), quantity.expect("checked"));
        move_batches(conn, account_id, from.id, to.id, &license, quantity, &reason, actor.user_id.0)?;
        let detail_out = format!("{quantity} × {license} transferred to {}: {reason}", to.name);
        let detail_in = format!("{quantity} × {license} transferred from {}: {reason}", from.name);
        events::record(conn, account_id, Some(from.id), Some(actor.user_id.0), "licenses_transferred", &detail_out)?;
        events::record(conn, account_id, Some(to.id), Some(actor.user_id.0), "licenses_transferred", &detail_in)?;
        shortages::reconcile(conn, account_id, from.id, &license, Some(actor.user_id.0), base_url)?;
        shortages::reconcile(conn, account_id, to.id, &license, Some(actor.user_id.0), base_url)?;
        Ok(Transferred { license_name: license, quantity, from: from.name, to: to.name })
    })
}

/// Moves `quantity` of a product's claimed batches from `from` to `to`,
/// oldest first, splitting a batch where needed; one movement per batch.
#[allow(clippy::too_many_arguments)]
pub fn move_batches(
    conn: &mut DbConnection,
    account: i64,
    from: i64,
    to: i64,
    license: &str,
    quantity: i64,
    reason: &str,
    actor: i64,
) -> DomainResult<()> {
    let batches: Vec<(i64, i32, Option<i64>, Option<chrono::NaiveDateTime>)> = licenses::table
        .filter(licenses::smart_account_id.eq(account))
        .filter(licenses::virtual_account_id.eq(from))
        .filter(licenses::license_name.eq(license))
        .filter(licenses::quantity.gt(0))
        .filter(licenses::claimed_at.is_not_null())
        .order((licenses::created_at, licenses::id))
        .select((licenses::id, licenses::quantity, licenses::order_line_id, licenses::claimed_at))
        .load(conn)?;
    let now = crate::db::now();
    let mut left = quantity;
    for (id, q, line, claimed_at) in batches {
        if left == 0 {
            break;
        }
        let take = left.min(i64::from(q)) as i32;
        // Conditional on the quantity read: a concurrent change makes this fail, and all of it roll back.
        let n =
            diesel::update(licenses::table.find(id).filter(licenses::quantity.eq(q))).set(licenses::quantity.eq(q - take)).execute(conn)?;
        if n != 1 {
            return Err(DomainError::Conflict("The licenses changed meanwhile; nothing was transferred. Try again.".into()));
        }
        let mut target = licenses::table
            .filter(licenses::virtual_account_id.eq(to))
            .filter(licenses::license_name.eq(license))
            .filter(licenses::claimed_at.is_not_null())
            .select(licenses::id)
            .into_boxed::<crate::db::MultiBackend>();
        target = match line {
            Some(l) => target.filter(licenses::order_line_id.eq(l)),
            None => target.filter(licenses::order_line_id.is_null()),
        };
        match target.first::<i64>(conn).optional()? {
            Some(t) => {
                diesel::update(licenses::table.find(t)).set(licenses::quantity.eq(licenses::quantity + take)).execute(conn)?;
            }
            None => {
                diesel::insert_into(licenses::table)
                    .values((
                        licenses::smart_account_id.eq(account),
                        licenses::virtual_account_id.eq(to),
                        licenses::license_name.eq(license),
                        licenses::quantity.eq(take),
                        licenses::in_use.eq(0),
                        licenses::order_line_id.eq(line),
                        licenses::created_at.eq(now),
                        licenses::claimed_at.eq(claimed_at.or(Some(now))),
                    ))
                    .execute(conn)?;
            }
        }
        diesel::insert_into(license_movements::table)
            .values((
                license_movements::smart_account_id.eq(account),
                license_movements::order_line_id.eq(line),
                license_movements::license_name.eq(license),
                license_movements::from_virtual_account_id.eq(Some(from)),
                license_movements::to_virtual_account_id.eq(Some(to)),
                license_movements::quantity.eq(take),
                license_movements::how.eq("transfer"),
                license_movements::reason.eq(reason),
                license_movements::actor_user_id.eq(Some(actor)),
                license_movements::created_at.eq(now),
            ))
            .execute(conn)?;
        left -= i64::from(take);
    }
    if left > 0 {
        return Err(DomainError::Conflict("Not enough licenses to move; nothing was transferred.".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_quantity;

    #[test]
    fn a_transfer_moves_at_least_one_and_at_most_what_is_available() {
        assert_eq!(parse_quantity("20", 20), Ok(20));
        assert_eq!(parse_quantity(" 1 ", 20), Ok(1));
        assert!(parse_quantity("21", 20).unwrap_err().contains("Only 20"));
        assert!(parse_quantity("0", 20).is_err());
        assert!(parse_quantity("-3", 20).is_err());
        assert!(parse_quantity("2.5", 20).is_err());
        assert!(parse_quantity("", 20).is_err());
        assert!(parse_quantity("1", 0).unwrap_err().contains("Only 0"));
    }
}
