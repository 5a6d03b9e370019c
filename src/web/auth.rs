//! Register, sign in (password, then a two-step code where one is on or
//! required), sign out.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::models::user::User;
use crate::domain::identity::membership::{self, RegistrationInput};
use crate::domain::identity::{sessions, two_step};
use crate::domain::{policy, users, DomainError, FieldErrors};
use crate::startup::AppState;
use crate::web::error::{human_wait, AppError};
use crate::web::extract::{client, Viewer};
use crate::web::layout::Layout;
use crate::web::session::PortalSession;
use crate::web::{render, run, safe_next, see_other};

#[derive(Debug, Default, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    pub next: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/sign_in.html")]
pub struct SignInPage {
    pub layout: Layout,
    pub email: String,
    pub next: String,
    pub error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
}

pub async fn sign_in_form(viewer: Viewer, query: crate::web::form::Query<NextQuery>) -> Result<HttpResponse, AppError> {
    let next = safe_next(query.next.as_deref()).to_string();
    if viewer.actor.is_some() {
        return Ok(see_other(&next));
    }
    if viewer.person.is_some() {
        return Ok(see_other("/welcome"));
    }
    render(StatusCode::OK, &SignInPage { layout: viewer.layout, email: String::new(), next, error: None })
}

/// After the password (or an invitation, or a reset): a session at once, or
/// first the two-step code, or for operations without one, enrolment.
pub(crate) async fn complete_sign_in(req: &HttpRequest, state: &AppState, user: User, next: &str) -> Result<HttpResponse, AppError> {
    let session = PortalSession::from_request(req);
    if user.totp_enabled_at.is_some() {
        session.set_pending(user.id, next).map_err(AppError::internal)?;
        return Ok(see_other("/sign-in/two-step"));
    }
    let kind = match user.company_id {
        Some(id) => {
            let company = run(state, move |conn| Ok(membership::company_name(conn, id)?)).await??;
            crate::domain::company::CompanyKind::parse(&company.kind)
        }
        None => None,
    };
    if state.settings.two_step_for_operations && policy::two_step_required(kind) {
        session.set_pending(user.id, next).map_err(AppError::internal)?;
        return Ok(see_other("/sign-in/two-step/enrol"));
    }
    start_session(req, state, user, next).await
}

/// Opens the session row and signs the browser in.
pub(crate) async fn start_session(req: &HttpRequest, state: &AppState, user: User, next: &str) -> Result<HttpResponse, AppError> {
    let who = client(req, state.settings.trust_forwarded_for);
    let confirmed = user.email_confirmed_at.is_some() && user.company_id.is_some();
    let user_id = user.id;
    let base = state.settings.base_url.clone();
    let token = run(state, move |conn| Ok(sessions::start(conn, &user, &who, &base)?)).await??;
    state.wake_mail_worker();
    PortalSession::from_request(req).sign_in(&token).map_err(AppError::internal)?;
    tracing::info!(user_id, "signed in");
    Ok(see_other(if confirmed { next } else { "/welcome" }))
}

pub async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: crate::web::form::Form<SignInForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let next = safe_next(form.next.as_deref()).to_string();
    let address = crate::web::extract::client_address(&req, state.settings.trust_forwarded_for);
    let (email, password) = (form.email.clone(), form.password);
    // The password is checked between two database calls, holding no
    // connection while its hash waits its turn and runs.
    let at = address.clone();
    let outcome = match run(&state, move |conn| users::begin_sign_in(conn, &email, &at)).await? {
        Ok(attempt) => {
            let checked = web::block(move || attempt.check(&password)).await?;
            run(&state, move |conn| users::finish_sign_in(conn, checked, &address)).await?
        }
        Err(e) => Err(e),
    };
    let page =
        |error: String| SignInPage { layout: viewer.layout.clone(), email: form.email.clone(), next: next.clone(), error: Some(error) };
    match outcome {
        Ok(user) => complete_sign_in(&req, &state, user, &next).await,
        Err(DomainError::Invalid(_)) => render(StatusCode::BAD_REQUEST, &page("That email and password do not match an account.".into())),
        Err(DomainError::Conflict(m)) => render(StatusCode::FORBIDDEN, &page(m)),
        Err(DomainError::Throttled { retry_after_secs }) => {
            let mut resp = render(
                StatusCode::TOO_MANY_REQUESTS,
                &page(format!("Too many failed sign-ins. Please wait {} and try again.", human_wait(retry_after_secs))),
            )?;
            resp.headers_mut().insert(actix_web::http::header::RETRY_AFTER, actix_web::http::header::HeaderValue::from(retry_after_secs));
            Ok(resp)
        }
        Err(e) => Err(e.into()),
    }
}

/// Ends this browser's session row, so a copy of the cookie opens nothing.
pub async fn sign_out(req: HttpRequest, state: web::Data<AppState>, session: PortalSession) -> Result<HttpResponse, AppError> {
    if let Some(token) = session.token() {
        let who = client(&req, state.settings.trust_forwarded_for);
        run(&state, move |conn| Ok(sessions::end(conn, &token, &who)?)).await??;
    }
    session.sign_out();
    session.flash("info", "You are signed out.");
    Ok(see_other("/sign-in"))
}

#[derive(Debug, Default, Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub company_name: String,
    pub next: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/register.html")]
pub struct RegisterPage {
    pub layout: Layout,
    pub next: String,
    pub name: String,
    pub email: String,
    pub company_name: String,
    pub errors: FieldErrors,
}

pub async fn register_form(viewer: Viewer, query: crate::web::form::Query<NextQuery>) -> Result<HttpResponse, AppError> {
    let next = safe_next(query.next.as_deref()).to_string();
    if viewer.actor.is_some() {
        return Ok(see_other(&next));
    }
    if viewer.person.is_some() {
        return Ok(see_other("/welcome"));
    }
    render(
        StatusCode::OK,
        &RegisterPage {
            layout: viewer.layout,
            next,
            name: String::new(),
            email: String::new(),
            company_name: String::new(),
            errors: FieldErrors::new(),
        },
    )
}

/// Registration makes a person and mails a confirmation link; the browser
/// is signed in as that person, who sees only "check your mail" until then.
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: crate::web::form::Form<RegisterForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = RegistrationInput {
        name: form.name.clone(),
        email: form.email.clone(),
        password: form.password,
        company_name: form.company_name.clone(),
    };
    let base_url = state.settings.base_url.clone();
    let ip = crate::web::extract::client_address(&req, state.settings.trust_forwarded_for);
    // The password is hashed before the database call, holding no connection.
    let prepared = web::block(move || membership::prepare_registration(&input)).await?;
    let registered = match prepared {
        Ok(registration) => run(&state, move |conn| membership::register(conn, registration, &ip, &base_url)).await?,
        Err(e) => Err(e),
    };
    match registered {
        Ok(user) => {
            state.wake_mail_worker();
            let response = start_session(&req, &state, user, "/welcome").await?;
            let session = PortalSession::from_request(&req);
            session.flash("success", "Your account is made. We have emailed you a link to confirm your address.");
            let next = safe_next(form.next.as_deref());
            if next != "/" {
                session.set_after_confirm(next);
            }
            Ok(response)
        }
        Err(DomainError::Invalid(errors)) => render(
            StatusCode::BAD_REQUEST,
            &RegisterPage {
                layout: viewer.layout,
                next: safe_next(form.next.as_deref()).to_string(),
                name: form.name,
                email: form.email,
                company_name: form.company_name,
                errors,
            },
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "auth/two_step.html")]
pub struct TwoStepPage {
    pub layout: Layout,
    pub error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    pub code: String,
}

/// The second step: a code from the authenticator app or a recovery code.
pub async fn two_step_form(viewer: Viewer, session: PortalSession) -> Result<HttpResponse, AppError> {
    if session.pending().is_none() {
        return Ok(see_other("/sign-in"));
    }
    render(StatusCode::OK, &TwoStepPage { layout: viewer.layout, error: None })
}

pub async fn two_step(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    session: PortalSession,
    form: crate::web::form::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let Some((user_id, next)) = session.pending() else {
        session.flash("info", "Please sign in again: the two-step sign-in waited too long.");
        return Ok(see_other("/sign-in"));
    };
    let ip = crate::web::extract::client_address(&req, state.settings.trust_forwarded_for);
    let code = form.into_inner().code;
    match run(&state, move |conn| two_step::verify(conn, user_id, &code, &ip)).await? {
        Ok(user) => start_session(&req, &state, user, &next).await,
        Err(DomainError::Invalid(e)) => {
            render(StatusCode::BAD_REQUEST, &TwoStepPage { layout: viewer.layout, error: e.get("code").map(str::to_string) })
        }
        Err(DomainError::Throttled { retry_after_secs }) => render(
            StatusCode::TOO_MANY_REQUESTS,
            &TwoStepPage {
                layout: viewer.layout,
                error: Some(format!("Too many wrong codes. Please wait {} and try again.", human_wait(retry_after_secs))),
            },
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "auth/two_step_enrol.html")]
pub struct EnrolPage {
    pub layout: Layout,
    pub action: &'static str,
    pub required: bool,
    pub secret: String,
    pub qr_svg: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/recovery_codes.html")]
pub struct RecoveryCodesPage {
    pub layout: Layout,
    pub codes: Vec<String>,
    pub continue_to: String,
}

/// The enrolment form: a secret kept in the session until a code confirms it.
pub(crate) async fn enrol_page(
    state: &AppState,
    session: &PortalSession,
    layout: Layout,
    user_id: i64,
    action: &'static str,
    required: bool,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let secret = match session.enrol_secret() {
        Some(s) => s,
        None => {
            let s = two_step::new_secret();
            session.set_enrol_secret(&s);
            s
        }
    };
    let s = secret.clone();
    let qr_svg = run(state, move |conn| {
        use diesel::prelude::*;
        let email: String = crate::db::schema::users::table.find(user_id).select(crate::db::schema::users::email).first(conn)?;
        two_step::qr_svg(&s, &email)
    })
    .await??;
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    render(status, &EnrolPage { layout, action, required, secret, qr_svg, error })
}

/// Operations staff without two-step sign-in set it up before their first page.
pub async fn enrol_form(state: web::Data<AppState>, viewer: Viewer, session: PortalSession) -> Result<HttpResponse, AppError> {
    let Some((user_id, _)) = session.pending() else { return Ok(see_other("/sign-in")) };
    enrol_page(&state, &session, viewer.layout, user_id, "/sign-in/two-step/enrol", true, None).await
}

pub async fn enrol(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    session: PortalSession,
    form: crate::web::form::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let Some((user_id, next)) = session.pending() else { return Ok(see_other("/sign-in")) };
    let Some(secret) = session.enrol_secret() else { return Ok(see_other("/sign-in/two-step/enrol")) };
    let ip = crate::web::extract::client_address(&req, state.settings.trust_forwarded_for);
    let code = form.into_inner().code;
    match run(&state, move |conn| two_step::enable(conn, user_id, &secret, &code, &ip)).await? {
        Ok(codes) => {
            let user = run(&state, move |conn| {
                use diesel::prelude::*;
                Ok(crate::db::schema::users::table.find(user_id).select(User::as_select()).first(conn)?)
            })
            .await??;
            let mut response = start_session(&req, &state, user, &next).await?;
            let continue_to =
                response.headers().get(actix_web::http::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("/").to_string();
            let page = RecoveryCodesPage { layout: viewer.layout, codes, continue_to };
            let body = page.render().map_err(AppError::internal)?;
            // Same cookies, but show the codes before going on.
            *response.status_mut() = StatusCode::OK;
            response.headers_mut().remove(actix_web::http::header::LOCATION);
            response.headers_mut().insert(
                actix_web::http::header::CONTENT_TYPE,
                actix_web::http::header::HeaderValue::from_static("text/html; charset=utf-8"),
            );
            Ok(response.set_body(actix_web::body::BoxBody::new(body)))
        }
        Err(DomainError::Invalid(e)) => {
            enrol_page(&state, &session, viewer.layout, user_id, "/sign-in/two-step/enrol", true, e.get("code").map(str::to_string)).await
        }
        Err(DomainError::Throttled { retry_after_secs }) => Err(AppError::TooManyRequests { retry_after_secs }),
        Err(e) => Err(e.into()),
    }
}
