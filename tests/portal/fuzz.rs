//! Hostile input into every form and every query parameter of the main
//! pages, as several users, on both databases: a fixed list of values
//! (empty, 10,000 characters, NUL and control characters, unicode, markup,
//! negative and huge numbers, other accounts' ids, repeated and missing
//! fields) and a seeded random part. Never a 5xx, never an unescaped
//! reflection, and a refused request writes nothing.

use diesel::prelude::*;
use futures_util::StreamExt;
use portal::db::schema::{orders, users};
use rand::{Rng, SeedableRng};

use crate::fixtures::*;
use crate::helpers::*;
use crate::orders::{shop, Shop};

const MARKUP: &str = "'\"<script>fuzz()</script>";

fn hostile(ids: &[i64]) -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        "\0",
        "a\u{0}b",
        "\u{1}\u{7}\u{1b}[2J",
        "line\r\nbreak\ttab",
        "Zürich 株式会社 🚀 \u{202e}",
        MARKUP,
        "-1",
        "0",
        "-9223372036854775809",
        "9223372036854775807",
        "99999999999999999999",
        "1e9",
        "1.5",
        "%00",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("x".repeat(10_000));
    v.extend(ids.iter().map(|i| i.to_string()));
    v
}

/// A form or a page with query parameters, as one user reaches it.
struct Target {
    who: usize,
    post: bool,
    path: String,
    /// Field names with a harmless value each.
    fields: Vec<(&'static str, String)>,
}

fn t(who: usize, post: bool, path: impl Into<String>, fields: &[(&'static str, &str)]) -> Target {
    Target { who, post, path: path.into(), fields: fields.iter().map(|(k, v)| (*k, v.to_string())).collect() }
}

/// Rows per table: a refused request must leave every count as it was.
fn counts(app: &TestApp) -> Vec<(&'static str, i64)> {
    let mut conn = app.conn();
    [
        "companies",
        "users",
        "smart_accounts",
        "virtual_accounts",
        "account_roles",
        "account_events",
        "access_requests",
        "orders",
        "order_lines",
        "assignment_events",
        "licenses",
    ]
    .into_iter()
    .map(|table| {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let n: N = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}")).get_result(&mut conn).unwrap();
        (table, n.n)
    })
    .collect()
}

#[derive(Debug)]
struct Finding {
    what: String,
    status: u16,
    problem: &'static str,
}

async fn send(app: &TestApp, token: &str, target: &Target, fields: &[(String, String)]) -> (u16, String, bool) {
    let resp = if target.post {
        let mut all: Vec<(String, String)> = fields.to_vec();
        all.push(("csrf_token".into(), token.to_string()));
        app.client.post(app.url(&target.path)).form(&all).send().await.expect("POST")
    } else {
        let q = serde_urlencoded::to_string(fields).unwrap();
        app.client.get(app.url(&format!("{}?{q}", target.path))).send().await.expect("GET")
    };
    let status = resp.status().as_u16();
    let html = resp.headers().get("content-type").and_then(|c| c.to_str().ok()).is_some_and(|c| c.starts_with("text/html"));
    (status, resp.text().await.unwrap_or_default(), html)
}

fn preview(s: &str) -> String {
    let p: String = s.chars().take(24).collect();
    format!("{p:?}{}", if s.chars().count() > 24 { format!("…({} chars)", s.chars().count()) } else { String::new() })
}

#[tokio::test]
async fn hostile_and_random_input_never_breaks_a_page_or_writes_half() {
    let mut all = backends();
    if std::env::var("FUZZ_PG_FIRST").is_ok() {
        all.reverse();
    }
    for backend in all {
        let app = spawn_app(backend).await;
        let Shop { world, northwind_holding } = shop(&app);
        let uid = |email: &str| -> i64 { users::table.filter(users::email.eq(email)).select(users::id).first(&mut *app.conn()).unwrap() };
        let carlos_actor = portal::domain::Actor::load(&mut app.conn(), uid("carlos@contoso.example")).unwrap().unwrap();
        let nora_actor = portal::domain::Actor::load(&mut app.conn(), uid("nora@northwind.example")).unwrap().unwrap();
        let new_order = |who: &portal::domain::Actor, name: &str| {
            let input = portal::domain::orders::NewOrderInput {
                name: name.into(),
                end_customer_name: "Fuzz Customer".into(),
                order_type: "standard".into(),
                ..Default::default()
            };
            portal::domain::orders::create(&mut app.conn(), who, &input).unwrap()
        };
        let order = new_order(&carlos_actor, "Fuzz order");
        let other_order = new_order(&nora_actor, "Not yours");
        let version = |id: i64| -> i32 { orders::table.find(id).select(orders::version).first(&mut *app.conn()).unwrap() };

        let people = ["carlos@contoso.example", "maya@metalworks.example", "olga@ops.example"];
        let mut clients = Vec::new();
        for p in people {
            clients.push(as_user(&app, p).await);
        }
        let anonymous = TestApp { client: client(), ..app.clone_handle() };
        let mut tokens = Vec::new();
        for c in &clients {
            tokens.push(csrf_from(&c.get_text("/profile").await));
        }
        let anon_token = csrf_from(&anonymous.get_text("/sign-in").await);
        let (mw, prod, ch, nh) = (world.metalworks, world.production, world.contoso_holding, northwind_holding);
        let v = version(order).to_string();
        let (mw_s, prod_s, order_s) = (mw.to_string(), prod.to_string(), order.to_string());
        let ids = [mw, prod, world.processing, ch, nh, order, other_order];
        let values = hostile(&ids);
        let sa_query: &[(&str, &str)] = &[
            ("sort", "status"),
            ("dir", "asc"),
            ("q", "acme"),
            ("sa", "not_assigned"),
            ("status", "submitted"),
            ("holding", "Contoso Holding"),
            ("from", "2026-01-01"),
            ("to", "2026-12-31"),
            ("after", ""),
            ("before", ""),
        ];
        const ANON: usize = 99;
        let targets = vec![
            // Query parameters of the main pages.
            t(0, false, "/smart-account-orders", sa_query),
            t(2, false, "/smart-account-orders/export.csv", sa_query),
            t(0, false, "/smart-account-orders/holding-accounts", &[("holding", "contoso")]),
            t(
                0,
                false,
                "/smart-account-orders/reassign",
                &[("orders", &format!("{order}:{v}")), ("seen", "0"), ("all", ""), ("kind", "customer"), ("q", "metal")],
            ),
            t(1, false, "/accounts", &[("q", "metal")]),
            t(1, false, "/accounts/search", &[("q", "metal")]),
            t(1, false, "/accounts/similar", &[("name", "Metal"), ("domain", "metalworks.example")]),
            t(0, false, "/accounts/new", &[("order", &order_s), ("target", "order"), ("lines", ""), ("kind", "customer")]),
            t(1, false, &format!("/accounts/{mw}/events"), &[("from", "2026-01-01"), ("to", "2026-12-31"), ("kind", "")]),
            t(1, false, &format!("/accounts/{mw}/virtual-accounts"), &[("edit", &prod_s)]),
            t(0, false, &format!("/orders/{order}"), &[("collapsed", "1,2")]),
            t(0, false, &format!("/orders/{order}/history"), &[("line", "1")]),
            t(
                0,
                false,
                &format!("/orders/{order}/assignment"),
                &[("target", "order"), ("kind", "customer"), ("lines", "1"), ("q", "metal")],
            ),
            t(0, false, "/orders/new", &[("quote", "yes")]),
            t(ANON, false, "/sign-in", &[("next", "/orders")]),
            t(ANON, false, "/register", &[("next", "/orders")]),
            // Forms.
            t(ANON, true, "/sign-in", &[("email", "nobody@fuzz.example"), ("password", "wrong password"), ("next", "/")]),
            t(
                ANON,
                true,
                "/register",
                &[
                    ("name", "Fuzz Person"),
                    ("email", "fuzz@fuzz.example"),
                    ("password", "short"),
                    ("company_name", "Fuzz Ltd"),
                    ("next", "/"),
                ],
            ),
            t(1, true, "/profile", &[("name", "Maya Stein"), ("notify_orders", "on"), ("notify_reminders", "on")]),
            t(
                0,
                true,
                "/orders",
                &[
                    ("name", ""),
                    ("end_customer_name", "Fuzz"),
                    ("end_customer_domain", "fuzz.example"),
                    ("order_type", "standard"),
                    ("quote", ""),
                    ("for_company_id", ""),
                ],
            ),
            t(0, true, &format!("/orders/{order}/lines"), &[("version", &v), ("product_id", "1"), ("quantity", "0")]),
            t(
                0,
                true,
                &format!("/orders/{order}/assignment"),
                &[("version", &v), ("target", "holding"), ("lines", ""), ("account_id", "0"), ("virtual_account_id", ""), ("remove", "")],
            ),
            t(0, true, &format!("/orders/{order}/cases"), &[("lines", "1"), ("account", &mw_s), ("virtual_account", ""), ("reason", "")]),
            t(
                0,
                true,
                "/smart-account-orders/reassign",
                &[
                    ("orders", &format!("{order}:{v}")),
                    ("seen", "0"),
                    ("all", ""),
                    ("kind", "customer"),
                    ("account_id", "0"),
                    ("virtual_account_id", ""),
                ],
            ),
            t(1, true, &format!("/accounts/{mw}"), &[("version", "-5"), ("name", "Metalworks Inc.")]),
            t(1, true, &format!("/accounts/{nh}/access"), &[("message", "")]),
            t(1, true, &format!("/accounts/{mw}/virtual-accounts"), &[("name", ""), ("description", "Fuzz"), ("visibility", "public")]),
            t(
                1,
                true,
                &format!("/accounts/{mw}/virtual-accounts/{prod}"),
                &[("name", ""), ("description", "Fuzz"), ("visibility", "public")],
            ),
            t(
                1,
                true,
                &format!("/accounts/{mw}/users"),
                &[("email", ""), ("role", "sa_user"), ("virtual_accounts", &prod_s), ("acknowledged", ""), ("partner", "")],
            ),
            t(
                0,
                true,
                "/accounts/new",
                &[
                    ("step", "1"),
                    ("go", "next"),
                    ("kind", "customer"),
                    ("authority", "yes"),
                    ("approver_email", ""),
                    ("name", ""),
                    ("domain", "fuzz.example"),
                    ("duplicate_reason", ""),
                    ("company_name", "Fuzz Ltd"),
                    ("country", "DE"),
                    ("address", "Street 1"),
                    ("state_province", ""),
                    ("postal_code", "12345"),
                    ("administrators", ""),
                    ("access_for_myself", ""),
                ],
            ),
            t(ANON, true, "/password/forgot", &[("email", "nobody@fuzz.example")]),
            t(ANON, true, "/password/reset/not-a-token", &[("password", "short")]),
            t(ANON, true, "/invitations/not-a-token", &[("name", "Fuzz"), ("password", "short")]),
            t(1, true, "/profile/password", &[("current_password", "not the password"), ("new_password", "short")]),
            t(1, true, "/company/invitations", &[("email", ""), ("smart_account_id", &mw_s), ("role", "sa_user")]),
            t(2, true, "/operations/domain-reviews/1", &[("decision", "reject"), ("reason", "")]),
            t(2, true, "/operations/cases/1/resolve", &[("resolution", "")]),
        ];

        // Every request, as (target, fields); the fixed list first, then the random part.
        let mut requests: Vec<(usize, Vec<(String, String)>, String)> = Vec::new();
        for (ti, target) in targets.iter().enumerate() {
            let base: Vec<(String, String)> = target.fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
            for (fi, (name, benign)) in target.fields.iter().enumerate() {
                for value in &values {
                    let mut f = base.clone();
                    f[fi].1 = value.clone();
                    requests.push((ti, f, format!("{name}={}", preview(value))));
                }
                // Repeated (hostile first, then harmless) and missing.
                let mut f = base.clone();
                f.insert(fi, (name.to_string(), MARKUP.to_string()));
                requests.push((ti, f, format!("{name} repeated")));
                let mut f = base.clone();
                f.insert(fi, (name.to_string(), benign.clone()));
                f.insert(fi, (name.to_string(), String::new()));
                requests.push((ti, f, format!("{name} repeated, empty first")));
                let mut f = base.clone();
                f.remove(fi);
                requests.push((ti, f, format!("{name} missing")));
            }
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed_0011);
        let alphabet: Vec<char> = "aZ09 -_.,:;@/\\'\"<>&%+=?#\0\u{1}\u{7f}\u{9}\n\réß株🚀\u{feff}\u{202e}".chars().collect();
        for _ in 0..300 {
            let ti = rng.random_range(0..targets.len());
            let target = &targets[ti];
            let mut f: Vec<(String, String)> = target.fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
            for _ in 0..rng.random_range(1..=3) {
                let fi = rng.random_range(0..f.len());
                let len = rng.random_range(0..40);
                f[fi].1 = (0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())]).collect();
            }
            requests.push((ti, f, "random".into()));
        }

        let started = std::time::Instant::now();
        let total = requests.len();
        let mut findings: Vec<Finding> = Vec::new();
        // POSTs one at a time (each refused one is checked for writes); GETs four at a time.
        let (posts, gets): (Vec<_>, Vec<_>) = requests.into_iter().partition(|(ti, _, _)| targets[*ti].post);
        let who = |ti: usize| -> (&TestApp, &str) {
            match targets[ti].who {
                ANON => (&anonymous, anon_token.as_str()),
                w => (&clients[w], tokens[w].as_str()),
            }
        };
        let check = |ti: usize, what: &str, status: u16, body: &str, html: bool, findings: &mut Vec<Finding>| {
            let what = format!("{} {} as {} ({what})", if targets[ti].post { "POST" } else { "GET" }, targets[ti].path, targets[ti].who);
            if status >= 500 {
                findings.push(Finding { what: what.clone(), status, problem: "5xx" });
            }
            if status >= 400 && !html {
                findings.push(Finding { what: what.clone(), status, problem: "an error that is not an HTML page" });
            }
            if html && body.contains("<script>fuzz") {
                findings.push(Finding { what, status, problem: "unescaped reflection" });
            }
        };
        let results: Vec<(usize, String, u16, String, bool)> = futures_util::stream::iter(gets)
            .map(|(ti, f, what)| {
                let (app, token) = who(ti);
                let target = &targets[ti];
                async move {
                    let (status, body, html) = send(app, token, target, &f).await;
                    (ti, what, status, body, html)
                }
            })
            .buffer_unordered(4)
            .collect()
            .await;
        for (ti, what, status, body, html) in results {
            check(ti, &what, status, &body, html, &mut findings);
        }
        let mut before = counts(&app);
        for (ti, f, what) in posts {
            let (app_, token) = who(ti);
            let (status, body, html) = send(app_, token, &targets[ti], &f).await;
            check(ti, &what, status, &body, html, &mut findings);
            let after = counts(&app);
            if (400..500).contains(&status) && after != before {
                findings.push(Finding {
                    what: format!("POST {} ({what}): {before:?} -> {after:?}", targets[ti].path),
                    status,
                    problem: "a refused request wrote",
                });
            }
            before = after;
        }
        // No control character reached stored text.
        #[derive(QueryableByName)]
        struct T {
            #[diesel(sql_type = diesel::sql_types::Text)]
            t: String,
        }
        for (table, column) in [
            ("orders", "name"),
            ("orders", "end_customer_name"),
            ("smart_accounts", "name"),
            ("virtual_accounts", "name"),
            ("virtual_accounts", "description"),
            ("users", "name"),
            ("companies", "name"),
        ] {
            let rows: Vec<T> = diesel::sql_query(format!("SELECT {column} AS t FROM {table}")).load(&mut *app.conn()).unwrap();
            for r in rows {
                if r.t.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
                    findings.push(Finding {
                        what: format!("{table}.{column} = {}", preview(&r.t)),
                        status: 0,
                        problem: "control character stored",
                    });
                }
            }
        }
        eprintln!("fuzz {backend:?}: {total} requests in {:.1} s", started.elapsed().as_secs_f64());
        assert!(
            findings.is_empty(),
            "{backend:?}: {} findings:\n{}",
            findings.len(),
            findings.iter().map(|f| format!("{} {} {}", f.problem, f.status, f.what)).collect::<Vec<_>>().join("\n")
        );
    }
}

/// A repeated field or an empty number never gets a bare text answer: each
/// form answers with its page, the message beside the field and the input
/// kept; an id that is not one is an error, not "none".
#[tokio::test]
async fn forms_answer_bad_input_with_their_page_and_keep_what_was_typed() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let Shop { world, .. } = shop(&app);
        let carlos = as_user(&app, "carlos@contoso.example").await;
        let maya = as_user(&app, "maya@metalworks.example").await;

        // Repeated fields, as the nine forms get them from a hand-made request.
        let repeated: Vec<(&TestApp, String, Vec<(&str, &str)>)> = vec![
            (&maya, "/profile".into(), vec![("name", "Maya Stein"), ("name", "Other")]),
            (&carlos, "/orders".into(), vec![("name", "A"), ("name", "B"), ("end_customer_name", "C"), ("order_type", "standard")]),
            (&maya, format!("/accounts/{}", world.metalworks), vec![("version", "0"), ("version", "1"), ("name", "Metalworks Inc.")]),
            (
                &maya,
                format!("/accounts/{}/virtual-accounts", world.metalworks),
                vec![("name", "X"), ("name", "Y"), ("visibility", "public")],
            ),
            (
                &maya,
                format!("/accounts/{}/virtual-accounts/{}", world.metalworks, world.production),
                vec![("name", "X"), ("name", "Y"), ("visibility", "public")],
            ),
            (&carlos, "/accounts/new".into(), vec![("step", "1"), ("step", "2"), ("kind", "customer")]),
            (&carlos, "/accounts/new".into(), vec![("step", ""), ("kind", "customer")]),
        ];
        for (who, path, fields) in repeated {
            let resp = who.post_form("/profile", &path, &fields).await;
            let status = resp.status().as_u16();
            let kind = resp.headers().get("content-type").and_then(|c| c.to_str().ok()).unwrap_or_default().to_string();
            assert!(status < 500 && (status < 400 || kind.starts_with("text/html")), "{backend:?} {path} {fields:?}: {status} {kind}");
            let body = resp.text().await.unwrap();
            assert!(!body.contains("Parse error"), "{backend:?} {path}: {body}");
        }
        let anonymous = TestApp { client: client(), ..app.clone_handle() };
        for (path, fields) in [
            ("/sign-in", vec![("email", "a@b.example"), ("email", "c@d.example"), ("password", "x")]),
            ("/register", vec![("name", "A"), ("name", "B"), ("email", "x@y.example"), ("password", "short"), ("company_name", "C")]),
        ] {
            let resp = anonymous.post_form(path, path, &fields).await;
            let kind = resp.headers().get("content-type").and_then(|c| c.to_str().ok()).unwrap_or_default().to_string();
            assert!(resp.status().as_u16() < 500 && kind.starts_with("text/html"), "{backend:?} {path}: {kind}");
            assert!(!resp.text().await.unwrap().contains("Parse error"));
        }

        // Add item: an empty or wrong quantity is refused beside the field, and what was typed stays.
        let order = {
            let input = portal::domain::orders::NewOrderInput {
                name: "Typed".into(),
                end_customer_name: "Typed Co".into(),
                order_type: "standard".into(),
                ..Default::default()
            };
            let id: i64 = users::table.filter(users::email.eq("carlos@contoso.example")).select(users::id).first(&mut *app.conn()).unwrap();
            let actor = portal::domain::Actor::load(&mut app.conn(), id).unwrap().unwrap();
            portal::domain::orders::create(&mut app.conn(), &actor, &input).unwrap()
        };
        let page = carlos.get_text(&format!("/orders/{order}")).await;
        let version = input_value(&page, "version").unwrap();
        for typed in ["", "12x", "-4", "100000"] {
            let resp = carlos
                .post_form(
                    &format!("/orders/{order}"),
                    &format!("/orders/{order}/lines"),
                    &[("version", &version), ("product_id", "1"), ("quantity", typed)],
                )
                .await;
            assert_eq!(resp.status().as_u16(), 400, "{backend:?} quantity {typed:?}");
            let html = resp.text().await.unwrap();
            assert_eq!(input_value(&html, "quantity").as_deref(), Some(typed), "the typed quantity stays");
            assert_eq!(texts(&html, "#quantity-error").len(), 1, "a message beside the field: {typed:?}");
        }
        let n: i64 = portal::db::schema::order_lines::table
            .filter(portal::db::schema::order_lines::order_id.eq(order))
            .count()
            .get_result(&mut *app.conn())
            .unwrap();
        assert_eq!(n, 0);

        // A virtual account id of `<script>` is an error, not "no virtual account".
        let resp = carlos
            .post_form(
                &format!("/orders/{order}"),
                &format!("/orders/{order}/assignment"),
                &[
                    ("version", &version),
                    ("target", "order"),
                    ("account_id", &world.metalworks.to_string()),
                    ("virtual_account_id", "<script>"),
                ],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 400, "{backend:?}");
        assert!(resp.text().await.unwrap().contains("Choose a virtual account from the list."));

        // A role for virtual account `<script>` is refused, not given for no virtual account.
        let roles = |app: &TestApp| -> i64 { portal::db::schema::account_roles::table.count().get_result(&mut *app.conn()).unwrap() };
        let before = roles(&app);
        let resp = maya
            .post_form(
                &format!("/accounts/{}/users", world.metalworks),
                &format!("/accounts/{}/users", world.metalworks),
                &[("email", "eve@elsewhere.example"), ("role", "va_user"), ("virtual_accounts", "<script>"), ("acknowledged", "yes")],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 400, "{backend:?}");
        assert_eq!(roles(&app), before);
    }
}
