//! `UNION ALL` over a number of boxed selects known only at run time, each
//! kept whole (its ORDER BY and LIMIT) as `SELECT * FROM (…) AS sN`, which
//! both backends read: one statement walks several index ranges that each
//! stop early. The list's sources, the navigation count, the holding filter
//! and the account searches use it.

use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

use super::{DbConnection, MultiBackend};

/// The parts must not be empty.
pub struct UnionAll<Q> {
    pub parts: Vec<Q>,
}

impl<Q> QueryId for UnionAll<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for UnionAll<Q> {
    type SqlType = Q::SqlType;
}

impl<Q> RunQueryDsl<DbConnection> for UnionAll<Q> {}

impl<Q: QueryFragment<MultiBackend>> QueryFragment<MultiBackend> for UnionAll<Q> {
    /// Kept prepared, keyed by its text: diesel refuses to keep any
    /// statement with literal SQL in it (the sorts' ORDER BY, the cursor's
    /// row-value comparison), and SQLite then parsed and planned the union
    /// of every source anew on each page. Its text depends only on the
    /// shape of the query (which sources, filters, sort and cursor, each
    /// literal one of a few per sort), never on values: those are binds,
    /// lists of ids included (`db::ids`), so the statements kept per
    /// connection stay few.
    fn is_safe_to_cache_prepared(&self, _backend: &MultiBackend) -> QueryResult<bool> {
        Ok(true)
    }

    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                out.push_sql(" UNION ALL ");
            }
            out.push_sql("SELECT * FROM (");
            part.walk_ast(out.reborrow())?;
            out.push_sql(&format!(") AS s{i}"));
        }
        Ok(())
    }
}
