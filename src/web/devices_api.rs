//! The device interface (JSON, `/api/v1/devices/`): devices register with a
//! registration token and then authenticate with their own secret
//! (`Authorization: Bearer <secret>`). Not session- or CSRF-protected: no
//! cookie is involved. Every refusal is a problem+json document and writes
//! nothing.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::domain::licenses::devices::{self, DeviceRefusal, RegisterRequest};
use crate::startup::AppState;

fn problem(status: StatusCode, code: &str, title: &str, detail: &str) -> HttpResponse {
    HttpResponse::build(status).content_type("application/problem+json").json(serde_json::json!({
        "type": format!("/api/v1/problems/{code}"),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    }))
}

fn refused(r: &DeviceRefusal) -> HttpResponse {
    let (status, title) = match r {
        DeviceRefusal::UnknownToken | DeviceRefusal::ExpiredToken | DeviceRefusal::RevokedToken | DeviceRefusal::UsedUpToken => {
            (StatusCode::FORBIDDEN, "Registration token not accepted")
        }
        DeviceRefusal::AccountCannotRegister(_) => (StatusCode::CONFLICT, "The account cannot register products now"),
        DeviceRefusal::Invalid(..) => (StatusCode::UNPROCESSABLE_ENTITY, "Invalid request"),
        DeviceRefusal::UnknownDevice => (StatusCode::NOT_FOUND, "Unknown device"),
        DeviceRefusal::WrongSecret => (StatusCode::UNAUTHORIZED, "Device secret not accepted"),
        DeviceRefusal::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "Internal error"),
    };
    let mut resp = problem(status, r.code(), title, &r.detail());
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            actix_web::http::header::WWW_AUTHENTICATE,
            actix_web::http::header::HeaderValue::from_static("Bearer realm=\"devices\""),
        );
    }
    resp
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, HttpResponse> {
    serde_json::from_slice(body).map_err(|e| {
        problem(StatusCode::BAD_REQUEST, "malformed-json", "Malformed request", &format!("The body must be a JSON object: {e}"))
    })
}

fn bearer(req: &HttpRequest) -> Result<String, HttpResponse> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| refused(&DeviceRefusal::WrongSecret))
}

async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut crate::db::DbConnection) -> Result<T, DeviceRefusal> + Send + 'static,
) -> Result<T, HttpResponse> {
    let pool = state.pool.clone();
    let out = web::block(move || -> Result<T, DeviceRefusal> {
        let mut conn = pool.get().map_err(|e| DeviceRefusal::Internal(e.to_string()))?;
        f(&mut conn)
    })
    .await;
    match out {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(r)) => Err(refused(&r)),
        Err(e) => Err(refused(&DeviceRefusal::Internal(e.to_string()))),
    }
}

pub async fn register(state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let req: RegisterRequest = match parse(&body) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let base = state.settings.base_url.clone();
    match blocking(&state, move |conn| devices::register(conn, &req, &base)).await {
        Ok(done) => {
            state.wake_mail_worker();
            HttpResponse::Created().json(done)
        }
        Err(resp) => resp,
    }
}

#[derive(Deserialize)]
struct UsageBody {
    licenses: i64,
}

pub async fn usage(state: web::Data<AppState>, req: HttpRequest, path: web::Path<i64>, body: web::Bytes) -> HttpResponse {
    let secret = match bearer(&req) {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let UsageBody { licenses } = match parse(&body) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let (id, base) = (path.into_inner(), state.settings.base_url.clone());
    match blocking(&state, move |conn| devices::report(conn, id, &secret, licenses, &base)).await {
        Ok(receipt) => {
            if receipt.insufficient {
                state.wake_mail_worker();
            }
            HttpResponse::Ok().json(receipt)
        }
        Err(resp) => resp,
    }
}

pub async fn deregister(state: web::Data<AppState>, req: HttpRequest, path: web::Path<i64>) -> HttpResponse {
    let secret = match bearer(&req) {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let (id, base) = (path.into_inner(), state.settings.base_url.clone());
    match blocking(&state, move |conn| devices::deregister(conn, id, &secret, &base)).await {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(resp) => resp,
    }
}
