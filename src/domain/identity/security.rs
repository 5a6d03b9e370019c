//! Security events: sign-ins, failures, password and two-step changes,
//! membership decisions, invitations, deactivations. Each person sees their
//! own; company administrators see their company's.

use diesel::prelude::*;

use crate::db::schema::{security_events, users};
use crate::db::DbConnection;

#[derive(Debug, Clone)]
pub struct SecurityEvent {
    pub at: chrono::NaiveDateTime,
    pub kind: String,
    pub detail: String,
    pub ip: String,
    pub person: Option<String>,
}

impl SecurityEvent {
    pub fn label(&self) -> &'static str {
        match self.kind.as_str() {
            "signed_in" => "Signed in",
            "sign_in_failed" => "Sign-in failed",
            "signed_out" => "Signed out",
            "signed_out_everywhere" => "Signed out everywhere",
            "registered" => "Registered",
            "email_confirmed" => "Email confirmed",
            "password_changed" => "Password changed",
            "password_reset_requested" => "Password reset requested",
            "password_reset" => "Password reset",
            "two_step_enabled" => "Two-step sign-in turned on",
            "two_step_disabled" => "Two-step sign-in turned off",
            "two_step_failed" => "Two-step code refused",
            "recovery_code_used" => "Recovery code used",
            "membership_requested" => "Asked to join",
            "membership_approved" => "Membership approved",
            "membership_denied" => "Membership denied",
            "invited" => "Invitation sent",
            "invitation_withdrawn" => "Invitation withdrawn",
            "invitation_accepted" => "Invitation accepted",
            "deactivated" => "Deactivated",
            "company_admin_granted" => "Company administrator granted",
            "company_admin_removed" => "Company administrator removed",
            "company_created" => "Company created",
            _ => "Security event",
        }
    }
}

/// Who an event is about, who did it and from where.
pub struct Record<'a> {
    pub user_id: Option<i64>,
    pub company_id: Option<i64>,
    pub actor_user_id: Option<i64>,
    pub kind: &'a str,
    pub detail: &'a str,
    pub ip: &'a str,
}

pub fn record(conn: &mut DbConnection, r: Record<'_>) -> QueryResult<()> {
    diesel::insert_into(security_events::table)
        .values((
            security_events::user_id.eq(r.user_id),
            security_events::company_id.eq(r.company_id),
            security_events::actor_user_id.eq(r.actor_user_id),
            security_events::kind.eq(r.kind),
            security_events::detail.eq(r.detail),
            security_events::ip.eq(r.ip),
            security_events::created_at.eq(crate::db::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A person's event about themselves.
pub fn own(conn: &mut DbConnection, user_id: i64, company_id: Option<i64>, kind: &str, detail: &str, ip: &str) -> QueryResult<()> {
    record(conn, Record { user_id: Some(user_id), company_id, actor_user_id: Some(user_id), kind, detail, ip })
}

fn load(conn: &mut DbConnection, filter: Filter, limit: i64) -> QueryResult<Vec<SecurityEvent>> {
    let mut q = security_events::table
        .left_join(users::table.on(users::id.nullable().eq(security_events::user_id)))
        .select((security_events::created_at, security_events::kind, security_events::detail, security_events::ip, users::email.nullable()))
        .order(security_events::id.desc())
        .limit(limit)
        .into_boxed();
    q = match filter {
        Filter::User(id) => q.filter(security_events::user_id.eq(id)),
        Filter::Company(id) => q.filter(security_events::company_id.eq(id)),
    };
    let rows: Vec<(chrono::NaiveDateTime, String, String, String, Option<String>)> = q.load(conn)?;
    Ok(rows.into_iter().map(|(at, kind, detail, ip, person)| SecurityEvent { at, kind, detail, ip, person }).collect())
}

enum Filter {
    User(i64),
    Company(i64),
}

/// A person's own events, newest first.
pub fn for_person(conn: &mut DbConnection, user_id: i64, limit: i64) -> QueryResult<Vec<SecurityEvent>> {
    load(conn, Filter::User(user_id), limit)
}

/// A company's events, newest first (only for its company administrators: see `membership`).
pub(crate) fn for_company(conn: &mut DbConnection, company_id: i64, limit: i64) -> QueryResult<Vec<SecurityEvent>> {
    load(conn, Filter::Company(company_id), limit)
}
