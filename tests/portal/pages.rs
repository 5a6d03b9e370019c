//! What every response carries: security headers, cookie flags, the layout,
//! error pages, static assets, the mail viewer.

use portal::domain::company::CompanyKind;

use crate::helpers::*;

#[tokio::test]
async fn pages_carry_security_headers_and_a_http_only_same_site_session_cookie() {
    let app = spawn_app(Backend::Sqlite).await;
    let resp = app.get("/sign-in").await;
    assert_eq!(resp.status().as_u16(), 200);
    let h = resp.headers();
    let csp = h.get("content-security-policy").unwrap().to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(h.get("x-frame-options").unwrap(), "DENY");
    assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(h.get("referrer-policy").unwrap(), "same-origin");
    let cookie = h.get("set-cookie").expect("a session cookie for the CSRF token").to_str().unwrap().to_string();
    assert!(cookie.starts_with("portal_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http in tests: {cookie}");
}

/// Load balancers' probes answer beside the pages: the same headers, no
/// session, and a missing page beside them is still the portal's own 404
/// page.
#[tokio::test]
async fn health_probes_carry_the_headers_but_start_no_session() {
    let app = spawn_app(Backend::Sqlite).await;
    let resp = app.get("/healthz").await;
    assert_eq!(resp.status().as_u16(), 200);
    let h = resp.headers();
    assert_eq!(h.get("x-frame-options").unwrap(), "DENY");
    assert!(h.get("content-security-policy").is_some());
    assert!(h.get("set-cookie").is_none(), "{:?}", h.get("set-cookie"));
    let missing = app.get("/healthz/more").await;
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(missing.headers().get("x-frame-options").unwrap(), "DENY");
    assert!(missing.text().await.unwrap().contains("<h1"), "the portal's error page");
}

#[tokio::test]
async fn the_session_id_changes_at_sign_in() {
    let app = spawn_app(Backend::Sqlite).await;
    app.create_user("nora@northwind.example", "Nora", PASSWORD, "Northwind Distribution", CompanyKind::Distributor);
    let before = app.get("/sign-in").await;
    let cookie_before = before.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
    let token = csrf_from(&before.text().await.unwrap());
    let after = app
        .client
        .post(app.url("/sign-in"))
        .form(&[("email", "nora@northwind.example"), ("password", PASSWORD), ("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    let cookie_after = after.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
    assert_ne!(cookie_before, cookie_after);
}

#[tokio::test]
async fn the_layout_shows_the_company_its_kind_and_the_navigation() {
    let app = spawn_app(Backend::Sqlite).await;
    app.create_user("fatima@fabrikam.example", "Fatima Khan", PASSWORD, "Fabrikam Networks", CompanyKind::ServiceProvider);
    app.sign_in("fatima@fabrikam.example", PASSWORD).await;
    let page = app.get_text("/accounts").await;
    assert_eq!(texts(&page, ".who-company .badge"), vec!["Service provider"]);
    assert_eq!(texts(&page, ".main-nav a"), vec!["Orders", "Smart Account Orders", "Accounts", "Licenses", "Company"]);
    assert_eq!(texts(&page, ".main-nav a[aria-current=page]"), vec!["Accounts"]);
    assert!(page.contains("src=\"/static/js/htmx.min.js\""));
    assert!(page.contains("data-hx-headers"), "htmx requests carry the CSRF token");
}

#[tokio::test]
async fn user_text_is_escaped_in_pages() {
    let app = spawn_app(Backend::Sqlite).await;
    let resp = app.register_confirmed("<script>alert(1)</script>", "eve@evil.example", PASSWORD, "Evil <b>Corp</b>").await;
    assert_eq!(resp.status().as_u16(), 303);
    let home = app.get_text("/").await;
    assert!(!home.contains("<script>alert(1)</script>"));
    assert!(home.contains("&lt;script&gt;alert(1)&lt;/script&gt;") || home.contains("&#60;script&#62;"), "{home}");
    assert!(!home.contains("<b>Corp</b>"));
}

#[tokio::test]
async fn an_unknown_page_answers_404_with_a_page() {
    let app = spawn_app(Backend::Sqlite).await;
    let resp = app.get("/no/such/page").await;
    assert_eq!(resp.status().as_u16(), 404);
    assert!(resp.text().await.unwrap().contains("Not found"));
}

#[tokio::test]
async fn htmx_and_the_stylesheet_are_served_from_the_portal_itself() {
    let app = spawn_app(Backend::Sqlite).await;
    let js = app.get("/static/js/htmx.min.js").await;
    assert_eq!(js.status().as_u16(), 200);
    assert!(js.headers().get("content-type").unwrap().to_str().unwrap().contains("javascript"));
    let etag = js.headers().get("etag").unwrap().clone();
    assert!(js.text().await.unwrap().contains("htmx"));
    let again = app.client.get(app.url("/static/js/htmx.min.js")).header("If-None-Match", etag).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 304);
    assert_eq!(app.get("/static/css/portal.css").await.status().as_u16(), 200);
    assert_eq!(app.get("/static/../Cargo.toml").await.status().as_u16(), 404);
}

#[tokio::test]
async fn the_mail_viewer_lists_sent_mail_with_clickable_links() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.register("Ada Lovelace", "ada@analytical.example", PASSWORD, "Analytical Engines").await;
        let mut list = String::new();
        for _ in 0..50 {
            list = app.get_text("/dev/mail").await;
            if list.contains("Confirm your email") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(list.contains("ada@analytical.example"), "{backend:?}: {list}");
        let doc = scraper::Html::parse_document(&list);
        let sel = scraper::Selector::parse("td a[href^='/dev/mail/']").unwrap();
        let href = doc.select(&sel).next().unwrap().value().attr("href").unwrap().to_string();
        let detail = app.get_text(&href).await;
        let link = format!("{}{}", app.settings.base_url, app.mailed_link("ada@analytical.example", "confirm_email"));
        assert!(detail.contains(&format!("<a href=\"{link}\">")), "{detail}");
        assert_eq!(app.get("/dev/mail/..%2F..%2Fetc%2Fpasswd").await.status().as_u16(), 404);
    }
}

#[tokio::test]
async fn the_mail_viewer_link_shows_only_to_people_signed_in() {
    let app = spawn_app(Backend::Sqlite).await;
    let visitor = app.get_text("/sign-in").await;
    assert!(!visitor.contains("href=\"/dev/mail\""), "{visitor}");
    app.create_user("nora@northwind.example", "Nora", PASSWORD, "Northwind Distribution", CompanyKind::Distributor);
    app.sign_in("nora@northwind.example", PASSWORD).await;
    assert!(app.get_text("/").await.contains("href=\"/dev/mail\""));
}
