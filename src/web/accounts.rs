//! Pages under Accounts: the list, the request form, set-up links, and the
//! pages of one account (overview, virtual accounts, users, agreement, event
//! log, access requests).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::models::account::VirtualAccountRow;
use crate::domain::accounts::administration::{self as admin, AccessRequest, AccountUser, FoundAccount, RoleInput, VirtualAccountInput};
use crate::domain::accounts::events::{self, AccountEvent, EventFilter};
use crate::domain::accounts::{self, AccountInContext, AccountSummary};
use crate::domain::policy::Capability;
use crate::domain::roles::{AccountKind, AccountStatus, Role};
use crate::domain::{DomainError, FieldErrors};
use crate::startup::AppState;
use crate::web::error::AppError;
use crate::web::extract::SignedIn;
use crate::web::layout::Layout;
use crate::web::session::PortalSession;
use crate::web::{field, fields_i64, form_pairs, render, run, see_other};

/// The head of every account page: name, identifiers, state and tabs.
#[derive(Debug, Clone)]
pub struct AccountHeader {
    pub id: i64,
    pub name: String,
    pub domain: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub status_class: &'static str,
    pub role: &'static str,
    pub tab: &'static str,
    pub tabs: Vec<(&'static str, String, &'static str)>,
}

impl AccountHeader {
    fn new(ctx: &AccountInContext, tab: &'static str) -> AccountHeader {
        let id = ctx.account.id;
        let mut tabs = vec![("overview", format!("/accounts/{id}"), "Overview")];
        if ctx.can(Capability::ViewUsers) {
            tabs.push(("virtual-accounts", format!("/accounts/{id}/virtual-accounts"), "Virtual accounts"));
            tabs.push(("users", format!("/accounts/{id}/users"), "Users"));
        }
        if ctx.can(Capability::ViewAgreement) {
            tabs.push(("agreement", format!("/accounts/{id}/agreement"), "Agreement"));
        }
        if ctx.can(Capability::ViewEventLog) {
            tabs.push(("events", format!("/accounts/{id}/events"), "Event log"));
        }
        if ctx.can(Capability::DecideAccessRequests) {
            tabs.push(("access-requests", format!("/accounts/{id}/access-requests"), "Access requests"));
        }
        AccountHeader {
            id,
            name: ctx.account.name.clone(),
            domain: ctx.account.domain.clone(),
            kind: ctx.account.kind.label(),
            status: ctx.account.status.label(),
            status_class: ctx.account.status.badge_class(),
            role: ctx.role_label(),
            tab,
            tabs,
        }
    }
}

async fn load_ctx(state: &AppState, user: &SignedIn, id: i64) -> Result<AccountInContext, AppError> {
    let actor = user.actor.clone();
    Ok(run(state, move |conn| accounts::load(conn, &actor, id)).await??)
}

// ---------------------------------------------------------------- list and search

#[derive(Template)]
#[template(path = "accounts/list.html")]
pub struct AccountsPage {
    pub layout: Layout,
    pub accounts: Vec<AccountSummary>,
    /// The query of the next page's link, if there is one; `paged`: this is not the first page.
    pub next: Option<String>,
    pub paged: bool,
    pub q: String,
    pub results: Vec<FoundAccount>,
}

#[derive(Template)]
#[template(path = "accounts/_search_results.html")]
pub struct SearchResultsFragment {
    pub layout: Layout,
    pub q: String,
    pub results: Vec<FoundAccount>,
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    pub q: String,
    /// Where the page of "your smart accounts" starts.
    #[serde(default)]
    pub after: String,
}

pub async fn list_accounts(
    state: web::Data<AppState>,
    user: SignedIn,
    query: crate::web::form::Query<SearchQuery>,
) -> Result<HttpResponse, AppError> {
    let actor = user.actor.clone();
    let SearchQuery { q, after } = query.into_inner();
    let after = accounts::AccountCursor::decode(&after);
    let paged = after.is_some();
    let q2 = q.clone();
    let (list, results) = run(&state, move |conn| {
        Ok((accounts::list_for(conn, &actor, after.as_ref(), accounts::ACCOUNTS_PAGE, None)?, admin::search(conn, &actor, &q2)?))
    })
    .await??;
    let next = list.next.as_ref().map(|c| format!("after={}", crate::web::url_encode(&c.encode())));
    render(StatusCode::OK, &AccountsPage { layout: user.layout, accounts: list.rows, next, paged, q, results })
}

/// The live search of the access-request box: the result list only (htmx),
/// or the whole page without JavaScript.
pub async fn search_accounts(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: SignedIn,
    query: crate::web::form::Query<SearchQuery>,
) -> Result<HttpResponse, AppError> {
    if req.headers().get("HX-Request").is_none() {
        return list_accounts(state, user, query).await;
    }
    let actor = user.actor.clone();
    let q = query.into_inner().q;
    let q2 = q.clone();
    let results = run(&state, move |conn| admin::search(conn, &actor, &q2)).await??;
    let mut resp = render(StatusCode::OK, &SearchResultsFragment { layout: user.layout, q, results })?;
    resp.headers_mut().insert(actix_web::http::header::VARY, actix_web::http::header::HeaderValue::from_static("HX-Request"));
    Ok(resp)
}

#[derive(Deserialize)]
pub struct AccessRequestForm {
    #[serde(default)]
    pub message: String,
}

pub async fn request_access(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<i64>,
    form: crate::web::form::Form<AccessRequestForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let actor = user.actor.clone();
    let base = state.settings.base_url.clone();
    let message = form.into_inner().message;
    run(&state, move |conn| admin::request_access(conn, &actor, id, &message, &base)).await??;
    state.wake_mail_worker();
    session.flash("success", "Your access request was sent to the account's administrators. You will get an email with their answer.");
    Ok(see_other("/accounts"))
}

// ---------------------------------------------------------------- one account

#[derive(Template)]
#[template(path = "accounts/show.html")]
pub struct AccountPage {
    pub layout: Layout,
    pub header: AccountHeader,
    pub ctx: AccountInContext,
    pub name: String,
    pub version: i32,
    pub errors: FieldErrors,
    pub can_edit: bool,
    pub created_at: String,
    pub activated_at: String,
}

fn account_page(layout: Layout, ctx: AccountInContext, name: String, version: i32, errors: FieldErrors) -> AccountPage {
    AccountPage {
        layout,
        header: AccountHeader::new(&ctx, "overview"),
        can_edit: ctx.can(Capability::EditProperties),
        created_at: crate::web::minute(&ctx.account.created_at),
        activated_at: ctx.account.activated_at.as_ref().map(crate::web::minute).unwrap_or_default(),
        name,
        version,
        errors,
        ctx,
    }
}

pub async fn show_account(state: web::Data<AppState>, user: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let ctx = load_ctx(&state, &user, path.into_inner()).await?;
    let (name, version) = (ctx.account.name.clone(), ctx.account.version);
    render(StatusCode::OK, &account_page(user.layout, ctx, name, version, FieldErrors::new()))
}

#[derive(Deserialize)]
pub struct PropertiesForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: i32,
}

pub async fn update_properties(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<i64>,
    form: crate::web::form::Form<PropertiesForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let form = form.into_inner();
    let actor = user.actor.clone();
    let (name, version) = (form.name.clone(), form.version);
    match run(&state, move |conn| admin::update_properties(conn, &actor, id, &name, version)).await? {
        Ok(()) => {
            session.flash("success", "The account's properties are saved.");
            Ok(see_other(&format!("/accounts/{id}")))
        }
        Err(DomainError::Invalid(errors)) => {
            let ctx = load_ctx(&state, &user, id).await?;
            render(StatusCode::BAD_REQUEST, &account_page(user.layout, ctx, form.name, form.version, errors))
        }
        Err(DomainError::Conflict(message)) => {
            let ctx = load_ctx(&state, &user, id).await?;
            let current = ctx.account.version;
            render(StatusCode::CONFLICT, &account_page(user.layout, ctx, form.name, current, FieldErrors::single("name", message)))
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- virtual accounts

#[derive(Template)]
#[template(path = "accounts/virtual_accounts.html")]
pub struct VirtualAccountsPage {
    pub layout: Layout,
    pub header: AccountHeader,
    pub virtual_accounts: Vec<VirtualAccountRow>,
    pub can_manage: bool,
    pub form: VirtualAccountInput,
    pub errors: FieldErrors,
    pub edit: Option<i64>,
}

async fn virtual_accounts_page(
    state: &AppState,
    user: SignedIn,
    id: i64,
    form: VirtualAccountInput,
    errors: FieldErrors,
    edit: Option<i64>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let actor = user.actor.clone();
    let (ctx, vas) = run(state, move |conn| {
        let ctx = accounts::load(conn, &actor, id)?;
        let vas = accounts::virtual_accounts(conn, &ctx)?;
        Ok((ctx, vas))
    })
    .await??;
    let form = match edit {
        Some(va) if errors.is_empty() => vas
            .iter()
            .find(|v| v.id == va)
            .map(|v| VirtualAccountInput {
                name: v.name.clone(),
                description: v.description.clone(),
                visibility: if v.is_public { "public".into() } else { "private".into() },
            })
            .ok_or(AppError::NotFound)?,
        _ => form,
    };
    render(
        status,
        &VirtualAccountsPage {
            layout: user.layout,
            header: AccountHeader::new(&ctx, "virtual-accounts"),
            can_manage: ctx.can(Capability::ManageVirtualAccounts),
            virtual_accounts: vas,
            form,
            errors,
            edit,
        },
    )
}

#[derive(Deserialize)]
pub struct EditQuery {
    pub edit: Option<i64>,
}

pub async fn list_virtual_accounts(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<i64>,
    query: crate::web::form::Query<EditQuery>,
) -> Result<HttpResponse, AppError> {
    let empty = VirtualAccountInput { visibility: "public".into(), ..Default::default() };
    virtual_accounts_page(&state, user, path.into_inner(), empty, FieldErrors::new(), query.edit, StatusCode::OK).await
}

pub async fn create_virtual_account(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<i64>,
    form: crate::web::form::Form<VirtualAccountInput>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let form = form.into_inner();
    let actor = user.actor.clone();
    let input = form.clone();
    match run(&state, move |conn| admin::create_virtual_account(conn, &actor, id, &input)).await? {
        Ok((_va, warning)) => {
            session.flash("success", format!("Virtual account \"{}\" created.", form.name.trim()));
            if let Some(w) = warning {
                session.flash("warning", w);
            }
            Ok(see_other(&format!("/accounts/{id}/virtual-accounts")))
        }
        Err(DomainError::Invalid(errors)) => virtual_accounts_page(&state, user, id, form, errors, None, StatusCode::BAD_REQUEST).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn update_virtual_account(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<(i64, i64)>,
    form: crate::web::form::Form<VirtualAccountInput>,
) -> Result<HttpResponse, AppError> {
    let (id, va) = path.into_inner();
    let form = form.into_inner();
    let actor = user.actor.clone();
    let input = form.clone();
    match run(&state, move |conn| admin::update_virtual_account(conn, &actor, id, va, &input)).await? {
        Ok(()) => {
            session.flash("success", "The virtual account is saved.");
            Ok(see_other(&format!("/accounts/{id}/virtual-accounts")))
        }
        Err(DomainError::Invalid(errors)) => virtual_accounts_page(&state, user, id, form, errors, Some(va), StatusCode::BAD_REQUEST).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn delete_virtual_account(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (id, va) = path.into_inner();
    let actor = user.actor.clone();
    match run(&state, move |conn| admin::delete_virtual_account(conn, &actor, id, va)).await? {
        Ok(()) => session.flash("success", "The virtual account was deleted."),
        Err(DomainError::Conflict(m)) => session.flash("error", m),
        Err(e) => return Err(e.into()),
    }
    Ok(see_other(&format!("/accounts/{id}/virtual-accounts")))
}

// ---------------------------------------------------------------- users

#[derive(Debug, Clone, Default)]
pub struct RoleForm {
    pub email: String,
    pub role: String,
    pub virtual_accounts: Vec<i64>,
    pub acknowledged: bool,
}

impl RoleForm {
    fn from_pairs(pairs: &[(String, String)]) -> RoleForm {
        RoleForm {
            email: field(pairs, "email").to_string(),
            role: field(pairs, "role").to_string(),
            virtual_accounts: fields_i64(pairs, "virtual_accounts"),
            acknowledged: field(pairs, "acknowledged") == "yes",
        }
    }
    fn input(&self) -> RoleInput {
        RoleInput {
            email: self.email.clone(),
            role: self.role.clone(),
            virtual_accounts: self.virtual_accounts.clone(),
            acknowledged: self.acknowledged,
        }
    }
    pub fn has_va(&self, id: &i64) -> bool {
        self.virtual_accounts.contains(id)
    }
}

#[derive(Template)]
#[template(path = "accounts/users.html")]
pub struct UsersPage {
    pub layout: Layout,
    pub header: AccountHeader,
    pub users: Vec<AccountUser>,
    pub virtual_accounts: Vec<VirtualAccountRow>,
    pub roles: Vec<Role>,
    pub partner_roles: Vec<Role>,
    pub can_manage_sa: bool,
    pub can_manage_some: bool,
    pub can_grant_partner: bool,
    /// Which form the errors belong to: "add", "partner" or a role id.
    pub form_for: String,
    pub form: RoleForm,
    pub errors: FieldErrors,
    pub error: Option<String>,
}

impl UsersPage {
    /// The actor may change or remove this user's role (the domain checks again).
    pub fn manageable(&self, u: &AccountUser) -> bool {
        self.can_manage_sa
            || (u.role.is_va_role() && u.virtual_accounts.iter().all(|(id, _)| self.virtual_accounts.iter().any(|v| v.id == *id)))
    }
    /// The typed value of the form that failed, else empty.
    pub fn typed(&self, form: &str) -> &str {
        if self.form_for == form {
            &self.form.email
        } else {
            ""
        }
    }
    pub fn role_checked(&self, form: &str, role: &Role, current: &Option<Role>) -> bool {
        if self.form_for == form {
            self.form.role == role.as_str()
        } else {
            current.as_ref() == Some(role)
        }
    }
    pub fn va_checked(&self, form: &str, va: &i64, current: &[(i64, String)]) -> bool {
        if self.form_for == form {
            self.form.has_va(va)
        } else {
            current.iter().any(|(id, _)| id == va)
        }
    }
}

async fn users_page(
    state: &AppState,
    user: SignedIn,
    id: i64,
    form_for: &str,
    form: RoleForm,
    errors: FieldErrors,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let actor = user.actor.clone();
    let (ctx, users, vas) = run(state, move |conn| {
        let ctx = accounts::load(conn, &actor, id)?;
        let users = admin::list_users(conn, &ctx)?;
        let vas = accounts::virtual_accounts(conn, &ctx)?;
        Ok((ctx, users, vas))
    })
    .await??;
    let can_manage_sa = ctx.can(Capability::ManageUsers);
    let can_manage_some = can_manage_sa || vas.iter().any(|v| ctx.can(Capability::ManageUsersOfVirtualAccount(v.id)));
    let roles: Vec<Role> = if can_manage_sa { Role::ALL.to_vec() } else { vec![Role::VaAdministrator, Role::VaUser] };
    let manageable: Vec<VirtualAccountRow> = vas.into_iter().filter(|v| ctx.can(Capability::ManageUsersOfVirtualAccount(v.id))).collect();
    render(
        status,
        &UsersPage {
            layout: user.layout,
            header: AccountHeader::new(&ctx, "users"),
            can_grant_partner: ctx.can(Capability::GrantPartnerAccess),
            can_manage_sa,
            can_manage_some,
            users,
            virtual_accounts: manageable,
            roles,
            partner_roles: Role::PARTNER.to_vec(),
            form_for: form_for.to_string(),
            form,
            errors,
            error,
        },
    )
}

pub async fn list_users(state: web::Data<AppState>, user: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    users_page(&state, user, path.into_inner(), "", RoleForm::default(), FieldErrors::new(), None, StatusCode::OK).await
}

async fn role_outcome(
    state: &AppState,
    user: SignedIn,
    session: PortalSession,
    id: i64,
    form_for: &str,
    form: RoleForm,
    outcome: Result<(), DomainError>,
    success: &str,
) -> Result<HttpResponse, AppError> {
    match outcome {
        Ok(()) => {
            state.wake_mail_worker();
            session.flash("success", success);
            Ok(see_other(&format!("/accounts/{id}/users")))
        }
        Err(DomainError::Invalid(errors)) => users_page(state, user, id, form_for, form, errors, None, StatusCode::BAD_REQUEST).await,
        Err(DomainError::Conflict(m)) => {
            users_page(state, user, id, form_for, form, FieldErrors::new(), Some(m), StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn add_user(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let form = RoleForm::from_pairs(&form_pairs(&body));
    let partner = field(&form_pairs(&body), "partner") == "yes";
    let (actor, input, base) = (user.actor.clone(), form.input(), state.settings.base_url.clone());
    let outcome = run(&state, move |conn| admin::add_user(conn, &actor, id, &input, partner, &base)).await?;
    let message =
        if partner { format!("Partner access granted to {}.", form.email.trim()) } else { format!("{} was added.", form.email.trim()) };
    role_outcome(&state, user, session, id, if partner { "partner" } else { "add" }, form, outcome, &message).await
}

pub async fn change_role(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<(i64, i64)>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (id, role_id) = path.into_inner();
    let form = RoleForm::from_pairs(&form_pairs(&body));
    let (actor, input) = (user.actor.clone(), form.input());
    let outcome = run(&state, move |conn| admin::change_role(conn, &actor, id, role_id, &input)).await?;
    role_outcome(&state, user, session, id, &role_id.to_string(), form, outcome, "The role was changed.").await
}

pub async fn remove_user(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (id, role_id) = path.into_inner();
    let actor = user.actor.clone();
    let outcome = run(&state, move |conn| admin::remove_user(conn, &actor, id, role_id)).await?;
    role_outcome(&state, user, session, id, &role_id.to_string(), RoleForm::default(), outcome, "The user was removed from the account.")
        .await
}

// ---------------------------------------------------------------- agreement

#[derive(Template)]
#[template(path = "accounts/agreement.html")]
pub struct AgreementPage {
    pub layout: Layout,
    pub header: AccountHeader,
    pub accepted_at: Option<String>,
    pub accepted_by: Option<String>,
    pub can_accept: bool,
    pub active: bool,
}

pub async fn show_agreement(state: web::Data<AppState>, user: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let (actor, id) = (user.actor.clone(), path.into_inner());
    let ctx = run(&state, move |conn| accounts::load_for(conn, &actor, id, Capability::ViewAgreement)).await??;
    render(
        StatusCode::OK,
        &AgreementPage {
            layout: user.layout,
            header: AccountHeader::new(&ctx, "agreement"),
            accepted_at: ctx.account.agreement_accepted_at.as_ref().map(crate::web::minute),
            accepted_by: ctx.account.agreement_accepted_by.clone(),
            can_accept: ctx.can(Capability::AcceptAgreement),
            active: ctx.account.status == AccountStatus::Active,
        },
    )
}

pub async fn accept_agreement(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let actor = user.actor.clone();
    run(&state, move |conn| admin::accept_agreement(conn, &actor, id)).await??;
    session.flash("success", "You accepted the Smart Licensing Agreement.");
    Ok(see_other(&format!("/accounts/{id}/agreement")))
}

// ---------------------------------------------------------------- event log

#[derive(Template)]
#[template(path = "accounts/events.html")]
pub struct EventsPage {
    pub layout: Layout,
    pub header: AccountHeader,
    pub events: Vec<AccountEvent>,
    pub kinds: &'static [(&'static str, &'static str)],
    pub from: String,
    pub to: String,
    pub kind: String,
    pub error: Option<String>,
}

impl EventsPage {
    pub fn date_value<'a>(&self, text: &'a str) -> &'a str {
        crate::web::layout::date_value(text)
    }
}

#[derive(Deserialize)]
pub struct EventQuery {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub kind: String,
}

pub async fn list_events(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<i64>,
    query: crate::web::form::Query<EventQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let q = query.into_inner();
    let parse = |s: &str| (!s.trim().is_empty()).then(|| chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d"));
    let mut error = None;
    let from = match parse(&q.from) {
        Some(Ok(d)) => Some(d),
        Some(Err(_)) => {
            error = Some("Dates have the form 2026-11-23.".to_string());
            None
        }
        None => None,
    };
    let to = match parse(&q.to) {
        Some(Ok(d)) => Some(d),
        Some(Err(_)) => {
            error = Some("Dates have the form 2026-11-23.".to_string());
            None
        }
        None => None,
    };
    let kind = events::KINDS.iter().find(|(k, _)| *k == q.kind).map(|(k, _)| k.to_string());
    let filter = EventFilter { from, to, kind };
    let actor = user.actor.clone();
    let (ctx, list) = run(&state, move |conn| {
        let ctx = accounts::load(conn, &actor, id)?;
        let list = events::list(conn, &ctx, &filter, 500)?;
        Ok((ctx, list))
    })
    .await??;
    render(
        if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK },
        &EventsPage {
            layout: user.layout,
            header: AccountHeader::new(&ctx, "events"),
            events: list,
            kinds: events::KINDS,
            from: q.from,
            to: q.to,
            kind: q.kind,
            error,
        },
    )
}

impl AccountEvent {
    pub fn when(&self) -> String {
        crate::web::minute(&self.at)
    }
}

// ---------------------------------------------------------------- access requests

#[derive(Template)]
#[template(path = "accounts/access_requests.html")]
pub struct AccessRequestsPage {
    pub layout: Layout,
    pub header: AccountHeader,
    pub requests: Vec<AccessRequest>,
    pub roles: Vec<Role>,
    pub error: Option<(i64, String)>,
}

async fn access_requests_page(
    state: &AppState,
    user: SignedIn,
    id: i64,
    error: Option<(i64, String)>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let actor = user.actor.clone();
    let (ctx, requests) = run(state, move |conn| {
        let ctx = accounts::load(conn, &actor, id)?;
        let requests = admin::access_requests_of(conn, &ctx)?;
        Ok((ctx, requests))
    })
    .await??;
    render(
        status,
        &AccessRequestsPage {
            layout: user.layout,
            header: AccountHeader::new(&ctx, "access-requests"),
            requests,
            roles: vec![Role::SaUser, Role::SaApprover, Role::SaAdministrator],
            error,
        },
    )
}

pub async fn list_access_requests(state: web::Data<AppState>, user: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    access_requests_page(&state, user, path.into_inner(), None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub reason: String,
}

pub async fn decide_access_request(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<(i64, i64)>,
    form: crate::web::form::Form<DecisionForm>,
) -> Result<HttpResponse, AppError> {
    let (id, request_id) = path.into_inner();
    let form = form.into_inner();
    let approve = form.decision == "approve";
    let (actor, base) = (user.actor.clone(), state.settings.base_url.clone());
    match run(&state, move |conn| admin::decide_access(conn, &actor, id, request_id, approve, &form.role, &form.reason, &base)).await? {
        Ok(()) => {
            state.wake_mail_worker();
            session.flash(
                "success",
                if approve { "Access approved; the requester has been told." } else { "Access denied; the requester has been told." },
            );
            Ok(see_other(&format!("/accounts/{id}/access-requests")))
        }
        Err(DomainError::Invalid(errors)) => {
            let message = errors.joined();
            access_requests_page(&state, user, id, Some((request_id, message)), StatusCode::BAD_REQUEST).await
        }
        Err(DomainError::Conflict(m)) => access_requests_page(&state, user, id, Some((request_id, m)), StatusCode::CONFLICT).await,
        Err(e) => Err(e.into()),
    }
}

pub fn kind_label(kind: &AccountKind) -> &'static str {
    kind.label()
}
