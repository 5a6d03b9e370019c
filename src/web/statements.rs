//! SQL statements per request: the handlers' database work adds to a count
//! kept for the request, logged at debug level when the response is ready
//! (`RUST_LOG=smart_account_portal=debug` or `portal=debug`).

use std::cell::Cell;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

tokio::task_local! {
    static STATEMENTS: Cell<u64>;
}

/// Adds `n` statements to the current request's count (nothing outside a request).
pub fn add(n: u64) {
    let _ = STATEMENTS.try_with(|c| c.set(c.get() + n));
}

/// Middleware: keeps the count for one request and logs it.
pub async fn count(req: ServiceRequest, next: Next<impl MessageBody>) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    STATEMENTS
        .scope(Cell::new(0), async move {
            let response = next.call(req).await;
            let statements = STATEMENTS.with(Cell::get);
            tracing::debug!(statements, "SQL statements of the request");
            response
        })
        .await
}
