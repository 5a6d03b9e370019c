//! A bound on every request: a database that stops answering (a frozen
//! server, a dead network) would otherwise hold the request for as long as
//! the freeze lasts. Past `REQUEST_TIMEOUT` the answer is 503 with the error
//! page; the stuck database call finishes (or fails) on its own thread and
//! its connection goes back to the pool when the database answers again.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;

use crate::web::error::AppError;

pub async fn bound(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let limit = req
        .app_data::<web::Data<crate::startup::AppState>>()
        .map(|s| s.settings.request_timeout)
        .unwrap_or(std::time::Duration::from_secs(10));
    let path = req.path().to_string();
    match tokio::time::timeout(limit, next.call(req)).await {
        Ok(result) => result.map(ServiceResponse::map_into_left_body),
        Err(_) => {
            tracing::warn!(path = %path, timeout = ?limit, "request timed out (is the database answering?)");
            Err(AppError::Unavailable("request timed out".into()).into())
        }
    }
}
