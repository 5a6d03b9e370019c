//! "My profile": name and notification preferences, password, recent
//! sign-ins and "Sign out everywhere", two-step sign-in, security events.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::domain::identity::passwords::{self, ChangeInput};
use crate::domain::identity::security::SecurityEvent;
use crate::domain::identity::sessions::{self, SignIn};
use crate::domain::identity::two_step;
use crate::domain::users::{self, Preferences};
use crate::domain::{policy, DomainError, FieldErrors};
use crate::startup::AppState;
use crate::web::auth::{enrol_page, RecoveryCodesPage};
use crate::web::error::AppError;
use crate::web::extract::{client_address, SignedIn};
use crate::web::layout::Layout;
use crate::web::session::PortalSession;
use crate::web::{render, run, see_other};

#[derive(Template)]
#[template(path = "profile.html")]
pub struct ProfilePage {
    pub layout: Layout,
    pub name: String,
    pub email: String,
    pub company: String,
    pub company_kind: String,
    pub notify_orders: bool,
    pub notify_reminders: bool,
    pub errors: FieldErrors,
    pub security: Security,
}

/// The security half of the profile.
#[derive(Debug, Clone, Default)]
pub struct Security {
    pub sign_ins: Vec<SignIn>,
    pub events: Vec<SecurityEvent>,
    pub two_step: bool,
    pub two_step_required: bool,
    pub recovery_codes_left: i64,
    pub errors: FieldErrors,
}

async fn security(state: &AppState, user: &SignedIn, errors: FieldErrors) -> Result<Security, AppError> {
    let (id, current) = (user.actor.user_id.0, user.session_id);
    let required = state.settings.two_step_for_operations && policy::two_step_required(Some(user.actor.company_kind));
    run(state, move |conn| {
        use diesel::prelude::*;
        let sign_ins = sessions::recent(conn, id, current, 10)?;
        let events = crate::domain::identity::security::for_person(conn, id, 20)?;
        let enabled: Option<chrono::NaiveDateTime> =
            crate::db::schema::users::table.find(id).select(crate::db::schema::users::totp_enabled_at).first(conn)?;
        let left = two_step::unused_recovery_codes(conn, id)?;
        Ok(Security { sign_ins, events, two_step: enabled.is_some(), two_step_required: required, recovery_codes_left: left, errors })
    })
    .await?
    .map_err(AppError::from)
}

fn page(user: &SignedIn, layout: Layout, security: Security) -> ProfilePage {
    let a = &user.actor;
    ProfilePage {
        name: a.name.clone(),
        email: a.email.clone(),
        company: a.company_name.clone(),
        company_kind: a.company_kind.label().into(),
        notify_orders: a.notify_orders,
        notify_reminders: a.notify_reminders,
        errors: FieldErrors::new(),
        security,
        layout,
    }
}

pub async fn profile_form(state: web::Data<AppState>, user: SignedIn) -> Result<HttpResponse, AppError> {
    let security = security(&state, &user, FieldErrors::new()).await?;
    render(StatusCode::OK, &page(&user, user.layout.clone(), security))
}

#[derive(Debug, Default, Deserialize)]
pub struct PasswordChangeForm {
    #[serde(default)]
    pub current_password: String,
    #[serde(default)]
    pub new_password: String,
}

/// Changes the password; every other session ends.
pub async fn change_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    form: crate::web::form::Form<PasswordChangeForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = ChangeInput { current: form.current_password, new: form.new_password };
    let (id, keep) = (user.actor.user_id.0, user.session_id);
    let ip = client_address(&req, state.settings.trust_forwarded_for);
    // The passwords are checked and hashed with no connection held.
    let stored = run(&state, move |conn| passwords::stored(conn, id)).await??;
    let checked = web::block(move || passwords::check_change(stored, &input)).await?;
    let changed = match checked {
        Ok(checked) => run(&state, move |conn| passwords::change(conn, checked, keep, &ip)).await?,
        Err(e) => Err(e),
    };
    match changed {
        Ok(()) => {
            session.flash("success", "Your password is changed. Every other session has ended.");
            Ok(see_other("/profile"))
        }
        Err(DomainError::Invalid(errors)) => {
            let security = security(&state, &user, errors).await?;
            render(StatusCode::BAD_REQUEST, &page(&user, user.layout.clone(), security))
        }
        Err(e) => Err(e.into()),
    }
}

/// Ends every session of the person, this one included.
pub async fn sign_out_everywhere(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
) -> Result<HttpResponse, AppError> {
    let (id, company) = (user.actor.user_id.0, user.actor.company_id.0);
    let ip = client_address(&req, state.settings.trust_forwarded_for);
    run(&state, move |conn| {
        crate::db::transaction(conn, |conn| {
            let n = sessions::end_all(conn, id, None)?;
            crate::domain::identity::security::own(conn, id, Some(company), "signed_out_everywhere", &format!("{n} sessions ended"), &ip)?;
            Ok::<_, DomainError>(())
        })
    })
    .await??;
    session.sign_out();
    session.flash("info", "You are signed out everywhere.");
    Ok(see_other("/sign-in"))
}

pub async fn two_step_form(state: web::Data<AppState>, user: SignedIn, session: PortalSession) -> Result<HttpResponse, AppError> {
    let id = user.actor.user_id.0;
    let required = state.settings.two_step_for_operations && policy::two_step_required(Some(user.actor.company_kind));
    enrol_page(&state, &session, user.layout, id, "/profile/two-step", required, None).await
}

#[derive(Debug, Default, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    pub code: String,
}

pub async fn enable_two_step(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    form: crate::web::form::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let id = user.actor.user_id.0;
    let Some(secret) = session.enrol_secret() else { return Ok(see_other("/profile/two-step")) };
    let ip = client_address(&req, state.settings.trust_forwarded_for);
    let code = form.into_inner().code;
    let required = state.settings.two_step_for_operations && policy::two_step_required(Some(user.actor.company_kind));
    match run(&state, move |conn| two_step::enable(conn, id, &secret, &code, &ip)).await? {
        Ok(codes) => {
            session.clear_enrol_secret();
            render(StatusCode::OK, &RecoveryCodesPage { layout: user.layout, codes, continue_to: "/profile".into() })
        }
        Err(DomainError::Invalid(e)) => {
            enrol_page(&state, &session, user.layout, id, "/profile/two-step", required, e.get("code").map(str::to_string)).await
        }
        Err(DomainError::Throttled { retry_after_secs }) => Err(AppError::TooManyRequests { retry_after_secs }),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PasswordConfirmForm {
    #[serde(default)]
    pub password: String,
}

/// `disable` two-step sign-in, or make new `recovery-codes`; both need the password.
pub async fn two_step_action(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<String>,
    form: crate::web::form::Form<PasswordConfirmForm>,
) -> Result<HttpResponse, AppError> {
    let (id, keep) = (user.actor.user_id.0, user.session_id);
    let ip = client_address(&req, state.settings.trust_forwarded_for);
    let password = form.into_inner().password;
    let required = state.settings.two_step_for_operations && policy::two_step_required(Some(user.actor.company_kind));
    let disable = match path.into_inner().as_str() {
        "disable" => true,
        "recovery-codes" => false,
        _ => return Err(AppError::NotFound),
    };
    // The password is checked with no connection held.
    let outcome = match if disable { two_step::may_disable(required) } else { Ok(()) } {
        Ok(()) => {
            let stored = run(&state, move |conn| passwords::stored(conn, id)).await??;
            match web::block(move || stored.check(&password, "password")).await? {
                Ok(proof) if disable => run(&state, move |conn| two_step::disable(conn, &proof, keep, required, &ip)).await?.map(|_| None),
                Ok(proof) => run(&state, move |conn| two_step::regenerate_recovery_codes(conn, &proof, &ip)).await?.map(Some),
                Err(errors) => Err(errors.into()),
            }
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(None) => {
            session.flash("success", "Two-step sign-in is off. Every other session has ended.");
            Ok(see_other("/profile"))
        }
        Ok(Some(codes)) => render(StatusCode::OK, &RecoveryCodesPage { layout: user.layout, codes, continue_to: "/profile".into() }),
        Err(DomainError::Invalid(errors)) => {
            let security = security(&state, &user, errors).await?;
            render(StatusCode::BAD_REQUEST, &page(&user, user.layout.clone(), security))
        }
        Err(DomainError::Conflict(m)) => {
            session.flash("error", m);
            Ok(see_other("/profile"))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    pub name: String,
    pub notify_orders: Option<String>,
    pub notify_reminders: Option<String>,
}

pub async fn update_profile(
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    form: crate::web::form::Form<ProfileForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let preferences = Preferences { notify_orders: form.notify_orders.is_some(), notify_reminders: form.notify_reminders.is_some() };
    let actor = user.actor.clone();
    let name = form.name.clone();
    let outcome = run(&state, move |conn| {
        let permit = policy::may_edit_own_profile(&actor);
        users::update_profile(conn, permit, &actor, &name, preferences)
    })
    .await?;
    match outcome {
        Ok(()) => {
            session.flash("success", "Your profile is saved.");
            Ok(see_other("/profile"))
        }
        Err(DomainError::Invalid(errors)) => {
            let security = security(&state, &user, FieldErrors::new()).await?;
            let mut p = page(&user, user.layout.clone(), security);
            p.name = form.name;
            p.notify_orders = preferences.notify_orders;
            p.notify_reminders = preferences.notify_reminders;
            p.errors = errors;
            render(StatusCode::BAD_REQUEST, &p)
        }
        Err(e) => Err(e.into()),
    }
}
