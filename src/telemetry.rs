//! Structured logs: one line per request with its id, user and latency;
//! `RUST_LOG` chooses the detail.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};
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

/// The request span, with room for the signed-in user's id.
pub struct PortalRootSpan;

impl RootSpanBuilder for PortalRootSpan {
    /// Load balancers' health probes, several a second per instance, are
    /// not logged: a failing check logs its own warning.
    fn on_request_start(request: &ServiceRequest) -> Span {
        if request.path() == "/healthz" {
            return Span::none();
        }
        tracing_actix_web::root_span!(request, user_id = tracing::field::Empty)
    }
    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, actix_web::Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
