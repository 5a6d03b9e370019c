//! Several instances behind a load balancer share sessions through Redis.

use portal::domain::company::CompanyKind;

use crate::helpers::*;

#[tokio::test]
async fn with_redis_a_user_signed_in_through_one_instance_keeps_working_through_another() {
    let Some(redis) = redis_available() else {
        return;
    };
    for backend in backends() {
        let a = spawn_app_with(backend, AppOptions { redis_url: Some(redis.clone()), ..Default::default() }).await;
        let mut b = spawn_app_with(
            backend,
            AppOptions { redis_url: Some(redis.clone()), share_with: Some((a.db.clone(), a.data_handle())), ..Default::default() },
        )
        .await;
        a.create_user("carlos@contoso.example", "Carlos Ortega", PASSWORD, "Contoso Resellers", CompanyKind::Reseller);
        assert_eq!(a.sign_in("carlos@contoso.example", PASSWORD).await.status().as_u16(), 303);
        let cookie = a.client.get(a.url("/profile")).send().await.unwrap();
        assert_eq!(cookie.status().as_u16(), 200);

        // The browser's cookie goes to instance b now (same host, other port: same cookie jar).
        b.client = a.client.clone();
        let profile = b.get("/profile").await;
        assert_eq!(profile.status().as_u16(), 200, "{backend:?}: signed in on b too");
        let page = profile.text().await.unwrap();
        assert!(page.contains("carlos@contoso.example"));

        // A form loaded from b posts fine to b: the CSRF token lives in the shared session.
        let resp = b.post_form("/profile", "/profile", &[("name", "Carlos O."), ("notify_orders", "on")]).await;
        assert_eq!(resp.status().as_u16(), 303);
        // Signing out through b ends the session on a as well.
        b.post_form("/profile", "/sign-out", &[]).await;
        assert_eq!(a.get("/profile").await.status().as_u16(), 303);
    }
}

#[tokio::test]
async fn without_redis_the_session_lives_in_an_encrypted_cookie() {
    let app = spawn_app(Backend::Sqlite).await;
    app.create_user("carlos@contoso.example", "Carlos Ortega", PASSWORD, "Contoso Resellers", CompanyKind::Reseller);
    let page = app.get("/sign-in").await;
    let cookie = page.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(!cookie.contains("csrf"), "the state is not readable in the cookie: {cookie}");
}

/// A page view finds its session without writing; once the session was
/// last seen more than a few minutes ago, the view records it as seen (the
/// list of signed-in browsers shows it), and the next views leave it alone.
#[tokio::test]
async fn a_page_view_records_a_session_as_seen_once_it_is_due() {
    use diesel::prelude::*;
    use portal::db::schema::user_sessions;
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.create_user("carlos@contoso.example", "Carlos Ortega", PASSWORD, "Contoso Resellers", CompanyKind::Reseller);
        assert_eq!(app.sign_in("carlos@contoso.example", PASSWORD).await.status().as_u16(), 303);
        let seen = |app: &TestApp| -> chrono::NaiveDateTime {
            user_sessions::table.select(user_sessions::last_seen_at).first(&mut app.conn()).unwrap()
        };
        let long_ago = portal::db::now() - chrono::Duration::minutes(30);
        diesel::update(user_sessions::table).set(user_sessions::last_seen_at.eq(long_ago)).execute(&mut app.conn()).unwrap();

        // Several page views at once: each either finds the session fresh or records it.
        let views = futures_util::future::join_all((0..6).map(|_| {
            let app = app.clone_handle();
            async move { app.get("/smart-account-orders").await.status().as_u16() }
        }))
        .await;
        assert!(views.iter().all(|s| *s == 200), "{backend:?}: {views:?}");
        let touched = seen(&app);
        assert!(portal::db::now() - touched < chrono::Duration::minutes(1), "{backend:?}: last seen {touched}, not now");

        // A few minutes have not passed: the next view does not write it again.
        let recent = portal::db::now() - chrono::Duration::minutes(2);
        diesel::update(user_sessions::table).set(user_sessions::last_seen_at.eq(recent)).execute(&mut app.conn()).unwrap();
        assert_eq!(app.get("/profile").await.status().as_u16(), 200);
        assert_eq!(seen(&app), recent, "{backend:?}");
    }
}
