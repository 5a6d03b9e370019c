//! The outbox table: queue a message inside a transaction, let a worker claim
//! due messages (without two instances claiming the same), record the outcome.

use chrono::Duration;
use diesel::prelude::*;

use crate::db::models::outbox::{NewOutboxMessage, OutboxMessage};
use crate::db::schema::outbox;
use crate::db::DbConnection;
use crate::mail::Email;

/// Queues `email`. Call inside the transaction of the change that causes it.
/// A message whose dedupe key was queued already is skipped (returns false).
pub fn enqueue(conn: &mut DbConnection, email: &Email) -> QueryResult<bool> {
    let now = crate::db::now();
    if let Some(key) = &email.dedupe_key {
        let exists: i64 = outbox::table.filter(outbox::dedupe_key.eq(key)).count().get_result(conn)?;
        if exists > 0 {
            return Ok(false);
        }
    }
    // A savepoint keeps the caller's transaction usable if a concurrent
    // writer queued the same dedupe key first.
    let inserted = crate::db::transaction(conn, |conn| {
        diesel::insert_into(outbox::table)
            .values(&NewOutboxMessage {
                recipient: &email.to,
                subject: &email.subject,
                body_text: &email.body_text,
                kind: email.kind,
                dedupe_key: email.dedupe_key.as_deref(),
                created_at: now,
                next_attempt_at: now,
                attempts: 0,
            })
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}

#[diesel::dsl::auto_type(no_type_alias)]
fn due_filter(now: chrono::NaiveDateTime) -> _ {
    outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::next_attempt_at.le(now))
        .filter(outbox::claimed_until.is_null().or(outbox::claimed_until.lt(now)))
}

/// Claims up to `limit` due messages for this worker for `lease`. On
/// PostgreSQL the rows are locked with `FOR UPDATE SKIP LOCKED`, so
/// concurrent instances claim disjoint sets; SQLite serialises writers.
/// Each message's `claimed_until` is this claim's fencing token: pass it to
/// [`renew`] before sending.
///
/// An idle outbox is seen with one read: no transaction, and on SQLite no
/// wait for the write lock (taken every poll, it queued behind people's
/// writes and made them queue behind it). What is due is judged again
/// inside the claim.
pub fn claim_due(conn: &mut DbConnection, limit: i64, lease: std::time::Duration) -> QueryResult<Vec<OutboxMessage>> {
    let now = crate::db::now();
    if !diesel::select(diesel::dsl::exists(due_filter(now))).get_result::<bool>(conn)? {
        return Ok(Vec::new());
    }
    let lease = now + Duration::from_std(lease).unwrap_or(Duration::seconds(30));
    let ids: Vec<i64> = match conn {
        DbConnection::Postgresql(pg) => pg.transaction(|pg| {
            let ids: Vec<i64> = due_filter(now)
                .order((outbox::next_attempt_at, outbox::id))
                .limit(limit)
                .select(outbox::id)
                .for_update()
                .skip_locked()
                .load(pg)?;
            diesel::update(outbox::table.filter(outbox::id.eq_any(&ids))).set(outbox::claimed_until.eq(lease)).execute(pg)?;
            Ok::<_, diesel::result::Error>(ids)
        })?,
        DbConnection::Sqlite(lite) => lite.immediate_transaction(|lite| {
            let ids: Vec<i64> = due_filter(now).order((outbox::next_attempt_at, outbox::id)).limit(limit).select(outbox::id).load(lite)?;
            diesel::update(outbox::table.filter(outbox::id.eq_any(&ids))).set(outbox::claimed_until.eq(lease)).execute(lite)?;
            Ok::<_, diesel::result::Error>(ids)
        })?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    outbox::table.filter(outbox::id.eq_any(&ids)).order(outbox::id).select(OutboxMessage::as_select()).load(conn)
}

/// Renews this worker's claim on a message just before it is sent: only if
/// the claim is still the one with `token` (no other worker reclaimed it
/// after the lease ran out) and it is not sent yet. Returns the new token,
/// or `None`: then the message is another worker's and must not be sent.
pub fn renew(
    conn: &mut DbConnection,
    id: i64,
    token: chrono::NaiveDateTime,
    lease: std::time::Duration,
) -> QueryResult<Option<chrono::NaiveDateTime>> {
    let lease = Duration::from_std(lease).unwrap_or(Duration::seconds(30));
    // Strictly later than the old token, so a token is never reused.
    let until = (crate::db::now() + lease).max(token + Duration::microseconds(1));
    let n = diesel::update(outbox::table.find(id).filter(outbox::claimed_until.eq(token)).filter(outbox::sent_at.is_null()))
        .set(outbox::claimed_until.eq(until))
        .execute(conn)?;
    Ok((n == 1).then_some(until))
}

pub fn mark_sent(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
    diesel::update(outbox::table.find(id))
        .set((outbox::sent_at.eq(crate::db::now()), outbox::claimed_until.eq(None::<chrono::NaiveDateTime>)))
        .execute(conn)?;
    Ok(())
}

/// Back-off after the n-th failed attempt: 10 s, 20 s, 40 s … capped at one hour.
pub fn backoff_after(attempts: i32) -> Duration {
    let secs = 10i64.saturating_mul(1i64 << attempts.clamp(0, 20));
    Duration::seconds(secs.min(3600))
}

/// Records a failed attempt, if the claim with `token` is still this worker's.
pub fn mark_failed(conn: &mut DbConnection, message: &OutboxMessage, token: chrono::NaiveDateTime, error: &str) -> QueryResult<()> {
    let attempts = message.attempts + 1;
    let error: String = error.chars().take(1000).collect();
    diesel::update(outbox::table.find(message.id).filter(outbox::claimed_until.eq(token)))
        .set((
            outbox::attempts.eq(attempts),
            outbox::last_error.eq(Some(error)),
            outbox::next_attempt_at.eq(crate::db::now() + backoff_after(attempts - 1)),
            outbox::claimed_until.eq(None::<chrono::NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Messages for one recipient, newest first (for tests and support).
pub fn for_recipient(conn: &mut DbConnection, recipient: &str) -> QueryResult<Vec<OutboxMessage>> {
    outbox::table.filter(outbox::recipient.eq(recipient)).order(outbox::id.desc()).select(OutboxMessage::as_select()).load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped_at_an_hour() {
        assert_eq!(backoff_after(0), Duration::seconds(10));
        assert_eq!(backoff_after(1), Duration::seconds(20));
        assert_eq!(backoff_after(3), Duration::seconds(80));
        assert_eq!(backoff_after(30), Duration::seconds(3600));
    }
}
