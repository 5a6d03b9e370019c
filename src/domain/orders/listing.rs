//! The order lists: Smart Account Orders (the orders that need a smart
//! account, Not Assigned first) and the general orders list, with filters,
//! sorting by any column and keyset pagination; the Not Assigned count of
//! the navigation; and the listing state every change keeps current.
//!
//! An actor's visible orders come from a few sources (their company's orders,
//! each holding account they work in, each holding VA, the lines in their
//! customer accounts). Each source is one indexed query reading at most a
//! page past the cursor; the pages are merged and de-duplicated here, so a
//! page costs the same on the first or the thousandth page.

use base64::Engine;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Text, Timestamp};
use serde::{Deserialize, Serialize};

use super::load_row;
use super::visibility::{self, Audience, OrderAccess};
use crate::db::ids::{ids_in, nullable_ids_in};
use crate::db::schema::{mixed_order_accounts, order_lines, orders, smart_accounts};
use crate::db::union::{FirstKeys, Shaped, UnionAll};
use crate::db::{DbConnection, MultiBackend};
use crate::domain::error::DomainResult;
use crate::domain::orders::rules::{CustomerAccountStatus, OrderStatus, OrderType};
use crate::domain::Actor;

// ---------------------------------------------------------------- listing state

/// Not listed on Smart Account Orders.
pub const RANK_NONE: i32 = 0;
pub const RANK_NOT_ASSIGNED: i32 = 1;
pub const RANK_ASSIGNED: i32 = 2;

/// An order's place on the Smart Account Orders list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListingState {
    pub rank: i32,
    pub waiting_since: Option<NaiveDateTime>,
    pub assigned_at: Option<NaiveDateTime>,
}

/// The listing state after a change. Submitted, booked and shipped standard
/// orders that need a smart account are listed: Not Assigned while lines
/// wait in a holding account (since when they started waiting), Assigned
/// once every line that needs one has a customer account (since when).
pub fn listing_state(
    status: OrderStatus,
    order_type: OrderType,
    customer: CustomerAccountStatus,
    before: ListingState,
    now: NaiveDateTime,
) -> ListingState {
    let listed = matches!(status, OrderStatus::Submitted | OrderStatus::Booked | OrderStatus::Shipped) && order_type == OrderType::Standard;
    match (listed, customer) {
        (true, CustomerAccountStatus::NotAssigned) => ListingState {
            rank: RANK_NOT_ASSIGNED,
            waiting_since: if before.rank == RANK_NOT_ASSIGNED { before.waiting_since.or(Some(now)) } else { Some(now) },
            assigned_at: None,
        },
        (true, CustomerAccountStatus::Assigned) => ListingState {
            rank: RANK_ASSIGNED,
            waiting_since: before.waiting_since.or(Some(now)),
            assigned_at: if before.rank == RANK_ASSIGNED { before.assigned_at.or(Some(now)) } else { Some(now) },
        },
        _ => ListingState { rank: RANK_NONE, waiting_since: None, assigned_at: None },
    }
}

/// Days an order's lines waited (or have waited so far) in a holding account.
pub fn days_in_holding(state: ListingState, now: NaiveDateTime) -> Option<i64> {
    let since = state.waiting_since?;
    match state.rank {
        RANK_NOT_ASSIGNED => Some((now - since).num_days()),
        RANK_ASSIGNED => Some((state.assigned_at.unwrap_or(since) - since).num_days()),
        _ => None,
    }
}

/// Recomputes an order's listing state and sort keys after a change.
pub(crate) fn refresh(conn: &mut DbConnection, order_id: i64) -> DomainResult<()> {
    let order = load_row(conn, order_id)?;
    let facts = super::assignment::order_facts(conn, &order)?;
    let customer = crate::domain::orders::rules::customer_account_status(&facts);
    let before = ListingState { rank: order.sa_rank, waiting_since: order.waiting_since, assigned_at: order.assigned_at };
    let after = listing_state(order.status(), order.order_type(), customer, before, crate::db::now());
    let (holding_name, holding_name_key): (String, String) = match order.holding_account_id {
        Some(h) => smart_accounts::table.find(h).select((smart_accounts::name, smart_accounts::name_key)).first(conn)?,
        None => (String::new(), String::new()),
    };
    let reminders = if after.rank == RANK_NOT_ASSIGNED && after.waiting_since == before.waiting_since { order.reminders_sent } else { 0 };
    // The customer accounts its lines are in: one goes on the order, several to mixed_order_accounts.
    let mut accounts: Vec<i64> = facts.lines.iter().filter_map(|l| l.customer_account).collect();
    accounts.sort_unstable();
    accounts.dedup();
    let single = if accounts.len() == 1 { Some(accounts[0]) } else { None };
    // Mixed rows exist only while the order has no single customer account.
    write_mixed(conn, order_id, &accounts, order.customer_account_id.is_none())?;
    if after != before
        || holding_name != order.holding_name
        || holding_name_key != order.holding_name_key
        || reminders != order.reminders_sent
        || single != order.customer_account_id
    {
        diesel::update(orders::table.find(order_id))
            .set((
                orders::sa_rank.eq(after.rank),
                orders::waiting_since.eq(after.waiting_since),
                orders::assigned_at.eq(after.assigned_at),
                orders::holding_name.eq(holding_name),
                orders::holding_name_key.eq(holding_name_key),
                orders::reminders_sent.eq(reminders),
                orders::customer_account_id.eq(single),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Keeps `mixed_order_accounts` for an order whose lines are in `accounts`
/// (sorted, distinct); `may_have_rows`: it may have rows from before.
pub(crate) fn write_mixed(conn: &mut DbConnection, order_id: i64, accounts: &[i64], may_have_rows: bool) -> QueryResult<()> {
    if may_have_rows || accounts.len() > 1 {
        diesel::delete(mixed_order_accounts::table.filter(mixed_order_accounts::order_id.eq(order_id))).execute(conn)?;
    }
    if accounts.len() > 1 {
        for a in accounts {
            diesel::insert_into(mixed_order_accounts::table)
                .values((mixed_order_accounts::order_id.eq(order_id), mixed_order_accounts::account_id.eq(*a)))
                .execute(conn)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- queries

/// The columns a list sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Customer Smart Account Status, then days in holding: Not Assigned
    /// first, longest waiting first.
    Status,
    /// Days in holding: the Not Assigned orders longest waiting first (by
    /// `waiting_since`, the Status sort's index), then the assigned ones.
    /// Ascending keys mean most days first; the page shows it as such.
    DaysInHolding,
    WebOrderId,
    SalesOrder,
    EndCustomer,
    OrderStatus,
    Holding,
    Submitted,
    Created,
}

impl Sort {
    pub const ALL: [Sort; 9] = [
        Sort::Status,
        Sort::DaysInHolding,
        Sort::WebOrderId,
        Sort::SalesOrder,
        Sort::EndCustomer,
        Sort::OrderStatus,
        Sort::Holding,
        Sort::Submitted,
        Sort::Created,
    ];

    /// The sort's keys begin with the rank (see `filtered`).
    pub fn seeks_rank(self) -> bool {
        matches!(self, Sort::Status | Sort::DaysInHolding)
    }
    /// Ascending keys show the values descending (most days in holding first).
    pub fn shown_reversed(self) -> bool {
        self == Sort::DaysInHolding
    }

    pub fn parse(s: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|x| x.as_str() == s)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Status => "status",
            Sort::DaysInHolding => "days",
            Sort::WebOrderId => "order",
            Sort::SalesOrder => "sales_order",
            Sort::EndCustomer => "end_customer",
            Sort::OrderStatus => "order_status",
            Sort::Holding => "holding",
            Sort::Submitted => "submitted",
            Sort::Created => "created",
        }
    }
    /// The key columns, most significant first; the id breaks ties. A
    /// column may be an expression with commas of its own (`COALESCE(a, b)`).
    fn columns(self) -> &'static [&'static str] {
        match self {
            Sort::Status | Sort::DaysInHolding => &["orders.sa_rank", "orders.waiting_since", "orders.id"],
            Sort::WebOrderId => &["orders.id"],
            Sort::SalesOrder => &["COALESCE(orders.sales_order_number, '')", "orders.id"],
            Sort::EndCustomer => &["orders.end_customer_key", "orders.id"],
            Sort::OrderStatus => &["orders.status", "orders.id"],
            Sort::Holding => &["orders.holding_name_key", "orders.id"],
            Sort::Submitted => &["COALESCE(orders.submitted_at, orders.created_at)", "orders.id"],
            Sort::Created => &["orders.created_at", "orders.id"],
        }
    }
    fn key(self, o: &ListedOrder) -> Vec<Key> {
        let mut k = match self {
            Sort::Status | Sort::DaysInHolding => vec![Key::Int(o.sa_rank as i64), Key::Time(o.waiting_since.unwrap_or(o.created_at))],
            Sort::WebOrderId => vec![],
            Sort::SalesOrder => vec![Key::Text(o.sales_order_number.clone().unwrap_or_default())],
            Sort::EndCustomer => vec![Key::Text(o.end_customer_key.clone())],
            Sort::OrderStatus => vec![Key::Text(o.status.clone())],
            Sort::Holding => vec![Key::Text(o.holding_name_key.clone())],
            Sort::Submitted => vec![Key::Time(o.submitted_at.unwrap_or(o.created_at))],
            Sort::Created => vec![Key::Time(o.created_at)],
        };
        k.push(Key::Int(o.id));
        k
    }
}

/// One sort key value. Ordered as both databases order them (text by bytes).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Key {
    Int(i64),
    Text(String),
    Time(NaiveDateTime),
}

/// Where a page starts or ends: the sort, its direction and the last key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub sort: Sort,
    pub desc: bool,
    pub key: Vec<Key>,
}

impl Cursor {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }
    pub fn decode(s: &str) -> Option<Cursor> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// A list's filters, sort and position.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// Only the orders that need a smart account (Smart Account Orders).
    pub needs_account: bool,
    pub sort: Sort,
    pub desc: bool,
    pub status: Option<OrderStatus>,
    /// Customer Smart Account Status: `RANK_NOT_ASSIGNED` or `RANK_ASSIGNED`.
    pub rank: Option<i32>,
    /// Orders parked in any of these holding accounts (none: any).
    pub holding: Vec<i64>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub q: String,
    pub after: Option<Cursor>,
    pub before: Option<Cursor>,
    pub limit: i64,
}

impl ListQuery {
    pub fn smart_account_orders() -> ListQuery {
        ListQuery {
            needs_account: true,
            sort: Sort::Status,
            desc: false,
            status: None,
            rank: None,
            holding: Vec::new(),
            from: None,
            to: None,
            q: String::new(),
            after: None,
            before: None,
            limit: 50,
        }
    }
    pub fn all_orders() -> ListQuery {
        ListQuery { needs_account: false, sort: Sort::Created, desc: true, ..ListQuery::smart_account_orders() }
    }
}

/// An order as lists show it: the columns their rows, sort keys and
/// visibility judgements use, and no more (a list reads 50 of them a page).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = orders)]
pub struct ListedOrder {
    pub id: i64,
    pub company_id: i64,
    pub name: String,
    pub end_customer_name: String,
    pub status: String,
    pub holding_account_id: Option<i64>,
    pub associated_holding_account_id: Option<i64>,
    pub holding_virtual_account_id: Option<i64>,
    pub handoff_company_id: Option<i64>,
    pub sales_order_number: Option<String>,
    #[diesel(deserialize_as = crate::db::stamp::Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub submitted_at: Option<NaiveDateTime>,
    pub version: i32,
    pub sa_rank: i32,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub waiting_since: Option<NaiveDateTime>,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub assigned_at: Option<NaiveDateTime>,
    pub end_customer_key: String,
    pub holding_name_key: String,
    /// The holding account's name (empty when the order is in none).
    pub holding_name: String,
}

impl ListedOrder {
    pub fn status(&self) -> super::rules::OrderStatus {
        super::rules::OrderStatus::parse(&self.status)
    }
    pub fn web_order_id(&self) -> String {
        super::web_order_id(self.id)
    }
}

/// One row of a list.
#[derive(Debug, Clone)]
pub struct ListRow {
    pub order: ListedOrder,
    pub holding: Option<String>,
    /// The order was handed to a reseller, whose choice of customer account
    /// this viewer does not see.
    pub masked: bool,
    /// The viewer may change the order's assignments and it is their work
    /// (not handed off to a reseller): it may be selected for bulk reassignment.
    pub in_worklist: bool,
    pub days_in_holding: Option<i64>,
}

impl ListRow {
    pub fn rank(&self) -> i32 {
        self.order.sa_rank
    }
}

#[derive(Debug, Clone)]
pub struct ListPage {
    pub rows: Vec<ListRow>,
    /// Cursor for the next page, if there is one.
    pub next: Option<Cursor>,
    /// Cursor for the previous page, if there is one.
    pub prev: Option<Cursor>,
}

/// Where an actor's visible orders come from.
#[derive(Debug, Clone)]
enum Source {
    All,
    Company(i64),
    Holding(i64),
    HoldingVa(i64),
    Associated(i64),
    /// Orders whose lines are all in this customer account (one index range).
    Customer(i64),
    /// Orders whose lines are in several customer accounts, some of them these.
    Mixed(Vec<i64>),
    /// Lines in these VAs of customer accounts (a line without a VA is in
    /// its account's default VA: `default_va_accounts`).
    CustomerVas {
        vas: Vec<i64>,
        default_va_accounts: Vec<i64>,
    },
}

fn sources(a: &Audience) -> Vec<Source> {
    if a.operations {
        return vec![Source::All];
    }
    let mut s = vec![Source::Company(a.company_id)];
    s.extend(a.holding_wide.iter().map(|&h| Source::Holding(h)));
    s.extend(a.holding_wide.iter().map(|&h| Source::Associated(h)));
    s.extend(a.holding_vas.iter().map(|&v| Source::HoldingVa(v)));
    s.extend(a.customer_wide.iter().map(|&c| Source::Customer(c)));
    if !a.customer_wide.is_empty() {
        s.push(Source::Mixed(a.customer_wide.clone()));
    }
    if !a.customer_vas.is_empty() {
        s.push(Source::CustomerVas { vas: a.customer_vas.clone(), default_va_accounts: a.customer_default_va_accounts.clone() });
    }
    s
}

/// The sources an order in the worklist can come from (operations: all;
/// the company's own orders; the holding side), as
/// `visibility::worklist_reach` says: the orders of the other sources are
/// never in the worklist, so the count does not read them.
fn worklist_sources(a: &Audience) -> Vec<Source> {
    sources(a).into_iter().filter(|s| matches!(s, Source::All | Source::Company(_) | Source::Holding(_) | Source::HoldingVa(_))).collect()
}

type Boxed<'a> = orders::BoxedQuery<'a, MultiBackend>;

fn base(source: &Source) -> Boxed<'static> {
    let q = orders::table.into_boxed::<MultiBackend>();
    match source {
        Source::All => q,
        Source::Company(c) => q.filter(orders::company_id.eq(*c)),
        Source::Holding(h) => q.filter(orders::holding_account_id.eq(*h)),
        Source::HoldingVa(v) => q.filter(orders::holding_virtual_account_id.eq(*v)),
        Source::Associated(h) => q.filter(orders::associated_holding_account_id.eq(*h)),
        Source::Customer(c) => q.filter(orders::customer_account_id.eq(*c)),
        Source::Mixed(accounts) => {
            let mixed = mixed_order_accounts::table
                .filter(ids_in(mixed_order_accounts::account_id, accounts))
                .select(mixed_order_accounts::order_id);
            q.filter(orders::id.eq_any(mixed))
        }
        Source::CustomerVas { vas, default_va_accounts } => {
            let lines = order_lines::table
                .filter(
                    nullable_ids_in(order_lines::virtual_account_id, vas)
                        .or(order_lines::virtual_account_id.is_null().and(nullable_ids_in(order_lines::account_id, default_va_accounts))),
                )
                .select(order_lines::order_id);
            q.filter(orders::id.eq_any(lines))
        }
    }
}

/// `seek`: a cursor on the Status sort follows; its row-value comparison
/// then bounds the rank itself, and a separate condition on `sa_rank` would
/// keep the databases from seeking to the cursor. Rows past the wanted ranks
/// come only after all wanted ones, so `page_for` drops them from the page.
fn filtered(source: &Source, l: &ListQuery, seek: bool) -> Boxed<'static> {
    let mut q = base(source);
    if l.needs_account && !seek {
        q = q.filter(orders::sa_rank.gt(RANK_NONE));
    }
    if let (Some(r), false) = (l.rank, seek) {
        q = q.filter(orders::sa_rank.eq(r));
    }
    if let Some(s) = l.status {
        q = q.filter(orders::status.eq(s.as_str()));
    }
    if !l.holding.is_empty() {
        q = q.filter(nullable_ids_in(orders::holding_account_id, &l.holding));
    }
    let date_column = if l.needs_account { "COALESCE(orders.submitted_at, orders.created_at)" } else { "orders.created_at" };
    if let Some(from) = l.from {
        q = q.filter(sql::<Bool>(&format!("{date_column} >= ")).bind::<Timestamp, _>(from.and_hms_opt(0, 0, 0).unwrap_or_default()));
    }
    if let Some(to) = l.to {
        let end = to.succ_opt().unwrap_or(to).and_hms_opt(0, 0, 0).unwrap_or_default();
        q = q.filter(sql::<Bool>(&format!("{date_column} < ")).bind::<Timestamp, _>(end));
    }
    match parse_search(&l.q) {
        Search::None => {}
        Search::OrderId(id) => q = q.filter(orders::id.eq(id)),
        Search::SalesOrder(so) => q = q.filter(orders::sales_order_number.eq(so)),
        Search::Customer(text) => q = q.filter(orders::end_customer_key.like(text).escape('\\')),
    }
    q
}

enum Search {
    None,
    OrderId(i64),
    SalesOrder(String),
    Customer(String),
}

/// The text search: a web order id (WO-000123 or 123), a sales order number
/// (SO-…), or part of the end customer's name.
fn parse_search(q: &str) -> Search {
    let q = q.trim();
    if q.is_empty() {
        return Search::None;
    }
    let upper = q.to_uppercase();
    let digits = upper.strip_prefix("WO-").unwrap_or(&upper);
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        return Search::OrderId(digits.parse().unwrap_or(-1));
    }
    if upper.starts_with("SO-") {
        return Search::SalesOrder(upper);
    }
    let escaped: String =
        q.to_lowercase().chars().flat_map(|c| if matches!(c, '%' | '_' | '\\') { vec!['\\', c] } else { vec![c] }).collect();
    Search::Customer(format!("%{escaped}%"))
}

/// Rows strictly after (or, with `before`, before) `cursor` in the sort
/// order: a row-value comparison, which both databases answer from an index.
fn beyond(cursor: &Cursor, forward: bool) -> Option<Box<dyn BoxableExpression<orders::table, MultiBackend, SqlType = Bool>>> {
    let op = if forward != cursor.desc { ">" } else { "<" };
    let head = format!("({}) {op} (", cursor.sort.columns().join(", "));
    Some(match cursor.key.as_slice() {
        [Key::Int(id)] => Box::new(sql::<Bool>(&head).bind::<BigInt, _>(*id).sql(")")),
        [Key::Int(r), Key::Time(t), Key::Int(id)] => Box::new(
            sql::<Bool>(&head).bind::<Integer, _>(*r as i32).sql(", ").bind::<Timestamp, _>(*t).sql(", ").bind::<BigInt, _>(*id).sql(")"),
        ),
        [Key::Text(s), Key::Int(id)] => Box::new(sql::<Bool>(&head).bind::<Text, _>(s.clone()).sql(", ").bind::<BigInt, _>(*id).sql(")")),
        [Key::Time(t), Key::Int(id)] => Box::new(sql::<Bool>(&head).bind::<Timestamp, _>(*t).sql(", ").bind::<BigInt, _>(*id).sql(")")),
        _ => return None,
    })
}

fn order_by(sort: Sort, desc: bool) -> String {
    let dir = if desc { " DESC" } else { " ASC" };
    sort.columns().iter().map(|c| format!("{c}{dir}")).collect::<Vec<_>>().join(", ")
}

/// One page of the orders `actor` may see, as `l` filters and sorts them.
pub fn page(conn: &mut DbConnection, actor: &Actor, l: &ListQuery) -> DomainResult<ListPage> {
    let audience = visibility::audience(conn, actor)?;
    page_for(conn, &audience, l)
}

pub fn page_for(conn: &mut DbConnection, audience: &Audience, l: &ListQuery) -> DomainResult<ListPage> {
    let (cursor, forward) = match (&l.after, &l.before) {
        (Some(c), _) if c.sort == l.sort && c.desc == l.desc => (Some(c), true),
        (None, Some(c)) if c.sort == l.sort && c.desc == l.desc => (Some(c), false),
        _ => (None, true),
    };
    // Read backwards for a previous page, then turn it around.
    let desc = if forward { l.desc } else { !l.desc };
    let seek = cursor.is_some() && l.sort.seeks_rank();
    // Each source's page is its own indexed query; all of them go in one statement.
    let source_pages = || {
        sources(audience).into_iter().map(move |source| {
            let mut q = filtered(&source, l, seek);
            if let Some(c) = cursor {
                if let Some(f) = beyond(c, forward) {
                    q = q.filter(f);
                }
            }
            q.order(sql::<BigInt>(&order_by(l.sort, desc))).limit(l.limit + 1)
        })
    };
    // What `seek` left to the row-value comparison: only listed rows, of the chosen status.
    let wanted = |rank: i32| (!l.needs_account || rank > RANK_NONE) && l.rank.is_none_or(|r| rank == r);
    let (rows, more) = if l.needs_account && l.sort.seeks_rank() {
        // The status sort's keys are in every source's index: the sources
        // read only keys (no table rows), the database merges them and
        // keeps the page's first keys, whose rows it reads, all in one
        // statement.
        let parts = sources(audience)
            .into_iter()
            .map(|source| {
                let mut q = filtered(&source, l, seek);
                if let Some(f) = cursor.and_then(|c| beyond(c, forward)) {
                    q = q.filter(f);
                }
                q.select((orders::id, orders::sa_rank, orders::waiting_since))
            })
            .collect();
        let mut conditions = Vec::new();
        if l.needs_account {
            conditions.push(("sa_rank >", RANK_NONE));
        }
        if let Some(r) = l.rank {
            conditions.push(("sa_rank =", r));
        }
        let order = order_by(l.sort, desc);
        let first = FirstKeys {
            column: orders::id,
            parts,
            conditions,
            order_by: order.replace("orders.", ""),
            keys: l.sort.columns().join(", ").replace("orders.", ""),
            arm_order_by: order.clone(),
            limit: l.limit + 1,
        };
        // PostgreSQL would plan a union of several sources anew on each page.
        let several = first.parts.len() > 1;
        // The rows come in no particular order: sorted here by the same keys,
        // rather than by the database writing the page's wide rows to a
        // sorter and reading them back.
        let query = Shaped(orders::table.filter(first).select(ListedOrder::as_select()));
        let mut found: Vec<ListedOrder> =
            if several { crate::db::with_generic_plan(conn, |conn| query.load(conn))? } else { query.load(conn)? };
        found.sort_by_cached_key(|o| l.sort.key(o));
        if desc {
            found.reverse();
        }
        let more = found.len() as i64 > l.limit;
        found.truncate(l.limit as usize);
        (found, more)
    } else {
        let parts = source_pages().map(|q| q.select(ListedOrder::as_select())).collect();
        let mut rows: Vec<ListedOrder> = UnionAll::new(parts).load(conn)?;
        rows.retain(|o| wanted(o.sa_rank));
        rows.sort_by_key(|o| l.sort.key(o));
        rows.dedup_by_key(|o| o.id);
        if desc {
            rows.reverse();
        }
        let more = rows.len() as i64 > l.limit;
        rows.truncate(l.limit as usize);
        (rows, more)
    };
    let mut rows = rows;
    if !forward {
        rows.reverse();
    }
    let cursor_at = |o: &ListedOrder| Cursor { sort: l.sort, desc: l.desc, key: l.sort.key(o) };
    let (next, prev) = if forward {
        (if more { rows.last().map(cursor_at) } else { None }, if cursor.is_some() { rows.first().map(cursor_at) } else { None })
    } else {
        (rows.last().map(cursor_at), if more { rows.first().map(cursor_at) } else { None })
    };
    let rows = decorate(audience, rows);
    Ok(ListPage { rows, next, prev })
}

/// Holding account names and masking.
fn decorate(audience: &Audience, rows: Vec<ListedOrder>) -> Vec<ListRow> {
    let now = crate::db::now();
    rows.into_iter()
        .map(|o| {
            let access = OrderAccess {
                company_id: o.company_id,
                holding: o.holding_account_id,
                holding_va: o.holding_virtual_account_id,
                associated: o.associated_holding_account_id,
                handoff_company: o.handoff_company_id,
                lines: Vec::new(),
            };
            let state = ListingState { rank: o.sa_rank, waiting_since: o.waiting_since, assigned_at: o.assigned_at };
            ListRow {
                holding: o.holding_account_id.map(|_| o.holding_name.clone()),
                masked: visibility::masked(audience, &access),
                in_worklist: visibility::in_worklist(audience, &access),
                days_in_holding: days_in_holding(state, now),
                order: o,
            }
        })
        .collect()
}

/// Every row of the current view, in order, for the CSV export (at most `cap`).
pub fn all_rows(conn: &mut DbConnection, actor: &Actor, l: &ListQuery, cap: usize) -> DomainResult<Vec<ListRow>> {
    let audience = visibility::audience(conn, actor)?;
    let mut q = ListQuery { after: None, before: None, limit: 1000, ..l.clone() };
    let mut out = Vec::new();
    loop {
        let page = page_for(conn, &audience, &q)?;
        out.extend(page.rows);
        match page.next {
            Some(c) if out.len() < cap => q.after = Some(c),
            _ => break,
        }
    }
    out.truncate(cap);
    Ok(out)
}

/// How far the navigation counts Not Assigned orders: past it, the badge
/// says "99+" and the list itself is the place to see how many. Each
/// visibility source reads at most this many rows, whatever the data size.
pub const NAV_COUNT_CAP: i64 = 100;

/// The navigation's count of Not Assigned orders the actor sees, counted up to `cap`.
pub fn not_assigned_count(conn: &mut DbConnection, actor: &Actor, cap: i64) -> DomainResult<i64> {
    let audience = visibility::audience(conn, actor)?;
    not_assigned_count_for(conn, &audience, cap)
}

/// The count in one statement: each source reads at most `cap` orders
/// through its own index, as its list query does, all in one `UNION ALL`;
/// each order is then judged by `visibility::in_worklist`, once.
pub fn not_assigned_count_for(conn: &mut DbConnection, audience: &Audience, cap: i64) -> DomainResult<i64> {
    let parts = worklist_sources(audience)
        .into_iter()
        .map(|source| {
            let mut q = base(&source).filter(orders::sa_rank.eq(RANK_NOT_ASSIGNED));
            if let Source::Company(c) = source {
                // What `in_worklist` drops below; here too, so handed-off orders do not use up the cap.
                q = q.filter(orders::handoff_company_id.is_null().or(orders::handoff_company_id.eq(c)));
            }
            q.select((
                orders::id,
                orders::company_id,
                orders::holding_account_id,
                orders::holding_virtual_account_id,
                orders::associated_holding_account_id,
                orders::handoff_company_id,
            ))
        })
        .collect();
    let rows: Vec<(i64, i64, Option<i64>, Option<i64>, Option<i64>, Option<i64>)> = UnionAll::limited(parts, cap).load(conn)?;
    let mut ids: Vec<i64> = rows
        .into_iter()
        .filter_map(|(id, company_id, holding, holding_va, associated, handoff_company)| {
            let access = OrderAccess { company_id, holding, holding_va, associated, handoff_company, lines: Vec::new() };
            visibility::in_worklist(audience, &access).then_some(id)
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids.len().min(cap as usize) as i64)
}

/// The Not Assigned orders that are the actor's work (`visibility::in_worklist`,
/// as the navigation counts them), longest waiting first, at most `limit`: the
/// home page's worklist. Only the sources where an order can be the actor's
/// work are read — their company's orders not handed to a reseller, the holding
/// accounts and holding VAs they work in (operations: all) — each through its
/// Status index and stopping at `limit`, all in one statement; the rows are
/// then judged by `in_worklist`, once.
pub fn oldest_in_worklist(conn: &mut DbConnection, audience: &Audience, limit: i64) -> DomainResult<Vec<ListRow>> {
    let parts: Vec<_> = worklist_sources(audience)
        .into_iter()
        .map(|source| {
            let mut q = base(&source).filter(orders::sa_rank.eq(RANK_NOT_ASSIGNED));
            if let Source::Company(c) = source {
                q = q.filter(orders::handoff_company_id.is_null().or(orders::handoff_company_id.eq(c)));
            }
            q.order((orders::waiting_since.asc(), orders::id.asc())).limit(limit).select(ListedOrder::as_select())
        })
        .collect();
    let mut rows: Vec<ListedOrder> = UnionAll::new(parts).load(conn)?;
    rows.sort_by_key(|o| (o.waiting_since, o.id));
    rows.dedup_by_key(|o| o.id);
    let mut rows = decorate(audience, rows);
    rows.retain(|r| r.in_worklist);
    rows.truncate(limit.max(0) as usize);
    Ok(rows)
}

/// Holding accounts that appear in the actor's list and whose name starts
/// with `prefix` (any case; empty: all), the first `limit` by name, for the
/// filter's suggestions and to read a typed name: the company's own, read in
/// name order from an index and stopping at `limit`, and those the actor's
/// roles reach (operations: every holding account).
pub fn holding_choices(conn: &mut DbConnection, actor: &Actor, prefix: &str, limit: usize) -> DomainResult<Vec<(i64, String)>> {
    use crate::db::schema::virtual_accounts;
    let audience = visibility::audience(conn, actor)?;
    let key = prefix.trim().to_lowercase();
    let upper = format!("{key}\u{10FFFF}");
    let holding = crate::domain::roles::AccountKind::Holding.as_str();
    let named = || {
        smart_accounts::table
            .filter(smart_accounts::kind.eq(holding))
            .filter(smart_accounts::name_key.ge(key.clone()))
            .filter(smart_accounts::name_key.lt(upper.clone()))
            .select((smart_accounts::id, smart_accounts::name, smart_accounts::name_key))
            .into_boxed::<MultiBackend>()
    };
    let mut q = named();
    if !audience.operations {
        q = q.filter(smart_accounts::owner_company_id.assume_not_null().eq(audience.company_id));
    }
    let mut rows: Vec<(i64, String, String)> = q.order((smart_accounts::name_key, smart_accounts::id)).limit(limit as i64).load(conn)?;
    if !audience.operations && (!audience.holding_wide.is_empty() || !audience.holding_vas.is_empty()) {
        // The accounts of the actor's holding roles and of their VA roles: two
        // primary-key reads in one statement (an OR of the two would read every account on PostgreSQL).
        let mut parts = Vec::new();
        if !audience.holding_wide.is_empty() {
            parts.push(named().filter(ids_in(smart_accounts::id, &audience.holding_wide)));
        }
        if !audience.holding_vas.is_empty() {
            let vas = virtual_accounts::table
                .filter(ids_in(virtual_accounts::id, &audience.holding_vas))
                .select(virtual_accounts::smart_account_id);
            parts.push(named().filter(smart_accounts::id.eq_any(vas)));
        }
        let reached: Vec<(i64, String, String)> = UnionAll::new(parts).load(conn)?;
        rows.extend(reached);
        rows.sort_by(|a, b| (&a.2, a.0).cmp(&(&b.2, b.0)));
        rows.dedup_by_key(|r| r.0);
        rows.truncate(limit);
    }
    Ok(rows.into_iter().map(|(id, name, _)| (id, name)).collect())
}

/// How far a typed holding-account name may reach: a filter on more
/// accounts than this asks for more of the name.
pub const HOLDING_FILTER_CAP: usize = 100;

/// The holding accounts a typed name filters on: those of the actor's list
/// whose name starts with it; a message when none does or too many do.
pub fn holding_filter(conn: &mut DbConnection, actor: &Actor, typed: &str) -> DomainResult<Result<Vec<i64>, String>> {
    let found = holding_choices(conn, actor, typed, HOLDING_FILTER_CAP + 1)?;
    // A full name picks that account (and any other of the same name), not
    // the longer names it begins; in name order those come first, so they
    // are among the accounts read even when more begin with it.
    let key = typed.trim().to_lowercase();
    let exact: Vec<i64> = found.iter().filter(|(_, n)| n.to_lowercase() == key).map(|(id, _)| *id).collect();
    Ok(match found.len() {
        _ if !exact.is_empty() => Ok(exact),
        0 => Err(format!("None of your holding accounts is named \u{201c}{}\u{201d}. Pick one from the suggestions.", typed.trim())),
        n if n > HOLDING_FILTER_CAP => Err(format!(
            "More than {HOLDING_FILTER_CAP} holding accounts start with \u{201c}{}\u{201d}: type more of the name.",
            typed.trim()
        )),
        _ => Ok(found.into_iter().map(|(id, _)| id).collect()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 1).unwrap().and_hms_opt(h, 0, 0).unwrap()
    }
    const NONE: ListingState = ListingState { rank: RANK_NONE, waiting_since: None, assigned_at: None };

    #[test]
    fn order_by_keeps_expressions_with_commas_whole() {
        assert_eq!(order_by(Sort::SalesOrder, true), "COALESCE(orders.sales_order_number, '') DESC, orders.id DESC");
        assert_eq!(order_by(Sort::Submitted, false), "COALESCE(orders.submitted_at, orders.created_at) ASC, orders.id ASC");
        assert_eq!(order_by(Sort::Status, false), "orders.sa_rank ASC, orders.waiting_since ASC, orders.id ASC");
    }

    #[test]
    fn submitted_orders_in_a_holding_account_wait_from_submission_and_keep_waiting_until_assigned() {
        let s = listing_state(OrderStatus::Submitted, OrderType::Standard, CustomerAccountStatus::NotAssigned, NONE, at(1));
        assert_eq!(s, ListingState { rank: RANK_NOT_ASSIGNED, waiting_since: Some(at(1)), assigned_at: None });
        let booked = listing_state(OrderStatus::Booked, OrderType::Standard, CustomerAccountStatus::NotAssigned, s, at(5));
        assert_eq!(booked.waiting_since, Some(at(1)), "booking does not restart the wait");
        let assigned = listing_state(OrderStatus::Booked, OrderType::Standard, CustomerAccountStatus::Assigned, booked, at(9));
        assert_eq!(assigned, ListingState { rank: RANK_ASSIGNED, waiting_since: Some(at(1)), assigned_at: Some(at(9)) });
        assert_eq!(days_in_holding(assigned, at(23)), Some(0));
        let back = listing_state(OrderStatus::Booked, OrderType::Standard, CustomerAccountStatus::NotAssigned, assigned, at(10));
        assert_eq!(back.waiting_since, Some(at(10)), "a line put back into holding waits anew");
    }

    #[test]
    fn drafts_stocking_orders_and_orders_needing_no_account_are_not_listed() {
        for (status, ty, c) in [
            (OrderStatus::Draft, OrderType::Standard, CustomerAccountStatus::NotAssigned),
            (OrderStatus::Quote, OrderType::Standard, CustomerAccountStatus::Assigned),
            (OrderStatus::Cancelled, OrderType::Standard, CustomerAccountStatus::NotAssigned),
            (OrderStatus::Submitted, OrderType::Stocking, CustomerAccountStatus::NotAssigned),
            (OrderStatus::Shipped, OrderType::Standard, CustomerAccountStatus::NotApplicable),
        ] {
            assert_eq!(listing_state(status, ty, c, NONE, at(1)), NONE, "{status:?} {ty:?} {c:?}");
        }
    }

    #[test]
    fn days_in_holding_count_whole_days_of_waiting() {
        let waiting = ListingState { rank: RANK_NOT_ASSIGNED, waiting_since: Some(at(0)), assigned_at: None };
        assert_eq!(days_in_holding(waiting, at(0) + chrono::Duration::days(15) + chrono::Duration::hours(2)), Some(15));
        assert_eq!(days_in_holding(NONE, at(3)), None);
    }

    #[test]
    fn the_search_reads_order_ids_sales_orders_and_customer_names() {
        assert!(matches!(parse_search("WO-000042"), Search::OrderId(42)));
        assert!(matches!(parse_search(" 42 "), Search::OrderId(42)));
        assert!(matches!(parse_search("so-100042"), Search::SalesOrder(s) if s == "SO-100042"));
        assert!(matches!(parse_search("Acme 50%"), Search::Customer(s) if s == "%acme 50\\%%"));
        assert!(matches!(parse_search("  "), Search::None));
    }

    #[test]
    fn cursors_survive_the_round_trip_through_a_link() {
        let c = Cursor { sort: Sort::EndCustomer, desc: true, key: vec![Key::Text("a&b=c ü".into()), Key::Int(7)] };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("not a cursor"), None);
    }

    #[test]
    fn keys_order_like_the_databases_do() {
        let mut keys =
            [vec![Key::Text("b".into()), Key::Int(1)], vec![Key::Text("a".into()), Key::Int(9)], vec![Key::Text("a".into()), Key::Int(2)]];
        keys.sort();
        assert_eq!(keys[0], vec![Key::Text("a".into()), Key::Int(2)]);
        assert_eq!(keys[2][0], Key::Text("b".into()));
    }
}
