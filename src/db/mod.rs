//! Database access: one connection type over SQLite and PostgreSQL, the r2d2
//! pool, and the migrations embedded per backend. Row structs live in `models`.

pub mod ids;
pub mod models;
pub mod schema;
pub mod stamp;
pub mod union;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::prelude::*;
use diesel::r2d2::{self, CustomizeConnection, ManageConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// One connection type for both backends; queries written once run on either.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

diesel::define_sql_function! {
    /// Lowercase text, on both backends.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// `column IN (subquery)` for a subquery that yields a person's few rows
/// (their colleagues, say), written so each planner reads the column's index
/// for them rather than walking another index and filtering, whatever its
/// statistics average: on SQLite with the hint `likelihood(…, 0.0001)` (a
/// literal there: SQLite refuses a bound value), on PostgreSQL as
/// `column = ANY(ARRAY(subquery))`, a value known only at run time that the
/// planner judges by the column's declared number of distinct values. The
/// statement stays cacheable, which `dsl::sql` would not allow.
#[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
pub struct InFew<C, S>(pub C, pub S);

impl<C, S> diesel::Expression for InFew<C, S> {
    type SqlType = diesel::sql_types::Bool;
}

impl<C, S, QS> diesel::AppearsOnTable<QS> for InFew<C, S> where C: diesel::AppearsOnTable<QS> {}

impl<C, S, QS> diesel::SelectableExpression<QS> for InFew<C, S> where C: diesel::SelectableExpression<QS> {}

impl<C, S> diesel::expression::ValidGrouping<()> for InFew<C, S> {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl<C, S> diesel::query_builder::QueryFragment<MultiBackend> for InFew<C, S>
where
    C: diesel::query_builder::QueryFragment<MultiBackend>,
    S: diesel::query_builder::QueryFragment<MultiBackend>,
{
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        let sqlite = matches!(out.backend(), MultiBackend::Sqlite(_));
        if sqlite {
            out.push_sql("likelihood(");
            self.0.walk_ast(out.reborrow())?;
            out.push_sql(" IN (");
            self.1.walk_ast(out.reborrow())?;
            out.push_sql("), 0.0001)");
        } else {
            self.0.walk_ast(out.reborrow())?;
            out.push_sql(" = ANY(ARRAY(");
            self.1.walk_ast(out.reborrow())?;
            out.push_sql("))");
        }
        Ok(())
    }
}

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// Picks the backend from the URL scheme, so a PostgreSQL error is reported as
/// itself rather than as "invalid connection url for multiconnection".
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: String,
    backend: Backend,
}

impl ConnectionManager {
    pub fn new(url: &str) -> Self {
        let backend = Backend::of_url(url);
        let url = match backend {
            Backend::Sqlite => url.strip_prefix("sqlite://").unwrap_or(url).to_string(),
            Backend::Postgres => bounded_postgres_url(url),
        };
        ConnectionManager { url, backend }
    }
}

/// PostgreSQL connection parameters that bound every wait, unless the URL
/// sets them itself: a connect timeout, TCP keepalives (a dead peer is
/// noticed in about a minute, not two hours) and server-side statement and
/// lock timeouts. A database that stops answering altogether is bounded
/// above this, by the request timeout and the pool's checkout timeout.
pub fn bounded_postgres_url(url: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let present: Vec<&str> = query.split('&').filter_map(|kv| kv.split('=').next()).filter(|k| !k.is_empty()).collect();
    let mut params: Vec<String> = query.split('&').filter(|kv| !kv.is_empty()).map(str::to_string).collect();
    for (key, value) in [
        ("connect_timeout", "3"),
        ("keepalives", "1"),
        ("keepalives_idle", "30"),
        ("keepalives_interval", "10"),
        ("keepalives_count", "3"),
        ("options", "-c%20statement_timeout%3D5000%20-c%20lock_timeout%3D3000"),
    ] {
        if !present.contains(&key) {
            params.push(format!("{key}={value}"));
        }
    }
    format!("{base}?{}", params.join("&"))
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match self.backend {
            Backend::Postgres => {
                diesel::PgConnection::establish(&self.url).map(DbConnection::Postgresql).map_err(r2d2::Error::ConnectionError)
            }
            Backend::Sqlite => {
                configure_sqlite();
                diesel::SqliteConnection::establish(&self.url).map(DbConnection::Sqlite).map_err(r2d2::Error::ConnectionError)
            }
        }
    }

    /// PostgreSQL: a round trip when the connection has been idle for a
    /// while (`PROBE_AFTER`), as the server may have closed it since; one
    /// that answered a moment ago is handed out as it is, and should it
    /// have died since, the statement that finds out marks it lost and the
    /// pool drops it (`has_broken`). The probe is not counted as a
    /// statement of the request. SQLite: an open connection to a file
    /// stays usable, so checking out costs nothing.
    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        let answered = conn.instrumentation().downcast_ref::<StatementCounter>().and_then(|c| c.answered);
        match conn {
            DbConnection::Postgresql(_) if answered.is_some_and(|at| at.elapsed() < PROBE_AFTER) => Ok(()),
            DbConnection::Postgresql(c) => {
                let probed = c.batch_execute("SELECT 1").map_err(r2d2::Error::QueryError);
                if let Some(counter) = conn.instrumentation().downcast_mut::<StatementCounter>() {
                    counter.uncount_probe();
                }
                probed
            }
            // A transaction left open (a page view's reads that ended in a
            // panic, say) is rolled back here rather than handed on.
            DbConnection::Sqlite(c) => {
                use diesel::connection::{AnsiTransactionManager, TransactionManager};
                if AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth().map_err(r2d2::Error::QueryError)?.is_some()
                {
                    AnsiTransactionManager::rollback_transaction(c).map_err(r2d2::Error::QueryError)?;
                    uncount(conn);
                }
                Ok(())
            }
        }
    }

    /// A connection on which a statement found the server gone.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.instrumentation().downcast_ref::<StatementCounter>().is_some_and(|c| c.lost)
    }
}

/// Counts the SQL statements a pool's connections run: in total (shared by
/// every connection of the pool) and on this connection, so a request can
/// tell how many statements it ran.
/// With `RUST_LOG=portal::sql=trace`, it also logs each statement with the
/// time it took.
pub struct StatementCounter {
    total: Arc<AtomicU64>,
    here: u64,
    /// When a statement last finished without error.
    answered: Option<std::time::Instant>,
    /// A statement found the connection closed or could not be sent.
    lost: bool,
    /// The statement running and when it started, while tracing.
    running: Option<(std::time::Instant, String)>,
    /// A PostgreSQL connection whose statements all run on their generic
    /// plan (`build_plan_stable_pool`).
    generic_plans: bool,
}

impl Instrumentation for StatementCounter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                self.here += 1;
                self.total.fetch_add(1, Ordering::Relaxed);
                if tracing::enabled!(target: "portal::sql", tracing::Level::TRACE) {
                    let sql = query.to_string();
                    self.running = Some((std::time::Instant::now(), sql));
                }
            }
            InstrumentationEvent::FinishQuery { error, .. } => {
                match error {
                    None => self.answered = Some(std::time::Instant::now()),
                    Some(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::ClosedConnection | diesel::result::DatabaseErrorKind::UnableToSendCommand,
                        _,
                    )) => self.lost = true,
                    Some(_) => {}
                }
                if let Some((started, sql)) = self.running.take() {
                    tracing::trace!(target: "portal::sql", micros = started.elapsed().as_micros() as u64, "{sql}");
                }
            }
            _ => {}
        }
    }
}

impl StatementCounter {
    /// The checkout probe is the pool's, not a statement of the request
    /// (nor a page view's read transaction, see `begin_page_reads`).
    fn uncount_probe(&mut self) {
        if self.here > 0 {
            self.here -= 1;
            self.total.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// A PostgreSQL connection idle longer than this is probed before it is handed out.
const PROBE_AFTER: Duration = Duration::from_secs(5);

/// How many statements have run on this connection since the pool opened it
/// (0 for a connection from outside a pool).
pub fn statements_on(conn: &mut DbConnection) -> u64 {
    conn.instrumentation().downcast_ref::<StatementCounter>().map(|c| c.here).unwrap_or(0)
}

/// Per-connection settings: the statement counter, and for SQLite waiting for
/// the writer instead of failing and enforcing foreign keys.
#[derive(Debug, Clone)]
struct Customizer {
    statements: Arc<AtomicU64>,
    /// PostgreSQL: every statement on its generic plan.
    generic_plans: bool,
}

impl CustomizeConnection<DbConnection, r2d2::Error> for Customizer {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        let generic_plans = match conn {
            DbConnection::Sqlite(c) => {
                c.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
                    .map_err(r2d2::Error::QueryError)?;
                false
            }
            DbConnection::Postgresql(c) if self.generic_plans => {
                // Named, so that `pg_stat_activity` tells the two pools apart.
                c.batch_execute(&format!("SET plan_cache_mode = force_generic_plan; SET application_name = '{PLAN_STABLE_NAME}'"))
                    .map_err(r2d2::Error::QueryError)?;
                true
            }
            DbConnection::Postgresql(_) => false,
        };
        conn.set_instrumentation(StatementCounter {
            total: self.statements.clone(),
            here: 0,
            answered: None,
            lost: false,
            running: None,
            generic_plans,
        });
        Ok(())
    }
}

/// SQLite's process-wide settings, before its first connection: a pooled
/// connection is used by one thread at a time, so SQLite need not lock each
/// connection's mutexes on every call (multi-thread mode), and it keeps no
/// memory statistics, which take a global mutex on every allocation. Once
/// SQLite has started these can no longer change; then this does nothing.
pub fn configure_sqlite() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config is documented as callable before sqlite3_initialize;
        // after it, it returns SQLITE_MISUSE and changes nothing.
        unsafe {
            libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MULTITHREAD);
            libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int);
            // SAFETY: registers a function SQLite calls with each new connection.
            libsqlite3_sys::sqlite3_auto_extension(Some(stable_plans));
        }
    });
}

/// Every new SQLite connection gets the query planner stability guarantee
/// (`SQLITE_DBCONFIG_ENABLE_QPSG`). Without it SQLite lets the value bound
/// to a `LIMIT ?` (and, with `ANALYZE`'s samples, to a compared column)
/// shape the plan, and then prepares the statement again every time values
/// are bound to it: diesel binds on every run (every `.first()` has a
/// `LIMIT ?`), so its statement cache kept nothing and every statement of
/// every page was parsed and planned anew; at a million orders that was a
/// quarter of the Smart Account Orders page.
unsafe extern "C" fn stable_plans(
    db: *mut libsqlite3_sys::sqlite3,
    _error: *mut *mut std::ffi::c_char,
    _api: *const libsqlite3_sys::sqlite3_api_routines,
) -> std::ffi::c_int {
    // SAFETY: `db` is the connection being opened; the option takes an int
    // and an optional out-pointer.
    unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as std::ffi::c_int,
            std::ptr::null_mut::<std::ffi::c_int>(),
        )
    };
    libsqlite3_sys::SQLITE_OK
}

/// Builds the pool, failing fast (a few seconds) when the database cannot be reached.
pub fn build_pool(url: &str, max_size: u32) -> anyhow::Result<Pool> {
    build_counted_pool(url, max_size, Arc::new(AtomicU64::new(0)))
}

/// Builds the pool; every statement its connections run adds one to `statements`.
pub fn build_counted_pool(url: &str, max_size: u32, statements: Arc<AtomicU64>) -> anyhow::Result<Pool> {
    counted_pool(url, max_size, statements, false)
}

/// The `application_name` of the plan-stable pool's connections.
pub const PLAN_STABLE_NAME: &str = "portal plan-stable";

/// On PostgreSQL, a second pool for the page views whose every statement
/// has one plan whatever its values (`web::routes::PlanStable`): its
/// connections run each prepared statement on its generic plan
/// (`plan_cache_mode = force_generic_plan`, set once when a connection
/// opens), so PostgreSQL neither plans them anew on every call nor needs
/// `with_generic_plan`'s transaction, two round trips per page. Every
/// other statement keeps PostgreSQL's own choice, which for some (a lookup
/// by a value most rows share, say) depends on the value asked for. Its
/// connections open when first needed. `None` on SQLite, which plans a
/// prepared statement once.
pub fn build_plan_stable_pool(url: &str, max_size: u32, statements: Arc<AtomicU64>) -> anyhow::Result<Option<Pool>> {
    match Backend::of_url(url) {
        Backend::Postgres => counted_pool(url, max_size, statements, true).map(Some),
        Backend::Sqlite => Ok(None),
    }
}

fn counted_pool(url: &str, max_size: u32, statements: Arc<AtomicU64>, generic_plans: bool) -> anyhow::Result<Pool> {
    let manager = ConnectionManager::new(url);
    let backend = manager.backend;
    if backend == Backend::Sqlite {
        if let Some(parent) = std::path::Path::new(&manager.url).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)?;
            }
        }
        // WAL once, at start-up: it is a property of the file, not of a connection.
        let mut c = manager.connect().map_err(|e| anyhow::anyhow!("cannot open the SQLite database {}: {e}", manager.url))?;
        // Waiting as every pooled connection does: another process (a
        // portal stopping, say) may hold the file for a moment.
        c.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL;")?;
    }
    let pool = r2d2::Pool::builder()
        .max_size(max_size)
        .min_idle(generic_plans.then_some(0))
        // A request waits at most this long for a connection (then 503);
        // a connection idle for a while is tested first, so a dead one is
        // replaced (`ConnectionManager::is_valid`).
        .connection_timeout(Duration::from_secs(3))
        .test_on_check_out(true)
        .connection_customizer(Box::new(Customizer { statements, generic_plans }))
        .build(manager)
        .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))?;
    Ok(pool)
}

/// Applies the embedded migrations of the connection's backend.
pub fn run_migrations(conn: &mut DbConnection) -> anyhow::Result<()> {
    let applied = match conn {
        DbConnection::Postgresql(c) => {
            // A migration may rewrite a large table: no statement timeout for it.
            c.batch_execute("SET statement_timeout = 0; SET lock_timeout = 0")?;
            let applied = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len());
            c.batch_execute("RESET statement_timeout; RESET lock_timeout")?;
            applied
        }
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    }
    .map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(())
}

/// Current time in UTC, truncated to microseconds so both backends store the same value.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{SubsecRound, Utc};
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Whether the database answers. PostgreSQL: a query on a pooled connection.
/// SQLite: a query on a fresh connection that may not create the file, so a
/// database file that was removed or replaced under the running portal is
/// noticed (pooled connections would keep using the old file).
pub fn check_health(pool: &Pool, url: &str) -> anyhow::Result<()> {
    let manager = ConnectionManager::new(url);
    match manager.backend {
        Backend::Postgres => {
            let mut conn = pool.get_timeout(Duration::from_millis(1500))?;
            conn.batch_execute("SELECT 1 FROM companies LIMIT 1")?;
        }
        Backend::Sqlite => {
            configure_sqlite();
            let mut conn = diesel::SqliteConnection::establish(&format!("file:{}?mode=rw", manager.url))?;
            conn.batch_execute("PRAGMA busy_timeout = 2000; SELECT 1 FROM companies LIMIT 1")?;
        }
    }
    Ok(())
}

/// A transaction for a change. On SQLite it starts with `BEGIN IMMEDIATE`,
/// taking the write lock (waiting up to the busy timeout) before the first
/// read: a deferred transaction that reads, then writes after another
/// connection (the mail worker, say) committed, fails at once with "database
/// is locked", which no busy timeout retries. Nested calls are savepoints.
pub fn transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let outermost_sqlite = match conn {
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::transaction_manager_status_mut(inner).transaction_depth().map_err(E::from)?.is_none()
        }
        _ => false,
    };
    if !outermost_sqlite {
        return conn.transaction(f);
    }
    begun_with(conn, "BEGIN IMMEDIATE", f)
}

/// Runs `f` in the outermost transaction, opened by `begin` (SQL that may
/// also set something for the transaction), then commits; when `f` fails it
/// rolls back and returns `f`'s error.
fn begun_with<T, E, F>(conn: &mut DbConnection, begin: &str, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    enum Step<'a> {
        Begin(&'a str),
        Commit,
        Rollback,
    }
    fn on<C: Connection<TransactionManager = AnsiTransactionManager>>(c: &mut C, step: Step<'_>) -> QueryResult<()> {
        match step {
            Step::Begin(sql) => AnsiTransactionManager::begin_transaction_sql(c, sql).inspect_err(|e| {
                // SQL that began a block and then failed would leave it open, aborted.
                if !matches!(e, diesel::result::Error::AlreadyInTransaction) {
                    let _ = c.batch_execute("ROLLBACK");
                }
            }),
            Step::Commit => AnsiTransactionManager::commit_transaction(c),
            Step::Rollback => AnsiTransactionManager::rollback_transaction(c),
        }
    }
    let step = |conn: &mut DbConnection, s: Step<'_>| match conn {
        DbConnection::Sqlite(c) => on(c, s),
        DbConnection::Postgresql(c) => on(c, s),
    };
    step(conn, Step::Begin(begin)).map_err(E::from)?;
    match f(conn) {
        Ok(value) => {
            step(conn, Step::Commit).map_err(E::from)?;
            Ok(value)
        }
        Err(e) => {
            let _ = step(conn, Step::Rollback);
            Err(e)
        }
    }
}

/// Opens a read transaction on SQLite for a page view's reads, so that
/// they take SQLite's shared-memory read lock once, not once per
/// statement (its mutex, shared by the connections of the process, is
/// contended under load, every lock and unlock a system call), and all see
/// one moment. Its `BEGIN` and `COMMIT` are not counted as statements of
/// the request: they read no row and, on an embedded database, make no
/// round trip. On PostgreSQL, or inside a transaction, nothing is opened;
/// returns whether one was.
pub fn begin_page_reads(conn: &mut DbConnection) -> bool {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let DbConnection::Sqlite(c) = conn else { return false };
    let idle = AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth().is_ok_and(|d| d.is_none());
    let begun = idle && AnsiTransactionManager::begin_transaction_sql(c, "BEGIN").is_ok();
    if begun {
        uncount(conn);
    }
    begun
}

/// Ends the read transaction `begin_page_reads` opened, if one is open.
/// One that cannot end (it cannot, short of a broken connection) marks the
/// connection lost, so that the pool drops it.
pub fn end_page_reads(conn: &mut DbConnection) {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let DbConnection::Sqlite(c) = conn else { return };
    if !AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth().is_ok_and(|d| d.is_some()) {
        return;
    }
    // Committed rather than rolled back: the reads wrote nothing, and
    // should anything have been written, it is not silently dropped.
    let ended = AnsiTransactionManager::commit_transaction(c).is_ok();
    uncount(conn);
    if !ended {
        if let Some(counter) = conn.instrumentation().downcast_mut::<StatementCounter>() {
            counter.lost = true;
        }
    }
}

fn uncount(conn: &mut DbConnection) {
    if let Some(counter) = conn.instrumentation().downcast_mut::<StatementCounter>() {
        counter.uncount_probe();
    }
}

/// Runs `f` with PostgreSQL's generic plan for its prepared statements, on
/// its own transaction (`SET LOCAL`, so nothing outlives it). For a statement
/// whose plan is the same whatever its values (each index range stops at a
/// few rows) but costs far more to plan than to run: PostgreSQL would
/// otherwise plan it anew on every call, judging the generic plan by
/// estimates for unknown values. Inside another transaction, on a
/// connection of the plan-stable pool (whose statements all run on their
/// generic plan), or on SQLite (which plans once per prepared statement),
/// `f` simply runs.
pub fn with_generic_plan<T>(conn: &mut DbConnection, f: impl FnOnce(&mut DbConnection) -> QueryResult<T>) -> QueryResult<T> {
    let wanted = !on_plan_stable_pool(conn);
    // The transaction and its setting in one round trip.
    in_plan_mode(conn, wanted, "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan", f)
}

/// Runs `f` with PostgreSQL planning its prepared statements for the values
/// of each call, on its own transaction (`SET LOCAL`). For a statement whose
/// best plan depends on the values (a prefix that matches a few accounts or
/// most of them) on a connection of the plan-stable pool, which otherwise
/// runs every statement on its generic plan. Elsewhere (PostgreSQL already
/// chooses per call), inside another transaction, or on SQLite, `f` simply
/// runs.
pub fn with_custom_plan<T>(conn: &mut DbConnection, f: impl FnOnce(&mut DbConnection) -> QueryResult<T>) -> QueryResult<T> {
    let wanted = on_plan_stable_pool(conn);
    in_plan_mode(conn, wanted, "BEGIN; SET LOCAL plan_cache_mode = force_custom_plan", f)
}

/// Whether `conn` is one of the plan-stable pool's connections.
fn on_plan_stable_pool(conn: &mut DbConnection) -> bool {
    conn.instrumentation().downcast_ref::<StatementCounter>().is_some_and(|c| c.generic_plans)
}

/// `f` in its own transaction opened by `begin`, when `wanted` and `conn`
/// is a PostgreSQL connection in no transaction yet; otherwise `f` as it is.
fn in_plan_mode<T>(
    conn: &mut DbConnection,
    wanted: bool,
    begin: &str,
    f: impl FnOnce(&mut DbConnection) -> QueryResult<T>,
) -> QueryResult<T> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let outermost_pg = wanted
        && match conn {
            DbConnection::Postgresql(inner) => AnsiTransactionManager::transaction_manager_status_mut(inner).transaction_depth()?.is_none(),
            DbConnection::Sqlite(_) => false,
        };
    if !outermost_pg {
        return f(conn);
    }
    begun_with(conn, begin, f)
}

#[cfg(test)]
mod tests {
    use super::bounded_postgres_url;

    /// A migration whose version another one already has is never run on a
    /// database where the other ran: each version must be its own, and both
    /// backends must have the same migrations.
    #[test]
    fn every_migration_has_its_own_version_on_both_backends() {
        use diesel::migration::MigrationSource;
        let sqlite: Vec<String> = MigrationSource::<diesel::sqlite::Sqlite>::migrations(&super::SQLITE_MIGRATIONS)
            .unwrap()
            .iter()
            .map(|m| m.name().to_string())
            .collect();
        let postgres: Vec<String> = MigrationSource::<diesel::pg::Pg>::migrations(&super::POSTGRES_MIGRATIONS)
            .unwrap()
            .iter()
            .map(|m| m.name().to_string())
            .collect();
        assert_eq!(sqlite, postgres, "the same migrations on both backends");
        let mut versions: Vec<&str> = sqlite.iter().map(|n| n.split('_').next().unwrap_or("")).collect();
        let count = versions.len();
        versions.sort_unstable();
        versions.dedup();
        assert_eq!(versions.len(), count, "two migrations share a version: {sqlite:?}");
    }

    #[test]
    fn postgres_urls_get_timeouts_unless_they_set_their_own() {
        let u = bounded_postgres_url("postgres://p@h/db");
        assert!(u.starts_with("postgres://p@h/db?connect_timeout=3&keepalives=1&"), "{u}");
        assert!(u.contains("options=-c%20statement_timeout%3D5000"), "{u}");
        let u = bounded_postgres_url("postgres://p@h/db?connect_timeout=10&sslmode=require");
        assert!(u.starts_with("postgres://p@h/db?connect_timeout=10&sslmode=require&keepalives=1"), "{u}");
        assert_eq!(u.matches("connect_timeout").count(), 1);
    }
}
