//! Quotes and orders: creating them, their items, submitting, the back-office
//! steps, and the read model pages show. Assignments live in `assignment`;
//! the rules in `rules`; who sees an order in `visible_order_ids`.

pub mod assignment;
pub mod cases;
pub mod kept_counts;
pub mod listing;
pub mod notices;
pub mod provisioning;
pub mod reminders;
pub mod rules;
pub mod visibility;

use diesel::prelude::*;

use crate::db::schema::{companies, license_deposits_due, order_lines, orders, products, smart_accounts, users, virtual_accounts};
use crate::db::{schema, DbConnection};
use crate::domain::catalogue::{self, SaRequirement};
use crate::domain::error::{DomainResult, FieldErrors};
use crate::domain::policy::{self, OrderOwnership};
use crate::domain::values::{CompanyName, DomainIdentifier};
use crate::domain::{Actor, DomainError};
use rules::{AssignmentHow, Blocker, CustomerAccountStatus, LineFacts, OrderFacts, OrderStatus, OrderType};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: i64,
    pub company_id: i64,
    pub created_by: i64,
    pub name: String,
    pub end_customer_name: String,
    pub end_customer_domain: String,
    pub order_type: String,
    pub status: String,
    pub internal: bool,
    pub holding_account_id: Option<i64>,
    pub default_account_id: Option<i64>,
    pub default_virtual_account_id: Option<i64>,
    pub associated_holding_account_id: Option<i64>,
    pub sales_order_number: Option<String>,
    #[diesel(deserialize_as = crate::db::stamp::Stamp)]
    pub created_at: chrono::NaiveDateTime,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub converted_at: Option<chrono::NaiveDateTime>,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub submitted_at: Option<chrono::NaiveDateTime>,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub booked_at: Option<chrono::NaiveDateTime>,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub shipped_at: Option<chrono::NaiveDateTime>,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub licenses_due_at: Option<chrono::NaiveDateTime>,
    pub version: i32,
    pub sa_rank: i32,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub waiting_since: Option<chrono::NaiveDateTime>,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub assigned_at: Option<chrono::NaiveDateTime>,
    pub holding_virtual_account_id: Option<i64>,
    pub handoff_company_id: Option<i64>,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub handoff_at: Option<chrono::NaiveDateTime>,
    pub end_customer_key: String,
    pub holding_name_key: String,
    pub reminders_sent: i32,
    pub customer_account_id: Option<i64>,
    pub holding_name: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = order_lines)]
pub struct LineRow {
    pub id: i64,
    pub order_id: i64,
    pub line_no: i32,
    pub parent_line_id: Option<i64>,
    pub product_id: i64,
    pub quantity: i32,
    pub unit_price_cents: i64,
    pub account_id: Option<i64>,
    pub virtual_account_id: Option<i64>,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub licenses_deposited_at: Option<chrono::NaiveDateTime>,
    /// The claim code of a shipped PAK line that went to no account.
    pub pak_code: Option<String>,
}

impl OrderRow {
    pub fn status(&self) -> OrderStatus {
        OrderStatus::parse(&self.status)
    }
    pub fn order_type(&self) -> OrderType {
        OrderType::parse(&self.order_type).unwrap_or(OrderType::Standard)
    }
    pub fn web_order_id(&self) -> String {
        web_order_id(self.id)
    }
    fn ownership(&self) -> OrderOwnership {
        OrderOwnership { company_id: self.company_id, internal: self.internal }
    }
    /// What visibility judges, with the lines' assignments.
    pub(crate) fn access(&self, lines: Vec<visibility::LineAccess>) -> visibility::OrderAccess {
        visibility::OrderAccess {
            company_id: self.company_id,
            holding: self.holding_account_id,
            holding_va: self.holding_virtual_account_id,
            associated: self.associated_holding_account_id,
            handoff_company: self.handoff_company_id,
            lines,
        }
    }
}

pub fn web_order_id(id: i64) -> String {
    WebOrderId(id).to_string()
}

/// An order's web id as people see it (`WO-000123`), written where it is
/// shown rather than into a string of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebOrderId(pub i64);

impl std::fmt::Display for WebOrderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WO-{:06}", self.0)
    }
}

/// A smart account as an order shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRef {
    pub id: i64,
    pub name: String,
    pub domain: String,
    pub status: String,
}

impl AccountRef {
    pub fn label(&self) -> String {
        format!("{} ({})", self.name, self.domain)
    }
    pub fn pending(&self) -> bool {
        self.status != "active"
    }
}

/// One line of an order as the items tab shows it.
#[derive(Debug, Clone)]
pub struct LineView {
    pub id: i64,
    pub line_no: i32,
    /// As the ordering tool numbers it: 1.0, its minor lines 1.1, 1.2 …
    pub number: String,
    /// How refusals name it: "1.0", "1.2 in kit 1.0".
    pub reference: String,
    pub parent_line_id: Option<i64>,
    pub sku: String,
    pub product: String,
    pub category: String,
    pub requirement: SaRequirement,
    pub quantity: i32,
    pub unit_price_cents: i64,
    pub account: Option<AccountRef>,
    pub virtual_account: Option<String>,
    /// Licenses were deposited in the line's customer account.
    pub deposited: bool,
    /// Licenses were deposited in the holding account, waiting there.
    pub parked_licenses: bool,
    /// A shipped PAK line that went to no account: the code its owner types
    /// in the license manager to claim it.
    pub pak_code: Option<String>,
    /// Assigned by the reseller the order was handed to; the account is not shown.
    pub assigned_by_reseller: bool,
    /// For a collapsed major line: some minor line needs an account and has none.
    pub minor_needs_account: bool,
    /// For a major line: some SA optional minor line has no account (the black marker).
    pub minor_optional_open: bool,
    pub has_minors: bool,
}

impl LineView {
    pub fn is_minor(&self) -> bool {
        self.parent_line_id.is_some()
    }
    pub fn takes_account(&self) -> bool {
        self.requirement.takes_account()
    }
    pub fn needs_account(&self) -> bool {
        self.requirement == SaRequirement::Mandatory && self.account.is_none()
    }
    pub fn total(&self) -> String {
        money(self.unit_price_cents * self.quantity as i64)
    }
    pub fn price(&self) -> String {
        money(self.unit_price_cents)
    }
}

/// An amount in US dollars, with thousands separators and the currency:
/// `$12,345.67 USD`.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let digits = (cents / 100).to_string();
    let mut whole = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            whole.push(',');
        }
        whole.push(d);
    }
    format!("{sign}${whole}.{:02} USD", cents % 100)
}

/// The read model of one order, for its page.
#[derive(Debug, Clone)]
pub struct OrderView {
    pub order: OrderRow,
    pub company_name: String,
    pub created_by: String,
    pub lines: Vec<LineView>,
    pub holding: Option<AccountRef>,
    pub default_account: Option<AccountRef>,
    pub default_virtual_account: Option<String>,
    pub associated_holding: Option<AccountRef>,
    pub blockers: Vec<Blocker>,
    pub customer_status: CustomerAccountStatus,
    /// May change items and submit (before submission).
    pub can_edit: bool,
    /// May change the assignments (before submission: `can_edit`; after: rule 9).
    pub can_reassign: bool,
    /// Sees only some lines (a customer account's users see theirs).
    pub partial: bool,
    /// Handed to a reseller whose choice of customer account this viewer does not see.
    pub masked: bool,
    pub holding_virtual_account: Option<String>,
    pub handoff_company: Option<String>,
    /// A support case was opened on the order (open or closed).
    pub has_cases: bool,
}

impl OrderView {
    pub fn facts(&self) -> OrderFacts {
        facts(&self.order, &self.lines)
    }
    pub fn total(&self) -> String {
        money(self.lines.iter().map(|l| l.unit_price_cents * l.quantity as i64).sum())
    }
    pub fn status(&self) -> OrderStatus {
        self.order.status()
    }
    pub fn items_editable(&self) -> bool {
        self.can_edit && self.status().items_editable()
    }
    pub fn assignments_editable(&self) -> bool {
        self.can_reassign && rules::assignment_open(self.status()).is_ok()
    }
    pub fn not_assigned(&self) -> bool {
        self.customer_status == CustomerAccountStatus::NotAssigned
    }
    /// After submission: the header message links to the change-assignment page.
    pub fn submitted(&self) -> bool {
        !self.status().items_editable()
    }
    /// Lines whose licenses are in a customer account: a case moves them.
    pub fn deposited_lines(&self) -> Vec<&LineView> {
        self.lines.iter().filter(|l| l.deposited).collect()
    }
}

fn facts(order: &OrderRow, lines: &[LineView]) -> OrderFacts {
    OrderFacts {
        status: order.status(),
        order_type: order.order_type(),
        holding_account: order.holding_account_id,
        lines: lines
            .iter()
            .map(|l| LineFacts {
                id: l.id,
                line_no: l.line_no,
                reference: l.reference.clone(),
                label: l.sku.clone(),
                requirement: l.requirement,
                is_minor: l.is_minor(),
                customer_account: l.account.as_ref().map(|a| a.id),
                deposited: l.deposited,
            })
            .collect(),
    }
}

/// The lines' assignments, for the visibility judgements.
fn line_access(conn: &mut DbConnection, order_id: i64) -> QueryResult<Vec<visibility::LineAccess>> {
    let rows: Vec<(i64, Option<i64>, Option<i64>)> = order_lines::table
        .filter(order_lines::order_id.eq(order_id))
        .select((order_lines::id, order_lines::account_id, order_lines::virtual_account_id))
        .load(conn)?;
    Ok(rows.into_iter().map(|(id, account, va)| visibility::LineAccess { id, account, va }).collect())
}

/// How much of `order` the actor sees (DOMAIN.md "Who sees an order").
/// Returns what it judged by, too: the audience and the order's access facts.
pub(crate) fn sight_of(
    conn: &mut DbConnection,
    actor: &Actor,
    order: &OrderRow,
) -> QueryResult<(visibility::Audience, visibility::OrderAccess, visibility::Sight)> {
    let lines = line_access(conn, order.id)?;
    judged(conn, actor, order, lines)
}

/// An order (404 if there is none) and how much of it the actor sees: the
/// order is read with its lines' assignments, what sight judges by, in one
/// statement.
pub(crate) fn seen(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
) -> DomainResult<(OrderRow, visibility::Audience, visibility::OrderAccess, visibility::Sight)> {
    let rows: Vec<(OrderRow, Option<(i64, Option<i64>, Option<i64>)>)> = orders::table
        .left_join(order_lines::table)
        .filter(orders::id.eq(id))
        .select((OrderRow::as_select(), (order_lines::id, order_lines::account_id, order_lines::virtual_account_id).nullable()))
        .load(conn)?;
    let mut rows = rows.into_iter();
    let (order, first) = rows.next().ok_or(DomainError::NotFound)?;
    let lines = first.into_iter().chain(rows.filter_map(|(_, l)| l));
    let lines = lines.map(|(id, account, va)| visibility::LineAccess { id, account, va }).collect();
    let (audience, access, sight) = judged(conn, actor, &order, lines)?;
    Ok((order, audience, access, sight))
}

/// `sight_of` for lines already read.
fn judged(
    conn: &mut DbConnection,
    actor: &Actor,
    order: &OrderRow,
    lines: Vec<visibility::LineAccess>,
) -> QueryResult<(visibility::Audience, visibility::OrderAccess, visibility::Sight)> {
    let audience = visibility::audience(conn, actor)?;
    let access = order.access(lines);
    let sight = visibility::sight(&audience, &access);
    Ok((audience, access, sight))
}

/// Whether `order` is visible to `actor`, wholly or in part.
pub fn visible(conn: &mut DbConnection, actor: &Actor, order: &OrderRow) -> QueryResult<bool> {
    Ok(sight_of(conn, actor, order)?.2.any())
}

/// May the actor change this order: its items before submission, its
/// assignments after (rule 9)?
fn may_change(actor: &Actor, audience: &visibility::Audience, order: &OrderRow, lines: Vec<visibility::LineAccess>) -> bool {
    if order.status().items_editable() {
        policy::may_edit_order(actor, order.ownership())
    } else {
        visibility::may_reassign(audience, &order.access(lines))
    }
}

pub(crate) fn load_row(conn: &mut DbConnection, id: i64) -> DomainResult<OrderRow> {
    orders::table.find(id).select(OrderRow::as_select()).first(conn).optional()?.ok_or(DomainError::NotFound)
}

/// An order the actor may see (404 otherwise), without its lines' details,
/// and whether the actor may change its assignments now: what
/// `OrderView::assignments_editable` says, judged by the same rules.
pub fn assignment_access(conn: &mut DbConnection, actor: &Actor, id: i64) -> DomainResult<(OrderRow, bool)> {
    let (order, audience, access, sight) = seen(conn, actor, id)?;
    if !sight.any() {
        return Err(DomainError::NotFound);
    }
    let editable = may_change(actor, &audience, &order, access.lines)
        && sight == visibility::Sight::Whole
        && rules::assignment_open(order.status()).is_ok();
    Ok((order, editable))
}

/// Loads an order the actor may see (404 otherwise), with its lines and assignments.
pub fn load(conn: &mut DbConnection, actor: &Actor, id: i64) -> DomainResult<OrderView> {
    let (order, names, refs) = load_named(conn, id)?;
    view(conn, actor, order, names, refs)
}

/// The ordering company's name, its author's, whom it was handed to, and
/// whether a support case was ever opened on it.
type Names = (String, String, Option<String>, bool);

/// An account's reference as a left-joined row reads it.
type RefRow = Option<(i64, String, String, String)>;

fn account_ref(row: RefRow) -> Option<AccountRef> {
    row.map(|(id, name, domain, status)| AccountRef { id, name, domain, status })
}

/// The accounts and virtual accounts the order itself names.
struct OrderRefs {
    holding: Option<AccountRef>,
    default_account: Option<AccountRef>,
    associated_holding: Option<AccountRef>,
    holding_va: Option<String>,
    default_va: Option<String>,
}

/// The order with its names and the accounts it names, in one statement:
/// most orders have no support case, and their page then reads none.
fn load_named(conn: &mut DbConnection, id: i64) -> DomainResult<(OrderRow, Names, OrderRefs)> {
    let handoff = diesel::alias!(companies as handoff);
    let (holding, default, associated) =
        diesel::alias!(smart_accounts as holding_sa, smart_accounts as default_sa, smart_accounts as associated_sa);
    let (holding_va, default_va) = diesel::alias!(virtual_accounts as holding_va, virtual_accounts as default_va);
    let (order, names, sa1, sa2, sa3, va1, va2) = orders::table
        .inner_join(companies::table.on(companies::id.eq(orders::company_id)))
        .inner_join(users::table.on(users::id.eq(orders::created_by)))
        .left_join(handoff.on(handoff.field(companies::id).nullable().eq(orders::handoff_company_id)))
        .left_join(holding.on(holding.field(smart_accounts::id).nullable().eq(orders::holding_account_id)))
        .left_join(default.on(default.field(smart_accounts::id).nullable().eq(orders::default_account_id)))
        .left_join(associated.on(associated.field(smart_accounts::id).nullable().eq(orders::associated_holding_account_id)))
        .left_join(holding_va.on(holding_va.field(virtual_accounts::id).nullable().eq(orders::holding_virtual_account_id)))
        .left_join(default_va.on(default_va.field(virtual_accounts::id).nullable().eq(orders::default_virtual_account_id)))
        .filter(orders::id.eq(id))
        .select((
            OrderRow::as_select(),
            (
                companies::name,
                users::name,
                handoff.field(companies::name).nullable(),
                diesel::dsl::exists(schema::cases::table.filter(schema::cases::order_id.eq(orders::id))),
            ),
            holding.fields((smart_accounts::id, smart_accounts::name, smart_accounts::domain, smart_accounts::status)).nullable(),
            default.fields((smart_accounts::id, smart_accounts::name, smart_accounts::domain, smart_accounts::status)).nullable(),
            associated.fields((smart_accounts::id, smart_accounts::name, smart_accounts::domain, smart_accounts::status)).nullable(),
            holding_va.field(virtual_accounts::name).nullable(),
            default_va.field(virtual_accounts::name).nullable(),
        ))
        .first::<(OrderRow, Names, RefRow, RefRow, RefRow, Option<String>, Option<String>)>(conn)
        .optional()?
        .ok_or(DomainError::NotFound)?;
    let refs = OrderRefs {
        holding: account_ref(sa1),
        default_account: account_ref(sa2),
        associated_holding: account_ref(sa3),
        holding_va: va1,
        default_va: va2,
    };
    Ok((order, names, refs))
}

/// The order as `actor` sees it: 404 if they do not; only their lines for a
/// customer account's users; the reseller's choices masked for a distributor.
fn view(conn: &mut DbConnection, actor: &Actor, order: OrderRow, names: Names, refs: OrderRefs) -> DomainResult<OrderView> {
    // The lines are read once, with their accounts and VAs: their
    // assignments are what sight judges by, and nothing of them is shown
    // before it has.
    let rows: Vec<(LineRow, catalogue::Product, RefRow, Option<String>)> = order_lines::table
        .inner_join(products::table)
        .left_join(smart_accounts::table.on(smart_accounts::id.nullable().eq(order_lines::account_id)))
        .left_join(virtual_accounts::table.on(virtual_accounts::id.nullable().eq(order_lines::virtual_account_id)))
        .filter(order_lines::order_id.eq(order.id))
        .order(order_lines::line_no)
        .select((
            LineRow::as_select(),
            catalogue::Product::as_select(),
            (smart_accounts::id, smart_accounts::name, smart_accounts::domain, smart_accounts::status).nullable(),
            virtual_accounts::name.nullable(),
        ))
        .load(conn)?;
    let lines = rows.iter().map(|(l, ..)| visibility::LineAccess { id: l.id, account: l.account_id, va: l.virtual_account_id }).collect();
    let (audience, access, sight) = judged(conn, actor, &order, lines)?;
    if !sight.any() {
        return Err(DomainError::NotFound);
    }
    let masked = visibility::masked(&audience, &access);
    let mut lines: Vec<LineView> = rows
        .into_iter()
        .map(|(l, p, account, virtual_account)| LineView {
            id: l.id,
            line_no: l.line_no,
            number: String::new(),
            reference: String::new(),
            parent_line_id: l.parent_line_id,
            sku: p.sku.clone(),
            product: p.name.clone(),
            category: p.category_label().to_string(),
            requirement: p.requirement(),
            quantity: l.quantity,
            unit_price_cents: l.unit_price_cents,
            account: account_ref(account),
            virtual_account,
            deposited: l.licenses_deposited_at.is_some() && l.account_id.is_some(),
            parked_licenses: l.licenses_deposited_at.is_some() && l.account_id.is_none(),
            pak_code: l.pak_code.clone(),
            assigned_by_reseller: false,
            minor_needs_account: false,
            minor_optional_open: false,
            has_minors: false,
        })
        .collect();
    let keys: Vec<(i64, i32, Option<i64>)> = lines.iter().map(|l| (l.id, l.line_no, l.parent_line_id)).collect();
    for ((line, number), reference) in lines.iter_mut().zip(rules::line_numbers(&keys)).zip(rules::line_references(&keys)) {
        line.number = number;
        line.reference = reference;
    }
    let snapshot = lines.clone();
    for line in lines.iter_mut() {
        let minors: Vec<&LineView> = snapshot.iter().filter(|m| m.parent_line_id == Some(line.id)).collect();
        line.has_minors = !minors.is_empty();
        line.minor_needs_account = minors.iter().any(|m| m.needs_account());
        line.minor_optional_open = minors.iter().any(|m| m.requirement == SaRequirement::Optional && m.account.is_none());
    }
    let (company_name, created_by, handoff_company, has_cases) = names;
    let f = facts(&order, &lines);
    lines.retain(|l| sight.shows_line(l.id));
    if masked {
        for l in lines.iter_mut().filter(|l| l.account.is_some()) {
            l.account = None;
            l.virtual_account = None;
            l.assigned_by_reseller = true;
        }
    }
    let can_reassign = may_change(actor, &audience, &order, access.lines.clone());
    Ok(OrderView {
        blockers: rules::submit_blockers(&f),
        customer_status: rules::customer_account_status(&f),
        can_edit: policy::may_edit_order(actor, order.ownership()) && !matches!(sight, visibility::Sight::Lines(_)),
        can_reassign: can_reassign && sight == visibility::Sight::Whole,
        partial: matches!(sight, visibility::Sight::Lines(_)),
        masked,
        holding_virtual_account: refs.holding_va,
        handoff_company,
        has_cases,
        holding: refs.holding,
        default_account: refs.default_account,
        default_virtual_account: refs.default_va,
        associated_holding: refs.associated_holding,
        company_name,
        created_by,
        lines,
        order,
    })
}

/// The order initiation form.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NewOrderInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub end_customer_name: String,
    #[serde(default)]
    pub end_customer_domain: String,
    #[serde(default)]
    pub order_type: String,
    /// Create a quote rather than an order.
    #[serde(default)]
    pub quote: Option<String>,
    /// Operations only: the partner company an internal order is for.
    #[serde(default)]
    pub for_company_id: Option<String>,
}

/// Starts a quote or an order for the actor's company, or (operations) an
/// internal work-bench order for a partner.
pub fn create(conn: &mut DbConnection, actor: &Actor, input: &NewOrderInput) -> DomainResult<i64> {
    let mut e = FieldErrors::new();
    let name = e.check("name", CompanyName::parse(&input.name).map_err(|m| m.replace("company name", "order name")));
    let customer = e.check(
        "end_customer_name",
        CompanyName::parse(&input.end_customer_name).map_err(|m| m.replace("company name", "end customer's name")),
    );
    let domain = if input.end_customer_domain.trim().is_empty() {
        Some(String::new())
    } else {
        e.check("end_customer_domain", DomainIdentifier::parse(&input.end_customer_domain).map(|d| d.to_string()))
    };
    let order_type = match OrderType::parse(if input.order_type.is_empty() { "standard" } else { &input.order_type }) {
        Some(OrderType::Stocking) if !policy::may_place_stocking_order(actor) => {
            e.add("order_type", "Only distributors place stocking orders.");
            None
        }
        Some(t) => Some(t),
        None => {
            e.add("order_type", "Choose standard or stocking.");
            None
        }
    };
    let (company_id, internal) = if actor.is_operations() {
        match input.for_company_id.as_deref().and_then(|c| c.parse::<i64>().ok()) {
            Some(c) => {
                let kind: Option<String> = companies::table.find(c).select(companies::kind).first(conn).optional()?;
                if !kind.as_deref().and_then(crate::domain::company::CompanyKind::parse).is_some_and(|k| k.is_partner()) {
                    e.add("for_company_id", "Choose the partner the order is for.");
                }
                (c, true)
            }
            None => {
                e.add("for_company_id", "Choose the partner the order is for.");
                (0, true)
            }
        }
    } else {
        (actor.company_id.0, false)
    };
    let (Some(name), Some(customer), Some(domain), Some(order_type), true) = (name, customer, domain, order_type, e.is_empty()) else {
        return Err(e.into());
    };
    let status = if input.quote.is_some() { OrderStatus::Quote } else { OrderStatus::Draft };
    let id: i64 = diesel::insert_into(orders::table)
        .values((
            orders::company_id.eq(company_id),
            orders::created_by.eq(actor.user_id.0),
            orders::name.eq(name.as_str()),
            orders::end_customer_name.eq(customer.as_str()),
            orders::end_customer_domain.eq(&domain),
            orders::end_customer_key.eq(customer.as_str().to_lowercase()),
            orders::order_type.eq(order_type.as_str()),
            orders::status.eq(status.as_str()),
            orders::internal.eq(internal),
            orders::created_at.eq(crate::db::now()),
            orders::version.eq(0),
        ))
        .returning(orders::id)
        .get_result(conn)?;
    Ok(id)
}

/// Loads an order for a change by the actor: 404 if they cannot see it, 403
/// if they see it but may not change it, 409 if it changed since `version`.
pub(crate) fn for_change(conn: &mut DbConnection, actor: &Actor, id: i64, version: Option<i32>) -> DomainResult<OrderRow> {
    let (order, audience, access, sight) = seen(conn, actor, id)?;
    if !sight.any() {
        return Err(DomainError::NotFound);
    }
    if sight != visibility::Sight::Whole || !may_change(actor, &audience, &order, access.lines) {
        return Err(DomainError::Forbidden);
    }
    if let Some(v) = version {
        if v != order.version {
            return Err(DomainError::Conflict(format!(
                "{} was changed by someone else after you opened it. Nothing was saved; the page now shows the latest version.",
                order.web_order_id()
            )));
        }
    }
    Ok(order)
}

/// Marks the order changed; fails if another change slipped in since `order` was read.
pub(crate) fn bump(conn: &mut DbConnection, order: &OrderRow) -> DomainResult<()> {
    let n = diesel::update(orders::table.find(order.id).filter(orders::version.eq(order.version)))
        .set(orders::version.eq(order.version + 1))
        .execute(conn)?;
    if n == 0 {
        return Err(DomainError::Conflict(format!(
            "{} was changed by someone else at the same moment. Nothing was saved.",
            order.web_order_id()
        )));
    }
    Ok(())
}

/// Adds an item (with the minor lines of a configurable product). Lines that
/// take a smart account get the order's pre-assigned customer account.
pub fn add_item(conn: &mut DbConnection, actor: &Actor, order_id: i64, product_id: i64, quantity: i32, version: i32) -> DomainResult<()> {
    if !(1..=10_000).contains(&quantity) {
        return Err(FieldErrors::single("quantity", "Enter a quantity from 1 to 10000.").into());
    }
    crate::db::transaction(conn, |conn| {
        let order = for_change(conn, actor, order_id, Some(version))?;
        if !order.status().items_editable() {
            return Err(DomainError::Conflict("Items can be changed only before the order is submitted.".into()));
        }
        let product: catalogue::Product = products::table
            .find(product_id)
            .select(catalogue::Product::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| FieldErrors::single("product_id", "Choose a product from the catalogue."))?;
        let next_no: Option<i32> =
            order_lines::table.filter(order_lines::order_id.eq(order_id)).select(diesel::dsl::max(order_lines::line_no)).first(conn)?;
        let mut line_no = next_no.unwrap_or(0) + 10;
        let major = insert_line(conn, &order, line_no, None, &product, quantity)?;
        for (component, per_unit) in catalogue::components(conn, product.id)? {
            line_no += 1;
            insert_line(conn, &order, line_no, Some(major), &component, quantity * per_unit)?;
        }
        bump(conn, &order)?;
        Ok(())
    })
}

fn insert_line(
    conn: &mut DbConnection,
    order: &OrderRow,
    line_no: i32,
    parent: Option<i64>,
    product: &catalogue::Product,
    quantity: i32,
) -> DomainResult<i64> {
    let cascade = product.requirement().takes_account() && order.default_account_id.is_some();
    let id: i64 = diesel::insert_into(order_lines::table)
        .values((
            order_lines::order_id.eq(order.id),
            order_lines::line_no.eq(line_no),
            order_lines::parent_line_id.eq(parent),
            order_lines::product_id.eq(product.id),
            order_lines::quantity.eq(quantity),
            order_lines::unit_price_cents.eq(product.unit_price_cents),
            order_lines::account_id.eq(if cascade { order.default_account_id } else { None }),
            order_lines::virtual_account_id.eq(if cascade { order.default_virtual_account_id } else { None }),
        ))
        .returning(order_lines::id)
        .get_result(conn)?;
    if cascade {
        let to = assignment::label_of(conn, order.default_account_id, order.default_virtual_account_id)?;
        assignment::record(
            conn,
            order.id,
            Some(id),
            Some(order.created_by),
            AssignmentHow::PreAssignment,
            &format!("Line {line_no}"),
            "Not assigned",
            &to,
        )?;
    }
    Ok(id)
}

pub fn remove_item(conn: &mut DbConnection, actor: &Actor, order_id: i64, line_id: i64, version: i32) -> DomainResult<()> {
    crate::db::transaction(conn, |conn| {
        let order = for_change(conn, actor, order_id, Some(version))?;
        if !order.status().items_editable() {
            return Err(DomainError::Conflict("Items can be changed only before the order is submitted.".into()));
        }
        let parent: Option<Option<i64>> = order_lines::table
            .find(line_id)
            .filter(order_lines::order_id.eq(order_id))
            .select(order_lines::parent_line_id)
            .first(conn)
            .optional()?;
        match parent {
            None => return Err(DomainError::NotFound),
            Some(Some(_)) => {
                return Err(DomainError::Conflict("A minor line goes with its configurable product: remove the product instead.".into()))
            }
            Some(None) => {}
        }
        diesel::delete(order_lines::table.filter(order_lines::parent_line_id.eq(line_id))).execute(conn)?;
        diesel::delete(order_lines::table.find(line_id)).execute(conn)?;
        bump(conn, &order)
    })
}

pub fn convert_quote(conn: &mut DbConnection, actor: &Actor, order_id: i64, version: i32) -> DomainResult<()> {
    crate::db::transaction(conn, |conn| {
        let order = for_change(conn, actor, order_id, Some(version))?;
        if order.status() != OrderStatus::Quote {
            return Err(DomainError::Conflict("This is an order already.".into()));
        }
        diesel::update(orders::table.find(order_id))
            .set((orders::status.eq(OrderStatus::Draft.as_str()), orders::converted_at.eq(crate::db::now())))
            .execute(conn)?;
        bump(conn, &order)
    })
}

/// Submits a draft order, or refuses naming what blocks it.
pub fn submit(conn: &mut DbConnection, actor: &Actor, order_id: i64, version: i32, base_url: &str) -> DomainResult<()> {
    crate::db::transaction(conn, |conn| {
        let order = for_change(conn, actor, order_id, Some(version))?;
        let (_, names, refs) = load_named(conn, order_id)?;
        let v = view(conn, actor, order.clone(), names, refs)?;
        if !v.blockers.is_empty() {
            let mut e = FieldErrors::new();
            e.add("submit", v.blockers.iter().map(|b| b.message.clone()).collect::<Vec<_>>().join(" "));
            return Err(e.into());
        }
        diesel::update(orders::table.find(order_id))
            .set((orders::status.eq(OrderStatus::Submitted.as_str()), orders::submitted_at.eq(crate::db::now())))
            .execute(conn)?;
        bump(conn, &order)?;
        listing::refresh(conn, order_id)?;
        if v.customer_status == CustomerAccountStatus::NotAssigned {
            let submitted = load_row(conn, order_id)?;
            notices::assignment_required(conn, &submitted, base_url)?;
        }
        Ok(())
    })
}

/// Operations: book a submitted order (it gets its sales order number).
pub fn book(conn: &mut DbConnection, actor: &Actor, order_id: i64) -> DomainResult<()> {
    if !policy::may_fulfil_orders(actor) {
        return Err(DomainError::NotFound);
    }
    crate::db::transaction(conn, |conn| {
        let order = load_row(conn, order_id)?;
        if order.status() != OrderStatus::Submitted {
            return Err(DomainError::Conflict(format!(
                "{} is {}, not submitted.",
                order.web_order_id(),
                order.status().label().to_lowercase()
            )));
        }
        diesel::update(orders::table.find(order_id))
            .set((
                orders::status.eq(OrderStatus::Booked.as_str()),
                orders::booked_at.eq(crate::db::now()),
                orders::sales_order_number.eq(format!("SO-{}", 100_000 + order_id)),
            ))
            .execute(conn)?;
        bump(conn, &order)
    })
}

/// Operations: ship a booked order; licenses arrive after the provisioning delay.
pub fn ship(conn: &mut DbConnection, actor: &Actor, order_id: i64, provisioning_delay: chrono::Duration) -> DomainResult<()> {
    if !policy::may_fulfil_orders(actor) {
        return Err(DomainError::NotFound);
    }
    crate::db::transaction(conn, |conn| {
        let order = load_row(conn, order_id)?;
        if order.status() != OrderStatus::Booked {
            return Err(DomainError::Conflict(format!(
                "{} is {}, not booked.",
                order.web_order_id(),
                order.status().label().to_lowercase()
            )));
        }
        let now = crate::db::now();
        let due = now + provisioning_delay;
        diesel::update(orders::table.find(order_id))
            .set((orders::status.eq(OrderStatus::Shipped.as_str()), orders::shipped_at.eq(now), orders::licenses_due_at.eq(due)))
            .execute(conn)?;
        // The order waits for its licenses until the order worker delivers them.
        diesel::insert_into(license_deposits_due::table)
            .values((license_deposits_due::order_id.eq(order_id), license_deposits_due::due_at.eq(due)))
            .execute(conn)?;
        bump(conn, &order)
    })
}

/// An order waiting for operations, and since when.
#[derive(Debug, Clone)]
pub struct QueuedOrder {
    pub id: i64,
    pub web_order_id: String,
    pub name: String,
    pub partner: String,
    pub end_customer: String,
    pub status: OrderStatus,
    pub internal: bool,
    /// Submitted (to book) or booked (to ship).
    pub since: chrono::NaiveDateTime,
    /// Whole days since then.
    pub days: i64,
}

impl QueuedOrder {
    /// Waiting a week or more.
    pub fn late(&self) -> bool {
        self.days >= 7
    }
}

/// Operations' fulfilment queue: orders to book and orders to ship, each oldest first.
#[derive(Debug, Clone)]
pub struct FulfilmentQueue {
    pub to_book: Vec<QueuedOrder>,
    pub to_ship: Vec<QueuedOrder>,
}

/// Orders waiting for operations: submitted ones to book (by submission) and
/// booked ones to ship (by booking), each oldest first, at most 500 of each.
pub fn fulfilment_queue(conn: &mut DbConnection, actor: &Actor) -> DomainResult<FulfilmentQueue> {
    if !policy::may_fulfil_orders(actor) {
        return Err(DomainError::NotFound);
    }
    let now = crate::db::now();
    let mut queue = |status: OrderStatus| -> DomainResult<Vec<QueuedOrder>> {
        let q =
            orders::table.inner_join(companies::table).filter(orders::status.eq(status.as_str())).into_boxed::<crate::db::MultiBackend>();
        let q = if status == OrderStatus::Submitted {
            q.order((orders::submitted_at, orders::id))
        } else {
            q.order((orders::booked_at, orders::id))
        };
        let rows: Vec<(OrderRow, String)> = q.limit(500).select((OrderRow::as_select(), companies::name)).load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(o, partner)| {
                let since = if status == OrderStatus::Submitted { o.submitted_at } else { o.booked_at }.unwrap_or(o.created_at);
                QueuedOrder {
                    id: o.id,
                    web_order_id: o.web_order_id(),
                    status: o.status(),
                    internal: o.internal,
                    partner,
                    end_customer: o.end_customer_name,
                    name: o.name,
                    since,
                    days: (now - since).num_days().max(0),
                }
            })
            .collect())
    };
    let to_book = queue(OrderStatus::Submitted)?;
    let to_ship = queue(OrderStatus::Booked)?;
    Ok(FulfilmentQueue { to_book, to_ship })
}

/// Partner companies, for operations creating an internal order.
pub fn partner_companies(conn: &mut DbConnection) -> QueryResult<Vec<(i64, String)>> {
    companies::table
        .filter(companies::kind.eq_any(["distributor", "reseller", "service_provider"]))
        .order(companies::name)
        .select((companies::id, companies::name))
        .load(conn)
}

#[cfg(test)]
mod money_tests {
    #[test]
    fn money_has_thousands_separators_and_the_currency() {
        assert_eq!(super::money(0), "$0.00 USD");
        assert_eq!(super::money(99), "$0.99 USD");
        assert_eq!(super::money(123_456), "$1,234.56 USD");
        assert_eq!(super::money(123_456_789_01), "$123,456,789.01 USD");
        assert_eq!(super::money(-100_000), "-$1,000.00 USD");
    }
}
