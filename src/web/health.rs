//! `/healthz` for load balancers: 200 when the database answers, 503 when not.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;

use crate::startup::AppState;

pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    let ok = web::block(move || -> anyhow::Result<()> {
        let mut conn = pool.get_timeout(Duration::from_secs(2))?;
        conn.batch_execute("SELECT count(*) FROM companies")?;
        Ok(())
    })
    .await;
    match ok {
        Ok(Ok(())) => HttpResponse::Ok().content_type("text/plain").body("ok"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check failed");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("database unavailable")
        }
        Err(_) => HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("database unavailable"),
    }
}
