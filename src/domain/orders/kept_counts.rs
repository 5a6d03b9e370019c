//! The navigation's Not Assigned count, kept between pages instead of
//! recounted on each one.
//!
//! A count can change only when an order changes in a way the count looks
//! at (its rank, company, holding account or VA, associated holding account,
//! hand-off) or when what the actor holds changes (their roles, the VAs a
//! role covers, a VA's account or default flag, an account's kind).
//! Database triggers add a row to `worklist_changes` for every change of
//! either kind. Each full page asks the database, in one statement, whether
//! a change has appeared that the kept count could not have seen; only then
//! does it load the actor's audience and count anew (with
//! `listing::not_assigned_count_for`, the one judgement). The audience is
//! kept with the count, so while the count holds the page reads no roles
//! either: the actor's judgements for the rest of the request use the kept
//! audience, which the same statement has shown to be current.
//!
//! "Could not have seen": on SQLite, one writer commits at a time, so a
//! count taken after the newest change's id saw every change up to it. On
//! PostgreSQL ids are allocated before commit, so a change with a lower id
//! may still commit later: the stamp also carries the snapshot taken with
//! it, and a change whose transaction that snapshot could not see counts as
//! new whatever its id. The stamp is always taken before the audience and
//! the count are, so neither is ever older than its stamp.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::prelude::*;

use super::listing;
use super::visibility::{self, Audience};
use crate::db::schema::worklist_changes;
use crate::db::DbConnection;
use crate::domain::error::DomainResult;
use crate::domain::Actor;

/// A kept count is recounted at least this often, whatever the stamps say.
const LONGEST: Duration = Duration::from_secs(600);
/// At most this many people's counts are kept, holding at most `MOST_IDS`
/// account and VA ids in their audiences (8 bytes each); past either, all
/// are forgotten.
const MOST: usize = 10_000;
const MOST_IDS: usize = 2_000_000;
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

/// The counts this instance keeps, per person (and company and its kind): the audience
/// they were counted for, the cap and the count.
#[derive(Default)]
pub struct KeptCounts {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    kept: HashMap<(i64, i64, bool), Kept>,
    /// The ids the kept audiences hold.
    ids: usize,
}

#[derive(Clone)]
struct Kept {
    stamp: Stamp,
    taken: Instant,
    audience: Audience,
    cap: i64,
    count: i64,
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
    /// The actor's audience and the count of Not Assigned orders in their
    /// worklist, up to `cap`: the kept ones while no change has appeared
    /// since they were taken (one statement), else loaded and counted anew
    /// (with `visibility::audience` and `listing::not_assigned_count_for`,
    /// the one judgement) and kept. The audience is remembered on the actor
    /// (`Actor::remember_audience`), for the rest of the request.
    pub fn not_assigned(&self, conn: &mut DbConnection, actor: &Actor, cap: i64) -> DomainResult<i64> {
        let who = (actor.user_id.0, actor.company_id.0, actor.is_operations());
        let kept = {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.kept.get(&who).filter(|k| k.taken.elapsed() < LONGEST && k.cap == cap).cloned()
        };
        let (now, holds) = stamp(conn, kept.as_ref().map(|k| &k.stamp))?;
        if let (Some(k), true) = (kept, holds) {
            visibility::remember(actor, k.audience);
            return Ok(k.count);
        }
        // Both taken after the stamp, so never older than it.
        let audience = visibility::audience(conn, actor)?;
        let count = listing::not_assigned_count_for(conn, &audience, cap)?;
        let size = audience.ids();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = entries.kept.remove(&who) {
            entries.ids -= old.audience.ids();
        }
        if entries.kept.len() >= MOST || entries.ids + size > MOST_IDS {
            *entries = Entries::default();
        }
        entries.ids += size;
        entries.kept.insert(who, Kept { stamp: now, taken: Instant::now(), audience, cap, count });
        Ok(count)
    }
}

/// Removes the change rows no kept count needs any more: those before the
/// first row of the last `PRUNE_AFTER_HOURS`, but never the newest, which
/// keeps ids rising on SQLite. Returns how many.
///
/// Rows come in id order and (to within a transaction) in time order, so
/// the first recent row is found by reading from the oldest, which stops as
/// soon as one is recent: the old rows read are the ones deleted, and the
/// rest is a range of ids. (A condition on the time alone read every row of
/// the table each time, a million in the bench data.) An old row after a
/// recent one is left for a later run.
pub fn prune(conn: &mut DbConnection) -> DomainResult<usize> {
    let before = crate::db::now() - chrono::Duration::hours(PRUNE_AFTER_HOURS);
    let newest: Option<i64> = worklist_changes::table.select(diesel::dsl::max(worklist_changes::id)).first(conn)?;
    let Some(newest) = newest else { return Ok(0) };
    let first_recent: Option<i64> = worklist_changes::table
        .filter(worklist_changes::changed_at.ge(before))
        .select(worklist_changes::id)
        .order(worklist_changes::id)
        .first(conn)
        .optional()?;
    let below = first_recent.map_or(newest, |id| id.min(newest));
    Ok(diesel::delete(worklist_changes::table.filter(worklist_changes::id.lt(below))).execute(conn)?)
}
