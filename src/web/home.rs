//! The start page after sign-in, and the landing pages of the sections the
//! navigation names.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::domain::policy;
use crate::domain::worklist::{self, Worklist};
use crate::startup::AppState;
use crate::web::error::AppError;
use crate::web::extract::{SignedIn, Viewer};
use crate::web::layout::Layout;
use crate::web::{render, run, see_other};

/// Home is a worklist: what waits for the signed-in person, oldest first.
#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub layout: Layout,
    pub name: String,
    pub company: String,
    pub company_kind: String,
    pub is_partner: bool,
    pub is_operations: bool,
    pub worklist: Worklist,
}

pub async fn home(state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse, AppError> {
    let Some(actor) = viewer.actor else {
        return Ok(see_other(if viewer.person.is_some() { "/welcome" } else { "/sign-in" }));
    };
    // The navigation counted the Not Assigned orders already, by the same judgement.
    let counted = viewer.layout.user.as_ref().and_then(|u| u.not_assigned);
    let a = actor.clone();
    let worklist = run(&state, move |conn| worklist::for_actor(conn, &a, counted)).await??;
    render(
        StatusCode::OK,
        &HomePage {
            name: actor.name.clone(),
            company: actor.company_name.clone(),
            company_kind: actor.company_kind.label().into(),
            is_partner: actor.company_kind.is_partner(),
            is_operations: policy::sees_operations_section(&actor),
            worklist,
            layout: viewer.layout,
        },
    )
}

#[derive(Template)]
#[template(path = "section.html")]
pub struct SectionPage {
    pub layout: Layout,
    pub title: &'static str,
    pub summary: &'static str,
}

fn section(user: SignedIn, title: &'static str, summary: &'static str) -> Result<HttpResponse, AppError> {
    render(StatusCode::OK, &SectionPage { layout: user.layout, title, summary })
}

pub async fn operations(user: SignedIn) -> Result<HttpResponse, AppError> {
    if !policy::sees_operations_section(&user.actor) {
        return Err(AppError::NotFound);
    }
    section(user, "Operations", "Booking and shipping orders, domain reviews and support cases.")
}
