//! The license manager (DOMAIN.md "Licenses"): licenses live in virtual
//! accounts as batches (one per order line, split by transfers); devices
//! (product instances) registered with a token consume them. Per VA and
//! product: owned, in use, available, shortage. Pages see the VAs the actor's
//! role covers (SA Administrator and SA User all, VA roles their own);
//! approvers none.
//!
//! - `transfer`: licenses between VAs of one account, whole or nothing;
//! - `tokens`: registration tokens per VA;
//! - `devices`: the device interface and the instances pages;
//! - `shortages`: insufficient-licenses episodes, their event and mail;
//! - `usage`: daily figures and the 90-day chart;
//! - `claims`: PAKs claimed into a VA; `custody`: chain of custody; `reports`: CSV.

pub mod claims;
pub mod custody;
pub mod devices;
pub mod reports;
pub mod shortages;
pub mod tokens;
pub mod transfer;
pub mod usage;

use std::collections::BTreeMap;

use chrono::Duration;
use diesel::prelude::*;

use crate::db::ids::ids_in;
use crate::db::schema::{devices as dev, license_figures, licenses, order_lines, products, registration_tokens, virtual_accounts};
use crate::db::DbConnection;
use crate::domain::accounts::{self, AccountInContext, AccountSummary};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::policy::{self, Capability};
use crate::domain::roles::AccountKind;
use crate::domain::Actor;

/// Devices that have not reported for this long hold licenses for nothing.
pub const SILENT_DAYS: i64 = 30;
/// Tokens expiring within this many days are flagged.
pub const EXPIRING_DAYS: i64 = 7;
/// The most licenses one device may say it needs; more is a mistake.
pub const MAX_DEVICE_LICENSES: i64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LicenseKind {
    Smart,
    Pak,
}

impl LicenseKind {
    pub fn of_category(category: Option<&str>) -> LicenseKind {
        if category == Some("pak") {
            LicenseKind::Pak
        } else {
            LicenseKind::Smart
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            LicenseKind::Smart => "Smart",
            LicenseKind::Pak => "PAK",
        }
    }
}

/// One product's figures in one VA, or summed over the VAs of a tab.
#[derive(Debug, Clone)]
pub struct ProductFigures {
    pub license_name: String,
    pub kind: LicenseKind,
    pub owned: i64,
    pub in_use: i64,
    /// Summed per VA: licenses of one VA cannot serve another VA's devices.
    pub available: i64,
    pub shortage: i64,
    /// (order id, web order id, order line id) the licenses came from.
    pub orders: Vec<(i64, String, i64)>,
}

impl ProductFigures {
    fn new(license_name: String, kind: LicenseKind) -> ProductFigures {
        ProductFigures { license_name, kind, owned: 0, in_use: 0, available: 0, shortage: 0, orders: Vec::new() }
    }
    fn settle(&mut self) {
        self.available = (self.owned - self.in_use).max(0);
        self.shortage = (self.in_use - self.owned).max(0);
    }
    /// Each order line once, in order of the orders.
    fn settle_orders(&mut self) {
        self.orders.sort_unstable_by_key(|o| (o.0, o.2));
        self.orders.dedup_by_key(|o| (o.0, o.2));
    }
    fn add(&mut self, other: &ProductFigures) {
        self.owned += other.owned;
        self.in_use += other.in_use;
        self.available += other.available;
        self.shortage += other.shortage;
        self.orders.extend(other.orders.iter().cloned());
    }
    /// Width of the in-use bar covered by owned licenses, in percent of the
    /// larger of owned and in use (summed per VA, so the "all" tab shows a
    /// VA's over-use even when another VA has licenses to spare).
    pub fn bar_in_use(&self) -> i64 {
        let scale = self.owned.max(self.in_use).max(1);
        ((self.in_use - self.shortage).max(0) * 100) / scale
    }
    /// Width of the over-use part of the bar (red), in percent.
    pub fn bar_over(&self) -> i64 {
        let scale = self.owned.max(self.in_use).max(1);
        (self.shortage * 100) / scale
    }
}

/// Figures per (VA, product) for some VAs of an account.
#[derive(Debug, Clone)]
pub struct VaFigures {
    pub va_id: i64,
    pub figures: ProductFigures,
}

/// The per-VA figures of `vas` in `accounts` (one account, or a page of
/// them: VA ids are unique across accounts): owned and in use as kept per VA
/// and product (`license_figures`: owned by the batches' changes, in use by
/// the devices'), and the orders the claimed batches came from. Two reads
/// whatever the number of batches behind the figures.
pub fn figures(conn: &mut DbConnection, accounts: &[i64], vas: &[i64]) -> DomainResult<Vec<VaFigures>> {
    let kept: Vec<(i64, String, i64, i64)> = license_figures::table
        .filter(ids_in(license_figures::smart_account_id, accounts))
        .filter(ids_in(license_figures::virtual_account_id, vas))
        .filter(license_figures::owned.ne(0).or(license_figures::in_use.ne(0)))
        .select((license_figures::virtual_account_id, license_figures::license_name, license_figures::owned, license_figures::in_use))
        .load(conn)?;
    let from_orders: Vec<(i64, String, i64, i64)> = licenses::table
        .inner_join(order_lines::table.on(order_lines::id.nullable().eq(licenses::order_line_id)))
        .filter(ids_in(licenses::smart_account_id, accounts))
        .filter(ids_in(licenses::virtual_account_id, vas))
        // Implied by the join, stated for the partial index of these batches.
        .filter(licenses::order_line_id.is_not_null())
        .filter(licenses::quantity.gt(0))
        .filter(licenses::claimed_at.is_not_null())
        .select((licenses::virtual_account_id, licenses::license_name, order_lines::order_id, order_lines::id))
        .load(conn)?;
    let kinds: Vec<(Option<String>, String)> =
        products::table.filter(products::license_name.is_not_null()).select((products::license_name, products::category)).load(conn)?;
    let kind_of = |name: &str| LicenseKind::of_category(kinds.iter().find(|k| k.0.as_deref() == Some(name)).map(|k| k.1.as_str()));
    let mut map: BTreeMap<(i64, String), ProductFigures> = BTreeMap::new();
    for (va, name, owned, in_use) in kept {
        let f = map.entry((va, name.clone())).or_insert_with(|| ProductFigures::new(name.clone(), kind_of(&name)));
        f.owned += owned.max(0);
        f.in_use += in_use;
    }
    for (va, name, order, line) in from_orders {
        if let Some(f) = map.get_mut(&(va, name)) {
            f.orders.push((order, crate::domain::orders::web_order_id(order), line));
        }
    }
    Ok(map
        .into_iter()
        .map(|((va_id, _), mut figures)| {
            figures.settle();
            figures.settle_orders();
            VaFigures { va_id, figures }
        })
        .collect())
}

/// Sums per-VA figures by product, ordered by product name.
pub fn by_product<'a>(rows: impl Iterator<Item = &'a VaFigures>) -> Vec<ProductFigures> {
    let mut map: BTreeMap<String, ProductFigures> = BTreeMap::new();
    for r in rows {
        map.entry(r.figures.license_name.clone())
            .or_insert_with(|| ProductFigures::new(r.figures.license_name.clone(), r.figures.kind))
            .add(&r.figures);
    }
    map.into_values()
        .map(|mut f| {
            f.settle_orders();
            f
        })
        .collect()
}

/// A virtual account as the license pages show it.
#[derive(Debug, Clone)]
pub struct VaTab {
    pub id: i64,
    pub name: String,
    pub is_default: bool,
    /// The actor may move licenses from or into it.
    pub can_transfer: bool,
    /// The actor may make tokens and manage devices in it (role and kind).
    pub can_manage_instances: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    Insufficient,
    TokenExpiring,
    SilentDevices,
}

impl AlertKind {
    pub fn label(self) -> &'static str {
        match self {
            AlertKind::Insufficient => "Insufficient licenses",
            AlertKind::TokenExpiring => "Token expiring",
            AlertKind::SilentDevices => "Silent devices",
        }
    }
    pub fn css(self) -> &'static str {
        match self {
            AlertKind::Insufficient => "alert-danger",
            _ => "alert-warning",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Alert {
    pub kind: AlertKind,
    pub va_id: i64,
    pub virtual_account: String,
    pub message: String,
}

/// The VAs of an account whose licenses the actor sees (404 if they may not
/// know the account, 403 if their role covers no licenses).
pub fn visible_vas(conn: &mut DbConnection, ctx: &AccountInContext) -> DomainResult<Vec<VaTab>> {
    let rows = va_rows(conn, &[ctx.account.id])?;
    visible_in(ctx, &rows)
}

/// (account, VA id, name, default) of some accounts, the default VA first
/// in each, then by name.
type VaRow = (i64, i64, String, bool);

fn va_rows(conn: &mut DbConnection, accounts: &[i64]) -> DomainResult<Vec<VaRow>> {
    Ok(virtual_accounts::table
        .filter(ids_in(virtual_accounts::smart_account_id, accounts))
        .order((virtual_accounts::smart_account_id, virtual_accounts::is_default.desc(), virtual_accounts::name_key))
        .select((virtual_accounts::smart_account_id, virtual_accounts::id, virtual_accounts::name, virtual_accounts::is_default))
        .load(conn)?)
}

/// The judgement of [`visible_vas`] over VA rows already read.
fn visible_in(ctx: &AccountInContext, rows: &[VaRow]) -> DomainResult<Vec<VaTab>> {
    let all_vas = policy::allows(&ctx.access, Capability::ManageLicenses(None));
    let covered: Vec<i64> =
        ctx.access.virtual_accounts.iter().copied().filter(|v| policy::allows(&ctx.access, Capability::ManageLicenses(Some(*v)))).collect();
    if !all_vas && covered.is_empty() {
        policy::account_permit(&ctx.access, Capability::ManageLicenses(None))?;
    }
    Ok(rows
        .iter()
        .filter(|(account, id, _, _)| *account == ctx.account.id && (all_vas || covered.contains(id)))
        .map(|(_, id, name, is_default)| VaTab {
            id: *id,
            name: name.clone(),
            is_default: *is_default,
            can_transfer: policy::allows(&ctx.access, Capability::TransferLicenses(Some(*id))),
            can_manage_instances: policy::allows(&ctx.access, Capability::ManageInstances(*id)),
        })
        .collect())
}

/// The alerts of some VAs of `accounts`: insufficient licenses, tokens
/// expiring within 7 days, devices silent for 30 days.
pub fn alerts(conn: &mut DbConnection, accounts: &[i64], vas: &[VaTab], per_va: &[VaFigures]) -> DomainResult<Vec<Alert>> {
    let name_of = |id: i64| vas.iter().find(|v| v.id == id).map(|v| v.name.clone()).unwrap_or_default();
    let ids: Vec<i64> = vas.iter().map(|v| v.id).collect();
    let mut out = Vec::new();
    for r in per_va.iter().filter(|r| r.figures.shortage > 0) {
        out.push(Alert {
            kind: AlertKind::Insufficient,
            va_id: r.va_id,
            virtual_account: name_of(r.va_id),
            message: format!(
                "{}: {} in use, {} owned — {} short. Transfer licenses from another virtual account or buy more.",
                r.figures.license_name, r.figures.in_use, r.figures.owned, r.figures.shortage
            ),
        });
    }
    let now = crate::db::now();
    let expiring: Vec<(i64, String, chrono::NaiveDateTime)> = registration_tokens::table
        .filter(ids_in(registration_tokens::smart_account_id, accounts))
        .filter(ids_in(registration_tokens::virtual_account_id, &ids))
        .filter(registration_tokens::revoked_at.is_null())
        .filter(registration_tokens::expires_at.gt(now))
        .filter(registration_tokens::expires_at.le(now + Duration::days(EXPIRING_DAYS)))
        .filter(registration_tokens::max_uses.is_null().or(registration_tokens::max_uses.gt(registration_tokens::uses.nullable())))
        .order(registration_tokens::expires_at)
        .select((registration_tokens::virtual_account_id, registration_tokens::description, registration_tokens::expires_at))
        .load(conn)?;
    for (va, description, at) in expiring {
        out.push(Alert {
            kind: AlertKind::TokenExpiring,
            va_id: va,
            virtual_account: name_of(va),
            message: format!("Registration token \"{description}\" expires on {}.", at.format("%Y-%m-%d %H:%M UTC")),
        });
    }
    let silent: Vec<(i64, i64)> = dev::table
        .filter(ids_in(dev::virtual_account_id, &ids))
        .filter(dev::removed_at.is_null())
        .filter(dev::last_contact_at.lt(now - Duration::days(SILENT_DAYS)))
        .group_by(dev::virtual_account_id)
        .select((dev::virtual_account_id, diesel::dsl::count_star()))
        .load(conn)?;
    for (va, n) in silent {
        out.push(Alert {
            kind: AlertKind::SilentDevices,
            va_id: va,
            virtual_account: name_of(va),
            message: format!(
                "{n} device{} silent for {SILENT_DAYS} days or more still hold{} licenses.",
                if n == 1 { "" } else { "s" },
                if n == 1 { "s" } else { "" }
            ),
        });
    }
    Ok(out)
}

/// A PAK batch delivered to the account and waiting to be claimed into a VA.
#[derive(Debug, Clone)]
pub struct ClaimablePak {
    pub license_id: i64,
    pub license_name: String,
    pub quantity: i32,
    pub order: Option<(i64, String)>,
    pub virtual_account: String,
}

/// The licenses page of one account: tabs by VA and "all".
#[derive(Debug, Clone)]
pub struct LicensesView {
    pub ctx: AccountInContext,
    pub vas: Vec<VaTab>,
    /// The VA tab shown, or `None` for "all".
    pub selected: Option<i64>,
    pub figures: Vec<ProductFigures>,
    pub alerts: Vec<Alert>,
    pub claimable: Vec<ClaimablePak>,
    /// Why tokens cannot be made in this account now, if they cannot.
    pub token_refusal: Option<&'static str>,
    /// Product names one may transfer (those owned in a VA one may move from).
    pub products: Vec<String>,
}

impl LicensesView {
    pub fn holding(&self) -> bool {
        self.ctx.account.kind == AccountKind::Holding
    }
    pub fn can_transfer(&self) -> bool {
        self.vas.iter().filter(|v| v.can_transfer).count() >= 2
    }
    pub fn can_claim(&self) -> bool {
        self.vas.iter().any(|v| v.can_transfer)
    }
    pub fn selected_name(&self) -> String {
        self.selected
            .and_then(|s| self.vas.iter().find(|v| v.id == s))
            .map(|v| v.name.clone())
            .unwrap_or_else(|| "All virtual accounts".into())
    }
    pub fn total_shortage(&self) -> i64 {
        self.figures.iter().map(|f| f.shortage).sum()
    }
}

/// What every license page of an account shows around its content: the
/// account as the actor sees it and the VAs whose licenses they see.
#[derive(Debug, Clone)]
pub struct LicensesFrame {
    pub ctx: AccountInContext,
    pub vas: Vec<VaTab>,
}

impl LicensesFrame {
    pub fn holding(&self) -> bool {
        self.ctx.account.kind == AccountKind::Holding
    }
    /// Why tokens cannot be made in this account now, if they cannot.
    pub fn token_refusal(&self) -> Option<&'static str> {
        policy::token_refusal(self.ctx.account.kind, self.ctx.account.status, self.ctx.account.agreement_accepted())
    }
    /// The tab of `va`: 404 when it is not one of the VAs the actor sees.
    pub fn tab(&self, va: i64) -> DomainResult<&VaTab> {
        self.vas.iter().find(|t| t.id == va).ok_or(DomainError::NotFound)
    }
}

/// The frame of an account's license pages: 404 for an account the actor may
/// not know, 403 when their role covers no licenses.
pub fn frame(conn: &mut DbConnection, actor: &Actor, account_id: i64) -> DomainResult<LicensesFrame> {
    let ctx = accounts::load(conn, actor, account_id)?;
    let vas = visible_vas(conn, &ctx)?;
    Ok(LicensesFrame { ctx, vas })
}

/// The licenses page: 404 for an account (or VA) the actor may not know, 403
/// when their role covers no licenses.
pub fn view(conn: &mut DbConnection, actor: &Actor, account_id: i64, va: Option<i64>) -> DomainResult<LicensesView> {
    let frame = frame(conn, actor, account_id)?;
    if let Some(v) = va {
        frame.tab(v)?;
    }
    let token_refusal = frame.token_refusal();
    let LicensesFrame { ctx, vas } = frame;
    let ids: Vec<i64> = vas.iter().map(|v| v.id).collect();
    let per_va = figures(conn, &[account_id], &ids)?;
    let shown: Vec<VaTab> = vas.iter().filter(|t| va.is_none_or(|v| v == t.id)).cloned().collect();
    let shown_ids: Vec<i64> = shown.iter().map(|t| t.id).collect();
    let selected_rows: Vec<&VaFigures> = per_va.iter().filter(|r| shown_ids.contains(&r.va_id)).collect();
    let figures = by_product(selected_rows.iter().copied());
    let alerts = alerts(conn, &[account_id], &shown, &per_va.iter().filter(|r| shown_ids.contains(&r.va_id)).cloned().collect::<Vec<_>>())?;
    let claimable = claims::claimable(conn, account_id)?;
    let movable: Vec<i64> = vas.iter().filter(|v| v.can_transfer).map(|v| v.id).collect();
    let mut products: Vec<String> =
        per_va.iter().filter(|r| movable.contains(&r.va_id) && r.figures.owned > 0).map(|r| r.figures.license_name.clone()).collect();
    products.sort();
    products.dedup();
    Ok(LicensesView {
        claimable: if vas.iter().any(|v| v.can_transfer) { claimable } else { Vec::new() },
        ctx,
        vas,
        selected: va,
        figures,
        alerts,
        token_refusal,
        products,
    })
}

/// One account on the Licenses overview: its totals and alerts.
#[derive(Debug, Clone)]
pub struct AccountTotals {
    pub account: AccountSummary,
    pub owned: i64,
    pub in_use: i64,
    pub available: i64,
    pub shortage: i64,
    pub alerts: Vec<Alert>,
}

/// The roles that work with licenses (every role but SA Approver).
const LICENSE_ROLES: [crate::domain::roles::Role; 4] = {
    use crate::domain::roles::Role::*;
    [SaAdministrator, SaUser, VaAdministrator, VaUser]
};

/// How many accounts a page of the overview shows.
pub const OVERVIEW_PAGE: i64 = 20;

/// A page of the accounts whose licenses the actor works with, in name order.
pub fn accounts(conn: &mut DbConnection, actor: &Actor, after: Option<&accounts::AccountCursor>) -> DomainResult<accounts::AccountList> {
    accounts::list_for(conn, actor, after, OVERVIEW_PAGE, Some(&LICENSE_ROLES))
}

/// A page of the accounts the actor reaches with their totals and alerts,
/// those needing attention first.
pub fn overview(
    conn: &mut DbConnection,
    actor: &Actor,
    after: Option<&accounts::AccountCursor>,
) -> DomainResult<(Vec<AccountTotals>, Option<accounts::AccountCursor>)> {
    // A fixed number of statements for the page, whatever its accounts.
    let page = accounts(conn, actor, after)?;
    if page.rows.is_empty() {
        return Ok((Vec::new(), page.next));
    }
    let ids: Vec<i64> = page.rows.iter().map(|a| a.id).collect();
    let contexts = accounts::load_many(conn, actor, &ids)?;
    let rows = va_rows(conn, &ids)?;
    let mut shown: Vec<(AccountSummary, Vec<VaTab>)> = Vec::new();
    for account in page.rows {
        let Some(ctx) = contexts.iter().find(|c| c.account.id == account.id) else { continue };
        match visible_in(ctx, &rows) {
            Ok(vas) => shown.push((account, vas)),
            Err(DomainError::Forbidden) => continue,
            Err(e) => return Err(e),
        }
    }
    let tabs: Vec<VaTab> = shown.iter().flat_map(|(_, vas)| vas.iter().cloned()).collect();
    let va_ids: Vec<i64> = tabs.iter().map(|v| v.id).collect();
    let shown_ids: Vec<i64> = shown.iter().map(|(a, _)| a.id).collect();
    let per_va = figures(conn, &shown_ids, &va_ids)?;
    let every_alert = alerts(conn, &shown_ids, &tabs, &per_va)?;
    let mut out: Vec<AccountTotals> = shown
        .into_iter()
        .map(|(account, vas)| {
            let mine = |va: i64| vas.iter().any(|v| v.id == va);
            let sum = |f: fn(&ProductFigures) -> i64| per_va.iter().filter(|r| mine(r.va_id)).map(|r| f(&r.figures)).sum::<i64>();
            AccountTotals {
                owned: sum(|f| f.owned),
                in_use: sum(|f| f.in_use),
                available: sum(|f| f.available),
                shortage: sum(|f| f.shortage),
                alerts: every_alert.iter().filter(|a| mine(a.va_id)).cloned().collect(),
                account,
            }
        })
        .collect();
    out.sort_by_key(|t| (t.alerts.is_empty(), t.account.name.to_lowercase()));
    Ok((out, page.next))
}

/// Loads the account and checks the actor may see the licenses of `va` in it
/// (404 when the VA is not one of the account's, or not one they may know).
pub(crate) fn va_in_account(conn: &mut DbConnection, ctx: &AccountInContext, va: i64) -> DomainResult<VaTab> {
    visible_vas(conn, ctx)?.into_iter().find(|t| t.id == va).ok_or(DomainError::NotFound)
}

/// sha256 of a token or device secret, as stored.
pub(crate) fn secret_hash(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new random secret with a recognisable prefix.
pub(crate) fn new_secret(prefix: &str) -> String {
    use rand::distr::{Alphanumeric, SampleString};
    format!("{prefix}{}", Alphanumeric.sample_string(&mut rand::rng(), 40))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(owned: i64, in_use: i64) -> ProductFigures {
        let mut p = ProductFigures::new("X".into(), LicenseKind::Smart);
        p.owned = owned;
        p.in_use = in_use;
        p.settle();
        p
    }

    #[test]
    fn available_and_shortage_never_go_negative() {
        let a = f(40, 20);
        assert_eq!((a.available, a.shortage), (20, 0));
        let b = f(10, 30);
        assert_eq!((b.available, b.shortage), (0, 20));
        assert_eq!((b.bar_in_use(), b.bar_over()), (33, 66));
        assert_eq!((a.bar_in_use(), a.bar_over()), (50, 0));
        assert_eq!(f(0, 0).bar_in_use(), 0);
    }

    #[test]
    fn the_all_tab_sums_shortages_per_virtual_account() {
        // Production 20 unused does not cover Processing's 20 short: both show.
        let rows = [VaFigures { va_id: 1, figures: f(40, 20) }, VaFigures { va_id: 2, figures: f(10, 30) }];
        let all = by_product(rows.iter());
        assert_eq!(all.len(), 1);
        assert_eq!((all[0].owned, all[0].in_use, all[0].available, all[0].shortage), (50, 50, 20, 20));
        assert_eq!((all[0].bar_in_use(), all[0].bar_over()), (60, 40), "the over-use shows in the sum");
    }
}
