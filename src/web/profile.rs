//! "My profile": name and notification preferences.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::domain::users::{self, Preferences};
use crate::domain::{policy, DomainError, FieldErrors};
use crate::startup::AppState;
use crate::web::error::AppError;
use crate::web::extract::SignedIn;
use crate::web::layout::Layout;
use crate::web::session::PortalSession;
use crate::web::{render, see_other};

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
}

pub async fn profile_form(user: SignedIn) -> Result<HttpResponse, AppError> {
    let a = &user.actor;
    render(
        StatusCode::OK,
        &ProfilePage {
            name: a.name.clone(),
            email: a.email.clone(),
            company: a.company_name.clone(),
            company_kind: a.company_kind.label().into(),
            notify_orders: a.notify_orders,
            notify_reminders: a.notify_reminders,
            errors: FieldErrors::new(),
            layout: user.layout,
        },
    )
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
    form: web::Form<ProfileForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let preferences = Preferences { notify_orders: form.notify_orders.is_some(), notify_reminders: form.notify_reminders.is_some() };
    let pool = state.pool.clone();
    let actor = user.actor.clone();
    let name = form.name.clone();
    let outcome = web::block(move || {
        let mut conn = pool.get().map_err(|e| DomainError::Other(e.into()))?;
        let permit = policy::may_edit_own_profile(&actor);
        users::update_profile(&mut conn, permit, &actor, &name, preferences)
    })
    .await?;
    match outcome {
        Ok(()) => {
            session.flash("success", "Your profile is saved.");
            Ok(see_other("/profile"))
        }
        Err(DomainError::Invalid(errors)) => {
            let a = &user.actor;
            render(
                StatusCode::BAD_REQUEST,
                &ProfilePage {
                    name: form.name,
                    email: a.email.clone(),
                    company: a.company_name.clone(),
                    company_kind: a.company_kind.label().into(),
                    notify_orders: preferences.notify_orders,
                    notify_reminders: preferences.notify_reminders,
                    errors,
                    layout: user.layout,
                },
            )
        }
        Err(e) => Err(e.into()),
    }
}
