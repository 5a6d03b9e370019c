//! Orders ▸ Smart Account Orders: the orders that need a smart account, Not
//! Assigned first, with filters, sorting, keyset pages, CSV export and bulk
//! reassignment.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::domain::orders::assignment::{self, AccountOption, BulkSummary, BulkTarget};
use crate::domain::orders::listing::{self, Cursor, ListPage, ListQuery, ListRow, Sort, RANK_ASSIGNED, RANK_NOT_ASSIGNED};
use crate::domain::orders::rules::OrderStatus;
use crate::domain::orders::{web_order_id, WebOrderId};
use crate::domain::roles::AccountKind;
use crate::domain::{DomainError, FieldErrors};
use crate::startup::AppState;
use crate::web::error::AppError;
use crate::web::extract::SignedIn;
use crate::web::layout::Layout;
use crate::web::{field, form_pairs, read_page, render, run};

/// The list's parameters as the user gave them (kept to show them again).
#[derive(Debug, Clone, Default)]
pub struct Params {
    pub sort: String,
    pub dir: String,
    pub status: String,
    pub sa: String,
    pub holding: String,
    pub from: String,
    pub to: String,
    pub q: String,
    pub after: String,
    pub before: String,
}

impl Params {
    pub fn from_pairs(p: &[(String, String)]) -> Params {
        let f = |n: &str| field(p, n).trim().to_string();
        Params {
            sort: f("sort"),
            dir: f("dir"),
            status: f("status"),
            sa: f("sa"),
            holding: f("holding"),
            from: f("from"),
            to: f("to"),
            q: f("q"),
            after: f("after"),
            before: f("before"),
        }
    }

    /// The query, or the filter fields' messages.
    pub fn query(&self, base: ListQuery) -> Result<ListQuery, FieldErrors> {
        let mut e = FieldErrors::new();
        let sort = Sort::parse(&self.sort).unwrap_or(base.sort);
        let desc = match self.dir.as_str() {
            "desc" => true,
            "asc" => false,
            _ => base.desc,
        };
        let status = match self.status.as_str() {
            "" => None,
            s => match OrderStatus::parse(s) {
                st @ (OrderStatus::Submitted | OrderStatus::Booked | OrderStatus::Shipped) if st.as_str() == s => Some(st),
                st if !base.needs_account && st.as_str() == s => Some(st),
                _ => {
                    e.add("status", "Choose an order status from the list.");
                    None
                }
            },
        };
        let rank = match self.sa.as_str() {
            "" => None,
            "not_assigned" => Some(RANK_NOT_ASSIGNED),
            "assigned" => Some(RANK_ASSIGNED),
            _ => {
                e.add("sa", "Choose Assigned or Not Assigned.");
                None
            }
        };
        if let Err(m) = crate::domain::values::parse_search(&self.holding, 200) {
            e.add("holding", m);
        }
        let date = |name: &'static str, value: &str, e: &mut FieldErrors| -> Option<chrono::NaiveDate> {
            if value.is_empty() {
                return None;
            }
            chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").ok().or_else(|| {
                e.add(name, "Enter a date as YYYY-MM-DD.");
                None
            })
        };
        let from = date("from", &self.from, &mut e);
        let to = date("to", &self.to, &mut e);
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                e.add("to", "The end date is before the start date.");
            }
        }
        if let Err(m) = crate::domain::values::parse_search(&self.q, 100) {
            e.add("q", m);
        }
        if !e.is_empty() {
            return Err(e);
        }
        Ok(ListQuery {
            sort,
            desc,
            status,
            rank,
            from,
            to,
            q: self.q.clone(),
            after: Cursor::decode(&self.after),
            before: Cursor::decode(&self.before),
            ..base
        })
    }

    /// The query with the typed holding-account name read as the accounts
    /// it names in the actor's list (`listing::holding_filter`).
    pub fn resolve(
        &self,
        conn: &mut crate::db::DbConnection,
        actor: &crate::domain::Actor,
        base: ListQuery,
    ) -> crate::domain::error::DomainResult<Result<ListQuery, FieldErrors>> {
        let mut q = match self.query(base) {
            Ok(q) => q,
            Err(e) => return Ok(Err(e)),
        };
        if !self.holding.is_empty() {
            match listing::holding_filter(conn, actor, &self.holding)? {
                Ok(ids) => q.holding = ids,
                Err(m) => return Ok(Err(FieldErrors::single("holding", m))),
            }
        }
        Ok(Ok(q))
    }

    /// The filter part of a link (no sort, no position).
    pub fn filters(&self) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in
            [("status", &self.status), ("sa", &self.sa), ("holding", &self.holding), ("from", &self.from), ("to", &self.to), ("q", &self.q)]
        {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        s.finish()
    }

    /// A link to this view sorted by `sort` (toggling the direction if it is the current sort).
    pub fn sort_link(&self, path: &str, sort: &str, current: &ListQuery) -> String {
        let dir = if current.sort.as_str() == sort {
            if current.desc {
                "asc"
            } else {
                "desc"
            }
        } else {
            "asc"
        };
        format!("{path}?{}&sort={sort}&dir={dir}", self.filters())
    }

    pub fn page_link(&self, path: &str, q: &ListQuery, key: &str, cursor: &Cursor) -> String {
        format!("{path}?{}&sort={}&dir={}&{key}={}", self.filters(), q.sort.as_str(), if q.desc { "desc" } else { "asc" }, cursor.encode())
    }

    pub fn hidden_filters(&self) -> Vec<(&'static str, String)> {
        [("status", &self.status), ("sa", &self.sa), ("holding", &self.holding), ("from", &self.from), ("to", &self.to), ("q", &self.q)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k, v.clone()))
            .collect()
    }
}

/// `aria-sort` for a column header.
pub fn aria_sort(q: &ListQuery, sort: &str) -> &'static str {
    match (q.sort.as_str() == sort, q.desc != q.sort.shown_reversed()) {
        (false, _) => "none",
        (true, false) => "ascending",
        (true, true) => "descending",
    }
}

impl ListRow {
    pub fn web_id(&self) -> WebOrderId {
        WebOrderId(self.order.id)
    }
    pub fn status_label(&self) -> &'static str {
        self.order.status().label()
    }
    pub fn status_class(&self) -> &'static str {
        self.order.status().badge_class()
    }
    pub fn submitted(&self) -> String {
        crate::web::day(self.order.submitted_at.unwrap_or(self.order.created_at))
    }
    pub fn created(&self) -> String {
        crate::web::minute(&self.order.created_at)
    }
    pub fn not_assigned(&self) -> bool {
        self.order.sa_rank == RANK_NOT_ASSIGNED
    }
    pub fn assigned(&self) -> bool {
        self.order.sa_rank == RANK_ASSIGNED
    }
    /// Not Assigned and the viewer's to reassign: a checkbox for bulk reassignment.
    pub fn selectable(&self) -> bool {
        self.not_assigned() && self.in_worklist
    }
    /// Orders waiting a week or more in a holding account stand out.
    pub fn waiting_long(&self) -> bool {
        self.not_assigned() && self.days_in_holding.is_some_and(|d| d >= 7)
    }
    pub fn days(&self) -> String {
        match self.days_in_holding {
            Some(d) if self.not_assigned() => d.to_string(),
            Some(d) => format!("{d} (done)"),
            None => String::new(),
        }
    }
}

/// The results part of the list: rows, sort links, pages and export.
pub struct Results {
    pub params: Params,
    pub query: ListQuery,
    pub page: ListPage,
    pub errors: FieldErrors,
    /// What the list had seen, carried by the bulk form for "all matching".
    pub seen: assignment::Snapshot,
}

const LIST_PATH: &str = "/smart-account-orders";

impl Results {
    pub fn sort_link(&self, sort: &str) -> String {
        self.params.sort_link(LIST_PATH, sort, &self.query)
    }
    pub fn aria_sort(&self, sort: &str) -> &'static str {
        aria_sort(&self.query, sort)
    }
    pub fn page_link(&self, key: &str, cursor: &Cursor) -> String {
        self.params.page_link(LIST_PATH, &self.query, key, cursor)
    }
    /// Some row has a box to select (a Not Assigned order in the viewer's worklist).
    pub fn has_selectable(&self) -> bool {
        self.page.rows.iter().any(ListRow::selectable)
    }
    /// What the list shows now, in words: the status line that is read out
    /// when a filter changes the results.
    pub fn announcement(&self) -> String {
        if !self.errors.is_empty() {
            return "No orders shown: correct the filter.".into();
        }
        let filtered = !self.params.filters().is_empty();
        let n = self.page.rows.len();
        let paged = self.page.next.is_some() || self.page.prev.is_some();
        match (n, paged) {
            (0, _) if filtered => "No orders match the filter.".into(),
            (0, _) => "No orders need a smart account.".into(),
            (n, false) => format!(
                "{n} order{} {}{}.",
                if n == 1 { "" } else { "s" },
                if n == 1 { "matches" } else { "match" },
                if filtered { " the filter" } else { "" }
            ),
            (n, true) => format!("{n} orders on this page{}; more on the other pages.", if filtered { " match the filter" } else { "" }),
        }
    }
    pub fn export_link(&self) -> String {
        format!(
            "{LIST_PATH}/export.csv?{}&sort={}&dir={}",
            self.params.filters(),
            self.query.sort.as_str(),
            if self.query.desc { "desc" } else { "asc" }
        )
    }
}

#[derive(Template)]
#[template(path = "sa_orders/list.html")]
pub struct ListPageView {
    pub layout: Layout,
    pub view: Results,
}

/// How many holding accounts the filter suggests at a time.
const HOLDING_SUGGESTIONS: usize = 20;

/// The holding-account filter's suggestions for what has been typed so far.
#[derive(Template)]
#[template(path = "sa_orders/_holding_choices.html")]
pub struct HoldingChoices {
    pub holdings: Vec<(i64, String)>,
}

#[derive(Template)]
#[template(path = "sa_orders/_results.html")]
pub struct ResultsFragment {
    pub view: Results,
}

fn empty_page() -> ListPage {
    ListPage { rows: Vec::new(), next: None, prev: None }
}

pub async fn list(req: HttpRequest, state: web::Data<AppState>, user: SignedIn) -> Result<HttpResponse, AppError> {
    let params = Params::from_pairs(&form_pairs(req.query_string().as_bytes()));
    let partial = req.headers().contains_key("HX-Request");
    let (actor, p) = (user.actor.clone(), params.clone());
    // Taken before the list is read, with the session: a change after it refuses a bulk move.
    let seen = user.began.assignments.clone();
    let (query, errors, page) = read_page(&state, move |conn| {
        let base = ListQuery::smart_account_orders();
        let (query, errors) = match p.resolve(conn, &actor, base.clone())? {
            Ok(q) => (q, FieldErrors::new()),
            Err(e) => (base, e),
        };
        let page = if errors.is_empty() { listing::page(conn, &actor, &query)? } else { empty_page() };
        Ok((query, errors, page))
    })
    .await??;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let view = Results { params, query, page, errors, seen };
    let mut resp =
        if partial { render(status, &ResultsFragment { view })? } else { render(status, &ListPageView { layout: user.layout, view })? };
    resp.headers_mut().insert(actix_web::http::header::VARY, actix_web::http::header::HeaderValue::from_static("HX-Request"));
    Ok(resp)
}

/// Suggestions for the holding-account filter as the name is typed (htmx).
pub async fn holding_suggestions(req: HttpRequest, state: web::Data<AppState>, user: SignedIn) -> Result<HttpResponse, AppError> {
    let typed = field(&form_pairs(req.query_string().as_bytes()), "holding").trim().to_string();
    let typed = crate::domain::values::parse_search(&typed, 200).unwrap_or_default();
    let actor = user.actor.clone();
    let holdings = run(&state, move |conn| listing::holding_choices(conn, &actor, &typed, HOLDING_SUGGESTIONS)).await??;
    render(StatusCode::OK, &HoldingChoices { holdings })
}

/// The current view (filters and sort, every page) as CSV.
pub async fn export(req: HttpRequest, state: web::Data<AppState>, user: SignedIn) -> Result<HttpResponse, AppError> {
    let params = Params::from_pairs(&form_pairs(req.query_string().as_bytes()));
    let actor = user.actor.clone();
    let rows = run(&state, move |conn| {
        let query = params.resolve(conn, &actor, ListQuery::smart_account_orders())?.map_err(DomainError::from)?;
        listing::all_rows(conn, &actor, &query, 100_000)
    })
    .await??;
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "Web Order ID",
        "Sales Order",
        "Order Name",
        "End Customer",
        "Order Status",
        "Holding Account",
        "Customer Smart Account Status",
        "Submitted",
        "Days in Holding",
    ];
    w.write_record(header).map_err(AppError::internal)?;
    for r in &rows {
        let sa = if r.not_assigned() {
            "Not Assigned"
        } else if r.masked {
            "Assigned by reseller"
        } else {
            "Assigned"
        };
        let days = r.days_in_holding.map(|d| d.to_string()).unwrap_or_default();
        w.write_record([
            r.web_id().to_string().as_str(),
            r.order.sales_order_number.as_deref().unwrap_or(""),
            r.order.name.as_str(),
            r.order.end_customer_name.as_str(),
            r.status_label(),
            r.holding.as_deref().unwrap_or(""),
            sa,
            r.submitted().as_str(),
            days.as_str(),
        ])
        .map_err(AppError::internal)?;
    }
    let body = w.into_inner().map_err(AppError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"smart-account-orders.csv\""))
        .body(body))
}

// ---------------------------------------------------------------- bulk reassignment

/// The orders a bulk reassignment is about: chosen ones (`orders=ID:VERSION`,
/// the version the list showed), or every order matching the filters
/// (`all=yes`, with `seen`, the list's snapshot bound).
#[derive(Debug, Clone)]
pub struct Selection {
    /// As posted, to pass on unchanged.
    pub orders: Vec<String>,
    pub all: bool,
    pub seen: String,
    pub params: Params,
}

const RELOAD: &str = "Load the Smart Account Orders list again and select the orders there.";

impl Selection {
    fn from_pairs(p: &[(String, String)]) -> Selection {
        Selection {
            orders: p.iter().filter(|(k, _)| k == "orders").map(|(_, v)| v.trim().to_string()).collect(),
            all: field(p, "all") == "yes",
            seen: field(p, "seen").trim().to_string(),
            params: Params::from_pairs(p),
        }
    }

    fn bound(&self) -> Option<assignment::Snapshot> {
        self.seen.parse().ok()
    }

    /// The orders with what the user saw of each; for "all matching",
    /// through the same visibility as the list (at most 5,000).
    fn resolve(
        &self,
        conn: &mut crate::db::DbConnection,
        actor: &crate::domain::Actor,
    ) -> crate::domain::error::DomainResult<Vec<(i64, assignment::Seen)>> {
        if self.all {
            let bound = self.bound().ok_or_else(|| FieldErrors::single("orders", RELOAD))?;
            let mut q = self.params.resolve(conn, actor, ListQuery::smart_account_orders())?.map_err(DomainError::from)?;
            q.after = None;
            q.before = None;
            return Ok(listing::all_rows(conn, actor, &q, 5000)?
                .into_iter()
                .map(|r| (r.order.id, assignment::Seen::UpTo(bound.clone())))
                .collect());
        }
        let mut out = Vec::new();
        for raw in &self.orders {
            let (id, version) = match raw.split_once(':') {
                Some((id, v)) => (id.parse::<i64>().ok(), v.parse::<i32>().ok().map(assignment::Seen::Version)),
                None => (raw.parse::<i64>().ok(), self.bound().map(assignment::Seen::UpTo)),
            };
            match (id, version) {
                (Some(id), Some(seen)) if id > 0 => out.push((id, seen)),
                _ => return Err(FieldErrors::single("orders", RELOAD).into()),
            }
        }
        Ok(out)
    }

    pub fn describe(&self) -> String {
        if self.all {
            let f = self.params.filters();
            if f.is_empty() {
                "every order in your Smart Account Orders list".into()
            } else {
                "every order matching the filter".into()
            }
        } else {
            format!("{} selected order{}", self.orders.len(), if self.orders.len() == 1 { "" } else { "s" })
        }
    }
}

#[derive(Template)]
#[template(path = "sa_orders/reassign.html")]
pub struct ReassignPage {
    pub layout: Layout,
    pub selection: Selection,
    pub kind: String,
    pub q: String,
    pub results: Vec<AccountOption>,
    pub error: Option<String>,
    pub summary: Option<BulkSummary>,
}

impl ReassignPage {
    pub fn web_id(&self, id: &i64) -> String {
        web_order_id(*id)
    }
    pub fn kind_link(&self, kind: &str) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for o in &self.selection.orders {
            s.append_pair("orders", o);
        }
        if !self.selection.seen.is_empty() {
            s.append_pair("seen", &self.selection.seen);
        }
        if self.selection.all {
            s.append_pair("all", "yes");
            for (k, v) in self.selection.params.hidden_filters() {
                s.append_pair(k, &v);
            }
        }
        s.append_pair("kind", kind);
        format!("/smart-account-orders/reassign?{}", s.finish())
    }
}

fn kind_of(pairs: &[(String, String)]) -> AccountKind {
    if field(pairs, "kind") == "holding" {
        AccountKind::Holding
    } else {
        AccountKind::Customer
    }
}

pub async fn reassign_form(req: HttpRequest, state: web::Data<AppState>, user: SignedIn) -> Result<HttpResponse, AppError> {
    let pairs = form_pairs(req.query_string().as_bytes());
    let selection = Selection::from_pairs(&pairs);
    let kind = kind_of(&pairs);
    let q = field(&pairs, "q").to_string();
    let error = (selection.orders.is_empty() && !selection.all)
        .then(|| "Select the orders to reassign on the Smart Account Orders list.".to_string());
    let (actor, q2) = (user.actor.clone(), q.clone());
    let results = run(&state, move |conn| assignment::search(conn, &actor, kind, &q2)).await??;
    let page = ReassignPage { layout: user.layout, selection, kind: kind.as_str().into(), q, results, error, summary: None };
    if req.headers().contains_key("HX-Request") {
        return render(StatusCode::OK, &ReassignResults { page });
    }
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "sa_orders/_reassign_results.html")]
pub struct ReassignResults {
    pub page: ReassignPage,
}

pub async fn reassign(state: web::Data<AppState>, user: SignedIn, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let pairs = form_pairs(&body);
    let selection = Selection::from_pairs(&pairs);
    let kind = kind_of(&pairs);
    let mut errors = FieldErrors::new();
    let account =
        errors.check("account_id", crate::domain::values::parse_id(field(&pairs, "account_id"), "Choose an account from the list."));
    let va = errors.check(
        "virtual_account_id",
        crate::domain::values::parse_optional_id(field(&pairs, "virtual_account_id"), "Choose a virtual account from the list."),
    );
    let to = match (kind, account, va) {
        (AccountKind::Holding, Some(account), _) => Some(BulkTarget::Holding { account }),
        (AccountKind::Customer, Some(account), Some(va)) => Some(BulkTarget::Customer { account, va }),
        _ => None,
    };
    let (actor, base, sel) = (user.actor.clone(), state.settings.base_url.clone(), selection.clone());
    let result = run(&state, move |conn| {
        let Some(to) = to else {
            return Err(DomainError::Invalid(errors));
        };
        let ids = sel.resolve(conn, &actor)?;
        if ids.is_empty() {
            return Err(FieldErrors::single("orders", "No order is selected.").into());
        }
        let summary = assignment::bulk_reassign(conn, &actor, &ids, to, &base)?;
        // The navigation's count as it is after the move, not as it was before.
        let not_assigned = listing::not_assigned_count(conn, &actor, 1000)?;
        Ok((summary, not_assigned))
    })
    .await?;
    state.wake_mail_worker();
    match result {
        Ok((summary, not_assigned)) => render(
            StatusCode::OK,
            &ReassignPage {
                layout: user.layout.with_not_assigned(not_assigned),
                selection,
                kind: kind.as_str().into(),
                q: String::new(),
                results: Vec::new(),
                error: None,
                summary: Some(summary),
            },
        ),
        Err(DomainError::Invalid(e)) => {
            let actor = user.actor.clone();
            let results = run(&state, move |conn| assignment::search(conn, &actor, kind, "")).await??;
            render(
                StatusCode::BAD_REQUEST,
                &ReassignPage {
                    layout: user.layout,
                    selection,
                    kind: kind.as_str().into(),
                    q: String::new(),
                    results,
                    error: Some(e.joined()),
                    summary: None,
                },
            )
        }
        Err(e) => Err(e.into()),
    }
}
