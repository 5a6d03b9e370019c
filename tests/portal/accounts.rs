//! Smart accounts over HTTP: request, set-up links, domain review, virtual
//! accounts, users and partner access, agreement, event log, access
//! requests, and every forbidden action answering 403/404 with nothing changed.

use diesel::prelude::*;
use portal::db::schema::{account_events, smart_accounts, virtual_accounts};
use portal::domain::company::CompanyKind;

use crate::fixtures::*;
use crate::helpers::*;

/// Walks the request form step by step, as the browser would without JavaScript.
async fn request_account(app: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    let mut resp = app.post_form("/accounts/new", "/accounts/new", &[("step", "1"), ("go", "next")]).await;
    let _ = &mut resp;
    // Post every field at every step: each step validates its own and carries the rest.
    let mut last = None;
    for step in ["1", "2", "3", "4"] {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("step", step));
        all.push(("go", "next"));
        let r = app.post_form("/accounts/new", "/accounts/new", &all).await;
        assert_eq!(r.status().as_u16(), 200, "step {step}: {}", r.text().await.unwrap());
        last = Some(());
    }
    assert!(last.is_some());
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("step", "5"));
    all.push(("go", "submit"));
    app.post_form("/accounts/new", "/accounts/new", &all).await
}

fn account_by_domain(app: &TestApp, domain: &str) -> i64 {
    smart_accounts::table.filter(smart_accounts::domain.eq(domain)).select(smart_accounts::id).first(&mut *app.conn()).unwrap()
}

#[tokio::test]
async fn a_customer_requests_an_account_and_activates_it_from_the_emailed_link() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.create_user("ada@analytical.example", "Ada", PASSWORD, "Analytical Engines", CompanyKind::Customer);
        app.sign_in("ada@analytical.example", PASSWORD).await;
        let resp = request_account(
            &app,
            &[("kind", "customer"), ("authority", "yes"), ("name", "Analytical Engines"), ("domain", "analytical.example")],
        )
        .await;
        assert_eq!(resp.status().as_u16(), 303, "{backend:?}");
        let id = account_by_domain(&app, "analytical.example");
        assert_eq!(location(&resp), format!("/accounts/{id}"));
        assert_eq!(account_status(&app, id), "pending");
        let page = app.get_text(&format!("/accounts/{id}")).await;
        assert!(page.contains("Pending") && page.contains("licenses cannot be used"));
        assert_eq!(mails(&app, "ada@analytical.example", "account_requested").len(), 1, "confirmation");
        let vas: Vec<String> = virtual_accounts::table
            .filter(virtual_accounts::smart_account_id.eq(id))
            .select(virtual_accounts::name)
            .load(&mut *app.conn())
            .unwrap();
        assert_eq!(vas, vec!["DEFAULT"]);

        let link = setup_link(&app, "ada@analytical.example");
        let page = app.get_text(&link).await;
        assert!(page.contains("Complete Smart Account Setup") && page.contains("analytical.example"));
        let review = app.post_form(&link, &link, &[("authority", "yes")]).await.text().await.unwrap();
        assert!(review.contains("Activate Smart Account"));
        let resp = app.post_form(&link, &format!("{link}/activate"), &[]).await;
        assert_eq!(resp.status().as_u16(), 303);
        assert_eq!(account_status(&app, id), "active");
        assert_eq!(role_of(&app, id, "ada@analytical.example").as_deref(), Some("sa_administrator"));

        // The link works once.
        let again = app.get(&link).await;
        assert_eq!(again.status().as_u16(), 410);
        assert!(again.text().await.unwrap().contains("used already"));
        let kinds: Vec<String> = account_events::table
            .filter(account_events::smart_account_id.eq(id))
            .select(account_events::kind)
            .order(account_events::id)
            .load(&mut *app.conn())
            .unwrap();
        assert_eq!(kinds, vec!["requested", "activated"]);
    }
}

#[tokio::test]
async fn a_reseller_requests_for_a_customer_whose_approver_registers_and_activates() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let _world = metalworks(&app);
        app.create_user("nils@acme.example", "Nils (Acme admin)", PASSWORD, "Acme Corp", CompanyKind::Customer);
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let resp = request_account(
            &carlos,
            &[
                ("kind", "customer"),
                ("authority", "no"),
                ("approver_email", "adam@acme.example"),
                ("name", "Acme Corp"),
                ("domain", "acme.example"),
                ("company_name", "Acme Corp"),
                ("country", "US"),
                ("address", "1 Industrial Way"),
                ("state_province", "OH"),
                ("postal_code", "44101"),
                ("administrators", "nils@acme.example, newbie@acme.example"),
                ("access_for_myself", "yes"),
            ],
        )
        .await;
        assert_eq!(resp.status().as_u16(), 303, "{backend:?}");
        let id = account_by_domain(&app, "acme.example");
        let link = setup_link(&app, "adam@acme.example");

        // Adam has no user yet: the link sends him to sign in, and he registers.
        let adam = TestApp { client: client(), ..app.clone_handle() };
        let resp = adam.get(&link).await;
        assert_eq!(resp.status().as_u16(), 303);
        assert!(location(&resp).starts_with("/sign-in?next=%2Faccounts%2Fsetup%2F"));
        assert_eq!(adam.register_confirmed("Adam Brooks", "adam@acme.example", PASSWORD, "Acme Corp").await.status().as_u16(), 303);
        // Acme is on the portal already (Nils): Adam asks to join, and Nils admits him.
        assert_eq!(location(&adam.get(&link).await), "/welcome", "not a member yet: the link waits");
        adam.post_form("/welcome", "/welcome/join", &[]).await;
        let nils = as_user(&app, "nils@acme.example").await;
        approve_first_request(&nils).await;
        adam.post_form(&link, &link, &[("authority", "yes")]).await;
        assert_eq!(adam.post_form(&link, &format!("{link}/activate"), &[]).await.status().as_u16(), 303);

        assert_eq!(account_status(&app, id), "active");
        assert_eq!(role_of(&app, id, "adam@acme.example").as_deref(), Some("sa_administrator"));
        assert_eq!(role_of(&app, id, "nils@acme.example").as_deref(), Some("sa_administrator"), "nominated and registered");
        assert_eq!(role_of(&app, id, "carlos@contoso.example").as_deref(), Some("sa_user"), "access for myself");
        assert_eq!(role_of(&app, id, "newbie@acme.example"), None);
        assert_eq!(mails(&app, "newbie@acme.example", "account_nomination").len(), 1, "invited to register");
        assert_eq!(mails(&app, "carlos@contoso.example", "account_activated").len(), 1);
        // The nominee registers later and takes up the role.
        let newbie = TestApp { client: client(), ..app.clone_handle() };
        newbie.register("Newbie", "newbie@acme.example", PASSWORD, "").await;
        assert_eq!(role_of(&app, id, "newbie@acme.example"), None, "an unconfirmed address claims nothing");
        let confirm = app.mailed_link("newbie@acme.example", "confirm_email");
        newbie.post_form(&confirm, &confirm, &[]).await;
        assert_eq!(role_of(&app, id, "newbie@acme.example"), None, "not before Acme admits them");
        newbie.post_form("/welcome", "/welcome/join", &[]).await;
        approve_first_request(&nils).await;
        assert_eq!(role_of(&app, id, "newbie@acme.example").as_deref(), Some("sa_administrator"), "admitted, the nomination is claimed");
    }
}

#[tokio::test]
async fn a_setup_link_for_someone_else_or_expired_or_forged_is_refused_with_a_clear_page() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let _world = metalworks(&app);
        let maya = as_user(&app, "maya@metalworks.example").await;
        let resp = request_account(
            &maya,
            &[
                ("kind", "customer"),
                ("authority", "no"),
                ("approver_email", "sam@metalworks.example"),
                ("name", "Metalworks Labs"),
                ("domain", "labs.metalworks.example"),
                ("duplicate_reason", "Research division"),
            ],
        )
        .await;
        assert_eq!(resp.status().as_u16(), 303, "{backend:?}");
        let id = account_by_domain(&app, "labs.metalworks.example");
        // Edited from the default (metalworks.example): operations review first, no link yet.
        assert_eq!(account_status(&app, id), "pending_domain_review");
        assert!(mails(&app, "sam@metalworks.example", "account_setup").is_empty());
        let olga = as_user(&app, "olga@ops.example").await;
        let queue = olga.get_text("/operations/domain-reviews").await;
        assert!(queue.contains("labs.metalworks.example"));
        // A reject needs a reason.
        let resp = olga
            .post_form(
                "/operations/domain-reviews",
                &format!("/operations/domain-reviews/{id}"),
                &[("decision", "reject"), ("reason", " ")],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 400);
        assert_eq!(account_status(&app, id), "pending_domain_review");
        // Non-operations users do not find the queue.
        assert_eq!(maya.get("/operations/domain-reviews").await.status().as_u16(), 404);
        let resp = maya.post_form("/accounts", &format!("/operations/domain-reviews/{id}"), &[("decision", "approve")]).await;
        assert_eq!(resp.status().as_u16(), 404);
        assert_eq!(account_status(&app, id), "pending_domain_review");
        olga.post_form("/operations/domain-reviews", &format!("/operations/domain-reviews/{id}"), &[("decision", "approve")]).await;
        assert_eq!(account_status(&app, id), "pending");
        let link = setup_link(&app, "sam@metalworks.example");

        // Maya is not the person the link was sent to.
        let resp = maya.get(&link).await;
        assert_eq!(resp.status().as_u16(), 403);
        assert!(resp.text().await.unwrap().contains("sent to someone else"));
        let resp = maya.post_form("/accounts", &format!("{link}/activate"), &[]).await;
        assert_ne!(resp.status().as_u16(), 303);
        assert_eq!(account_status(&app, id), "pending");
        // A forged token.
        let sam = as_user(&app, "sam@metalworks.example").await;
        assert!(sam.get_text("/accounts/setup/forged-token").await.contains("not valid"));
        // An expired link.
        diesel::update(portal::db::schema::setup_links::table)
            .set(portal::db::schema::setup_links::expires_at.eq(portal::db::now()))
            .execute(&mut *app.conn())
            .unwrap();
        let resp = sam.get(&link).await;
        assert_eq!(resp.status().as_u16(), 410);
        assert!(resp.text().await.unwrap().contains("expired"));
    }
}

#[tokio::test]
async fn the_approver_can_hand_the_link_on_to_someone_else() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let _world = metalworks(&app);
        app.create_user("ada@analytical.example", "Ada", PASSWORD, "Analytical Engines", CompanyKind::Customer);
        app.create_user("bob@analytical.example", "Bob", PASSWORD, "Analytical Engines", CompanyKind::Customer);
        app.create_user("cy@analytical.example", "Cy", PASSWORD, "Analytical Engines", CompanyKind::Customer);
        let ada = as_user(&app, "ada@analytical.example").await;
        let resp = request_account(
            &ada,
            &[
                ("kind", "customer"),
                ("authority", "no"),
                ("approver_email", "bob@analytical.example"),
                ("name", "Analytical"),
                ("domain", "analytical.example"),
            ],
        )
        .await;
        assert_eq!(resp.status().as_u16(), 303, "{backend:?}");
        let id = account_by_domain(&app, "analytical.example");
        let link = setup_link(&app, "bob@analytical.example");
        let bob = as_user(&app, "bob@analytical.example").await;
        let resp = bob.post_form(&link, &link, &[("authority", "no"), ("email", "not an email")]).await;
        assert_eq!(resp.status().as_u16(), 400);
        assert_eq!(input_value(&resp.text().await.unwrap(), "email").as_deref(), Some("not an email"));
        let resp = bob.post_form(&link, &link, &[("authority", "no"), ("email", "cy@analytical.example")]).await;
        assert_eq!(resp.status().as_u16(), 303);
        assert_eq!(bob.get(&link).await.status().as_u16(), 410, "Bob's link is used up");
        let cy_link = setup_link(&app, "cy@analytical.example");
        let cy = as_user(&app, "cy@analytical.example").await;
        cy.post_form(&cy_link, &cy_link, &[("authority", "yes")]).await;
        assert_eq!(cy.post_form(&cy_link, &format!("{cy_link}/activate"), &[]).await.status().as_u16(), 303);
        assert_eq!(account_status(&app, id), "active");
        assert_eq!(role_of(&app, id, "cy@analytical.example").as_deref(), Some("sa_administrator"));
        assert_eq!(role_of(&app, id, "bob@analytical.example"), None);
    }
}

#[tokio::test]
async fn the_request_form_refuses_bad_input_beside_each_field_and_keeps_what_was_typed() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let _world = metalworks(&app);
        let maya = as_user(&app, "maya@metalworks.example").await;
        // Step 1: a customer may not ask for a holding account; the approver must be a colleague.
        let resp = maya
            .post_form(
                "/accounts/new",
                "/accounts/new",
                &[("step", "1"), ("go", "next"), ("kind", "holding"), ("authority", "no"), ("approver_email", "x@other.example")],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 400);
        let page = resp.text().await.unwrap();
        assert!(texts(&page, "#kind-error")[0].contains("holding accounts"), "{backend:?}");
        assert!(texts(&page, "#approver_email-error")[0].contains("your company"));
        assert_eq!(input_value(&page, "approver_email").as_deref(), Some("x@other.example"));
        // Step 2: the same domain as an existing account is refused, with that account shown.
        let resp = maya
            .post_form(
                "/accounts/new",
                "/accounts/new",
                &[
                    ("step", "2"),
                    ("go", "next"),
                    ("kind", "customer"),
                    ("authority", "yes"),
                    ("name", "Metalworks"),
                    ("domain", "metalworks.example"),
                ],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 400);
        let page = resp.text().await.unwrap();
        assert!(texts(&page, "#domain-error")[0].contains("exists already"));
        assert!(page.contains("Accounts that already match"));
        // A prefixed domain of the same company needs a reason.
        let resp = maya
            .post_form(
                "/accounts/new",
                "/accounts/new",
                &[
                    ("step", "2"),
                    ("go", "next"),
                    ("kind", "customer"),
                    ("authority", "yes"),
                    ("name", "Metalworks EMEA"),
                    ("domain", "emea.metalworks.example"),
                ],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 400);
        let page = resp.text().await.unwrap();
        assert!(texts(&page, "#duplicate_reason-error")[0].contains("second account"));
        assert!(page.contains("operations before the account can be activated"), "the longer-approval warning");
        // Company information: country from the list.
        let resp = maya
            .post_form(
                "/accounts/new",
                "/accounts/new",
                &[
                    ("step", "3"),
                    ("go", "next"),
                    ("company_name", "Metalworks"),
                    ("country", "ZZ"),
                    ("address", "NA"),
                    ("state_province", "NA"),
                    ("postal_code", "NA"),
                ],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 400);
        assert!(resp.text().await.unwrap().contains("Choose a country from the list."));
        // Back keeps everything.
        let resp = maya
            .post_form(
                "/accounts/new",
                "/accounts/new",
                &[
                    ("step", "3"),
                    ("go", "back"),
                    ("kind", "customer"),
                    ("authority", "yes"),
                    ("name", "Keep Me"),
                    ("domain", "keep.example"),
                ],
            )
            .await;
        let page = resp.text().await.unwrap();
        assert_eq!(input_value(&page, "name").as_deref(), Some("Keep Me"));
        assert_eq!(input_value(&page, "domain").as_deref(), Some("keep.example"));
        let n: i64 = smart_accounts::table.count().get_result(&mut *app.conn()).unwrap();
        assert_eq!(n, 2, "nothing written");
    }
}

#[tokio::test]
async fn administrators_manage_virtual_accounts_and_others_cannot() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let w = metalworks(&app);
        let maya = as_user(&app, "maya@metalworks.example").await;
        let base = format!("/accounts/{}/virtual-accounts", w.metalworks);
        let resp = maya.post_form(&base, &base, &[("name", "Quality"), ("description", "QA lab"), ("visibility", "private")]).await;
        assert_eq!(resp.status().as_u16(), 303, "{backend:?}");
        let page = maya.get_text(&base).await;
        assert!(page.contains("Quality") && page.contains("Private"));
        // The same name again (any case) is refused beside the field.
        let resp = maya.post_form(&base, &base, &[("name", "quality"), ("visibility", "public")]).await;
        assert_eq!(resp.status().as_u16(), 400);
        let page = resp.text().await.unwrap();
        assert!(texts(&page, "#name-error")[0].contains("exists already"));
        assert_eq!(input_value(&page, "name").as_deref(), Some("quality"));
        // A virtual account with users in it cannot be deleted; nor can the default.
        let resp = maya.post_form(&base, &format!("{base}/{}/delete", w.processing), &[]).await;
        assert_eq!(resp.status().as_u16(), 303);
        assert!(maya.get_text(&base).await.contains("is not empty"));
        let default: i64 = virtual_accounts::table
            .filter(virtual_accounts::smart_account_id.eq(w.metalworks))
            .filter(virtual_accounts::is_default.eq(true))
            .select(virtual_accounts::id)
            .first(&mut *app.conn())
            .unwrap();
        maya.post_form(&base, &format!("{base}/{default}/delete"), &[]).await;
        assert!(maya.get_text(&base).await.contains("default virtual account cannot be deleted"));
        let count = || {
            virtual_accounts::table
                .filter(virtual_accounts::smart_account_id.eq(w.metalworks))
                .count()
                .get_result::<i64>(&mut *app.conn())
                .unwrap()
        };
        assert_eq!(count(), 4);
        // SA User, VA Administrator, a partner and a stranger cannot create one.
        for (email, status) in [
            ("sam@metalworks.example", 403),
            ("victor@metalworks.example", 403),
            ("carlos@contoso.example", 403),
            ("eve@elsewhere.example", 404),
        ] {
            let who = as_user(&app, email).await;
            let resp = who.post_form("/accounts", &base, &[("name", "Sneaky"), ("visibility", "public")]).await;
            assert_eq!(resp.status().as_u16(), status, "{email}");
        }
        assert_eq!(count(), 4, "nothing changed");
        // Renaming.
        let resp =
            maya.post_form(&base, &format!("{base}/{}", w.production), &[("name", "Production Line"), ("visibility", "public")]).await;
        assert_eq!(resp.status().as_u16(), 303);
        assert!(maya.get_text(&base).await.contains("Production Line"));
    }
}

/// Adds virtual accounts "Team i" directly, to reach the limits quickly.
fn insert_virtual_accounts(app: &TestApp, account: i64, range: std::ops::Range<i32>) {
    let mut conn = app.conn();
    conn.transaction(|conn| {
        for i in range {
            diesel::insert_into(virtual_accounts::table)
                .values((
                    virtual_accounts::smart_account_id.eq(account),
                    virtual_accounts::name.eq(format!("Team {i}")),
                    virtual_accounts::name_key.eq(format!("team {i}")),
                    virtual_accounts::description.eq(""),
                    virtual_accounts::is_public.eq(true),
                    virtual_accounts::is_default.eq(false),
                    virtual_accounts::created_at.eq(portal::db::now()),
                ))
                .execute(conn)?;
        }
        diesel::QueryResult::Ok(())
    })
    .unwrap();
}

#[tokio::test]
async fn more_than_a_hundred_virtual_accounts_warns_and_a_thousand_is_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let w = metalworks(&app);
    insert_virtual_accounts(&app, w.metalworks, 0..96);
    let maya = as_user(&app, "maya@metalworks.example").await;
    let base = format!("/accounts/{}/virtual-accounts", w.metalworks);
    maya.post_form(&base, &base, &[("name", "Team 100"), ("visibility", "public")]).await;
    assert!(!maya.get_text(&base).await.contains("now has"), "100 is fine");
    maya.post_form(&base, &base, &[("name", "Team 101"), ("visibility", "public")]).await;
    assert!(maya.get_text(&base).await.contains("This account now has 101 virtual accounts"));
    insert_virtual_accounts(&app, w.metalworks, 200..1099);
    let resp = maya.post_form(&base, &base, &[("name", "One Too Many"), ("visibility", "public")]).await;
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.text().await.unwrap().contains("at most 1000 virtual accounts"));
}

#[tokio::test]
async fn users_are_added_changed_and_removed_within_each_roles_limits() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let w = metalworks(&app);
        app.create_user("tom@metalworks.example", "Tom New", PASSWORD, "Metalworks Inc.", CompanyKind::Customer);
        let maya = as_user(&app, "maya@metalworks.example").await;
        let users = format!("/accounts/{}/users", w.metalworks);
        // Unknown email, and someone of another company, are refused beside the email field.
        let resp = maya.post_form(&users, &users, &[("email", "ghost@metalworks.example"), ("role", "sa_user")]).await;
        assert_eq!(resp.status().as_u16(), 400, "{backend:?}");
        assert!(resp.text().await.unwrap().contains("Ask them to register first"));
        let resp = maya.post_form(&users, &users, &[("email", "carlos@contoso.example"), ("role", "sa_user")]).await;
        assert_eq!(resp.status().as_u16(), 400);
        assert!(resp.text().await.unwrap().contains("Grant partner access"));
        // A VA role needs its virtual accounts.
        let resp = maya.post_form(&users, &users, &[("email", "tom@metalworks.example"), ("role", "va_user")]).await;
        assert_eq!(resp.status().as_u16(), 400);
        let page = resp.text().await.unwrap();
        assert!(texts(&page, "#virtual_accounts-error")[0].contains("Choose the virtual accounts"));
        assert_eq!(input_value(&page, "email").as_deref(), Some("tom@metalworks.example"));
        // A virtual account of another smart account is refused.
        let foreign: i64 = virtual_accounts::table
            .filter(virtual_accounts::smart_account_id.eq(w.contoso_holding))
            .select(virtual_accounts::id)
            .first(&mut *app.conn())
            .unwrap();
        let resp = maya
            .post_form(
                &users,
                &users,
                &[("email", "tom@metalworks.example"), ("role", "va_user"), ("virtual_accounts", &foreign.to_string())],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 400);
        assert!(resp.text().await.unwrap().contains("Choose virtual accounts of this account."));
        let production = w.production.to_string();
        let resp = maya
            .post_form(&users, &users, &[("email", "tom@metalworks.example"), ("role", "va_user"), ("virtual_accounts", &production)])
            .await;
        assert_eq!(resp.status().as_u16(), 303);
        assert_eq!(role_of(&app, w.metalworks, "tom@metalworks.example").as_deref(), Some("va_user"));

        // Victor (VA Administrator of Production) manages Production's users only.
        let victor = as_user(&app, "victor@metalworks.example").await;
        let page = victor.get_text(&users).await;
        assert!(page.contains("Tom New") && !page.contains("Vera Lund"), "VA roles see their VAs' users");
        let tom_role: i64 = portal::db::schema::account_roles::table
            .inner_join(portal::db::schema::users::table)
            .filter(portal::db::schema::users::email.eq("tom@metalworks.example"))
            .select(portal::db::schema::account_roles::id)
            .first(&mut *app.conn())
            .unwrap();
        let resp = victor
            .post_form(&users, &format!("{users}/{tom_role}"), &[("role", "va_administrator"), ("virtual_accounts", &production)])
            .await;
        assert_eq!(resp.status().as_u16(), 303);
        assert_eq!(role_of(&app, w.metalworks, "tom@metalworks.example").as_deref(), Some("va_administrator"));
        let processing = w.processing.to_string();
        let resp =
            victor.post_form(&users, &format!("{users}/{tom_role}"), &[("role", "va_user"), ("virtual_accounts", &processing)]).await;
        assert_eq!(resp.status().as_u16(), 403, "not his virtual account");
        let resp = victor.post_form(&users, &users, &[("email", "tom@metalworks.example"), ("role", "sa_administrator")]).await;
        assert_eq!(resp.status().as_u16(), 403, "no SA roles from a VA Administrator");
        // Vera (VA User) cannot add anyone.
        let vera = as_user(&app, "vera@metalworks.example").await;
        let resp = vera
            .post_form(&users, &users, &[("email", "tom@metalworks.example"), ("role", "va_user"), ("virtual_accounts", &processing)])
            .await;
        assert_eq!(resp.status().as_u16(), 403);
        assert_eq!(role_of(&app, w.metalworks, "tom@metalworks.example").as_deref(), Some("va_administrator"), "unchanged");

        // The last SA Administrator stays.
        let maya_role: i64 = portal::db::schema::account_roles::table
            .inner_join(portal::db::schema::users::table)
            .filter(portal::db::schema::users::email.eq("maya@metalworks.example"))
            .filter(portal::db::schema::account_roles::smart_account_id.eq(w.metalworks))
            .select(portal::db::schema::account_roles::id)
            .first(&mut *app.conn())
            .unwrap();
        let resp = maya.post_form(&users, &format!("{users}/{maya_role}/remove"), &[]).await;
        assert_eq!(resp.status().as_u16(), 409);
        assert!(resp.text().await.unwrap().contains("at least one SA Administrator"));
        let resp = maya.post_form(&users, &format!("{users}/{maya_role}"), &[("role", "sa_user")]).await;
        assert_eq!(resp.status().as_u16(), 409);
        assert_eq!(role_of(&app, w.metalworks, "maya@metalworks.example").as_deref(), Some("sa_administrator"));
        // Removing someone else works.
        let resp = maya.post_form(&users, &format!("{users}/{tom_role}/remove"), &[]).await;
        assert_eq!(resp.status().as_u16(), 303);
        assert_eq!(role_of(&app, w.metalworks, "tom@metalworks.example"), None);
    }
}

#[tokio::test]
async fn partner_access_needs_the_acknowledgment_and_a_partner_company() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let w = metalworks(&app);
        app.create_user("nora@northwind.example", "Nora", PASSWORD, "Northwind Distribution", CompanyKind::Distributor);
        let maya = as_user(&app, "maya@metalworks.example").await;
        let users = format!("/accounts/{}/users", w.metalworks);
        let production = w.production.to_string();
        let resp = maya
            .post_form(
                &users,
                &users,
                &[("partner", "yes"), ("email", "nora@northwind.example"), ("role", "va_user"), ("virtual_accounts", &production)],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 400, "{backend:?}");
        let page = resp.text().await.unwrap();
        assert!(texts(&page, "#acknowledged-error")[0].contains("partner access means"));
        assert_eq!(role_of(&app, w.metalworks, "nora@northwind.example"), None);
        let resp = maya
            .post_form(
                &users,
                &users,
                &[("partner", "yes"), ("acknowledged", "yes"), ("email", "eve@elsewhere.example"), ("role", "sa_user")],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 400);
        assert!(resp.text().await.unwrap().contains("not a partner"));
        let resp = maya
            .post_form(
                &users,
                &users,
                &[("partner", "yes"), ("acknowledged", "yes"), ("email", "nora@northwind.example"), ("role", "sa_approver")],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 400, "approver is not a partner role");
        let resp = maya
            .post_form(
                &users,
                &users,
                &[
                    ("partner", "yes"),
                    ("acknowledged", "yes"),
                    ("email", "nora@northwind.example"),
                    ("role", "va_user"),
                    ("virtual_accounts", &production),
                ],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 303);
        assert_eq!(role_of(&app, w.metalworks, "nora@northwind.example").as_deref(), Some("va_user"));
        let nora = as_user(&app, "nora@northwind.example").await;
        assert_eq!(nora.get(&format!("/accounts/{}", w.metalworks)).await.status().as_u16(), 200, "the partner sees the account");
        assert_eq!(mails(&app, "nora@northwind.example", "account_role").len(), 1);
        // A holding account offers no partner access.
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let holding_users = format!("/accounts/{}/users", w.contoso_holding);
        assert!(!carlos.get_text(&holding_users).await.contains("Grant partner access"));
        let resp = carlos
            .post_form(
                &holding_users,
                &holding_users,
                &[("partner", "yes"), ("acknowledged", "yes"), ("email", "nora@northwind.example"), ("role", "sa_user")],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 403);
    }
}

#[tokio::test]
async fn the_agreement_is_accepted_once_by_an_approver_and_shown_to_everyone_else() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let w = metalworks(&app);
        let path = format!("/accounts/{}/agreement", w.metalworks);
        let sam = as_user(&app, "sam@metalworks.example").await;
        let page = sam.get_text(&path).await;
        assert!(page.contains("Not accepted") && !page.contains("Accept the agreement"), "{backend:?}");
        assert_eq!(sam.post_form(&path, &path, &[]).await.status().as_u16(), 403);
        let priya = as_user(&app, "priya@metalworks.example").await;
        assert!(priya.get_text(&path).await.contains("Accept the agreement"));
        assert_eq!(priya.post_form(&path, &path, &[]).await.status().as_u16(), 303);
        assert_eq!(priya.post_form(&path, &path, &[]).await.status().as_u16(), 303, "a double submit does no harm");
        let page = sam.get_text(&path).await;
        assert!(page.contains("Accepted") && page.contains("Priya Raman"));
        let accepted: i64 =
            account_events::table.filter(account_events::kind.eq("agreement_accepted")).count().get_result(&mut *app.conn()).unwrap();
        assert_eq!(accepted, 1);
        // Holding accounts have no agreement.
        let carlos = as_user(&app, "carlos@contoso.example").await;
        assert_eq!(carlos.get(&format!("/accounts/{}/agreement", w.contoso_holding)).await.status().as_u16(), 403);
    }
}

#[tokio::test]
async fn the_event_log_shows_va_roles_only_their_virtual_accounts_and_filters_by_kind() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let w = metalworks(&app);
        let path = format!("/accounts/{}/events", w.metalworks);
        let maya = as_user(&app, "maya@metalworks.example").await;
        let kinds = |page: &str| texts(page, "tbody td:nth-child(2)");
        let all = maya.get_text(&path).await;
        assert!(
            kinds(&all).contains(&"Virtual account created".to_string()) && kinds(&all).contains(&"Account activated".to_string()),
            "{backend:?}"
        );
        let only_users = maya.get_text(&format!("{path}?kind=user_added")).await;
        assert!(kinds(&only_users).iter().all(|k| k == "User added"));
        assert!(texts(&only_users, "tbody td:nth-child(3)").iter().any(|d| d.contains("added Sam Okafor")));
        let vera = as_user(&app, "vera@metalworks.example").await;
        let hers = vera.get_text(&path).await;
        let vas = texts(&hers, "tbody td:nth-child(5)");
        assert!(!vas.is_empty() && vas.iter().all(|v| v == "Processing"), "only her VA's events: {vas:?}");
        let details = texts(&hers, "tbody td:nth-child(3)").join(" ");
        assert!(!details.contains("Sam Okafor") && !details.contains("Production"));
        let bad = maya.get(&format!("{path}?from=yesterday")).await;
        assert_eq!(bad.status().as_u16(), 400);
        let eve = as_user(&app, "eve@elsewhere.example").await;
        assert_eq!(eve.get(&path).await.status().as_u16(), 404);
    }
}

#[tokio::test]
async fn access_is_requested_by_search_and_approved_or_denied_by_an_administrator() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let w = metalworks(&app);
        app.create_user("tom@metalworks.example", "Tom New", PASSWORD, "Metalworks Inc.", CompanyKind::Customer);
        let tom = as_user(&app, "tom@metalworks.example").await;
        let found = tom.get_text("/accounts/search?q=metal").await;
        assert!(found.contains("Metalworks Inc.") && found.contains("Request access"), "{backend:?}");
        let fragment = tom.client.get(tom.url("/accounts/search?q=metalworks.ex")).header("HX-Request", "true").send().await.unwrap();
        assert_eq!(fragment.headers().get("vary").unwrap(), "HX-Request");
        let fragment = fragment.text().await.unwrap();
        assert!(fragment.contains("Metalworks Inc.") && !fragment.contains("<html"), "htmx gets the result list only");

        let resp = tom.post_form("/accounts", &format!("/accounts/{}/access", w.metalworks), &[("message", "I run the new line")]).await;
        assert_eq!(resp.status().as_u16(), 303);
        tom.post_form("/accounts", &format!("/accounts/{}/access", w.metalworks), &[]).await;
        assert_eq!(mails(&app, "maya@metalworks.example", "access_request").len(), 1, "asked once, even if sent twice");
        assert!(tom.get_text("/accounts/search?q=metal").await.contains("Access requested"));

        let requests = format!("/accounts/{}/access-requests", w.metalworks);
        let sam = as_user(&app, "sam@metalworks.example").await;
        assert_eq!(sam.get(&requests).await.status().as_u16(), 403, "only administrators decide");
        let maya = as_user(&app, "maya@metalworks.example").await;
        let page = maya.get_text(&requests).await;
        assert!(page.contains("I run the new line"));
        let request_id: i64 =
            portal::db::schema::access_requests::table.select(portal::db::schema::access_requests::id).first(&mut *app.conn()).unwrap();
        let resp = maya.post_form(&requests, &format!("{requests}/{request_id}"), &[("decision", "deny"), ("reason", "")]).await;
        assert_eq!(resp.status().as_u16(), 400, "a denial needs a reason");
        let resp = maya.post_form(&requests, &format!("{requests}/{request_id}"), &[("decision", "approve"), ("role", "sa_user")]).await;
        assert_eq!(resp.status().as_u16(), 303);
        assert_eq!(role_of(&app, w.metalworks, "tom@metalworks.example").as_deref(), Some("sa_user"));
        assert_eq!(mails(&app, "tom@metalworks.example", "access_decision").len(), 1);
        let resp =
            maya.post_form(&requests, &format!("{requests}/{request_id}"), &[("decision", "approve"), ("role", "sa_administrator")]).await;
        assert_eq!(resp.status().as_u16(), 409, "answered already");
        assert_eq!(role_of(&app, w.metalworks, "tom@metalworks.example").as_deref(), Some("sa_user"));
    }
}

#[tokio::test]
async fn a_stranger_guessing_account_ids_gets_404_everywhere_and_changes_nothing() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let w = metalworks(&app);
        let eve = as_user(&app, "eve@elsewhere.example").await;
        let id = w.metalworks;
        for path in ["", "/virtual-accounts", "/users", "/agreement", "/events", "/access-requests"] {
            assert_eq!(eve.get(&format!("/accounts/{id}{path}")).await.status().as_u16(), 404, "{backend:?} GET {path}");
        }
        for (path, fields) in [
            (format!("/accounts/{id}"), vec![("name", "Pwned"), ("version", "0")]),
            (format!("/accounts/{id}/users"), vec![("email", "eve@elsewhere.example"), ("role", "sa_administrator")]),
            (format!("/accounts/{id}/agreement"), vec![]),
            (format!("/accounts/{id}/virtual-accounts/{}/delete", w.production), vec![]),
        ] {
            let resp = eve.post_form("/accounts", &path, &fields).await;
            assert_eq!(resp.status().as_u16(), 404, "POST {path}");
        }
        let name: String = smart_accounts::table.find(id).select(smart_accounts::name).first(&mut *app.conn()).unwrap();
        assert_eq!(name, "Metalworks Inc.");
        assert_eq!(role_of(&app, id, "eve@elsewhere.example"), None);
        assert!(!eve.get_text("/accounts").await.contains("Metalworks Inc."));
    }
}

#[tokio::test]
async fn two_administrators_editing_the_properties_cannot_overwrite_each_other() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let w = metalworks(&app);
        let path = format!("/accounts/{}", w.metalworks);
        let maya = as_user(&app, "maya@metalworks.example").await;
        let page = maya.get_text(&path).await;
        let version = input_value(&page, "version").unwrap();
        let resp = maya.post_form(&path, &path, &[("name", "Metalworks International"), ("version", &version)]).await;
        assert_eq!(resp.status().as_u16(), 303, "{backend:?}");
        // A second form loaded before that change is refused, and says so.
        let resp = maya.post_form(&path, &path, &[("name", "Metalworks Old Name"), ("version", &version)]).await;
        assert_eq!(resp.status().as_u16(), 409);
        let page = resp.text().await.unwrap();
        assert!(page.contains("Someone else changed this account"));
        assert_eq!(input_value(&page, "name").as_deref(), Some("Metalworks Old Name"), "the user's input is kept");
        let name: String = smart_accounts::table.find(w.metalworks).select(smart_accounts::name).first(&mut *app.conn()).unwrap();
        assert_eq!(name, "Metalworks International");
    }
}

#[tokio::test]
async fn a_partner_asking_for_its_own_customer_account_is_told_of_the_prefix_first_and_the_request_goes_to_operations_review() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let _world = metalworks(&app);
        let carlos = as_user(&app, "carlos@contoso.example").await;
        // Before anything is typed: contoso.example is Contoso's holding account, so the own account takes a prefix.
        let page = carlos.get_text("/accounts/new").await;
        let hint = texts(&page, "#own-account-hint").join(" ");
        assert!(
            hint.contains("it.contoso.example") && hint.contains("Contoso Holding") && hint.contains("reviewed by operations"),
            "{backend:?}: {hint}"
        );
        // Customer, "Yes, I represent my company": the prefixed identifier is filled in, and its review announced.
        let resp = carlos
            .post_form("/accounts/new", "/accounts/new", &[("step", "1"), ("go", "next"), ("kind", "customer"), ("authority", "yes")])
            .await;
        assert_eq!(resp.status().as_u16(), 200);
        let page = resp.text().await.unwrap();
        assert_eq!(input_value(&page, "domain").as_deref(), Some("it.contoso.example"));
        assert_eq!(input_value(&page, "name").as_deref(), Some("Contoso Resellers"));
        assert!(texts(&page, "#domain-edited")[0].contains("operations will review it"));
        assert!(texts(&page, "#similar a").iter().all(|a| a != "Request access"), "not asked to request access to its own account");
        // The company domain itself is refused with the prefix explained, not "request access to it".
        let step2 = |domain: &'static str| {
            vec![
                ("step", "2"),
                ("go", "next"),
                ("kind", "customer"),
                ("authority", "yes"),
                ("name", "Contoso Resellers"),
                ("domain", domain),
            ]
        };
        let resp = carlos.post_form("/accounts/new", "/accounts/new", &step2("contoso.example")).await;
        assert_eq!(resp.status().as_u16(), 400);
        let error = texts(&resp.text().await.unwrap(), "#domain-error").join(" ");
        assert!(error.contains("it.contoso.example") && !error.contains("request access"), "{error}");
        // The prefixed identifier needs no reason for a second account.
        assert_eq!(carlos.post_form("/accounts/new", "/accounts/new", &step2("it.contoso.example")).await.status().as_u16(), 200);
        let resp = request_account(
            &carlos,
            &[("kind", "customer"), ("authority", "yes"), ("name", "Contoso Resellers"), ("domain", "it.contoso.example")],
        )
        .await;
        assert_eq!(resp.status().as_u16(), 303);
        let id = account_by_domain(&app, "it.contoso.example");
        assert_eq!(account_status(&app, id), "pending_domain_review", "a prefixed identifier goes to operations");
        let olga = as_user(&app, "olga@ops.example").await;
        assert!(olga.get_text("/operations/domain-reviews").await.contains("it.contoso.example"));
        // Someone else's customer account (the customer authorizes) still names its own domain; customers see no hint.
        let maya = as_user(&app, "maya@metalworks.example").await;
        assert!(texts(&maya.get_text("/accounts/new").await, "#own-account-hint").is_empty());
    }
}

#[tokio::test]
async fn the_domain_review_warning_follows_the_domain_field_as_it_is_edited() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let _world = metalworks(&app);
        let maya = as_user(&app, "maya@metalworks.example").await;
        let typed =
            |domain: &str| format!("/accounts/similar?name=Metalworks+Labs&domain={domain}&kind=customer&authority=yes&approver_email=");
        let fragment = |path: String| {
            let maya = &maya;
            async move {
                let resp = maya.client.get(maya.url(&path)).header("HX-Request", "true").send().await.unwrap();
                assert_eq!(resp.status().as_u16(), 200);
                resp.text().await.unwrap()
            }
        };
        // Edited: the warning comes with the matches, for the region beside the field (swapped out of band).
        let edited = fragment(typed("labs.metalworks.example")).await;
        let warning = texts(&edited, "#domain-warning[data-hx-swap-oob=innerHTML] #domain-edited");
        assert_eq!(warning.len(), 1, "{backend:?}: {edited}");
        assert!(warning[0].contains("metalworks.example") && warning[0].contains("operations will review it"));
        // Back to the default (case does not count): the region empties.
        let back = fragment(typed("Metalworks.Example")).await;
        assert_eq!(texts(&back, "#domain-warning[data-hx-swap-oob=innerHTML]"), vec![String::new()]);
        assert!(texts(&back, "#domain-edited").is_empty());
        // Someone else authorizes: the default is their domain.
        let other = fragment(
            "/accounts/similar?name=X&domain=metalworks.example&kind=customer&authority=no&approver_email=sam%40metalworks.example".into(),
        )
        .await;
        assert!(texts(&other, "#domain-edited").is_empty());
        // Without JavaScript: the page itself says so on submit.
        let resp = maya
            .post_form(
                "/accounts/new",
                "/accounts/new",
                &[
                    ("step", "3"),
                    ("go", "back"),
                    ("kind", "customer"),
                    ("authority", "yes"),
                    ("name", "Labs"),
                    ("domain", "labs.metalworks.example"),
                ],
            )
            .await;
        let page = resp.text().await.unwrap();
        assert_eq!(texts(&page, "#domain-warning #domain-edited").len(), 1);
    }
}
