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
    /// Each part's `LIMIT`, written into the text rather than bound (the
    /// parts are then not limited themselves): one of a few constants, and
    /// PostgreSQL's generic plan, not knowing a bound limit, plans for a
    /// tenth of each part's rows, which can turn an index range that stops
    /// at a few rows into a scan and sort of many.
    pub limit: Option<i64>,
}

impl<Q> UnionAll<Q> {
    pub fn new(parts: Vec<Q>) -> Self {
        UnionAll { parts, limit: None }
    }

    /// Each part limited to its first `limit` rows, the limit in the text.
    pub fn limited(parts: Vec<Q>, limit: i64) -> Self {
        UnionAll { parts, limit: Some(limit) }
    }
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
        walk_union(&self.parts, " UNION ALL ", self.limit, &mut out)
    }
}

fn walk_union<'b, Q: QueryFragment<MultiBackend>>(
    parts: &'b [Q],
    op: &str,
    limit: Option<i64>,
    out: &mut AstPass<'_, 'b, MultiBackend>,
) -> QueryResult<()> {
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push_sql(op);
        }
        out.push_sql("SELECT * FROM (");
        part.walk_ast(out.reborrow())?;
        match limit {
            Some(n) => out.push_sql(&format!(" LIMIT {n}) AS s{i}")),
            None => out.push_sql(&format!(") AS s{i}")),
        }
    }
    Ok(())
}

/// `column IN (SELECT id FROM (part UNION part … ORDER BY … LIMIT n) AS u
/// WHERE …)`: the first `limit` distinct keys of several sources, merged in
/// one order by the database. Each part selects `id` and the columns that
/// `order_by` and `conditions` name (unqualified), filtered but neither
/// ordered nor limited; the same order read twice gives the same key row,
/// which the `UNION` keeps once. SQLite merges the parts as each one's index
/// yields them in order and stops at the limit, so a page reads about as
/// many index entries as it shows. PostgreSQL cannot merge a `UNION`'s
/// parts in order, so there each part reads its first `limit` in its own
/// order (`arm_order_by`) and the parts are a `UNION ALL` under `SELECT
/// DISTINCT ON (keys) … ORDER BY … LIMIT`: PostgreSQL then merges the
/// parts as they come (`Merge Append`), drops a key row read twice as the
/// merge meets it again (`Unique`) and stops at the limit, so each part
/// reads only as far as the page reaches, where a `UNION` read every
/// part's `limit` keys, hashed them all and sorted them. Either way only
/// the page's keys leave the database. The conditions apply after the
/// limit: they may only drop rows that sort after every row they keep.
///
/// The limit is written into the text, not bound: it is one of a few sizes
/// (a page and one more), and PostgreSQL's generic plan, not knowing a bound
/// limit, expects a tenth of each part's index range and sizes the hash
/// table that merges the parts for that: tens of thousands of entries,
/// cleared and walked on every page, for the page's few hundred keys.
pub struct FirstKeys<C, Q> {
    pub column: C,
    pub parts: Vec<Q>,
    /// `("sa_rank >", 0)`: each is `text ?` with the value bound.
    pub conditions: Vec<(&'static str, i32)>,
    /// The order by the parts' output columns (`sa_rank ASC, id ASC`).
    pub order_by: String,
    /// Those columns without their direction (`sa_rank, id`), for PostgreSQL's `DISTINCT ON`.
    pub keys: String,
    /// The same order by the table's columns, for PostgreSQL's parts.
    pub arm_order_by: String,
    pub limit: i64,
}

impl<C, Q> diesel::Expression for FirstKeys<C, Q> {
    type SqlType = diesel::sql_types::Bool;
}

impl<C, Q, QS> diesel::AppearsOnTable<QS> for FirstKeys<C, Q> where C: diesel::AppearsOnTable<QS> {}

impl<C, Q, QS> diesel::SelectableExpression<QS> for FirstKeys<C, Q> where C: diesel::SelectableExpression<QS> {}

impl<C, Q> diesel::expression::ValidGrouping<()> for FirstKeys<C, Q> {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl<C, Q> QueryId for FirstKeys<C, Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C: QueryFragment<MultiBackend>, Q: QueryFragment<MultiBackend>> QueryFragment<MultiBackend> for FirstKeys<C, Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        let sqlite = matches!(out.backend(), MultiBackend::Sqlite(_));
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (SELECT id FROM (");
        if !sqlite {
            out.push_sql("SELECT DISTINCT ON (");
            out.push_sql(&self.keys);
            out.push_sql(") * FROM (");
        }
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                out.push_sql(if sqlite { " UNION " } else { " UNION ALL " });
            }
            if sqlite {
                part.walk_ast(out.reborrow())?;
            } else {
                out.push_sql("SELECT * FROM (");
                part.walk_ast(out.reborrow())?;
                out.push_sql(" ORDER BY ");
                out.push_sql(&self.arm_order_by);
                out.push_sql(&format!(" LIMIT {}) AS s{i}", self.limit));
            }
        }
        if !sqlite {
            out.push_sql(") AS d");
        }
        out.push_sql(" ORDER BY ");
        out.push_sql(&self.order_by);
        out.push_sql(&format!(" LIMIT {}) AS u", self.limit));
        for (i, (condition, value)) in self.conditions.iter().enumerate() {
            out.push_sql(if i == 0 { " WHERE " } else { " AND " });
            out.push_sql(condition);
            out.push_sql(" ");
            out.push_bind_param::<diesel::sql_types::Integer, i32>(value)?;
        }
        out.push_sql(")");
        Ok(())
    }
}

/// A statement whose SQL text is the same on every call on a backend (its
/// literal SQL depends on the backend alone), kept prepared under the
/// marker type `K` of its one call site. Unlike `Shaped`, its text is not
/// built again on every call to find the prepared statement. Each call site
/// names its own `K`: two texts under one `K` would run the wrong statement.
pub struct Fixed<K, Q>(pub Q, std::marker::PhantomData<K>);

impl<K, Q> Fixed<K, Q> {
    pub fn new(query: Q) -> Self {
        Fixed(query, std::marker::PhantomData)
    }
}

impl<K: 'static, Q> QueryId for Fixed<K, Q> {
    type QueryId = K;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<K, Q: Query> Query for Fixed<K, Q> {
    type SqlType = Q::SqlType;
}

impl<K, Q> RunQueryDsl<DbConnection> for Fixed<K, Q> {}

impl<K, Q: QueryFragment<MultiBackend>> QueryFragment<MultiBackend> for Fixed<K, Q> {
    fn is_safe_to_cache_prepared(&self, _backend: &MultiBackend) -> QueryResult<bool> {
        Ok(true)
    }

    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        self.0.walk_ast(out)
    }
}

/// The `N`th of the few texts a call site's statement can have (`K` names
/// the call site): `Fixed<Variant<K, N>, Q>` keeps each text prepared under
/// its own name. `load_variant!` picks `N` at run time.
pub struct Variant<K, const N: u8>(std::marker::PhantomData<K>);

/// `load_variant!(conn, K, variant, query)`: loads `query` kept prepared as
/// text number `variant` (below 16) of call site `K`, as `Fixed` keeps a
/// statement of one text, so its SQL is not built again to find it; any
/// other number runs it by its text. The caller derives the number from
/// everything that shapes the text (not from bound values); debug builds
/// check that one number of a call site never names two texts.
macro_rules! load_variant {
    ($conn:expr, $k:ty, $variant:expr, $query:expr) => {{
        let variant: u8 = $variant;
        let query = $query;
        #[cfg(debug_assertions)]
        $crate::db::union::check_variant::<$k, _>(variant, &query);
        $crate::db::union::load_variant!(@arms $conn, $k, variant, query, 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
    }};
    (@arms $conn:expr, $k:ty, $variant:ident, $query:ident, $($n:literal)*) => {
        match $variant {
            $($n => diesel::RunQueryDsl::load(
                $crate::db::union::Fixed::<$crate::db::union::Variant<$k, $n>, _>::new($query),
                $conn,
            ),)*
            _ => diesel::RunQueryDsl::load($crate::db::union::Shaped($query), $conn),
        }
    };
}
pub(crate) use load_variant;

/// Debug builds: the text `query` has on SQLite is the one every earlier
/// call gave for this number of call site `K`, or the macro's caller derives
/// its number from too little.
#[cfg(debug_assertions)]
pub fn check_variant<K: 'static, Q: QueryFragment<MultiBackend>>(variant: u8, query: &Q) {
    use diesel::query_builder::QueryBuilder;
    use std::collections::HashMap;
    use std::sync::Mutex;
    static SEEN: Mutex<Option<HashMap<(std::any::TypeId, u8), String>>> = Mutex::new(None);
    let mut builder = super::multi_connection_impl::MultiQueryBuilder::Sqlite(diesel::sqlite::SqliteQueryBuilder::new());
    query.to_sql(&mut builder, &MultiBackend::Sqlite(diesel::sqlite::Sqlite)).expect("a statement's text");
    let text = builder.finish();
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    let first = seen.get_or_insert_with(HashMap::new).entry((std::any::TypeId::of::<K>(), variant)).or_insert_with(|| text.clone());
    assert_eq!(*first, text, "text number {variant} of {} names two texts", std::any::type_name::<K>());
}

/// A statement whose literal SQL (a sort's ORDER BY, say) depends only on
/// its shape, kept prepared by its text as `UnionAll` is.
pub struct Shaped<Q>(pub Q);

impl<Q> QueryId for Shaped<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Shaped<Q> {
    type SqlType = Q::SqlType;
}

impl<Q> RunQueryDsl<DbConnection> for Shaped<Q> {}

impl<Q: QueryFragment<MultiBackend>> QueryFragment<MultiBackend> for Shaped<Q> {
    fn is_safe_to_cache_prepared(&self, _backend: &MultiBackend) -> QueryResult<bool> {
        Ok(true)
    }

    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        self.0.walk_ast(out)
    }
}

#[cfg(all(test, debug_assertions))]
mod variant_tests {
    use super::check_variant;
    use diesel::dsl::sql;
    use diesel::sql_types::Integer;

    #[test]
    fn one_number_of_a_call_site_names_one_text() {
        struct Site;
        struct OtherSite;
        let one = diesel::select(sql::<Integer>("1"));
        let two = diesel::select(sql::<Integer>("2"));
        check_variant::<Site, _>(3, &one);
        check_variant::<Site, _>(3, &one);
        check_variant::<Site, _>(4, &two);
        check_variant::<OtherSite, _>(3, &two);
        let again = std::panic::catch_unwind(|| check_variant::<Site, _>(3, &two));
        assert!(again.is_err(), "a second text under one number is refused");
    }
}
