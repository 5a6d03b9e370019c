//! `column IN (ids)` (or texts) whose SQL does not change with the number of ids.
//!
//! Diesel writes `eq_any` on SQLite as `IN (?, ?, …)`, one placeholder per
//! id: every list length is a new statement, which diesel then does not keep
//! prepared, so a page that filters on a list of ids (the page's orders, a
//! user's accounts) had SQLite parse and plan its statements anew on every
//! request; for a ten-source `UNION ALL` that was most of the statement's
//! time. On SQLite the ids go in one text bind as a JSON array read by
//! `json_each`, so the statement is prepared once per connection and kept.
//! PostgreSQL keeps diesel's `= ANY($1)`, one array bind, already the same
//! statement whatever the length.

use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use diesel::sqlite::Sqlite;

use super::MultiBackend;

/// `column IN ids`, as one statement whatever the number of ids.
#[derive(Debug, Clone)]
pub struct IdsIn<C, P> {
    column: C,
    json: String,
    /// The PostgreSQL form: diesel's own `= ANY`.
    pg: P,
}

/// `column IN ids` for an id column.
pub fn ids_in<C>(column: C, ids: &[i64]) -> IdsIn<C, diesel::dsl::EqAny<C, Vec<i64>>>
where
    C: Expression<SqlType = BigInt> + ExpressionMethods + Clone,
{
    IdsIn { column: column.clone(), json: json_array(ids), pg: column.eq_any(ids.to_vec()) }
}

/// `column IN ids` for a nullable id column.
pub fn nullable_ids_in<C>(column: C, ids: &[i64]) -> IdsIn<C, diesel::dsl::EqAny<C, Vec<i64>>>
where
    C: Expression<SqlType = Nullable<BigInt>> + ExpressionMethods + Clone,
{
    IdsIn { column: column.clone(), json: json_array(ids), pg: column.eq_any(ids.to_vec()) }
}

/// `column IN texts` for a text column (a JSON array of strings on SQLite).
pub fn texts_in<C>(column: C, texts: &[&str]) -> IdsIn<C, diesel::dsl::EqAny<C, Vec<String>>>
where
    C: Expression<SqlType = Text> + ExpressionMethods + Clone,
{
    let json = serde_json::to_string(texts).unwrap_or_else(|_| "[]".into());
    IdsIn { column: column.clone(), json, pg: column.eq_any(texts.iter().map(|t| t.to_string()).collect::<Vec<_>>()) }
}

/// `[1,2,3]`
fn json_array(ids: &[i64]) -> String {
    let mut s = String::with_capacity(ids.len() * 8 + 2);
    s.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&id.to_string());
    }
    s.push(']');
    s
}

impl<C, P> Expression for IdsIn<C, P> {
    type SqlType = Bool;
}

impl<C, P, QS> AppearsOnTable<QS> for IdsIn<C, P>
where
    C: AppearsOnTable<QS>,
    P: AppearsOnTable<QS>,
{
}

impl<C, P, QS> SelectableExpression<QS> for IdsIn<C, P>
where
    C: SelectableExpression<QS>,
    P: SelectableExpression<QS>,
{
}

impl<C, P, GB> ValidGrouping<GB> for IdsIn<C, P>
where
    P: ValidGrouping<GB>,
{
    type IsAggregate = P::IsAggregate;
}

impl<C, P> QueryId for IdsIn<C, P> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C, P> IdsIn<C, P> {
    /// `(column IN (SELECT value FROM json_each(?)))`, the SQLite form.
    fn walk_json<'b, DB>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()>
    where
        DB: diesel::backend::Backend + diesel::sql_types::HasSqlType<Text>,
        C: QueryFragment<DB>,
        String: diesel::serialize::ToSql<Text, DB>,
    {
        out.push_sql("(");
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<Text, _>(&self.json)?;
        out.push_sql(")))");
        Ok(())
    }
}

impl<C: QueryFragment<Sqlite>, P> QueryFragment<Sqlite> for IdsIn<C, P> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.walk_json(out)
    }
}

impl<C, P: QueryFragment<Pg>> QueryFragment<Pg> for IdsIn<C, P> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.pg.walk_ast(out)
    }
}

impl<C, P> QueryFragment<MultiBackend> for IdsIn<C, P>
where
    C: QueryFragment<MultiBackend>,
    P: QueryFragment<MultiBackend>,
{
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        match out.backend() {
            MultiBackend::Sqlite(_) => self.walk_json(out),
            MultiBackend::Postgresql(_) => self.pg.walk_ast(out),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_become_a_json_array() {
        assert_eq!(super::json_array(&[]), "[]");
        assert_eq!(super::json_array(&[7]), "[7]");
        assert_eq!(super::json_array(&[1, -2, 300]), "[1,-2,300]");
    }
}
