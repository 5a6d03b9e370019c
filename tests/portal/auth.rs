//! Registration, sign-in, throttling, sign-out, CSRF and access to pages.

use diesel::prelude::*;
use portal::db::schema::{companies, outbox, users};
use portal::domain::company::CompanyKind;

use crate::helpers::*;

fn user_count(app: &TestApp) -> i64 {
    users::table.count().get_result(&mut *app.conn()).unwrap()
}

#[tokio::test]
async fn registering_a_new_domain_waits_for_the_confirmed_address_then_makes_a_customer_company() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let resp = app.register("Ada Lovelace", "Ada@Analytical.example", PASSWORD, "Analytical Engines").await;
        assert_eq!(resp.status().as_u16(), 303, "{backend:?}");
        assert_eq!(location(&resp), "/welcome");

        // Until the address is confirmed: only "check your mail", no company yet.
        let welcome = app.get_text("/welcome").await;
        assert_eq!(texts(&welcome, "h1"), vec!["Check your mail"], "{backend:?}");
        assert_eq!(location(&app.get("/orders").await), "/welcome");
        assert_eq!(location(&app.get("/").await), "/welcome");
        let n: i64 = companies::table.count().get_result(&mut *app.conn()).unwrap();
        assert_eq!(n, 0, "no company before the address is confirmed");
        assert_eq!(app.mail_count("ada@analytical.example", "welcome"), 0);

        let link = app.mailed_link("ada@analytical.example", "confirm_email");
        assert!(link.starts_with("/confirm-email/"), "{link}");
        let confirm = app.post_form(&link, &link, &[]).await;
        assert_eq!(location(&confirm), "/welcome");
        let home = app.get_text("/").await;
        assert!(home.contains("Welcome, Ada Lovelace"), "{backend:?}: {home}");
        assert!(home.contains("Analytical Engines"));
        assert!(home.contains("Customer"), "a self-registered company is a customer");

        let mut conn = app.conn();
        let kind: String =
            companies::table.filter(companies::name.eq("Analytical Engines")).select(companies::kind).first(&mut conn).unwrap();
        assert_eq!(kind, "customer");
        let admin: bool =
            users::table.filter(users::email.eq("ada@analytical.example")).select(users::is_company_admin).first(&mut conn).unwrap();
        assert!(admin, "the first member is the company administrator");
        let welcome: Vec<(String, String)> = outbox::table
            .filter(outbox::recipient.eq("ada@analytical.example"))
            .filter(outbox::kind.eq("welcome"))
            .select((outbox::kind, outbox::subject))
            .load(&mut conn)
            .unwrap();
        assert_eq!(welcome, vec![("welcome".to_string(), "Welcome to the Smart Account Portal".to_string())]);
    }
}

#[tokio::test]
async fn registering_with_a_known_domain_shows_nothing_of_the_company_and_never_makes_a_partner() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.create_user("nora@northwind.example", "Nora", PASSWORD, "Northwind Distribution", CompanyKind::Distributor);
        let resp = app.register("Nils", "nils@northwind.example", PASSWORD, "Some Other Name").await;
        assert_eq!(resp.status().as_u16(), 303);
        let link = app.mailed_link("nils@northwind.example", "confirm_email");
        app.post_form(&link, &link, &[]).await;
        let welcome = app.get_text("/welcome").await;
        assert_eq!(texts(&welcome, "h1"), vec!["Ask to join Northwind Distribution"], "{backend:?}");
        for page in ["/", "/orders", "/smart-account-orders", "/accounts", "/licenses", "/profile", "/company"] {
            let resp = app.get(page).await;
            assert_eq!((page, resp.status().as_u16(), location(&resp)), (page, 303, "/welcome".to_string()), "{backend:?}");
        }
        let n: i64 = companies::table.count().get_result(&mut *app.conn()).unwrap();
        assert_eq!(n, 1, "no second company for a known domain");
        let company: Option<i64> =
            users::table.filter(users::email.eq("nils@northwind.example")).select(users::company_id).first(&mut *app.conn()).unwrap();
        assert_eq!(company, None, "not a member until approved");
    }
}

#[tokio::test]
async fn registering_with_bad_input_shows_messages_beside_the_fields_keeps_the_input_and_writes_nothing() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let resp = app.register("", "not-an-email", "short", "").await;
        assert_eq!(resp.status().as_u16(), 400);
        let page = resp.text().await.unwrap();
        assert_eq!(texts(&page, "#name-error"), vec!["Enter your name."]);
        assert_eq!(texts(&page, "#email-error"), vec!["An email address has the form name@company.com."]);
        assert_eq!(texts(&page, "#password-error"), vec!["Use at least 10 characters."]);
        assert_eq!(input_value(&page, "email").as_deref(), Some("not-an-email"), "input kept");
        assert_eq!(input_value(&page, "password"), None, "a password is never echoed");
        assert_eq!(user_count(&app), 0, "{backend:?}");

        // A new domain needs a company name, said beside that field.
        let resp = app.register("Bea", "bea@newco.example", PASSWORD, "   ").await;
        assert_eq!(resp.status().as_u16(), 400);
        let page = resp.text().await.unwrap();
        assert!(texts(&page, "#company_name-error")[0].contains("newco.example"));
        assert_eq!(input_value(&page, "name").as_deref(), Some("Bea"));
        assert_eq!(user_count(&app), 0);
        let n: i64 = companies::table.count().get_result(&mut *app.conn()).unwrap();
        assert_eq!(n, 0);
    }
}

#[tokio::test]
async fn registering_an_email_twice_is_refused_beside_the_email_field() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.create_user("maya@metalworks.example", "Maya", PASSWORD, "Metalworks Inc.", CompanyKind::Customer);
        let resp = app.register("Maya Again", "MAYA@metalworks.example", PASSWORD, "").await;
        assert_eq!(resp.status().as_u16(), 400, "{backend:?}");
        let page = resp.text().await.unwrap();
        assert!(texts(&page, "#email-error")[0].contains("exists already"));
        assert_eq!(user_count(&app), 1);
    }
}

#[tokio::test]
async fn signing_in_goes_to_the_requested_page_and_signing_out_ends_the_session() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.create_user("carlos@contoso.example", "Carlos Ortega", PASSWORD, "Contoso Resellers", CompanyKind::Reseller);

        let resp = app.get("/profile").await;
        assert_eq!(resp.status().as_u16(), 303, "a signed-out user is sent to sign in");
        assert_eq!(location(&resp), "/sign-in?next=%2Fprofile");

        let page = app.get_text("/sign-in?next=%2Fprofile").await;
        let token = csrf_from(&page);
        let resp = app
            .client
            .post(app.url("/sign-in"))
            .form(&[("email", "carlos@contoso.example"), ("password", PASSWORD), ("next", "/profile"), ("csrf_token", &token)])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 303, "{backend:?}");
        assert_eq!(location(&resp), "/profile");
        let profile = app.get_text("/profile").await;
        assert!(profile.contains("carlos@contoso.example"));
        assert!(profile.contains("Contoso Resellers"));

        let resp = app.post_form("/profile", "/sign-out", &[]).await;
        assert_eq!(resp.status().as_u16(), 303);
        assert_eq!(app.get("/profile").await.status().as_u16(), 303, "signed out");
        assert!(app.get_text("/sign-in").await.contains("You are signed out."));
    }
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_message_with_the_email_kept() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.create_user("fatima@fabrikam.example", "Fatima", PASSWORD, "Fabrikam Networks", CompanyKind::ServiceProvider);
        let wrong = app.sign_in("fatima@fabrikam.example", "wrong password!").await;
        assert_eq!(wrong.status().as_u16(), 400, "{backend:?}");
        let wrong = wrong.text().await.unwrap();
        let unknown = app.sign_in("nobody@fabrikam.example", PASSWORD).await.text().await.unwrap();
        let message = texts(&wrong, "#sign-in-error");
        assert_eq!(message, vec!["That email and password do not match an account."]);
        assert_eq!(texts(&unknown, "#sign-in-error"), message);
        assert_eq!(input_value(&wrong, "email").as_deref(), Some("fatima@fabrikam.example"));
        assert_eq!(input_value(&unknown, "email").as_deref(), Some("nobody@fabrikam.example"));
        assert_eq!(app.get("/profile").await.status().as_u16(), 303, "not signed in");
    }
}

#[tokio::test]
async fn sign_in_is_throttled_per_account_after_five_failures_even_with_the_right_password() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.create_user("olga@ops.example", "Olga", PASSWORD, "Vendor Operations", CompanyKind::Operations);
        for _ in 0..5 {
            assert_eq!(app.sign_in("olga@ops.example", "not the password").await.status().as_u16(), 400);
        }
        let resp = app.sign_in("olga@ops.example", PASSWORD).await;
        assert_eq!(resp.status().as_u16(), 429, "{backend:?}");
        assert!(resp.headers().contains_key("retry-after"));
        assert!(resp.text().await.unwrap().contains("Too many failed sign-ins"));
        assert_eq!(app.get("/profile").await.status().as_u16(), 303, "still signed out");

        // Another account from the same address is not locked by these five.
        app.create_user("oskar@ops.example", "Oskar", PASSWORD, "Vendor Operations", CompanyKind::Operations);
        assert_eq!(app.sign_in("oskar@ops.example", PASSWORD).await.status().as_u16(), 303);
    }
}

#[tokio::test]
async fn sign_in_is_throttled_per_address_across_accounts() {
    let app = spawn_app(Backend::Sqlite).await;
    for i in 0..portal::domain::users::MAX_FAILURES_PER_ADDRESS {
        let resp = app.sign_in(&format!("guess{i}@x.example"), "nope nope nope").await;
        assert_eq!(resp.status().as_u16(), 400);
    }
    app.create_user("real@x.example", "Real", PASSWORD, "X", CompanyKind::Customer);
    assert_eq!(app.sign_in("real@x.example", PASSWORD).await.status().as_u16(), 429);
}

#[tokio::test]
async fn a_state_changing_request_without_the_csrf_token_is_refused_and_changes_nothing() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.create_user("maya@metalworks.example", "Maya Stein", PASSWORD, "Metalworks Inc.", CompanyKind::Customer);
        assert_eq!(app.sign_in("maya@metalworks.example", PASSWORD).await.status().as_u16(), 303);

        let no_token = app.client.post(app.url("/profile")).form(&[("name", "Mallory")]).send().await.unwrap();
        assert_eq!(no_token.status().as_u16(), 403, "{backend:?}");
        let wrong_token = app.client.post(app.url("/profile")).form(&[("name", "Mallory"), ("csrf_token", "forged")]).send().await.unwrap();
        assert_eq!(wrong_token.status().as_u16(), 403);
        let token = csrf_from(&app.get_text("/profile").await);
        let cross_site = app
            .client
            .post(app.url("/profile"))
            .header("Origin", "https://evil.example")
            .form(&[("name", "Mallory"), ("csrf_token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(cross_site.status().as_u16(), 403);
        let htmx_header =
            app.client.post(app.url("/profile")).header("X-CSRF-Token", "forged").form(&[("name", "Mallory")]).send().await.unwrap();
        assert_eq!(htmx_header.status().as_u16(), 403);
        let name: String = users::table.select(users::name).first(&mut *app.conn()).unwrap();
        assert_eq!(name, "Maya Stein", "nothing changed");

        // The same request with the page's token (as a form field, or as htmx's header) is accepted.
        let ok = app
            .client
            .post(app.url("/profile"))
            .header("X-CSRF-Token", token.as_str())
            .form(&[("name", "Maya S. Stein"), ("notify_orders", "on")])
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status().as_u16(), 303);
        let name: String = users::table.select(users::name).first(&mut *app.conn()).unwrap();
        assert_eq!(name, "Maya S. Stein");
    }
}

#[tokio::test]
async fn a_signed_out_user_cannot_post_forms_either() {
    let app = spawn_app(Backend::Sqlite).await;
    let resp = app.client.post(app.url("/profile")).form(&[("name", "x")]).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
}

#[tokio::test]
async fn the_profile_saves_notification_preferences_and_refuses_an_empty_name() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.create_user("maya@metalworks.example", "Maya Stein", PASSWORD, "Metalworks Inc.", CompanyKind::Customer);
        app.sign_in("maya@metalworks.example", PASSWORD).await;

        let resp = app.post_form("/profile", "/profile", &[("name", "Maya Stein"), ("notify_reminders", "on")]).await;
        assert_eq!(resp.status().as_u16(), 303);
        let prefs: (bool, bool) = users::table.select((users::notify_orders, users::notify_reminders)).first(&mut *app.conn()).unwrap();
        assert_eq!(prefs, (false, true), "{backend:?}");
        assert!(app.get_text("/profile").await.contains("Your profile is saved."));

        let resp = app.post_form("/profile", "/profile", &[("name", "  "), ("notify_orders", "on")]).await;
        assert_eq!(resp.status().as_u16(), 400);
        let page = resp.text().await.unwrap();
        assert_eq!(texts(&page, "#name-error"), vec!["Enter your name."]);
        let prefs: (bool, bool) = users::table.select((users::notify_orders, users::notify_reminders)).first(&mut *app.conn()).unwrap();
        assert_eq!(prefs, (false, true), "nothing written");
    }
}

#[tokio::test]
async fn only_operations_staff_see_the_operations_section() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.create_user("carlos@contoso.example", "Carlos", PASSWORD, "Contoso Resellers", CompanyKind::Reseller);
        app.sign_in("carlos@contoso.example", PASSWORD).await;
        assert_eq!(app.get("/operations").await.status().as_u16(), 404, "{backend:?}");
        assert!(!app.get_text("/orders").await.contains("href=\"/operations\""));

        let ops = spawn_app_with(backend, AppOptions { share_with: Some((app.db.clone(), app.data_handle())), ..Default::default() }).await;
        ops.create_user("olga@ops.example", "Olga", PASSWORD, "Vendor Operations", CompanyKind::Operations);
        ops.sign_in("olga@ops.example", PASSWORD).await;
        assert_eq!(ops.get("/operations").await.status().as_u16(), 200);
        assert!(ops.get_text("/orders").await.contains("href=\"/operations\""));
    }
}

/// A sign-in checks its password, and a registration hashes one, holding
/// no database connection: with a pool of one, while both wait their turn
/// to hash (a burst of them does), a signed-in person's pages still get
/// the connection, and both complete once their turn comes.
/// Waits (up to 10 s, else fails with `what`) until `n` hashes wait for their turn.
async fn until_hashes_wait(n: usize, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while portal::domain::credentials::hashes_waiting() < n {
        assert!(std::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_sign_in_waiting_to_check_its_password_holds_no_database_connection() {
    use portal::domain::credentials::{hashes_waiting, hold_every_turn};
    for backend in backends() {
        let app = spawn_app_with(backend, AppOptions { env: vec![("DB_POOL_SIZE", "1".into())], ..Default::default() }).await;
        app.create_user("ada@analytical.example", "Ada", PASSWORD, "Analytical Engines", CompanyKind::Customer);
        assert_eq!(app.sign_in("ada@analytical.example", PASSWORD).await.status().as_u16(), 303);
        let other = TestApp { client: client(), ..app.clone_handle() };
        let token = csrf_from(&other.get_text("/sign-in").await);

        let held = tokio::task::spawn_blocking(hold_every_turn).await.unwrap();
        let waiting = hashes_waiting();
        let form = [("email", "ada@analytical.example"), ("password", PASSWORD), ("csrf_token", token.as_str())];
        let signing_in = other.client.post(other.url("/sign-in")).form(&form).send();
        let signing_in = tokio::spawn(signing_in);
        let newcomer = TestApp { client: client(), ..app.clone_handle() };
        let token = csrf_from(&newcomer.get_text("/register").await);
        let form = [
            ("name", "Charles Babbage"),
            ("email", "charles@analytical.example"),
            ("password", PASSWORD),
            ("company_name", ""),
            ("csrf_token", token.as_str()),
        ];
        let registering = tokio::spawn(newcomer.client.post(newcomer.url("/register")).form(&form).send());
        until_hashes_wait(waiting + 2, &format!("{backend:?}: the sign-in and the registration reached their hashes")).await;
        let home = app.get("/").await;
        assert_eq!(home.status().as_u16(), 200, "{backend:?}: a page while a sign-in and a registration wait to hash");
        assert!(home.text().await.unwrap().contains("Ada"));

        drop(held);
        let signed_in = signing_in.await.unwrap().expect("the sign-in answers");
        assert_eq!(signed_in.status().as_u16(), 303, "{backend:?}: the sign-in completes after its turn");
        assert_eq!(other.get("/profile").await.status().as_u16(), 200, "{backend:?}: and its browser is signed in");
        let registered = registering.await.unwrap().expect("the registration answers");
        assert_eq!(registered.status().as_u16(), 303, "{backend:?}: the registration completes after its turn");
        let n: i64 = users::table.filter(users::email.eq("charles@analytical.example")).count().get_result(&mut *app.conn()).unwrap();
        assert_eq!(n, 1, "{backend:?}: the newcomer is registered");
    }
}

/// Changing one's password, turning two-step sign-in off, a reset from a
/// mailed link and accepting an invitation as a new person each check or
/// hash a password with no database connection held: with one connection
/// and every hashing turn taken, all four wait for their turn while a page
/// still answers, then complete.
#[tokio::test]
async fn password_changes_waiting_for_their_hash_hold_no_database_connection() {
    use portal::domain::credentials::{hashes_waiting, hold_every_turn};
    for backend in backends() {
        let app = spawn_app_with(backend, AppOptions { env: vec![("DB_POOL_SIZE", "1".into())], ..Default::default() }).await;
        for (email, name) in [("ada@analytical.example", "Ada"), ("bea@analytical.example", "Bea"), ("cy@analytical.example", "Cy")] {
            app.create_user(email, name, PASSWORD, "Analytical Engines", CompanyKind::Customer);
        }
        let browser = || TestApp { client: client(), ..app.clone_handle() };
        let (ada, cy, visitor, dee) = (browser(), browser(), browser(), browser());
        assert_eq!(ada.sign_in("ada@analytical.example", PASSWORD).await.status().as_u16(), 303);
        assert_eq!(cy.sign_in("cy@analytical.example", PASSWORD).await.status().as_u16(), 303);
        let invited = ada.post_form("/company", "/company/invitations", &[("email", "dee@analytical.example")]).await;
        assert_eq!(invited.status().as_u16(), 303, "{backend:?}: Ada (the company's first member) invites Dee");
        let invitation = app.mailed_link("dee@analytical.example", "invitation");
        visitor.post_form("/password/forgot", "/password/forgot", &[("email", "bea@analytical.example")]).await;
        let reset = app.mailed_link("bea@analytical.example", "password_reset");
        let token = |html: String| csrf_from(&html);
        let (ada_token, cy_token) = (token(ada.get_text("/profile").await), token(cy.get_text("/profile").await));
        let (reset_token, dee_token) = (token(visitor.get_text(&reset).await), token(dee.get_text(&invitation).await));

        let held = tokio::task::spawn_blocking(hold_every_turn).await.unwrap();
        let waiting = hashes_waiting();
        let post =
            |who: &TestApp, path: &str, form: Vec<(&'static str, String)>| tokio::spawn(who.client.post(who.url(path)).form(&form).send());
        let changing = post(
            &ada,
            "/profile/password",
            vec![("current_password", PASSWORD.into()), ("new_password", "a new phrase for ada".into()), ("csrf_token", ada_token)],
        );
        let disabling = post(&cy, "/profile/two-step/disable", vec![("password", PASSWORD.into()), ("csrf_token", cy_token)]);
        let resetting = post(&visitor, &reset, vec![("password", "a new phrase for bea".into()), ("csrf_token", reset_token)]);
        let joining =
            post(&dee, &invitation, vec![("name", "Dee".into()), ("password", "a new phrase for dee".into()), ("csrf_token", dee_token)]);
        until_hashes_wait(waiting + 4, &format!("{backend:?}: all four reached their password checks")).await;
        let page = cy.get("/profile").await;
        assert_eq!(page.status().as_u16(), 200, "{backend:?}: a page while four password changes wait to hash");

        drop(held);
        for (what, task, to) in
            [("change", changing, "/profile"), ("two-step off", disabling, "/profile"), ("reset", resetting, "/sign-in")]
        {
            let done = task.await.unwrap().expect("answers");
            assert_eq!(
                (done.status().as_u16(), location(&done)),
                (303, to.to_string()),
                "{backend:?}: the {what} completes after its turn"
            );
        }
        let joined = joining.await.unwrap().expect("answers");
        assert_eq!(joined.status().as_u16(), 303, "{backend:?}: Dee joins after her turn");
        for (email, password) in [
            ("ada@analytical.example", "a new phrase for ada"),
            ("bea@analytical.example", "a new phrase for bea"),
            ("dee@analytical.example", "a new phrase for dee"),
        ] {
            assert_eq!(
                browser().sign_in(email, password).await.status().as_u16(),
                303,
                "{backend:?}: {email} signs in with the new password"
            );
        }
    }
}
