//! Home is a worklist: what waits for the signed-in person, each kind with
//! its count and the age of the oldest, each item linking to where the work
//! is done; and operations' queues with their status badges and ages.

use diesel::prelude::*;
use portal::db::schema::{access_requests, orders};

use crate::fixtures::*;
use crate::helpers::*;
use crate::orders::{add, assign, new_order, shop, submit, Shop};

/// The texts of one section of the home page (`#key`): its count and its items.
fn section(home: &str, key: &str) -> (String, Vec<String>, String) {
    let count = texts(home, &format!("#{key} .work-count")).into_iter().next().unwrap_or_else(|| panic!("no section #{key}"));
    let items = texts(home, &format!("#{key} .work-items li"));
    let whole = texts(home, &format!("#{key}")).join(" ");
    (count.replace(" waiting", ""), items, whole)
}

fn links(html: &str, selector: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel).filter_map(|a| a.value().attr("href").map(str::to_string)).collect()
}

/// An order of `who` parked in `holding` and submitted: Not Assigned.
async fn parked(who: &TestApp, app: &TestApp, name: &str, holding: i64) -> i64 {
    let order = new_order(who, name).await;
    assign(who, app, order, &[("target", "holding"), ("account_id", &holding.to_string())]).await;
    add(who, app, order, "SL-DNA-ADV-3Y", "2").await;
    assert_eq!(submit(who, app, order).await.status().as_u16(), 303);
    order
}

fn backdate(app: &TestApp, order: i64, days: i64) {
    let then = portal::db::now() - chrono::Duration::days(days);
    diesel::update(orders::table.find(order))
        .set((orders::waiting_since.eq(then), orders::submitted_at.eq(then), orders::created_at.eq(then)))
        .execute(&mut *app.conn())
        .unwrap();
}

#[tokio::test]
async fn a_partner_sees_the_unassigned_order_on_home_with_its_days_in_holding_until_it_is_assigned() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let Shop { world, northwind_holding } = shop(&app);
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let home = carlos.get_text("/").await;
        let (count, items, _) = section(&home, "not-assigned");
        assert_eq!((count.as_str(), items.len()), ("0", 0), "{backend:?}: nothing waits yet");
        assert_eq!(texts(&home, "#not-assigned .nothing").len(), 1, "a kind with nothing waiting says so");

        let order = parked(&carlos, &app, "Plant upgrade", world.contoso_holding).await;
        let newer = parked(&carlos, &app, "Second site", world.contoso_holding).await;
        backdate(&app, order, 9);
        let home = carlos.get_text("/").await;
        let (count, items, whole) = section(&home, "not-assigned");
        assert_eq!(count, "2", "{backend:?}");
        assert!(items[0].contains(&format!("WO-{order:06}")) && items[0].contains("9 days in holding"), "oldest first: {items:?}");
        assert!(items[0].contains("Contoso Holding") && items[0].contains("Submitted"), "{items:?}");
        assert!(items[1].contains(&format!("WO-{newer:06}")), "{items:?}");
        assert!(whole.contains("Oldest waiting: 9 days"), "{whole}");
        assert_eq!(texts(&home, "#not-assigned-count")[0], "2 Not Assigned", "the same count as the navigation");
        let hrefs = links(&home, "#not-assigned .work-items a");
        assert_eq!(hrefs[0], format!("/orders/{order}/assignment?target=order"), "it links to where the work is done");
        assert_eq!(carlos.get(&hrefs[0]).await.status().as_u16(), 200);

        // Assigned to the customer's account, it leaves the worklist.
        let resp = assign(
            &carlos,
            &app,
            order,
            &[("target", "order"), ("account_id", &world.metalworks.to_string()), ("virtual_account_id", &world.processing.to_string())],
        )
        .await;
        assert_eq!(resp.status().as_u16(), 303);
        let home = carlos.get_text("/").await;
        let (count, items, _) = section(&home, "not-assigned");
        assert_eq!(count, "1", "{backend:?}");
        assert!(items.iter().all(|i| !i.contains(&format!("WO-{order:06}"))), "assigned: gone from home: {items:?}");

        // A distributor's order handed to the reseller is the reseller's work, not the distributor's.
        let nora = as_user(&app, "nora@northwind.example").await;
        let handed = parked(&nora, &app, "For a reseller", northwind_holding).await;
        assert_eq!(section(&nora.get_text("/").await, "not-assigned").0, "1");
        assign(&nora, &app, handed, &[("target", "holding"), ("account_id", &world.contoso_holding.to_string())]).await;
        let (count, items, _) = section(&nora.get_text("/").await, "not-assigned");
        assert_eq!((count.as_str(), items.len()), ("0", 0), "{backend:?}: handed off, no longer the distributor's work");
        let (count, items, _) = section(&carlos.get_text("/").await, "not-assigned");
        assert_eq!(count, "2");
        assert!(items.iter().any(|i| i.contains(&format!("WO-{handed:06}"))), "{items:?}");
        app.handle.stop(false).await;
    }
}

#[tokio::test]
async fn drafts_that_cannot_be_submitted_and_quotes_wait_on_the_partners_home() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let Shop { world, .. } = shop(&app);
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let empty = new_order(&carlos, "Nothing in it yet").await;
        let needs = new_order(&carlos, "Needs an account").await;
        add(&carlos, &app, needs, "SL-DNA-ADV-3Y", "2").await;
        let ready = new_order(&carlos, "Ready to go").await;
        add(&carlos, &app, ready, "PAK-ROUTER-SEC", "1").await;
        let parked_draft = new_order(&carlos, "Parked draft").await;
        assign(&carlos, &app, parked_draft, &[("target", "holding"), ("account_id", &world.contoso_holding.to_string())]).await;
        add(&carlos, &app, parked_draft, "SL-DNA-ADV-3Y", "1").await;
        let resp = carlos
            .post_form(
                "/orders/new?quote=1",
                "/orders",
                &[("name", "A quote"), ("end_customer_name", "Metalworks Inc."), ("order_type", "standard"), ("quote", "1")],
            )
            .await;
        let quote: i64 = location(&resp).trim_start_matches("/orders/").parse().unwrap();

        let home = carlos.get_text("/").await;
        let (count, items, _) = section(&home, "drafts");
        assert_eq!(count, "2", "{backend:?}: {items:?}");
        assert!(items[0].contains(&format!("WO-{empty:06}")) && items[0].contains("Add at least one item"), "{items:?}");
        assert!(items[1].contains(&format!("WO-{needs:06}")) && items[1].contains("1 line needs a smart account"), "{items:?}");
        // The list judges as the order page does (rule 6).
        for id in [empty, needs, ready, parked_draft] {
            let page = carlos.get_text(&format!("/orders/{id}")).await;
            let blocked = !texts(&page, ".blockers li").is_empty();
            assert_eq!(items.iter().any(|i| i.contains(&format!("WO-{id:06}"))), blocked, "{backend:?}: WO-{id:06}");
        }
        let (count, items, _) = section(&home, "quotes");
        assert_eq!(count, "1");
        assert!(items[0].contains(&format!("WO-{quote:06}")) && items[0].contains("Convert"), "{items:?}");
        assert_eq!(links(&home, "#quotes .work-items a"), vec![format!("/orders/{quote}")]);

        // Another person of the company has drafts of their own, not Carlos's.
        app.create_user("cora@contoso.example", "Cora Lee", PASSWORD, "Contoso Resellers", portal::domain::company::CompanyKind::Reseller);
        let cora = as_user(&app, "cora@contoso.example").await;
        assert_eq!(section(&cora.get_text("/").await, "drafts").0, "0");
        app.handle.stop(false).await;
    }
}

#[tokio::test]
async fn operations_see_orders_to_book_and_to_ship_with_counts_and_ages_on_home_and_in_the_queue() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let Shop { world, .. } = shop(&app);
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let olga = as_user(&app, "olga@ops.example").await;
        let home = olga.get_text("/").await;
        for key in ["to-book", "to-ship", "domain-reviews", "open-cases"] {
            let (count, _, _) = section(&home, key);
            assert_eq!(count, "0", "{backend:?}: {key}");
            assert_eq!(texts(&home, &format!("#{key} .nothing")).len(), 1, "{key} says nothing waits");
        }
        assert!(texts(&home, "#not-assigned").is_empty(), "operations' home is their queues");

        let order = parked(&carlos, &app, "Ship me", world.contoso_holding).await;
        backdate(&app, order, 3);
        let home = olga.get_text("/").await;
        let (count, items, whole) = section(&home, "to-book");
        assert_eq!(count, "1", "{backend:?}");
        assert!(
            items[0].contains(&format!("WO-{order:06}")) && items[0].contains("3 days") && items[0].contains("Contoso Resellers"),
            "{items:?}"
        );
        assert!(whole.contains("Oldest waiting: 3 days"), "{whole}");
        assert_eq!(links(&home, "#to-book .work-items a"), vec![format!("/operations/orders#order-{order}")]);

        let queue = olga.get_text("/operations/orders").await;
        let row = texts(&queue, &format!("#to-book tr#order-{order}"));
        assert!(row[0].contains("Submitted") && row[0].contains("3 days"), "{row:?}");
        assert_eq!(texts(&queue, &format!("#order-{order} .status-submitted")).len(), 1, "a status badge");
        assert!(texts(&queue, "#to-book tbody button.primary").is_empty(), "the row's action does not compete with the page's");
        assert!(texts(&queue, "#to-ship .empty")[0].contains("Nothing to ship"));

        olga.post_form("/operations/orders", &format!("/operations/orders/{order}/book"), &[]).await;
        let home = olga.get_text("/").await;
        assert_eq!(section(&home, "to-book").0, "0");
        let (count, items, _) = section(&home, "to-ship");
        assert_eq!(count, "1");
        assert!(items[0].contains("Booked today"), "{items:?}");
        let queue = olga.get_text("/operations/orders").await;
        assert_eq!(texts(&queue, &format!("#to-ship tr#order-{order} .status-booked")).len(), 1);
        app.handle.stop(false).await;
    }
}

#[tokio::test]
async fn a_customer_sees_the_access_request_to_decide_and_the_agreement_to_accept() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let world = metalworks(&app);
        let maya = as_user(&app, "maya@metalworks.example").await;
        let priya = as_user(&app, "priya@metalworks.example").await;
        let eve = as_user(&app, "eve@elsewhere.example").await;
        let home = maya.get_text("/").await;
        assert_eq!(section(&home, "access-requests").0, "0", "{backend:?}");
        let (count, items, _) = section(&home, "agreements");
        assert_eq!(count, "1", "{backend:?}: the agreement waits");
        assert!(items[0].contains("Metalworks Inc.") && items[0].contains("Accept"), "{items:?}");
        assert_eq!(links(&home, "#agreements .work-items a"), vec![format!("/accounts/{}/agreement", world.metalworks)]);
        assert!(texts(&home, "#drafts").is_empty(), "a customer has no partner work");

        let resp = eve.post_form("/accounts", &format!("/accounts/{}/access", world.metalworks), &[("message", "I run the lab")]).await;
        assert_eq!(resp.status().as_u16(), 303);
        let then = portal::db::now() - chrono::Duration::days(2);
        diesel::update(access_requests::table).set(access_requests::created_at.eq(then)).execute(&mut *app.conn()).unwrap();
        let home = maya.get_text("/").await;
        let (count, items, _) = section(&home, "access-requests");
        assert_eq!(count, "1", "{backend:?}");
        assert!(items[0].contains("Eve Outsider") && items[0].contains("Metalworks Inc.") && items[0].contains("2 days"), "{items:?}");
        assert_eq!(links(&home, "#access-requests .work-items a"), vec![format!("/accounts/{}/access-requests", world.metalworks)]);
        // An approver accepts the agreement but does not decide access requests.
        let home = priya.get_text("/").await;
        assert_eq!(section(&home, "access-requests").0, "0");
        assert_eq!(section(&home, "agreements").0, "1");

        let resp = maya
            .post_form(&format!("/accounts/{}/agreement", world.metalworks), &format!("/accounts/{}/agreement", world.metalworks), &[])
            .await;
        assert_eq!(resp.status().as_u16(), 303, "{backend:?}");
        assert_eq!(section(&maya.get_text("/").await, "agreements").0, "0");
        app.handle.stop(false).await;
    }
}
