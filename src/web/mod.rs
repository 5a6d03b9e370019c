//! The web layer: routes, handlers by area, extractors, CSRF, session and
//! errors. Handlers parse input, make one domain call and render.

pub mod assets;
pub mod auth;
pub mod csrf;
pub mod dev_mail;
pub mod error;
pub mod extract;
pub mod health;
pub mod home;
pub mod layout;
pub mod profile;
pub mod routes;
pub mod session;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;

use crate::web::error::AppError;

/// Renders a page with a status (400 for a form shown again with errors).
pub fn render(status: StatusCode, page: &impl Template) -> Result<HttpResponse, AppError> {
    let body = page.render().map_err(AppError::internal)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// A 303 to `location` (post → redirect → get).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location.to_string()))
        .finish()
}

/// Only local paths are followed after sign-in, never another site.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.contains("://") =>
        {
            n
        }
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/profile?x=1")), "/profile?x=1");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "profile",
            "/x?u=http://e",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
