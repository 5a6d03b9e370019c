//! The event log of a smart account: every change, who, when, what. VA roles
//! see only the events of their virtual accounts.

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::db::models::account::{AccountEventRow, NewAccountEvent};
use crate::db::schema::{account_events, users, virtual_accounts};
use crate::db::DbConnection;
use crate::domain::accounts::{AccountInContext, DomainResult};
use crate::domain::policy::{self, Capability};

/// Kinds of events, with the label the log shows.
pub const KINDS: &[(&str, &str)] = &[
    ("requested", "Account requested"),
    ("domain_approved", "Domain identifier approved"),
    ("domain_rejected", "Request rejected"),
    ("nominated", "Authorizer nominated"),
    ("activated", "Account activated"),
    ("properties_updated", "Properties changed"),
    ("va_created", "Virtual account created"),
    ("va_updated", "Virtual account changed"),
    ("va_deleted", "Virtual account deleted"),
    ("user_added", "User added"),
    ("partner_access_granted", "Partner access granted"),
    ("user_changed", "Role changed"),
    ("user_removed", "User removed"),
    ("agreement_accepted", "Agreement accepted"),
    ("access_requested", "Access requested"),
    ("access_approved", "Access approved"),
    ("access_denied", "Access denied"),
    ("licenses_transferred", "Licenses transferred"),
    ("pak_claimed", "PAK claimed"),
    ("token_created", "Registration token created"),
    ("token_revoked", "Registration token revoked"),
    ("device_registered", "Device registered"),
    ("device_moved", "Device moved"),
    ("device_removed", "Device removed"),
    ("shortage_detected", "Insufficient licenses"),
    ("shortage_resolved", "Shortage resolved"),
];

pub fn kind_label(kind: &str) -> &'static str {
    KINDS.iter().find(|(k, _)| *k == kind).map(|(_, l)| *l).unwrap_or("Change")
}

pub(crate) fn record(
    conn: &mut DbConnection,
    account_id: i64,
    virtual_account_id: Option<i64>,
    actor_user_id: Option<i64>,
    kind: &'static str,
    detail: &str,
) -> QueryResult<()> {
    diesel::insert_into(account_events::table)
        .values(&NewAccountEvent {
            smart_account_id: account_id,
            virtual_account_id,
            actor_user_id,
            kind,
            detail,
            created_at: crate::db::now(),
        })
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct AccountEvent {
    pub id: i64,
    pub kind: String,
    pub kind_label: &'static str,
    pub detail: String,
    pub who: String,
    pub virtual_account: Option<String>,
    pub at: chrono::NaiveDateTime,
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub kind: Option<String>,
}

/// The newest events first, at most `limit`, filtered; VA roles see their VAs' only.
pub fn list(conn: &mut DbConnection, ctx: &AccountInContext, filter: &EventFilter, limit: i64) -> DomainResult<Vec<AccountEvent>> {
    policy::account_permit(&ctx.access, Capability::ViewEventLog)?;
    let mut q = account_events::table
        .left_join(users::table.on(users::id.nullable().eq(account_events::actor_user_id)))
        .left_join(virtual_accounts::table.on(virtual_accounts::id.nullable().eq(account_events::virtual_account_id)))
        .filter(account_events::smart_account_id.eq(ctx.account.id))
        .select((AccountEventRow::as_select(), users::name.nullable(), virtual_accounts::name.nullable()))
        .order((account_events::created_at.desc(), account_events::id.desc()))
        .limit(limit)
        .into_boxed::<crate::db::MultiBackend>();
    if !policy::allows(&ctx.access, Capability::ViewAccountWideEvents) {
        q = q.filter(account_events::virtual_account_id.eq_any(ctx.access.virtual_accounts.clone()));
    }
    if let Some(from) = filter.from {
        q = q.filter(account_events::created_at.ge(from.and_hms_opt(0, 0, 0).expect("midnight")));
    }
    if let Some(to) = filter.to {
        q = q.filter(account_events::created_at.lt(to.succ_opt().unwrap_or(to).and_hms_opt(0, 0, 0).expect("midnight")));
    }
    if let Some(kind) = &filter.kind {
        q = q.filter(account_events::kind.eq(kind.clone()));
    }
    let rows: Vec<(AccountEventRow, Option<String>, Option<String>)> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(e, who, va)| AccountEvent {
            id: e.id,
            kind_label: kind_label(&e.kind),
            kind: e.kind,
            detail: e.detail,
            who: who.unwrap_or_else(|| "Portal".into()),
            virtual_account: va,
            at: e.created_at,
        })
        .collect())
}
