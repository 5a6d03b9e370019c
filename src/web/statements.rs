//! SQL statements per request: the handlers' database work adds to a count
//! kept for the request, logged at debug level when the response is ready
//! (`RUST_LOG=smart_account_portal=debug` or `portal=debug`).
//!
//! A page view (GET or HEAD) also keeps the pooled connection its first
//! database work checked out (the signed-in person), so the page's work runs
//! on it: one checkout per request, and on PostgreSQL one validity check
//! less. It goes back to the pool when the response is ready; on SQLite the
//! signed-in check and the page's reads are one read transaction on it
//! (`db::begin_page_reads`), ended then. Requests that
//! change something give theirs back at once: they may do slow work between
//! database calls (a password hash, say) that should not hold a connection.

use std::cell::{Cell, RefCell};

use crate::db::PooledConnection;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

tokio::task_local! {
    static STATEMENTS: Cell<u64>;
    static HELD: RefCell<Held>;
}

#[derive(Default)]
struct Held {
    /// Whether this request keeps a connection (page views only).
    keeps: bool,
    conn: Option<PooledConnection>,
    /// The connection is in the page view's read transaction
    /// (`db::begin_page_reads`), ended when the request is done with it.
    reading: bool,
}

impl Held {
    fn end_reads(&mut self) {
        if std::mem::take(&mut self.reading) {
            if let Some(conn) = self.conn.as_mut() {
                crate::db::end_page_reads(conn);
            }
        }
    }
}

impl Drop for Held {
    /// The response is ready, or the request was dropped: the connection
    /// goes back to the pool out of its read transaction.
    fn drop(&mut self) {
        self.end_reads();
    }
}

/// From now on this request keeps the connection it is given (see `keep`).
pub fn keep_connections() {
    let _ = HELD.try_with(|h| h.borrow_mut().keeps = true);
}

/// The connection this request holds, if any, out of any read
/// transaction (taken: give it back with `keep`).
pub fn take_held() -> Option<PooledConnection> {
    HELD.try_with(|h| {
        let mut h = h.borrow_mut();
        h.end_reads();
        h.conn.take()
    })
    .ok()
    .flatten()
}

/// The connection this request holds, if any, still in its read
/// transaction when it is in one (for a page view's reads; give it back
/// with `keep_reading`, which it tells).
pub fn take_held_reading() -> Option<(PooledConnection, bool)> {
    HELD.try_with(|h| {
        let mut h = h.borrow_mut();
        let reading = std::mem::take(&mut h.reading);
        h.conn.take().map(|c| (c, reading))
    })
    .ok()
    .flatten()
}

/// Keeps `conn` for the rest of a page view; otherwise it goes back to the pool.
pub fn keep(conn: PooledConnection) {
    keep_reading(conn, false);
}

/// `keep` for a connection that may be in the page view's read transaction
/// (`reading`), ended when the request is done with it, or at once when
/// the request keeps no connection.
pub fn keep_reading(mut conn: PooledConnection, reading: bool) {
    let keeps = HELD.try_with(|h| h.borrow().keeps).unwrap_or(false);
    if !keeps {
        if reading {
            crate::db::end_page_reads(&mut conn);
        }
        return;
    }
    let _ = HELD.try_with(|h| {
        let mut h = h.borrow_mut();
        h.end_reads();
        h.conn = Some(conn);
        h.reading = reading;
    });
}

/// Adds `n` statements to the current request's count (nothing outside a request).
pub fn add(n: u64) {
    let _ = STATEMENTS.try_with(|c| c.set(c.get() + n));
}

/// Middleware: keeps the count for one request and logs it.
pub async fn count(req: ServiceRequest, next: Next<impl MessageBody>) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let counted = STATEMENTS.scope(Cell::new(0), async move {
        let response = next.call(req).await;
        let statements = STATEMENTS.with(Cell::get);
        tracing::debug!(statements, "SQL statements of the request");
        response
    });
    HELD.scope(RefCell::new(Held::default()), counted).await
}
