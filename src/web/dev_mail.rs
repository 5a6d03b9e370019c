//! The development mail viewer: what the file transport wrote, readable in
//! the browser with its links clickable. Off when mail goes to SMTP.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::mail::viewer::{self, BodyPart, MailDetail, MailSummary};
use crate::startup::AppState;
use crate::web::error::AppError;
use crate::web::extract::Viewer;
use crate::web::layout::Layout;
use crate::web::render;

#[derive(Template)]
#[template(path = "dev/mail_list.html")]
pub struct MailListPage {
    pub layout: Layout,
    pub mails: Vec<MailSummary>,
}

#[derive(Template)]
#[template(path = "dev/mail_detail.html")]
pub struct MailDetailPage {
    pub layout: Layout,
    pub mail: MailDetail,
}

pub async fn mail_list(state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse, AppError> {
    let dir = state.mail.files_dir().cloned().ok_or(AppError::NotFound)?;
    let mails = web::block(move || viewer::list(&dir)).await?;
    render(StatusCode::OK, &MailListPage { layout: viewer.layout, mails })
}

pub async fn mail_detail(state: web::Data<AppState>, viewer: Viewer, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let dir = state.mail.files_dir().cloned().ok_or(AppError::NotFound)?;
    let id = id.into_inner();
    let mail = web::block(move || viewer::read(&dir, &id)).await?.ok_or(AppError::NotFound)?;
    render(StatusCode::OK, &MailDetailPage { layout: viewer.layout, mail })
}

impl BodyPart {
    pub fn link(&self) -> Option<&str> {
        match self {
            BodyPart::Link(l) => Some(l),
            BodyPart::Text(_) => None,
        }
    }
    pub fn text(&self) -> &str {
        match self {
            BodyPart::Link(t) | BodyPart::Text(t) => t,
        }
    }
}
