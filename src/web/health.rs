//! `/healthz` for load balancers: 200 when the database answers, 503 when not.

use actix_web::{web, HttpResponse};

use crate::startup::AppState;

pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    let url = state.settings.database_url.clone();
    // A database that stops answering must not hold the health check: the
    // answer comes within 2 seconds either way.
    let ok = tokio::time::timeout(std::time::Duration::from_millis(1800), web::block(move || crate::db::check_health(&pool, &url))).await;
    match ok {
        Ok(Ok(Ok(()))) => HttpResponse::Ok().content_type("text/plain").body("ok"),
        Err(_) => {
            tracing::warn!("health check: the database did not answer in time");
            HttpResponse::ServiceUnavailable().content_type("text/plain").body("database unavailable")
        }
        Ok(Ok(Err(e))) => {
            tracing::warn!(error = %e, "health check failed");
            HttpResponse::ServiceUnavailable().content_type("text/plain").body("database unavailable")
        }
        Ok(Err(_)) => HttpResponse::ServiceUnavailable().content_type("text/plain").body("database unavailable"),
    }
}
