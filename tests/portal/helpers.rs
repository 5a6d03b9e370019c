//! Starting the portal for a test: a fresh database on each backend, a data
//! folder, an HTTP client with a cookie jar, and CSRF-aware form posting.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::Connection;
use portal::config::Settings;
use portal::db::{self, Pool};
use portal::startup::Application;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

fn required(var: &str) -> bool {
    std::env::var(var).map(|v| v == "1" || v == "true").unwrap_or(false)
}

pub fn postgres_base_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/".into())
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn postgres_admin_url() -> String {
    let base = postgres_base_url();
    let base = base.trim_end_matches('/');
    // Connect to the maintenance database to create and drop test databases.
    match base.rsplit_once('/') {
        Some((server, db)) if !db.is_empty() && !server.ends_with('/') && !server.ends_with(':') => {
            format!("{server}/postgres")
        }
        _ => format!("{base}/postgres"),
    }
}

fn postgres_reachable() -> bool {
    static REACHABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *REACHABLE.get_or_init(|| match diesel::PgConnection::establish(&postgres_admin_url()) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("PostgreSQL at {} is not reachable: {e}", postgres_admin_url());
            false
        }
    })
}

/// The backends every integration test runs on. PostgreSQL is skipped (with a
/// message) when unreachable, unless `REQUIRE_POSTGRES=1`, which fails instead.
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    if postgres_reachable() {
        all.push(Backend::Postgres);
    } else if required("REQUIRE_POSTGRES") {
        panic!("REQUIRE_POSTGRES=1 but PostgreSQL is not reachable at {}", postgres_admin_url());
    } else {
        eprintln!("skipping PostgreSQL: not reachable (set REQUIRE_POSTGRES=1 to fail instead)");
    }
    all
}

/// Redis for the shared-session tests; `None` (skip) unless `REQUIRE_REDIS=1`.
pub fn redis_available() -> Option<String> {
    let url = redis_url();
    let hostport = url.trim_start_matches("redis://").trim_end_matches('/').to_string();
    let ok = (|| -> std::io::Result<bool> {
        use std::io::{Read, Write};
        let addr = hostport.parse().map_err(|_| std::io::Error::other("address"))?;
        let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
        s.set_read_timeout(Some(Duration::from_secs(1)))?;
        s.write_all(b"PING\r\n")?;
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf)?;
        Ok(&buf == b"+PONG\r\n")
    })()
    .unwrap_or(false);
    if ok {
        Some(url)
    } else if required("REQUIRE_REDIS") {
        panic!("REQUIRE_REDIS=1 but Redis is not reachable at {url}");
    } else {
        eprintln!("skipping Redis: not reachable at {url} (set REQUIRE_REDIS=1 to fail instead)");
        None
    }
}

/// A database for one test, dropped afterwards.
pub struct TestDb {
    pub url: String,
    name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = dir.path().join("portal.db").to_string_lossy().into_owned();
                TestDb { url, name: None, _dir: Some(dir) }
            }
            Backend::Postgres => {
                let name =
                    format!("portal_test_{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst), rand::random::<u32>());
                let mut admin = diesel::PgConnection::establish(&postgres_admin_url()).expect("PostgreSQL admin connection");
                admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("create test database");
                let base = postgres_admin_url();
                let server = base.trim_end_matches("/postgres");
                TestDb { url: format!("{server}/{name}"), name: Some(name), _dir: None }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.name {
            if let Ok(mut admin) = diesel::PgConnection::establish(&postgres_admin_url()) {
                let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub backend: Backend,
    pub client: reqwest::Client,
    pub pool: Pool,
    pub settings: Settings,
    pub data_dir: std::path::PathBuf,
    pub handle: actix_web::dev::ServerHandle,
    pub db: std::sync::Arc<TestDb>,
    pub data: std::sync::Arc<tempfile::TempDir>,
    /// Every SQL statement the portal's own pool has run.
    pub statements: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

pub struct AppOptions {
    pub smtp_url: Option<String>,
    pub redis_url: Option<String>,
    /// Share this database (and data folder) with another app, as instances behind a load balancer.
    pub share_with: Option<(std::sync::Arc<TestDb>, std::sync::Arc<tempfile::TempDir>)>,
    pub mail_poll_interval: &'static str,
    /// Require two-step sign-in of operations staff, as a real install does.
    /// Off by default so other tests sign operations in with a password.
    pub two_step_for_operations: bool,
    /// Extra settings (name, value), e.g. `MAIL_LEASE`.
    pub env: Vec<(&'static str, String)>,
    /// Connect to the database here instead of the test database's own URL
    /// (e.g. through a proxy that can freeze).
    pub database_url: Option<String>,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            smtp_url: None,
            redis_url: None,
            share_with: None,
            mail_poll_interval: "200ms",
            two_step_for_operations: false,
            env: Vec::new(),
            database_url: None,
        }
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, AppOptions::default()).await
}

pub async fn spawn_app_with(backend: Backend, options: AppOptions) -> TestApp {
    let (db, data) = match options.share_with {
        Some((db, data)) => (db, data),
        None => (std::sync::Arc::new(TestDb::new(backend)), std::sync::Arc::new(tempfile::tempdir().expect("data dir"))),
    };
    let data_dir = data.path().to_path_buf();
    let mut vars = std::collections::HashMap::new();
    vars.insert("DATA_DIR", data_dir.to_string_lossy().into_owned());
    vars.insert("DATABASE_URL", options.database_url.clone().unwrap_or_else(|| db.url.clone()));
    vars.insert("BIND", "127.0.0.1:0".into());
    vars.insert("MAIL_POLL_INTERVAL", options.mail_poll_interval.into());
    vars.insert("DB_POOL_SIZE", "4".into());
    vars.insert("PROVISIONING_DELAY", "0s".into());
    if let Some(s) = &options.smtp_url {
        vars.insert("SMTP_URL", s.clone());
    }
    if let Some(r) = &options.redis_url {
        vars.insert("REDIS_URL", r.clone());
    }
    vars.insert("TWO_STEP_FOR_OPERATIONS", if options.two_step_for_operations { "required" } else { "optional" }.into());
    for (k, v) in &options.env {
        vars.insert(k, v.clone());
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    vars.insert("BASE_URL", format!("http://127.0.0.1:{port}"));
    let settings = Settings::from_lookup(|k| vars.get(k).cloned()).expect("test settings");
    let app = Application::build_with_listener(settings.clone(), listener, Some(1)).await.expect("app builds");
    let handle = app.server_handle();
    let statements = app.statement_counter();
    tokio::spawn(app.run_until_stopped());
    let address = format!("http://127.0.0.1:{port}");
    let pool = db::build_pool(&db.url, 2).expect("test pool");
    TestApp { address, backend, client: client(), pool, settings, data_dir, handle, db, data, statements }
}

/// A client like a browser's: a cookie jar, redirects not followed (tests look at them).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A client that opens a new connection for every request: for a request
/// sent after a long pause, when the server may have closed an idle one.
pub fn fresh_connection_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// The value of the hidden `csrf_token` field in a page.
pub fn csrf_from(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("input[name=csrf_token]").unwrap();
    doc.select(&sel).next().and_then(|e| e.value().attr("value")).map(str::to_string).expect("page has a csrf_token field")
}

/// The texts of the elements matching `selector`.
pub fn texts(html: &str, selector: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel).map(|e| e.text().collect::<String>().trim().to_string()).collect()
}

/// The attribute `attr` of each element matching `selector`.
pub fn attrs(html: &str, selector: &str, attr: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel).filter_map(|e| e.value().attr(attr)).map(str::to_string).collect()
}

/// The `value` attribute of the input named `name`.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(&format!("input[name=\"{name}\"]")).unwrap();
    doc.select(&sel).next().and_then(|e| e.value().attr("value")).map(str::to_string)
}

impl TestApp {
    /// The same running app, for another client (another person's browser).
    pub fn clone_handle(&self) -> TestApp {
        TestApp {
            address: self.address.clone(),
            backend: self.backend,
            client: self.client.clone(),
            pool: self.pool.clone(),
            settings: self.settings.clone(),
            data_dir: self.data_dir.clone(),
            handle: self.handle.clone(),
            db: self.db.clone(),
            data: self.data.clone(),
            statements: self.statements.clone(),
        }
    }

    /// The data folder, to share with a second instance.
    pub fn data_handle(&self) -> std::sync::Arc<tempfile::TempDir> {
        self.data.clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        let resp = self.client.get(self.url(path)).send().await.expect("GET");
        keep_html(&format!("GET {path}"), resp).await
    }

    pub async fn get_text(&self, path: &str) -> String {
        self.get(path).await.text().await.unwrap()
    }

    /// Loads `form_page`, takes its CSRF token and posts `fields` to `action`.
    pub async fn post_form(&self, form_page: &str, action: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let page = self.get_text(form_page).await;
        let token = csrf_from(&page);
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        let resp = self.client.post(self.url(action)).form(&all).send().await.expect("POST");
        keep_html(&format!("POST {action}"), resp).await
    }

    pub async fn register(&self, name: &str, email: &str, password: &str, company: &str) -> reqwest::Response {
        self.post_form("/register", "/register", &[("name", name), ("email", email), ("password", password), ("company_name", company)])
            .await
    }

    /// Registers and follows the "Confirm your email" link, as a person would.
    pub async fn register_confirmed(&self, name: &str, email: &str, password: &str, company: &str) -> reqwest::Response {
        let resp = self.register(name, email, password, company).await;
        assert_eq!(resp.status().as_u16(), 303, "registered {email}");
        let link = self.mailed_link(&email.to_lowercase(), "confirm_email");
        self.post_form(&link, &link, &[]).await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_form("/sign-in", "/sign-in", &[("email", email), ("password", password)]).await
    }

    /// Creates a user directly through the domain (set-up for a test).
    pub fn create_user(&self, email: &str, name: &str, password: &str, company: &str, kind: portal::domain::company::CompanyKind) {
        let mut conn = self.pool.get().unwrap();
        portal::domain::users::create_user(&mut conn, &portal::domain::users::console_permit(), email, name, password, company, kind)
            .expect("create user");
    }

    /// The path of the newest link mailed to `to` in a message of `kind`.
    pub fn mailed_link(&self, to: &str, kind: &str) -> String {
        use portal::db::schema::outbox;
        let bodies: Vec<String> = outbox::table
            .filter(outbox::recipient.eq(to))
            .filter(outbox::kind.eq(kind))
            .order(outbox::id.desc())
            .select(outbox::body_text)
            .load(&mut *self.conn())
            .unwrap();
        let body = bodies.first().unwrap_or_else(|| panic!("no {kind} mail to {to}"));
        let start = body.find(&self.address).unwrap_or_else(|| panic!("no link in: {body}")) + self.address.len();
        body[start..].split_whitespace().next().unwrap().to_string()
    }

    /// How many messages of `kind` went to `to`.
    pub fn mail_count(&self, to: &str, kind: &str) -> i64 {
        use portal::db::schema::outbox;
        outbox::table.filter(outbox::recipient.eq(to)).filter(outbox::kind.eq(kind)).count().get_result(&mut *self.conn()).unwrap()
    }

    pub fn conn(&self) -> db::PooledConnection {
        self.pool.get().unwrap()
    }

    /// Waits until `check` holds, polling for up to 10 seconds.
    pub async fn eventually<F: FnMut() -> bool>(&self, what: &str, mut check: F) {
        for _ in 0..100 {
            if check() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for: {what}");
    }
}

pub fn location(resp: &reqwest::Response) -> String {
    resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

pub const PASSWORD: &str = "correct horse battery";

/// Where the HTML of every page the tests fetch is kept for the HTML checker
/// (`html_check.rs`): one file per distinct page, and `index.txt` naming the
/// request each came from.
pub fn html_check_dir() -> std::path::PathBuf {
    std::env::var_os("HTML_CHECK_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("html-check"))
}

/// A fragment (an htmx answer) wrapped in a minimal document, so that the
/// checker judges its markup and not the missing `<html>`.
pub fn as_document(html: &str) -> String {
    let start = html.trim_start();
    if start.len() >= 9 && start[..9].eq_ignore_ascii_case("<!doctype") {
        html.to_string()
    } else {
        format!("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Fragment</title></head><body>\n{html}\n</body></html>\n")
    }
}

/// Keeps a page (or fragment) for the HTML checker; identical pages once.
pub fn record_html(source: &str, html: &str) {
    use sha2::{Digest, Sha256};
    let doc = as_document(html);
    let name = format!("{}.html", &hex::encode(Sha256::digest(doc.as_bytes()))[..20]);
    let dir = html_check_dir();
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let path = dir.join(&name);
    if path.exists() {
        return;
    }
    if std::fs::write(&path, doc).is_ok() {
        use std::io::Write;
        if let Ok(mut index) = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("index.txt")) {
            let _ = writeln!(index, "{name}\t{source}");
        }
    }
}

/// Records an HTML response's body for the checker and hands back an
/// equivalent response (status, headers, body) for the test to read.
pub async fn keep_html(source: &str, resp: reqwest::Response) -> reqwest::Response {
    let is_html = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    if !is_html {
        return resp;
    }
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.expect("response body");
    record_html(&format!("{source} ({status})"), &String::from_utf8_lossy(&body));
    let mut rebuilt = http::Response::builder().status(status);
    for (k, v) in headers.iter() {
        rebuilt = rebuilt.header(k, v);
    }
    let rebuilt = rebuilt.body(body).expect("rebuilt response");
    reqwest::Response::from(rebuilt)
}

/// Every (VA, product) figure's kept `owned` equals the sum of its claimed
/// batches, and no figure owns what no batch holds.
pub fn assert_owned_figures_match_batches(app: &TestApp, context: &str) {
    use portal::db::schema::{license_figures as lf, licenses};
    let mut conn = app.conn();
    let batches: Vec<(i64, String, i32)> = licenses::table
        .filter(licenses::claimed_at.is_not_null())
        .filter(licenses::quantity.gt(0))
        .select((licenses::virtual_account_id, licenses::license_name, licenses::quantity))
        .load(&mut *conn)
        .unwrap();
    let mut summed: std::collections::BTreeMap<(i64, String), i64> = Default::default();
    for (va, name, quantity) in batches {
        *summed.entry((va, name)).or_default() += i64::from(quantity);
    }
    let kept: std::collections::BTreeMap<(i64, String), i64> = lf::table
        .filter(lf::owned.ne(0))
        .select((lf::virtual_account_id, lf::license_name, lf::owned))
        .load::<(i64, String, i64)>(&mut *conn)
        .unwrap()
        .into_iter()
        .map(|(va, name, owned)| ((va, name), owned))
        .collect();
    assert!(!summed.is_empty(), "{context}: some licenses are owned");
    assert_eq!(kept, summed, "{context}: owned as kept per VA and product, against the batches");
}
