//! The navigation's Not Assigned count, kept between pages instead of
//! recounted on each one.
//!
//! A count can change only when an order changes in a way the count looks
//! at (its rank, company, holding account or VA, associated holding account,
//! hand-off) or when the actor's roles change. Database triggers add a row
//! to `worklist_changes` for every change of the first kind; the second is
//! part of the key, since the count is kept per `Audience` (loaded on every
//! request). Each page asks the database, in one statement, whether a change
//! has appeared that the kept count could not have seen, and counts anew
//! (with `listing::not_assigned_count_for`, the one judgement) only then.
//!
//! "Could not have seen": on SQLite, one writer commits at a time, so a
//! count taken after the newest change's id saw every change up to it. On
//! PostgreSQL ids are allocated before commit, so a change with a lower id
//! may still commit later: the stamp also carries the snapshot taken with
//! it, and a change whose transaction that snapshot could not see counts as
//! new whatever its id. The stamp is always taken before the count is, so
//! a kept count is never older than its stamp.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::prelude::*;

use super::listing;
use super::visibility::Audience;
use crate::db::schema::worklist_changes;
use crate::db::DbConnection;
use crate::domain::error::DomainResult;

/// A kept count is recounted at least this often, whatever the stamps say.
const LONGEST: Duration = Duration::from_secs(600);
/// At most this many audiences are kept; past it, all are forgotten.
const MOST: usize = 10_000;
/// Rows of `worklist_changes` older than this are pruned (`prune`): far
/// beyond `LONGEST`, so no kept count is still judged by them.
pub const PRUNE_AFTER_HOURS: i64 = 24;

/// What the database had committed when a count was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stamp {
    /// The newest change's id.
    Sqlite(i64),
    /// The newest change's id and the snapshot (`xmin:xmax:xip,…`) of the same moment.
    Postgres(i64, String),
}

/// The counts this instance keeps, per audience and cap.
#[derive(Default)]
pub struct KeptCounts {
    entries: Mutex<HashMap<u64, (Stamp, Instant, i64)>>,
}

#[derive(diesel::QueryableByName)]
struct PgStamp {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    changed: bool,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    bound: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    snap: String,
}

/// The stamp of now, and whether `kept` still holds (no change since it), in one statement.
fn stamp(conn: &mut DbConnection, kept: Option<&Stamp>) -> DomainResult<(Stamp, bool)> {
    match conn {
        DbConnection::Postgresql(pg) => {
            use diesel::sql_types::{BigInt, Text};
            let (bound, snap) = match kept {
                Some(Stamp::Postgres(b, s)) => (*b, s.clone()),
                _ => (-1, String::new()),
            };
            let row: PgStamp = diesel::sql_query(
                "SELECT ($1 < 0 OR EXISTS (SELECT 1 FROM worklist_changes WHERE id > $1 \
                    OR (xact >= pg_snapshot_xmin(CAST($2 AS pg_snapshot)) AND NOT pg_visible_in_snapshot(xact, CAST($2 AS pg_snapshot))))) AS changed, \
                 (SELECT COALESCE(MAX(id), 0) FROM worklist_changes) AS bound, \
                 pg_current_snapshot()::text AS snap",
            )
            .bind::<BigInt, _>(bound)
            .bind::<Text, _>(if snap.is_empty() { "1:1:".to_string() } else { snap })
            .get_result(pg)?;
            Ok((Stamp::Postgres(row.bound, row.snap), !row.changed))
        }
        DbConnection::Sqlite(_) => {
            let newest: Option<i64> = worklist_changes::table.select(diesel::dsl::max(worklist_changes::id)).first(conn)?;
            let now = Stamp::Sqlite(newest.unwrap_or(0));
            let holds = kept == Some(&now);
            Ok((now, holds))
        }
    }
}

impl KeptCounts {
    fn key(audience: &Audience, cap: i64) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        audience.hash(&mut h);
        cap.hash(&mut h);
        h.finish()
    }

    /// The count of Not Assigned orders in the audience's worklist, up to
    /// `cap`: the kept one while no change has appeared since it was taken,
    /// else counted anew and kept.
    pub fn not_assigned(&self, conn: &mut DbConnection, audience: &Audience, cap: i64) -> DomainResult<i64> {
        let key = Self::key(audience, cap);
        let kept = {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.get(&key).filter(|(_, at, _)| at.elapsed() < LONGEST).cloned()
        };
        let (now, holds) = stamp(conn, kept.as_ref().map(|k| &k.0))?;
        if let (Some((_, _, n)), true) = (&kept, holds) {
            return Ok(*n);
        }
        let n = listing::not_assigned_count_for(conn, audience, cap)?;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MOST {
            entries.clear();
        }
        entries.insert(key, (now, Instant::now(), n));
        Ok(n)
    }
}

/// Removes the change rows no kept count needs any more (all but the
/// newest, which keeps ids rising on SQLite). Returns how many.
pub fn prune(conn: &mut DbConnection) -> DomainResult<usize> {
    let before = crate::db::now() - chrono::Duration::hours(PRUNE_AFTER_HOURS);
    let newest: Option<i64> = worklist_changes::table.select(diesel::dsl::max(worklist_changes::id)).first(conn)?;
    let Some(newest) = newest else { return Ok(0) };
    Ok(diesel::delete(worklist_changes::table.filter(worklist_changes::changed_at.lt(before)).filter(worklist_changes::id.lt(newest)))
        .execute(conn)?)
}
