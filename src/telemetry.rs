//! Structured logs: one line per request with its id, user and latency;
//! `RUST_LOG` chooses the detail.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use tracing::Instrument;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::EnvFilter;

/// Log lines are written by a thread of their own, so a request never
/// waits on the terminal or the file behind standard output; when the
/// writer falls behind, requests wait rather than lines being lost.
/// Colours only on a terminal. Keep the guard until the process ends:
/// dropping it writes out what is queued.
pub fn init() -> tracing_appender::non_blocking::WorkerGuard {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let ansi = std::io::stdout().is_terminal();
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default().lossy(false).finish(std::io::stdout());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::CLOSE)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(writer)
        .try_init();
    guard
}

/// A request's id in the log: this process's random tag and a counter, so
/// ids are unique across instances without asking the system for
/// randomness on every request.
fn next_request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static TAG: OnceLock<String> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let tag = TAG.get_or_init(|| format!("{:08x}", rand::random::<u32>()));
    format!("{tag}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Middleware: one span per request, logged when it closes with its id,
/// method, path (without the query, which may hold what someone searched
/// for), client address, signed-in user, status and time. Events logged
/// while the request runs carry the same fields. Load balancers' health
/// probes, several a second per instance, are not logged: a failing check
/// logs its own warning.
pub async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.path() == "/healthz" || !tracing::enabled!(tracing::Level::INFO) {
        return next.call(req).await;
    }
    let client = match req.app_data::<actix_web::web::Data<crate::startup::AppState>>() {
        Some(state) => crate::web::extract::client_address(req.request(), state.settings.trust_forwarded_for),
        None => req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default(),
    };
    let span = tracing::info_span!(
        "request",
        id = %next_request_id(),
        method = %req.method(),
        path = req.path(),
        client = %client,
        user_id = tracing::field::Empty,
        status = tracing::field::Empty,
    );
    let response = next.call(req).instrument(span.clone()).await;
    let status = match &response {
        Ok(r) => r.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    span.record("status", status.as_u16());
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_ids_share_the_process_tag_and_never_repeat() {
        let ids: Vec<String> = (0..1000).map(|_| super::next_request_id()).collect();
        let tag = ids[0].split('-').next().unwrap().to_string();
        assert_eq!(tag.len(), 8);
        assert!(ids.iter().all(|id| id.starts_with(&format!("{tag}-"))), "{ids:?}");
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
    }
}
