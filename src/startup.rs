//! Builds the application: database pool and migrations, sessions, mail
//! worker, middleware and routes. `Application::build` binds its own
//! listener, so tests start the very same thing on port 0.

use std::net::TcpListener;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::storage::{CookieSessionStore, RedisSessionStore};
use actix_session::SessionMiddleware;
use actix_web::cookie::{time, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{web, App, HttpServer};
use tokio::sync::Notify;

use crate::config::Settings;
use crate::db::{self, Pool};
use crate::mail::transport::MailTransport;
use crate::mail::worker::MailWorker;
use crate::web::session::PortalSessionStore;
use crate::web::{csrf, routes};

/// What every handler can reach.
pub struct AppState {
    pub pool: Pool,
    /// PostgreSQL's pool for the page views marked `web::routes::PlanStable`
    /// (`db::build_plan_stable_pool`); none on SQLite.
    plan_stable_pool: Option<Pool>,
    pub settings: Settings,
    pub mail: MailTransport,
    mail_wake: Arc<Notify>,
    /// Every SQL statement the pool's connections ran, since start-up.
    pub statements: Arc<AtomicU64>,
    /// `/healthz`'s last answer.
    pub health: crate::web::health::HealthCheck,
    /// The navigation's Not Assigned counts, kept until an order changes.
    pub kept_counts: crate::domain::orders::kept_counts::KeptCounts,
}

impl AppState {
    /// The development mail viewer: only when mail goes to files, and only
    /// on a loopback address unless `MAIL_VIEWER=on` says otherwise.
    pub fn mail_viewer_enabled(&self) -> bool {
        mail_viewer_allowed(self.mail.files_dir().is_some(), self.settings.bind.ip().is_loopback(), self.settings.mail_viewer)
    }

    /// Whether the database is SQLite, in this process.
    pub fn embedded_database(&self) -> bool {
        crate::db::Backend::of_url(&self.settings.database_url) == crate::db::Backend::Sqlite
    }

    /// The pool a page view takes its connection from: on PostgreSQL, the
    /// plan-stable pool for a page marked so.
    pub fn page_pool(&self, plan_stable: bool) -> &Pool {
        match (&self.plan_stable_pool, plan_stable) {
            (Some(p), true) => p,
            _ => &self.pool,
        }
    }

    /// Asks the mail worker to look at the outbox now rather than at its next tick.
    pub fn wake_mail_worker(&self) {
        self.mail_wake.notify_one();
    }
}

/// The pure rule behind `mail_viewer_enabled`.
pub fn mail_viewer_allowed(mail_to_files: bool, loopback: bool, setting: Option<bool>) -> bool {
    mail_to_files && setting.unwrap_or(loopback)
}

/// Background order work, on every instance: deposits the licenses of
/// shipped orders once their provisioning delay has passed, and queues the
/// reminders for orders that stay Not Assigned. Each line and each reminder
/// stage is claimed by one instance.
async fn order_worker(pool: Pool, interval: std::time::Duration, base_url: String, reminder_days: Vec<i64>, mail_wake: Arc<Notify>) {
    // Daily license usage: today's figures, refreshed every few minutes (the
    // last refresh of a day stays); every instance writes the same figures.
    let mut usage_due = std::time::Instant::now();
    loop {
        if std::time::Instant::now() >= usage_due {
            usage_due = std::time::Instant::now() + std::time::Duration::from_secs(600);
            let p = pool.clone();
            let recorded = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
                let mut conn = p.get()?;
                let days = crate::domain::licenses::usage::record_day(&mut conn, crate::db::now().date())?;
                crate::domain::orders::kept_counts::prune(&mut conn)?;
                Ok(days)
            })
            .await;
            match recorded {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "daily license usage failed"),
                Err(e) => tracing::warn!(error = %e, "daily license usage panicked"),
            }
        }
        let (p, base, days) = (pool.clone(), base_url.clone(), reminder_days.clone());
        let result = tokio::task::spawn_blocking(move || -> anyhow::Result<(usize, usize)> {
            let mut conn = p.get()?;
            let deposited = crate::domain::orders::provisioning::deposit_due(&mut conn, &base)?;
            let reminded = crate::domain::orders::reminders::send_due(&mut conn, &days, crate::db::now(), &base)?;
            Ok((deposited, reminded))
        })
        .await;
        match result {
            Ok(Ok((deposited, reminded))) => {
                if deposited > 0 {
                    tracing::info!(lines = deposited, "licenses deposited");
                }
                if reminded > 0 {
                    tracing::info!(messages = reminded, "assignment reminders queued");
                }
                if deposited + reminded > 0 {
                    mail_wake.notify_one();
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "order worker round failed"),
            Err(e) => tracing::warn!(error = %e, "order worker round panicked"),
        }
        tokio::time::sleep(interval).await;
    }
}

/// For what still goes to glibc's malloc: SQLite's and libpq's own memory,
/// and all of it where Rust's allocator is glibc's (the tests, the bench
/// tool; the portal's binary uses mimalloc, see `main.rs`). Large
/// allocations (argon2's 19 MiB per password hash, big pages and
/// exports) are given back to the system when freed. glibc otherwise raises
/// its mmap threshold after the first such free and keeps later ones in its
/// per-thread arenas: under 16 signing-in clients the portal stayed at
/// several hundred MiB instead of about 60.
///
/// Fixing that threshold also fixes the trim threshold at glibc's 128 KiB:
/// a thread that freed a few hundred KiB (SQLite preparing a long
/// statement, a page's buffers) gave them back to the system at once and
/// took them again, zeroed page by page, on its next request: a search
/// fragment cost 20 to 60 page faults. Up to 4 MiB of free memory at the
/// top of an arena is now kept for the next request.
///
/// What an arena keeps it keeps for every thread that used it, and glibc
/// gives each thread that allocates while others do an arena of its own,
/// up to 16 on two cores: after 16 clients signed in, 14 arenas held about
/// 4 MiB each and the portal stayed resident at 87 to 101 MB. Two arenas
/// serve what is left to glibc as well (61 to 78 MB after the same burst,
/// with the list as fast as before).
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only sets allocator parameters; a fixed
            // threshold also turns off glibc's dynamic adjustment.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
                libc::mallopt(libc::M_TRIM_THRESHOLD, 4 * 1024 * 1024);
                libc::mallopt(libc::M_ARENA_MAX, 2);
            }
        });
    }
}

/// Blocking threads per worker for a database pool of `pool_size`: enough
/// for every connection to be busy (or stuck on a database that stopped
/// answering) with room for the requests waiting for one.
pub fn blocking_threads(pool_size: u32) -> usize {
    (pool_size as usize * 2 + 4).max(8)
}

pub struct Application {
    port: u16,
    server: Server,
    statements: Arc<AtomicU64>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(settings.bind)?;
        Application::build_with_listener(settings, listener, None).await
    }

    /// Builds on a given listener; `workers` overrides the number of worker threads.
    pub async fn build_with_listener(mut settings: Settings, listener: TcpListener, workers: Option<usize>) -> anyhow::Result<Application> {
        tune_allocator();
        let port = listener.local_addr()?.port();
        if settings.base_url.ends_with(":0") {
            settings.base_url = format!("http://{}:{port}", settings.bind.ip());
        }
        let database_url = settings.database_url.clone();
        let pool_size = settings.db_pool_size;
        let statements = Arc::new(AtomicU64::new(0));
        let counter = statements.clone();
        let (pool, plan_stable_pool) = tokio::task::spawn_blocking(move || -> anyhow::Result<(Pool, Option<Pool>)> {
            let pool = db::build_counted_pool(&database_url, pool_size, counter.clone())?;
            db::run_migrations(&mut *pool.get()?)?;
            let plan_stable = db::build_plan_stable_pool(&database_url, pool_size, counter)?;
            Ok((pool, plan_stable))
        })
        .await??;

        let mail = match &settings.smtp_url {
            Some(url) => MailTransport::smtp(url)?,
            None => {
                if !settings.is_sqlite() {
                    tracing::warn!("SMTP_URL is not set: mail goes to files and the development mail viewer is on");
                }
                MailTransport::files(settings.mail_dir())?
            }
        };
        let mail_wake = Arc::new(Notify::new());
        let worker = MailWorker {
            pool: pool.clone(),
            transport: mail.clone(),
            from: settings.mail_from.clone(),
            interval: settings.mail_poll_interval,
            lease: settings.mail_lease,
            batch: settings.mail_batch,
            send_timeout: settings.mail_send_timeout,
        };
        tokio::spawn(worker.run(mail_wake.clone()));
        tokio::spawn(order_worker(
            pool.clone(),
            settings.mail_poll_interval,
            settings.base_url.clone(),
            settings.reminder_days.clone(),
            mail_wake.clone(),
        ));

        let redis = match &settings.redis_url {
            Some(url) => {
                Some(RedisSessionStore::new(url.clone()).await.map_err(|e| anyhow::anyhow!("REDIS_URL: cannot reach Redis: {e}"))?)
            }
            None => None,
        };

        let state = web::Data::new(AppState {
            pool,
            plan_stable_pool,
            settings: settings.clone(),
            mail,
            mail_wake,
            statements: statements.clone(),
            health: Default::default(),
            kept_counts: Default::default(),
        });
        let secure = settings.secure_cookies();
        let key = settings.session_key.clone();
        let mail_viewer = state.mail_viewer_enabled();

        let server = HttpServer::new(move || {
            let store = match &redis {
                Some(r) => PortalSessionStore::Redis(r.clone()),
                None => PortalSessionStore::Cookie(CookieSessionStore::default()),
            };
            let sessions = SessionMiddleware::builder(store, key.clone())
                .cookie_name("portal_session".into())
                .cookie_http_only(true)
                .cookie_same_site(SameSite::Lax)
                .cookie_secure(secure)
                .cookie_content_security(CookieContentSecurity::Private)
                .session_lifecycle(BrowserSession::default().state_ttl(time::Duration::hours(12)))
                .build();
            let mut headers = DefaultHeaders::new()
                .add((
                    "Content-Security-Policy",
                    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                     form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'",
                ))
                .add(("X-Frame-Options", "DENY"))
                .add(("X-Content-Type-Options", "nosniff"))
                .add(("Referrer-Policy", "same-origin"))
                .add(("Permissions-Policy", "camera=(), microphone=(), geolocation=()"));
            if secure {
                headers = headers.add(("Strict-Transport-Security", "max-age=31536000"));
            }
            // Load balancers' health probes need no session, CSRF check or
            // statement count: they answer beside the portal's pages, with
            // the same headers.
            let pages = web::scope("")
                .wrap(from_fn(crate::web::statements::count))
                .wrap(from_fn(crate::web::timeout::bound))
                .wrap(from_fn(csrf::protect))
                .wrap(sessions)
                .configure(|cfg| routes::configure(cfg, mail_viewer))
                .default_service(web::to(|| async { Err::<actix_web::HttpResponse, _>(crate::web::error::AppError::NotFound) }));
            App::new()
                .wrap(headers)
                .wrap(from_fn(crate::telemetry::log_requests))
                .app_data(state.clone())
                .app_data(
                    web::FormConfig::default()
                        .limit(64 * 1024)
                        .error_handler(|_, _| crate::web::error::AppError::BadRequest(crate::web::form::UNREADABLE.into()).into()),
                )
                .app_data(
                    web::QueryConfig::default()
                        .error_handler(|_, _| crate::web::error::AppError::BadRequest(crate::web::form::UNREADABLE.into()).into()),
                )
                .app_data(web::PathConfig::default().error_handler(|_, _| crate::web::error::AppError::NotFound.into()))
                .route("/healthz", web::get().to(crate::web::health::healthz))
                .service(pages)
        })
        // Database work runs on blocking threads; more of them than pooled
        // connections only wait for the pool, and each thread that ever ran
        // keeps its own allocator arena: a cap keeps memory flat under load.
        .worker_max_blocking_threads(blocking_threads(pool_size))
        .listen(listener)?;
        let server = match workers {
            Some(n) => server.workers(n),
            None => server,
        }
        .run();
        Ok(Application { port, server, statements })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The number of SQL statements the portal's pool has run since start-up
    /// (migrations, requests and background workers alike).
    pub fn statement_counter(&self) -> Arc<AtomicU64> {
        self.statements.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}
