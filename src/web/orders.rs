//! Pages under Orders: the list, order initiation, the order page (items,
//! assignments, ready-to-submit panel, timeline), the assignment page with its
//! live account search, history, and operations' fulfilment queue.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::domain::catalogue::{self, Product};
use crate::domain::orders::assignment::{self, AccountOption, HistoryEntry};
use crate::domain::orders::cases::{self, CaseInput, CaseView};
use crate::domain::orders::listing::{self, Cursor, ListPage, ListQuery};
use crate::domain::orders::rules::CustomerAccountStatus;
use crate::domain::orders::{self, NewOrderInput, OrderView};
use crate::domain::roles::AccountKind;
use crate::domain::{policy, values, DomainError, FieldErrors};
use crate::startup::AppState;
use crate::web::error::AppError;
use crate::web::extract::SignedIn;
use crate::web::layout::Layout;
use crate::web::sa_orders::Params;
use crate::web::session::PortalSession;
use crate::web::{field, fields_i64, form_pairs, read_page, render, run, see_other};

// ---------------------------------------------------------------- list and new

#[derive(Template)]
#[template(path = "orders/list.html")]
pub struct OrdersPage {
    pub layout: Layout,
    pub page: ListPage,
    pub params: Params,
    pub query: ListQuery,
}

impl OrdersPage {
    pub fn page_link(&self, key: &str, cursor: &Cursor) -> String {
        self.params.page_link("/orders", &self.query, key, cursor)
    }
}

/// Every order and quote the actor may see, newest first, a page at a time.
pub async fn list_orders(req: HttpRequest, state: web::Data<AppState>, user: SignedIn) -> Result<HttpResponse, AppError> {
    let params = Params::from_pairs(&form_pairs(req.query_string().as_bytes()));
    let mut query = ListQuery::all_orders();
    query.after = Cursor::decode(&params.after);
    query.before = Cursor::decode(&params.before);
    let (actor, q) = (user.actor.clone(), query.clone());
    let page = run(&state, move |conn| listing::page(conn, &actor, &q)).await??;
    render(StatusCode::OK, &OrdersPage { layout: user.layout, page, params, query })
}

#[derive(Template)]
#[template(path = "orders/new.html")]
pub struct NewOrderPage {
    pub layout: Layout,
    pub input: NewOrderInput,
    pub errors: FieldErrors,
    pub may_stock: bool,
    pub partners: Vec<(i64, String)>,
    pub is_operations: bool,
}

#[derive(Deserialize)]
pub struct NewQuery {
    pub quote: Option<String>,
}

async fn new_page(
    state: &AppState,
    user: SignedIn,
    input: NewOrderInput,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let is_operations = user.actor.is_operations();
    let partners = if is_operations { run(state, |conn| Ok(orders::partner_companies(conn)?)).await?? } else { Vec::new() };
    render(
        status,
        &NewOrderPage {
            may_stock: policy::may_place_stocking_order(&user.actor),
            layout: user.layout,
            input,
            errors,
            partners,
            is_operations,
        },
    )
}

pub async fn new_order_form(
    state: web::Data<AppState>,
    user: SignedIn,
    query: crate::web::form::Query<NewQuery>,
) -> Result<HttpResponse, AppError> {
    let input = NewOrderInput { order_type: "standard".into(), quote: query.into_inner().quote, ..Default::default() };
    new_page(&state, user, input, FieldErrors::new(), StatusCode::OK).await
}

pub async fn create_order(
    state: web::Data<AppState>,
    user: SignedIn,
    form: crate::web::form::Form<NewOrderInput>,
) -> Result<HttpResponse, AppError> {
    let input = form.into_inner();
    let (actor, i) = (user.actor.clone(), input.clone());
    match run(&state, move |conn| orders::create(conn, &actor, &i)).await? {
        Ok(id) => Ok(see_other(&format!("/orders/{id}"))),
        Err(DomainError::Invalid(errors)) => new_page(&state, user, input, errors, StatusCode::BAD_REQUEST).await,
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- the order page

#[derive(Template)]
#[template(path = "orders/show.html")]
pub struct OrderPage {
    pub layout: Layout,
    pub view: OrderView,
    pub products: Vec<Product>,
    pub collapsed: Vec<i64>,
    pub error: Option<String>,
    pub timeline: Vec<(&'static str, String, bool)>,
    pub provisioning_note: Option<String>,
    pub cases: Vec<CaseView>,
    /// The "Add an item" form as typed (kept after a refusal), with its messages.
    pub add: AddItemTyped,
}

#[derive(Debug, Clone)]
pub struct AddItemTyped {
    pub product_id: String,
    pub quantity: String,
    pub errors: FieldErrors,
}

impl Default for AddItemTyped {
    fn default() -> Self {
        AddItemTyped { product_id: String::new(), quantity: "1".into(), errors: FieldErrors::new() }
    }
}

impl OrderPage {
    pub fn status_badge(&self) -> &'static str {
        self.view.status().badge_class()
    }
    pub fn customer_status(&self) -> Option<(&'static str, &'static str)> {
        match self.view.customer_status {
            CustomerAccountStatus::Assigned => Some(("Assigned", "badge-active")),
            CustomerAccountStatus::NotAssigned => Some(("Not Assigned", "badge-danger")),
            CustomerAccountStatus::NotApplicable => None,
        }
    }
    pub fn is_collapsed(&self, line_id: &i64) -> bool {
        self.collapsed.contains(line_id)
    }
    pub fn hidden(&self, parent: &Option<i64>) -> bool {
        parent.is_some_and(|p| self.collapsed.contains(&p))
    }
    pub fn toggle_link(&self, line_id: &i64) -> String {
        let mut c: Vec<i64> = self.collapsed.iter().copied().filter(|x| x != line_id).collect();
        if !self.collapsed.contains(line_id) {
            c.push(*line_id);
        }
        let list: Vec<String> = c.iter().map(|x| x.to_string()).collect();
        format!("/orders/{}?collapsed={}#line-{line_id}", self.view.order.id, list.join(","))
    }
    /// The actions of a line beyond its first (in the row's "More" menu).
    pub fn has_more_actions(&self, line: &crate::domain::orders::LineView) -> bool {
        line.takes_account() || (self.view.items_editable() && !line.is_minor())
    }
    pub fn blocked_line(&self, line_id: &i64) -> bool {
        self.view.blockers.iter().any(|b| b.line_id == Some(*line_id))
    }
}

#[derive(Deserialize)]
pub struct OrderQuery {
    /// The kits whose minor lines are hidden (line ids, comma-separated);
    /// remembered for the order, so the page keeps them after any action.
    pub collapsed: Option<String>,
}

async fn order_page(
    state: &AppState,
    user: SignedIn,
    id: i64,
    collapsed: Vec<i64>,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    order_page_with(state, user, id, collapsed, error, status, AddItemTyped::default()).await
}

async fn order_page_with(
    state: &AppState,
    user: SignedIn,
    id: i64,
    collapsed: Vec<i64>,
    error: Option<String>,
    status: StatusCode,
    add: AddItemTyped,
) -> Result<HttpResponse, AppError> {
    let actor = user.actor.clone();
    let (view, products, cases) = read_page(state, move |conn| {
        let view = orders::load(conn, &actor, id)?;
        // The catalogue is offered only while items can be added.
        let products = if view.items_editable() { catalogue::all(conn)? } else { Vec::new() };
        let cases = cases::for_view(conn, &view)?;
        Ok((view, products, cases))
    })
    .await??;
    let o = &view.order;
    let mut timeline = vec![("Created", crate::web::minute(&o.created_at), true)];
    if let Some(t) = o.converted_at {
        timeline.push(("Converted from quote", crate::web::minute(&t), true));
    }
    for (label, at) in [("Submitted", o.submitted_at), ("Booked", o.booked_at), ("Shipped", o.shipped_at)] {
        timeline.push((label, at.as_ref().map(crate::web::minute).unwrap_or_default(), at.is_some()));
    }
    let now = crate::db::now();
    let provisioning_note = o.licenses_due_at.map(|due| {
        if due <= now {
            format!("Licenses available since {}", crate::web::minute(&due))
        } else {
            format!("Licenses available at {}", crate::web::minute(&due))
        }
    });
    timeline.push((
        "Licenses available",
        o.licenses_due_at.as_ref().map(crate::web::minute).unwrap_or_default(),
        o.licenses_due_at.is_some_and(|d| d <= now),
    ));
    render(status, &OrderPage { layout: user.layout, view, products, collapsed, error, timeline, provisioning_note, cases, add })
}

pub async fn show_order(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<i64>,
    query: crate::web::form::Query<OrderQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let collapsed = match &query.collapsed {
        Some(list) => {
            let lines: Vec<i64> = list.split(',').filter_map(|s| s.trim().parse().ok()).filter(|l| *l > 0).take(100).collect();
            session.remember_collapsed(id, &lines);
            lines
        }
        None => session.collapsed_lines(id),
    };
    order_page(&state, user, id, collapsed, None, StatusCode::OK).await
}

/// After a change: back to the order, or the order again with the problem.
async fn outcome(
    state: &AppState,
    user: SignedIn,
    session: PortalSession,
    id: i64,
    result: Result<(), DomainError>,
    success: &str,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(()) => {
            if !success.is_empty() {
                session.flash("success", success);
            }
            Ok(see_other(&format!("/orders/{id}")))
        }
        Err(DomainError::Invalid(errors)) => {
            let message = errors.joined();
            order_page(state, user, id, session.collapsed_lines(id), Some(message), StatusCode::BAD_REQUEST).await
        }
        Err(DomainError::Conflict(m)) => order_page(state, user, id, session.collapsed_lines(id), Some(m), StatusCode::CONFLICT).await,
        Err(e) => Err(e.into()),
    }
}

fn version(pairs: &[(String, String)]) -> i32 {
    field(pairs, "version").parse().unwrap_or(-1)
}

pub async fn add_item(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let pairs = form_pairs(&body);
    let mut typed = AddItemTyped {
        product_id: field(&pairs, "product_id").to_string(),
        quantity: field(&pairs, "quantity").to_string(),
        errors: FieldErrors::new(),
    };
    let product = typed.errors.check("product_id", values::parse_id(&typed.product_id, "Choose a product from the list."));
    let quantity = typed.errors.check("quantity", values::parse_whole_number(&typed.quantity, "the quantity", 1, 10_000));
    let v = version(&pairs);
    let (Some(product), Some(quantity)) = (product, quantity) else {
        let message = typed.errors.joined();
        return order_page_with(&state, user, id, session.collapsed_lines(id), Some(message), StatusCode::BAD_REQUEST, typed).await;
    };
    let actor = user.actor.clone();
    let r = run(&state, move |conn| orders::add_item(conn, &actor, id, product, quantity as i32, v)).await?;
    match r {
        Err(DomainError::Invalid(errors)) => {
            let message = errors.joined();
            typed.errors = errors;
            order_page_with(&state, user, id, session.collapsed_lines(id), Some(message), StatusCode::BAD_REQUEST, typed).await
        }
        r => outcome(&state, user, session, id, r, "Item added.").await,
    }
}

pub async fn remove_item(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<(i64, i64)>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (id, line) = path.into_inner();
    let v = version(&form_pairs(&body));
    let actor = user.actor.clone();
    let r = run(&state, move |conn| orders::remove_item(conn, &actor, id, line, v)).await?;
    outcome(&state, user, session, id, r, "Item removed.").await
}

pub async fn convert_quote(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let v = version(&form_pairs(&body));
    let actor = user.actor.clone();
    let r = run(&state, move |conn| orders::convert_quote(conn, &actor, id, v)).await?;
    outcome(&state, user, session, id, r, "The quote is now an order, with its items and assignments.").await
}

pub async fn submit_order(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let v = version(&form_pairs(&body));
    let (actor, base) = (user.actor.clone(), state.settings.base_url.clone());
    let r = run(&state, move |conn| orders::submit(conn, &actor, id, v, &base)).await?;
    state.wake_mail_worker();
    outcome(&state, user, session, id, r, "The order was submitted.").await
}

pub async fn clear_line(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<(i64, i64)>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (id, line) = path.into_inner();
    let v = version(&form_pairs(&body));
    let actor = user.actor.clone();
    let r = run(&state, move |conn| assignment::clear_line(conn, &actor, id, line, v)).await?;
    outcome(&state, user, session, id, r, "The line's smart account was removed.").await
}

// ---------------------------------------------------------------- assignment page

/// What is being assigned: the header (holding or customer for all lines),
/// chosen lines, or the associated partner holding account.
#[derive(Template)]
#[template(path = "orders/assignment.html")]
pub struct AssignmentPage {
    pub layout: Layout,
    pub view: OrderView,
    pub target: String,
    pub kind: String,
    pub lines: Vec<i64>,
    pub q: String,
    pub results: Vec<AccountOption>,
    pub error: Option<String>,
}

/// The order as the search fragment needs it (its id and version).
pub struct OrderRef {
    pub order: crate::domain::orders::OrderRow,
}

#[derive(Template)]
#[template(path = "orders/_account_results.html")]
pub struct AccountResultsFragment {
    pub layout: Layout,
    pub view: OrderRef,
    pub target: String,
    pub kind: String,
    pub lines: Vec<i64>,
    pub q: String,
    pub results: Vec<AccountOption>,
}

impl AssignmentPage {
    /// The lines this assignment is about: the chosen ones, or every line that takes an account.
    pub fn shows_line(&self, l: &crate::domain::orders::LineView) -> bool {
        if self.target == "lines" {
            self.lines.contains(&l.id)
        } else {
            l.takes_account()
        }
    }
    pub fn has_shown_lines(&self) -> bool {
        self.view.lines.iter().any(|l| self.shows_line(l))
    }
    pub fn line_list(&self) -> String {
        self.view
            .lines
            .iter()
            .filter(|l| self.lines.contains(&l.id))
            .map(|l| format!("{} ({})", l.number, l.sku))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn kind_for(target: &str, kind: &str) -> AccountKind {
    match target {
        "holding" | "associate" => AccountKind::Holding,
        "lines" | "order" => AccountKind::Customer,
        _ => AccountKind::parse(kind).unwrap_or(AccountKind::Customer),
    }
}

pub async fn assignment_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let pairs = form_pairs(req.query_string().as_bytes());
    let mut target = field(&pairs, "target").to_string();
    if target.is_empty() {
        target = "header".into();
    }
    let kind = kind_for(&target, field(&pairs, "kind"));
    if target == "header" && kind == AccountKind::Holding {
        target = "holding".into();
    }
    if target == "header" {
        target = "order".into();
    }
    let lines = fields_i64(&pairs, "lines");
    let q = field(&pairs, "q").to_string();
    let (actor, q2) = (user.actor.clone(), q.clone());
    if req.headers().contains_key("HX-Request") {
        // The results only: the order's id and version, not its lines.
        let ((order, editable), results) = read_page(&state, move |conn| {
            let access = orders::assignment_access(conn, &actor, id)?;
            let results = if access.1 { assignment::search(conn, &actor, kind, &q2)? } else { Vec::new() };
            Ok((access, results))
        })
        .await??;
        if !editable {
            return Ok(see_other(&format!("/orders/{id}")));
        }
        let kind = kind.as_str().to_string();
        let view = OrderRef { order };
        let mut resp = render(StatusCode::OK, &AccountResultsFragment { layout: user.layout, view, target, kind, lines, q, results })?;
        resp.headers_mut().insert(actix_web::http::header::VARY, actix_web::http::header::HeaderValue::from_static("HX-Request"));
        return Ok(resp);
    }
    let (view, results) = read_page(&state, move |conn| {
        let view = orders::load(conn, &actor, id)?;
        let results = assignment::search(conn, &actor, kind, &q2)?;
        Ok((view, results))
    })
    .await??;
    if !view.assignments_editable() {
        // Those who may see but not change the assignments view them on the order page.
        return Ok(see_other(&format!("/orders/{id}")));
    }
    let kind = kind.as_str().to_string();
    render(StatusCode::OK, &AssignmentPage { layout: user.layout, view, target, kind, lines, q, results, error: None })
}

pub async fn assign(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let pairs = form_pairs(&body);
    let target = field(&pairs, "target").to_string();
    let lines = fields_i64(&pairs, "lines");
    let v = version(&pairs);
    let remove = field(&pairs, "remove") == "yes";
    let mut errors = FieldErrors::new();
    let account = if remove {
        Some(0)
    } else {
        errors.check("account_id", values::parse_id(field(&pairs, "account_id"), "Choose an account from the list."))
    };
    let va = errors.check(
        "virtual_account_id",
        values::parse_optional_id(field(&pairs, "virtual_account_id"), "Choose a virtual account from the list."),
    );
    let (Some(account), Some(va)) = (account, va) else {
        return assignment_again(&state, user, id, target, lines, errors.joined(), StatusCode::BAD_REQUEST).await;
    };
    let (actor, base) = (user.actor.clone(), state.settings.base_url.clone());
    let t = target.clone();
    let chosen = lines.clone();
    let r = run(&state, move |conn| match t.as_str() {
        "holding" => assignment::set_holding(conn, &actor, id, (!remove).then_some(account), va, v, &base),
        "associate" => assignment::associate_holding(conn, &actor, id, (!remove).then_some(account), v),
        "lines" => assignment::assign_lines(conn, &actor, id, &chosen, account, va, v, &base).map(|_| ()),
        _ => assignment::set_order_level(conn, &actor, id, account, va, v, &base).map(|_| ()),
    })
    .await?;
    state.wake_mail_worker();
    match r {
        Ok(()) => {
            session.flash("success", if remove { "The smart account was removed." } else { "Smart account assigned." });
            Ok(see_other(&format!("/orders/{id}")))
        }
        Err(DomainError::Invalid(errors)) => {
            let message = errors.joined();
            assignment_again(&state, user, id, target, lines, message, StatusCode::BAD_REQUEST).await
        }
        Err(DomainError::Conflict(m)) => order_page(&state, user, id, session.collapsed_lines(id), Some(m), StatusCode::CONFLICT).await,
        Err(e) => Err(e.into()),
    }
}

async fn assignment_again(
    state: &AppState,
    user: SignedIn,
    id: i64,
    target: String,
    lines: Vec<i64>,
    error: String,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let kind = kind_for(&target, "customer");
    let actor = user.actor.clone();
    let (view, results) = run(state, move |conn| {
        let view = orders::load(conn, &actor, id)?;
        let results = assignment::search(conn, &actor, kind, "")?;
        Ok((view, results))
    })
    .await??;
    render(
        status,
        &AssignmentPage {
            layout: user.layout,
            view,
            target,
            kind: kind.as_str().into(),
            lines,
            q: String::new(),
            results,
            error: Some(error),
        },
    )
}

// ---------------------------------------------------------------- history

#[derive(Template)]
#[template(path = "orders/history.html")]
pub struct HistoryPage {
    pub layout: Layout,
    pub view: OrderView,
    pub line: Option<i64>,
    pub entries: Vec<HistoryEntry>,
}

impl HistoryEntry {
    pub fn when(&self) -> String {
        crate::web::minute(&self.at)
    }
}

#[derive(Deserialize)]
pub struct HistoryQuery {
    pub line: Option<i64>,
}

pub async fn history(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<i64>,
    query: crate::web::form::Query<HistoryQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let line = query.line;
    let actor = user.actor.clone();
    let (view, entries) = run(&state, move |conn| {
        let view = orders::load(conn, &actor, id)?;
        let entries = assignment::history(conn, &actor, id, line)?;
        Ok((view, entries))
    })
    .await??;
    render(StatusCode::OK, &HistoryPage { layout: user.layout, view, line, entries })
}

// ---------------------------------------------------------------- operations

#[derive(Template)]
#[template(path = "operations/orders.html")]
pub struct FulfilmentPage {
    pub layout: Layout,
    pub sections: Vec<QueueSection>,
}

/// One of the two queues: orders to book, orders to ship.
pub struct QueueSection {
    pub key: &'static str,
    pub title: &'static str,
    /// The row's action: "Book", "Ship" (the path's last part, lowercased).
    pub verb: &'static str,
    /// What the age counts from: "submitted", "booked".
    pub since: &'static str,
    pub orders: Vec<orders::QueuedOrder>,
}

impl QueueSection {
    pub fn step(&self) -> String {
        self.verb.to_lowercase()
    }
}

impl orders::QueuedOrder {
    pub fn age(&self) -> String {
        crate::domain::worklist::age(self.days)
    }
    /// "today", "3 days ago".
    pub fn ago(&self) -> String {
        crate::domain::worklist::ago(self.days)
    }
    pub fn since_date(&self) -> String {
        crate::web::day(self.since)
    }
}

pub async fn fulfilment(state: web::Data<AppState>, user: SignedIn) -> Result<HttpResponse, AppError> {
    let actor = user.actor.clone();
    let queue = run(&state, move |conn| orders::fulfilment_queue(conn, &actor)).await??;
    let sections = vec![
        QueueSection { key: "to-book", title: "To book", verb: "Book", since: "submitted", orders: queue.to_book },
        QueueSection { key: "to-ship", title: "To ship", verb: "Ship", since: "booked", orders: queue.to_ship },
    ];
    render(StatusCode::OK, &FulfilmentPage { layout: user.layout, sections })
}

pub async fn fulfil(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, step) = path.into_inner();
    let actor = user.actor.clone();
    let delay = chrono::Duration::from_std(state.settings.provisioning_delay).unwrap_or(chrono::Duration::hours(24));
    let s = step.clone();
    let r = run(&state, move |conn| match s.as_str() {
        "book" => orders::book(conn, &actor, id),
        "ship" => orders::ship(conn, &actor, id, delay),
        _ => Err(DomainError::NotFound),
    })
    .await?;
    match r {
        Ok(()) => session.flash("success", format!("{} {}.", orders::web_order_id(id), if step == "book" { "booked" } else { "shipped" })),
        Err(DomainError::Conflict(m)) => session.flash("error", m),
        Err(e) => return Err(e.into()),
    }
    Ok(see_other("/operations/orders"))
}

// ---------------------------------------------------------------- cases

#[derive(Template)]
#[template(path = "orders/case_new.html")]
pub struct CasePage {
    pub layout: Layout,
    pub view: OrderView,
    pub chosen: Vec<i64>,
    pub account: String,
    pub virtual_account: String,
    pub reason: String,
    pub errors: FieldErrors,
}

impl CasePage {
    pub fn is_chosen(&self, id: &i64) -> bool {
        self.chosen.contains(id)
    }
}

async fn case_page(
    state: &AppState,
    user: SignedIn,
    id: i64,
    input: CaseInput,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let actor = user.actor.clone();
    let view = run(state, move |conn| orders::load(conn, &actor, id)).await??;
    if !view.can_reassign {
        return Err(AppError::Forbidden("You cannot open a case on this order.".into()));
    }
    render(
        status,
        &CasePage {
            layout: user.layout,
            view,
            chosen: input.lines,
            account: input.account,
            virtual_account: input.virtual_account,
            reason: input.reason,
            errors,
        },
    )
}

pub async fn new_case(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let pairs = form_pairs(req.query_string().as_bytes());
    let input = CaseInput { lines: fields_i64(&pairs, "lines"), ..Default::default() };
    case_page(&state, user, path.into_inner(), input, FieldErrors::new(), StatusCode::OK).await
}

pub async fn open_case(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let pairs = form_pairs(&body);
    let input = CaseInput {
        lines: fields_i64(&pairs, "lines"),
        account: field(&pairs, "account").to_string(),
        virtual_account: field(&pairs, "virtual_account").to_string(),
        reason: field(&pairs, "reason").to_string(),
    };
    let (actor, i) = (user.actor.clone(), input.clone());
    match run(&state, move |conn| cases::open(conn, &actor, id, &i)).await? {
        Ok(case) => {
            session.flash("success", format!("Case #{case} is open. Operations will move the licenses and tell you when it is done."));
            Ok(see_other(&format!("/orders/{id}")))
        }
        Err(DomainError::Invalid(errors)) => case_page(&state, user, id, input, errors, StatusCode::BAD_REQUEST).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "operations/cases.html")]
pub struct CaseQueuePage {
    pub layout: Layout,
    pub cases: Vec<CaseView>,
}

impl CaseView {
    pub fn opened(&self) -> String {
        crate::web::minute(&self.created_at)
    }
    /// Whole days it has been open.
    pub fn days_open(&self) -> i64 {
        (crate::db::now() - self.created_at).num_days().max(0)
    }
    pub fn age(&self) -> String {
        crate::domain::worklist::age(self.days_open())
    }
}

pub async fn case_queue(state: web::Data<AppState>, user: SignedIn) -> Result<HttpResponse, AppError> {
    let actor = user.actor.clone();
    let list = run(&state, move |conn| cases::queue(conn, &actor)).await??;
    render(StatusCode::OK, &CaseQueuePage { layout: user.layout, cases: list })
}

pub async fn close_case(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<(i64, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (case, step) = path.into_inner();
    let note = field(&form_pairs(&body), "resolution").to_string();
    let (actor, base) = (user.actor.clone(), state.settings.base_url.clone());
    let s = step.clone();
    let r = run(&state, move |conn| match s.as_str() {
        "resolve" => cases::resolve(conn, &actor, case, &note, &base),
        "decline" => cases::decline(conn, &actor, case, &note, &base),
        _ => Err(DomainError::NotFound),
    })
    .await?;
    state.wake_mail_worker();
    match r {
        Ok(()) => session
            .flash("success", format!("Case #{case} {}.", if step == "resolve" { "resolved: the licenses moved" } else { "declined" })),
        Err(DomainError::Conflict(m)) => session.flash("error", m),
        Err(DomainError::Invalid(e)) => session.flash("error", e.joined()),
        Err(e) => return Err(e.into()),
    }
    Ok(see_other("/operations/cases"))
}
