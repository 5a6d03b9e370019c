//! What waits for the signed-in person, for the home page: for each kind of
//! work a count, the oldest items (at most `SHOWN`, oldest first, with their
//! age) and where the work is done.
//!
//! Partners: Not Assigned orders in their worklist (the navigation's
//! judgement, `visibility::in_worklist`), their drafts that cannot be
//! submitted (rule 6), quotes to convert, open cases. Customers and partners:
//! access requests to decide, agreements to accept, their own account
//! requests still pending, and membership requests for company
//! administrators. Operations: orders to book and to ship, domain reviews,
//! open cases.
//!
//! Every count and list but the Not Assigned orders is one part of a single
//! statement (`UNION ALL`), each part read oldest first through an index and
//! stopping at a fixed number of rows, so the page runs the same few
//! statements whatever the size of the data.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp};

use crate::db::schema::{access_requests, account_roles, cases, companies, membership_requests, orders, smart_accounts, users};
use crate::db::{DbConnection, MultiBackend};
use crate::domain::company::CompanyKind;
use crate::domain::error::DomainResult;
use crate::domain::orders::listing::{self, ListRow};
use crate::domain::orders::rules::{self, OrderStatus};
use crate::domain::orders::{cases as order_cases, visibility, web_order_id};
use crate::domain::policy::{self, Capability};
use crate::domain::roles::{AccountKind, AccountStatus};
use crate::domain::Actor;

/// Items shown per kind of work; the rest are behind "see all".
pub const SHOWN: usize = 5;
/// Counts stop here (shown as "1000+"): each reads at most this many index entries.
pub const COUNT_CAP: i64 = 1000;

/// A kind of work waiting for someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    NotAssigned,
    Drafts,
    Quotes,
    AccessRequests,
    Memberships,
    AccountRequests,
    Agreements,
    MyCases,
    ToBook,
    ToShip,
    DomainReviews,
    OpenCases,
}

impl Work {
    const ALL: [Work; 12] = [
        Work::NotAssigned,
        Work::Drafts,
        Work::Quotes,
        Work::AccessRequests,
        Work::Memberships,
        Work::AccountRequests,
        Work::Agreements,
        Work::MyCases,
        Work::ToBook,
        Work::ToShip,
        Work::DomainReviews,
        Work::OpenCases,
    ];

    /// Its name in the statement and the page (an HTML id).
    pub fn key(self) -> &'static str {
        match self {
            Work::NotAssigned => "not-assigned",
            Work::Drafts => "drafts",
            Work::Quotes => "quotes",
            Work::AccessRequests => "access-requests",
            Work::Memberships => "membership-requests",
            Work::AccountRequests => "account-requests",
            Work::Agreements => "agreements",
            Work::MyCases => "my-cases",
            Work::ToBook => "to-book",
            Work::ToShip => "to-ship",
            Work::DomainReviews => "domain-reviews",
            Work::OpenCases => "open-cases",
        }
    }

    fn parse(key: &str) -> Option<Work> {
        Work::ALL.into_iter().find(|w| w.key() == key)
    }

    pub fn title(self) -> &'static str {
        match self {
            Work::NotAssigned => "Orders waiting for a customer account",
            Work::Drafts => "Drafts not ready to submit",
            Work::Quotes => "Quotes to convert",
            Work::AccessRequests => "Access requests to decide",
            Work::Memberships => "People asking to join",
            Work::AccountRequests => "Your account requests",
            Work::Agreements => "Agreements to accept",
            Work::MyCases => "Your open cases",
            Work::ToBook => "Orders to book",
            Work::ToShip => "Orders to ship",
            Work::DomainReviews => "Domain identifiers to review",
            Work::OpenCases => "Open support cases",
        }
    }

    /// What the section says when nothing waits.
    pub fn nothing(self) -> &'static str {
        match self {
            Work::NotAssigned => "Every order in your holding accounts has a customer account.",
            Work::Drafts => "None of your drafts is blocked.",
            Work::Quotes => "No open quotes.",
            Work::AccessRequests => "Nobody asks for access to your accounts.",
            Work::Memberships => "Nobody asks to join your company.",
            Work::AccountRequests => "None of your account requests is pending.",
            Work::Agreements => "Every agreement is accepted.",
            Work::MyCases => "You have no open cases.",
            Work::ToBook => "No submitted orders.",
            Work::ToShip => "No booked orders.",
            Work::DomainReviews => "No edited domain identifiers.",
            Work::OpenCases => "No open cases.",
        }
    }

    /// The full list, where all of them are.
    pub fn see_all(self) -> &'static str {
        match self {
            Work::NotAssigned => "/smart-account-orders?sa=not_assigned",
            Work::Drafts | Work::Quotes | Work::MyCases => "/orders",
            Work::AccessRequests | Work::AccountRequests | Work::Agreements => "/accounts",
            Work::Memberships => "/company#membership-requests",
            Work::ToBook => "/operations/orders#to-book",
            Work::ToShip => "/operations/orders#to-ship",
            Work::DomainReviews => "/operations/domain-reviews",
            Work::OpenCases => "/operations/cases",
        }
    }
}

/// One thing to do, linking to where it is done.
#[derive(Debug, Clone)]
pub struct Item {
    pub href: String,
    pub title: String,
    pub detail: String,
    /// What is to be done, or why it waits.
    pub note: String,
    /// The order's status badge, where the kind of work does not say it.
    pub status: Option<OrderStatus>,
    /// Whole days it has waited.
    pub days: i64,
}

impl Item {
    /// How long it has waited: "today", "3 days".
    pub fn age(&self) -> String {
        age(self.days)
    }
    /// Waiting a week or more.
    pub fn late(&self) -> bool {
        self.days >= 7
    }
}

#[derive(Debug, Clone)]
pub struct Section {
    pub work: Work,
    /// How many wait (at most `COUNT_CAP`).
    pub count: i64,
    /// The oldest first.
    pub items: Vec<Item>,
}

impl Section {
    pub fn count_label(&self) -> String {
        if self.count >= COUNT_CAP {
            format!("{COUNT_CAP}+")
        } else {
            self.count.to_string()
        }
    }
    /// How long the oldest has waited.
    pub fn oldest_days(&self) -> Option<i64> {
        self.items.first().map(|i| i.days)
    }
    pub fn oldest_age(&self) -> Option<String> {
        self.oldest_days().map(age)
    }
    /// More wait than are shown.
    pub fn more(&self) -> bool {
        self.count > self.items.len() as i64
    }
}

#[derive(Debug, Clone)]
pub struct Worklist {
    pub sections: Vec<Section>,
}

impl Worklist {
    /// The kinds of work with something waiting.
    pub fn waiting(&self) -> Vec<&Section> {
        self.sections.iter().filter(|s| s.count > 0).collect()
    }
    /// The kinds of work with nothing waiting, said so rather than hidden.
    pub fn clear(&self) -> Vec<&Section> {
        self.sections.iter().filter(|s| s.count == 0).collect()
    }
    /// How many things wait in all (capped counts added).
    pub fn total(&self) -> i64 {
        self.sections.iter().map(|s| s.count).sum()
    }
}

/// "today", "1 day", "12 days".
pub fn age(days: i64) -> String {
    match days {
        d if d <= 0 => "today".into(),
        1 => "1 day".into(),
        d => format!("{d} days"),
    }
}

/// "today", "1 day ago", "12 days ago".
pub fn ago(days: i64) -> String {
    if days <= 0 {
        "today".into()
    } else {
        format!("{} ago", age(days))
    }
}

/// What waits for `actor`. `not_assigned`: the navigation's count of Not
/// Assigned orders for this request, when it was computed (the same judgement;
/// computed here otherwise).
pub fn for_actor(conn: &mut DbConnection, actor: &Actor, not_assigned: Option<i64>) -> DomainResult<Worklist> {
    let now = crate::db::now();
    let shown = SHOWN as i64 + 1;
    let mut kinds: Vec<Work> = Vec::new();
    let mut parts: Vec<Part> = Vec::new();
    let mut na_rows: Vec<ListRow> = Vec::new();
    let mut na_count = 0;
    let me = actor.user_id.0;

    if policy::may_fulfil_orders(actor) {
        for (work, status) in [(Work::ToBook, OrderStatus::Submitted), (Work::ToShip, OrderStatus::Booked)] {
            let since = if status == OrderStatus::Submitted { "orders.submitted_at" } else { "orders.booked_at" };
            let q = || orders::table.filter(orders::status.eq(status.as_str())).into_boxed::<MultiBackend>();
            parts.push(Part::count(work, q().select(sql::<Integer>("1")).limit(COUNT_CAP)));
            parts.push(Part::rows(
                work,
                orders::table
                    .inner_join(companies::table)
                    .filter(orders::status.eq(status.as_str()))
                    .order((sql::<Timestamp>(since), orders::id))
                    .limit(shown)
                    .select((
                        orders::id,
                        orders::name,
                        companies::name,
                        orders::end_customer_name,
                        sql::<Nullable<Timestamp>>(since),
                        sql::<BigInt>("CAST(0 AS BIGINT)"),
                    ))
                    .into_boxed::<MultiBackend>(),
            ));
            kinds.push(work);
        }
    }
    if policy::may_review_domains(actor).is_ok() {
        let review = AccountStatus::PendingDomainReview.as_str();
        let q = || smart_accounts::table.filter(smart_accounts::status.eq(review)).into_boxed::<MultiBackend>();
        parts.push(Part::count(Work::DomainReviews, q().select(sql::<Integer>("1")).limit(COUNT_CAP)));
        parts.push(Part::rows(
            Work::DomainReviews,
            q().order((smart_accounts::created_at, smart_accounts::id)).limit(shown).select((
                smart_accounts::id,
                smart_accounts::name,
                smart_accounts::domain,
                smart_accounts::kind,
                smart_accounts::created_at.nullable(),
                sql::<BigInt>("CAST(0 AS BIGINT)"),
            )),
        ));
        kinds.push(Work::DomainReviews);
    }
    if policy::may_fulfil_orders(actor) {
        let q = || cases::table.filter(cases::status.eq(order_cases::OPEN)).into_boxed::<MultiBackend>();
        parts.push(Part::count(Work::OpenCases, q().select(sql::<Integer>("1")).limit(COUNT_CAP)));
        parts.push(Part::rows(
            Work::OpenCases,
            q().order((cases::created_at, cases::id)).limit(shown).select((
                cases::id,
                cases::reason,
                sql::<Text>("''"),
                sql::<Text>("''"),
                cases::created_at.nullable(),
                cases::order_id,
            )),
        ));
        kinds.push(Work::OpenCases);
    }

    if !actor.is_operations() {
        if actor.company_kind.is_partner() {
            let audience = visibility::audience(conn, actor)?;
            na_count = match not_assigned {
                Some(n) => n,
                None => listing::not_assigned_count_for(conn, &audience, COUNT_CAP)?,
            };
            na_rows = listing::oldest_in_worklist(conn, &audience, SHOWN as i64)?;
            kinds.push(Work::NotAssigned);

            // Rule 6: the drafts they started that cannot be submitted yet.
            let blocked = rules::draft_blocked_sql();
            let drafts = || {
                orders::table
                    .filter(orders::created_by.eq(me))
                    .filter(orders::company_id.eq(actor.company_id.0))
                    .filter(orders::status.eq(OrderStatus::Draft.as_str()))
                    .filter(sql::<Bool>(&blocked))
                    .into_boxed::<MultiBackend>()
            };
            parts.push(Part::count(Work::Drafts, drafts().select(sql::<Integer>("1")).limit(COUNT_CAP)));
            parts.push(Part::rows(
                Work::Drafts,
                drafts().order((orders::created_at, orders::id)).limit(shown).select((
                    orders::id,
                    orders::name,
                    orders::end_customer_name,
                    orders::order_type,
                    orders::created_at.nullable(),
                    sql::<BigInt>(&format!("CAST({} AS BIGINT)", rules::unassigned_required_lines_sql())),
                )),
            ));
            kinds.push(Work::Drafts);

            let quotes = || {
                orders::table
                    .filter(orders::created_by.eq(me))
                    .filter(orders::company_id.eq(actor.company_id.0))
                    .filter(orders::status.eq(OrderStatus::Quote.as_str()))
                    .into_boxed::<MultiBackend>()
            };
            parts.push(Part::count(Work::Quotes, quotes().select(sql::<Integer>("1")).limit(COUNT_CAP)));
            parts.push(Part::rows(
                Work::Quotes,
                quotes().order((orders::created_at, orders::id)).limit(shown).select((
                    orders::id,
                    orders::name,
                    orders::end_customer_name,
                    orders::order_type,
                    orders::created_at.nullable(),
                    sql::<BigInt>("CAST(0 AS BIGINT)"),
                )),
            ));
            kinds.push(Work::Quotes);
        }

        // Access requests to accounts where their role decides them.
        let deciding: Vec<&'static str> =
            policy::roles_with(AccountKind::Customer, AccountStatus::Active, Capability::DecideAccessRequests)
                .into_iter()
                .map(|r| r.as_str())
                .collect();
        let requests = || {
            let mine = account_roles::table
                .filter(account_roles::user_id.eq(me))
                .filter(account_roles::role.eq_any(deciding.clone()))
                .select(account_roles::smart_account_id);
            access_requests::table
                .inner_join(users::table)
                .inner_join(smart_accounts::table)
                .filter(access_requests::status.eq("pending"))
                .filter(access_requests::smart_account_id.eq_any(mine))
                .into_boxed::<MultiBackend>()
        };
        parts.push(Part::count(Work::AccessRequests, requests().select(sql::<Integer>("1")).limit(COUNT_CAP)));
        parts.push(Part::rows(
            Work::AccessRequests,
            requests().order((access_requests::created_at, access_requests::id)).limit(shown).select((
                access_requests::id,
                users::name,
                users::email,
                smart_accounts::name,
                access_requests::created_at.nullable(),
                access_requests::smart_account_id,
            )),
        ));
        kinds.push(Work::AccessRequests);

        if policy::may_administer_members(actor).is_ok() {
            let joining = || {
                membership_requests::table
                    .inner_join(users::table)
                    .filter(membership_requests::company_id.eq(actor.company_id.0))
                    .filter(membership_requests::status.eq("pending"))
                    .into_boxed::<MultiBackend>()
            };
            parts.push(Part::count(Work::Memberships, joining().select(sql::<Integer>("1")).limit(COUNT_CAP)));
            parts.push(Part::rows(
                Work::Memberships,
                joining().order(membership_requests::id).limit(shown).select((
                    membership_requests::id,
                    users::name,
                    users::email,
                    sql::<Text>("''"),
                    membership_requests::created_at.nullable(),
                    sql::<BigInt>("CAST(0 AS BIGINT)"),
                )),
            ));
            kinds.push(Work::Memberships);
        }

        // Their own requests, still waiting for activation or review.
        let pending = [AccountStatus::Pending.as_str(), AccountStatus::PendingDomainReview.as_str()];
        let asked = || {
            smart_accounts::table
                .filter(smart_accounts::requested_by.eq(me))
                .filter(smart_accounts::status.eq_any(pending))
                .into_boxed::<MultiBackend>()
        };
        parts.push(Part::count(Work::AccountRequests, asked().select(sql::<Integer>("1")).limit(COUNT_CAP)));
        parts.push(Part::rows(
            Work::AccountRequests,
            asked().order((smart_accounts::created_at, smart_accounts::id)).limit(shown).select((
                smart_accounts::id,
                smart_accounts::name,
                smart_accounts::domain,
                smart_accounts::status,
                smart_accounts::created_at.nullable(),
                sql::<BigInt>("CAST(0 AS BIGINT)"),
            )),
        ));
        kinds.push(Work::AccountRequests);

        // Active customer accounts whose agreement their role accepts.
        let accepting: Vec<&'static str> = policy::roles_with(AccountKind::Customer, AccountStatus::Active, Capability::AcceptAgreement)
            .into_iter()
            .map(|r| r.as_str())
            .collect();
        let agreements = || {
            let mine = account_roles::table
                .filter(account_roles::user_id.eq(me))
                .filter(account_roles::role.eq_any(accepting.clone()))
                .select(account_roles::smart_account_id);
            smart_accounts::table
                .filter(smart_accounts::id.eq_any(mine))
                .filter(smart_accounts::kind.eq(AccountKind::Customer.as_str()))
                .filter(smart_accounts::status.eq(AccountStatus::Active.as_str()))
                .filter(smart_accounts::agreement_accepted_at.is_null())
                .into_boxed::<MultiBackend>()
        };
        parts.push(Part::count(Work::Agreements, agreements().select(sql::<Integer>("1")).limit(COUNT_CAP)));
        parts.push(Part::rows(
            Work::Agreements,
            agreements().order((smart_accounts::created_at, smart_accounts::id)).limit(shown).select((
                smart_accounts::id,
                smart_accounts::name,
                smart_accounts::domain,
                sql::<Text>("''"),
                sql::<Nullable<Timestamp>>("COALESCE(smart_accounts.activated_at, smart_accounts.created_at)"),
                sql::<BigInt>("CAST(0 AS BIGINT)"),
            )),
        ));
        kinds.push(Work::Agreements);

        if actor.company_kind.is_partner() {
            let open =
                || cases::table.filter(cases::opened_by.eq(me)).filter(cases::status.eq(order_cases::OPEN)).into_boxed::<MultiBackend>();
            parts.push(Part::count(Work::MyCases, open().select(sql::<Integer>("1")).limit(COUNT_CAP)));
            parts.push(Part::rows(
                Work::MyCases,
                open().order((cases::created_at, cases::id)).limit(shown).select((
                    cases::id,
                    cases::reason,
                    sql::<Text>("''"),
                    sql::<Text>("''"),
                    cases::created_at.nullable(),
                    cases::order_id,
                )),
            ));
            kinds.push(Work::MyCases);
        }
    }

    let rows: Vec<WorkRow> = if parts.is_empty() { Vec::new() } else { Union { parts }.load(conn)? };
    let mut sections: Vec<Section> = Vec::new();
    for work in kinds {
        if work == Work::NotAssigned {
            let items = na_rows.iter().map(|r| not_assigned_item(r, now)).collect();
            sections.push(Section { work, count: na_count, items });
            continue;
        }
        let count = rows.iter().find(|r| r.count_of(work)).map(|r| r.6).unwrap_or(0);
        let mut items: Vec<Item> = rows.iter().filter(|r| r.row_of(work)).map(|r| item(work, r, now)).collect();
        items.truncate(SHOWN);
        sections.push(Section { work, count, items });
    }
    // Agreements matter to partners only when they own a customer account.
    if actor.company_kind != CompanyKind::Customer {
        sections.retain(|s| s.work != Work::Agreements || s.count > 0);
    }
    Ok(Worklist { sections })
}

fn days_since(at: Option<NaiveDateTime>, now: NaiveDateTime) -> i64 {
    at.map(|t| (now - t).num_days().max(0)).unwrap_or(0)
}

fn not_assigned_item(r: &ListRow, now: NaiveDateTime) -> Item {
    let o = &r.order;
    let days = r.days_in_holding.unwrap_or_else(|| days_since(o.waiting_since, now));
    Item {
        href: format!("/orders/{}/assignment?target=order", o.id),
        title: format!("{} · {}", o.web_order_id(), o.end_customer_name),
        detail: match &r.holding {
            Some(h) => format!("In {h}"),
            None => String::new(),
        },
        note: format!("{} in holding", age_in(days)),
        status: Some(o.status()),
        days,
    }
}

/// "3 days", "1 day", "less than a day".
fn age_in(days: i64) -> String {
    if days <= 0 {
        "Less than a day".into()
    } else {
        let a = age(days);
        let mut c = a.chars();
        c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or(a)
    }
}

/// (key, id, title, detail, note, since, number): `number` is the count of a
/// count row; of an item row, what its kind keeps there (an account or order id,
/// lines needing an account).
type WorkRow = (String, i64, String, String, String, Option<NaiveDateTime>, i64);

trait RowKind {
    fn count_of(&self, work: Work) -> bool;
    fn row_of(&self, work: Work) -> bool;
}

impl RowKind for WorkRow {
    fn count_of(&self, work: Work) -> bool {
        self.0.strip_prefix('#').and_then(Work::parse) == Some(work)
    }
    fn row_of(&self, work: Work) -> bool {
        Work::parse(&self.0) == Some(work)
    }
}

fn item(work: Work, r: &WorkRow, now: NaiveDateTime) -> Item {
    let (_, id, title, detail, note, since, n) = r;
    let (id, n) = (*id, *n);
    let days = days_since(*since, now);
    let order_title = || format!("{} · {title}", web_order_id(id));
    let (href, title, detail, note, status) = match work {
        Work::Drafts => (
            format!("/orders/{id}"),
            order_title(),
            format!("For {detail}"),
            match n {
                0 => "Add at least one item".to_string(),
                1 => "1 line needs a smart account".to_string(),
                n => format!("{n} lines need a smart account"),
            },
            None,
        ),
        Work::Quotes => (format!("/orders/{id}"), order_title(), format!("For {detail}"), "Convert it to an order".into(), None),
        Work::AccessRequests => (
            format!("/accounts/{n}/access-requests"),
            format!("{title} ({detail})"),
            format!("Asks for access to {note}"),
            "Approve or deny".into(),
            None,
        ),
        Work::Memberships => (
            "/company#membership-requests".into(),
            format!("{title} ({detail})"),
            "Asks to join your company".into(),
            "Approve or deny".into(),
            None,
        ),
        Work::AccountRequests => {
            let status = AccountStatus::parse(note).unwrap_or(AccountStatus::Pending);
            let waits = if status == AccountStatus::PendingDomainReview {
                "Operations review the edited domain identifier"
            } else {
                "Waits for activation by its authorizer"
            };
            (format!("/accounts/{id}"), title.clone(), detail.clone(), waits.into(), None)
        }
        Work::Agreements => {
            (format!("/accounts/{id}/agreement"), title.clone(), detail.clone(), "Accept the Smart Licensing Agreement".into(), None)
        }
        Work::MyCases => {
            (format!("/orders/{n}"), format!("Case #{id} · {}", web_order_id(n)), shorten(title), "Waits for operations".into(), None)
        }
        Work::ToBook => (
            format!("/operations/orders#order-{id}"),
            order_title(),
            format!("{detail} · for {note}"),
            format!("Submitted {}", ago(days)),
            None,
        ),
        Work::ToShip => (
            format!("/operations/orders#order-{id}"),
            order_title(),
            format!("{detail} · for {note}"),
            format!("Booked {}", ago(days)),
            None,
        ),
        Work::DomainReviews => (
            format!("/operations/domain-reviews#review-{id}"),
            title.clone(),
            detail.clone(),
            format!("{} account", AccountKind::parse(note).map(|k| k.label()).unwrap_or("Smart")),
            None,
        ),
        Work::OpenCases => (
            format!("/operations/cases#case-{id}"),
            format!("Case #{id} · {}", web_order_id(n)),
            shorten(title),
            "Resolve or decline".into(),
            None,
        ),
        Work::NotAssigned => (String::new(), String::new(), String::new(), String::new(), None),
    };
    Item { href, title, detail, note, status, days }
}

/// A long text cut to its first 90 characters.
fn shorten(text: &str) -> String {
    let t = text.trim();
    if t.chars().count() > 90 {
        format!("{}…", t.chars().take(89).collect::<String>().trim_end())
    } else {
        t.to_string()
    }
}

// ---------------------------------------------------------------- the statement

/// One part of the statement: the items of a kind of work (id, title, detail,
/// note, since, number), or its count.
struct Part {
    work: Work,
    count: bool,
    query: Box<dyn QueryFragment<MultiBackend>>,
}

impl Part {
    fn rows<Q: QueryFragment<MultiBackend> + 'static>(work: Work, query: Q) -> Part {
        Part { work, count: false, query: Box::new(query) }
    }
    fn count<Q: QueryFragment<MultiBackend> + 'static>(work: Work, query: Q) -> Part {
        Part { work, count: true, query: Box::new(query) }
    }
}

/// Every part in one `UNION ALL`, each kept whole (its ORDER BY and LIMIT) as
/// a subquery. A count part answers one row, keyed `#key`.
struct Union {
    parts: Vec<Part>,
}

impl QueryId for Union {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Union {
    type SqlType = (Text, BigInt, Text, Text, Text, Nullable<Timestamp>, BigInt);
}

impl RunQueryDsl<DbConnection> for Union {}

impl QueryFragment<MultiBackend> for Union {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                out.push_sql(" UNION ALL ");
            }
            // The keys are this module's constants, never input.
            if part.count {
                out.push_sql(&format!(
                    "SELECT '#{}', CAST(0 AS BIGINT), '', '', '', CAST(NULL AS TIMESTAMP), CAST(COUNT(*) AS BIGINT) FROM (",
                    part.work.key()
                ));
            } else {
                out.push_sql(&format!("SELECT '{}', s{i}.* FROM (", part.work.key()));
            }
            part.query.walk_ast(out.reborrow())?;
            out.push_sql(&format!(") AS s{i}"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_people_say_them() {
        assert_eq!(age(0), "today");
        assert_eq!(age(1), "1 day");
        assert_eq!(age(12), "12 days");
        assert_eq!(age_in(0), "Less than a day");
        assert_eq!(age_in(3), "3 days");
        assert_eq!(ago(0), "today");
        assert_eq!(ago(2), "2 days ago");
    }

    #[test]
    fn every_kind_of_work_has_its_own_key() {
        for w in Work::ALL {
            assert_eq!(Work::parse(w.key()), Some(w));
        }
    }

    #[test]
    fn long_reasons_are_shortened() {
        assert_eq!(shorten(" short "), "short");
        let long = "x".repeat(200);
        assert_eq!(shorten(&long).chars().count(), 90);
    }

    #[test]
    fn counts_at_the_cap_say_so() {
        let s = Section { work: Work::Drafts, count: COUNT_CAP, items: Vec::new() };
        assert_eq!(s.count_label(), "1000+");
        assert!(s.more());
    }
}
