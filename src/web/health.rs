//! `/healthz` for load balancers: 200 when the database answers, 503 when not.
//!
//! One check runs at a time, and its answer serves every request for
//! `FRESH` after it: a load balancer (or many) polling every instance costs
//! the database at most a few checks a second, and the answer is never
//! older than that. A check that does not finish within 1.8 s counts as a
//! failure, so the answer comes within 2 seconds either way.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::{web, HttpResponse};

use crate::startup::AppState;

/// How long one check's answer stands.
pub const FRESH: Duration = Duration::from_millis(250);
const BOUND: Duration = Duration::from_millis(1800);

/// The last check's time and answer, and the lock that lets one check run at a time.
#[derive(Default)]
pub struct HealthCheck {
    last: Mutex<Option<(Instant, bool)>>,
    running: tokio::sync::Mutex<()>,
}

impl HealthCheck {
    fn fresh(&self) -> Option<bool> {
        let last = *self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.filter(|(at, _)| at.elapsed() < FRESH).map(|(_, ok)| ok)
    }

    fn record(&self, ok: bool) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), ok));
    }
}

pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let ok = match state.health.fresh() {
        Some(ok) => ok,
        None => {
            let _one_at_a_time = tokio::time::timeout(BOUND, state.health.running.lock()).await;
            match state.health.fresh() {
                // Another request's check finished while this one waited.
                Some(ok) => ok,
                None => {
                    let ok = check(&state).await;
                    state.health.record(ok);
                    ok
                }
            }
        }
    };
    if ok {
        HttpResponse::Ok().content_type("text/plain").body("ok")
    } else {
        HttpResponse::ServiceUnavailable().content_type("text/plain").body("database unavailable")
    }
}

async fn check(state: &AppState) -> bool {
    let pool = state.pool.clone();
    let url = state.settings.database_url.clone();
    match tokio::time::timeout(BOUND, web::block(move || crate::db::check_health(&pool, &url))).await {
        Ok(Ok(Ok(()))) => true,
        Err(_) => {
            tracing::warn!("health check: the database did not answer in time");
            false
        }
        Ok(Ok(Err(e))) => {
            tracing::warn!(error = %e, "health check failed");
            false
        }
        Ok(Err(_)) => false,
    }
}
