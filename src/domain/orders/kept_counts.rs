//! The navigation's Not Assigned count, kept between pages instead of
//! recounted on each one.
//!
//! A count can change only when an order changes in a way the count looks
//! at (its rank, company, holding account or VA, associated holding account,
//! hand-off) or when what the actor holds changes (their roles, the VAs a
//! role covers, a VA's account or default flag, an account's kind).
//! Database triggers add a row to `worklist_changes` for every change of
//! either kind. Each full page reads a stamp of the database's moment in
//! the statement that checks its session (`moment::columns`), and judges by it
//! whether a change has appeared that the kept count could not have seen; only then
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
//! new whatever its id (`holds`). The stamp is always taken before the
//! audience and the count are, so neither is ever older than its stamp.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::listing;
use super::visibility::{self, Audience};
use crate::db::schema::worklist_changes;
use crate::db::union::Fixed;
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
    /// The newest change's id and transaction, and the snapshot of the same moment.
    Postgres { bound: i64, newest_xact: u64, snap: PgSnapshot },
    /// A reading that could not be understood: it never holds.
    Unknown,
}

/// A PostgreSQL snapshot (`xmin:xmax:xip,…`): the first transaction it
/// could not see and those in progress when it was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PgSnapshot {
    xmax: u64,
    in_progress: Vec<u64>,
}

impl PgSnapshot {
    fn parse(text: &str) -> Option<PgSnapshot> {
        let mut parts = text.split(':');
        let (_xmin, xmax, xip) = (parts.next()?, parts.next()?, parts.next()?);
        let in_progress = xip.split(',').filter(|x| !x.is_empty()).map(str::parse).collect::<Result<_, _>>().ok()?;
        Some(PgSnapshot { xmax: xmax.parse().ok()?, in_progress })
    }
}

/// The counts this instance keeps, per person (and company and its kind): the audience
/// they were counted for, the cap and the count.
#[derive(Default)]
pub struct KeptCounts {
    entries: Mutex<Entries>,
    /// Keys the sessions' tokens for `Entries::watched`.
    keys: std::collections::hash_map::RandomState,
}

#[derive(Default)]
struct Entries {
    kept: HashMap<(i64, i64, bool), Kept>,
    /// The ids the kept audiences hold.
    ids: usize,
    /// Per session (its token's hash): the transactions in progress at the
    /// stamp it last kept or confirmed, to ask about with its next moment.
    watched: HashMap<u64, Vec<u64>>,
}

struct Kept {
    stamp: Stamp,
    taken: Instant,
    audience: Audience,
    cap: i64,
    count: i64,
}

/// The stamp of the moment a page began, read in the same statement as the
/// session (`moment::columns`), so a page whose count holds asks the
/// database nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Now {
    stamp: Stamp,
    /// The transactions the statement was asked about (`KeptCounts::watched`),
    /// and whether any of them has a change visible at this moment.
    asked: Vec<u64>,
    committed: bool,
}

impl Now {
    /// The newest change's id, on SQLite.
    pub fn sqlite(bound: i64) -> Now {
        Now { stamp: Stamp::Sqlite(bound), asked: Vec::new(), committed: false }
    }

    /// On PostgreSQL: the newest change's id and transaction, the snapshot
    /// (`xmin:xmax:xip`), and whether any of the transactions `asked` about
    /// has a change visible.
    pub fn postgres(bound: i64, newest_xact: &str, snap: &str, asked: Vec<u64>, committed: bool) -> Now {
        let stamp = match (newest_xact.parse(), PgSnapshot::parse(snap)) {
            (Ok(newest_xact), Some(snap)) => Stamp::Postgres { bound, newest_xact, snap },
            _ => Stamp::Unknown,
        };
        Now { stamp, asked, committed }
    }
}

/// Whether a count taken at `kept` still holds at `now` (read later).
///
/// On PostgreSQL a change the kept count could not see is one whose
/// transaction its snapshot could not see: one at or after the snapshot's
/// `xmax` (then the newest visible change's transaction is at least that)
/// or one in progress then. A change with a new id shows in the newest id
/// too. Only the last needs the database, and only for transactions in
/// progress at the kept stamp that are no longer in progress now.
fn judge(kept: &Stamp, now: &Stamp) -> Judgement {
    match (kept, now) {
        (Stamp::Sqlite(k), Stamp::Sqlite(n)) if k == n => Judgement::Holds,
        (Stamp::Postgres { bound: k, snap, .. }, Stamp::Postgres { bound: n, newest_xact, snap: now_snap })
            if k == n && *newest_xact < snap.xmax =>
        {
            let ended: Vec<u64> = snap.in_progress.iter().copied().filter(|x| !now_snap.in_progress.contains(x)).collect();
            if ended.is_empty() {
                Judgement::Holds
            } else {
                Judgement::HoldsUnlessCommitted(ended)
            }
        }
        _ => Judgement::Changed,
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Judgement {
    Holds,
    Changed,
    /// Holds unless one of these transactions (in progress at the kept
    /// stamp, ended since) has committed a change.
    HoldsUnlessCommitted(Vec<u64>),
}

/// Whether the count kept at `kept` holds at `now`. The transactions to
/// ask about were usually asked about in `now`'s own statement (those
/// `watched` for this session); only when the kept stamp is not the one
/// this session last saw does it take a statement of its own.
fn holds(conn: &mut DbConnection, kept: &Stamp, now: &Now) -> DomainResult<bool> {
    Ok(match judge(kept, &now.stamp) {
        Judgement::Holds => true,
        Judgement::Changed => false,
        Judgement::HoldsUnlessCommitted(ended) if ended.iter().all(|x| now.asked.contains(x)) => !now.committed,
        Judgement::HoldsUnlessCommitted(ended) => !any_committed(conn, &ended)?,
    })
}

/// `transactions` as a PostgreSQL array (`{1,2}`), to bind as text.
pub fn xid_array(transactions: &[u64]) -> String {
    format!("{{{}}}", transactions.iter().map(u64::to_string).collect::<Vec<_>>().join(","))
}

/// SQL around a bound `xid_array`: whether any of those transactions has a
/// change visible. One index lookup per transaction whatever plan
/// PostgreSQL keeps: written as `xact = ANY(array)`, its generic plan (chosen
/// after five runs, not knowing the array) read the whole table.
pub const COMMITTED_AMONG: (&str, &str) = (
    "EXISTS (SELECT 1 FROM unnest(CAST(",
    " AS xid8[])) AS asked(x) WHERE EXISTS (SELECT 1 FROM worklist_changes w WHERE w.xact = asked.x))",
);

/// Whether any of these transactions has a change visible now.
fn any_committed(conn: &mut DbConnection, transactions: &[u64]) -> DomainResult<bool> {
    let (before, after) = COMMITTED_AMONG;
    struct AnyCommitted;
    Ok(Fixed::<AnyCommitted, _>::new(diesel::select(sql::<Bool>(before).bind::<Text, _>(xid_array(transactions)).sql(after)))
        .get_result(conn)?)
}

impl KeptCounts {
    /// The transactions to ask about with this session's next moment
    /// (`moment::columns`): those in progress at the stamp last kept for
    /// its person by this session.
    pub fn watched(&self, session_token: &str) -> Vec<u64> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let key = self.token_key(session_token);
        entries.watched.get(&key).cloned().unwrap_or_default()
    }

    fn token_key(&self, session_token: &str) -> u64 {
        use std::hash::BuildHasher;
        self.keys.hash_one(session_token)
    }

    fn who(actor: &Actor) -> (i64, i64, bool) {
        (actor.user_id.0, actor.company_id.0, actor.is_operations())
    }

    /// For a page that shows no count (an htmx fragment): while the count
    /// kept for the actor holds at `now`, its audience is remembered on the
    /// actor, so the fragment reads no roles either. Nothing is counted.
    pub fn reuse_audience(&self, conn: &mut DbConnection, actor: &Actor, cap: i64, now: Now, session_token: &str) -> DomainResult<()> {
        self.kept(conn, actor, Self::who(actor), cap, now, self.token_key(session_token)).map(|_| ())
    }

    /// The kept count, its audience remembered on the actor, when it holds
    /// at `now`; else `now` back.
    fn kept(
        &self,
        conn: &mut DbConnection,
        actor: &Actor,
        who: (i64, i64, bool),
        cap: i64,
        now: Now,
        key: u64,
    ) -> DomainResult<Result<i64, Now>> {
        let kept = {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.kept.get(&who).filter(|k| k.taken.elapsed() < LONGEST && k.cap == cap).map(|k| (k.stamp.clone(), k.count))
        };
        let Some((stamp, count)) = kept else { return Ok(Err(now)) };
        if !holds(conn, &stamp, &now)? {
            return Ok(Err(now));
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let Some(k) = entries.kept.get_mut(&who).filter(|k| k.stamp == stamp) else { return Ok(Err(now)) };
        // What held at the kept stamp holds at this one: later pages judge
        // by it, and by the transactions in progress now.
        k.stamp = now.stamp;
        let (audience, watch) = (k.audience.clone(), k.stamp.in_progress());
        entries.watch(key, watch);
        visibility::remember(actor, audience);
        Ok(Ok(count))
    }

    /// The actor's audience and the count of Not Assigned orders in their
    /// worklist, up to `cap`: the kept ones while no change has appeared
    /// since they were taken (judged by `now`, read with the session of
    /// `session_token`), else loaded and counted anew (with
    /// `visibility::audience` and `listing::not_assigned_count_for`, the
    /// one judgement) and kept. The audience is remembered on the actor
    /// (`Actor::remember_audience`), for the rest of the request.
    pub fn not_assigned(&self, conn: &mut DbConnection, actor: &Actor, cap: i64, now: Now, session_token: &str) -> DomainResult<i64> {
        let (who, key) = (Self::who(actor), self.token_key(session_token));
        let now = match self.kept(conn, actor, who, cap, now, key)? {
            Ok(count) => return Ok(count),
            Err(now) => now,
        };
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
        entries.watch(key, now.stamp.in_progress());
        entries.kept.insert(who, Kept { stamp: now.stamp, taken: Instant::now(), audience, cap, count });
        Ok(count)
    }
}

impl Entries {
    fn watch(&mut self, key: u64, transactions: Vec<u64>) {
        if transactions.is_empty() {
            self.watched.remove(&key);
        } else {
            if self.watched.len() >= MOST {
                self.watched.clear();
            }
            self.watched.insert(key, transactions);
        }
    }
}

impl Stamp {
    /// The transactions in progress at this stamp.
    fn in_progress(&self) -> Vec<u64> {
        match self {
            Stamp::Postgres { snap, .. } => snap.in_progress.clone(),
            _ => Vec::new(),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(bound: i64, text: &str) -> Stamp {
        let (xact, snap) = text.split_once(' ').unwrap_or((text, ""));
        Now::postgres(bound, xact, snap, Vec::new(), false).stamp
    }

    #[test]
    fn reads_postgresql_stamps_and_refuses_what_it_cannot_read() {
        let s = pg(7, "812 800:815:801,809");
        assert_eq!(s, Stamp::Postgres { bound: 7, newest_xact: 812, snap: PgSnapshot { xmax: 815, in_progress: vec![801, 809] } });
        assert_eq!(pg(0, "0 800:800:"), Stamp::Postgres { bound: 0, newest_xact: 0, snap: PgSnapshot { xmax: 800, in_progress: vec![] } });
        for bad in ["", "812", "812 800:815", "x 800:815:", "812 800:x:", "812 800:815:8x1"] {
            assert_eq!(pg(7, bad), Stamp::Unknown, "{bad:?}");
        }
        assert_eq!(Now::sqlite(9).stamp, Stamp::Sqlite(9));
    }

    #[test]
    fn a_count_holds_only_while_no_change_it_could_not_see_is_visible() {
        let kept = pg(7, "812 800:815:");
        assert_eq!(judge(&kept, &pg(7, "812 820:820:")), Judgement::Holds, "nothing new");
        assert_eq!(judge(&kept, &pg(8, "816 820:820:")), Judgement::Changed, "a newer id");
        assert_eq!(judge(&kept, &pg(7, "815 820:820:")), Judgement::Changed, "a transaction the snapshot could not see, with an older id");
        assert_eq!(judge(&kept, &pg(6, "812 820:820:")), Judgement::Changed, "rows removed");
        let busy = pg(7, "812 800:815:801,809");
        assert_eq!(judge(&busy, &pg(7, "812 800:820:801,809")), Judgement::Holds, "still in progress");
        assert_eq!(judge(&busy, &pg(7, "812 809:820:809")), Judgement::HoldsUnlessCommitted(vec![801]), "one ended since");
        assert_eq!(judge(&busy, &pg(7, "812 820:820:")), Judgement::HoldsUnlessCommitted(vec![801, 809]), "both ended");
        assert_eq!(judge(&Stamp::Unknown, &Stamp::Unknown), Judgement::Changed);
        assert_eq!(judge(&kept, &Stamp::Unknown), Judgement::Changed);
        assert_eq!(judge(&Stamp::Sqlite(3), &Stamp::Sqlite(3)), Judgement::Holds);
        assert_eq!(judge(&Stamp::Sqlite(3), &Stamp::Sqlite(4)), Judgement::Changed);
        assert_eq!(judge(&Stamp::Sqlite(3), &pg(3, "1 1:1:")), Judgement::Changed);
    }
}
