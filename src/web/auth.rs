//! Register, sign in, sign out.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::domain::users::{self, RegistrationInput};
use crate::domain::{DomainError, FieldErrors};
use crate::startup::AppState;
use crate::web::error::{human_wait, AppError};
use crate::web::extract::{client_address, Viewer};
use crate::web::layout::Layout;
use crate::web::session::PortalSession;
use crate::web::{render, safe_next, see_other};

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

pub async fn sign_in_form(viewer: Viewer, query: web::Query<NextQuery>) -> Result<HttpResponse, AppError> {
    let next = safe_next(query.next.as_deref()).to_string();
    if viewer.actor.is_some() {
        return Ok(see_other(&next));
    }
    render(StatusCode::OK, &SignInPage { layout: viewer.layout, email: String::new(), next, error: None })
}

pub async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let next = safe_next(form.next.as_deref()).to_string();
    let address = client_address(&req, state.settings.trust_forwarded_for);
    let pool = state.pool.clone();
    let (email, password) = (form.email.clone(), form.password);
    let outcome = web::block(move || {
        let mut conn = pool.get().map_err(|e| DomainError::Other(e.into()))?;
        users::authenticate(&mut conn, &email, &password, &address)
    })
    .await?;
    let page =
        |error: String| SignInPage { layout: viewer.layout.clone(), email: form.email.clone(), next: next.clone(), error: Some(error) };
    match outcome {
        Ok(actor) => {
            let session = PortalSession::from_request(&req);
            session.sign_in(actor.user_id.0).map_err(AppError::internal)?;
            tracing::info!(user_id = actor.user_id.0, "signed in");
            Ok(see_other(&next))
        }
        Err(DomainError::Invalid(_)) => render(StatusCode::BAD_REQUEST, &page("That email and password do not match an account.".into())),
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

pub async fn sign_out(session: PortalSession) -> HttpResponse {
    session.sign_out();
    session.flash("info", "You are signed out.");
    see_other("/sign-in")
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

pub async fn register_form(viewer: Viewer, query: web::Query<NextQuery>) -> Result<HttpResponse, AppError> {
    let next = safe_next(query.next.as_deref()).to_string();
    if viewer.actor.is_some() {
        return Ok(see_other(&next));
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

pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: web::Form<RegisterForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = RegistrationInput {
        name: form.name.clone(),
        email: form.email.clone(),
        password: form.password,
        company_name: form.company_name.clone(),
    };
    let pool = state.pool.clone();
    let base_url = state.settings.base_url.clone();
    let outcome = web::block(move || {
        let mut conn = pool.get().map_err(|e| DomainError::Other(e.into()))?;
        users::register(&mut conn, &input, &base_url)
    })
    .await?;
    match outcome {
        Ok(actor) => {
            state.wake_mail_worker();
            let session = PortalSession::from_request(&req);
            session.sign_in(actor.user_id.0).map_err(AppError::internal)?;
            session.flash(
                "success",
                format!("Welcome, {}. Your account at {} is ready; we have emailed you a welcome message.", actor.name, actor.company_name),
            );
            Ok(see_other(safe_next(form.next.as_deref())))
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
