//! The order emails (DOMAIN.md "Email"), queued in the outbox inside the
//! change that causes them, each recipient once per event, honouring their
//! preferences: assignment required, reminders, license delivery, cases.

use diesel::prelude::*;

use crate::db::schema::{account_role_virtual_accounts, account_roles, order_lines, products, smart_accounts, users};
use crate::db::DbConnection;
use crate::domain::error::DomainResult;
use crate::domain::roles::Role;
use crate::mail::Email;

use super::OrderRow;

/// A recipient and their preferences.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Recipient {
    pub email: String,
    pub notify_orders: bool,
    pub notify_reminders: bool,
}

type RecipientRow = (String, bool, bool);
const RECIPIENT: (users::email, users::notify_orders, users::notify_reminders) =
    (users::email, users::notify_orders, users::notify_reminders);

/// Users of an account with an SA-wide role that works with orders and
/// licenses (SA Administrator, SA User), and VA roles covering any of `vas`.
fn account_users(conn: &mut DbConnection, account: i64, vas: &[i64]) -> QueryResult<Vec<RecipientRow>> {
    let mut rows: Vec<RecipientRow> = account_roles::table
        .inner_join(users::table)
        .filter(account_roles::smart_account_id.eq(account))
        .filter(account_roles::role.eq_any([Role::SaAdministrator.as_str(), Role::SaUser.as_str()]))
        .filter(users::deactivated_at.is_null())
        .select(RECIPIENT)
        .load(conn)?;
    if !vas.is_empty() {
        let mut va_users: Vec<RecipientRow> = account_roles::table
            .inner_join(users::table)
            .inner_join(account_role_virtual_accounts::table)
            .filter(account_roles::smart_account_id.eq(account))
            .filter(account_roles::role.eq_any([Role::VaAdministrator.as_str(), Role::VaUser.as_str()]))
            .filter(account_role_virtual_accounts::virtual_account_id.eq_any(vas))
            .filter(users::deactivated_at.is_null())
            .select(RECIPIENT)
            .load(conn)?;
        rows.append(&mut va_users);
    }
    Ok(rows)
}

/// The holding account's order managers and the order's usual notification
/// recipient (the user who placed it, unless their company handed the order
/// to a reseller), each once.
pub(crate) fn holding_recipients(conn: &mut DbConnection, order: &OrderRow) -> QueryResult<Vec<Recipient>> {
    let Some(holding) = order.holding_account_id else { return Ok(Vec::new()) };
    let mut rows = account_users(conn, holding, &order.holding_virtual_account_id.into_iter().collect::<Vec<_>>())?;
    let creator = if super::visibility::mails_the_placer(&order.access(Vec::new())) {
        users::table.find(order.created_by).filter(users::deactivated_at.is_null()).select(RECIPIENT).first(conn).optional()?
    } else {
        None
    };
    rows.extend(creator);
    Ok(dedup(rows))
}

fn dedup(rows: Vec<RecipientRow>) -> Vec<Recipient> {
    let mut out: Vec<Recipient> =
        rows.into_iter().map(|(email, notify_orders, notify_reminders)| Recipient { email, notify_orders, notify_reminders }).collect();
    out.sort();
    out.dedup_by(|a, b| a.email == b.email);
    out
}

fn holding_label(conn: &mut DbConnection, account: i64) -> QueryResult<String> {
    let (name, domain): (String, String) =
        smart_accounts::table.find(account).select((smart_accounts::name, smart_accounts::domain)).first(conn)?;
    Ok(format!("{name} ({domain})"))
}

/// "Customer smart account assignment required": on submission into a
/// holding account, and when the order moves to another holding account.
pub(crate) fn assignment_required(conn: &mut DbConnection, order: &OrderRow, base_url: &str) -> DomainResult<()> {
    let Some(holding) = order.holding_account_id else { return Ok(()) };
    let label = holding_label(conn, holding)?;
    let web_id = order.web_order_id();
    let url = format!("{base_url}/orders/{}/assignment?target=order", order.id);
    for r in holding_recipients(conn, order)? {
        if !r.notify_orders {
            continue;
        }
        let mut message = Email::notice(
            &r.email,
            format!("Customer smart account assignment required: {web_id}"),
            "order_assignment_required",
            &[
                format!("{web_id} \"{}\" for {} waits in the holding account {label}.", order.name, order.end_customer_name),
                "Its smart-license lines wait in the holding account, where their licenses cannot be used. Assign the end customer's smart account as soon as it is known: the subscription term starts once the licenses reach a customer account.".into(),
            ],
            Some(("View or change Smart Account Assignments", &url)),
        );
        message.dedupe_key = Some(format!("assignment-required:{}:{holding}:{}", order.id, r.email));
        crate::mail::enqueue(conn, &message)?;
    }
    Ok(())
}

/// A reminder of the schedule (`stage` counts from 1) for an order still Not Assigned.
pub(crate) fn reminder(conn: &mut DbConnection, order: &OrderRow, stage: usize, days: i64, base_url: &str) -> DomainResult<usize> {
    let Some(holding) = order.holding_account_id else { return Ok(0) };
    let label = holding_label(conn, holding)?;
    let web_id = order.web_order_id();
    let url = format!("{base_url}/orders/{}/assignment?target=order", order.id);
    let since = order.waiting_since.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default();
    let mut sent = 0;
    for r in holding_recipients(conn, order)? {
        if !r.notify_reminders {
            continue;
        }
        let mut message = Email::notice(
            &r.email,
            format!("Reminder: {web_id} has waited {days} days for a customer smart account"),
            "order_assignment_reminder",
            &[
                format!(
                    "{web_id} \"{}\" for {} has been in the holding account {label} since {since}, and its licenses cannot be used there.",
                    order.name, order.end_customer_name
                ),
                "Move it to the end customer's smart account, or to a reseller's holding account, so the customer's licenses can start working.".into(),
                "You can turn these reminders off in your profile.".into(),
            ],
            Some(("View or change Smart Account Assignments", &url)),
        );
        message.dedupe_key = Some(format!("reminder:{}:{holding}:{since}:{stage}:{}", order.id, r.email));
        if crate::mail::enqueue(conn, &message)? {
            sent += 1;
        }
    }
    Ok(sent)
}

/// License delivery: licenses of `line_ids` landed in customer account
/// `account`. Smart licenses: "View your smart licenses"; PAKs: "Register
/// claim certificates". To the account's users who work with those VAs.
pub(crate) fn delivery(conn: &mut DbConnection, order: &OrderRow, account: i64, line_ids: &[i64], base_url: &str) -> DomainResult<()> {
    if line_ids.is_empty() {
        return Ok(());
    }
    let lines: Vec<(i64, Option<i64>, String, String, i32)> = order_lines::table
        .inner_join(products::table)
        .filter(order_lines::id.eq_any(line_ids))
        .select((order_lines::id, order_lines::virtual_account_id, products::category, products::name, order_lines::quantity))
        .load(conn)?;
    let default_va: Option<i64> = crate::db::schema::virtual_accounts::table
        .filter(crate::db::schema::virtual_accounts::smart_account_id.eq(account))
        .filter(crate::db::schema::virtual_accounts::is_default.eq(true))
        .select(crate::db::schema::virtual_accounts::id)
        .first(conn)
        .optional()?;
    let vas: Vec<i64> = lines.iter().filter_map(|l| l.1.or(default_va)).collect();
    let (name, domain): (String, String) =
        smart_accounts::table.find(account).select((smart_accounts::name, smart_accounts::domain)).first(conn)?;
    let smart: Vec<String> = lines.iter().filter(|l| l.2 != "pak").map(|l| format!("{} × {}", l.4, l.3)).collect();
    let paks: Vec<String> = lines.iter().filter(|l| l.2 == "pak").map(|l| format!("{} × {}", l.4, l.3)).collect();
    let web_id = order.web_order_id();
    let licenses_url = format!("{base_url}/accounts/{account}/licenses");
    let mut paragraphs = vec![format!("Licenses from {web_id} are now in the smart account {name} ({domain}).")];
    if !smart.is_empty() {
        paragraphs.push(format!("Smart licenses: {}.", smart.join(", ")));
    }
    if !paks.is_empty() {
        paragraphs
            .push(format!("Classic (PAK) licenses: {}. Register claim certificates: {licenses_url}#claim-certificates", paks.join(", ")));
    }
    let first_line = line_ids.iter().min().copied().unwrap_or_default();
    for r in dedup(account_users(conn, account, &vas)?) {
        if !r.notify_orders {
            continue;
        }
        let link = if smart.is_empty() {
            ("Register claim certificates", licenses_url.clone())
        } else {
            ("View your smart licenses", licenses_url.clone())
        };
        let mut message = Email::notice(
            &r.email,
            format!("Your licenses from {web_id} are ready"),
            "license_delivery",
            &paragraphs,
            Some((link.0, &link.1)),
        );
        message.dedupe_key = Some(format!("delivery:{}:{account}:{first_line}:{}", order.id, r.email));
        crate::mail::enqueue(conn, &message)?;
    }
    Ok(())
}

/// To the partner who opened a case: it was resolved or declined.
pub(crate) fn case_closed(
    conn: &mut DbConnection,
    case_id: i64,
    opened_by: i64,
    order: &OrderRow,
    resolved: bool,
    note: &str,
    base_url: &str,
) -> DomainResult<()> {
    let r: RecipientRow = users::table.find(opened_by).select(RECIPIENT).first(conn)?;
    if !r.1 {
        return Ok(());
    }
    let web_id = order.web_order_id();
    let url = format!("{base_url}/orders/{}/history", order.id);
    let mut paragraphs = vec![if resolved {
        format!("Operations resolved your case #{case_id} on {web_id}: the licenses were moved as you asked, and the change is in the order's history.")
    } else {
        format!("Operations declined your case #{case_id} on {web_id}.")
    }];
    if !note.trim().is_empty() {
        paragraphs.push(format!("Note from operations: {}", note.trim()));
    }
    let mut message = Email::notice(
        &r.0,
        format!("Case #{case_id} on {web_id} {}", if resolved { "resolved" } else { "declined" }),
        "case_closed",
        &paragraphs,
        Some(("View History", &url)),
    );
    message.dedupe_key = Some(format!("case:{case_id}:closed"));
    crate::mail::enqueue(conn, &message)?;
    Ok(())
}
