//! The assignment and submit rules (DOMAIN.md "Orders and assignment rules"),
//! as pure functions over an order's facts, so every handler, the API and the
//! tests judge an order the same way.

use crate::domain::catalogue::SaRequirement;
use crate::domain::roles::{AccountKind, AccountStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderType {
    Standard,
    Stocking,
}

impl OrderType {
    pub fn parse(s: &str) -> Option<OrderType> {
        match s {
            "standard" => Some(OrderType::Standard),
            "stocking" => Some(OrderType::Stocking),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Standard => "standard",
            OrderType::Stocking => "stocking",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Quote,
    Draft,
    Submitted,
    Booked,
    Shipped,
    Cancelled,
}

impl OrderStatus {
    pub fn parse(s: &str) -> OrderStatus {
        match s {
            "quote" => OrderStatus::Quote,
            "submitted" => OrderStatus::Submitted,
            "booked" => OrderStatus::Booked,
            "shipped" => OrderStatus::Shipped,
            "cancelled" => OrderStatus::Cancelled,
            _ => OrderStatus::Draft,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Quote => "quote",
            OrderStatus::Draft => "draft",
            OrderStatus::Submitted => "submitted",
            OrderStatus::Booked => "booked",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Cancelled => "cancelled",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            OrderStatus::Quote => "Quote",
            OrderStatus::Draft => "Draft",
            OrderStatus::Submitted => "Submitted",
            OrderStatus::Booked => "Booked",
            OrderStatus::Shipped => "Shipped",
            OrderStatus::Cancelled => "Cancelled",
        }
    }
    /// The badge class of the status: one colour per status, on every page.
    pub fn badge_class(self) -> &'static str {
        match self {
            OrderStatus::Quote => "badge status-quote",
            OrderStatus::Draft => "badge status-draft",
            OrderStatus::Submitted => "badge status-submitted",
            OrderStatus::Booked => "badge status-booked",
            OrderStatus::Shipped => "badge status-shipped",
            OrderStatus::Cancelled => "badge status-cancelled",
        }
    }
    /// Items can be added, removed and changed only before submission.
    pub fn items_editable(self) -> bool {
        matches!(self, OrderStatus::Quote | OrderStatus::Draft)
    }
}

/// How an assignment changed, for the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignmentHow {
    PreAssignment,
    Header,
    Line,
    OrderLevel,
    Reassignment,
    Case,
}

impl AssignmentHow {
    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentHow::PreAssignment => "pre_assignment",
            AssignmentHow::Header => "header",
            AssignmentHow::Line => "line",
            AssignmentHow::OrderLevel => "order_level",
            AssignmentHow::Reassignment => "reassignment",
            AssignmentHow::Case => "case",
        }
    }
    pub fn label_of(s: &str) -> &'static str {
        match s {
            "pre_assignment" => "Pre-assignment",
            "header" => "Header",
            "line" => "Line",
            "order_level" => "Order level",
            "reassignment" => "Reassignment",
            "case" => "Support case",
            _ => "Change",
        }
    }
}

/// Line numbers as the ordering tool shows them: the n-th item is line
/// n.0 and its minor lines (a configurable kit's) n.1, n.2 …; `lines` are
/// (id, stored line number, major line), the result in the same order.
pub fn line_numbers(lines: &[(i64, i32, Option<i64>)]) -> Vec<String> {
    let mut majors: Vec<(i32, i64)> = lines.iter().filter(|l| l.2.is_none()).map(|l| (l.1, l.0)).collect();
    majors.sort_unstable();
    let major_no = |id: i64| majors.iter().position(|m| m.1 == id).map(|i| i + 1);
    lines
        .iter()
        .map(|&(id, no, parent)| match parent {
            None => format!("{}.0", major_no(id).unwrap_or_default()),
            Some(p) => {
                let mut minors: Vec<(i32, i64)> = lines.iter().filter(|l| l.2 == Some(p)).map(|l| (l.1, l.0)).collect();
                minors.sort_unstable();
                match (major_no(p), minors.iter().position(|m| m.1 == id)) {
                    (Some(k), Some(j)) => format!("{k}.{}", j + 1),
                    _ => no.to_string(),
                }
            }
        })
        .collect()
}

/// How a history entry about a line names it, with the line's current
/// number (`line_numbers`): entries store the line's id, and their text
/// ("Line 10", "Line 20 (case #3)") may carry an older numbering, which is
/// replaced; what follows the number is kept.
pub fn history_target(stored: &str, number: &str) -> String {
    match stored.strip_prefix("Line ") {
        Some(rest) => {
            let after = rest.find(' ').map(|i| &rest[i..]).unwrap_or("");
            format!("Line {number}{after}")
        }
        None => stored.to_string(),
    }
}

/// How a refusal names each line: "1.0", or "1.2 in kit 1.0" for a minor line.
pub fn line_references(lines: &[(i64, i32, Option<i64>)]) -> Vec<String> {
    let numbers = line_numbers(lines);
    lines
        .iter()
        .zip(&numbers)
        .map(|(l, n)| match l.2.and_then(|p| lines.iter().position(|m| m.0 == p)) {
            Some(k) => format!("{n} in kit {}", numbers[k]),
            None => n.clone(),
        })
        .collect()
}

/// What the rules need to know of a line.
#[derive(Debug, Clone)]
pub struct LineFacts {
    pub id: i64,
    pub line_no: i32,
    /// How refusals name the line: "1.0", "1.2 in kit 1.0" (`line_references`).
    pub reference: String,
    pub label: String,
    pub requirement: SaRequirement,
    pub is_minor: bool,
    pub customer_account: Option<i64>,
    pub deposited: bool,
}

#[derive(Debug, Clone)]
pub struct OrderFacts {
    pub status: OrderStatus,
    pub order_type: OrderType,
    pub holding_account: Option<i64>,
    pub lines: Vec<LineFacts>,
}

/// Something that stops submission, with the line to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocker {
    pub line_id: Option<i64>,
    pub message: String,
}

/// Rule 6: every SA mandatory line (minor lines too) needs a customer account
/// or the order's holding account; stocking orders are exempt.
pub fn submit_blockers(order: &OrderFacts) -> Vec<Blocker> {
    let mut blockers = Vec::new();
    if order.status != OrderStatus::Draft {
        blockers.push(Blocker {
            line_id: None,
            message: format!("Only a draft order can be submitted; this one is {}.", order.status.label().to_lowercase()),
        });
    }
    if order.lines.is_empty() {
        blockers.push(Blocker { line_id: None, message: "Add at least one item.".into() });
    }
    if order.order_type == OrderType::Stocking {
        return blockers;
    }
    for line in &order.lines {
        if line.requirement == SaRequirement::Mandatory && line.customer_account.is_none() && order.holding_account.is_none() {
            blockers.push(Blocker {
                line_id: Some(line.id),
                message: format!(
                    "Line {} ({}) requires a smart account: assign a customer account, or a holding account to the order.",
                    line.reference, line.label
                ),
            });
        }
    }
    blockers
}

/// `submit_blockers` of a draft as SQL over the `orders` row, for lists that
/// find the drafts that cannot be submitted without loading their lines: no
/// item yet, or (not a stocking order, no holding account) an SA mandatory
/// line without a customer account. The tests hold the two to agree.
pub fn draft_blocked_sql() -> String {
    format!(
        "(NOT EXISTS (SELECT 1 FROM order_lines bl WHERE bl.order_id = orders.id) \
         OR (orders.order_type <> '{stocking}' AND orders.holding_account_id IS NULL AND {lines} > 0))",
        stocking = OrderType::Stocking.as_str(),
        lines = unassigned_required_lines_sql(),
    )
}

/// The number of an order's SA mandatory lines (minor lines included)
/// without a customer account, as a correlated SQL subquery over `orders`.
pub fn unassigned_required_lines_sql() -> String {
    format!(
        "(SELECT COUNT(*) FROM order_lines ul INNER JOIN products up ON up.id = ul.product_id \
         WHERE ul.order_id = orders.id AND up.sa_requirement = '{mandatory}' AND ul.account_id IS NULL)",
        mandatory = SaRequirement::Mandatory.as_str(),
    )
}

/// The order's Customer Smart Account Status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerAccountStatus {
    /// Every SA mandatory line has a customer account.
    Assigned,
    /// The order sits in a holding account with lines not yet in a customer account.
    NotAssigned,
    /// Neither: nothing needs an account, or nothing is assigned yet outside a holding account.
    NotApplicable,
}

pub fn customer_account_status(order: &OrderFacts) -> CustomerAccountStatus {
    let needing: Vec<&LineFacts> = order.lines.iter().filter(|l| l.requirement == SaRequirement::Mandatory).collect();
    if needing.is_empty() {
        return CustomerAccountStatus::NotApplicable;
    }
    if needing.iter().all(|l| l.customer_account.is_some()) {
        CustomerAccountStatus::Assigned
    } else if order.holding_account.is_some() {
        CustomerAccountStatus::NotAssigned
    } else {
        CustomerAccountStatus::NotApplicable
    }
}

/// Why an assignment is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignmentError {
    /// Rule 2: holding accounts only at the header.
    HoldingOnlyAtHeader,
    /// The header's holding slot takes a holding account only.
    NotAHoldingAccount,
    /// Rejected or otherwise not accepting orders.
    AccountNotAccepting,
    /// Rule 3: the virtual account must belong to that smart account.
    VirtualAccountOfAnotherAccount,
    /// The line takes no smart account (hardware and the like).
    LineTakesNoAccount,
    /// Licenses were deposited: only a support case changes it (rule 10).
    LicensesDeposited,
    /// SA optional lines get an account until shipment; then the PAK is claimed (rule 7).
    OptionalLineAfterShipment,
    /// Cancelled orders, or quotes/drafts for reassignment-only steps.
    OrderClosed,
}

impl AssignmentError {
    pub fn message(&self) -> &'static str {
        match self {
            AssignmentError::HoldingOnlyAtHeader => "A holding account can be assigned only at the order header, not to a line.",
            AssignmentError::NotAHoldingAccount => "Only a holding account can be assigned here.",
            AssignmentError::AccountNotAccepting => "This smart account does not accept orders (its request was rejected).",
            AssignmentError::VirtualAccountOfAnotherAccount => "That virtual account belongs to another smart account.",
            AssignmentError::LineTakesNoAccount => "This line takes no smart account.",
            AssignmentError::LicensesDeposited => {
                "The licenses are in the customer account already; open a case to have operations move them."
            }
            AssignmentError::OptionalLineAfterShipment => {
                "The order has shipped: claim the PAK in the license manager to put it in a smart account."
            }
            AssignmentError::OrderClosed => "This order can no longer be changed.",
        }
    }
}

/// May the order's assignments change at all in this state?
pub fn assignment_open(status: OrderStatus) -> Result<(), AssignmentError> {
    match status {
        OrderStatus::Cancelled => Err(AssignmentError::OrderClosed),
        _ => Ok(()),
    }
}

/// Checks assigning a customer account (and VA) to one line.
pub fn check_line_assignment(
    status: OrderStatus,
    line: &LineFacts,
    kind: AccountKind,
    account_status: AccountStatus,
    va_in_account: bool,
) -> Result<(), AssignmentError> {
    assignment_open(status)?;
    if kind == AccountKind::Holding {
        return Err(AssignmentError::HoldingOnlyAtHeader);
    }
    if !account_status.accepts_orders() {
        return Err(AssignmentError::AccountNotAccepting);
    }
    if !va_in_account {
        return Err(AssignmentError::VirtualAccountOfAnotherAccount);
    }
    if !line.requirement.takes_account() {
        return Err(AssignmentError::LineTakesNoAccount);
    }
    if line.deposited {
        return Err(AssignmentError::LicensesDeposited);
    }
    if status == OrderStatus::Shipped && line.requirement == SaRequirement::Optional {
        return Err(AssignmentError::OptionalLineAfterShipment);
    }
    Ok(())
}

/// Checks putting an account in the header's holding slot.
pub fn check_header_holding(status: OrderStatus, kind: AccountKind, account_status: AccountStatus) -> Result<(), AssignmentError> {
    assignment_open(status)?;
    if kind != AccountKind::Holding {
        return Err(AssignmentError::NotAHoldingAccount);
    }
    if !account_status.accepts_orders() {
        return Err(AssignmentError::AccountNotAccepting);
    }
    Ok(())
}

/// After submission, a holding account that still holds SA mandatory lines
/// without a customer account cannot be removed (only replaced or reassigned).
pub fn check_holding_removal(order: &OrderFacts) -> Result<(), String> {
    if matches!(order.status, OrderStatus::Quote | OrderStatus::Draft) || order.order_type == OrderType::Stocking {
        return Ok(());
    }
    let waiting: Vec<String> = order
        .lines
        .iter()
        .filter(|l| l.requirement == SaRequirement::Mandatory && l.customer_account.is_none())
        .map(|l| l.reference.clone())
        .collect();
    if waiting.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "Lines {} still wait in the holding account: assign them a customer account, or choose another holding account, before removing it.",
            waiting.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: i64, requirement: SaRequirement, account: Option<i64>) -> LineFacts {
        LineFacts {
            id,
            line_no: id as i32,
            reference: format!("{id}.0"),
            label: format!("SKU{id}"),
            requirement,
            is_minor: false,
            customer_account: account,
            deposited: false,
        }
    }

    #[test]
    fn minor_lines_are_numbered_under_their_major_line_like_the_ordering_tool() {
        // A kit (line 10) with 13 minor lines (11 … 23), then a plain item (33), then a kit (43) with one.
        let mut lines: Vec<(i64, i32, Option<i64>)> = vec![(1, 10, None)];
        lines.extend((0..13).map(|i| (100 + i as i64, 11 + i, Some(1))));
        lines.push((2, 33, None));
        lines.push((3, 43, None));
        lines.push((30, 44, Some(3)));
        let n = line_numbers(&lines);
        assert_eq!(n[0], "1.0");
        assert_eq!(n[1], "1.1");
        assert_eq!(n[2], "1.2");
        assert_eq!(n[13], "1.13");
        assert_eq!(&n[14..], ["2.0", "3.0", "3.1"]);
        let r = line_references(&lines);
        assert_eq!(r[2], "1.2 in kit 1.0");
        assert_eq!(r[14], "2.0");
        assert_eq!(r[16], "3.1 in kit 3.0");
    }

    fn order(order_type: OrderType, holding: Option<i64>, lines: Vec<LineFacts>) -> OrderFacts {
        OrderFacts { status: OrderStatus::Draft, order_type, holding_account: holding, lines }
    }

    #[test]
    fn submit_is_refused_naming_each_mandatory_line_without_an_account() {
        let o = order(
            OrderType::Standard,
            None,
            vec![
                line(1, SaRequirement::Mandatory, None),
                line(2, SaRequirement::Optional, None),
                line(3, SaRequirement::None, None),
                line(4, SaRequirement::Mandatory, Some(9)),
            ],
        );
        let b = submit_blockers(&o);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].line_id, Some(1));
        assert!(b[0].message.starts_with("Line 1.0 (SKU1) requires a smart account"));
    }

    #[test]
    fn minor_lines_count_like_any_other() {
        let mut minor = line(2, SaRequirement::Mandatory, None);
        minor.is_minor = true;
        let o = order(OrderType::Standard, None, vec![line(1, SaRequirement::None, None), minor]);
        assert_eq!(submit_blockers(&o).iter().filter_map(|b| b.line_id).collect::<Vec<_>>(), vec![2]);
    }

    #[test]
    fn a_holding_account_at_the_header_covers_every_line_and_stocking_orders_are_exempt() {
        let lines = vec![line(1, SaRequirement::Mandatory, None)];
        assert!(submit_blockers(&order(OrderType::Standard, Some(5), lines.clone())).is_empty());
        assert!(submit_blockers(&order(OrderType::Stocking, None, lines)).is_empty());
    }

    #[test]
    fn an_empty_or_already_submitted_order_cannot_be_submitted() {
        assert_eq!(submit_blockers(&order(OrderType::Standard, None, vec![]))[0].message, "Add at least one item.");
        let mut o = order(OrderType::Standard, None, vec![line(1, SaRequirement::None, None)]);
        o.status = OrderStatus::Submitted;
        assert!(!submit_blockers(&o).is_empty());
    }

    #[test]
    fn customer_account_status_is_assigned_not_assigned_or_not_applicable() {
        let assigned =
            order(OrderType::Standard, Some(5), vec![line(1, SaRequirement::Mandatory, Some(9)), line(2, SaRequirement::Optional, None)]);
        assert_eq!(customer_account_status(&assigned), CustomerAccountStatus::Assigned);
        let parked =
            order(OrderType::Standard, Some(5), vec![line(1, SaRequirement::Mandatory, Some(9)), line(2, SaRequirement::Mandatory, None)]);
        assert_eq!(customer_account_status(&parked), CustomerAccountStatus::NotAssigned);
        let hardware = order(OrderType::Standard, Some(5), vec![line(1, SaRequirement::None, None)]);
        assert_eq!(customer_account_status(&hardware), CustomerAccountStatus::NotApplicable);
    }

    #[test]
    fn holding_accounts_go_only_to_the_header_and_customer_accounts_only_to_lines() {
        let l = line(1, SaRequirement::Mandatory, None);
        assert_eq!(
            check_line_assignment(OrderStatus::Draft, &l, AccountKind::Holding, AccountStatus::Active, true),
            Err(AssignmentError::HoldingOnlyAtHeader)
        );
        assert_eq!(
            check_header_holding(OrderStatus::Draft, AccountKind::Customer, AccountStatus::Active),
            Err(AssignmentError::NotAHoldingAccount)
        );
        assert_eq!(check_header_holding(OrderStatus::Draft, AccountKind::Holding, AccountStatus::Pending), Ok(()));
        assert_eq!(
            check_line_assignment(OrderStatus::Draft, &l, AccountKind::Customer, AccountStatus::Pending, true),
            Ok(()),
            "pending accounts take orders"
        );
    }

    #[test]
    fn the_virtual_account_must_belong_to_the_account_and_rejected_accounts_take_nothing() {
        let l = line(1, SaRequirement::Mandatory, None);
        assert_eq!(
            check_line_assignment(OrderStatus::Draft, &l, AccountKind::Customer, AccountStatus::Active, false),
            Err(AssignmentError::VirtualAccountOfAnotherAccount)
        );
        assert_eq!(
            check_line_assignment(OrderStatus::Draft, &l, AccountKind::Customer, AccountStatus::Rejected, true),
            Err(AssignmentError::AccountNotAccepting)
        );
    }

    #[test]
    fn a_submitted_orders_holding_account_stays_while_lines_wait_in_it() {
        let mut o =
            order(OrderType::Standard, Some(5), vec![line(1, SaRequirement::Mandatory, None), line(2, SaRequirement::Mandatory, Some(9))]);
        assert!(check_holding_removal(&o).is_ok(), "a draft may drop it");
        o.status = OrderStatus::Submitted;
        assert!(check_holding_removal(&o).unwrap_err().starts_with("Lines 1.0 still wait"));
        o.lines[0].customer_account = Some(9);
        assert!(check_holding_removal(&o).is_ok());
    }

    #[test]
    fn hardware_takes_no_account_and_deposited_or_shipped_optional_lines_are_closed() {
        let hw = line(1, SaRequirement::None, None);
        assert_eq!(
            check_line_assignment(OrderStatus::Draft, &hw, AccountKind::Customer, AccountStatus::Active, true),
            Err(AssignmentError::LineTakesNoAccount)
        );
        let mut deposited = line(2, SaRequirement::Mandatory, Some(9));
        deposited.deposited = true;
        assert_eq!(
            check_line_assignment(OrderStatus::Shipped, &deposited, AccountKind::Customer, AccountStatus::Active, true),
            Err(AssignmentError::LicensesDeposited)
        );
        let pak = line(3, SaRequirement::Optional, None);
        assert_eq!(check_line_assignment(OrderStatus::Booked, &pak, AccountKind::Customer, AccountStatus::Active, true), Ok(()));
        assert_eq!(
            check_line_assignment(OrderStatus::Shipped, &pak, AccountKind::Customer, AccountStatus::Active, true),
            Err(AssignmentError::OptionalLineAfterShipment)
        );
        assert_eq!(
            check_line_assignment(OrderStatus::Cancelled, &pak, AccountKind::Customer, AccountStatus::Active, true),
            Err(AssignmentError::OrderClosed)
        );
    }

    #[test]
    fn history_names_a_line_by_its_current_number_keeping_the_rest() {
        assert_eq!(history_target("Line 10", "1.0"), "Line 1.0");
        assert_eq!(history_target("Line 20 (case #3)", "1.2"), "Line 1.2 (case #3)");
        assert_eq!(history_target("Line 1.1", "2.1"), "Line 2.1");
        assert_eq!(history_target("Header: holding account", "1.0"), "Header: holding account");
    }
}
