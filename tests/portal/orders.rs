//! Ordering over HTTP: items and markers, assignment at header and line,
//! pre-assignment, submit rules, history, quotes, fulfilment and license
//! delivery; other companies get 404 and change nothing.

use diesel::prelude::*;
use portal::db::schema::{licenses, order_lines, orders, products, smart_accounts, virtual_accounts};
use portal::domain::company::CompanyKind;

use crate::fixtures::*;
use crate::helpers::*;

pub(crate) struct Shop {
    pub world: World,
    pub northwind_holding: i64,
}

pub(crate) fn shop(app: &TestApp) -> Shop {
    let world = metalworks(app);
    app.create_user("nora@northwind.example", "Nora Lindqvist", PASSWORD, "Northwind Distribution", CompanyKind::Distributor);
    app.create_user("fatima@fabrikam.example", "Fatima Khan", PASSWORD, "Fabrikam Networks", CompanyKind::ServiceProvider);
    let mut conn = app.conn();
    portal::domain::catalogue::seed(&mut conn).unwrap();
    let nora_id: i64 = portal::db::schema::users::table
        .filter(portal::db::schema::users::email.eq("nora@northwind.example"))
        .select(portal::db::schema::users::id)
        .first(&mut conn)
        .unwrap();
    let nora = portal::domain::Actor::load(&mut conn, nora_id).unwrap().unwrap();
    let northwind_holding = portal::domain::accounts::request::create_active(
        &mut conn,
        &portal::domain::users::console_permit(),
        &nora,
        "Northwind Holding",
        "northwind.example",
        portal::domain::roles::AccountKind::Holding,
    )
    .unwrap();
    Shop { world, northwind_holding }
}

pub(crate) fn product(app: &TestApp, sku: &str) -> String {
    products::table.filter(products::sku.eq(sku)).select(products::id).first::<i64>(&mut *app.conn()).unwrap().to_string()
}

pub(crate) fn version(app: &TestApp, order: i64) -> String {
    orders::table.find(order).select(orders::version).first::<i32>(&mut *app.conn()).unwrap().to_string()
}

pub(crate) fn lines(app: &TestApp, order: i64) -> Vec<(i64, String, Option<i64>, Option<i64>)> {
    order_lines::table
        .inner_join(products::table)
        .filter(order_lines::order_id.eq(order))
        .order(order_lines::line_no)
        .select((order_lines::id, products::sku, order_lines::account_id, order_lines::virtual_account_id))
        .load(&mut *app.conn())
        .unwrap()
}

pub(crate) fn line_of(app: &TestApp, order: i64, sku: &str) -> i64 {
    lines(app, order).into_iter().find(|l| l.1 == sku).unwrap().0
}

pub(crate) async fn new_order(who: &TestApp, name: &str) -> i64 {
    let resp = who
        .post_form("/orders/new", "/orders", &[("name", name), ("end_customer_name", "Metalworks Inc."), ("order_type", "standard")])
        .await;
    assert_eq!(resp.status().as_u16(), 303);
    location(&resp).trim_start_matches("/orders/").parse().unwrap()
}

pub(crate) async fn add(who: &TestApp, app: &TestApp, order: i64, sku: &str, quantity: &str) -> reqwest::Response {
    let page = format!("/orders/{order}");
    who.post_form(
        &page,
        &format!("/orders/{order}/lines"),
        &[("product_id", &product(app, sku)), ("quantity", quantity), ("version", &version(app, order))],
    )
    .await
}

pub(crate) async fn assign(who: &TestApp, app: &TestApp, order: i64, fields: &[(&str, &str)]) -> reqwest::Response {
    let v = version(app, order);
    let mut all = fields.to_vec();
    all.push(("version", &v));
    who.post_form(&format!("/orders/{order}"), &format!("/orders/{order}/assignment"), &all).await
}

pub(crate) async fn submit(who: &TestApp, app: &TestApp, order: i64) -> reqwest::Response {
    who.post_form(&format!("/orders/{order}"), &format!("/orders/{order}/submit"), &[("version", &version(app, order))]).await
}

pub(crate) fn status(app: &TestApp, order: i64) -> String {
    orders::table.find(order).select(orders::status).first(&mut *app.conn()).unwrap()
}

#[tokio::test]
async fn a_resellers_order_is_assigned_line_by_line_and_submits_only_when_every_required_line_has_an_account() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let s = shop(&app);
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let order = new_order(&carlos, "Processing plant upgrade").await;
        assert_eq!(add(&carlos, &app, order, "SL-DNA-ADV-3Y", "4").await.status().as_u16(), 303, "{backend:?}");
        add(&carlos, &app, order, "PAK-ROUTER-SEC", "1").await;
        add(&carlos, &app, order, "HW-SW-48P", "2").await;
        let page = carlos.get_text(&format!("/orders/{order}")).await;
        assert_eq!(texts(&page, ".marker-required").len(), 1, "one red marker");
        assert_eq!(texts(&page, ".marker-optional").len(), 1, "one black marker");
        assert!(texts(&page, ".blockers li")[0].contains("Line 1.0 (SL-DNA-ADV-3Y) requires a smart account"));

        let resp = submit(&carlos, &app, order).await;
        assert_eq!(resp.status().as_u16(), 400);
        assert!(resp.text().await.unwrap().contains("Line 1.0 (SL-DNA-ADV-3Y) requires a smart account"));
        assert_eq!(status(&app, order), "draft");

        // The search offers Metalworks (Carlos is a VA User there) with its public VAs.
        let search = carlos
            .get_text(&format!("/orders/{order}/assignment?target=lines&lines={}&q=metal", line_of(&app, order, "SL-DNA-ADV-3Y")))
            .await;
        assert!(search.contains("Metalworks Inc.") && search.contains("Processing"));
        // Above the search: what is being assigned (the end customer, the chosen line, the holding account).
        let assigning = texts(&search, "#assigning")[0].clone();
        assert!(assigning.contains("End customer") && assigning.contains("Metalworks Inc."), "{assigning}");
        assert!(assigning.contains("Holding account") && assigning.contains("None"), "{assigning}");
        assert_eq!(texts(&search, "#assigning tbody td:nth-child(1)"), ["1.0"], "only the chosen line");
        assert!(texts(&search, "#assigning tbody")[0].contains("SL-DNA-ADV-3Y"));
        let doc = scraper::Html::parse_document(&search);
        let va_label = doc
            .select(&scraper::Selector::parse(&format!("label[for='va-{}']", s.world.metalworks)).unwrap())
            .next()
            .expect("a label for the virtual account");
        assert!(va_label.value().attr("class").is_none_or(|c| !c.contains("sr-only")), "the VA select's label is visible");
        assert!(va_label.text().collect::<String>().starts_with("Virtual account"));
        // The account request opened from here names the order by its web order id.
        let request = carlos
            .get_text(&format!(
                "/accounts/new?order={order}&target=lines&kind=customer&lines={dna_line}",
                dna_line = line_of(&app, order, "SL-DNA-ADV-3Y")
            ))
            .await;
        assert!(
            texts(&request, "main .notice")[0].starts_with(&format!("For order WO-{order:06}:")),
            "{:?}",
            texts(&request, "main .notice")
        );
        let dna = line_of(&app, order, "SL-DNA-ADV-3Y").to_string();
        let pak = line_of(&app, order, "PAK-ROUTER-SEC").to_string();
        let resp = assign(
            &carlos,
            &app,
            order,
            &[
                ("target", "lines"),
                ("lines", &dna),
                ("lines", &pak),
                ("account_id", &s.world.metalworks.to_string()),
                ("virtual_account_id", &s.world.processing.to_string()),
            ],
        )
        .await;
        assert_eq!(resp.status().as_u16(), 303);
        let l = lines(&app, order);
        assert_eq!(l[0].2, Some(s.world.metalworks));
        assert_eq!(l[0].3, Some(s.world.processing));
        assert_eq!(l[1].2, Some(s.world.metalworks), "several lines at once");
        assert_eq!(l[2].2, None, "hardware takes no account");

        assert_eq!(submit(&carlos, &app, order).await.status().as_u16(), 303);
        assert_eq!(status(&app, order), "submitted");
        let page = carlos.get_text(&format!("/orders/{order}")).await;
        assert!(texts(&page, "h1 .badge").contains(&"Assigned".to_string()));
        let history = carlos.get_text(&format!("/orders/{order}/history?line={dna}")).await;
        let row = texts(&history, "tbody tr");
        assert_eq!(row.len(), 1);
        assert!(
            row[0].contains("Line")
                && row[0].contains("Not assigned")
                && row[0].contains("Metalworks Inc. (metalworks.example) / Processing")
                && row[0].contains("Carlos Ortega")
        );
        // Items are read-only after submission.
        assert_eq!(add(&carlos, &app, order, "HW-SW-48P", "1").await.status().as_u16(), 409);
    }
}

#[tokio::test]
async fn a_distributors_order_parks_in_its_holding_account_and_shows_not_assigned() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let s = shop(&app);
        let nora = as_user(&app, "nora@northwind.example").await;
        let order = new_order(&nora, "Unknown reseller").await;
        let resp = assign(&nora, &app, order, &[("target", "holding"), ("account_id", &s.northwind_holding.to_string())]).await;
        assert_eq!(resp.status().as_u16(), 303, "{backend:?}");
        add(&nora, &app, order, "SL-DNA-ADV-3Y", "5").await;
        // Two more users of the holding account; one has turned order notifications off.
        for (email, name) in [("nils@northwind.example", "Nils"), ("nell@northwind.example", "Nell")] {
            app.create_user(email, name, PASSWORD, "Northwind Distribution", CompanyKind::Distributor);
            let mut conn = app.conn();
            let nora_id: i64 = portal::db::schema::users::table
                .filter(portal::db::schema::users::email.eq("nora@northwind.example"))
                .select(portal::db::schema::users::id)
                .first(&mut conn)
                .unwrap();
            let nora_actor = portal::domain::Actor::load(&mut conn, nora_id).unwrap().unwrap();
            let input = portal::domain::accounts::administration::RoleInput {
                email: email.into(),
                role: "sa_user".into(),
                virtual_accounts: vec![],
                acknowledged: false,
            };
            portal::domain::accounts::administration::add_user(&mut conn, &nora_actor, s.northwind_holding, &input, false, "http://x")
                .unwrap();
        }
        diesel::update(portal::db::schema::users::table.filter(portal::db::schema::users::email.eq("nell@northwind.example")))
            .set(portal::db::schema::users::notify_orders.eq(false))
            .execute(&mut *app.conn())
            .unwrap();
        assert_eq!(submit(&nora, &app, order).await.status().as_u16(), 303, "the holding account covers the line");
        assert_eq!(mails(&app, "nora@northwind.example", "order_assignment_required").len(), 1, "once, though creator and administrator");
        assert_eq!(mails(&app, "nils@northwind.example", "order_assignment_required").len(), 1);
        assert!(mails(&app, "nell@northwind.example", "order_assignment_required").is_empty(), "opted out");
        let page = nora.get_text(&format!("/orders/{order}")).await;
        assert!(texts(&page, "h1 .badge").contains(&"Not Assigned".to_string()));
        assert!(texts(&page, "#holding")[0].contains("Northwind Holding"));
        let history = nora.get_text(&format!("/orders/{order}/history")).await;
        assert!(history.contains("Pre-assignment") && history.contains("Header: holding account"));
        // Once submitted, the holding account stays while lines wait in it.
        let resp = assign(&nora, &app, order, &[("target", "holding"), ("remove", "yes")]).await;
        assert_eq!(resp.status().as_u16(), 400);
        assert!(resp.text().await.unwrap().contains("still wait in the holding account"));
        // Only one holding account, and only holding accounts, at the header.
        let resp = assign(&nora, &app, order, &[("target", "holding"), ("account_id", &s.world.metalworks.to_string())]).await;
        assert_eq!(resp.status().as_u16(), 400);
    }
}

#[tokio::test]
async fn pre_assignment_cascades_to_lines_added_later_and_a_quote_carries_it_into_the_order() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let s = shop(&app);
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let resp = carlos
            .post_form(
                "/orders/new?quote=yes",
                "/orders",
                &[("name", "Quote"), ("end_customer_name", "Metalworks"), ("order_type", "standard"), ("quote", "yes")],
            )
            .await;
        let quote: i64 = location(&resp).trim_start_matches("/orders/").parse().unwrap();
        assert_eq!(status(&app, quote), "quote");
        let resp = assign(
            &carlos,
            &app,
            quote,
            &[
                ("target", "order"),
                ("account_id", &s.world.metalworks.to_string()),
                ("virtual_account_id", &s.world.processing.to_string()),
            ],
        )
        .await;
        assert_eq!(resp.status().as_u16(), 303, "{backend:?}");
        add(&carlos, &app, quote, "CFG-BRANCH-KIT", "2").await;
        add(&carlos, &app, quote, "PAK-VOICE-25", "1").await;
        for (_, sku, account, va) in lines(&app, quote) {
            let takes = sku.starts_with("SL-") || sku.starts_with("PAK-");
            assert_eq!(account.is_some(), takes, "{sku}");
            if takes {
                assert_eq!((account, va), (Some(s.world.metalworks), Some(s.world.processing)));
            }
        }
        let history = carlos.get_text(&format!("/orders/{quote}/history")).await;
        assert!(texts(&history, "tbody td:nth-child(3)").iter().filter(|h| *h == "Pre-assignment").count() >= 3);
        let resp =
            carlos.post_form(&format!("/orders/{quote}"), &format!("/orders/{quote}/convert"), &[("version", &version(&app, quote))]).await;
        assert_eq!(resp.status().as_u16(), 303);
        assert_eq!(status(&app, quote), "draft");
        assert!(lines(&app, quote).iter().any(|l| l.2 == Some(s.world.metalworks)), "assignments carried over");
        assert_eq!(submit(&carlos, &app, quote).await.status().as_u16(), 303);
    }
}

#[tokio::test]
async fn a_minor_line_that_needs_an_account_blocks_submit_and_marks_its_collapsed_major_line() {
    let app = spawn_app(Backend::Sqlite).await;
    let _s = shop(&app);
    let carlos = as_user(&app, "carlos@contoso.example").await;
    let order = new_order(&carlos, "Kit").await;
    add(&carlos, &app, order, "CFG-BRANCH-KIT", "1").await;
    let l = lines(&app, order);
    assert_eq!(l.len(), 4, "the kit and its three minor lines");
    let major = l[0].0;
    let resp = submit(&carlos, &app, order).await;
    assert_eq!(resp.status().as_u16(), 400);
    let refusal = resp.text().await.unwrap();
    assert!(refusal.contains("Line 1.2 in kit 1.0 (SL-DNA-ADV-3Y) requires a smart account"), "named as the ordering tool numbers it");
    let expanded = carlos.get_text(&format!("/orders/{order}")).await;
    assert_eq!(texts(&expanded, "table.items tbody td:nth-child(2)"), ["1.0", "1.1", "1.2", "1.3"], "minor lines under their major line");
    assert!(
        texts(&expanded, &format!("#line-{major} .marker-required"))[0].contains("minor line"),
        "the kit's marker shows while it is expanded too"
    );
    let collapsed = carlos.get_text(&format!("/orders/{order}?collapsed={major}")).await;
    assert_eq!(texts(&collapsed, "tbody tr").len(), 1, "minor lines hidden");
    assert!(texts(&collapsed, "tbody .marker-required")[0].contains("minor line"));
}

#[tokio::test]
async fn holding_accounts_go_only_to_the_header_and_vas_must_belong_to_the_account() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let s = shop(&app);
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let order = new_order(&carlos, "Rules").await;
        add(&carlos, &app, order, "SL-DNA-ADV-3Y", "1").await;
        let dna = line_of(&app, order, "SL-DNA-ADV-3Y").to_string();
        let resp =
            assign(&carlos, &app, order, &[("target", "lines"), ("lines", &dna), ("account_id", &s.world.contoso_holding.to_string())])
                .await;
        assert_eq!(resp.status().as_u16(), 400, "{backend:?}");
        assert!(resp.text().await.unwrap().contains("A holding account can be assigned only at the order header"));
        let resp = assign(&carlos, &app, order, &[("target", "order"), ("account_id", &s.world.contoso_holding.to_string())]).await;
        assert_eq!(resp.status().as_u16(), 400);
        let foreign_va: i64 = virtual_accounts::table
            .filter(virtual_accounts::smart_account_id.eq(s.world.contoso_holding))
            .select(virtual_accounts::id)
            .first(&mut *app.conn())
            .unwrap();
        let resp = assign(
            &carlos,
            &app,
            order,
            &[
                ("target", "lines"),
                ("lines", &dna),
                ("account_id", &s.world.metalworks.to_string()),
                ("virtual_account_id", &foreign_va.to_string()),
            ],
        )
        .await;
        assert_eq!(resp.status().as_u16(), 400);
        assert!(resp.text().await.unwrap().contains("belongs to another smart account"));
        assert_eq!(lines(&app, order)[0].2, None, "nothing changed");
    }
}

#[tokio::test]
async fn reseller_cannot_assign_a_line_to_another_partners_customer_account() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let _s = shop(&app);
        let fabrikam = {
            let mut conn = app.conn();
            let fid: i64 = portal::db::schema::users::table
                .filter(portal::db::schema::users::email.eq("fatima@fabrikam.example"))
                .select(portal::db::schema::users::id)
                .first(&mut conn)
                .unwrap();
            let fatima = portal::domain::Actor::load(&mut conn, fid).unwrap().unwrap();
            portal::domain::accounts::request::create_active(
                &mut conn,
                &portal::domain::users::console_permit(),
                &fatima,
                "Fabrikam Networks",
                "fabrikam.example",
                portal::domain::roles::AccountKind::Customer,
            )
            .unwrap()
        };
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let order = new_order(&carlos, "Not yours").await;
        add(&carlos, &app, order, "SL-DNA-ADV-3Y", "1").await;
        let dna = line_of(&app, order, "SL-DNA-ADV-3Y").to_string();
        let search = carlos.get_text(&format!("/orders/{order}/assignment?target=lines&lines={dna}&q=fab")).await;
        assert!(!search.contains("Fabrikam"), "{backend:?}: the search shows only assignable accounts");
        let resp = assign(&carlos, &app, order, &[("target", "lines"), ("lines", &dna), ("account_id", &fabrikam.to_string())]).await;
        assert_eq!(resp.status().as_u16(), 400);
        assert!(resp.text().await.unwrap().contains("You cannot assign orders to that smart account."));
        assert_eq!(lines(&app, order)[0].2, None);
    }
}

#[tokio::test]
async fn a_private_virtual_account_is_found_only_by_its_exact_name() {
    let app = spawn_app(Backend::Sqlite).await;
    let s = shop(&app);
    let maya = as_user(&app, "maya@metalworks.example").await;
    let vas = format!("/accounts/{}/virtual-accounts", s.world.metalworks);
    maya.post_form(&vas, &vas, &[("name", "Secret Lab"), ("visibility", "private")]).await;
    let carlos = as_user(&app, "carlos@contoso.example").await;
    let order = new_order(&carlos, "Private").await;
    let by_name = carlos.get_text(&format!("/orders/{order}/assignment?target=order&q=metalworks")).await;
    assert!(by_name.contains("Processing") && !by_name.contains("Secret Lab"));
    let exact = carlos.get_text(&format!("/orders/{order}/assignment?target=order&q=secret%20lab")).await;
    assert!(exact.contains("Secret Lab") && exact.contains("Metalworks Inc."));
    let partial = carlos.get_text(&format!("/orders/{order}/assignment?target=order&q=secret")).await;
    assert!(!partial.contains("Secret Lab"));
    // htmx asks for the result list only.
    let fragment = carlos
        .client
        .get(carlos.url(&format!("/orders/{order}/assignment?target=order&q=metal")))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(fragment.contains("Metalworks Inc.") && !fragment.contains("<html"));
}

#[tokio::test]
async fn another_companys_order_answers_404_and_changes_nothing() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let s = shop(&app);
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let order = new_order(&carlos, "Mine").await;
        add(&carlos, &app, order, "SL-DNA-ADV-3Y", "1").await;
        let dna = line_of(&app, order, "SL-DNA-ADV-3Y");
        let nora = as_user(&app, "nora@northwind.example").await;
        for path in ["", "/history", "/assignment?target=order"] {
            assert_eq!(nora.get(&format!("/orders/{order}{path}")).await.status().as_u16(), 404, "{backend:?} {path}");
        }
        let v = version(&app, order);
        for (path, fields) in [
            ("/lines", vec![("product_id", product(&app, "HW-SW-48P")), ("quantity", "1".into())]),
            ("/submit", vec![]),
            (
                "/assignment",
                vec![("target".into(), "holding".into()), ("account_id", s.northwind_holding.to_string())]
                    .into_iter()
                    .map(|(k, v): (&str, String)| (k, v))
                    .collect(),
            ),
            (&format!("/lines/{dna}/remove"), vec![]),
        ] {
            let mut all: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            all.push(("version", &v));
            let resp = nora.post_form("/orders", &format!("/orders/{order}{path}"), &all).await;
            assert_eq!(resp.status().as_u16(), 404, "POST {path}");
        }
        assert_eq!(lines(&app, order).len(), 1);
        assert_eq!(status(&app, order), "draft");
        assert!(!nora.get_text("/orders").await.contains("Mine"));
    }
}

#[tokio::test]
async fn an_edit_from_a_stale_page_is_refused_and_nothing_is_overwritten() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let s = shop(&app);
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let order = new_order(&carlos, "Race").await;
        add(&carlos, &app, order, "SL-DNA-ADV-3Y", "1").await;
        let stale = version(&app, order);
        add(&carlos, &app, order, "HW-SW-48P", "1").await;
        let dna = line_of(&app, order, "SL-DNA-ADV-3Y").to_string();
        let resp = carlos
            .post_form(
                &format!("/orders/{order}"),
                &format!("/orders/{order}/assignment"),
                &[("target", "lines"), ("lines", &dna), ("account_id", &s.world.metalworks.to_string()), ("version", &stale)],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 409, "{backend:?}");
        assert!(resp.text().await.unwrap().contains("changed by someone else"));
        assert_eq!(lines(&app, order)[0].2, None);
    }
}

#[tokio::test]
async fn operations_book_and_ship_and_licenses_land_in_the_customer_account_or_stay_in_holding() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let s = shop(&app);
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let order = new_order(&carlos, "Ship me").await;
        assign(&carlos, &app, order, &[("target", "holding"), ("account_id", &s.world.contoso_holding.to_string())]).await;
        add(&carlos, &app, order, "SL-DNA-ADV-3Y", "4").await;
        add(&carlos, &app, order, "SL-WLC-AP", "6").await;
        let dna = line_of(&app, order, "SL-DNA-ADV-3Y").to_string();
        assign(
            &carlos,
            &app,
            order,
            &[
                ("target", "lines"),
                ("lines", &dna),
                ("account_id", &s.world.metalworks.to_string()),
                ("virtual_account_id", &s.world.production.to_string()),
            ],
        )
        .await;
        assert_eq!(submit(&carlos, &app, order).await.status().as_u16(), 303, "{backend:?}");
        // Only operations fulfil.
        assert_eq!(carlos.post_form("/orders", &format!("/operations/orders/{order}/book"), &[]).await.status().as_u16(), 404);
        let olga = as_user(&app, "olga@ops.example").await;
        assert!(olga.get_text("/operations/orders").await.contains(&format!("WO-{order:06}")));
        assert_eq!(olga.post_form("/operations/orders", &format!("/operations/orders/{order}/ship"), &[]).await.status().as_u16(), 303);
        assert_eq!(status(&app, order), "submitted", "ship before book is refused");
        olga.post_form("/operations/orders", &format!("/operations/orders/{order}/book"), &[]).await;
        olga.post_form("/operations/orders", &format!("/operations/orders/{order}/ship"), &[]).await;
        assert_eq!(status(&app, order), "shipped");
        // The provisioning delay is 0 in tests: the worker deposits the licenses.
        app.eventually("licenses deposited", || licenses::table.count().get_result::<i64>(&mut *app.conn()).unwrap() == 2).await;
        let landed: Vec<(i64, i64, String, i32)> = licenses::table
            .order(licenses::license_name)
            .select((licenses::smart_account_id, licenses::virtual_account_id, licenses::license_name, licenses::quantity))
            .load(&mut *app.conn())
            .unwrap();
        assert_eq!(
            landed[0],
            (s.world.metalworks, s.world.production, "DNA Advantage".to_string(), 4),
            "the line's customer account and VA"
        );
        assert_eq!(landed[1].0, s.world.contoso_holding, "unassigned lines stay in the holding account");
        assert_owned_figures_match_batches(&app, &format!("{backend:?}: after the licenses landed"));
        let page = carlos.get_text(&format!("/orders/{order}")).await;
        assert!(page.contains("licenses deposited") && page.contains("Licenses available since"));
        // After deposit, partners cannot change the line's account.
        let resp =
            assign(&carlos, &app, order, &[("target", "lines"), ("lines", &dna), ("account_id", &s.world.metalworks.to_string())]).await;
        assert_eq!(resp.status().as_u16(), 400);
        assert!(resp.text().await.unwrap().contains("open a case"));
        let _ = smart_accounts::table.count().get_result::<i64>(&mut *app.conn()).unwrap();
    }
}

#[tokio::test]
async fn operations_create_an_internal_order_that_follows_the_same_rules() {
    let app = spawn_app(Backend::Sqlite).await;
    let _s = shop(&app);
    let olga = as_user(&app, "olga@ops.example").await;
    let contoso: i64 = portal::db::schema::companies::table
        .filter(portal::db::schema::companies::name.eq("Contoso Resellers"))
        .select(portal::db::schema::companies::id)
        .first(&mut *app.conn())
        .unwrap();
    let resp = olga.post_form("/orders/new", "/orders", &[("name", "Work-bench"), ("end_customer_name", "Acme")]).await;
    assert_eq!(resp.status().as_u16(), 400, "the partner must be chosen");
    let resp = olga
        .post_form(
            "/orders/new",
            "/orders",
            &[("name", "Work-bench"), ("end_customer_name", "Acme"), ("for_company_id", &contoso.to_string())],
        )
        .await;
    assert_eq!(resp.status().as_u16(), 303);
    let order: i64 = location(&resp).trim_start_matches("/orders/").parse().unwrap();
    add(&olga, &app, order, "SL-WLC-AP", "2").await;
    assert_eq!(submit(&olga, &app, order).await.status().as_u16(), 400, "internal orders follow the submit rule");
    let carlos = as_user(&app, "carlos@contoso.example").await;
    assert!(carlos.get_text(&format!("/orders/{order}")).await.contains("internal work-bench order"), "the partner sees it");
}

#[tokio::test]
async fn a_new_customer_account_requested_from_the_order_is_assigned_at_once() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let _s = shop(&app);
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let resp = carlos
            .post_form(
                "/orders/new",
                "/orders",
                &[
                    ("name", "Acme first order"),
                    ("end_customer_name", "Acme Corp"),
                    ("end_customer_domain", "acme.example"),
                    ("order_type", "standard"),
                ],
            )
            .await;
        let order: i64 = location(&resp).trim_start_matches("/orders/").parse().unwrap();
        add(&carlos, &app, order, "SL-DNA-ADV-3Y", "3").await;
        let dna = line_of(&app, order, "SL-DNA-ADV-3Y").to_string();
        let page = carlos.get_text(&format!("/orders/{order}/assignment?target=lines&lines={dna}&q=acme")).await;
        assert!(page.contains("Request New Customer Smart Account"), "{backend:?}");
        let order_id = order.to_string();
        let fields = |creator: &'static str| {
            vec![
                ("kind", "customer"),
                ("authority", "no"),
                ("approver_email", creator),
                ("name", "Acme Corp"),
                ("domain", "acme.example"),
                ("order_id", order_id.as_str()),
                ("order_target", "lines"),
                ("order_lines", dna.as_str()),
                ("step", "5"),
                ("go", "submit"),
            ]
        };
        // The creator must work for the end customer.
        let resp = carlos.post_form("/accounts/new", "/accounts/new", &fields("someone@elsewhere.example")).await;
        assert_eq!(resp.status().as_u16(), 400);
        assert!(resp.text().await.unwrap().contains("use an email at acme.example"));
        assert_eq!(
            smart_accounts::table.filter(smart_accounts::domain.eq("acme.example")).count().get_result::<i64>(&mut *app.conn()).unwrap(),
            0
        );

        let resp = carlos.post_form("/accounts/new", "/accounts/new", &fields("adam@acme.example")).await;
        assert_eq!(resp.status().as_u16(), 303);
        assert_eq!(location(&resp), format!("/orders/{order}"));
        let acme: (i64, String) = smart_accounts::table
            .filter(smart_accounts::domain.eq("acme.example"))
            .select((smart_accounts::id, smart_accounts::status))
            .first(&mut *app.conn())
            .unwrap();
        assert_eq!(acme.1, "pending");
        assert_eq!(lines(&app, order)[0].2, Some(acme.0), "assigned at once");
        assert_eq!(mails(&app, "adam@acme.example", "account_setup").len(), 1);
        assert_eq!(submit(&carlos, &app, order).await.status().as_u16(), 303, "the order can be submitted");
    }
}

#[tokio::test]
async fn a_partner_holding_account_is_associated_as_a_record_while_lines_go_to_the_customer() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let s = shop(&app);
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let order = new_order(&carlos, "Associated").await;
        add(&carlos, &app, order, "SL-DNA-ADV-3Y", "2").await;
        let dna = line_of(&app, order, "SL-DNA-ADV-3Y").to_string();
        assign(&carlos, &app, order, &[("target", "lines"), ("lines", &dna), ("account_id", &s.world.metalworks.to_string())]).await;
        // Only a holding account can be associated.
        let resp = assign(&carlos, &app, order, &[("target", "associate"), ("account_id", &s.world.metalworks.to_string())]).await;
        assert_eq!(resp.status().as_u16(), 400, "{backend:?}");
        let resp = assign(&carlos, &app, order, &[("target", "associate"), ("account_id", &s.world.contoso_holding.to_string())]).await;
        assert_eq!(resp.status().as_u16(), 303);
        let page = carlos.get_text(&format!("/orders/{order}")).await;
        assert!(texts(&page, "#associated")[0].contains("Contoso Holding"));
        assert!(texts(&page, "#holding")[0].contains("None"), "the order is not parked in it");
        assert_eq!(lines(&app, order)[0].2, Some(s.world.metalworks), "the licenses still go to the customer account");
        let history = carlos.get_text(&format!("/orders/{order}/history")).await;
        assert!(history.contains("associated partner holding account"));
        // The users of Metalworks see the order through its line, not other orders of Contoso.
        let maya = as_user(&app, "maya@metalworks.example").await;
        assert_eq!(maya.get(&format!("/orders/{order}")).await.status().as_u16(), 200);
        let other = new_order(&carlos, "Not for Metalworks").await;
        assert_eq!(maya.get(&format!("/orders/{other}")).await.status().as_u16(), 404);
    }
}

#[tokio::test]
async fn removing_a_lines_account_answers_htmx_with_the_page_whose_ready_panel_is_updated() {
    let app = spawn_app(Backend::Sqlite).await;
    let s = shop(&app);
    let carlos = as_user(&app, "carlos@contoso.example").await;
    let order = new_order(&carlos, "Panel").await;
    add(&carlos, &app, order, "SL-DNA-ADV-3Y", "2").await;
    let dna = line_of(&app, order, "SL-DNA-ADV-3Y");
    assign(&carlos, &app, order, &[("target", "lines"), ("lines", &dna.to_string()), ("account_id", &s.world.metalworks.to_string())])
        .await;
    let page = carlos.get_text(&format!("/orders/{order}")).await;
    assert!(page.contains("Nothing blocks submission"));
    assert!(page.contains(&format!("data-hx-post=\"/orders/{order}/lines/{dna}/assignment/remove\"")));
    // htmx posts with its header; the redirect leads to the order page, whose <main> htmx swaps in.
    let token = csrf_from(&page);
    // The test client follows no redirects; it follows this one by hand, as htmx's request would.
    let resp = carlos
        .client
        .post(carlos.url(&format!("/orders/{order}/lines/{dna}/assignment/remove")))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", token.as_str())
        .form(&[("version", version(&app, order).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let after = carlos.get_text(&location(&resp)).await;
    let blockers = texts(&after, "#ready .blockers li");
    assert_eq!(blockers.len(), 1);
    assert!(blockers[0].contains("Line 1.0 (SL-DNA-ADV-3Y) requires a smart account"));
}

/// The ids of the lines `sku` in `order`, in line order.
fn lines_of(app: &TestApp, order: i64, sku: &str) -> Vec<i64> {
    lines(app, order).into_iter().filter(|l| l.1 == sku).map(|l| l.0).collect()
}

#[tokio::test]
async fn a_collapsed_kit_keeps_its_red_or_black_marker_and_stays_collapsed_across_actions() {
    let app = spawn_app(Backend::Sqlite).await;
    let _s = shop(&app);
    let carlos = as_user(&app, "carlos@contoso.example").await;
    let order = new_order(&carlos, "Two kits").await;
    add(&carlos, &app, order, "CFG-BRANCH-KIT", "1").await;
    add(&carlos, &app, order, "CFG-CAMPUS-KIT", "1").await;
    let (branch, campus) = (line_of(&app, order, "CFG-BRANCH-KIT"), line_of(&app, order, "CFG-CAMPUS-KIT"));
    let page = carlos.get_text(&format!("/orders/{order}?collapsed={branch},{campus}")).await;
    assert_eq!(texts(&page, "table.items tbody tr").len(), 2, "both kits collapsed");
    assert!(
        texts(&page, &format!("#line-{branch} .marker-required.kit-marker"))[0].contains("Smart Account Required"),
        "red: a minor line needs one"
    );
    assert!(texts(&page, &format!("#line-{campus} .marker-optional.kit-marker"))[0].contains("Smart Account"), "black: a PAK minor line");
    // An action and its reload keep what was collapsed: an item added, a refused add, a plain reload.
    assert_eq!(add(&carlos, &app, order, "HW-SW-48P", "1").await.status().as_u16(), 303);
    let page = carlos.get_text(&format!("/orders/{order}")).await;
    assert_eq!(texts(&page, "table.items tbody tr").len(), 3, "the two kits still collapsed, and the new line");
    assert_eq!(add(&carlos, &app, order, "HW-SW-48P", "0").await.status().as_u16(), 400);
    let refused = carlos.get_text(&format!("/orders/{order}")).await;
    assert_eq!(texts(&refused, "table.items tbody tr").len(), 3);
    // Expanding one is remembered too.
    let page = carlos.get_text(&format!("/orders/{order}?collapsed={campus}")).await;
    assert_eq!(texts(&page, "table.items tbody tr").len(), 6, "the branch kit's three minor lines shown");
    assert_eq!(texts(&carlos.get_text(&format!("/orders/{order}")).await, "table.items tbody tr").len(), 6);
    // Another session shows every line.
    let fresh = as_user(&app, "carlos@contoso.example").await;
    assert_eq!(texts(&fresh.get_text(&format!("/orders/{order}")).await, "table.items tbody tr").len(), 8, "a new session shows all");
}

#[tokio::test]
async fn submit_is_a_secondary_button_while_a_blocker_stands() {
    let app = spawn_app(Backend::Sqlite).await;
    let s = shop(&app);
    let carlos = as_user(&app, "carlos@contoso.example").await;
    let order = new_order(&carlos, "Blocked").await;
    add(&carlos, &app, order, "SL-DNA-ADV-3Y", "1").await;
    let page = carlos.get_text(&format!("/orders/{order}")).await;
    assert!(!texts(&page, ".blockers li").is_empty());
    assert!(texts(&page, "#submit-order.primary").is_empty(), "not the primary style while blocked");
    assert_eq!(texts(&page, "#submit-order.secondary[aria-describedby=blockers]").len(), 1);
    let dna = line_of(&app, order, "SL-DNA-ADV-3Y").to_string();
    let resp = assign(
        &carlos,
        &app,
        order,
        &[
            ("target", "lines"),
            ("lines", &dna),
            ("account_id", &s.world.metalworks.to_string()),
            ("virtual_account_id", &s.world.processing.to_string()),
        ],
    )
    .await;
    assert_eq!(resp.status().as_u16(), 303);
    let page = carlos.get_text(&format!("/orders/{order}")).await;
    assert_eq!(texts(&page, "#submit-order.primary").len(), 1, "nothing blocks: the primary action");
}

#[tokio::test]
async fn history_names_lines_as_the_order_page_numbers_them_now() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let s = shop(&app);
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let order = new_order(&carlos, "Renumbered").await;
        add(&carlos, &app, order, "HW-SW-48P", "1").await;
        add(&carlos, &app, order, "CFG-BRANCH-KIT", "1").await;
        let dna = lines_of(&app, order, "SL-DNA-ADV-3Y")[0];
        let resp = assign(
            &carlos,
            &app,
            order,
            &[
                ("target", "lines"),
                ("lines", &dna.to_string()),
                ("account_id", &s.world.metalworks.to_string()),
                ("virtual_account_id", &s.world.processing.to_string()),
            ],
        )
        .await;
        assert_eq!(resp.status().as_u16(), 303, "{backend:?}");
        let whole = carlos.get_text(&format!("/orders/{order}/history")).await;
        assert_eq!(
            texts(&whole, "tbody td:nth-child(2)"),
            vec!["Line 2.2".to_string()],
            "the kit's second minor line, not its stored number"
        );
        // The first item removed: the kit is 1.0 now, and its history follows.
        let hw = line_of(&app, order, "HW-SW-48P");
        let page = format!("/orders/{order}");
        let resp = carlos.post_form(&page, &format!("/orders/{order}/lines/{hw}/remove"), &[("version", &version(&app, order))]).await;
        assert_eq!(resp.status().as_u16(), 303);
        let line = carlos.get_text(&format!("/orders/{order}/history?line={dna}")).await;
        assert_eq!(texts(&line, "tbody td:nth-child(2)"), vec!["Line 1.2".to_string()]);
        let numbers = texts(&carlos.get_text(&page).await, "table.items tbody td:nth-child(2)");
        assert!(numbers.contains(&"1.2".to_string()), "the same number as on the order page: {numbers:?}");
    }
}

/// The assignment search reads each place an assignable account comes from
/// (the company's own, a role, a colleague's request; for a distributor, the
/// resellers' holding accounts) and finds them past many accounts with the
/// same beginning that the person may not assign to.
#[tokio::test]
async fn the_assignment_search_finds_every_kind_of_assignable_account_past_many_others() {
    use portal::domain::orders::assignment;
    use portal::domain::roles::AccountKind;
    for backend in backends() {
        let app = spawn_app(backend).await;
        let s = shop(&app);
        app.create_user("chris@contoso.example", "Chris Brandt", PASSWORD, "Contoso Resellers", CompanyKind::Reseller);
        let mut conn = app.conn();
        let company = |conn: &mut portal::db::DbConnection, name: &str| -> i64 {
            portal::db::schema::companies::table
                .filter(portal::db::schema::companies::name.eq(name))
                .select(portal::db::schema::companies::id)
                .first(conn)
                .unwrap()
        };
        let user = |conn: &mut portal::db::DbConnection, email: &str| -> i64 {
            portal::db::schema::users::table
                .filter(portal::db::schema::users::email.eq(email))
                .select(portal::db::schema::users::id)
                .first(conn)
                .unwrap()
        };
        let (contoso, elsewhere) = (company(&mut conn, "Contoso Resellers"), company(&mut conn, "Elsewhere Ltd"));
        let (carlos_id, chris, eve) =
            (user(&mut conn, "carlos@contoso.example"), user(&mut conn, "chris@contoso.example"), user(&mut conn, "eve@elsewhere.example"));
        let mut values: Vec<String> = (0..60)
            .map(|i| {
                format!(
                    "('Zeta A-Other {i:02}', 'zeta a-other {i:02}', 'zeta-other-{i:02}.example', 'customer', 'active', {elsewhere}, {eve})"
                )
            })
            .collect();
        for (name, domain, kind, status, owner, by) in [
            ("Zeta Owned", "zeta-owned.example", "customer", "active", contoso, eve),
            ("Other Name", "zeta-by-domain.example", "customer", "active", contoso, eve),
            ("Zeta Requested", "zeta-requested.example", "customer", "pending", elsewhere, chris),
            ("Zeta Role", "zeta-role.example", "customer", "active", elsewhere, eve),
            ("Zeta Approver Only", "zeta-approver.example", "customer", "active", elsewhere, eve),
            ("Zeta Rejected", "zeta-rejected.example", "customer", "rejected", contoso, eve),
            ("Zeta Holding", "zeta-holding.example", "holding", "active", contoso, eve),
            ("Zeta Elsewhere Holding", "zeta-elsewhere-holding.example", "holding", "active", elsewhere, eve),
        ] {
            values.push(format!("('{name}', '{}', '{domain}', '{kind}', '{status}', {owner}, {by})", name.to_lowercase()));
        }
        let rows: Vec<String> =
            values.iter().map(|v| format!("{}, 'a@zeta.example', FALSE, '2026-11-23 00:00:00', 0)", v.trim_end_matches(')'))).collect();
        diesel::connection::SimpleConnection::batch_execute(
            &mut *conn,
            &format!(
                "INSERT INTO smart_accounts (name, name_key, domain, kind, status, owner_company_id, requested_by, approver_email, domain_edited, created_at, version) VALUES {}",
                rows.join(", ")
            ),
        )
        .unwrap();
        let id = |conn: &mut portal::db::DbConnection, name: &str| -> i64 {
            smart_accounts::table.filter(smart_accounts::name.eq(name)).select(smart_accounts::id).first(conn).unwrap()
        };
        for (account, role) in [("Zeta Role", "sa_user"), ("Zeta Approver Only", "sa_approver")] {
            let account = id(&mut conn, account);
            diesel::connection::SimpleConnection::batch_execute(
                &mut *conn,
                &format!(
                    "INSERT INTO account_roles (smart_account_id, user_id, role, partner_access, created_at) VALUES ({account}, {carlos_id}, '{role}', FALSE, '2026-11-23 00:00:00')"
                ),
            )
            .unwrap();
        }
        let actor = |conn: &mut portal::db::DbConnection, email: &str| {
            let id = user(conn, email);
            portal::domain::Actor::load(conn, id).unwrap().unwrap()
        };
        let names = |conn: &mut portal::db::DbConnection, who: &portal::domain::Actor, kind: AccountKind, q: &str| -> Vec<String> {
            assignment::search(conn, who, kind, q).unwrap().into_iter().map(|a| a.name).collect()
        };
        let carlos = actor(&mut conn, "carlos@contoso.example");
        assert_eq!(
            names(&mut conn, &carlos, AccountKind::Customer, "zeta"),
            ["Other Name", "Zeta Owned", "Zeta Requested", "Zeta Role"],
            "{backend:?}: owned (by name and by domain), requested by a colleague, and a role other than approver"
        );
        assert_eq!(names(&mut conn, &carlos, AccountKind::Holding, "zeta"), ["Zeta Holding"], "{backend:?}");
        assert_eq!(names(&mut conn, &carlos, AccountKind::Customer, "zeta-req"), ["Zeta Requested"], "{backend:?}: by domain");
        let listed = names(&mut conn, &carlos, AccountKind::Customer, "");
        for name in ["Other Name", "Zeta Owned", "Zeta Requested", "Zeta Role"] {
            assert!(listed.contains(&name.to_string()), "{backend:?}: with nothing typed, {name} is offered: {listed:?}");
        }
        assert!(!listed.iter().any(|n| n.starts_with("Zeta A-Other") || n == "Zeta Rejected"), "{backend:?}: {listed:?}");
        let nora = actor(&mut conn, "nora@northwind.example");
        assert_eq!(
            names(&mut conn, &nora, AccountKind::Holding, "zeta"),
            ["Zeta Holding"],
            "{backend:?}: a distributor reaches a reseller's holding account, not a customer company's"
        );
        assert!(names(&mut conn, &nora, AccountKind::Customer, "zeta").is_empty(), "{backend:?}: nor the reseller's customers");
        assert_eq!(names(&mut conn, &nora, AccountKind::Holding, "north"), ["Northwind Holding"], "{backend:?}: and its own");
        let olga = actor(&mut conn, "olga@ops.example");
        let all = names(&mut conn, &olga, AccountKind::Customer, "zeta");
        assert_eq!(all.len(), 20, "{backend:?}: operations reach every account, 20 at a time");
        assert_eq!(all[..2], ["Other Name", "Zeta A-Other 00"], "{backend:?}: by name, whether found by name or by domain");
        let _ = s;
    }
}
