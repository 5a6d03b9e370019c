//! Usage beyond what is owned is accepted and flagged, never refused
//! silently: a shortage episode opens when a VA's devices use more of a
//! product than it owns (an event, and one mail to the account's
//! administrators, deduplicated per episode) and closes when they no longer do.

use diesel::prelude::*;

use crate::db::schema::{account_roles, license_figures, license_shortages, smart_accounts, users, virtual_accounts};
use crate::db::DbConnection;
use crate::domain::accounts::events;
use crate::domain::error::DomainResult;
use crate::domain::roles::Role;
use crate::mail::Email;

/// Owned (claimed batches) and in use (live devices) of one product in one VA.
pub(crate) fn owned_and_in_use(conn: &mut DbConnection, va: i64, license_name: &str) -> QueryResult<(i64, i64)> {
    let kept: Option<(i64, i64)> = license_figures::table
        .filter(license_figures::virtual_account_id.eq(va))
        .filter(license_figures::license_name.eq(license_name))
        .select((license_figures::owned, license_figures::in_use))
        .first(conn)
        .optional()?;
    Ok(kept.unwrap_or((0, 0)))
}

/// Adds `delta` to what the live devices of a VA use of a product. Every
/// device change calls it in its own transaction.
pub(crate) fn consume(conn: &mut DbConnection, account: i64, va: i64, license_name: &str, delta: i64) -> QueryResult<()> {
    if delta == 0 {
        return Ok(());
    }
    let update = |conn: &mut DbConnection| {
        diesel::update(
            license_figures::table
                .filter(license_figures::virtual_account_id.eq(va))
                .filter(license_figures::license_name.eq(license_name)),
        )
        .set(license_figures::in_use.eq(license_figures::in_use + delta))
        .execute(conn)
    };
    if update(conn)? > 0 {
        return Ok(());
    }
    let inserted = crate::db::transaction(conn, |conn| {
        diesel::insert_into(license_figures::table)
            .values((
                license_figures::smart_account_id.eq(account),
                license_figures::virtual_account_id.eq(va),
                license_figures::license_name.eq(license_name),
                license_figures::in_use.eq(delta),
            ))
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(()),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => update(conn).map(|_| ()),
        Err(e) => Err(e),
    }
}

/// What changed for a (VA, product) after a change of owned or in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShortageChange {
    None,
    Opened { episode: i64, shortage: i64 },
    Updated { shortage: i64 },
    Resolved,
}

/// Opens, updates or closes the shortage episode of one product in one VA.
/// Call inside the transaction of the change.
pub(crate) fn reconcile(
    conn: &mut DbConnection,
    account: i64,
    va: i64,
    license_name: &str,
    actor_user_id: Option<i64>,
    base_url: &str,
) -> DomainResult<ShortageChange> {
    let (owned, in_use) = owned_and_in_use(conn, va, license_name)?;
    let shortage = in_use - owned;
    let open: Option<(i64, i32)> = license_shortages::table
        .filter(license_shortages::virtual_account_id.eq(va))
        .filter(license_shortages::license_name.eq(license_name))
        .filter(license_shortages::resolved_at.is_null())
        .select((license_shortages::id, license_shortages::shortage))
        .first(conn)
        .optional()?;
    let now = crate::db::now();
    let va_name = |conn: &mut DbConnection| virtual_accounts::table.find(va).select(virtual_accounts::name).first::<String>(conn);
    match (open, shortage > 0) {
        (None, false) => Ok(ShortageChange::None),
        (Some((id, was)), true) => {
            if i64::from(was) != shortage {
                diesel::update(license_shortages::table.find(id)).set(license_shortages::shortage.eq(shortage as i32)).execute(conn)?;
            }
            Ok(ShortageChange::Updated { shortage })
        }
        (Some((id, _)), false) => {
            diesel::update(license_shortages::table.find(id)).set(license_shortages::resolved_at.eq(now)).execute(conn)?;
            let va_name = va_name(conn)?;
            events::record(
                conn,
                account,
                Some(va),
                actor_user_id,
                "shortage_resolved",
                &format!("{license_name} in {va_name}: enough licenses again ({in_use} in use, {owned} owned)"),
            )?;
            Ok(ShortageChange::Resolved)
        }
        (None, true) => {
            // A savepoint: a concurrent report may have opened the episode first.
            let inserted = crate::db::transaction(conn, |conn| {
                diesel::insert_into(license_shortages::table)
                    .values((
                        license_shortages::smart_account_id.eq(account),
                        license_shortages::virtual_account_id.eq(va),
                        license_shortages::license_name.eq(license_name),
                        license_shortages::shortage.eq(shortage as i32),
                        license_shortages::started_at.eq(now),
                    ))
                    .execute(conn)?;
                license_shortages::table
                    .filter(license_shortages::virtual_account_id.eq(va))
                    .filter(license_shortages::license_name.eq(license_name))
                    .filter(license_shortages::resolved_at.is_null())
                    .select(license_shortages::id)
                    .first::<i64>(conn)
            });
            let episode = match inserted {
                Ok(id) => id,
                Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                    return Ok(ShortageChange::Updated { shortage })
                }
                Err(e) => return Err(e.into()),
            };
            let va_name = va_name(conn)?;
            let detail = format!("{license_name} in {va_name}: {in_use} in use, {owned} owned — {shortage} short");
            events::record(conn, account, Some(va), actor_user_id, "shortage_detected", &detail)?;
            notify(conn, account, episode, &detail, base_url)?;
            Ok(ShortageChange::Opened { episode, shortage })
        }
    }
}

/// One mail per new shortage to the account's administrators, honouring
/// their preferences (the mail carries no credential).
fn notify(conn: &mut DbConnection, account: i64, episode: i64, detail: &str, base_url: &str) -> DomainResult<()> {
    let (name, domain): (String, String) =
        smart_accounts::table.find(account).select((smart_accounts::name, smart_accounts::domain)).first(conn)?;
    let admins: Vec<(String, bool)> = account_roles::table
        .inner_join(users::table)
        .filter(account_roles::smart_account_id.eq(account))
        .filter(account_roles::role.eq(Role::SaAdministrator.as_str()))
        .select((users::email, users::notify_orders))
        .load(conn)?;
    let url = format!("{base_url}/accounts/{account}/licenses");
    for (email, wants) in admins {
        if !wants {
            continue;
        }
        let mut message = Email::notice(
            &email,
            format!("Insufficient licenses in {name}"),
            "license_shortage",
            &[
                format!("Devices in the smart account {name} ({domain}) use more licenses than it owns: {detail}."),
                "The devices keep working; transfer unused licenses from another virtual account, or order more.".into(),
            ],
            Some(("View your smart licenses", &url)),
        );
        message.dedupe_key = Some(format!("shortage:{episode}:{email}"));
        crate::mail::enqueue(conn, &message)?;
    }
    Ok(())
}
