//! `/healthz` answers for the database.

use diesel::connection::SimpleConnection;
use diesel::Connection;

use crate::helpers::*;

#[tokio::test]
async fn health_is_200_while_the_database_answers_and_503_once_it_is_gone() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let resp = app.get("/healthz").await;
        assert_eq!(resp.status().as_u16(), 200, "{backend:?}");
        assert_eq!(resp.text().await.unwrap(), "ok");

        match backend {
            Backend::Postgres => {
                let name = app.db.url.rsplit('/').next().unwrap().to_string();
                let admin = app.db.url.replace(&format!("/{name}"), "/postgres");
                let mut conn = diesel::PgConnection::establish(&admin).unwrap();
                conn.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)")).unwrap();
            }
            Backend::Sqlite => {
                // The file is overwritten with something that is not a database.
                std::fs::write(&app.db.url, vec![0x42u8; 8192]).unwrap();
                let _ = std::fs::remove_file(format!("{}-wal", app.db.url));
                let _ = std::fs::remove_file(format!("{}-shm", app.db.url));
            }
        }
        // An answer stands for `FRESH` after its check; the next check sees the database gone.
        tokio::time::sleep(portal::web::health::FRESH + std::time::Duration::from_millis(50)).await;
        let resp = app.get("/healthz").await;
        assert_eq!(resp.status().as_u16(), 503, "{backend:?}");
        assert_eq!(resp.text().await.unwrap(), "database unavailable");
    }
}

/// Many load balancers polling at once cost the database one check while
/// its answer is fresh (PostgreSQL's checks run on the counted pool).
#[tokio::test]
async fn concurrent_health_checks_share_one_database_check() {
    use std::sync::atomic::Ordering;
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let app = spawn_app(Backend::Postgres).await;
    tokio::time::sleep(portal::web::health::FRESH).await;
    let before = app.statements.load(Ordering::SeqCst);
    let answers = futures_util::future::join_all((0..40).map(|_| {
        let app = app.clone_handle();
        async move { app.get("/healthz").await.status().as_u16() }
    }))
    .await;
    assert!(answers.iter().all(|s| *s == 200), "{answers:?}");
    let ran = app.statements.load(Ordering::SeqCst) - before;
    // One check; background workers may add a few.
    assert!(ran < 20, "40 concurrent health checks ran {ran} statements");
}

/// A pooled PostgreSQL connection that answered a moment ago is handed out
/// without a probe; should the server have closed it since, the statement
/// that finds out marks it lost, and the pool opens a new one instead of
/// handing the dead one out again.
#[test]
fn a_connection_the_server_closed_is_replaced_not_handed_out_again() {
    use diesel::prelude::*;
    #[derive(diesel::QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let db = TestDb::new(Backend::Postgres);
    let pool = portal::db::build_pool(&db.url, 1).expect("pool");
    let pid =
        |conn: &mut portal::db::DbConnection| diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result::<Pid>(conn).map(|p| p.pid);
    let mut conn = pool.get().unwrap();
    let first = pid(&mut conn).unwrap();
    let mut admin = diesel::PgConnection::establish(&db.url).unwrap();
    admin.batch_execute(&format!("SELECT pg_terminate_backend({first})")).unwrap();
    assert!(pid(&mut conn).is_err(), "the closed connection fails its next statement");
    drop(conn);
    let mut conn = pool.get().expect("a connection");
    let second = pid(&mut conn).expect("a working connection, not the closed one");
    assert_ne!(first, second);
}

/// On SQLite a change that reads first and writes later is not refused when
/// another connection (the mail worker, say) commits a write in between.
#[test]
fn a_change_that_reads_first_survives_a_write_from_another_connection_on_sqlite() {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("locks.db").to_string_lossy().into_owned();
    let pool = portal::db::build_pool(&url, 2).unwrap();
    portal::db::run_migrations(&mut *pool.get().unwrap()).unwrap();
    let mut a = pool.get().unwrap();
    let other = pool.clone();
    let insert =
        |name: &str| format!("INSERT INTO companies (name, kind, created_at) VALUES ('{name}', 'customer', '2026-11-23 00:00:00')");
    let (result, writer) = {
        let mut writer = None;
        let result = portal::db::transaction(&mut a, |conn| -> diesel::QueryResult<()> {
            let _: i64 = portal::db::schema::companies::table.count().get_result(conn)?;
            let sql = insert("Meanwhile");
            writer = Some(std::thread::spawn(move || other.get().unwrap().batch_execute(&sql)));
            std::thread::sleep(std::time::Duration::from_millis(300));
            conn.batch_execute(&insert("Mine"))
        });
        (result, writer.unwrap())
    };
    assert!(result.is_ok(), "{result:?}");
    assert!(writer.join().unwrap().is_ok(), "the other write waited its turn");
    let n: i64 = portal::db::schema::companies::table.count().get_result(&mut *pool.get().unwrap()).unwrap();
    assert_eq!(n, 2);
}

/// A TCP proxy in front of PostgreSQL that can stop forwarding (the database
/// "freezes": connections stay open and nothing answers), then resume.
struct FreezableProxy {
    port: u16,
    frozen: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl FreezableProxy {
    fn start(upstream: std::net::SocketAddr) -> FreezableProxy {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let frozen = Arc::new(AtomicBool::new(false));
        let f = frozen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = std::net::TcpStream::connect(upstream) else { continue };
                let pipe = |mut from: std::net::TcpStream, mut to: std::net::TcpStream, frozen: Arc<AtomicBool>| {
                    use std::io::{Read, Write};
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        loop {
                            let n = match from.read(&mut buf) {
                                Ok(0) | Err(_) => {
                                    let _ = to.shutdown(std::net::Shutdown::Write);
                                    break;
                                }
                                Ok(n) => n,
                            };
                            while frozen.load(Ordering::SeqCst) {
                                std::thread::sleep(std::time::Duration::from_millis(10));
                            }
                            if to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    });
                };
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap(), f.clone());
                pipe(server, client, f.clone());
            }
        });
        FreezableProxy { port, frozen }
    }

    fn freeze(&self, on: bool) {
        self.frozen.store(on, std::sync::atomic::Ordering::SeqCst);
    }
}

/// PostgreSQL stops answering (processes frozen, connections open): the
/// health check says 503 within 2 s, pages and sign-in answer 503 with the
/// error page within a few seconds, and all recovers without a restart.
#[tokio::test]
async fn a_frozen_database_gets_503_within_bounds_and_the_portal_recovers() {
    use std::time::{Duration, Instant};
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let db = std::sync::Arc::new(TestDb::new(Backend::Postgres));
    let proxy = FreezableProxy::start("127.0.0.1:5432".parse().unwrap());
    let server = db.url.split('@').nth(1).and_then(|r| r.split('/').next()).unwrap().to_string();
    let proxied = db.url.replacen(&server, &format!("127.0.0.1:{}", proxy.port), 1);
    let app = spawn_app_with(
        Backend::Postgres,
        AppOptions {
            share_with: Some((db.clone(), std::sync::Arc::new(tempfile::tempdir().unwrap()))),
            database_url: Some(proxied),
            env: vec![("REQUEST_TIMEOUT", "3s".into())],
            ..Default::default()
        },
    )
    .await;
    app.create_user(
        "ada@analytical.example",
        "Ada Lovelace",
        PASSWORD,
        "Analytical Engines",
        portal::domain::company::CompanyKind::Customer,
    );
    assert_eq!(app.sign_in("ada@analytical.example", PASSWORD).await.status().as_u16(), 303);
    assert_eq!(app.get("/healthz").await.status().as_u16(), 200);
    assert_eq!(app.get("/profile").await.status().as_u16(), 200);
    let stranger = TestApp { client: client(), ..app.clone_handle() };
    let token = csrf_from(&stranger.get_text("/sign-in").await);

    proxy.freeze(true);
    tokio::time::sleep(portal::web::health::FRESH).await;
    let started = Instant::now();
    let resp = app.get("/healthz").await;
    assert_eq!(resp.status().as_u16(), 503);
    assert!(started.elapsed() < Duration::from_millis(2300), "health answered after {:?}", started.elapsed());

    let pages = ["/profile", "/orders", "/smart-account-orders", "/accounts"].map(|p| {
        let app = app.clone_handle();
        async move {
            let started = Instant::now();
            let resp = app.get(p).await;
            (p, resp.status().as_u16(), resp.text().await.unwrap(), started.elapsed())
        }
    });
    let sign_in = async {
        let started = Instant::now();
        let resp = stranger
            .client
            .post(stranger.url("/sign-in"))
            .form(&[("email", "ada@analytical.example"), ("password", PASSWORD), ("csrf_token", &token)])
            .send()
            .await
            .unwrap();
        ("/sign-in", resp.status().as_u16(), resp.text().await.unwrap(), started.elapsed())
    };
    let (mut answers, signed) = tokio::join!(futures_util::future::join_all(pages), sign_in);
    answers.push(signed);
    for (path, status, body, took) in answers {
        assert_eq!(status, 503, "{path}");
        assert!(body.contains("Temporarily unavailable"), "{path}: the error page");
        assert!(took < Duration::from_secs(5), "{path} answered after {took:?}");
    }

    proxy.freeze(false);
    let mut healthy = false;
    for _ in 0..100 {
        if app.get("/healthz").await.status().as_u16() == 200 && app.get("/profile").await.status().as_u16() == 200 {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healthy, "the portal recovers without a restart");
}

/// Sign-in, registration and the profile answer 503 with the error page,
/// like every other page, when the database is gone.
#[tokio::test]
async fn sign_in_registration_and_profile_answer_503_when_the_database_is_gone() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.create_user(
            "ada@analytical.example",
            "Ada Lovelace",
            PASSWORD,
            "Analytical Engines",
            portal::domain::company::CompanyKind::Customer,
        );
        // Taking the database away may take longer than the server keeps an
        // idle connection open: each request opens its own.
        let stranger = TestApp { client: fresh_connection_client(), ..app.clone_handle() };
        let sign_in_token = csrf_from(&stranger.get_text("/sign-in").await);
        let register_token = csrf_from(&stranger.get_text("/register").await);
        let mut held = None;
        match backend {
            Backend::Postgres => {
                let name = app.db.url.rsplit('/').next().unwrap().to_string();
                let admin = app.db.url.replace(&format!("/{name}"), "/postgres");
                let mut conn = diesel::PgConnection::establish(&admin).unwrap();
                conn.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)")).unwrap();
            }
            Backend::Sqlite => {
                // Another process holds the write lock past the busy timeout.
                let mut lock = diesel::SqliteConnection::establish(&app.db.url).unwrap();
                lock.batch_execute("BEGIN EXCLUSIVE").unwrap();
                held = Some(lock);
            }
        }
        let post = |path: &'static str, fields: Vec<(&'static str, String)>| {
            let s = &stranger;
            async move { s.client.post(s.url(path)).form(&fields).send().await.unwrap() }
        };
        let resp = post(
            "/sign-in",
            vec![("email", "ada@analytical.example".into()), ("password", "not the password".into()), ("csrf_token", sign_in_token)],
        )
        .await;
        assert_eq!(resp.status().as_u16(), 503, "{backend:?} sign-in");
        assert!(resp.text().await.unwrap().contains("Temporarily unavailable"));
        let resp = post(
            "/register",
            vec![
                ("name", "Bea".into()),
                ("email", "bea@analytical.example".into()),
                ("password", PASSWORD.into()),
                ("company_name", "Analytical Engines".into()),
                ("csrf_token", register_token),
            ],
        )
        .await;
        assert_eq!(resp.status().as_u16(), 503, "{backend:?} register");
        assert!(resp.text().await.unwrap().contains("Temporarily unavailable"));
        drop(held);
    }
}

/// A page view's reads on SQLite are one read transaction: what another
/// connection commits meanwhile is not seen until it ends, and its `BEGIN`
/// and `COMMIT` are not counted as the page's statements. A connection
/// given back to the pool still in a transaction (a page view's reads that
/// panicked) is rolled back before it is handed out again.
#[test]
fn a_page_views_reads_see_one_moment_and_no_transaction_outlives_its_request_on_sqlite() {
    use diesel::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("reads.db").to_string_lossy().into_owned();
    let pool = portal::db::build_pool(&url, 2).unwrap();
    portal::db::run_migrations(&mut *pool.get().unwrap()).unwrap();
    let companies = |conn: &mut portal::db::DbConnection| -> i64 { portal::db::schema::companies::table.count().get_result(conn).unwrap() };
    let insert = |conn: &mut portal::db::DbConnection| {
        conn.batch_execute("INSERT INTO companies (name, kind, created_at) VALUES ('Meanwhile', 'customer', '2026-11-23 00:00:00')")
            .unwrap()
    };
    let mut page = pool.get().unwrap();
    let mut other = pool.get().unwrap();
    let before = portal::db::statements_on(&mut page);
    assert!(portal::db::begin_page_reads(&mut page), "a read transaction on SQLite");
    assert_eq!(companies(&mut page), 0);
    insert(&mut other);
    assert_eq!(companies(&mut page), 0, "the page's second read sees the moment of its first");
    portal::db::end_page_reads(&mut page);
    assert_eq!(companies(&mut page), 1, "after the page, the change is seen");
    assert_eq!(portal::db::statements_on(&mut page) - before, 3, "three reads counted, not the BEGIN and COMMIT");

    // Given back in a transaction: rolled back at the next checkout.
    assert!(portal::db::begin_page_reads(&mut page));
    assert_eq!(companies(&mut page), 1);
    drop(page);
    insert(&mut other);
    drop(other);
    let mut again = pool.get().unwrap();
    let mut second = pool.get().unwrap();
    assert_eq!(companies(&mut again), 2, "no stale read transaction handed out");
    assert_eq!(companies(&mut second), 2);
    assert!(portal::db::begin_page_reads(&mut again), "out of any transaction, a new one begins");
    portal::db::end_page_reads(&mut again);
}
