//! The license manager over HTTP and through the domain, on both databases:
//! the Metalworks story (Processing short by 20, Production with 20 unused,
//! a transfer clears the alert), registration tokens and their gating,
//! the device interface and its refusals, devices moved and removed, PAK
//! claims, usage chart, reports, and every forbidden action.

use diesel::prelude::*;
use portal::db::schema::{account_events, devices, license_movements, license_shortages, licenses, registration_tokens, smart_accounts};
use portal::domain::licenses::transfer;

use crate::fixtures::*;
use crate::helpers::*;

const AP: &str = "Wireless AP";

fn actor(app: &TestApp, email: &str) -> portal::domain::Actor {
    let mut conn = app.conn();
    let id: i64 = portal::db::schema::users::table
        .filter(portal::db::schema::users::email.eq(email))
        .select(portal::db::schema::users::id)
        .first(&mut conn)
        .unwrap();
    portal::domain::Actor::load(&mut conn, id).unwrap().unwrap()
}

/// Puts a claimed batch of `quantity` licenses into a VA (as a delivered order would).
fn give(app: &TestApp, account: i64, va: i64, name: &str, quantity: i32) -> i64 {
    let mut conn = app.conn();
    let now = portal::db::now();
    diesel::insert_into(licenses::table)
        .values((
            licenses::smart_account_id.eq(account),
            licenses::virtual_account_id.eq(va),
            licenses::license_name.eq(name),
            licenses::quantity.eq(quantity),
            licenses::in_use.eq(0),
            licenses::created_at.eq(now),
            licenses::claimed_at.eq(Some(now)),
        ))
        .execute(&mut conn)
        .unwrap();
    licenses::table.order(licenses::id.desc()).select(licenses::id).first(&mut conn).unwrap()
}

/// The Metalworks world with its agreement accepted and the catalogue loaded.
fn world(app: &TestApp) -> World {
    let w = metalworks(app);
    let mut conn = app.conn();
    portal::domain::catalogue::seed(&mut conn).unwrap();
    portal::domain::accounts::administration::accept_agreement(&mut conn, &actor(app, "maya@metalworks.example"), w.metalworks).unwrap();
    w
}

fn token(app: &TestApp, account: i64, va: i64, max_uses: &str) -> String {
    let input = portal::domain::licenses::tokens::TokenInput {
        description: "Plant".into(),
        expires_days: "30".into(),
        max_uses: max_uses.into(),
        export_controlled: None,
    };
    portal::domain::licenses::tokens::create(&mut app.conn(), &actor(app, "maya@metalworks.example"), account, va, &input).unwrap().value
}

async fn api(app: &TestApp, path: &str, secret: Option<&str>, body: serde_json::Value) -> (u16, serde_json::Value) {
    let mut req = reqwest::Client::new().post(app.url(path)).json(&body);
    if let Some(s) = secret {
        req = req.bearer_auth(s);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let text = resp.text().await.unwrap();
    if status >= 400 {
        assert_eq!(ct, "application/problem+json", "{path}: {text}");
    }
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
}

async fn register(app: &TestApp, token: &str, name: &str, licenses: i64) -> (u16, serde_json::Value) {
    api(
        app,
        "/api/v1/devices/register",
        None,
        serde_json::json!({"token": token, "name": name, "product": "SL-WLC-AP", "licenses": licenses}),
    )
    .await
}

fn device_count(app: &TestApp) -> i64 {
    devices::table.count().get_result(&mut *app.conn()).unwrap()
}

fn events_of(app: &TestApp, account: i64, kind: &str) -> Vec<String> {
    account_events::table
        .filter(account_events::smart_account_id.eq(account))
        .filter(account_events::kind.eq(kind))
        .order(account_events::id)
        .select(account_events::detail)
        .load(&mut *app.conn())
        .unwrap()
}

/// Production owns 40 and uses 20; Processing owns 10 and its devices use 30.
async fn guide_story(app: &TestApp, w: &World) {
    give(app, w.metalworks, w.production, AP, 40);
    give(app, w.metalworks, w.processing, AP, 10);
    let prod = token(app, w.metalworks, w.production, "");
    let proc = token(app, w.metalworks, w.processing, "");
    assert_eq!(register(app, &prod, "press-line-1", 20).await.0, 201);
    assert_eq!(register(app, &proc, "furnace-1", 15).await.0, 201);
    assert_eq!(register(app, &proc, "furnace-2", 15).await.0, 201);
}

#[tokio::test]
async fn metalworks_transfers_production_s_unused_licenses_and_processing_s_alert_clears() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let w = world(&app);
        guide_story(&app, &w).await;
        assert_eq!(mails(&app, "maya@metalworks.example", "license_shortage").len(), 1, "{backend:?}: one mail per shortage");
        assert_eq!(events_of(&app, w.metalworks, "shortage_detected").len(), 1);

        let maya = as_user(&app, "maya@metalworks.example").await;
        let page = maya.get_text(&format!("/accounts/{}/licenses", w.metalworks)).await;
        let alerts = texts(&page, "#alerts li");
        assert_eq!(alerts.len(), 1, "{page}");
        assert!(
            alerts[0].contains("Insufficient licenses") && alerts[0].contains("Processing") && alerts[0].contains("20 short"),
            "{alerts:?}"
        );
        let rows = texts(&page, ".license-table tbody tr");
        assert!(rows[0].contains(AP), "{rows:?}");
        let processing = maya.get_text(&format!("/accounts/{}/licenses?va={}", w.metalworks, w.processing)).await;
        assert!(texts(&processing, ".license-table td.num").join(" ").starts_with("10 30 0 20"), "{backend:?}");
        assert!(processing.contains("bar-over"), "over-use is drawn in red");

        // Too many: the form comes back with the error beside the field and the input kept.
        let path = format!("/accounts/{}/licenses", w.metalworks);
        let action = format!("/accounts/{}/licenses/transfer", w.metalworks);
        let (from, to) = (w.production.to_string(), w.processing.to_string());
        let resp = maya
            .post_form(
                &path,
                &action,
                &[("license", AP), ("from", &from), ("to", &to), ("quantity", "21"), ("reason", "Processing needs them")],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 400);
        let html = resp.text().await.unwrap();
        assert_eq!(texts(&html, "#quantity-error"), vec!["Only 20 available to transfer."]);
        assert_eq!(input_value(&html, "reason").as_deref(), Some("Processing needs them"));
        assert_eq!(input_value(&html, "quantity").as_deref(), Some("21"));
        let resp =
            maya.post_form(&path, &action, &[("license", AP), ("from", &from), ("to", &from), ("quantity", "1"), ("reason", "")]).await;
        let html = resp.text().await.unwrap();
        assert!(!texts(&html, "#to-error").is_empty() && !texts(&html, "#reason-error").is_empty());
        let moved: i64 = license_movements::table.count().get_result(&mut *app.conn()).unwrap();
        assert_eq!(moved, 0, "nothing moved");

        let resp = maya
            .post_form(
                &path,
                &action,
                &[("license", AP), ("from", &from), ("to", &to), ("quantity", "20"), ("reason", "Processing needs them")],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 303, "{backend:?}");
        let page = maya.get_text(&path).await;
        assert!(texts(&page, "#alerts li").is_empty(), "the alert clears: {page}");
        assert!(page.contains("transferred from Production to Processing"), "flash");
        let processing = maya.get_text(&format!("/accounts/{}/licenses?va={}", w.metalworks, w.processing)).await;
        assert!(texts(&processing, ".license-table td.num").join(" ").starts_with("30 30 0 0"));
        let logged = events_of(&app, w.metalworks, "licenses_transferred");
        assert_eq!(logged.len(), 2);
        assert!(logged[0].contains("20 × Wireless AP transferred to Processing: Processing needs them"), "{logged:?}");
        assert_eq!(events_of(&app, w.metalworks, "shortage_resolved").len(), 1);
        let open: i64 =
            license_shortages::table.filter(license_shortages::resolved_at.is_null()).count().get_result(&mut *app.conn()).unwrap();
        assert_eq!(open, 0);
        // The overview lists the account, without alerts now.
        let overview = maya.get_text("/licenses").await;
        assert!(overview.contains("Metalworks Inc.") && overview.contains("<td>Customer</td>"), "{overview}");
    }
}

#[tokio::test]
async fn a_transfer_is_whole_or_nothing_and_splits_batches_oldest_first() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let w = world(&app);
        let a = give(&app, w.metalworks, w.production, AP, 5);
        let b = give(&app, w.metalworks, w.production, AP, 5);
        let mut conn = app.conn();
        // More than the batches hold: the first batch is emptied, then the move fails, and all of it rolls back.
        let r = portal::db::transaction(&mut conn, |c| transfer::move_batches(c, w.metalworks, w.production, w.processing, AP, 12, "x", 1));
        assert!(matches!(r, Err(portal::domain::DomainError::Conflict(_))), "{backend:?}");
        let q: Vec<i32> =
            licenses::table.filter(licenses::id.eq_any([a, b])).order(licenses::id).select(licenses::quantity).load(&mut conn).unwrap();
        assert_eq!(q, vec![5, 5]);
        let n: i64 = licenses::table.filter(licenses::virtual_account_id.eq(w.processing)).count().get_result(&mut conn).unwrap();
        assert_eq!(n, 0);
        // Seven: five from the older batch, two from the newer.
        let maya = actor(&app, "maya@metalworks.example");
        let input = transfer::TransferInput {
            license: AP.into(),
            from: w.production.to_string(),
            to: w.processing.to_string(),
            quantity: "7".into(),
            reason: "rebalance".into(),
        };
        let done = transfer::transfer(&mut conn, &maya, w.metalworks, &input, "http://x").unwrap();
        assert_eq!(done.quantity, 7);
        let q: Vec<i32> =
            licenses::table.filter(licenses::id.eq_any([a, b])).order(licenses::id).select(licenses::quantity).load(&mut conn).unwrap();
        assert_eq!(q, vec![0, 3]);
        let moved: Vec<i32> =
            license_movements::table.order(license_movements::id).select(license_movements::quantity).load(&mut conn).unwrap();
        assert_eq!(moved, vec![5, 2]);
        drop(conn);
        assert_owned_figures_match_batches(&app, &format!("{backend:?}: after a rolled-back move and a split one"));
        let processing = as_user(&app, "maya@metalworks.example")
            .await
            .get_text(&format!("/accounts/{}/licenses?va={}", w.metalworks, w.processing))
            .await;
        assert!(texts(&processing, ".license-table td.num").join(" ").starts_with("7 0 7 0"), "{backend:?}: {processing}");
        let mut conn = app.conn();
        // Bounds: not more than available, not nothing.
        for (qty, want) in [("4", "Only 3 available"), ("0", "at least one"), ("x", "whole number")] {
            let e = transfer::transfer(
                &mut conn,
                &maya,
                w.metalworks,
                &transfer::TransferInput { quantity: qty.into(), ..input.clone() },
                "http://x",
            );
            match e {
                Err(portal::domain::DomainError::Invalid(f)) => assert!(f.get("quantity").unwrap().contains(want), "{qty}: {f:?}"),
                other => panic!("{qty}: {other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn tokens_are_refused_for_holding_and_pending_accounts_and_before_the_agreement() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let w = metalworks(&app);
        portal::domain::catalogue::seed(&mut app.conn()).unwrap();
        let maya = as_user(&app, "maya@metalworks.example").await;
        let tokens = format!("/accounts/{}/licenses/va/{}/tokens", w.metalworks, w.processing);
        let page = maya.get_text(&tokens).await;
        assert!(texts(&page, "#token-refusal")[0].contains("Smart Licensing Agreement"), "{backend:?}");
        let resp = maya.post_form(&tokens, &tokens, &[("description", "Plant"), ("expires_days", "30")]).await;
        assert_eq!(resp.status().as_u16(), 400);
        assert!(resp.text().await.unwrap().contains("Smart Licensing Agreement"));

        // A holding account: its parked licenses show, no token can be made.
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let holding_va: i64 = portal::db::schema::virtual_accounts::table
            .filter(portal::db::schema::virtual_accounts::smart_account_id.eq(w.contoso_holding))
            .select(portal::db::schema::virtual_accounts::id)
            .first(&mut *app.conn())
            .unwrap();
        give(&app, w.contoso_holding, holding_va, AP, 12);
        let page = carlos.get_text(&format!("/accounts/{}/licenses", w.contoso_holding)).await;
        assert!(page.contains("holding account") && texts(&page, ".license-table th[scope=row]") == vec![AP.to_string()]);
        assert!(!page.contains("Registration tokens ·") && !page.contains("id=\"transfer\""));
        let htokens = format!("/accounts/{}/licenses/va/{holding_va}/tokens", w.contoso_holding);
        let resp = carlos.post_form(&htokens, &htokens, &[("description", "Plant"), ("expires_days", "30")]).await;
        assert_eq!(resp.status().as_u16(), 400);
        assert!(resp.text().await.unwrap().contains("A holding account takes no registration tokens"));

        // A pending account.
        diesel::update(smart_accounts::table.find(w.metalworks))
            .set(smart_accounts::status.eq("pending"))
            .execute(&mut *app.conn())
            .unwrap();
        let resp = maya.post_form(&tokens, &tokens, &[("description", "Plant"), ("expires_days", "30")]).await;
        assert!(resp.text().await.unwrap().contains("not active yet"));
        diesel::update(smart_accounts::table.find(w.metalworks))
            .set(smart_accounts::status.eq("active"))
            .execute(&mut *app.conn())
            .unwrap();
        let n: i64 = registration_tokens::table.count().get_result(&mut *app.conn()).unwrap();
        assert_eq!(n, 0);

        // Accepted: the token is made, shown once, stored hashed; bad settings come back beside their fields.
        portal::domain::accounts::administration::accept_agreement(&mut app.conn(), &actor(&app, "maya@metalworks.example"), w.metalworks)
            .unwrap();
        let resp = maya.post_form(&tokens, &tokens, &[("description", ""), ("expires_days", "400"), ("max_uses", "0")]).await;
        assert_eq!(resp.status().as_u16(), 400);
        let html = resp.text().await.unwrap();
        assert!(
            !texts(&html, "#description-error").is_empty()
                && !texts(&html, "#expires_days-error").is_empty()
                && !texts(&html, "#max_uses-error").is_empty()
        );
        assert_eq!(input_value(&html, "expires_days").as_deref(), Some("400"));
        let resp = maya
            .post_form(
                &tokens,
                &tokens,
                &[("description", "Furnace hall"), ("expires_days", "3"), ("max_uses", "1"), ("export_controlled", "yes")],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 200);
        let html = resp.text().await.unwrap();
        let value = input_value(&html, "new-token").or_else(|| {
            let doc = scraper::Html::parse_document(&html);
            let sel = scraper::Selector::parse("#new-token").unwrap();
            doc.select(&sel).next().and_then(|e| e.value().attr("value")).map(str::to_string)
        });
        let value = value.expect("the token is shown once");
        assert!(value.starts_with("srt_"));
        let stored: String = registration_tokens::table.select(registration_tokens::token_hash).first(&mut *app.conn()).unwrap();
        assert_ne!(stored, value);
        assert_eq!(stored.len(), 64, "sha256 hex");
        let list = maya.get_text(&tokens).await;
        assert!(!list.contains(&value), "never shown again");
        assert!(list.contains("Furnace hall") && list.contains("Active") && list.contains("0 of 1"));
        // Expiring within 7 days: an alert.
        let page = maya.get_text(&format!("/accounts/{}/licenses", w.metalworks)).await;
        assert!(texts(&page, "#alerts li").iter().any(|a| a.contains("Token expiring") && a.contains("Furnace hall")), "{page}");
        // Used once: used up.
        assert_eq!(register(&app, &value, "furnace-1", 1).await.0, 201);
        assert!(maya.get_text(&tokens).await.contains("Used up"));
        assert_eq!(events_of(&app, w.metalworks, "token_created").len(), 1);
    }
}

#[tokio::test]
async fn the_device_interface_refuses_bad_input_clearly_and_writes_nothing() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let w = world(&app);
        give(&app, w.metalworks, w.processing, AP, 10);
        let good = token(&app, w.metalworks, w.processing, "");
        let once = token(&app, w.metalworks, w.processing, "1");
        let expired = token(&app, w.metalworks, w.processing, "");
        let revoked = token(&app, w.metalworks, w.processing, "");
        {
            let mut conn = app.conn();
            let hash = |v: &str| {
                use sha2::Digest;
                hex::encode(sha2::Sha256::digest(v.as_bytes()))
            };
            diesel::update(registration_tokens::table.filter(registration_tokens::token_hash.eq(hash(&expired))))
                .set(registration_tokens::expires_at.eq(portal::db::now() - chrono::Duration::days(1)))
                .execute(&mut conn)
                .unwrap();
            diesel::update(registration_tokens::table.filter(registration_tokens::token_hash.eq(hash(&revoked))))
                .set(registration_tokens::revoked_at.eq(Some(portal::db::now())))
                .execute(&mut conn)
                .unwrap();
        }
        assert_eq!(register(&app, &once, "one", 1).await.0, 201);
        let before = device_count(&app);
        for (tok, code) in [
            ("srt_nope", "unknown-token"),
            (expired.as_str(), "expired-token"),
            (revoked.as_str(), "revoked-token"),
            (once.as_str(), "used-up-token"),
        ] {
            let (status, body) = register(&app, tok, "dev", 1).await;
            assert_eq!(status, 403, "{backend:?} {code}");
            assert_eq!(body["type"], format!("/api/v1/problems/{code}"), "{body}");
            assert!(body["detail"].as_str().unwrap().len() > 10);
        }
        for n in [-1, 10_001, 1_000_000_000] {
            let (status, body) = register(&app, &good, "dev", n).await;
            assert_eq!(status, 422, "{n}");
            assert!(body["detail"].as_str().unwrap().contains("licenses"), "{body}");
        }
        let (status, _) = api(
            &app,
            "/api/v1/devices/register",
            None,
            serde_json::json!({"token": good, "name": "x", "product": "HW-SW-48P", "licenses": 1}),
        )
        .await;
        assert_eq!(status, 422, "hardware is not a licensed product");
        let (status, _) = api(
            &app,
            "/api/v1/devices/register",
            None,
            serde_json::json!({"token": good, "name": "", "product": "SL-WLC-AP", "licenses": 1}),
        )
        .await;
        assert_eq!(status, 422);
        let (status, body) = api(&app, "/api/v1/devices/register", None, serde_json::json!({"token": good, "licenses": "lots"})).await;
        assert_eq!(status, 400, "{body}");
        let resp = reqwest::Client::new().post(app.url("/api/v1/devices/register")).body("not json").send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 400);
        assert_eq!(device_count(&app), before, "nothing written");

        // A real device: register (no session, no CSRF token), report, deregister.
        let (status, reg) = register(&app, &good, "furnace-7", 4).await;
        assert_eq!(status, 201, "{reg}");
        let id = reg["instance_id"].as_i64().unwrap();
        let secret = reg["secret"].as_str().unwrap().to_string();
        let usage = format!("/api/v1/devices/{id}/usage");
        let (status, body) = api(&app, &usage, Some("dev_wrong"), serde_json::json!({"licenses": 3})).await;
        assert_eq!((status, body["type"].as_str().unwrap()), (401, "/api/v1/problems/wrong-secret"));
        let (status, _) = api(&app, &usage, None, serde_json::json!({"licenses": 3})).await;
        assert_eq!(status, 401);
        let (status, _) = api(&app, &usage, Some(&secret), serde_json::json!({"licenses": -5})).await;
        assert_eq!(status, 422);
        let (status, _) = api(&app, "/api/v1/devices/999999/usage", Some(&secret), serde_json::json!({"licenses": 1})).await;
        assert_eq!(status, 404);
        let n: i32 = devices::table.find(id).select(devices::licenses).first(&mut *app.conn()).unwrap();
        assert_eq!(n, 4, "refused reports change nothing");
        // Over-use is accepted and flagged.
        let (status, body) = api(&app, &usage, Some(&secret), serde_json::json!({"licenses": 12})).await;
        assert_eq!(status, 200);
        assert_eq!(body["insufficient"], true, "{body}");
        assert_eq!(body["in_use"], 13);
        assert_eq!(mails(&app, "maya@metalworks.example", "license_shortage").len(), 1);
        // More over-use in the same episode: no second mail.
        api(&app, &usage, Some(&secret), serde_json::json!({"licenses": 20})).await;
        assert_eq!(mails(&app, "maya@metalworks.example", "license_shortage").len(), 1);
        let (status, _) = api(&app, &format!("/api/v1/devices/{id}/deregister"), Some(&secret), serde_json::json!({})).await;
        assert_eq!(status, 204);
        let (status, _) = api(&app, &usage, Some(&secret), serde_json::json!({"licenses": 1})).await;
        assert_eq!(status, 404, "a deregistered device is gone");
        assert_eq!(events_of(&app, w.metalworks, "shortage_resolved").len(), 1);
        // A new shortage is a new episode: a second mail.
        let (_, reg) = register(&app, &good, "furnace-8", 11).await;
        assert!(reg["instance_id"].is_i64());
        assert_eq!(mails(&app, "maya@metalworks.example", "license_shortage").len(), 2);
    }
}

#[tokio::test]
async fn devices_are_listed_by_name_moved_with_their_consumption_and_removed() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let w = world(&app);
        give(&app, w.metalworks, w.production, AP, 10);
        give(&app, w.metalworks, w.processing, AP, 10);
        let t = token(&app, w.metalworks, w.processing, "");
        for (name, n) in [("contoso-b", 2), ("Acme-2", 3), ("acme-1", 4)] {
            assert_eq!(register(&app, &t, name, n).await.0, 201);
        }
        let maya = as_user(&app, "maya@metalworks.example").await;
        let list = format!("/accounts/{}/licenses/va/{}/devices", w.metalworks, w.processing);
        let page = maya.get_text(&list).await;
        assert_eq!(texts(&page, "tbody th[scope=row]"), vec!["acme-1", "Acme-2", "contoso-b"], "{backend:?}");
        let page = maya.get_text(&format!("{list}?sort=-name")).await;
        assert_eq!(texts(&page, "tbody th[scope=row]"), vec!["contoso-b", "Acme-2", "acme-1"]);
        let page = maya.get_text(&format!("{list}?q=ACME")).await;
        assert_eq!(texts(&page, "tbody th[scope=row]"), vec!["acme-1", "Acme-2"]);
        // Keyset pages.
        let mut conn = app.conn();
        let p1 = portal::domain::licenses::devices::page_of(
            &mut conn,
            w.processing,
            portal::domain::licenses::devices::DeviceSort::Name,
            "",
            None,
            2,
        )
        .unwrap();
        assert_eq!(p1.rows.len(), 2);
        let p2 = portal::domain::licenses::devices::page_of(
            &mut conn,
            w.processing,
            portal::domain::licenses::devices::DeviceSort::Name,
            "",
            p1.next.as_deref(),
            2,
        )
        .unwrap();
        assert_eq!(p2.rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), vec!["contoso-b"]);
        assert!(p2.next.is_none());
        drop(conn);

        let id: i64 = devices::table.filter(devices::name.eq("acme-1")).select(devices::id).first(&mut *app.conn()).unwrap();
        let resp = maya
            .post_form(&list, &format!("/accounts/{}/licenses/devices/{id}/move", w.metalworks), &[("to", &w.production.to_string())])
            .await;
        assert_eq!(resp.status().as_u16(), 303);
        let production = maya.get_text(&format!("/accounts/{}/licenses?va={}", w.metalworks, w.production)).await;
        assert!(texts(&production, ".license-table td.num").join(" ").starts_with("10 4 6 0"), "{backend:?}: consumption moved");
        let processing = maya.get_text(&format!("/accounts/{}/licenses?va={}", w.metalworks, w.processing)).await;
        assert!(texts(&processing, ".license-table td.num").join(" ").starts_with("10 5 5 0"));
        let resp = maya
            .post_form(&list, &format!("/accounts/{}/licenses/devices/{id}/remove", w.metalworks), &[("va", &w.production.to_string())])
            .await;
        assert_eq!(resp.status().as_u16(), 303);
        let production = maya.get_text(&format!("/accounts/{}/licenses?va={}", w.metalworks, w.production)).await;
        assert!(texts(&production, ".license-table td.num").join(" ").starts_with("10 0 10 0"), "licenses freed");
        assert_eq!(events_of(&app, w.metalworks, "device_moved").len(), 2);
        assert_eq!(events_of(&app, w.metalworks, "device_removed").len(), 1);
        // CSV report of the devices.
        let csv = maya.get_text(&format!("/accounts/{}/licenses/export/devices.csv", w.metalworks)).await;
        assert!(csv.starts_with("instance_id,name,virtual_account") && csv.contains("contoso-b,Processing"), "{csv}");
        let csv = maya.get_text(&format!("/accounts/{}/licenses/export/licenses.csv", w.metalworks)).await;
        assert!(csv.contains("Production,Wireless AP,Smart,10,0,10,0"), "{csv}");
        let csv = maya.get_text(&format!("/accounts/{}/licenses/export/events.csv", w.metalworks)).await;
        assert!(csv.contains("Device moved"), "{csv}");
        // The kept consumption equals what the live devices use, VA by VA.
        use portal::db::schema::license_figures as lc;
        let mut conn = app.conn();
        for va in [w.production, w.processing] {
            let kept: i64 = lc::table.filter(lc::virtual_account_id.eq(va)).select(lc::in_use).first(&mut conn).unwrap();
            let live: Option<i64> = devices::table
                .filter(devices::virtual_account_id.eq(va))
                .filter(devices::removed_at.is_null())
                .select(diesel::dsl::sum(devices::licenses))
                .first(&mut conn)
                .unwrap();
            assert_eq!(kept, live.unwrap_or(0), "{backend:?} VA {va}");
        }
        // A VA that holds licenses or devices is not deleted.
        let r = portal::domain::accounts::administration::delete_virtual_account(
            &mut conn,
            &actor(&app, "maya@metalworks.example"),
            w.metalworks,
            w.processing,
        );
        assert!(matches!(r, Err(portal::domain::DomainError::Conflict(_))), "{r:?}");
    }
}

#[tokio::test]
async fn roles_hold_approvers_take_no_license_action_va_roles_stay_in_their_vas_and_strangers_get_404() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let w = world(&app);
        guide_story(&app, &w).await;
        let prod_token: i64 = registration_tokens::table
            .filter(registration_tokens::virtual_account_id.eq(w.production))
            .select(registration_tokens::id)
            .first(&mut *app.conn())
            .unwrap();
        let proc_device: i64 = devices::table.filter(devices::name.eq("furnace-1")).select(devices::id).first(&mut *app.conn()).unwrap();
        let m = w.metalworks;
        let (prod, proc) = (w.production.to_string(), w.processing.to_string());
        let transfer = |from: &str, to: &str| {
            vec![
                ("license", AP.to_string()),
                ("from", from.to_string()),
                ("to", to.to_string()),
                ("quantity", "1".to_string()),
                ("reason", "r".to_string()),
            ]
        };

        // The approver: no license page, no action.
        let priya = as_user(&app, "priya@metalworks.example").await;
        assert_eq!(priya.get(&format!("/accounts/{m}/licenses")).await.status().as_u16(), 403, "{backend:?}");
        assert_eq!(priya.get(&format!("/accounts/{m}/licenses/va/{}/tokens", w.production)).await.status().as_u16(), 403);
        let f = transfer(&prod, &proc);
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(priya.post_form("/licenses", &format!("/accounts/{m}/licenses/transfer"), &f).await.status().as_u16(), 403);
        assert!(!priya.get_text("/licenses").await.contains(&format!("/accounts/{m}/licenses")));

        // Victor, VA Administrator of Production: Processing is not his.
        let victor = as_user(&app, "victor@metalworks.example").await;
        let page = victor.get_text(&format!("/accounts/{m}/licenses")).await;
        assert!(page.contains("Production") && !page.contains(">Processing<"), "only his VA's tab");
        assert_eq!(victor.get(&format!("/accounts/{m}/licenses?va={}", w.processing)).await.status().as_u16(), 404);
        assert_eq!(victor.get(&format!("/accounts/{m}/licenses/va/{}/devices", w.processing)).await.status().as_u16(), 404);
        let resp = victor.post_form("/licenses", &format!("/accounts/{m}/licenses/transfer"), &f).await;
        assert_eq!(resp.status().as_u16(), 400, "Processing is not a VA he may transfer into");
        let resp = victor.post_form("/licenses", &format!("/accounts/{m}/licenses/devices/{proc_device}/remove"), &[]).await;
        assert_eq!(resp.status().as_u16(), 404);
        let resp = victor.post_form("/licenses", &format!("/accounts/{m}/licenses/devices/{proc_device}/move"), &[("to", &prod)]).await;
        assert_eq!(resp.status().as_u16(), 404);

        // Vera, VA User of Processing: acts there, not on Production's token.
        let vera = as_user(&app, "vera@metalworks.example").await;
        let resp = vera.post_form("/licenses", &format!("/accounts/{m}/licenses/tokens/{prod_token}/revoke"), &[]).await;
        assert_eq!(resp.status().as_u16(), 404);
        let tokens = format!("/accounts/{m}/licenses/va/{}/tokens", w.processing);
        let resp = vera.post_form(&tokens, &tokens, &[("description", "Vera's"), ("expires_days", "10")]).await;
        assert_eq!(resp.status().as_u16(), 200);

        // A stranger, and another account's ids: 404.
        let eve = as_user(&app, "eve@elsewhere.example").await;
        for path in [
            format!("/accounts/{m}/licenses"),
            format!("/accounts/{m}/licenses/va/{}/tokens", w.production),
            format!("/accounts/{m}/licenses/va/{}/devices", w.production),
            format!("/accounts/{m}/licenses/export/devices.csv"),
        ] {
            assert_eq!(eve.get(&path).await.status().as_u16(), 404, "{path}");
        }
        assert_eq!(
            eve.post_form("/licenses", &format!("/accounts/{m}/licenses/tokens/{prod_token}/revoke"), &[]).await.status().as_u16(),
            404
        );
        let resp = eve.post_form("/licenses", &format!("/accounts/{m}/licenses/transfer"), &f).await;
        assert_eq!(resp.status().as_u16(), 404);
        // Carlos administers Contoso's holding account: a Metalworks token id there is unknown.
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let resp =
            carlos.post_form("/licenses", &format!("/accounts/{}/licenses/tokens/{prod_token}/revoke", w.contoso_holding), &[]).await;
        assert_eq!(resp.status().as_u16(), 404);
        let resp =
            carlos.post_form("/licenses", &format!("/accounts/{}/licenses/devices/{proc_device}/remove", w.contoso_holding), &[]).await;
        assert_eq!(resp.status().as_u16(), 404);

        // Maya revokes Production's token; the state shows.
        let maya = as_user(&app, "maya@metalworks.example").await;
        let resp = maya.post_form("/licenses", &format!("/accounts/{m}/licenses/tokens/{prod_token}/revoke"), &[]).await;
        assert_eq!(resp.status().as_u16(), 303);
        assert!(maya.get_text(&location(&resp)).await.contains("Revoked"));
        let n: i64 = devices::table.filter(devices::removed_at.is_null()).count().get_result(&mut *app.conn()).unwrap();
        assert_eq!(n, 3, "no forbidden action removed a device");
        let n: i64 = license_movements::table.count().get_result(&mut *app.conn()).unwrap();
        assert_eq!(n, 0, "no forbidden transfer moved anything");
    }
}

#[tokio::test]
async fn paks_are_claimed_into_a_va_usage_is_charted_and_custody_is_shown() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let w = world(&app);
        give(&app, w.metalworks, w.production, AP, 40);
        let t = token(&app, w.metalworks, w.production, "");
        assert_eq!(register(&app, &t, "press-1", 25).await.0, 201);
        let pak = give(&app, w.metalworks, w.production, "Voice 25 (PAK)", 1);
        diesel::update(licenses::table.find(pak))
            .set(licenses::claimed_at.eq(None::<chrono::NaiveDateTime>))
            .execute(&mut *app.conn())
            .unwrap();
        let maya = as_user(&app, "maya@metalworks.example").await;
        let path = format!("/accounts/{}/licenses", w.metalworks);
        let page = maya.get_text(&path).await;
        assert!(texts(&page, "#claim-certificates-section tbody th").contains(&"Voice 25 (PAK)".to_string()), "{backend:?}");
        let resp =
            maya.post_form(&path, &format!("/accounts/{}/licenses/claims/{pak}", w.metalworks), &[("va", &w.processing.to_string())]).await;
        assert_eq!(resp.status().as_u16(), 303);
        let page = maya.get_text(&format!("{path}?va={}", w.processing)).await;
        assert!(page.contains("Voice 25 (PAK)") && page.contains("<td>PAK</td>"), "{page}");
        assert_eq!(events_of(&app, w.metalworks, "pak_claimed").len(), 1);

        // Daily figures: history plus today's, drawn as SVG with a table.
        let mut conn = app.conn();
        let today = portal::db::now().date();
        for d in 1..=5 {
            portal::domain::licenses::usage::write(
                &mut conn,
                w.metalworks,
                w.production,
                AP,
                today - chrono::Duration::days(d),
                40,
                10 + d as i32,
            )
            .unwrap();
        }
        portal::domain::licenses::usage::record_day(&mut conn, today).unwrap();
        portal::domain::licenses::usage::record_day(&mut conn, today).unwrap();
        drop(conn);
        let page = maya.get_text(&format!("{path}?va={}", w.production)).await;
        assert!(page.contains("<polyline") && page.contains("line-in-use"), "{page}");
        let rows = texts(&page, ".usage-chart details tbody tr");
        assert_eq!(rows.len(), 6, "{rows:?}");
        assert!(rows[5].contains(&today.to_string()) && rows[5].contains("25"));
    }
}

#[tokio::test]
async fn the_device_subcommand_registers_reports_and_deregisters_over_http() {
    let app = spawn_app(Backend::Sqlite).await;
    let w = world(&app);
    give(&app, w.metalworks, w.processing, AP, 10);
    let t = token(&app, w.metalworks, w.processing, "");
    let bin = env!("CARGO_BIN_EXE_smart-account-portal");
    let run = |args: Vec<String>| async move {
        tokio::task::spawn_blocking(move || std::process::Command::new(bin).args(args).env_remove("DATABASE_URL").output().unwrap())
            .await
            .unwrap()
    };
    let out = run(vec![
        "device".into(),
        "register".into(),
        "--url".into(),
        app.address.clone(),
        "--token".into(),
        t.clone(),
        "--name".into(),
        "acme-edge-01".into(),
        "--product".into(),
        "SL-WLC-AP".into(),
        "--licenses".into(),
        "3".into(),
    ])
    .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reg: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (id, secret) = (reg["instance_id"].as_i64().unwrap().to_string(), reg["secret"].as_str().unwrap().to_string());
    assert_eq!(reg["virtual_account"], "Processing");
    let out = run(vec![
        "device".into(),
        "report".into(),
        "--url".into(),
        app.address.clone(),
        "--id".into(),
        id.clone(),
        "--secret".into(),
        secret.clone(),
        "--licenses".into(),
        "12".into(),
    ])
    .await;
    assert!(out.status.success());
    let receipt: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(receipt["insufficient"], true);
    let out = run(vec![
        "device".into(),
        "report".into(),
        "--url".into(),
        app.address.clone(),
        "--id".into(),
        id.clone(),
        "--secret".into(),
        "wrong".into(),
        "--licenses".into(),
        "1".into(),
    ])
    .await;
    assert!(!out.status.success(), "a refused report fails the command");
    assert!(String::from_utf8_lossy(&out.stdout).contains("wrong-secret"));
    let out =
        run(vec!["device".into(), "deregister".into(), "--url".into(), app.address.clone(), "--id".into(), id, "--secret".into(), secret])
            .await;
    assert!(out.status.success());
    assert_eq!(devices::table.filter(devices::removed_at.is_null()).count().get_result::<i64>(&mut *app.conn()).unwrap(), 0);
}

/// The demo story's licenses: Processing short by 20 with the alert showing,
/// Production with 20 unused, Fabrikam's devices named per end customer,
/// tokens in every state, a claimable PAK, and the service provider moving
/// licenses from the default VA to the region that needs them.
#[tokio::test]
async fn the_demo_story_tells_the_license_manager_s_story() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let logins = portal::demo::seed(&mut app.conn(), &app.settings.base_url).expect("demo data loads");
        let password = |email: &str| logins.iter().find(|l| l.email == email).unwrap().password.clone();
        let maya = TestApp { client: client(), ..app.clone_handle() };
        assert_eq!(maya.sign_in("maya@metalworks.example", &password("maya@metalworks.example")).await.status().as_u16(), 303);
        let m: i64 = smart_accounts::table
            .filter(smart_accounts::domain.eq("metalworks.example"))
            .select(smart_accounts::id)
            .first(&mut *app.conn())
            .unwrap();
        let page = maya.get_text(&format!("/accounts/{m}/licenses")).await;
        let alerts = texts(&page, "#alerts li");
        assert!(
            alerts.iter().any(|a| a.contains("Insufficient licenses") && a.contains("Processing") && a.contains("20 short")),
            "{backend:?}: {alerts:?}"
        );
        assert!(alerts.iter().any(|a| a.contains("Token expiring")), "{alerts:?}");
        let va = |name: &str| -> i64 {
            portal::db::schema::virtual_accounts::table
                .filter(portal::db::schema::virtual_accounts::smart_account_id.eq(m))
                .filter(portal::db::schema::virtual_accounts::name.eq(name))
                .select(portal::db::schema::virtual_accounts::id)
                .first(&mut *app.conn())
                .unwrap()
        };
        let production = maya.get_text(&format!("/accounts/{m}/licenses?va={}", va("Production"))).await;
        assert!(texts(&production, ".license-table td.num").join(" ").starts_with("40 20 20 0"), "{backend:?}");
        assert!(production.contains("<polyline"), "90 days of usage");
        let mut states = String::new();
        for name in ["Production", "Processing"] {
            states.push_str(&maya.get_text(&format!("/accounts/{m}/licenses/va/{}/tokens", va(name))).await);
        }
        for state in ["Active", "Expired", "Used up", "Revoked"] {
            assert!(states.contains(&format!(">{state}</span>")), "{state}");
        }

        let fatima = TestApp { client: client(), ..app.clone_handle() };
        fatima.sign_in("fatima@fabrikam.example", &password("fatima@fabrikam.example")).await;
        let f: i64 = smart_accounts::table
            .filter(smart_accounts::domain.eq("fabrikam.example"))
            .select(smart_accounts::id)
            .first(&mut *app.conn())
            .unwrap();
        let page = fatima.get_text(&format!("/accounts/{f}/licenses")).await;
        assert!(texts(&page, "#claim-certificates-section tbody th").contains(&"Router Security (PAK)".to_string()), "a claimable PAK");
        let alerts = texts(&page, "#alerts li");
        assert!(alerts.iter().any(|a| a.contains("Americas") && a.contains("10 short")), "{alerts:?}");
        assert!(alerts.iter().any(|a| a.contains("Silent devices")), "{alerts:?}");
        let fva = |name: &str| -> i64 {
            portal::db::schema::virtual_accounts::table
                .filter(portal::db::schema::virtual_accounts::smart_account_id.eq(f))
                .filter(portal::db::schema::virtual_accounts::name.eq(name))
                .select(portal::db::schema::virtual_accounts::id)
                .first(&mut *app.conn())
                .unwrap()
        };
        let default: i64 = portal::db::schema::virtual_accounts::table
            .filter(portal::db::schema::virtual_accounts::smart_account_id.eq(f))
            .filter(portal::db::schema::virtual_accounts::is_default.eq(true))
            .select(portal::db::schema::virtual_accounts::id)
            .first(&mut *app.conn())
            .unwrap();
        let emea = fatima.get_text(&format!("/accounts/{f}/licenses/va/{}/devices", fva("EMEA"))).await;
        assert_eq!(texts(&emea, "tbody th[scope=row]")[0], "northwind-traders-branch-02");
        let path = format!("/accounts/{f}/licenses");
        let resp = fatima
            .post_form(
                &path,
                &format!("{path}/transfer"),
                &[
                    ("license", "DNA Advantage"),
                    ("from", &default.to_string()),
                    ("to", &fva("Americas").to_string()),
                    ("quantity", "10"),
                    ("reason", "Litware and Contoso Pharma are Americas customers"),
                ],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 303, "{backend:?}");
        let page = fatima.get_text(&path).await;
        assert!(!texts(&page, "#alerts li").iter().any(|a| a.contains("Insufficient")), "the Americas alert clears");
    }
}

/// Ships an order of Contoso's with one line of `sku` and no smart account,
/// its licenses due `delay` after shipment.
fn ship_order(app: &TestApp, sku: &str, quantity: i32, delay: chrono::Duration) -> i64 {
    use portal::db::schema::{orders as o, products};
    let mut conn = app.conn();
    let carlos = actor(app, "carlos@contoso.example");
    let olga = actor(app, "olga@ops.example");
    let input = portal::domain::orders::NewOrderInput {
        name: "Voice for a walk-in customer".into(),
        end_customer_name: "Metalworks Inc.".into(),
        end_customer_domain: "metalworks.example".into(),
        order_type: "standard".into(),
        quote: None,
        for_company_id: None,
    };
    let order = portal::domain::orders::create(&mut conn, &carlos, &input).unwrap();
    let product: i64 = products::table.filter(products::sku.eq(sku)).select(products::id).first(&mut conn).unwrap();
    let v: i32 = o::table.find(order).select(o::version).first(&mut conn).unwrap();
    portal::domain::orders::add_item(&mut conn, &carlos, order, product, quantity, v).unwrap();
    let v: i32 = o::table.find(order).select(o::version).first(&mut conn).unwrap();
    portal::domain::orders::submit(&mut conn, &carlos, order, v, "http://x").unwrap();
    portal::domain::orders::book(&mut conn, &olga, order).unwrap();
    portal::domain::orders::ship(&mut conn, &olga, order, delay).unwrap();
    order
}

/// Ships an order of Contoso's with one line of `sku` and no smart account, and deposits its licenses.
fn ship_unassigned(app: &TestApp, sku: &str, quantity: i32) -> (i64, i64) {
    use portal::db::schema::order_lines;
    let order = ship_order(app, sku, quantity, chrono::Duration::zero());
    let mut conn = app.conn();
    portal::domain::orders::provisioning::deposit_due(&mut conn, "http://x").unwrap();
    let line: i64 = order_lines::table.filter(order_lines::order_id.eq(order)).select(order_lines::id).first(&mut conn).unwrap();
    (order, line)
}

/// The order worker reads only the orders still waiting for their licenses,
/// so a round costs the same however many orders were delivered before: an
/// order shipped with a provisioning delay waits until it is due, and leaves
/// the waiting orders when its licenses land.
#[tokio::test]
async fn only_orders_still_waiting_for_their_licenses_are_read_by_the_worker() {
    use portal::db::schema::{license_deposits_due as due, order_lines};
    for backend in backends() {
        let app = spawn_app(backend).await;
        world(&app);
        let hour = chrono::Duration::hours(1);
        let (first, second) = (ship_order(&app, "PAK-VOICE-25", 2, hour), ship_order(&app, "PAK-VOICE-25", 3, hour));
        let undeposited = |order: i64| -> i64 {
            order_lines::table
                .filter(order_lines::order_id.eq(order))
                .filter(order_lines::licenses_deposited_at.is_null())
                .count()
                .get_result(&mut *app.conn())
                .unwrap()
        };
        let waiting = || -> Vec<i64> { due::table.select(due::order_id).order(due::order_id).load(&mut *app.conn()).unwrap() };
        // Its provisioning delay passed (the worker may deliver it first).
        let come_due = |order: i64| {
            let past = portal::db::now() - chrono::Duration::minutes(1);
            diesel::update(due::table.find(order)).set(due::due_at.eq(past)).execute(&mut *app.conn()).unwrap();
            portal::domain::orders::provisioning::deposit_due(&mut *app.conn(), "http://x").unwrap();
        };
        assert_eq!(waiting(), vec![first, second], "{backend:?}: both wait from their shipment");
        portal::domain::orders::provisioning::deposit_due(&mut *app.conn(), "http://x").unwrap();
        assert_eq!((undeposited(first), undeposited(second)), (1, 1), "{backend:?}: neither is due yet");

        come_due(second);
        assert_eq!(undeposited(second), 0, "{backend:?}: the order come due is delivered");
        assert_eq!(undeposited(first), 1, "{backend:?}: the other is not");
        assert_eq!(waiting(), vec![first], "{backend:?}: only the order not yet delivered waits");

        come_due(first);
        assert_eq!(undeposited(first), 0, "{backend:?}");
        assert!(waiting().is_empty(), "{backend:?}: delivered orders are not read again");
        assert_eq!(portal::domain::orders::provisioning::deposit_due(&mut *app.conn(), "http://x").unwrap(), 0);
    }
}

#[tokio::test]
async fn a_pak_from_an_unassigned_order_is_claimed_by_typing_its_code_and_its_custody_shows_every_step() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let w = world(&app);
        let (order, line) = ship_unassigned(&app, "PAK-VOICE-25", 2);
        let code: Option<String> = portal::db::schema::order_lines::table
            .find(line)
            .select(portal::db::schema::order_lines::pak_code)
            .first(&mut *app.conn())
            .unwrap();
        let code = code.expect("a claim code");
        let carlos = as_user(&app, "carlos@contoso.example").await;
        assert!(carlos.get_text(&format!("/orders/{order}")).await.contains(&code), "{backend:?}: the order shows its claim code");

        let maya = as_user(&app, "maya@metalworks.example").await;
        let path = format!("/accounts/{}/licenses", w.metalworks);
        let action = format!("{path}/claims");
        let resp = maya.post_form(&path, &action, &[("code", "PAK-NOPE-NOPE-NOPE"), ("claim_va", &w.production.to_string())]).await;
        assert_eq!(resp.status().as_u16(), 400);
        let html = resp.text().await.unwrap();
        assert!(!texts(&html, "#code-error").is_empty());
        assert_eq!(input_value(&html, "code").as_deref(), Some("PAK-NOPE-NOPE-NOPE"));
        // The approver may not claim.
        let priya = as_user(&app, "priya@metalworks.example").await;
        assert_eq!(
            priya.post_form("/licenses", &action, &[("code", &code), ("claim_va", &w.production.to_string())]).await.status().as_u16(),
            403
        );
        let typed = code.to_lowercase();
        let resp = maya.post_form(&path, &action, &[("code", &typed), ("claim_va", &w.production.to_string())]).await;
        assert_eq!(resp.status().as_u16(), 303, "{backend:?}");
        let again = maya.post_form(&path, &action, &[("code", &code), ("claim_va", &w.production.to_string())]).await;
        assert!(again.text().await.unwrap().contains("claimed already"));
        let page = maya.get_text(&format!("{path}?va={}", w.production)).await;
        assert!(page.contains("Voice 25 (PAK)") && page.contains("<td>PAK</td>"));

        // Transfer one to Processing; a device uses it there; custody tells it all.
        let input = transfer::TransferInput {
            license: "Voice 25 (PAK)".into(),
            from: w.production.to_string(),
            to: w.processing.to_string(),
            quantity: "1".into(),
            reason: "Processing's new phones".into(),
        };
        transfer::transfer(&mut app.conn(), &actor(&app, "maya@metalworks.example"), w.metalworks, &input, "http://x").unwrap();
        let t = token(&app, w.metalworks, w.processing, "");
        let (status, _) = api(
            &app,
            "/api/v1/devices/register",
            None,
            serde_json::json!({"token": t, "name": "phone-gw-1", "product": "PAK-VOICE-25", "licenses": 1}),
        )
        .await;
        assert_eq!(status, 201);
        assert_owned_figures_match_batches(&app, &format!("{backend:?}: after a claim by code and a transfer"));
        let custody = maya.get_text(&format!("{path}/custody/{line}")).await;
        let steps = texts(&custody, "tbody tr").join(" | ");
        assert!(steps.contains("claimed into Production") && steps.contains("Maya Stein"), "{steps}");
        assert!(steps.contains("1 transferred from Production to Processing: Processing's new phones"), "{steps}");
        assert!(custody.contains("phone-gw-1"), "the device using it");
        // Another account's user cannot read this custody.
        let eve = as_user(&app, "eve@elsewhere.example").await;
        assert_eq!(eve.get(&format!("{path}/custody/{line}")).await.status().as_u16(), 404);
    }
}

/// The story in the browser: Metalworks' administrator sees Processing's
/// shortage, transfers Production's 20 unused licenses, the alert clears; she
/// creates a token, `device register` brings a device in, the chart shows.
#[tokio::test]
async fn the_metalworks_story_in_the_browser() {
    use thirtyfour::prelude::*;
    for backend in backends() {
        let Some(b) = crate::browser::browser().await else { return };
        let app = spawn_app(backend).await;
        let w = world(&app);
        guide_story(&app, &w).await;
        portal::domain::licenses::usage::record_day(&mut app.conn(), portal::db::now().date()).unwrap();
        let tag = format!("licenses-{backend:?}").to_lowercase();
        b.driver.goto(app.url("/sign-in")).await.unwrap();
        b.fill("#email", "maya@metalworks.example").await;
        b.fill("#password", PASSWORD).await;
        b.click_and_wait("button[type=submit]").await;
        b.click_and_wait(".main-nav a[href='/licenses']").await;
        b.shot(&format!("{tag}-01-overview")).await;
        b.click_and_wait(&format!("a[href='/accounts/{}/licenses']", w.metalworks)).await;
        let alerts = b.text("#alerts").await;
        assert!(alerts.contains("Insufficient licenses") && alerts.contains("20 short"), "{backend:?}: {alerts}");
        b.shot(&format!("{tag}-02-shortage")).await;

        b.click("#t-license option[value='Wireless AP']").await;
        b.click(&format!("#t-from option[value='{}']", w.production)).await;
        b.click(&format!("#t-to option[value='{}']", w.processing)).await;
        b.fill("#t-quantity", "20").await;
        b.fill("#t-reason", "Production's unused licenses go to Processing").await;
        b.shot(&format!("{tag}-03-transfer")).await;
        b.click_and_wait("#transfer button[type=submit]").await;
        assert!(b.text("#no-alerts").await.contains("No alerts"));
        assert!(b.text(".flashes").await.contains("20 × Wireless AP transferred from Production to Processing"));
        b.shot(&format!("{tag}-04-cleared")).await;

        b.driver.goto(app.url(&format!("/accounts/{}/licenses/va/{}/tokens", w.metalworks, w.processing))).await.unwrap();
        b.fill("#tk-description", "New furnace line").await;
        b.fill("#tk-days", "30").await;
        b.click_and_wait("main form button.primary").await;
        let value = b.driver.find(By::Css("#new-token")).await.unwrap().value().await.unwrap().unwrap();
        assert!(value.starts_with("srt_"));
        assert!(
            b.driver.find(By::Css(".copy-button")).await.unwrap().is_displayed().await.unwrap(),
            "the copy button shows with JavaScript"
        );
        b.shot(&format!("{tag}-05-token")).await;

        let bin = env!("CARGO_BIN_EXE_smart-account-portal");
        let url = app.address.clone();
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(bin)
                .args([
                    "device",
                    "register",
                    "--url",
                    &url,
                    "--token",
                    &value,
                    "--name",
                    "furnace-3",
                    "--product",
                    "SL-WLC-AP",
                    "--licenses",
                    "2",
                ])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        b.driver.goto(app.url(&format!("/accounts/{}/licenses/va/{}/devices", w.metalworks, w.processing))).await.unwrap();
        assert!(b.text("main table").await.contains("furnace-3"));
        b.shot(&format!("{tag}-06-devices")).await;
        b.driver.goto(app.url(&format!("/accounts/{}/licenses?va={}", w.metalworks, w.processing))).await.unwrap();
        assert!(b.text(".usage-chart figcaption").await.contains("Wireless AP"));
        b.driver.execute("document.querySelector('.usage-chart').scrollIntoView();", vec![]).await.unwrap();
        b.shot(&format!("{tag}-07-chart")).await;
        b.driver.set_window_rect(0, 0, 390, 844).await.unwrap();
        b.driver.goto(app.url(&format!("/accounts/{}/licenses", w.metalworks))).await.unwrap();
        let overflow: bool = b
            .driver
            .execute("return document.documentElement.scrollWidth > window.innerWidth + 1;", vec![])
            .await
            .unwrap()
            .convert()
            .unwrap();
        assert!(!overflow, "no sideways scrolling on a phone: tables scroll in their own region");
        b.shot(&format!("{tag}-08-phone")).await;
        b.quit().await;
    }
}
