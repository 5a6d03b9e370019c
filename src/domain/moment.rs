//! The moment a request began, read in the statement that checks its
//! session (`sessions::find` selects `columns`): the stamp by which the kept
//! Not Assigned count is judged (`kept_counts::Now`) and the snapshot a
//! list's bulk form carries (`assignment::Snapshot`). Each value is an
//! index's last entry or PostgreSQL's snapshot, so it costs the same at any
//! size, and the SQL is fixed per backend, so the statement stays prepared.
//! Both are taken before anything the page reads, as each requires.

use diesel::dsl::sql;
use diesel::dsl::AsExprOf;
use diesel::expression::{SqlLiteral, UncheckedBind};
use diesel::sql_types::{BigInt, Bool, Text};

use crate::db::DbConnection;
use crate::domain::orders::assignment::Snapshot;
use crate::domain::orders::kept_counts::{self, Now};

#[derive(Debug, Clone)]
pub struct Moment {
    /// For the kept Not Assigned count.
    pub worklist: Now,
    /// For a list of orders.
    pub assignments: Snapshot,
}

/// The values of `columns`.
pub type Row = (i64, i64, String, bool);

/// The moment's columns: the newest worklist change's id, the newest
/// assignment change's id and, on PostgreSQL, the newest worklist change's
/// transaction and the snapshot (`"xact xmin:xmax:xip"`), and whether any
/// of the transactions `asked` about (`KeptCounts::watched`) has a worklist
/// change visible (SQLite has no transactions in progress to ask about).
pub fn columns(conn: &DbConnection, asked: &[u64]) -> (SqlLiteral<BigInt>, SqlLiteral<BigInt>, SqlLiteral<Text>, Asked) {
    let worklist = sql::<BigInt>("(SELECT COALESCE(MAX(id), 0) FROM worklist_changes)");
    let assignments = sql::<BigInt>("(SELECT COALESCE(MAX(id), 0) FROM assignment_events)");
    match conn {
        DbConnection::Postgresql(_) => (
            worklist,
            assignments,
            sql::<Text>(
                "COALESCE((SELECT xact FROM worklist_changes ORDER BY xact DESC LIMIT 1)::text, '0') \
                 || ' ' || pg_current_snapshot()::text",
            ),
            sql::<Bool>(kept_counts::COMMITTED_AMONG.0).bind::<Text, _>(kept_counts::xid_array(asked)).sql(kept_counts::COMMITTED_AMONG.1),
        ),
        DbConnection::Sqlite(_) => {
            (worklist, assignments, sql::<Text>("''"), sql::<Bool>("(").bind::<Text, _>(String::new()).sql(" IS NULL)"))
        }
    }
}

/// The column of `columns` that asks about transactions.
pub type Asked = SqlLiteral<Bool, UncheckedBind<SqlLiteral<Bool>, AsExprOf<String, Text>>>;

impl Moment {
    /// The moment from the values of `columns` (asked about `asked`).
    pub fn read(conn: &DbConnection, (worklist, assignments, text, committed): Row, asked: Vec<u64>) -> Moment {
        match conn {
            DbConnection::Postgresql(_) => {
                let (xact, snap) = text.split_once(' ').unwrap_or(("", ""));
                Moment {
                    worklist: Now::postgres(worklist, xact, snap, asked, committed),
                    assignments: Snapshot::at(assignments, Some(snap.to_string())),
                }
            }
            DbConnection::Sqlite(_) => Moment { worklist: Now::sqlite(worklist), assignments: Snapshot::at(assignments, None) },
        }
    }
}
