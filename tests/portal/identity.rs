//! People and membership over HTTP: confirmation, joining, operations never
//! self-made, invitations, the company page, passwords, sessions that end,
//! two-step sign-in, open redirects and security headers.

use diesel::prelude::*;
use portal::db::schema::{companies, invitations, user_sessions, user_tokens, users};
use portal::domain::company::CompanyKind;

use crate::fixtures::approve_first_request;
use crate::helpers::*;

fn person(app: &TestApp, email: &str) -> (i64, Option<i64>, bool, bool) {
    users::table
        .filter(users::email.eq(email))
        .select((users::id, users::company_id, users::email_confirmed_at.is_not_null(), users::is_company_admin))
        .first(&mut *app.conn())
        .unwrap()
}

fn browser_of(app: &TestApp) -> TestApp {
    TestApp { client: client(), ..app.clone_handle() }
}

async fn signed_in(app: &TestApp, email: &str) -> TestApp {
    let b = browser_of(app);
    assert_eq!(b.sign_in(email, PASSWORD).await.status().as_u16(), 303, "sign in as {email}");
    b
}

/// The session cookie of a response, as someone copying it would take it.
fn session_cookie(resp: &reqwest::Response) -> String {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("portal_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .expect("a session cookie")
}

/// A request with only the copied cookie, from another machine.
async fn with_cookie(app: &TestApp, cookie: &str, path: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_person_at_a_known_domain_asks_to_join_and_sees_the_company_only_once_approved() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.create_user("carlos@contoso.example", "Carlos Ortega", PASSWORD, "Contoso Resellers", CompanyKind::Reseller);
        let carlos = signed_in(&app, "carlos@contoso.example").await;
        let pia = browser_of(&app);
        pia.register_confirmed("Pia Meyer", "pia@contoso.example", PASSWORD, "").await;
        assert_eq!(person(&app, "pia@contoso.example").1, None, "{backend:?}");
        assert_eq!(location(&pia.get("/smart-account-orders").await), "/welcome");

        let resp = pia.post_form("/welcome", "/welcome/join", &[]).await;
        assert_eq!(location(&resp), "/welcome");
        let waiting = pia.get_text("/welcome").await;
        assert_eq!(texts(&waiting, "h1"), vec!["Waiting for Contoso Resellers"]);
        assert_eq!(app.mail_count("carlos@contoso.example", "membership_requested"), 1);
        // Asking twice sends nothing more.
        pia.post_form("/welcome", "/welcome/join", &[]).await;
        assert_eq!(app.mail_count("carlos@contoso.example", "membership_requested"), 1);
        assert_eq!(location(&pia.get("/orders").await), "/welcome", "nothing before approval");

        approve_first_request(&carlos).await;
        assert_eq!(app.mail_count("pia@contoso.example", "membership_approved"), 1);
        let (_, company, _, admin) = person(&app, "pia@contoso.example");
        assert!(company.is_some() && !admin);
        let orders = pia.get("/orders").await;
        assert_eq!(orders.status().as_u16(), 200, "{backend:?}: the same session sees the company now");
        let company_page = pia.get_text("/company").await;
        assert!(texts(&company_page, "#members td").iter().any(|t| t == "carlos@contoso.example"));
        assert!(texts(&company_page, "#membership-requests").is_empty(), "a member who is not an administrator sees no requests");
        assert_eq!(pia.post_form("/company", "/company/invitations", &[("email", "x@contoso.example")]).await.status().as_u16(), 403);
    }
}

#[tokio::test]
async fn a_denied_person_is_told_and_sees_nothing() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.create_user("carlos@contoso.example", "Carlos Ortega", PASSWORD, "Contoso Resellers", CompanyKind::Reseller);
        let carlos = signed_in(&app, "carlos@contoso.example").await;
        let mallory = browser_of(&app);
        mallory.register_confirmed("Mallory", "mallory@contoso.example", PASSWORD, "").await;
        mallory.post_form("/welcome", "/welcome/join", &[]).await;
        let page = carlos.get_text("/company").await;
        let deny = scraper::Html::parse_document(&page)
            .select(&scraper::Selector::parse("#membership-requests form[action$='/deny']").unwrap())
            .next()
            .unwrap()
            .value()
            .attr("action")
            .unwrap()
            .to_string();
        assert_eq!(carlos.post_form("/company", &deny, &[]).await.status().as_u16(), 303);
        // A second decision on the same request is refused.
        assert_eq!(carlos.post_form("/company", &deny, &[]).await.status().as_u16(), 409, "{backend:?}");
        assert_eq!(app.mail_count("mallory@contoso.example", "membership_denied"), 1);
        assert_eq!(texts(&mallory.get_text("/welcome").await, "h1"), vec!["Not admitted to Contoso Resellers"]);
        assert_eq!(person(&app, "mallory@contoso.example").1, None);
        assert_eq!(location(&mallory.get("/accounts").await), "/welcome");
        // Another company's administrator cannot decide it.
        app.create_user("maya@metalworks.example", "Maya", PASSWORD, "Metalworks Inc.", CompanyKind::Customer);
        let maya = signed_in(&app, "maya@metalworks.example").await;
        let approve = deny.replace("/deny", "/approve");
        assert_eq!(maya.post_form("/company", &approve, &[]).await.status().as_u16(), 404);
    }
}

#[tokio::test]
async fn no_one_becomes_operations_by_registering() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.create_user("olga@ops.example", "Olga Petrova", PASSWORD, "Vendor Operations", CompanyKind::Operations);
        let resp = app.register("Oscar", "oscar@ops.example", PASSWORD, "").await;
        assert_eq!(resp.status().as_u16(), 400, "{backend:?}");
        let page = resp.text().await.unwrap();
        assert!(texts(&page, "#email-error")[0].contains("invitation"), "{page}");
        let n: i64 = users::table.count().get_result(&mut *app.conn()).unwrap();
        assert_eq!(n, 1, "nothing written");
    }
}

#[tokio::test]
async fn confirmation_links_are_single_use_expire_and_unknown_ones_are_refused() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let ada = browser_of(&app);
        ada.register("Ada Lovelace", "ada@analytical.example", PASSWORD, "Analytical Engines").await;
        let first = app.mailed_link("ada@analytical.example", "confirm_email");
        // A resend right away is throttled; the first link still works.
        let resend = ada.post_form("/welcome", "/welcome/resend", &[]).await;
        assert_eq!(location(&resend), "/welcome");
        assert_eq!(app.mail_count("ada@analytical.example", "confirm_email"), 1, "one a minute");

        // Expired: an hour past 24 hours.
        let mut conn = app.conn();
        diesel::update(user_tokens::table)
            .set(user_tokens::expires_at.eq(chrono::Utc::now().naive_utc() - chrono::Duration::hours(1)))
            .execute(&mut conn)
            .unwrap();
        drop(conn);
        let expired = ada.post_form(&first, &first, &[]).await;
        assert_eq!(expired.status().as_u16(), 410, "{backend:?}");
        assert!(texts(&expired.text().await.unwrap(), "#link-problem")[0].contains("expired"));
        assert!(!person(&app, "ada@analytical.example").2);

        // A fresh link works once.
        diesel::update(user_tokens::table)
            .set(user_tokens::created_at.eq(chrono::Utc::now().naive_utc() - chrono::Duration::hours(2)))
            .execute(&mut *app.conn())
            .unwrap();
        ada.post_form("/welcome", "/welcome/resend", &[]).await;
        let second = app.mailed_link("ada@analytical.example", "confirm_email");
        assert_ne!(first, second);
        assert_eq!(ada.post_form(&second, &second, &[]).await.status().as_u16(), 303);
        assert!(person(&app, "ada@analytical.example").2);
        let again = ada.post_form(&second, &second, &[]).await;
        assert_eq!(again.status().as_u16(), 410);
        assert!(texts(&again.text().await.unwrap(), "#link-problem")[0].contains("used already"));
        let n: i64 = companies::table.count().get_result(&mut *app.conn()).unwrap();
        assert_eq!(n, 1, "a reused link makes no second company");
        assert_eq!(ada.post_form("/confirm-email/forged", "/confirm-email/forged", &[]).await.status().as_u16(), 404);
        // Only the hash is kept.
        let hashes: Vec<String> = user_tokens::table.select(user_tokens::token_hash).load(&mut *app.conn()).unwrap();
        let token = second.rsplit('/').next().unwrap();
        assert!(hashes.iter().all(|h| h != token && h.len() == 64));
    }
}

#[tokio::test]
async fn an_invitation_confirms_and_joins_at_once_and_works_only_once() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let world = crate::fixtures::metalworks(&app);
        let maya = signed_in(&app, "maya@metalworks.example").await;
        let page = maya.get_text("/company").await;
        assert!(page.contains("Invite someone"), "{backend:?}");
        let resp = maya
            .post_form(
                "/company",
                "/company/invitations",
                &[("email", "ines@metalworks.example"), ("smart_account_id", &world.metalworks.to_string()), ("role", "sa_user")],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 303, "{backend:?}");
        let link = app.mailed_link("ines@metalworks.example", "invitation");
        assert!(link.starts_with("/invitations/"));

        let ines = browser_of(&app);
        let form = ines.get_text(&link).await;
        assert_eq!(texts(&form, "h1"), vec!["Join Metalworks Inc."]);
        // A weak password is refused beside the field; nothing written.
        let weak = ines.post_form(&link, &link, &[("name", "Ines"), ("password", "password123")]).await;
        assert_eq!(weak.status().as_u16(), 400);
        assert!(texts(&weak.text().await.unwrap(), "#password-error")[0].contains("too easy to guess"));
        let n: i64 = users::table.filter(users::email.eq("ines@metalworks.example")).count().get_result(&mut *app.conn()).unwrap();
        assert_eq!(n, 0);

        let joined = ines.post_form(&link, &link, &[("name", "Ines Duarte"), ("password", PASSWORD)]).await;
        assert_eq!(joined.status().as_u16(), 303);
        let (_, company, confirmed, _) = person(&app, "ines@metalworks.example");
        assert!(company.is_some() && confirmed);
        assert_eq!(ines.get("/accounts").await.status().as_u16(), 200, "joined and signed in at once");
        let users_page = maya.get_text(&format!("/accounts/{}/users", world.metalworks)).await;
        assert!(users_page.contains("ines@metalworks.example"), "the role named in the invitation is granted");

        let stranger = browser_of(&app);
        let reused = stranger.post_form("/sign-in", &link, &[("name", "Someone"), ("password", PASSWORD)]).await;
        assert_eq!(reused.status().as_u16(), 410, "{backend:?}");

        // A withdrawn invitation and an expired one open nothing.
        maya.post_form("/company", "/company/invitations", &[("email", "otto@metalworks.example")]).await;
        let otto_link = app.mailed_link("otto@metalworks.example", "invitation");
        let id: i64 = invitations::table
            .filter(invitations::email.eq("otto@metalworks.example"))
            .select(invitations::id)
            .first(&mut *app.conn())
            .unwrap();
        maya.post_form("/company", &format!("/company/invitations/{id}/withdraw"), &[]).await;
        assert_eq!(stranger.get(&otto_link).await.status().as_u16(), 404);
        maya.post_form("/company", &format!("/company/invitations/{id}/resend"), &[]).await; // withdrawn: not reopened
        maya.post_form("/company", "/company/invitations", &[("email", "uma@metalworks.example")]).await;
        let uma_link = app.mailed_link("uma@metalworks.example", "invitation");
        diesel::update(invitations::table.filter(invitations::email.eq("uma@metalworks.example")))
            .set(invitations::expires_at.eq(chrono::Utc::now().naive_utc() - chrono::Duration::minutes(1)))
            .execute(&mut *app.conn())
            .unwrap();
        assert_eq!(stranger.get(&uma_link).await.status().as_u16(), 410);
        // Invitations of a member of another company are refused beside the field.
        let other = maya.post_form("/company", "/company/invitations", &[("email", "carlos@contoso.example")]).await;
        assert_eq!(other.status().as_u16(), 400);
        assert!(texts(&other.text().await.unwrap(), "#email-error")[0].contains("another company"));
    }
}

#[tokio::test]
async fn a_company_never_loses_its_last_administrator_and_a_deactivated_persons_copied_cookie_dies() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        crate::fixtures::metalworks(&app);
        let maya = signed_in(&app, "maya@metalworks.example").await;
        let (maya_id, ..) = person(&app, "maya@metalworks.example");
        let last = maya.post_form("/company", &format!("/company/members/{maya_id}/admin"), &[("admin", "no")]).await;
        assert_eq!(location(&last), "/company");
        assert!(maya.get_text("/company").await.contains("at least one active company administrator"), "{backend:?}");
        assert!(person(&app, "maya@metalworks.example").3, "still an administrator");

        // Sam signs in; someone copies his cookie; Maya deactivates him.
        let sam = browser_of(&app);
        let resp = sam.sign_in("sam@metalworks.example", PASSWORD).await;
        let copied = session_cookie(&resp);
        assert_eq!(with_cookie(&app, &copied, "/orders").await.status().as_u16(), 200);
        let (sam_id, ..) = person(&app, "sam@metalworks.example");
        maya.post_form("/company", &format!("/company/members/{sam_id}/deactivate"), &[]).await;
        assert_eq!(location(&sam.get("/orders").await), "/sign-in?next=%2Forders", "{backend:?}");
        assert_eq!(with_cookie(&app, &copied, "/orders").await.status().as_u16(), 303, "the copied cookie is dead");
        let again = browser_of(&app).sign_in("sam@metalworks.example", PASSWORD).await;
        assert_eq!(again.status().as_u16(), 403);
        assert!(again.text().await.unwrap().contains("deactivated"));
        // Make Sam an administrator? Not while deactivated; Maya stays the last one.
        maya.post_form("/company", &format!("/company/members/{sam_id}/admin"), &[("admin", "yes")]).await;
        assert!(!person(&app, "sam@metalworks.example").3);
        let events = maya.get_text("/company").await;
        assert!(texts(&events, "#company-security-events td").iter().any(|t| t == "Deactivated"));
    }
}

#[tokio::test]
async fn a_copied_session_cookie_dies_at_sign_out_with_either_session_store() {
    let mut stores = vec![None];
    if let Some(redis) = redis_available() {
        stores.push(Some(redis));
    }
    for backend in backends() {
        for redis in &stores {
            let app = spawn_app_with(backend, AppOptions { redis_url: redis.clone(), ..Default::default() }).await;
            app.create_user("carlos@contoso.example", "Carlos Ortega", PASSWORD, "Contoso Resellers", CompanyKind::Reseller);
            let resp = app.sign_in("carlos@contoso.example", PASSWORD).await;
            let copied = session_cookie(&resp);
            assert_eq!(with_cookie(&app, &copied, "/profile").await.status().as_u16(), 200);
            app.post_form("/profile", "/sign-out", &[]).await;
            let after = with_cookie(&app, &copied, "/profile").await;
            assert_eq!(after.status().as_u16(), 303, "{backend:?} redis={}", redis.is_some());
            let ended: i64 =
                user_sessions::table.filter(user_sessions::ended_at.is_not_null()).count().get_result(&mut *app.conn()).unwrap();
            assert_eq!(ended, 1);
        }
    }
}

#[tokio::test]
async fn forgot_password_answers_alike_and_a_reset_ends_every_session() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.create_user("carlos@contoso.example", "Carlos Ortega", PASSWORD, "Contoso Resellers", CompanyKind::Reseller);
        let desk = browser_of(&app);
        let copied = session_cookie(&desk.sign_in("carlos@contoso.example", PASSWORD).await);

        let visitor = browser_of(&app);
        let known = visitor.post_form("/password/forgot", "/password/forgot", &[("email", "carlos@contoso.example")]).await;
        let unknown = visitor.post_form("/password/forgot", "/password/forgot", &[("email", "nobody@contoso.example")]).await;
        assert_eq!((known.status().as_u16(), unknown.status().as_u16()), (200, 200));
        let (k, u) = (known.text().await.unwrap(), unknown.text().await.unwrap());
        assert_eq!(
            texts(&k, "#reset-sent")[0].replace("carlos@contoso.example", "X"),
            texts(&u, "#reset-sent")[0].replace("nobody@contoso.example", "X"),
            "the same answer"
        );
        let link = app.mailed_link("carlos@contoso.example", "password_reset");
        assert_eq!(app.mail_count("nobody@contoso.example", "password_reset"), 0);

        let weak = visitor.post_form(&link, &link, &[("password", "qwertyuiop")]).await;
        assert_eq!(weak.status().as_u16(), 400, "{backend:?}");
        let done = visitor.post_form(&link, &link, &[("password", "a new phrase of words")]).await;
        assert_eq!(location(&done), "/sign-in");
        assert_eq!(with_cookie(&app, &copied, "/orders").await.status().as_u16(), 303, "every session ended");
        assert_eq!(desk.get("/orders").await.status().as_u16(), 303);
        assert_eq!(visitor.post_form("/sign-in", &link, &[("password", "yet another phrase here")]).await.status().as_u16(), 410);
        assert_eq!(browser_of(&app).sign_in("carlos@contoso.example", PASSWORD).await.status().as_u16(), 400);
        assert_eq!(browser_of(&app).sign_in("carlos@contoso.example", "a new phrase of words").await.status().as_u16(), 303);

        // An hour later a link is dead.
        visitor.post_form("/password/forgot", "/password/forgot", &[("email", "carlos@contoso.example")]).await;
        diesel::update(user_tokens::table)
            .set((user_tokens::created_at.eq(chrono::Utc::now().naive_utc() - chrono::Duration::hours(2)),))
            .execute(&mut *app.conn())
            .unwrap();
        visitor.post_form("/password/forgot", "/password/forgot", &[("email", "carlos@contoso.example")]).await;
        let late = app.mailed_link("carlos@contoso.example", "password_reset");
        diesel::update(user_tokens::table.filter(user_tokens::used_at.is_null()))
            .set(user_tokens::expires_at.eq(chrono::Utc::now().naive_utc()))
            .execute(&mut *app.conn())
            .unwrap();
        assert_eq!(visitor.get(&late).await.status().as_u16(), 410);
    }
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.create_user("carlos@contoso.example", "Carlos Ortega", PASSWORD, "Contoso Resellers", CompanyKind::Reseller);
        let here = signed_in(&app, "carlos@contoso.example").await;
        let laptop = signed_in(&app, "carlos@contoso.example").await;
        let wrong = here
            .post_form("/profile", "/profile/password", &[("current_password", "not it at all"), ("new_password", "a new phrase of words")])
            .await;
        assert_eq!(wrong.status().as_u16(), 400);
        assert_eq!(texts(&wrong.text().await.unwrap(), "#current_password-error"), vec!["That is not your current password."]);
        let ok = here
            .post_form("/profile", "/profile/password", &[("current_password", PASSWORD), ("new_password", "a new phrase of words")])
            .await;
        assert_eq!(location(&ok), "/profile", "{backend:?}");
        assert_eq!(here.get("/profile").await.status().as_u16(), 200, "this session stays");
        assert_eq!(laptop.get("/profile").await.status().as_u16(), 303, "the other ends");
        let profile = here.get_text("/profile").await;
        assert!(texts(&profile, "#security-events td").iter().any(|t| t == "Password changed"));
        assert!(texts(&profile, "#sign-ins td").iter().any(|t| t == "This browser"));
        // Sign out everywhere.
        here.post_form("/profile", "/profile/sign-out-everywhere", &[]).await;
        assert_eq!(here.get("/profile").await.status().as_u16(), 303);
    }
}

fn code_now(app: &TestApp, email: &str) -> String {
    let secret: Option<String> = users::table.filter(users::email.eq(email)).select(users::totp_secret).first(&mut *app.conn()).unwrap();
    portal::domain::identity::two_step::code_at(&secret.unwrap(), chrono::Utc::now().timestamp() as u64).unwrap()
}

#[tokio::test]
async fn operations_enrol_in_two_step_sign_in_and_then_need_a_code() {
    for backend in backends() {
        let app = spawn_app_with(backend, AppOptions { two_step_for_operations: true, ..Default::default() }).await;
        app.create_user("olga@ops.example", "Olga Petrova", PASSWORD, "Vendor Operations", CompanyKind::Operations);
        let olga = browser_of(&app);
        let resp = olga.sign_in("olga@ops.example", PASSWORD).await;
        assert_eq!(location(&resp), "/sign-in/two-step/enrol", "{backend:?}");
        assert_eq!(location(&olga.get("/operations").await), "/sign-in?next=%2Foperations", "no page before enrolment");
        let page = olga.get_text("/sign-in/two-step/enrol").await;
        assert!(page.contains("<svg"), "a QR code drawn by the portal");
        let secret = texts(&page, "#totp-secret")[0].clone();
        let wrong = olga.post_form("/sign-in/two-step/enrol", "/sign-in/two-step/enrol", &[("code", "000000")]).await;
        assert_eq!(wrong.status().as_u16(), 400);
        let code = portal::domain::identity::two_step::code_at(&secret, chrono::Utc::now().timestamp() as u64).unwrap();
        let enrolled = olga.post_form("/sign-in/two-step/enrol", "/sign-in/two-step/enrol", &[("code", &code)]).await;
        assert_eq!(enrolled.status().as_u16(), 200);
        let codes = texts(&enrolled.text().await.unwrap(), "#recovery-codes li");
        assert_eq!(codes.len(), 10);
        assert_eq!(olga.get("/operations").await.status().as_u16(), 200, "signed in after enrolment");

        // Next sign-in: password, then a code. The code just used is not accepted twice.
        let second = browser_of(&app);
        assert_eq!(location(&second.sign_in("olga@ops.example", PASSWORD).await), "/sign-in/two-step");
        let replay = second.post_form("/sign-in/two-step", "/sign-in/two-step", &[("code", &code)]).await;
        assert_eq!(replay.status().as_u16(), 400, "{backend:?}: a code is accepted once");
        let recovery = second.post_form("/sign-in/two-step", "/sign-in/two-step", &[("code", &codes[0])]).await;
        assert_eq!(recovery.status().as_u16(), 303);
        assert_eq!(second.get("/operations").await.status().as_u16(), 200);
        let third = browser_of(&app);
        third.sign_in("olga@ops.example", PASSWORD).await;
        let used = third.post_form("/sign-in/two-step", "/sign-in/two-step", &[("code", &codes[0])]).await;
        assert_eq!(used.status().as_u16(), 400, "a recovery code works once");
        // Wrong codes are throttled like passwords.
        for _ in 0..4 {
            third.post_form("/sign-in/two-step", "/sign-in/two-step", &[("code", "123456")]).await;
        }
        let throttled = third.post_form("/sign-in/two-step", "/sign-in/two-step", &[("code", &code_now(&app, "olga@ops.example"))]).await;
        assert_eq!(throttled.status().as_u16(), 429);
        // Operations cannot turn it off.
        olga.post_form("/profile", "/profile/two-step/disable", &[("password", PASSWORD)]).await;
        let enabled: Option<chrono::NaiveDateTime> =
            users::table.filter(users::email.eq("olga@ops.example")).select(users::totp_enabled_at).first(&mut *app.conn()).unwrap();
        assert!(enabled.is_some());
    }
}

#[tokio::test]
async fn sign_in_never_leads_to_another_site() {
    let app = spawn_app(Backend::Sqlite).await;
    app.create_user("carlos@contoso.example", "Carlos Ortega", PASSWORD, "Contoso Resellers", CompanyKind::Reseller);
    for next in [
        "//evil.example/",
        "/\t/evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example/",
        "/\n/evil.example",
        "///evil.example",
        "/ /evil.example",
        "javascript:alert(1)",
        "http:evil.example",
    ] {
        let b = browser_of(&app);
        let page = b.get_text("/sign-in").await;
        let token = csrf_from(&page);
        let resp = b
            .client
            .post(b.url("/sign-in"))
            .form(&[("email", "carlos@contoso.example"), ("password", PASSWORD), ("next", next), ("csrf_token", &token)])
            .send()
            .await
            .unwrap();
        let loc = location(&resp);
        assert!(
            loc.starts_with('/') && !loc.starts_with("//") && !loc.contains('\\') && !loc.chars().any(char::is_whitespace),
            "{next:?} → {loc:?}"
        );
        assert_eq!(loc, "/", "{next:?}");
        // The sign-in page given the same `next` in its query renders a safe hidden field.
        let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("next", next).finish();
        let form = browser_of(&app).get_text(&format!("/sign-in?{query}")).await;
        assert_eq!(input_value(&form, "next").as_deref(), Some("/"), "{next:?}");
    }
    // The probe's payload as it arrives in a link: `%09` decodes to a tab.
    let form = browser_of(&app).get_text("/sign-in?next=/%09/evil.example/").await;
    assert_eq!(input_value(&form, "next").as_deref(), Some("/"));
}

#[tokio::test]
async fn security_headers_are_on_every_response_including_refusals_and_unknown_pages() {
    let app = spawn_app(Backend::Sqlite).await;
    let csrf_refused = app.client.post(app.url("/profile")).form(&[("name", "x")]).send().await.unwrap();
    let not_found = app.get("/no/such/page").await;
    let sign_in = app.get("/sign-in").await;
    let asset = app.get("/static/css/portal.css").await;
    for (what, resp) in [("csrf refusal", &csrf_refused), ("router 404", &not_found), ("page", &sign_in), ("asset", &asset)] {
        let h = resp.headers();
        let csp = h.get("content-security-policy").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"), "{what}: {csp:?}");
        assert_eq!(h.get("x-content-type-options").map(|v| v.to_str().unwrap()), Some("nosniff"), "{what}");
        assert!(h.get("referrer-policy").is_some(), "{what}");
    }
    assert_eq!(csrf_refused.status().as_u16(), 403);
}

#[tokio::test]
async fn the_mail_viewer_is_off_unless_mail_goes_to_files_on_a_loopback_address_or_is_asked_for() {
    assert!(portal::startup::mail_viewer_allowed(true, true, None));
    assert!(!portal::startup::mail_viewer_allowed(true, false, None), "not on a public address by default");
    assert!(portal::startup::mail_viewer_allowed(true, false, Some(true)));
    assert!(!portal::startup::mail_viewer_allowed(true, true, Some(false)));
    assert!(!portal::startup::mail_viewer_allowed(false, true, Some(true)), "never with SMTP");
    let off = spawn_app_with(Backend::Sqlite, AppOptions { env: vec![("MAIL_VIEWER", "off".into())], ..Default::default() }).await;
    assert_eq!(off.get("/dev/mail").await.status().as_u16(), 404);
    // Signed out, the footer does not link it.
    let on = spawn_app(Backend::Sqlite).await;
    assert!(!on.get_text("/sign-in").await.contains("/dev/mail"));
}

#[tokio::test]
async fn a_sign_in_from_a_browser_not_used_before_is_mailed_to_the_person() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.create_user("carlos@contoso.example", "Carlos Ortega", PASSWORD, "Contoso Resellers", CompanyKind::Reseller);
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";
        let firefox = "Mozilla/5.0 (Windows NT 10.0; rv:130.0) Gecko/20100101 Firefox/130.0";
        for agent in [chrome, chrome, firefox] {
            let b = TestApp {
                client: reqwest::Client::builder()
                    .cookie_store(true)
                    .user_agent(agent)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap(),
                ..app.clone_handle()
            };
            assert_eq!(b.sign_in("carlos@contoso.example", PASSWORD).await.status().as_u16(), 303);
        }
        assert_eq!(app.mail_count("carlos@contoso.example", "new_sign_in"), 1, "{backend:?}: only Firefox was new");
    }
}

/// A password is checked with no connection held and the change written
/// afterwards: a check made before the password changed elsewhere proves
/// nothing, and the change it was for is refused with nothing written.
#[tokio::test]
async fn a_password_checked_before_it_changed_elsewhere_proves_nothing() {
    use portal::domain::identity::passwords::{self, ChangeInput};
    use portal::domain::identity::two_step;
    use portal::domain::DomainError;
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.create_user("ada@analytical.example", "Ada", PASSWORD, "Analytical Engines", CompanyKind::Customer);
        let (id, ..) = person(&app, "ada@analytical.example");
        let mut conn = app.conn();
        let change = |current: &str, new: &str| ChangeInput { current: current.into(), new: new.into() };
        let stale = passwords::stored(&mut conn, id).unwrap().check(PASSWORD, "password").expect("the right password");
        let stale_change = passwords::check_change(passwords::stored(&mut conn, id).unwrap(), &change(PASSWORD, "a phrase never set"))
            .expect("checked while the password was still PASSWORD");

        let fresh = passwords::check_change(passwords::stored(&mut conn, id).unwrap(), &change(PASSWORD, "a new phrase for ada")).unwrap();
        passwords::change(&mut conn, fresh, 0, "127.0.0.1").unwrap();
        let hash_now: String = users::table.find(id).select(users::password_hash).first(&mut *conn).unwrap();

        let refused = two_step::disable(&mut conn, &stale, 0, false, "127.0.0.1");
        assert!(matches!(refused, Err(DomainError::Conflict(_))), "{backend:?}: {refused:?}");
        let refused = passwords::change(&mut conn, stale_change, 0, "127.0.0.1");
        assert!(matches!(refused, Err(DomainError::Conflict(_))), "{backend:?}: {refused:?}");
        let hash_after: String = users::table.find(id).select(users::password_hash).first(&mut *conn).unwrap();
        assert_eq!(hash_after, hash_now, "{backend:?}: the stale change wrote nothing");
        assert!(passwords::stored(&mut conn, id).unwrap().check("a new phrase for ada", "password").is_ok());
    }
}
