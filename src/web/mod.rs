//! The web layer: routes, handlers by area, extractors, CSRF, session and
//! errors. Handlers parse input, make one domain call and render.

pub mod account_request;
pub mod accounts;
pub mod assets;
pub mod auth;
pub mod csrf;
pub mod dev_mail;
pub mod error;
pub mod extract;
pub mod health;
pub mod home;
pub mod layout;
pub mod licenses;
pub mod orders;
pub mod profile;
pub mod routes;
pub mod sa_orders;
pub mod session;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;

use crate::web::error::AppError;

/// Runs a domain call on a pooled connection off the async threads. The
/// outer error is infrastructure (pool, thread); the inner is the domain's.
pub async fn run<T, F>(state: &crate::startup::AppState, f: F) -> Result<crate::domain::error::DomainResult<T>, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut crate::db::DbConnection) -> crate::domain::error::DomainResult<T> + Send + 'static,
{
    let pool = state.pool.clone();
    let result = actix_web::web::block(move || -> Result<crate::domain::error::DomainResult<T>, AppError> {
        let mut conn = pool.get()?;
        Ok(f(&mut conn))
    })
    .await??;
    Ok(result)
}

/// Form fields as pairs, for forms with repeated names (checkbox lists).
pub fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

pub fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

pub fn fields_i64(pairs: &[(String, String)], name: &str) -> Vec<i64> {
    pairs.iter().filter(|(k, _)| k == name).filter_map(|(_, v)| v.parse().ok()).collect()
}

/// Renders a page with a status (400 for a form shown again with errors).
pub fn render(status: StatusCode, page: &impl Template) -> Result<HttpResponse, AppError> {
    let body = page.render().map_err(AppError::internal)?;
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body))
}

/// A 303 to `location` (post → redirect → get).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((actix_web::http::header::LOCATION, location.to_string())).finish()
}

/// Only local paths are followed after sign-in, never another site.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") && !n.contains("://") => n,
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/profile?x=1")), "/profile?x=1");
        for bad in ["//evil.example", "https://evil.example", "/\\evil.example", "profile", "/x?u=http://e"] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
