//! Smart Account Orders over HTTP: the two-tier distributor → reseller →
//! customer chain with its masking, the list (Not Assigned first, filters,
//! keyset pages, CSV, the navigation count), bulk reassignment, cases after
//! fulfilment, delivery mail and reminders (outbox and SMTP sink).

use diesel::prelude::*;
use portal::db::schema::{licenses, orders, outbox, users};
use portal::domain::orders::assignment;
use portal::domain::roles::AccountKind;

use crate::fixtures::*;
use crate::helpers::*;
use crate::mail::SmtpSink;
use crate::orders::{add, assign, line_of, lines, new_order, shop, submit, Shop};

fn actor(app: &TestApp, email: &str) -> portal::domain::Actor {
    let mut conn = app.conn();
    let id: i64 = users::table.filter(users::email.eq(email)).select(users::id).first(&mut conn).unwrap();
    portal::domain::Actor::load(&mut conn, id).unwrap().unwrap()
}

/// An active account of `kind` requested by `who` (through the domain, as operations would activate it).
fn active_account(conn: &mut portal::db::DbConnection, who: &portal::domain::Actor, name: &str, domain: &str, kind: AccountKind) -> i64 {
    portal::domain::accounts::request::create_active(conn, &portal::domain::users::console_permit(), who, name, domain, kind).unwrap()
}

/// `n` submitted orders of `email`, parked in `holding` (through the domain, fast).
pub(crate) fn parked(app: &TestApp, email: &str, holding: i64, customers: &[&str], n: usize) -> Vec<i64> {
    let who = actor(app, email);
    let base = app.settings.base_url.clone();
    let mut conn = app.conn();
    let product: i64 = portal::db::schema::products::table
        .filter(portal::db::schema::products::sku.eq("SL-DNA-ADV-3Y"))
        .select(portal::db::schema::products::id)
        .first(&mut conn)
        .unwrap();
    let v = |conn: &mut portal::db::DbConnection, id: i64| orders::table.find(id).select(orders::version).first::<i32>(conn).unwrap();
    (0..n)
        .map(|i| {
            let input = portal::domain::orders::NewOrderInput {
                name: format!("Parked order {i}"),
                end_customer_name: customers[i % customers.len()].to_string(),
                order_type: "standard".into(),
                ..Default::default()
            };
            let id = portal::domain::orders::create(&mut conn, &who, &input).unwrap();
            let ver = v(&mut conn, id);
            assignment::set_holding(&mut conn, &who, id, Some(holding), None, ver, &base).unwrap();
            let ver = v(&mut conn, id);
            portal::domain::orders::add_item(&mut conn, &who, id, product, 2, ver).unwrap();
            let ver = v(&mut conn, id);
            portal::domain::orders::submit(&mut conn, &who, id, ver, &base).unwrap();
            id
        })
        .collect()
}

fn version(app: &TestApp, id: i64) -> i32 {
    orders::table.find(id).select(orders::version).first(&mut *app.conn()).unwrap()
}

/// The bulk form's value for an order as the list shows it now: `ID:VERSION`.
fn as_seen(app: &TestApp, id: i64) -> String {
    format!("{id}:{}", version(app, id))
}

/// The snapshot bound a list loaded now carries (for "all matching").
fn seen_now(app: &TestApp) -> String {
    assignment::snapshot(&mut app.conn()).unwrap().to_string()
}

fn web_ids(html: &str) -> Vec<String> {
    texts(html, "table.sa-orders tbody td:nth-child(2)")
}

fn next_link(html: &str, rel: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(&format!("nav.pager a[rel={rel}]")).unwrap();
    doc.select(&sel).next().and_then(|a| a.value().attr("href")).map(|h| h.replace("&amp;", "&"))
}

#[tokio::test]
async fn a_distributor_hands_an_order_to_a_reseller_who_assigns_the_customer_while_the_distributor_sees_it_masked() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let Shop { world, northwind_holding } = shop(&app);
        let nora = as_user(&app, "nora@northwind.example").await;
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let resp = nora
            .post_form(
                "/orders/new",
                "/orders",
                &[("name", "Reseller to be named"), ("end_customer_name", "To be named"), ("order_type", "standard")],
            )
            .await;
        let order: i64 = location(&resp).trim_start_matches("/orders/").parse().unwrap();
        assign(&nora, &app, order, &[("target", "holding"), ("account_id", &northwind_holding.to_string())]).await;
        add(&nora, &app, order, "SL-DNA-ADV-3Y", "5").await;
        assert_eq!(submit(&nora, &app, order).await.status().as_u16(), 303, "{backend:?}");
        let web_id = format!("WO-{order:06}");

        let list = nora.get_text("/smart-account-orders").await;
        assert_eq!(web_ids(&list), vec![web_id.clone()]);
        assert!(texts(&list, "table.sa-orders tbody")[0].contains("Not Assigned"));
        assert_eq!(texts(&list, "#not-assigned-count")[0], "1 Not Assigned");
        assert_eq!(carlos.get(&format!("/orders/{order}")).await.status().as_u16(), 404, "not Contoso's yet");
        assert!(web_ids(&carlos.get_text("/smart-account-orders").await).is_empty());

        // The distributor finds the reseller's holding account and moves the order there.
        let search = nora.get_text(&format!("/orders/{order}/assignment?target=holding&q=contoso")).await;
        assert!(search.contains("Contoso Holding"), "a distributor reaches resellers' holding accounts");
        let resp = assign(&nora, &app, order, &[("target", "holding"), ("account_id", &world.contoso_holding.to_string())]).await;
        assert_eq!(resp.status().as_u16(), 303);
        assert_eq!(mails(&app, "carlos@contoso.example", "order_assignment_required").len(), 1, "the reseller is told");
        let reseller_list = carlos.get_text("/smart-account-orders").await;
        assert_eq!(web_ids(&reseller_list), vec![web_id.clone()]);
        assert_eq!(texts(&reseller_list, "#not-assigned-count")[0], "1 Not Assigned");
        assert_eq!(texts(&reseller_list, "table.sa-orders tbody input[type=checkbox]").len(), 1, "the reseller's work now");

        // It left the distributor's worklist: no count, no checkbox, no second mail or reminder.
        let list = nora.get_text("/smart-account-orders").await;
        assert_eq!(web_ids(&list), vec![web_id.clone()], "the distributor still sees it");
        assert!(texts(&list, "#not-assigned-count").is_empty(), "not in the distributor's Not Assigned count");
        assert!(texts(&list, "table.sa-orders tbody input[type=checkbox]").is_empty(), "no bulk selection of a handed-off order");
        assert_eq!(mails(&app, "nora@northwind.example", "order_assignment_required").len(), 1, "only the submission's mail");
        let eight_days_later = portal::db::now() + chrono::Duration::days(8);
        portal::domain::orders::reminders::send_due(&mut app.conn(), &[3, 7], eight_days_later, "http://x").unwrap();
        assert_eq!(mails(&app, "carlos@contoso.example", "order_assignment_reminder").len(), 1, "the reseller is reminded");
        assert!(mails(&app, "nora@northwind.example", "order_assignment_reminder").is_empty(), "the distributor is not");

        // From now on the choice is the reseller's.
        let resp = assign(&nora, &app, order, &[("target", "order"), ("account_id", &world.metalworks.to_string())]).await;
        assert_eq!(resp.status().as_u16(), 403, "the distributor handed the choice over");
        let resp = assign(
            &carlos,
            &app,
            order,
            &[("target", "order"), ("account_id", &world.metalworks.to_string()), ("virtual_account_id", &world.processing.to_string())],
        )
        .await;
        assert_eq!(resp.status().as_u16(), 303);
        assert_eq!(lines(&app, order)[0].2, Some(world.metalworks));

        // The distributor sees the order, not the reseller's end customer.
        let page = nora.get_text(&format!("/orders/{order}")).await;
        assert!(page.contains("Assigned by reseller") && !page.contains("Metalworks"), "masked on the order page");
        let history = nora.get_text(&format!("/orders/{order}/history")).await;
        assert!(history.contains("Assigned by reseller") && !history.contains("Metalworks"), "masked in the history");
        let csv = nora.get_text("/smart-account-orders/export.csv").await;
        assert!(csv.contains(&web_id) && csv.contains("Assigned by reseller") && !csv.contains("Metalworks"), "masked in the export");
        assert!(texts(&nora.get_text("/smart-account-orders").await, "table.sa-orders tbody")[0].contains("Assigned by reseller"));
        // The reseller and the customer see the account.
        assert!(carlos.get_text(&format!("/orders/{order}")).await.contains("Metalworks Inc. (metalworks.example) / Processing"));
        let maya = as_user(&app, "maya@metalworks.example").await;
        assert!(maya.get_text(&format!("/orders/{order}")).await.contains("Metalworks Inc. (metalworks.example) / Processing"));
        // Nobody else, not even the Production VA administrator of the same account.
        for outsider in ["eve@elsewhere.example", "victor@metalworks.example", "priya@metalworks.example"] {
            let who = as_user(&app, outsider).await;
            assert_eq!(who.get(&format!("/orders/{order}")).await.status().as_u16(), 404, "{outsider}");
            assert_eq!(who.get(&format!("/orders/{order}/history")).await.status().as_u16(), 404, "{outsider}");
        }
        assert!(!mails(&app, "nora@northwind.example", "license_delivery").iter().any(|m| m.contains("Metalworks")));
    }
}

#[tokio::test]
async fn the_list_puts_not_assigned_first_filters_and_pages_through_every_order_once() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let Shop { world, .. } = shop(&app);
        let waiting = parked(&app, "carlos@contoso.example", world.contoso_holding, &["Acme Corp", "Zeta Mining", "Beta Foods"], 55);
        let done = parked(&app, "carlos@contoso.example", world.contoso_holding, &["Done Deal"], 10);
        {
            let carlos = actor(&app, "carlos@contoso.example");
            let mut conn = app.conn();
            let ids: Vec<(i64, assignment::Seen)> = done.iter().map(|id| (*id, assignment::Seen::Version(version(&app, *id)))).collect();
            let summary = assignment::bulk_reassign(
                &mut conn,
                &carlos,
                &ids,
                assignment::BulkTarget::Customer { account: world.metalworks, va: Some(world.processing) },
                &app.settings.base_url,
            )
            .unwrap();
            assert_eq!(summary.moved.len(), 10, "{:?}", summary.refused);
        }
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let first = carlos.get_text("/smart-account-orders").await;
        assert_eq!(texts(&first, "#not-assigned-count")[0], "55 Not Assigned", "{backend:?}");
        let page1 = web_ids(&first);
        assert_eq!(page1.len(), 50);
        assert_eq!(page1[0], format!("WO-{:06}", waiting[0]), "longest waiting first");
        let next = next_link(&first, "next").expect("a next page");
        let second = carlos.get_text(&next).await;
        let page2 = web_ids(&second);
        assert_eq!(page2.len(), 15);
        let statuses = texts(&second, "table.sa-orders tbody td:nth-child(7)");
        assert_eq!(statuses.iter().filter(|s| *s == "Not Assigned").count(), 5);
        assert!(statuses[..5].iter().all(|s| s == "Not Assigned"), "Not Assigned before Assigned: {statuses:?}");
        let mut all: Vec<String> = page1.iter().chain(page2.iter()).cloned().collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 65, "every order once");
        assert!(next_link(&second, "next").is_none());
        let back = carlos.get_text(&next_link(&second, "prev").expect("a previous page")).await;
        assert_eq!(web_ids(&back), page1, "previous gives the first page again");

        // Sorting by another column pages just as well.
        let by_customer = carlos.get_text("/smart-account-orders?sort=end_customer&dir=desc").await;
        let customers = texts(&by_customer, "table.sa-orders tbody td:nth-child(4)");
        assert!(customers[0].starts_with("Zeta Mining"), "{:?}", &customers[..3]);
        let rest = carlos.get_text(&next_link(&by_customer, "next").unwrap()).await;
        let mut seen: Vec<String> = web_ids(&by_customer).into_iter().chain(web_ids(&rest)).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 65);

        // "Days in holding" is a sort of its own: one arrow, on its header, most days first.
        let sorted_headers = |html: &str| -> Vec<(String, String)> {
            let doc = scraper::Html::parse_document(html);
            let sel = scraper::Selector::parse("table.sa-orders th[aria-sort]").unwrap();
            doc.select(&sel)
                .filter(|th| th.value().attr("aria-sort") != Some("none"))
                .map(|th| (th.text().collect::<String>().trim().to_string(), th.value().attr("aria-sort").unwrap().to_string()))
                .collect()
        };
        assert_eq!(sorted_headers(&first), vec![("Customer Smart Account Status".to_string(), "ascending".to_string())]);
        let days_link = {
            let doc = scraper::Html::parse_document(&first);
            let sel = scraper::Selector::parse("table.sa-orders th a").unwrap();
            let a = doc.select(&sel).find(|a| a.text().collect::<String>() == "Days in holding").expect("a Days in holding link");
            a.value().attr("href").unwrap().replace("&amp;", "&")
        };
        assert!(days_link.contains("sort=days"), "{days_link}");
        let by_days = carlos.get_text(&days_link).await;
        assert_eq!(sorted_headers(&by_days), vec![("Days in holding".to_string(), "descending".to_string())]);
        assert_eq!(web_ids(&by_days)[0], format!("WO-{:06}", waiting[0]), "longest waiting first");
        let days_rest = carlos.get_text(&next_link(&by_days, "next").unwrap()).await;
        let mut seen: Vec<String> = web_ids(&by_days).into_iter().chain(web_ids(&days_rest)).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 65, "every order once, sorted by days in holding");
        let fewest = {
            let doc = scraper::Html::parse_document(&by_days);
            let sel = scraper::Selector::parse("table.sa-orders th a").unwrap();
            let a = doc.select(&sel).find(|a| a.text().collect::<String>() == "Days in holding").unwrap();
            a.value().attr("href").unwrap().replace("&amp;", "&")
        };
        assert_eq!(sorted_headers(&carlos.get_text(&fewest).await), vec![("Days in holding".to_string(), "ascending".to_string())]);

        // Filters, and pages within a filter.
        assert_eq!(web_ids(&carlos.get_text("/smart-account-orders?sa=assigned").await).len(), 10);
        let waiting_first = carlos.get_text("/smart-account-orders?sa=not_assigned").await;
        assert_eq!(web_ids(&waiting_first).len(), 50);
        let waiting_rest = carlos.get_text(&next_link(&waiting_first, "next").unwrap()).await;
        assert_eq!(web_ids(&waiting_rest).len(), 5, "only Not Assigned orders on the last page");
        assert!(next_link(&waiting_rest, "next").is_none());
        assert_eq!(
            web_ids(&carlos.get_text(&format!("/smart-account-orders?q=WO-{:06}", done[3])).await),
            vec![format!("WO-{:06}", done[3])]
        );
        assert_eq!(web_ids(&carlos.get_text("/smart-account-orders?q=zeta&sa=not_assigned").await).len(), 18);
        let today = chrono::Utc::now().date_naive();
        let tomorrow = (today + chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
        assert!(web_ids(&carlos.get_text(&format!("/smart-account-orders?from={tomorrow}")).await).is_empty());
        let resp = carlos.get("/smart-account-orders?from=yesterday&q=acme").await;
        assert_eq!(resp.status().as_u16(), 400);
        let html = resp.text().await.unwrap();
        assert_eq!(texts(&html, "#from-error"), vec!["Enter a date as YYYY-MM-DD.".to_string()]);
        assert_eq!(input_value(&html, "q").as_deref(), Some("acme"), "the input is kept");

        // htmx asks for the results only.
        let partial = carlos.client.get(carlos.url("/smart-account-orders?sa=assigned")).header("HX-Request", "true").send().await.unwrap();
        let partial = partial.text().await.unwrap();
        assert!(partial.trim_start().starts_with("<section id=\"sa-results\"") && !partial.contains("<html"));

        // CSV of the current view: every row of every page.
        let csv = carlos.get_text("/smart-account-orders/export.csv?sa=not_assigned").await;
        assert_eq!(csv.lines().count(), 56, "a header and 55 orders");
        assert!(csv.lines().next().unwrap().starts_with("Web Order ID,Sales Order"));

        // An order whose lines are in two customer accounts shows to the users of each.
        let mixed = {
            let c = actor(&app, "carlos@contoso.example");
            let base = app.settings.base_url.clone();
            let mut conn = app.conn();
            let own = active_account(&mut conn, &c, "Contoso IT", "it.contoso.example", AccountKind::Customer);
            let input = portal::domain::orders::NewOrderInput {
                name: "Two sites".into(),
                end_customer_name: "Two Sites".into(),
                order_type: "standard".into(),
                ..Default::default()
            };
            let id = portal::domain::orders::create(&mut conn, &c, &input).unwrap();
            let v = |conn: &mut portal::db::DbConnection| orders::table.find(id).select(orders::version).first::<i32>(conn).unwrap();
            for sku in ["SL-DNA-ADV-3Y", "SL-WLC-AP"] {
                let p: i64 = portal::db::schema::products::table
                    .filter(portal::db::schema::products::sku.eq(sku))
                    .select(portal::db::schema::products::id)
                    .first(&mut conn)
                    .unwrap();
                let ver = v(&mut conn);
                portal::domain::orders::add_item(&mut conn, &c, id, p, 1, ver).unwrap();
            }
            let l = lines(&app, id);
            let ver = v(&mut conn);
            assignment::assign_lines(&mut conn, &c, id, &[l[0].0], world.metalworks, Some(world.processing), ver, &base).unwrap();
            let ver = v(&mut conn);
            assignment::assign_lines(&mut conn, &c, id, &[l[1].0], own, None, ver, &base).unwrap();
            let ver = v(&mut conn);
            portal::domain::orders::submit(&mut conn, &c, id, ver, &base).unwrap();
            id
        };
        let maya = as_user(&app, "maya@metalworks.example").await;
        let hers = web_ids(&maya.get_text("/smart-account-orders").await);
        assert_eq!(hers.len(), 11, "the 10 orders in Metalworks and the one in Metalworks and Contoso IT");
        assert!(hers.contains(&format!("WO-{mixed:06}")));
        let page = maya.get_text(&format!("/orders/{mixed}")).await;
        assert!(page.contains("SL-DNA-ADV-3Y") && !page.contains("SL-WLC-AP"), "her line only");

        // Another partner sees none of them.
        let nora = as_user(&app, "nora@northwind.example").await;
        assert!(web_ids(&nora.get_text("/smart-account-orders").await).is_empty());
        assert!(!nora.get_text("/smart-account-orders/export.csv").await.contains("WO-"));
    }
}

#[tokio::test]
async fn bulk_reassignment_moves_every_eligible_order_and_names_the_refused() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let Shop { world, northwind_holding } = shop(&app);
        let mine = parked(&app, "carlos@contoso.example", world.contoso_holding, &["Acme Corp"], 3);
        let theirs = parked(&app, "nora@northwind.example", northwind_holding, &["Other Co"], 1);
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let form = carlos.get_text(&format!("/smart-account-orders/reassign?orders={}&orders={}&q=metal", mine[0], mine[1])).await;
        assert!(form.contains("2 selected orders") && form.contains("Metalworks Inc."), "{backend:?}");
        let (a, b, c, t) = (as_seen(&app, mine[0]), as_seen(&app, mine[1]), as_seen(&app, mine[2]), as_seen(&app, theirs[0]));
        let resp = carlos
            .post_form(
                "/smart-account-orders",
                "/smart-account-orders/reassign",
                &[
                    ("orders", &a),
                    ("orders", &b),
                    ("orders", &c),
                    ("orders", &t),
                    ("kind", "customer"),
                    ("account_id", &world.metalworks.to_string()),
                    ("virtual_account_id", &world.processing.to_string()),
                ],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 200);
        let html = resp.text().await.unwrap();
        assert_eq!(texts(&html, "#summary-heading"), vec!["3 moved, 1 refused".to_string()]);
        assert!(texts(&html, "ul.refused li")[0].contains(&format!("WO-{:06}", theirs[0])));
        for id in &mine {
            assert_eq!(lines(&app, *id)[0].2, Some(world.metalworks));
        }
        assert_eq!(lines(&app, theirs[0])[0].2, None, "another partner's order is untouched");
        let history = carlos.get_text(&format!("/orders/{}/history", mine[0])).await;
        assert!(history.contains("Reassignment"));

        // All orders matching a filter, and a target that is not allowed.
        let more = parked(&app, "carlos@contoso.example", world.contoso_holding, &["Bulkco"], 2);
        let resp = carlos
            .post_form(
                "/smart-account-orders",
                "/smart-account-orders/reassign",
                &[
                    ("all", "yes"),
                    ("seen", &seen_now(&app)),
                    ("q", "bulkco"),
                    ("kind", "customer"),
                    ("account_id", &northwind_holding.to_string()),
                ],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 400, "Northwind's holding account is not Contoso's to assign");
        let body = resp.text().await.unwrap();
        assert!(body.contains("You cannot assign orders to that smart account"), "{}", texts(&body, "main").join(" "));
        let resp = carlos
            .post_form(
                "/smart-account-orders",
                "/smart-account-orders/reassign",
                &[
                    ("all", "yes"),
                    ("seen", &seen_now(&app)),
                    ("q", "bulkco"),
                    ("kind", "customer"),
                    ("account_id", &world.metalworks.to_string()),
                ],
            )
            .await;
        assert_eq!(texts(&resp.text().await.unwrap(), "#summary-heading"), vec!["2 moved, 0 refused".to_string()]);
        for id in &more {
            assert_eq!(lines(&app, *id)[0].2, Some(world.metalworks));
        }
        // A second submit of the same move harms nothing.
        let resp = carlos
            .post_form(
                "/smart-account-orders",
                "/smart-account-orders/reassign",
                &[
                    ("orders", &a),
                    ("kind", "customer"),
                    ("account_id", &world.metalworks.to_string()),
                    ("virtual_account_id", &world.processing.to_string()),
                ],
            )
            .await;
        assert_eq!(texts(&resp.text().await.unwrap(), "#summary-heading"), vec!["0 moved, 1 refused".to_string()]);
        assert!(texts(&carlos.get_text("/orders").await, "#not-assigned-count").is_empty(), "nothing left Not Assigned");
    }
}

#[tokio::test]
async fn licenses_are_delivered_by_mail_and_a_case_moves_them_after_fulfilment() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let Shop { world, .. } = shop(&app);
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let order = new_order(&carlos, "Deliver me").await;
        add(&carlos, &app, order, "SL-DNA-ADV-3Y", "4").await;
        add(&carlos, &app, order, "PAK-ROUTER-SEC", "1").await;
        let (dna, pak) = (line_of(&app, order, "SL-DNA-ADV-3Y").to_string(), line_of(&app, order, "PAK-ROUTER-SEC").to_string());
        let resp = assign(
            &carlos,
            &app,
            order,
            &[
                ("target", "lines"),
                ("lines", &dna),
                ("lines", &pak),
                ("account_id", &world.metalworks.to_string()),
                ("virtual_account_id", &world.production.to_string()),
            ],
        )
        .await;
        assert_eq!(resp.status().as_u16(), 303, "{backend:?}");
        // Victor, Production's VA administrator, turns order mail off after one delivery; Sam is an SA user.
        assert_eq!(submit(&carlos, &app, order).await.status().as_u16(), 303);
        let olga = as_user(&app, "olga@ops.example").await;
        olga.post_form("/operations/orders", &format!("/operations/orders/{order}/book"), &[]).await;
        olga.post_form("/operations/orders", &format!("/operations/orders/{order}/ship"), &[]).await;
        app.eventually("licenses deposited", || licenses::table.count().get_result::<i64>(&mut *app.conn()).unwrap() == 2).await;
        let delivered = |email: &str| -> Vec<String> {
            outbox::table
                .filter(outbox::recipient.eq(email))
                .filter(outbox::kind.eq("license_delivery"))
                .select(outbox::body_text)
                .load(&mut *app.conn())
                .unwrap()
        };
        for email in ["maya@metalworks.example", "sam@metalworks.example", "victor@metalworks.example"] {
            let m = delivered(email);
            assert_eq!(m.len(), 1, "{email}: one delivery mail");
            assert!(m[0].contains(&format!("View your smart licenses: {}/accounts/{}/licenses", app.settings.base_url, world.metalworks)));
            assert!(m[0].contains("Register claim certificates"), "the PAK line");
        }
        for email in ["vera@metalworks.example", "priya@metalworks.example", "carlos@contoso.example"] {
            assert!(delivered(email).is_empty(), "{email} works with other VAs or no licenses");
        }
        let victor = as_user(&app, "victor@metalworks.example").await;
        let licenses_page = victor.get_text(&format!("/accounts/{}/licenses", world.metalworks)).await;
        assert!(licenses_page.contains("DNA Advantage") && licenses_page.contains(&format!("WO-{order:06}")));
        let vera = as_user(&app, "vera@metalworks.example").await;
        assert!(!vera.get_text(&format!("/accounts/{}/licenses", world.metalworks)).await.contains("DNA Advantage"), "not in her VA");

        // Partners cannot move delivered licenses: they open a case.
        let page = carlos.get_text(&format!("/orders/{order}")).await;
        assert!(page.contains("Open a case"));
        let resp = carlos
            .post_form(
                &format!("/orders/{order}/cases/new"),
                &format!("/orders/{order}/cases"),
                &[("lines", &dna), ("account", "metalworks.example"), ("virtual_account", "Processing"), ("reason", "short")],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 400);
        let html = resp.text().await.unwrap();
        assert!(!texts(&html, "#reason-error").is_empty());
        assert_eq!(input_value(&html, "account").as_deref(), Some("metalworks.example"), "the input is kept");
        let reason = "These licenses belong to the Processing plant, not Production.";
        let resp = carlos
            .post_form(
                &format!("/orders/{order}/cases/new"),
                &format!("/orders/{order}/cases"),
                &[("lines", &dna), ("account", "metalworks.example"), ("virtual_account", "Processing"), ("reason", reason)],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 303);
        let queue = olga.get_text("/operations/cases").await;
        assert!(queue.contains(reason) && queue.contains("Metalworks Inc. (metalworks.example) / Processing"));
        let case_id: i64 = portal::db::schema::cases::table.select(portal::db::schema::cases::id).first(&mut *app.conn()).unwrap();
        let case_on_page = |html: &str| texts(html, &format!("#case-{case_id} .badge"));
        assert!(texts(&page, "ul.cases li").is_empty(), "{backend:?}: no case on the order before one is opened");
        assert_eq!(
            case_on_page(&carlos.get_text(&format!("/orders/{order}")).await),
            vec!["open"],
            "{backend:?}: the order shows its case"
        );
        assert_eq!(
            carlos.post_form("/orders", &format!("/operations/cases/{case_id}/resolve"), &[]).await.status().as_u16(),
            404,
            "only operations resolve"
        );
        let resp = olga.post_form("/operations/cases", &format!("/operations/cases/{case_id}/resolve"), &[("resolution", "Moved.")]).await;
        assert_eq!(resp.status().as_u16(), 303);
        let moved: (i64, i64) = licenses::table
            .filter(licenses::license_name.eq("DNA Advantage"))
            .select((licenses::smart_account_id, licenses::virtual_account_id))
            .first(&mut *app.conn())
            .unwrap();
        assert_eq!(moved, (world.metalworks, world.processing));
        assert_owned_figures_match_batches(&app, &format!("{backend:?}: after a case moved a delivered line"));
        let processing = vera.get_text(&format!("/accounts/{}/licenses", world.metalworks)).await;
        assert!(
            processing.contains("DNA Advantage") && processing.contains(&format!("WO-{order:06}")),
            "{backend:?}: the licenses and their order moved"
        );
        assert!(
            !victor.get_text(&format!("/accounts/{}/licenses", world.metalworks)).await.contains("DNA Advantage"),
            "{backend:?}: and left Production"
        );
        assert_eq!(case_on_page(&carlos.get_text(&format!("/orders/{order}")).await), vec!["resolved"], "{backend:?}");
        let history = carlos.get_text(&format!("/orders/{order}/history?line={dna}")).await;
        assert!(history.contains("Support case") && history.contains("Processing"));
        assert_eq!(mails(&app, "carlos@contoso.example", "case_closed").len(), 1, "the partner is emailed");
        assert_eq!(delivered("vera@metalworks.example").len(), 1, "Processing's user is told the licenses arrived");
        // A second resolve changes nothing.
        olga.post_form("/operations/cases", &format!("/operations/cases/{case_id}/resolve"), &[("resolution", "Again")]).await;
        assert_eq!(mails(&app, "carlos@contoso.example", "case_closed").len(), 1);
    }
}

#[tokio::test]
async fn reminders_go_out_once_per_stage_with_two_instances_and_respect_preferences() {
    for backend in backends() {
        let sink = SmtpSink::start();
        let options = || AppOptions { smtp_url: Some(sink.url.clone()), mail_poll_interval: "100ms", ..Default::default() };
        let app = spawn_app_with(backend, options()).await;
        let _second = spawn_app_with(backend, AppOptions { share_with: Some((app.db.clone(), app.data_handle())), ..options() }).await;
        let Shop { world, .. } = shop(&app);
        app.create_user("cora@contoso.example", "Cora", PASSWORD, "Contoso Resellers", portal::domain::company::CompanyKind::Reseller);
        {
            let carlos = actor(&app, "carlos@contoso.example");
            let mut conn = app.conn();
            let input = portal::domain::accounts::administration::RoleInput {
                email: "cora@contoso.example".into(),
                role: "sa_user".into(),
                virtual_accounts: vec![],
                acknowledged: false,
            };
            portal::domain::accounts::administration::add_user(&mut conn, &carlos, world.contoso_holding, &input, false, "http://x")
                .unwrap();
            diesel::update(users::table.filter(users::email.eq("cora@contoso.example")))
                .set(users::notify_reminders.eq(false))
                .execute(&mut conn)
                .unwrap();
        }
        let order = parked(&app, "carlos@contoso.example", world.contoso_holding, &["Acme Corp"], 1)[0];
        let reminders =
            || sink.to("carlos@contoso.example").into_iter().filter(|m| m.data.contains("Subject: Reminder:")).collect::<Vec<_>>();
        let required = || sink.to("carlos@contoso.example").into_iter().filter(|m| m.data.contains("assignment required")).count();
        app.eventually("the assignment-required mail is sent", || required() == 1).await;
        // Eight days later: the 7-day reminder (not the 3-day one too), once, from either instance.
        let eight_days_ago = portal::db::now() - chrono::Duration::days(8);
        diesel::update(orders::table.find(order)).set(orders::waiting_since.eq(eight_days_ago)).execute(&mut *app.conn()).unwrap();
        app.eventually("the reminder is sent", || reminders().len() == 1).await;
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        let sent = reminders();
        assert_eq!(sent.len(), 1, "{backend:?}: one reminder, not one per instance or per stage");
        assert!(sent[0].data.contains("has waited 8 days"), "{}", sent[0].data);
        assert_eq!(mails(&app, "carlos@contoso.example", "order_assignment_reminder").len(), 1);
        assert!(mails(&app, "cora@contoso.example", "order_assignment_reminder").is_empty(), "opted out of reminders");
        assert_eq!(mails(&app, "cora@contoso.example", "order_assignment_required").len(), 1, "but not of order mail");
        // Assigned orders get no more reminders.
        let carlos = as_user(&app, "carlos@contoso.example").await;
        assign(&carlos, &app, order, &[("target", "order"), ("account_id", &world.metalworks.to_string())]).await;
        let long_ago = portal::db::now() - chrono::Duration::days(30);
        diesel::update(orders::table.find(order)).set(orders::waiting_since.eq(long_ago)).execute(&mut *app.conn()).unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        assert_eq!(mails(&app, "carlos@contoso.example", "order_assignment_reminder").len(), 1);
    }
}

/// The demo story loads on both backends and tells the two-tier story: the
/// distributor's order handed to Contoso waits Not Assigned in Contoso's list.
#[tokio::test]
async fn the_demo_story_loads_and_shows_not_assigned_orders_to_each_partner() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let logins = portal::demo::seed(&mut app.conn(), &app.settings.base_url).expect("demo data loads");
        let password = |email: &str| logins.iter().find(|l| l.email == email).unwrap().password.clone();
        for (email, expected) in
            [("nora@northwind.example", "Branch wireless for a Contoso customer"), ("carlos@contoso.example", "Acme campus switching")]
        {
            let who = TestApp { client: client(), ..app.clone_handle() };
            assert_eq!(who.sign_in(email, &password(email)).await.status().as_u16(), 303, "{backend:?} {email}");
            let list = who.get_text("/smart-account-orders").await;
            assert!(list.contains(expected), "{email}: {}", texts(&list, "tbody").join(" "));
            assert!(!texts(&list, "#not-assigned-count").is_empty(), "{email} has Not Assigned orders");
        }
        let who = TestApp { client: client(), ..app.clone_handle() };
        who.sign_in("carlos@contoso.example", &password("carlos@contoso.example")).await;
        assert!(who.get_text("/smart-account-orders").await.contains("Branch wireless for a Contoso customer"), "handed to Contoso");
    }
}

/// Every column header, both directions, on the page (following the next
/// page's cursor) and in the CSV, for a partner and for operations.
#[tokio::test]
async fn every_sort_column_answers_in_both_directions_on_the_page_and_in_the_csv() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let Shop { world, .. } = shop(&app);
        let ids = parked(&app, "carlos@contoso.example", world.contoso_holding, &["Acme Corp", "Zeta Mining"], 53);
        {
            // Some orders with a sales order number, some without.
            let mut conn = app.conn();
            for id in ids.iter().step_by(3) {
                diesel::update(orders::table.find(*id))
                    .set(orders::sales_order_number.eq(Some(format!("SO-{id:05}"))))
                    .execute(&mut conn)
                    .unwrap();
            }
        }
        for who in ["carlos@contoso.example", "olga@ops.example"] {
            let user = as_user(&app, who).await;
            for sort in portal::domain::orders::listing::Sort::ALL {
                for dir in ["asc", "desc"] {
                    let path = format!("/smart-account-orders?sort={}&dir={dir}", sort.as_str());
                    let resp = user.get(&path).await;
                    assert_eq!(resp.status().as_u16(), 200, "{backend:?} {who} {path}");
                    let html = resp.text().await.unwrap();
                    let first = web_ids(&html);
                    assert_eq!(first.len(), 50, "{backend:?} {who} {path}");
                    let next = next_link(&html, "next").expect("a next page");
                    let resp = user.get(&next).await;
                    assert_eq!(resp.status().as_u16(), 200, "{backend:?} {who} {next}");
                    let second = web_ids(&resp.text().await.unwrap());
                    let mut all: Vec<String> = first.iter().chain(second.iter()).cloned().collect();
                    all.sort();
                    all.dedup();
                    assert_eq!(all.len(), 53, "every order once: {backend:?} {who} {path}");
                    let csv = user.get(&format!("/smart-account-orders/export.csv?sort={}&dir={dir}", sort.as_str())).await;
                    assert_eq!(csv.status().as_u16(), 200, "{backend:?} {who} CSV {path}");
                    assert_eq!(csv.text().await.unwrap().matches("WO-").count(), 53);
                }
            }
        }
    }
}

/// Several people bulk-move overlapping sets of orders at once, each from the
/// list as they loaded it: every order moves once, and everyone else is told
/// it changed since they loaded the list. "All matching" holds to the same.
#[tokio::test]
async fn concurrent_bulk_moves_of_overlapping_orders_lose_no_update() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let Shop { world, .. } = shop(&app);
        let ids = parked(&app, "carlos@contoso.example", world.contoso_holding, &["Racecorp"], 12);
        let n = 5;
        let mut users = Vec::new();
        for _ in 0..n {
            users.push(as_user(&app, "carlos@contoso.example").await);
        }
        // Everyone loads the list first, then they all submit at once.
        let mut forms = Vec::new();
        for u in &users {
            let html = u.get_text("/smart-account-orders?q=racecorp").await;
            let doc = scraper::Html::parse_document(&html);
            let sel = scraper::Selector::parse("input[name=orders]").unwrap();
            let boxes: Vec<String> = doc.select(&sel).filter_map(|e| e.value().attr("value").map(str::to_string)).collect();
            assert_eq!(boxes.len(), 12, "{backend:?}");
            assert!(boxes.iter().all(|b| b.contains(':')), "each box carries the version seen: {boxes:?}");
            forms.push((boxes, csrf_from(&html)));
        }
        let target = |i: usize| if i % 2 == 0 { Some(world.processing) } else { None };
        let posts = users.iter().zip(forms.iter()).enumerate().map(|(i, (u, (boxes, token)))| {
            // Overlapping windows of six orders.
            let chosen: Vec<String> = (0..6).map(|k| boxes[(i * 3 + k) % boxes.len()].clone()).collect();
            let mut fields: Vec<(&str, String)> = chosen.iter().map(|c| ("orders", c.clone())).collect();
            fields.push(("kind", "customer".into()));
            fields.push(("account_id", world.metalworks.to_string()));
            fields.push(("virtual_account_id", target(i).map(|v| v.to_string()).unwrap_or_default()));
            fields.push(("csrf_token", token.clone()));
            let url = u.url("/smart-account-orders/reassign");
            let client = u.client.clone();
            async move {
                let resp = client.post(url).form(&fields).send().await.unwrap();
                assert_eq!(resp.status().as_u16(), 200);
                let html = resp.text().await.unwrap();
                (i, chosen, texts(&html, "ul.moved li"), texts(&html, "ul.refused li"))
            }
        });
        let results = futures_util::future::join_all(posts).await;
        let mut movers: std::collections::HashMap<String, Vec<usize>> = std::collections::HashMap::new();
        for (i, chosen, moved, refused) in &results {
            assert_eq!(moved.len() + refused.len(), chosen.len(), "{backend:?} user {i}: {moved:?} {refused:?}");
            for m in moved {
                movers.entry(m.split(':').next().unwrap().to_string()).or_default().push(*i);
            }
            for r in refused {
                assert!(
                    r.contains("since you loaded the list") || r.contains("at the same moment"),
                    "{backend:?} user {i} is told why: {r}"
                );
            }
        }
        for id in &ids {
            let wo = format!("WO-{id:06}");
            let chosen_by = results.iter().filter(|(_, c, _, _)| c.iter().any(|x| x.starts_with(&format!("{id}:")))).count();
            if chosen_by == 0 {
                continue;
            }
            let who = movers.get(&wo).cloned().unwrap_or_default();
            assert_eq!(who.len(), 1, "{backend:?} {wo} moved by exactly one of {chosen_by}: {who:?}");
            // The order is where its one mover put it, changed once.
            let line = lines(&app, *id)[0].clone();
            assert_eq!((line.2, line.3), (Some(world.metalworks), target(who[0])), "{backend:?} {wo}");
            let changes: i64 = portal::db::schema::assignment_events::table
                .filter(portal::db::schema::assignment_events::order_id.eq(id))
                .filter(portal::db::schema::assignment_events::how.eq("reassignment"))
                .count()
                .get_result(&mut *app.conn())
                .unwrap();
            assert_eq!(changes, 1, "{backend:?} {wo}");
        }

        // "All matching" from a list loaded before someone else's move.
        let more = parked(&app, "carlos@contoso.example", world.contoso_holding, &["Allco"], 3);
        let (early, late) = (&users[0], &users[1]);
        let page = early.get_text("/smart-account-orders?q=allco").await;
        let seen = input_value(&page, "seen").expect("the list carries its snapshot");
        let resp = late
            .post_form(
                "/smart-account-orders",
                "/smart-account-orders/reassign",
                &[
                    ("orders", &as_seen(&app, more[0])),
                    ("kind", "customer"),
                    ("account_id", &world.metalworks.to_string()),
                    ("virtual_account_id", ""),
                ],
            )
            .await;
        assert_eq!(texts(&resp.text().await.unwrap(), "#summary-heading"), vec!["1 moved, 0 refused".to_string()], "{backend:?}");
        let resp = early
            .post_form(
                "/smart-account-orders",
                "/smart-account-orders/reassign",
                &[
                    ("all", "yes"),
                    ("seen", &seen),
                    ("q", "allco"),
                    ("kind", "customer"),
                    ("account_id", &world.metalworks.to_string()),
                    ("virtual_account_id", &world.processing.to_string()),
                ],
            )
            .await;
        let html = resp.text().await.unwrap();
        assert_eq!(texts(&html, "#summary-heading"), vec!["2 moved, 1 refused".to_string()], "{backend:?}");
        let refused = texts(&html, "ul.refused li");
        assert!(refused[0].contains(&format!("WO-{:06}", more[0])) && refused[0].contains("since you loaded the list"), "{refused:?}");
        assert_eq!(lines(&app, more[0])[0].3, None, "the later move stands");
        // Without what was seen, nothing moves.
        let resp = early
            .post_form(
                "/smart-account-orders",
                "/smart-account-orders/reassign",
                &[("orders", &more[1].to_string()), ("kind", "customer"), ("account_id", &world.metalworks.to_string())],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 400);
    }
}

/// Whether an element matching `inner` lies inside one matching `outer`.
fn inside(html: &str, outer: &str, inner: &str) -> bool {
    let doc = scraper::Html::parse_document(html);
    let (o, i) = (scraper::Selector::parse(outer).unwrap(), scraper::Selector::parse(inner).unwrap());
    doc.select(&o).any(|e| e.select(&i).next().is_some())
}

#[tokio::test]
async fn the_bulk_bar_sits_by_the_selection_a_filter_is_announced_and_the_summary_names_the_destination_and_the_new_count() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let Shop { world, .. } = shop(&app);
        let mine = parked(&app, "carlos@contoso.example", world.contoso_holding, &["Acme Corp", "Bulkco"], 3);
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let list = carlos.get_text("/smart-account-orders").await;
        assert_eq!(texts(&list, "#not-assigned-count")[0], "3 Not Assigned", "{backend:?}");
        // The buttons beside the select-all box and the count of selected orders, before the table.
        for part in ["#select-all", "#selected-count", "#reassign-selected", "#reassign-all"] {
            assert!(inside(&list, "#bulk-bar", part), "{part} in the bulk bar");
        }
        assert!(texts(&list, "#reassign-selected[disabled]").is_empty(), "orders to select: the button works");
        // The live region is outside the part a filter replaces, and says what the list shows.
        assert_eq!(texts(&list, "#sa-status[role=status]"), vec!["3 orders match.".to_string()]);
        assert!(!inside(&list, "#sa-results", "#sa-status"), "the status stays when the results are swapped");
        assert!(texts(&list, "#sa-results[aria-live]").is_empty(), "the swapped part is not itself a live region");
        let partial = carlos.client.get(carlos.url("/smart-account-orders?q=bulkco")).header("HX-Request", "true").send().await.unwrap();
        let partial = partial.text().await.unwrap();
        assert!(partial.trim_start().starts_with("<section id=\"sa-results\""));
        assert_eq!(texts(&partial, "#sa-status[data-hx-swap-oob=innerHTML]"), vec!["1 order matches the filter.".to_string()]);
        let none = carlos.client.get(carlos.url("/smart-account-orders?q=nobody")).header("HX-Request", "true").send().await.unwrap();
        assert_eq!(texts(&none.text().await.unwrap(), "#sa-status"), vec!["No orders match the filter.".to_string()]);
        // Nothing to select: "Reassign selected" is disabled without any script.
        let assigned = carlos.get_text("/smart-account-orders?sa=assigned").await;
        assert_eq!(texts(&assigned, "#reassign-selected[disabled]").len(), 1);

        // Two of three moved: the summary says where, and the navigation counts what is left.
        let (a, b) = (as_seen(&app, mine[0]), as_seen(&app, mine[1]));
        let resp = carlos
            .post_form(
                "/smart-account-orders",
                "/smart-account-orders/reassign",
                &[
                    ("orders", &a),
                    ("orders", &b),
                    ("kind", "customer"),
                    ("account_id", &world.metalworks.to_string()),
                    ("virtual_account_id", &world.processing.to_string()),
                ],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 200);
        let html = resp.text().await.unwrap();
        assert_eq!(texts(&html, "#summary-heading"), vec!["2 moved, 0 refused".to_string()]);
        assert_eq!(
            texts(&html, "#bulk-destination"),
            vec!["Moved to Metalworks Inc. (metalworks.example) / Processing: 2 orders.".to_string()]
        );
        assert_eq!(texts(&html, "#not-assigned-count"), vec!["1 Not Assigned".to_string()], "counted after the move");
    }
}

/// "All matching" must refuse every change its list did not see. On
/// PostgreSQL ids are allocated before commit, so a move can hold an id
/// below the list's newest one and still commit after the list was read:
/// here one user's move of X is in flight while another's move of Y (a
/// newer id) commits and the list is read; X is then refused, Y moves.
/// SQLite commits one writer at a time, so there the moves commit before
/// the list is read and both are seen.
#[tokio::test]
async fn all_matching_refuses_a_change_committed_after_the_list_was_read_even_with_an_older_id() {
    use assignment::{BulkTarget, Seen, Snapshot};
    use std::time::Duration;
    for backend in backends() {
        let app = spawn_app(backend).await;
        let Shop { world, .. } = shop(&app);
        let ids = parked(&app, "carlos@contoso.example", world.contoso_holding, &["Inflight"], 2);
        let (x, y) = (ids[0], ids[1]);
        let carlos = actor(&app, "carlos@contoso.example");
        let base = app.settings.base_url.clone();
        let to = BulkTarget::Customer { account: world.metalworks, va: None };
        let in_flight = backend == Backend::Postgres;

        let (moved_tx, moved_rx) = std::sync::mpsc::channel::<()>();
        let (commit_tx, commit_rx) = std::sync::mpsc::channel::<()>();
        let mut held = app.conn();
        let (who, url, seen_x) = (carlos.clone(), base.clone(), Seen::Version(version(&app, x)));
        let mut first = Some(std::thread::spawn(move || {
            portal::db::transaction(&mut held, |c| -> portal::domain::error::DomainResult<()> {
                let s = assignment::bulk_reassign(c, &who, &[(x, seen_x)], to, &url)?;
                assert_eq!(s.moved.len(), 1, "{s:?}");
                moved_tx.send(()).unwrap();
                if in_flight {
                    commit_rx.recv_timeout(Duration::from_secs(30)).expect("told to commit");
                }
                Ok(())
            })
            .unwrap();
        }));
        moved_rx.recv_timeout(Duration::from_secs(30)).expect("the first move ran");
        if !in_flight {
            first.take().unwrap().join().unwrap();
        }
        let seen_y = Seen::Version(version(&app, y));
        let s = assignment::bulk_reassign(&mut app.conn(), &carlos, &[(y, seen_y)], to, &base).unwrap();
        assert_eq!(s.moved.len(), 1, "{backend:?} the second move commits while the first is open: {s:?}");
        // The list is read now; its form carries the token as text.
        let token = assignment::snapshot(&mut app.conn()).unwrap().to_string();
        if in_flight {
            commit_tx.send(()).unwrap();
            first.take().unwrap().join().unwrap();
        }
        let seen: Snapshot = token.parse().expect("a snapshot reads back from its text");
        let again = BulkTarget::Customer { account: world.metalworks, va: Some(world.processing) };
        let s = assignment::bulk_reassign(&mut app.conn(), &carlos, &[(x, Seen::UpTo(seen.clone())), (y, Seen::UpTo(seen))], again, &base)
            .unwrap();
        let moved: Vec<i64> = s.moved.iter().map(|(id, _)| *id).collect();
        let refused: Vec<i64> = s.refused.iter().map(|(id, _)| *id).collect();
        if in_flight {
            assert_eq!((moved, refused), (vec![y], vec![x]), "{backend:?}: {s:?}");
            assert!(s.refused[0].1.contains("since you loaded the list"), "{s:?}");
            assert_eq!(lines(&app, x)[0].3, None, "{backend:?}: the unseen move stands");
        } else {
            assert_eq!((moved, refused), (vec![x, y], vec![]), "{backend:?}: {s:?}");
        }
    }
}

#[tokio::test]
async fn the_holding_filter_reads_a_typed_name_and_suggests_only_the_viewers_holding_accounts() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let Shop { world, .. } = shop(&app);
        let reserve = {
            let carlos = actor(&app, "carlos@contoso.example");
            active_account(&mut app.conn(), &carlos, "Contoso Reserve", "reserve.contoso.example", AccountKind::Holding)
        };
        let in_main = parked(&app, "carlos@contoso.example", world.contoso_holding, &["Acme Corp"], 3);
        let in_reserve = parked(&app, "carlos@contoso.example", reserve, &["Beta Foods"], 2);
        let ids = |v: &[i64]| -> Vec<String> {
            let mut w: Vec<String> = v.iter().map(|id| format!("WO-{id:06}")).collect();
            w.sort();
            w
        };
        let shown = |html: &str| -> Vec<String> {
            let mut w = web_ids(html);
            w.sort();
            w
        };
        let carlos = as_user(&app, "carlos@contoso.example").await;

        // The page reads no suggestions itself: the field asks for them
        // when it is first focused, and then for what is typed.
        let page = carlos.get_text("/smart-account-orders").await;
        assert!(attrs(&page, "#holding-choices option", "value").is_empty(), "{backend:?}");
        let field = attrs(&page, "#holding", "data-hx-trigger");
        assert_eq!(field, vec!["focus once, input changed delay:200ms".to_string()]);
        // On focus (nothing typed yet) it suggests the viewer's own holding accounts, by name.
        let first = carlos.get_text("/smart-account-orders/holding-accounts?holding=").await;
        let suggested = attrs(&first, "#holding-choices option", "value");
        assert_eq!(suggested, vec!["Contoso Holding".to_string(), "Contoso Reserve".to_string()], "{backend:?}");
        assert!(!first.contains("Northwind Holding"), "another company's holding account is never suggested");

        // A full name filters on that account; any case, any spaces around it.
        assert_eq!(shown(&carlos.get_text("/smart-account-orders?holding=Contoso+Holding").await), ids(&in_main));
        let reserve_page = carlos.get_text("/smart-account-orders?holding=++contoso+RESERVE").await;
        assert_eq!(shown(&reserve_page), ids(&in_reserve));
        assert_eq!(input_value(&reserve_page, "holding").as_deref(), Some("contoso RESERVE"), "the typed name is kept");
        // A beginning filters on every account it begins.
        let both: Vec<i64> = in_main.iter().chain(in_reserve.iter()).copied().collect();
        assert_eq!(shown(&carlos.get_text("/smart-account-orders?holding=contoso").await), ids(&both));
        // The filter goes with the CSV and the page links.
        let csv = carlos.get_text("/smart-account-orders/export.csv?holding=Contoso+Reserve").await;
        assert_eq!(csv.lines().count(), 3, "a header and the 2 orders in the reserve");

        // An unknown name, or another company's account, is an error beside the field; the input is kept.
        for name in ["Nowhere", "Northwind Holding"] {
            let resp = carlos.get(&format!("/smart-account-orders?holding={}&q=acme", name.replace(' ', "+"))).await;
            assert_eq!(resp.status().as_u16(), 400, "{name}");
            let html = resp.text().await.unwrap();
            let message = texts(&html, "#holding-error");
            assert_eq!(message.len(), 1, "{name}: {html}");
            assert!(message[0].contains(name) && message[0].contains("Pick one from the suggestions"), "{message:?}");
            assert_eq!(input_value(&html, "holding").as_deref(), Some(name));
            assert_eq!(input_value(&html, "q").as_deref(), Some("acme"));
            assert!(web_ids(&html).is_empty());
        }

        // As the name is typed, htmx asks for the matching suggestions only.
        let frag = carlos.get_text("/smart-account-orders/holding-accounts?holding=contoso+r").await;
        assert!(frag.trim_start().starts_with("<datalist id=\"holding-choices\">"), "{frag}");
        assert_eq!(attrs(&frag, "option", "value"), vec!["Contoso Reserve".to_string()]);
        let theirs = carlos.get_text("/smart-account-orders/holding-accounts?holding=north").await;
        assert!(attrs(&theirs, "option", "value").is_empty(), "{theirs}");

        // A beginning that reaches too many accounts asks for more of the name.
        {
            let carlos = actor(&app, "carlos@contoso.example");
            let mut conn = app.conn();
            for i in 0..portal::domain::orders::listing::HOLDING_FILTER_CAP {
                active_account(
                    &mut conn,
                    &carlos,
                    &format!("Contoso Holding Overflow {i:03}"),
                    &format!("o{i}.contoso.example"),
                    AccountKind::Holding,
                );
            }
        }
        let resp = carlos.get("/smart-account-orders?holding=contoso+holding+overflow").await;
        assert_eq!(resp.status().as_u16(), 200, "exactly the cap is still a filter");
        let resp = carlos.get("/smart-account-orders?holding=contoso").await;
        assert_eq!(resp.status().as_u16(), 400);
        assert!(texts(&resp.text().await.unwrap(), "#holding-error")[0].contains("type more of the name"));
        let exact = carlos.get_text("/smart-account-orders?holding=contoso+holding").await;
        assert_eq!(shown(&exact), ids(&in_main), "a full name still filters when more than the cap begin like it");

        // The holding account's own distributor sees hers, and not Carlos's.
        let nora = as_user(&app, "nora@northwind.example").await;
        let frag = nora.get_text("/smart-account-orders/holding-accounts?holding=").await;
        assert_eq!(attrs(&frag, "option", "value"), vec!["Northwind Holding".to_string()]);
        assert_eq!(nora.get("/smart-account-orders?holding=Contoso+Holding").await.status().as_u16(), 400);
    }
}

/// Renaming a holding account moves its orders to their new place in the
/// list sorted by holding account, and their rows show the new name.
#[tokio::test]
async fn orders_show_and_sort_by_their_holding_accounts_new_name() {
    use portal::domain::orders::web_order_id;
    for backend in backends() {
        let app = spawn_app(backend).await;
        let Shop { world, .. } = shop(&app);
        let carlos_actor = actor(&app, "carlos@contoso.example");
        let beta = active_account(&mut app.conn(), &carlos_actor, "Beta Holding", "beta-holding.example", AccountKind::Holding);
        let in_contoso = parked(&app, "carlos@contoso.example", world.contoso_holding, &["Acme Corp"], 1)[0];
        let in_beta = parked(&app, "carlos@contoso.example", beta, &["Zeta Mining"], 1)[0];
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let holdings = |html: &str| texts(html, "table.sa-orders tbody td:nth-child(6)");
        let list = carlos.get_text("/smart-account-orders?sort=holding&dir=asc").await;
        assert_eq!(web_ids(&list), vec![web_order_id(in_beta), web_order_id(in_contoso)], "{backend:?}");
        assert_eq!(holdings(&list), vec!["Beta Holding", "Contoso Holding"]);

        let path = format!("/accounts/{}", world.contoso_holding);
        let version = input_value(&carlos.get_text(&path).await, "version").unwrap();
        let resp = carlos.post_form(&path, &path, &[("name", "Alpha Holding"), ("version", &version)]).await;
        assert_eq!(resp.status().as_u16(), 303, "{backend:?}");
        let list = carlos.get_text("/smart-account-orders?sort=holding&dir=asc").await;
        assert_eq!(web_ids(&list), vec![web_order_id(in_contoso), web_order_id(in_beta)], "{backend:?}: the renamed account sorts first");
        assert_eq!(holdings(&list), vec!["Alpha Holding", "Beta Holding"]);
        let list = carlos.get_text("/smart-account-orders?sort=holding&dir=desc").await;
        assert_eq!(web_ids(&list), vec![web_order_id(in_beta), web_order_id(in_contoso)], "{backend:?}");
        // The default sort (Status) reads its rows another way: it shows the new name too.
        let mut shown = holdings(&carlos.get_text("/smart-account-orders").await);
        shown.sort();
        assert_eq!(shown, vec!["Alpha Holding", "Beta Holding"], "{backend:?}");
        let home = carlos.get_text("/").await;
        assert!(
            home.contains("In Alpha Holding") && !home.contains("In Contoso Holding"),
            "{backend:?}: the home worklist shows the new name"
        );
    }
}
