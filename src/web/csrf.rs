//! CSRF protection for every state-changing request: a synchronizer token kept
//! in the session, sent as the `csrf_token` form field or, from htmx, the
//! `X-CSRF-Token` header; plus a same-origin check on `Origin` and
//! `Sec-Fetch-Site`.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, ResponseError};

use crate::web::error::AppError;
use crate::web::session::PortalSession;

pub const FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";
/// The only paths exempt from CSRF checks: the device interface.
pub const DEVICE_API: &str = "/api/v1/devices/";

fn bytes_to_payload(buf: web::Bytes) -> Payload {
    let (_, mut pl) = actix_http::h1::Payload::create(true);
    pl.unread_data(buf);
    Payload::from(pl)
}

fn same_origin(req: &ServiceRequest, base_url: &str) -> bool {
    if let Some(site) = req.headers().get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site == "cross-site" || site == "same-site" {
            return false;
        }
    }
    match req.headers().get("origin").and_then(|v| v.to_str().ok()) {
        None | Some("null") => true,
        Some(origin) => {
            let host = req.connection_info().host().to_string();
            let scheme = req.connection_info().scheme().to_string();
            origin == base_url || origin == format!("{scheme}://{host}")
        }
    }
}

fn tokens_match(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub async fn protect(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    // The device interface authenticates each request with a registration
    // token or a device secret, never with the session cookie.
    if safe || req.path().starts_with(DEVICE_API) {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let base_url = req.app_data::<web::Data<crate::startup::AppState>>().map(|s| s.settings.base_url.clone()).unwrap_or_default();
    // Refusals are answered here (not raised), so the response passes back
    // through the middleware that adds the security headers.
    let refuse = |req: ServiceRequest, message: &str| Ok(req.into_response(AppError::Forbidden(message.into()).error_response()));
    if !same_origin(&req, &base_url) {
        return refuse(req, "This request came from another site.");
    }
    let expected = PortalSession::from_request(req.request()).existing_csrf_token();
    let mut presented = req.headers().get(HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
    if presented.is_none() {
        let is_form = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            let (http_req, mut payload) = req.into_parts();
            let body = web::Bytes::from_request(&http_req, &mut payload).await?;
            presented = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
                .ok()
                .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == FIELD).map(|(_, v)| v));
            req = ServiceRequest::from_parts(http_req, bytes_to_payload(body));
        }
    }
    match (expected, presented) {
        (Some(e), Some(p)) if tokens_match(&e, &p) => next.call(req).await.map(ServiceResponse::map_into_boxed_body),
        _ => refuse(req, "Your session has expired or the form was not sent from this portal. Reload the page and try again."),
    }
}
