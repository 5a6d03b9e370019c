//! The request form for a new smart account (a step-by-step form that keeps
//! what was typed, with or without JavaScript), the duplicate hints, the
//! "Complete Smart Account Setup" pages, and operations' domain reviews.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::domain::accounts::request::{
    self, AccountRequestInput, DomainReview, OpenSetup, OwnAccountHint, SetupLinkProblem, SimilarAccount, Step,
};
use crate::domain::{policy, DomainError, FieldErrors};
use crate::startup::AppState;
use crate::web::error::AppError;
use crate::web::extract::SignedIn;
use crate::web::layout::Layout;
use crate::web::session::PortalSession;
use crate::web::{render, run, see_other};

#[derive(Template)]
#[template(path = "accounts/request.html")]
pub struct RequestPage {
    pub layout: Layout,
    pub step: u8,
    pub input: AccountRequestInput,
    pub errors: FieldErrors,
    pub countries: Vec<(&'static str, &'static str)>,
    pub default_domain: String,
    pub domain_edited: bool,
    pub similar: Vec<SimilarAccount>,
    pub is_partner: bool,
    /// For a partner whose company domain is taken: how its own customer account is named.
    pub own_account: Option<OwnAccountHint>,
    pub company_id: i64,
    pub steps: [(u8, &'static str); 5],
}

impl RequestPage {
    /// The order the request was opened from, as people know it: its web order id.
    pub fn order_web_id(&self) -> String {
        self.input.order_id.trim().parse::<i64>().map(crate::domain::orders::web_order_id).unwrap_or_default()
    }
}

impl RequestPage {
    pub fn country_label(&self) -> &str {
        self.input.country_name().unwrap_or("")
    }
    pub fn admins(&self) -> Vec<String> {
        self.input.administrator_emails()
    }
    /// The domain field holds the identifier suggested for the partner's own customer account.
    pub fn own_account_suggested(&self) -> bool {
        self.own_account.as_ref().is_some_and(|o| o.suggested == self.input.domain.trim().to_lowercase())
            && self.input.kind == "customer"
            && self.input.requester_activates()
    }
}

const STEPS: [(u8, &str); 5] = [(1, "Authority"), (2, "Account"), (3, "Company"), (4, "Administrators"), (5, "Review")];

fn page(
    user: &SignedIn,
    layout: Layout,
    step: Step,
    input: AccountRequestInput,
    errors: FieldErrors,
    similar: Vec<SimilarAccount>,
    own_account: Option<OwnAccountHint>,
) -> RequestPage {
    let default_domain = input.default_domain(&user.actor).map(|d| d.to_string()).unwrap_or_default();
    RequestPage {
        layout,
        step: step.number(),
        domain_edited: input.domain_edited(&user.actor),
        default_domain,
        countries: request::countries(),
        similar,
        is_partner: user.actor.company_kind.is_partner(),
        own_account,
        company_id: user.actor.company_id.0,
        steps: STEPS,
        input,
        errors,
    }
}

/// For a partner: whether its company domain is taken, and what its own customer account would be called.
async fn own_account_hint(state: &AppState, user: &SignedIn) -> Result<Option<OwnAccountHint>, AppError> {
    if !user.actor.company_kind.is_partner() {
        return Ok(None);
    }
    let actor = user.actor.clone();
    Ok(run(state, move |conn| request::own_account_hint(conn, &actor)).await??)
}

/// Query of the request form when opened from an order's assignment search.
#[derive(Deserialize)]
pub struct FromOrder {
    #[serde(default)]
    pub order: String,
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub lines: String,
    #[serde(default)]
    pub kind: String,
}

pub async fn request_form(
    state: web::Data<AppState>,
    user: SignedIn,
    query: crate::web::form::Query<FromOrder>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let from_order = !q.order.is_empty();
    let kind = if !q.kind.is_empty() {
        q.kind
    } else if user.actor.company_kind.is_partner() {
        String::new()
    } else {
        "customer".into()
    };
    let input = AccountRequestInput {
        authority: if from_order && kind == "customer" { "no".into() } else { "yes".into() },
        kind,
        order_id: q.order,
        order_target: q.target,
        order_lines: q.lines,
        ..Default::default()
    };
    let layout = user.layout.clone();
    let own = if from_order { None } else { own_account_hint(&state, &user).await? };
    render(StatusCode::OK, &page(&user, layout, Step::Authority, input, FieldErrors::new(), Vec::new(), own))
}

#[derive(Deserialize)]
pub struct StepForm {
    #[serde(default)]
    pub step: u8,
    #[serde(default)]
    pub go: String,
    #[serde(flatten)]
    pub input: AccountRequestInput,
}

/// Which step shows a field, to go back to it when submit finds a problem there.
fn step_of(field: &str) -> Step {
    match field {
        "kind" | "authority" | "approver_email" => Step::Authority,
        "name" | "domain" | "duplicate_reason" => Step::Account,
        "company_name" | "country" | "address" | "state_province" | "postal_code" => Step::Company,
        "administrators" => Step::Administrators,
        _ => Step::Review,
    }
}

pub async fn request_step(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    form: crate::web::form::Form<StepForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let step = Step::from_number(form.step);
    let mut input = form.input;
    let layout = user.layout.clone();
    let own = if input.order_id.is_empty() { own_account_hint(&state, &user).await? } else { None };
    if form.go == "back" {
        let similar = similar_for(&state, &input, step.previous()).await?;
        return render(StatusCode::OK, &page(&user, layout, step.previous(), input, FieldErrors::new(), similar, own));
    }
    if form.go == "submit" && step == Step::Review && !input.order_id.is_empty() {
        let order_id: i64 = input.order_id.parse().map_err(|_| AppError::NotFound)?;
        let (actor, base, submitted) = (user.actor.clone(), state.settings.base_url.clone(), input.clone());
        return match run(&state, move |conn| {
            crate::domain::orders::assignment::request_and_assign(conn, &actor, order_id, &submitted, &base)
        })
        .await?
        {
            Ok(_) => {
                state.wake_mail_worker();
                session.flash(
                    "success",
                    "The new smart account was requested and assigned; it is pending until activated, and the order can be submitted.",
                );
                Ok(see_other(&format!("/orders/{order_id}")))
            }
            Err(DomainError::Invalid(errors)) => {
                let back_to = errors.iter().map(|(f, _)| step_of(f)).min().unwrap_or(Step::Review);
                let similar = similar_for(&state, &input, back_to).await?;
                render(StatusCode::BAD_REQUEST, &page(&user, layout, back_to, input, errors, similar, own))
            }
            Err(e) => Err(e.into()),
        };
    }
    if form.go == "submit" && step == Step::Review {
        let (actor, base, submitted) = (user.actor.clone(), state.settings.base_url.clone(), input.clone());
        return match run(&state, move |conn| request::request_account(conn, &actor, &submitted, &base)).await? {
            Ok(id) => {
                state.wake_mail_worker();
                session.flash("success", "Your smart account request was submitted. The account exists now as a pending (temporary) account; we have emailed you a confirmation.");
                Ok(see_other(&format!("/accounts/{id}")))
            }
            Err(DomainError::Invalid(errors)) => {
                let back_to = errors.iter().map(|(f, _)| step_of(f)).min().unwrap_or(Step::Review);
                let similar = similar_for(&state, &input, back_to).await?;
                render(StatusCode::BAD_REQUEST, &page(&user, layout, back_to, input, errors, similar, own))
            }
            Err(e) => Err(e.into()),
        };
    }
    let mut errors = request::check_step(&user.actor, &input, step);
    if step == Step::Account && errors.is_empty() {
        let checked = input.clone();
        let actor = user.actor.clone();
        errors = run(&state, move |conn| request::duplicate_errors(conn, &actor, &checked)).await??;
    }
    if !errors.is_empty() {
        let similar = similar_for(&state, &input, step).await?;
        return render(StatusCode::BAD_REQUEST, &page(&user, layout, step, input, errors, similar, own));
    }
    let next = step.next();
    if next == Step::Account && input.domain.trim().is_empty() {
        match &own {
            // A partner's own customer account, its company domain taken: the prefixed identifier.
            Some(o) if input.is_own_customer_account(&user.actor) => {
                input.domain = o.suggested.clone();
                if input.name.trim().is_empty() {
                    input.name = user.actor.company_name.clone();
                }
            }
            _ => {
                if let Some(d) = input.default_domain(&user.actor) {
                    input.domain = d.to_string();
                }
            }
        }
        if input.name.trim().is_empty() && !input.company_name.trim().is_empty() {
            input.name = input.company_name.clone();
        }
    }
    let similar = similar_for(&state, &input, next).await?;
    render(StatusCode::OK, &page(&user, layout, next, input, FieldErrors::new(), similar, own))
}

async fn similar_for(state: &AppState, input: &AccountRequestInput, step: Step) -> Result<Vec<SimilarAccount>, AppError> {
    if step != Step::Account {
        return Ok(Vec::new());
    }
    let (name, domain) = (input.name.clone(), input.domain.clone());
    Ok(run(state, move |conn| request::similar_accounts(conn, &name, &domain)).await??)
}

/// As the requester types: the matching accounts, and (out of band) the
/// warning that an edited domain identifier goes to operations' review.
#[derive(Template)]
#[template(path = "accounts/_similar_fragment.html")]
pub struct SimilarFragment {
    pub similar: Vec<SimilarAccount>,
    pub company_id: i64,
    pub domain_edited: bool,
    pub default_domain: String,
}

/// As the requester types: accounts that already match, each with "Request
/// access", and whether the typed domain identifier needs operations' review.
pub async fn similar_accounts(
    state: web::Data<AppState>,
    user: SignedIn,
    query: crate::web::form::Query<AccountRequestInput>,
) -> Result<HttpResponse, AppError> {
    // The form as typed so far (the fields it sends: name, domain, kind, authority, approver).
    let typed = query.into_inner();
    let domain_edited = typed.domain_edited(&user.actor);
    let default_domain = typed.default_domain(&user.actor).map(|d| d.to_string()).unwrap_or_default();
    let similar = run(&state, move |conn| request::similar_accounts(conn, &typed.name, &typed.domain)).await??;
    render(StatusCode::OK, &SimilarFragment { similar, company_id: user.actor.company_id.0, domain_edited, default_domain })
}

// ---------------------------------------------------------------- set-up link

#[derive(Template)]
#[template(path = "accounts/setup.html")]
pub struct SetupPage {
    pub layout: Layout,
    pub token: String,
    pub problem: Option<&'static str>,
    pub open: Option<OpenSetup>,
    /// "confirm" (who authorizes?) or "review" (activate).
    pub stage: &'static str,
    pub nominee: String,
    pub errors: FieldErrors,
}

async fn setup_page(
    state: &AppState,
    user: SignedIn,
    token: String,
    stage: &'static str,
    nominee: String,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (actor, t) = (user.actor.clone(), token.clone());
    let opened = run(state, move |conn| request::open_setup_link(conn, &actor, &t)).await??;
    let (problem, open, status) = match opened {
        Ok(open) => (None, Some(open), status),
        Err(p) => (Some(p.message()), None, if p == SetupLinkProblem::WrongPerson { StatusCode::FORBIDDEN } else { StatusCode::GONE }),
    };
    render(status, &SetupPage { layout: user.layout, token, problem, open, stage, nominee, errors })
}

pub async fn setup_form(state: web::Data<AppState>, user: SignedIn, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    setup_page(&state, user, path.into_inner(), "confirm", String::new(), FieldErrors::new(), StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct AuthorityForm {
    #[serde(default)]
    pub authority: String,
    #[serde(default)]
    pub email: String,
}

/// "Yes, I can represent my company" → the review; "No" → a new link to the nominee.
pub async fn setup_authority(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<String>,
    form: crate::web::form::Form<AuthorityForm>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let form = form.into_inner();
    match form.authority.as_str() {
        "yes" => setup_page(&state, user, token, "review", String::new(), FieldErrors::new(), StatusCode::OK).await,
        "no" => {
            let (actor, t, email, base) = (user.actor.clone(), token.clone(), form.email.clone(), state.settings.base_url.clone());
            match run(&state, move |conn| request::nominate_authorizer(conn, &actor, &t, &email, &base)).await? {
                Ok(()) => {
                    state.wake_mail_worker();
                    session.flash("success", format!("We have sent {} a link to authorize and activate the account.", form.email.trim()));
                    Ok(see_other("/accounts"))
                }
                Err(DomainError::Invalid(errors)) => {
                    setup_page(&state, user, token, "confirm", form.email, errors, StatusCode::BAD_REQUEST).await
                }
                Err(DomainError::Conflict(_)) => {
                    setup_page(&state, user, token, "confirm", form.email, FieldErrors::new(), StatusCode::GONE).await
                }
                Err(e) => Err(e.into()),
            }
        }
        _ => {
            setup_page(
                &state,
                user,
                token,
                "confirm",
                form.email,
                FieldErrors::single("authority", "Say whether you can represent the company."),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

pub async fn activate(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let (actor, t, base) = (user.actor.clone(), token.clone(), state.settings.base_url.clone());
    match run(&state, move |conn| request::activate(conn, &actor, &t, &base)).await? {
        Ok(id) => {
            state.wake_mail_worker();
            session.flash("success", "The smart account is active, and you are its SA Administrator.");
            Ok(see_other(&format!("/accounts/{id}")))
        }
        Err(DomainError::Conflict(_)) => {
            setup_page(&state, user, token, "confirm", String::new(), FieldErrors::new(), StatusCode::GONE).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- operations

#[derive(Template)]
#[template(path = "operations/domain_reviews.html")]
pub struct DomainReviewsPage {
    pub layout: Layout,
    pub reviews: Vec<DomainReview>,
    pub error: Option<(i64, String)>,
}

async fn reviews_page(
    state: &AppState,
    user: SignedIn,
    error: Option<(i64, String)>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let actor = user.actor.clone();
    let reviews = run(state, move |conn| {
        let permit = policy::may_review_domains(&actor)?;
        request::domain_review_queue(conn, &permit)
    })
    .await?
    .map_err(|e| match e {
        DomainError::Forbidden => DomainError::NotFound,
        e => e,
    })?;
    render(status, &DomainReviewsPage { layout: user.layout, reviews, error })
}

impl DomainReviewsPage {
    /// Whole days a review has waited, and as people say it.
    pub fn days(&self, r: &DomainReview) -> i64 {
        (crate::db::now() - r.created_at).num_days().max(0)
    }
    pub fn age(&self, r: &DomainReview) -> String {
        crate::domain::worklist::age(self.days(r))
    }
}

pub async fn domain_reviews(state: web::Data<AppState>, user: SignedIn) -> Result<HttpResponse, AppError> {
    reviews_page(&state, user, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub reason: String,
}

pub async fn decide_domain_review(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<i64>,
    form: crate::web::form::Form<ReviewForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let form = form.into_inner();
    let approve = form.decision == "approve";
    let (actor, base) = (user.actor.clone(), state.settings.base_url.clone());
    let outcome = run(&state, move |conn| {
        let permit = policy::may_review_domains(&actor).map_err(|_| DomainError::NotFound)?;
        if approve {
            request::approve_domain(conn, &permit, &actor, id, &base)
        } else {
            request::reject_domain(conn, &permit, &actor, id, &form.reason, &base)
        }
    })
    .await?;
    match outcome {
        Ok(()) => {
            state.wake_mail_worker();
            session.flash(
                "success",
                if approve {
                    "Domain identifier approved; the authorizer has been sent the set-up link."
                } else {
                    "Request rejected; the requester has been told."
                },
            );
            Ok(see_other("/operations/domain-reviews"))
        }
        Err(DomainError::Invalid(errors)) => {
            let m = errors.joined();
            reviews_page(&state, user, Some((id, m)), StatusCode::BAD_REQUEST).await
        }
        Err(DomainError::Conflict(m)) => reviews_page(&state, user, Some((id, m)), StatusCode::CONFLICT).await,
        Err(e) => Err(e.into()),
    }
}
