//! One error type for the web layer. Each variant renders once, here: an
//! error page (or, for htmx, the same page swapped into the body), with
//! internal causes logged under a reference and never shown.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use rand::Rng;

use crate::domain::DomainError;
use crate::web::layout::Layout;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("sign-in needed")]
    Unauthenticated { next: String },
    /// Signed in, but this page is for another stage (e.g. not yet a member).
    #[error("redirect to {0}")]
    Redirect(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: i64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error {reference}")]
    Internal { reference: String },
}

impl AppError {
    /// Logs the whole cause chain under a short reference shown to the user.
    pub fn internal(cause: impl std::fmt::Display + std::fmt::Debug) -> AppError {
        let reference: String = {
            let mut rng = rand::rng();
            (0..8).map(|_| char::from(b"abcdefghjkmnpqrstuvwxyz23456789"[rng.random_range(0..31)])).collect()
        };
        tracing::error!(reference = %reference, error = %cause, chain = ?cause, "internal error");
        AppError::Internal { reference }
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound => AppError::NotFound,
            DomainError::Forbidden => AppError::Forbidden("You do not have permission to do that.".into()),
            DomainError::Conflict(m) => AppError::Conflict(m),
            DomainError::Throttled { retry_after_secs } => AppError::TooManyRequests { retry_after_secs },
            DomainError::Invalid(errors) => AppError::BadRequest(errors.joined()),
            DomainError::Database(e) if unavailable(&e) => AppError::Unavailable(e.to_string()),
            DomainError::Database(e) => AppError::internal(e),
            DomainError::Other(e) => match e.downcast_ref::<diesel::r2d2::PoolError>() {
                Some(p) => AppError::Unavailable(format!("database unavailable: {p}")),
                None => match e.downcast_ref::<diesel::result::Error>() {
                    Some(d) if unavailable(d) => AppError::Unavailable(d.to_string()),
                    _ => AppError::internal(e),
                },
            },
        }
    }
}

/// Whether a database error says the database is out of reach or too slow
/// (a lost connection, a statement or lock timeout, SQLite busy past its
/// timeout), which is a 503 to retry, not a fault of the portal.
pub fn unavailable(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        Error::DatabaseError(_, info) => {
            let m = info.message().to_ascii_lowercase();
            [
                "statement timeout",
                "lock timeout",
                "canceling statement",
                "server closed the connection",
                "no connection to the server",
                "could not receive data",
                "could not send data",
                "terminating connection",
                "connection timed out",
                "database is locked",
                "file is not a database",
                "unable to open database",
                "disk i/o error",
            ]
            .iter()
            .any(|s| m.contains(s))
        }
        _ => false,
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::internal(e)
    }
}

impl From<r2d2_error::PoolError> for AppError {
    fn from(e: r2d2_error::PoolError) -> Self {
        AppError::Unavailable(format!("database unavailable: {e}"))
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        if unavailable(&e) {
            return AppError::Unavailable(e.to_string());
        }
        AppError::internal(e)
    }
}

mod r2d2_error {
    pub type PoolError = diesel::r2d2::PoolError;
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    title: &'static str,
    message: String,
    reference: Option<String>,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthenticated { .. } | AppError::Redirect(_) => StatusCode::SEE_OTHER,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Unauthenticated { next } = self {
            let target = format!("/sign-in?next={}", url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>());
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, target.clone()))
                .insert_header(("HX-Redirect", target))
                .finish();
        }
        if let AppError::Redirect(target) = self {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, target.clone()))
                .insert_header(("HX-Redirect", target.clone()))
                .finish();
        }
        let (title, message, reference) = match self {
            AppError::NotFound => ("Not found", "There is nothing here, or you do not have access to it.".to_string(), None),
            AppError::Forbidden(m) => ("Not allowed", m.clone(), None),
            AppError::BadRequest(m) => ("That did not work", m.clone(), None),
            AppError::Conflict(m) => ("Changed by someone else", m.clone(), None),
            AppError::TooManyRequests { retry_after_secs } => {
                ("Too many attempts", format!("Please wait {} before trying again.", human_wait(*retry_after_secs)), None)
            }
            AppError::Unavailable(_) => {
                ("Temporarily unavailable", "The portal cannot reach its database. Please try again shortly.".to_string(), None)
            }
            AppError::Internal { reference } => (
                "Something went wrong",
                "The portal hit an unexpected error. Nothing was changed. If it happens again, quote the reference below.".to_string(),
                Some(reference.clone()),
            ),
            AppError::Unauthenticated { .. } | AppError::Redirect(_) => unreachable!("handled above"),
        };
        let status = self.status_code();
        let page = ErrorPage { layout: Layout::bare(), status: status.as_u16(), title, message, reference };
        let mut builder = HttpResponse::build(status);
        builder.content_type("text/html; charset=utf-8");
        if let AppError::TooManyRequests { retry_after_secs } = self {
            builder.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        builder.body(page.render().unwrap_or_else(|_| title.to_string()))
    }
}

pub fn human_wait(secs: i64) -> String {
    if secs >= 90 {
        format!("{} minutes", (secs + 59) / 60)
    } else {
        format!("{} seconds", secs.max(1))
    }
}
