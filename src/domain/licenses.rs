//! Licenses in virtual accounts, as the license pages show them: owned, in
//! use and available, per VA, for the VAs the actor's role covers (DOMAIN.md
//! "Roles": SA Administrator and SA User all VAs, VA roles their own).

use diesel::prelude::*;

use crate::db::schema::{licenses, order_lines, products, virtual_accounts};
use crate::db::DbConnection;
use crate::domain::accounts::{self, AccountInContext, AccountSummary};
use crate::domain::error::DomainResult;
use crate::domain::policy::{self, Capability};
use crate::domain::Actor;

/// One license row.
#[derive(Debug, Clone)]
pub struct LicenseRow {
    pub virtual_account: String,
    pub license: String,
    pub quantity: i32,
    pub in_use: i32,
    /// From an order line (web order id), if it came from an order.
    pub order_id: Option<i64>,
    /// A classic PAK license: registered by claim certificate.
    pub pak: bool,
}

impl LicenseRow {
    pub fn available(&self) -> i32 {
        self.quantity - self.in_use
    }
    pub fn web_order_id(&self) -> String {
        self.order_id.map(crate::domain::orders::web_order_id).unwrap_or_default()
    }
}

/// An account's licenses the actor may see: 404 if they may not see the
/// account, 403 if their role covers no licenses.
pub fn for_account(conn: &mut DbConnection, actor: &Actor, account_id: i64) -> DomainResult<(AccountInContext, Vec<LicenseRow>)> {
    let ctx = accounts::load(conn, actor, account_id)?;
    let all_vas = policy::allows(&ctx.access, Capability::ManageLicenses(None));
    if !all_vas && ctx.access.virtual_accounts.is_empty() {
        policy::account_permit(&ctx.access, Capability::ManageLicenses(None))?;
    }
    let mut q = licenses::table
        .inner_join(virtual_accounts::table)
        .left_join(order_lines::table.on(order_lines::id.nullable().eq(licenses::order_line_id)))
        .left_join(products::table.on(products::id.eq(order_lines::product_id)))
        .filter(licenses::smart_account_id.eq(account_id))
        .into_boxed::<crate::db::MultiBackend>();
    if !all_vas {
        let covered: Vec<i64> = ctx
            .access
            .virtual_accounts
            .iter()
            .copied()
            .filter(|v| policy::allows(&ctx.access, Capability::ManageLicenses(Some(*v))))
            .collect();
        q = q.filter(licenses::virtual_account_id.eq_any(covered));
    }
    let rows: Vec<(String, String, i32, i32, Option<i64>, Option<String>)> = q
        .order((virtual_accounts::name_key, licenses::license_name, licenses::id))
        .select((
            virtual_accounts::name,
            licenses::license_name,
            licenses::quantity,
            licenses::in_use,
            order_lines::order_id.nullable(),
            products::category.nullable(),
        ))
        .load(conn)?;
    Ok((
        ctx,
        rows.into_iter()
            .map(|(va, license, quantity, in_use, order_id, category)| LicenseRow {
                virtual_account: va,
                license,
                quantity,
                in_use,
                order_id,
                pak: category.as_deref() == Some("pak"),
            })
            .collect(),
    ))
}

/// The accounts whose licenses the actor works with.
pub fn accounts(conn: &mut DbConnection, actor: &Actor) -> DomainResult<Vec<AccountSummary>> {
    Ok(accounts::list_for(conn, actor)?
        .into_iter()
        .filter(|a| a.role.is_some_and(|r| !matches!(r, crate::domain::roles::Role::SaApprover)))
        .collect())
}
