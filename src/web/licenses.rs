//! Licenses: the accounts whose licenses the user works with, and each
//! account's licenses per virtual account (owned, in use, available).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::domain::accounts::{AccountInContext, AccountSummary};
use crate::domain::licenses::{self, LicenseRow};
use crate::startup::AppState;
use crate::web::error::AppError;
use crate::web::extract::SignedIn;
use crate::web::layout::Layout;
use crate::web::{render, run};

#[derive(Template)]
#[template(path = "licenses/overview.html")]
pub struct OverviewPage {
    pub layout: Layout,
    pub accounts: Vec<AccountSummary>,
}

pub async fn overview(state: web::Data<AppState>, user: SignedIn) -> Result<HttpResponse, AppError> {
    let actor = user.actor.clone();
    let accounts = run(&state, move |conn| licenses::accounts(conn, &actor)).await??;
    render(StatusCode::OK, &OverviewPage { layout: user.layout, accounts })
}

#[derive(Template)]
#[template(path = "licenses/account.html")]
pub struct AccountLicensesPage {
    pub layout: Layout,
    pub ctx: AccountInContext,
    pub rows: Vec<LicenseRow>,
}

impl AccountLicensesPage {
    pub fn smart(&self) -> Vec<&LicenseRow> {
        self.rows.iter().filter(|r| !r.pak).collect()
    }
    pub fn paks(&self) -> Vec<&LicenseRow> {
        self.rows.iter().filter(|r| r.pak).collect()
    }
}

pub async fn account_licenses(state: web::Data<AppState>, user: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let (actor, id) = (user.actor.clone(), path.into_inner());
    let (ctx, rows) = run(&state, move |conn| licenses::for_account(conn, &actor, id)).await??;
    render(StatusCode::OK, &AccountLicensesPage { layout: user.layout, ctx, rows })
}
