//! `/healthz` for load balancers: 200 when the database answers, 503 when not.

use actix_web::{web, HttpResponse};

use crate::startup::AppState;

pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    let url = state.settings.database_url.clone();
    let ok = web::block(move || crate::db::check_health(&pool, &url)).await;
    match ok {
        Ok(Ok(())) => HttpResponse::Ok().content_type("text/plain").body("ok"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check failed");
            HttpResponse::ServiceUnavailable().content_type("text/plain").body("database unavailable")
        }
        Err(_) => HttpResponse::ServiceUnavailable().content_type("text/plain").body("database unavailable"),
    }
}
