//! The license manager's pages: the overview of every account the user
//! reaches, each account's licenses (tabs by VA and "all", alerts, transfer,
//! PAK claims, usage chart), registration tokens and devices per VA, the
//! chain of custody of a batch, and CSV reports. Handlers parse, call the
//! domain and render.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::domain::licenses::custody::{self, Custody};
use crate::domain::licenses::devices::{self, DevicePage, DeviceSort};
use crate::domain::licenses::tokens::{self, CreatedToken, TokenInput, TokenRow};
use crate::domain::licenses::transfer::{self, TransferInput};
use crate::domain::licenses::usage::{self, Chart};
use crate::domain::licenses::{self, claims, reports, AccountTotals, LicensesFrame, LicensesView, VaTab};
use crate::domain::{DomainError, FieldErrors};
use crate::startup::AppState;
use crate::web::error::AppError;
use crate::web::extract::SignedIn;
use crate::web::layout::Layout;
use crate::web::session::PortalSession;
use crate::web::{render, run, see_other};

// ---------------------------------------------------------------- overview

#[derive(Template)]
#[template(path = "licenses/overview.html")]
pub struct OverviewPage {
    pub layout: Layout,
    pub accounts: Vec<AccountTotals>,
    /// The query of the next page's link, if there is one.
    pub next: Option<String>,
    pub paged: bool,
}

#[derive(Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    pub after: String,
}

pub async fn overview(
    state: web::Data<AppState>,
    user: SignedIn,
    query: crate::web::form::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let actor = user.actor.clone();
    let after = crate::domain::accounts::AccountCursor::decode(&query.into_inner().after);
    let paged = after.is_some();
    let (accounts, next) = run(&state, move |conn| licenses::overview(conn, &actor, after.as_ref())).await??;
    let next = next.map(|c| format!("after={}", crate::web::url_encode(&c.encode())));
    render(StatusCode::OK, &OverviewPage { layout: user.layout, accounts, next, paged })
}

// ---------------------------------------------------------------- one account

#[derive(Template)]
#[template(path = "licenses/account.html")]
pub struct AccountLicensesPage {
    pub layout: Layout,
    pub view: LicensesView,
    pub form: TransferInput,
    pub errors: FieldErrors,
    pub charts: Vec<Chart>,
    pub claim: ClaimCodeForm,
}

impl AccountLicensesPage {
    pub fn tab_href(&self, va: Option<&i64>) -> String {
        let id = self.view.ctx.account.id;
        match va {
            Some(v) => format!("/accounts/{id}/licenses?va={v}"),
            None => format!("/accounts/{id}/licenses"),
        }
    }
    pub fn is_tab(&self, va: Option<&i64>) -> bool {
        self.view.selected == va.copied()
    }
    pub fn from_selected(&self, id: &i64) -> bool {
        self.form.from == id.to_string()
    }
    pub fn to_selected(&self, id: &i64) -> bool {
        self.form.to == id.to_string()
    }
    pub fn tab_value(&self) -> String {
        self.view.selected.map(|v| v.to_string()).unwrap_or_default()
    }
    pub fn transfer_vas(&self) -> Vec<&VaTab> {
        self.view.vas.iter().filter(|v| v.can_transfer).collect()
    }
    pub fn claim_va_selected(&self, id: &i64) -> bool {
        self.claim.claim_va == id.to_string()
    }
    pub fn shown_vas(&self) -> Vec<&VaTab> {
        self.view.vas.iter().filter(|v| self.view.selected.is_none_or(|s| s == v.id)).collect()
    }
}

#[derive(Deserialize)]
pub struct TabQuery {
    pub va: Option<String>,
}

fn parse_va(raw: Option<&str>) -> Result<Option<i64>, AppError> {
    match raw.map(str::trim) {
        None | Some("") | Some("all") => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| AppError::NotFound),
    }
}

async fn account_page(state: &AppState, user: &SignedIn, id: i64, va: Option<i64>) -> Result<(LicensesView, Vec<Chart>), AppError> {
    let actor = user.actor.clone();
    Ok(run(state, move |conn| {
        let view = licenses::view(conn, &actor, id, va)?;
        let ids: Vec<i64> = view.vas.iter().filter(|v| va.is_none_or(|s| s == v.id)).map(|v| v.id).collect();
        let today = crate::db::now().date();
        let charts = usage::series(conn, id, &ids, today, 90)?.iter().map(usage::chart).collect();
        Ok((view, charts))
    })
    .await??)
}

pub async fn account_licenses(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<i64>,
    query: web::Query<TabQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let va = parse_va(query.va.as_deref())?;
    let (view, charts) = account_page(&state, &user, id, va).await?;
    let form = TransferInput { from: va.map(|v| v.to_string()).unwrap_or_default(), ..Default::default() };
    let claim = ClaimCodeForm::default();
    render(StatusCode::OK, &AccountLicensesPage { layout: user.layout, view, form, errors: FieldErrors::new(), charts, claim })
}

#[derive(Deserialize)]
pub struct TransferForm {
    #[serde(flatten)]
    pub input: TransferInput,
    #[serde(default)]
    pub tab: String,
}

pub async fn transfer_licenses(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<i64>,
    form: web::Form<TransferForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let TransferForm { input, tab } = form.into_inner();
    let tab = parse_va(Some(&tab)).unwrap_or(None);
    let (actor, base, input2) = (user.actor.clone(), state.settings.base_url.clone(), input.clone());
    match run(&state, move |conn| transfer::transfer(conn, &actor, id, &input2, &base)).await? {
        Ok(done) => {
            state.wake_mail_worker();
            session.flash("success", format!("{} × {} transferred from {} to {}.", done.quantity, done.license_name, done.from, done.to));
            let to = match tab {
                Some(v) => format!("/accounts/{id}/licenses?va={v}"),
                None => format!("/accounts/{id}/licenses"),
            };
            Ok(see_other(&to))
        }
        Err(DomainError::Invalid(errors)) => {
            let (view, charts) = account_page(&state, &user, id, tab).await?;
            let claim = ClaimCodeForm::default();
            render(StatusCode::BAD_REQUEST, &AccountLicensesPage { layout: user.layout, view, form: input, errors, charts, claim })
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ClaimForm {
    #[serde(default)]
    pub va: String,
}

pub async fn claim_pak(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<(i64, i64)>,
    form: web::Form<ClaimForm>,
) -> Result<HttpResponse, AppError> {
    let (id, license) = path.into_inner();
    let (actor, base, va) = (user.actor.clone(), state.settings.base_url.clone(), form.into_inner().va);
    match run(&state, move |conn| claims::claim(conn, &actor, id, license, &va, &base)).await? {
        Ok(message) => session.flash("success", message),
        Err(DomainError::Invalid(e)) => session.flash("error", e.joined()),
        Err(e) => return Err(e.into()),
    }
    Ok(see_other(&format!("/accounts/{id}/licenses#claim-certificates")))
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClaimCodeForm {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub claim_va: String,
}

pub async fn claim_pak_code(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<i64>,
    form: web::Form<ClaimCodeForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let claim = form.into_inner();
    let (actor, base, c2) = (user.actor.clone(), state.settings.base_url.clone(), claim.clone());
    match run(&state, move |conn| claims::claim_code(conn, &actor, id, &c2.code, &c2.claim_va, &base)).await? {
        Ok(message) => {
            session.flash("success", message);
            Ok(see_other(&format!("/accounts/{id}/licenses#claim-certificates")))
        }
        Err(DomainError::Invalid(errors)) => {
            let (view, charts) = account_page(&state, &user, id, None).await?;
            render(
                StatusCode::BAD_REQUEST,
                &AccountLicensesPage { layout: user.layout, view, form: TransferInput::default(), errors, charts, claim },
            )
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- tokens

#[derive(Template)]
#[template(path = "licenses/tokens.html")]
pub struct TokensPage {
    pub layout: Layout,
    pub view: LicensesFrame,
    pub va: VaTab,
    pub tokens: Vec<TokenRow>,
    pub form: TokenInput,
    pub errors: FieldErrors,
    pub created: Option<CreatedToken>,
}

impl TokensPage {
    pub fn fmt(&self, t: &chrono::NaiveDateTime) -> String {
        crate::web::minute(t)
    }
}

async fn tokens_page(state: &AppState, user: &SignedIn, id: i64, va: i64) -> Result<(LicensesFrame, VaTab, Vec<TokenRow>), AppError> {
    let actor = user.actor.clone();
    Ok(run(state, move |conn| {
        let frame = licenses::frame(conn, &actor, id)?;
        let tab = frame.tab(va)?.clone();
        let tokens = tokens::list(conn, &[va])?;
        Ok::<_, DomainError>((frame, tab, tokens))
    })
    .await??)
}

pub async fn list_tokens(state: web::Data<AppState>, user: SignedIn, path: web::Path<(i64, i64)>) -> Result<HttpResponse, AppError> {
    let (id, va) = path.into_inner();
    let (view, va, tokens) = tokens_page(&state, &user, id, va).await?;
    render(
        StatusCode::OK,
        &TokensPage { layout: user.layout, view, va, tokens, form: TokenInput::default(), errors: FieldErrors::new(), created: None },
    )
}

pub async fn create_token(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(i64, i64)>,
    form: web::Form<TokenInput>,
) -> Result<HttpResponse, AppError> {
    let (id, va) = path.into_inner();
    let input = form.into_inner();
    let (actor, input2) = (user.actor.clone(), input.clone());
    let result = run(&state, move |conn| tokens::create(conn, &actor, id, va, &input2)).await?;
    let (status, form, errors, created) = match result {
        Ok(created) => (StatusCode::OK, TokenInput::default(), FieldErrors::new(), Some(created)),
        Err(DomainError::Invalid(errors)) => (StatusCode::BAD_REQUEST, input, errors, None),
        Err(e) => return Err(e.into()),
    };
    let (view, va, tokens) = tokens_page(&state, &user, id, va).await?;
    let mut resp = render(status, &TokensPage { layout: user.layout, view, va, tokens, form, errors, created })?;
    resp.headers_mut().insert(actix_web::http::header::CACHE_CONTROL, actix_web::http::header::HeaderValue::from_static("no-store"));
    Ok(resp)
}

pub async fn revoke_token(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (id, token) = path.into_inner();
    let actor = user.actor.clone();
    let (va, description) = run(&state, move |conn| tokens::revoke(conn, &actor, id, token)).await??;
    session.flash("success", format!("Registration token \"{description}\" revoked: no device can register with it any more."));
    Ok(see_other(&format!("/accounts/{id}/licenses/va/{va}/tokens")))
}

// ---------------------------------------------------------------- devices

#[derive(Template)]
#[template(path = "licenses/devices.html")]
pub struct DevicesPage {
    pub layout: Layout,
    pub view: LicensesFrame,
    pub va: VaTab,
    pub page: DevicePage,
    pub sort: DeviceSort,
    pub q: String,
}

impl DevicesPage {
    pub fn fmt(&self, t: &chrono::NaiveDateTime) -> String {
        crate::web::minute(t)
    }
    pub fn base(&self) -> String {
        format!("/accounts/{}/licenses/va/{}/devices", self.view.ctx.account.id, self.va.id)
    }
    pub fn q_encoded(&self) -> String {
        url::form_urlencoded::byte_serialize(self.q.as_bytes()).collect()
    }
    pub fn sort_href(&self, sort: &str) -> String {
        format!("{}?sort={sort}&q={}", self.base(), self.q_encoded())
    }
    pub fn next_href(&self) -> Option<String> {
        self.page.next.as_ref().map(|n| {
            let n: String = url::form_urlencoded::byte_serialize(n.as_bytes()).collect();
            format!("{}?sort={}&q={}&after={n}", self.base(), self.sort.as_str(), self.q_encoded())
        })
    }
    pub fn name_sort(&self) -> &'static str {
        match self.sort {
            DeviceSort::Name => "ascending",
            DeviceSort::NameDesc => "descending",
            DeviceSort::LastContact => "none",
        }
    }
    pub fn contact_sort(&self) -> &'static str {
        if self.sort == DeviceSort::LastContact {
            "ascending"
        } else {
            "none"
        }
    }
    pub fn move_targets(&self) -> Vec<&VaTab> {
        self.view.vas.iter().filter(|v| v.can_manage_instances && v.id != self.va.id).collect()
    }
}

#[derive(Deserialize)]
pub struct DevicesQuery {
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub q: String,
    pub after: Option<String>,
}

pub async fn list_devices(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(i64, i64)>,
    query: web::Query<DevicesQuery>,
) -> Result<HttpResponse, AppError> {
    let (id, va) = path.into_inner();
    let DevicesQuery { sort, q, after } = query.into_inner();
    let sort = DeviceSort::parse(&sort);
    let (actor, q2) = (user.actor.clone(), q.clone());
    let (view, tab, page) = run(&state, move |conn| {
        let frame = licenses::frame(conn, &actor, id)?;
        let page = devices::page_in(conn, &frame, va, sort, &q2, after.as_deref())?;
        let tab = frame.tab(va)?.clone();
        Ok::<_, DomainError>((frame, tab, page))
    })
    .await??;
    render(StatusCode::OK, &DevicesPage { layout: user.layout, view, va: tab, page, sort, q })
}

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    pub to: String,
}

pub async fn move_device(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<(i64, i64)>,
    form: web::Form<MoveForm>,
) -> Result<HttpResponse, AppError> {
    let (id, device) = path.into_inner();
    let (actor, base, to) = (user.actor.clone(), state.settings.base_url.clone(), form.into_inner().to);
    let to2 = to.clone();
    match run(&state, move |conn| devices::move_to(conn, &actor, id, device, &to2, &base)).await? {
        Ok(message) => {
            state.wake_mail_worker();
            session.flash("success", message);
            Ok(see_other(&format!("/accounts/{id}/licenses/va/{to}/devices")))
        }
        Err(DomainError::Invalid(e)) => Err(AppError::BadRequest(e.joined())),
        Err(e) => Err(e.into()),
    }
}

pub async fn remove_device(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<(i64, i64)>,
    form: web::Form<ReturnTo>,
) -> Result<HttpResponse, AppError> {
    let (id, device) = path.into_inner();
    let (actor, base) = (user.actor.clone(), state.settings.base_url.clone());
    let message = run(&state, move |conn| devices::remove(conn, &actor, id, device, &base)).await??;
    session.flash("success", message);
    let back = form.into_inner().va;
    Ok(see_other(&match back.parse::<i64>() {
        Ok(va) => format!("/accounts/{id}/licenses/va/{va}/devices"),
        Err(_) => format!("/accounts/{id}/licenses"),
    }))
}

#[derive(Deserialize)]
pub struct ReturnTo {
    #[serde(default)]
    pub va: String,
}

// ---------------------------------------------------------------- custody and reports

#[derive(Template)]
#[template(path = "licenses/custody.html")]
pub struct CustodyPage {
    pub layout: Layout,
    pub account_id: i64,
    pub account_name: String,
    pub custody: Custody,
}

impl CustodyPage {
    pub fn fmt(&self, t: &chrono::NaiveDateTime) -> String {
        crate::web::minute(t)
    }
}

pub async fn show_custody(state: web::Data<AppState>, user: SignedIn, path: web::Path<(i64, i64)>) -> Result<HttpResponse, AppError> {
    let (id, line) = path.into_inner();
    let actor = user.actor.clone();
    let (name, custody) = run(&state, move |conn| {
        let custody = custody::of_line(conn, &actor, id, line)?;
        let ctx = crate::domain::accounts::load(conn, &actor, id)?;
        Ok((ctx.account.name, custody))
    })
    .await??;
    render(StatusCode::OK, &CustodyPage { layout: user.layout, account_id: id, account_name: name, custody })
}

pub async fn export(state: web::Data<AppState>, user: SignedIn, path: web::Path<(i64, String)>) -> Result<HttpResponse, AppError> {
    let (id, which) = path.into_inner();
    let which = which.strip_suffix(".csv").unwrap_or(&which).to_string();
    let actor = user.actor.clone();
    let (name, body) = run(&state, move |conn| reports::report(conn, &actor, id, &which)).await??;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{name}\"")))
        .body(body))
}
