//! `UNION ALL` over a number of boxed selects known only at run time, each
//! keeping its own ORDER BY and LIMIT. Every member is written as
//! `SELECT * FROM (…) AS uN`, which both backends read, so one statement can
//! walk several index ranges that each stop early.

use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

use super::MultiBackend;

pub struct UnionAll<Q> {
    members: Vec<Q>,
}

impl<Q> UnionAll<Q> {
    /// `None` when there is nothing to unite.
    pub fn of(members: Vec<Q>) -> Option<Self> {
        if members.is_empty() {
            None
        } else {
            Some(UnionAll { members })
        }
    }
}

impl<Q: Query> Query for UnionAll<Q> {
    type SqlType = Q::SqlType;
}

impl<Q> QueryId for UnionAll<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

const ALIASES: [&str; 8] = [") AS u0", ") AS u1", ") AS u2", ") AS u3", ") AS u4", ") AS u5", ") AS u6", ") AS u7"];

impl<Q: QueryFragment<MultiBackend>> QueryFragment<MultiBackend> for UnionAll<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        for (i, member) in self.members.iter().enumerate() {
            if i > 0 {
                out.push_sql(" UNION ALL ");
            }
            out.push_sql("SELECT * FROM (");
            member.walk_ast(out.reborrow())?;
            match ALIASES.get(i) {
                Some(alias) => out.push_sql(alias),
                None => out.push_sql(&format!(") AS u{i}")),
            }
        }
        Ok(())
    }
}

impl<Q, Conn> RunQueryDsl<Conn> for UnionAll<Q> {}
