//! SQL statements per page: each main page runs a small, fixed number of
//! statements, for a partner and for operations, whatever the size of the
//! data. Counted by the portal's own pool (every statement its connections
//! run), with the background workers quiet, so the count of a request is
//! exact and a regression fails here without timing anything.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use portal::db::schema::{account_roles, companies, products, smart_accounts, users};

use crate::helpers::*;

/// The pages measured, and the most statements each may run on SQLite.
/// A page view takes one connection, for the signed-in user and then the
/// page; PostgreSQL probes a connection idle for a while before handing it
/// out, which is the pool's work and not counted.
struct Budget {
    page: &'static str,
    partner: u64,
    operations: u64,
    /// More for a partner on PostgreSQL: outside the plan-stable pool, the
    /// union of the partner's sources runs in a transaction that asks for
    /// the generic plan (BEGIN and SET LOCAL in one round trip, then
    /// COMMIT), which costs less than planning it every time.
    partner_pg: u64,
    /// More for operations on PostgreSQL: on the plan-stable pool, a search
    /// of every account runs in a transaction that asks for a plan for its
    /// prefix (BEGIN and SET LOCAL in one round trip, then COMMIT).
    operations_pg: u64,
}

const BUDGETS: &[Budget] = &[
    // The frame of a page is one statement while nothing has changed: the
    // signed-in user, read with the moment by which the kept Not Assigned
    // count and the roles it was counted for are judged to hold (else the
    // roles, and for a full page the count) and which a list's bulk form
    // carries.
    // Home is a worklist: beyond the frame (whose count home shows too), the partner's
    // oldest Not Assigned orders (with their holding accounts' names), and one
    // statement for every other kind of work (counts and oldest items).
    Budget { page: "home", partner: 3, operations: 2, partner_pg: 0, operations_pg: 0 },
    // The frame, then the page: every source's keys
    // merged by the database and the page's rows read with them, in one
    // statement (the holding-account suggestions come when the field is used);
    // on PostgreSQL the page view's connection is the plan-stable pool's,
    // where that statement runs on its generic plan without a transaction.
    Budget { page: "smart account orders, page 1", partner: 2, operations: 2, partner_pg: 0, operations_pg: 0 },
    Budget { page: "smart account orders, next page", partner: 2, operations: 2, partner_pg: 0, operations_pg: 0 },
    Budget { page: "smart account orders, fragment", partner: 2, operations: 2, partner_pg: 0, operations_pg: 0 },
    // The frame, the order with the names of its company, its author and the
    // reseller it was handed to, whether it has support cases, and the
    // accounts and VAs it names, then its lines with theirs (read once: what
    // sight judges by and what the page shows); its cases only when it has
    // any, the catalogue only while items can be added.
    Budget { page: "order page", partner: 3, operations: 3, partner_pg: 0, operations_pg: 0 },
    // A search: the frame, then the matches by name and by domain identifier
    // in one statement (for a partner, in each place its accounts come from),
    // and their virtual accounts; an assignment search also reads the order
    // with its lines' assignments (what sight judges by) in one statement,
    // and looks for private virtual accounts of the exact name with the
    // found accounts' public ones, in one statement. The
    // assignment search is read on the plan-stable pool, where operations'
    // search of every account asks for a plan for its prefix in a
    // transaction; the account search is not, and there a partner's union
    // runs in a transaction for its generic plan.
    Budget { page: "account search fragment", partner: 4, operations: 4, partner_pg: 0, operations_pg: 0 },
    Budget { page: "assignment search fragment, customer", partner: 4, operations: 4, partner_pg: 0, operations_pg: 2 },
    Budget { page: "assignment search fragment, holding", partner: 4, operations: 4, partner_pg: 0, operations_pg: 2 },
    // The frame, a page of accounts, then the page's accounts with their
    // roles, VAs, batches, consumption, products, tokens and devices, each
    // read once for the whole page.
    Budget { page: "licenses", partner: 10, operations: 2, partner_pg: 0, operations_pg: 0 },
    Budget { page: "your accounts", partner: 3, operations: 3, partner_pg: 0, operations_pg: 0 },
];

/// Waits until no statement has run for a while (start-up, the workers' first round).
async fn quiet(app: &TestApp) {
    let mut last = app.statements.load(Ordering::SeqCst);
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = app.statements.load(Ordering::SeqCst);
        if now == last {
            return;
        }
        last = now;
    }
}

/// The statements one GET runs, and its body (the status must be 200).
async fn measure(app: &TestApp, path: &str, htmx: bool) -> (u64, String) {
    let before = app.statements.load(Ordering::SeqCst);
    let mut request = app.client.get(app.url(path));
    if htmx {
        request = request.header("HX-Request", "true");
    }
    let resp = request.send().await.expect("GET");
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap();
    let after = app.statements.load(Ordering::SeqCst);
    assert_eq!(status, 200, "{path}");
    (after - before, body)
}

/// `n` more accounts (half of them the reseller's, half the distributor's,
/// half holding accounts, each with its default VA, one in ten administered
/// by the reseller's user) and `n` more Not Assigned orders of the reseller
/// parked in its holding account. Returns that holding account.
fn grow(app: &TestApp, n: usize) -> i64 {
    let mut conn = app.conn();
    let company =
        |name: &str| -> i64 { companies::table.filter(companies::name.eq(name)).select(companies::id).first(&mut *app.conn()).unwrap() };
    let (contoso, northwind) = (company("Contoso Resellers"), company("Northwind Distribution"));
    let carlos: i64 = users::table.filter(users::email.eq("carlos@contoso.example")).select(users::id).first(&mut conn).unwrap();
    let holding: i64 = account_roles::table
        .inner_join(smart_accounts::table)
        .filter(account_roles::user_id.eq(carlos))
        .filter(smart_accounts::kind.eq("holding"))
        .filter(account_roles::role.eq_any(["sa_administrator", "sa_user"]))
        .select(smart_accounts::id)
        .order(smart_accounts::id)
        .first(&mut conn)
        .unwrap();
    let holding_key: String = smart_accounts::table.find(holding).select(smart_accounts::name_key).first(&mut conn).unwrap();
    let product: i64 = products::table.select(products::id).order(products::id).first(&mut conn).unwrap();
    let mut sql = String::from(
        "INSERT INTO smart_accounts (name, name_key, domain, kind, status, owner_company_id, requested_by, approver_email, \
         domain_edited, created_at, version) VALUES ",
    );
    for i in 0..n {
        let kind = if i % 2 == 0 { "holding" } else { "customer" };
        let owner = if i % 4 < 2 { contoso } else { northwind };
        let sep = if i > 0 { "," } else { "" };
        sql.push_str(&format!(
            "{sep}('Grown {i}', 'grown {i}', 'grown{i}.example', '{kind}', 'active', {owner}, {carlos}, 'a@grown{i}.example', FALSE, \
             '2026-11-01 00:00:00', 0)"
        ));
    }
    sql.push_str(
        "; INSERT INTO orders (company_id, created_by, name, end_customer_name, end_customer_domain, order_type, status, internal, \
         holding_account_id, holding_virtual_account_id, sales_order_number, created_at, submitted_at, booked_at, version, sa_rank, \
         waiting_since, assigned_at, end_customer_key, holding_name_key) VALUES ",
    );
    for i in 0..n {
        let sep = if i > 0 { "," } else { "" };
        let day = 1 + i % 20;
        sql.push_str(&format!(
            "{sep}({contoso}, {carlos}, 'Grown order {i}', 'Grown Customer {i}', '', 'standard', 'booked', FALSE, {holding}, NULL, \
             'SO-9{i:05}', '2026-10-{day:02} 00:00:00', '2026-10-{day:02} 01:00:00', '2026-10-{day:02} 02:00:00', 0, 1, \
             '2026-10-{day:02} 01:00:00', NULL, 'grown customer {i}', '{holding_key}')"
        ));
    }
    sql.push_str(&format!(
        "; INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_price_cents) \
         SELECT id, 10, {product}, 2, 100 FROM orders WHERE name LIKE 'Grown order %'"
    ));
    // Every grown account has its default VA; the reseller's user
    // administers one in ten of them (their licenses are on the overview).
    sql.push_str(
        "; INSERT INTO virtual_accounts (smart_account_id, name, name_key, is_public, is_default, created_at) \
         SELECT id, 'DEFAULT', 'default', FALSE, TRUE, '2026-11-01 00:00:00' FROM smart_accounts WHERE name LIKE 'Grown %'",
    );
    let administered: Vec<String> = (0..n / 10).map(|i| format!("'Grown {i}'")).collect();
    sql.push_str(&format!(
        "; INSERT INTO account_roles (smart_account_id, user_id, role, partner_access, created_at) \
         SELECT id, {carlos}, 'sa_administrator', FALSE, '2026-11-01 00:00:00' FROM smart_accounts WHERE name IN ({})",
        administered.join(", ")
    ));
    conn.batch_execute(&sql).unwrap();
    holding
}

/// The statements of each page for `email`, every page measured twice (the counts must agree).
async fn pages(app: &TestApp, email: &str, password: &str, order: i64) -> BTreeMap<&'static str, u64> {
    let user = crate::helpers::TestApp { client: client(), ..app.clone_handle() };
    assert_eq!(user.sign_in(email, password).await.status().as_u16(), 303, "sign in as {email}");
    let (_, list) = measure(&user, "/smart-account-orders", false).await;
    let next = scraper::Html::parse_document(&list)
        .select(&scraper::Selector::parse("a[rel=next]").unwrap())
        .next()
        .and_then(|a| a.value().attr("href").map(str::to_string))
        .unwrap_or_else(|| panic!("{email}: page 1 links to a next page"));
    let paths: Vec<(&'static str, String, bool)> = vec![
        ("home", "/".into(), false),
        ("smart account orders, page 1", "/smart-account-orders".into(), false),
        ("smart account orders, next page", next.clone(), false),
        ("smart account orders, fragment", next, true),
        ("order page", format!("/orders/{order}"), false),
        ("account search fragment", "/accounts/search?q=gro".into(), true),
        ("assignment search fragment, customer", format!("/orders/{order}/assignment?target=order&q=gro"), true),
        ("assignment search fragment, holding", format!("/orders/{order}/assignment?target=holding&q=gro"), true),
        ("licenses", "/licenses".into(), false),
        ("your accounts", "/accounts".into(), false),
    ];
    quiet(app).await;
    let mut counts = BTreeMap::new();
    for (name, path, htmx) in paths {
        let (first, _) = measure(&user, &path, htmx).await;
        let (second, _) = measure(&user, &path, htmx).await;
        assert_eq!(first, second, "{email}, {name}: the same request runs the same statements");
        counts.insert(name, first);
    }
    counts
}

/// The first order `grow` parked in `holding`.
fn first_grown_order(app: &TestApp, holding: i64) -> i64 {
    portal::db::schema::orders::table
        .filter(portal::db::schema::orders::holding_account_id.eq(holding))
        .filter(portal::db::schema::orders::name.eq("Grown order 0"))
        .select(portal::db::schema::orders::id)
        .first(&mut app.conn())
        .unwrap()
}

/// Every page's counts at a given data size: (partner, operations).
async fn counts_at(backend: Backend, extra: usize) -> (BTreeMap<&'static str, u64>, BTreeMap<&'static str, u64>) {
    let app = spawn_app_with(backend, AppOptions { mail_poll_interval: "1h", ..AppOptions::default() }).await;
    let logins = portal::demo::seed(&mut app.conn(), &app.settings.base_url).expect("demo data");
    let password = |email: &str| logins.iter().find(|l| l.email == email).map(|l| l.password.clone()).unwrap();
    let holding = grow(&app, extra);
    let order = first_grown_order(&app, holding);
    quiet(&app).await;
    let partner = pages(&app, "carlos@contoso.example", &password("carlos@contoso.example"), order).await;
    let operations = pages(&app, "olga@ops.example", &password("olga@ops.example"), order).await;
    app.handle.stop(false).await;
    (partner, operations)
}

#[tokio::test]
async fn each_page_runs_a_few_statements_whatever_the_size_of_the_data() {
    for backend in backends() {
        let (partner_small, ops_small) = counts_at(backend, 60).await;
        let (partner_large, ops_large) = counts_at(backend, 240).await;
        eprintln!("{backend:?} statements per page, partner: {partner_small:?}");
        eprintln!("{backend:?} statements per page, operations: {ops_small:?}");
        assert_eq!(partner_small, partner_large, "{backend:?}: a partner's pages run as many statements at 60 as at 240 more orders");
        assert_eq!(ops_small, ops_large, "{backend:?}: operations' pages run as many statements at 60 as at 240 more orders");
        for b in BUDGETS {
            let (p, o) = (partner_small[b.page], ops_small[b.page]);
            let pg = backend == Backend::Postgres;
            let partner = b.partner + if pg { b.partner_pg } else { 0 };
            let operations = b.operations + if pg { b.operations_pg } else { 0 };
            assert!(p <= partner, "{backend:?}: a partner's {} ran {p} statements; the budget is {partner}", b.page);
            assert!(o <= operations, "{backend:?}: operations' {} ran {o} statements; the budget is {operations}", b.page);
        }
    }
}

/// Someone with hundreds of accounts and Not Assigned orders gets pages, not
/// everything at once: "your smart accounts" a page at a time in name order
/// (the next page continues where the first stopped), and the navigation's
/// count stops at 99+ while the list still starts with the oldest order.
#[tokio::test]
async fn long_lists_come_a_page_at_a_time_and_the_count_stops_at_99_plus() {
    for backend in backends() {
        let app = spawn_app_with(backend, AppOptions { mail_poll_interval: "1h", ..AppOptions::default() }).await;
        let logins = portal::demo::seed(&mut app.conn(), &app.settings.base_url).expect("demo data");
        let password = logins.iter().find(|l| l.email == "carlos@contoso.example").map(|l| l.password.clone()).unwrap();
        grow(&app, 240);
        assert_eq!(app.sign_in("carlos@contoso.example", &password).await.status().as_u16(), 303);
        let names = |html: &str| texts(html, "table caption ~ tbody td:first-child a");
        let first = app.get_text("/accounts").await;
        let page1 = names(&first);
        assert_eq!(page1.len() as i64, portal::domain::accounts::ACCOUNTS_PAGE, "{backend:?}: a page of accounts");
        let keys: Vec<String> = page1.iter().map(|n| n.to_lowercase()).collect();
        assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{backend:?}: in name order: {keys:?}");
        let next = scraper::Html::parse_document(&first)
            .select(&scraper::Selector::parse("a[rel=next]").unwrap())
            .next()
            .and_then(|a| a.value().attr("href").map(str::to_string))
            .expect("a next page");
        let page2 = names(&app.get_text(&next).await);
        assert!(!page2.is_empty(), "{backend:?}: the next page has accounts");
        assert!(page2.iter().all(|n| !page1.contains(n)), "{backend:?}: the next page continues after the first");
        assert!(page2[0].to_lowercase() >= keys[keys.len() - 1], "{backend:?}: in name order across pages");

        let list = app.get_text("/smart-account-orders").await;
        assert_eq!(texts(&list, "#not-assigned-count")[0], "99+ Not Assigned", "{backend:?}");
        let rows = texts(&list, "main table tbody tr");
        assert_eq!(rows.len(), 50, "{backend:?}: a full page of orders");
        assert!(rows.iter().all(|r| r.contains("Not Assigned")), "{backend:?}: Not Assigned first");
        app.handle.stop(false).await;
    }
}

/// The navigation's Not Assigned count is kept between pages: it is counted
/// again only after an order changes in a way a count looks at, or when the
/// person's roles change, and then it is right at once.
#[tokio::test]
async fn the_navigation_count_is_kept_until_an_order_or_a_role_changes() {
    for backend in backends() {
        let app = spawn_app_with(backend, AppOptions { mail_poll_interval: "1h", ..AppOptions::default() }).await;
        let crate::orders::Shop { world, northwind_holding } = crate::orders::shop(&app);
        crate::sa_orders::parked(&app, "carlos@contoso.example", world.contoso_holding, &["Acme Corp"], 2);
        let carlos = crate::helpers::TestApp { client: client(), ..app.clone_handle() };
        assert_eq!(carlos.sign_in("carlos@contoso.example", PASSWORD).await.status().as_u16(), 303);
        let badge = |html: &str| texts(html, "#not-assigned-count").first().cloned().unwrap_or_default();
        quiet(&app).await;
        let (counted, html) = measure(&carlos, "/profile", false).await;
        assert_eq!(badge(&html), "2 Not Assigned", "{backend:?}");
        let (kept, html) = measure(&carlos, "/profile", false).await;
        assert_eq!(badge(&html), "2 Not Assigned");
        // Not read again: the count, his roles and the VAs they cover.
        assert_eq!(kept, counted - 3, "{backend:?}: neither the kept count nor the roles it was counted for are read again");

        // An order handed to Contoso's holding account by Northwind: counted again, at once.
        crate::sa_orders::parked(&app, "nora@northwind.example", world.contoso_holding, &["Handed Over"], 1);
        quiet(&app).await;
        let (after_change, html) = measure(&carlos, "/profile", false).await;
        assert_eq!(badge(&html), "3 Not Assigned", "{backend:?}");
        assert_eq!(after_change, counted);
        assert_eq!(measure(&carlos, "/profile", false).await.0, kept, "kept again");

        // Nora parks one in her own holding account: not Carlos's work.
        crate::sa_orders::parked(&app, "nora@northwind.example", northwind_holding, &["Northwind Own"], 1);
        assert_eq!(badge(&measure(&carlos, "/profile", false).await.1), "3 Not Assigned");
        // A colleague sees Contoso's own orders; made SA User of Contoso's holding
        // account, also the order Northwind handed there: no order changes, yet
        // the count is his new one at once.
        app.create_user(
            "chris@contoso.example",
            "Chris Colleague",
            PASSWORD,
            "Contoso Resellers",
            portal::domain::company::CompanyKind::Reseller,
        );
        let chris = crate::helpers::TestApp { client: client(), ..app.clone_handle() };
        assert_eq!(chris.sign_in("chris@contoso.example", PASSWORD).await.status().as_u16(), 303);
        assert_eq!(badge(&chris.get_text("/profile").await), "2 Not Assigned", "{backend:?}");
        assert_eq!(badge(&chris.get_text("/profile").await), "2 Not Assigned");
        {
            let carlos_id: i64 =
                users::table.filter(users::email.eq("carlos@contoso.example")).select(users::id).first(&mut *app.conn()).unwrap();
            let carlos_actor = portal::domain::Actor::load(&mut app.conn(), carlos_id).unwrap().unwrap();
            let role = portal::domain::accounts::administration::RoleInput {
                email: "chris@contoso.example".into(),
                role: "sa_user".into(),
                virtual_accounts: vec![],
                acknowledged: false,
            };
            portal::domain::accounts::administration::add_user(
                &mut app.conn(),
                &carlos_actor,
                world.contoso_holding,
                &role,
                false,
                &app.settings.base_url,
            )
            .unwrap();
        }
        assert_eq!(badge(&chris.get_text("/profile").await), "3 Not Assigned", "{backend:?}: his new role counts at once");
        let list = chris.get_text("/smart-account-orders").await;
        assert!(list.contains("Handed Over"), "{backend:?}: and the list shows what it lets him see");
        assert_eq!(badge(&chris.get_text("/profile").await), "3 Not Assigned", "{backend:?}: kept again");

        // The role taken away, by whatever path: the kept count and what he
        // sees end at once.
        let chris_id: i64 =
            users::table.filter(users::email.eq("chris@contoso.example")).select(users::id).first(&mut *app.conn()).unwrap();
        diesel::delete(account_roles::table.filter(account_roles::user_id.eq(chris_id))).execute(&mut *app.conn()).unwrap();
        let list = chris.get_text("/smart-account-orders").await;
        assert_eq!(badge(&list), "2 Not Assigned", "{backend:?}: the role gone");
        assert!(!list.contains("Handed Over"), "{backend:?}: no longer listed for him");
    }
}

/// Runs `sql` in a transaction held open on a connection of its own; the
/// returned function commits it.
fn held_open(app: &TestApp, sql: String) -> impl FnOnce() {
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let (started, is_started) = std::sync::mpsc::channel::<()>();
    let mut held = app.conn();
    let thread = std::thread::spawn(move || {
        held.batch_execute("BEGIN").unwrap();
        held.batch_execute(&sql).unwrap();
        started.send(()).unwrap();
        wait.recv().unwrap();
        held.batch_execute("COMMIT").unwrap();
    });
    is_started.recv().unwrap();
    move || {
        go.send(()).unwrap();
        thread.join().unwrap();
    }
}

#[tokio::test]
async fn a_change_committed_late_with_an_older_id_still_ends_the_kept_count() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let crate::orders::Shop { world, .. } = crate::orders::shop(&app);
        let ids = crate::sa_orders::parked(&app, "carlos@contoso.example", world.contoso_holding, &["Acme Corp"], 3);
        let carlos = crate::helpers::TestApp { client: client(), ..app.clone_handle() };
        assert_eq!(carlos.sign_in("carlos@contoso.example", PASSWORD).await.status().as_u16(), 303);
        let badge = |html: &str| texts(html, "#not-assigned-count").first().cloned().unwrap_or_default();
        assert_eq!(badge(&carlos.get_text("/profile").await), "3 Not Assigned");
        if backend != Backend::Postgres {
            // SQLite commits one writer at a time: the case cannot arise there.
            continue;
        }
        // Carlos in a second browser, whose session has seen the count before X began.
        let other = crate::helpers::TestApp { client: client(), ..app.clone_handle() };
        assert_eq!(other.sign_in("carlos@contoso.example", PASSWORD).await.status().as_u16(), 303);
        assert_eq!(badge(&other.get_text("/profile").await), "3 Not Assigned");
        // X: order 0 leaves the count (rank 2, as if assigned), held open.
        let commit_x = held_open(&app, format!("UPDATE orders SET sa_rank = 2 WHERE id = {}", ids[0]));
        // Y: order 1 leaves the count too, committed first, with a newer change id.
        app.conn().batch_execute(&format!("UPDATE orders SET sa_rank = 2 WHERE id = {}", ids[1])).unwrap();
        assert_eq!(badge(&carlos.get_text("/profile").await), "2 Not Assigned", "Y seen, X not yet committed");
        commit_x();
        // The second browser's session was not there when X was seen in
        // progress: it asks about X on its own, and counts again.
        assert_eq!(badge(&other.get_text("/profile").await), "1 Not Assigned", "X committed late: counted again");
        assert_eq!(badge(&carlos.get_text("/profile").await), "1 Not Assigned");
    }
}

/// A session whose kept count waits on a transaction asks about it in the
/// statement that reads the session: when it commits, the next page counts
/// again, with no statement more than a first count.
#[tokio::test]
async fn a_change_committed_late_is_asked_about_with_the_session() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let app = spawn_app_with(Backend::Postgres, AppOptions { mail_poll_interval: "1h", ..AppOptions::default() }).await;
    let crate::orders::Shop { world, .. } = crate::orders::shop(&app);
    let ids = crate::sa_orders::parked(&app, "carlos@contoso.example", world.contoso_holding, &["Acme Corp"], 3);
    let carlos = crate::helpers::TestApp { client: client(), ..app.clone_handle() };
    assert_eq!(carlos.sign_in("carlos@contoso.example", PASSWORD).await.status().as_u16(), 303);
    let badge = |html: &str| texts(html, "#not-assigned-count").first().cloned().unwrap_or_default();
    quiet(&app).await;
    let (counted, html) = measure(&carlos, "/profile", false).await;
    assert_eq!(badge(&html), "3 Not Assigned");
    let commit_x = held_open(&app, format!("UPDATE orders SET sa_rank = 2 WHERE id = {}", ids[0]));
    app.conn().batch_execute(&format!("UPDATE orders SET sa_rank = 2 WHERE id = {}", ids[1])).unwrap();
    let (again, html) = measure(&carlos, "/profile", false).await;
    assert_eq!(badge(&html), "2 Not Assigned", "Y seen, X in progress");
    assert_eq!(again, counted);
    let (kept, html) = measure(&carlos, "/profile", false).await;
    assert_eq!(badge(&html), "2 Not Assigned", "X still in progress: kept");
    assert_eq!(kept, counted - 3, "nothing read again while X is in progress");
    commit_x();
    let (late, html) = measure(&carlos, "/profile", false).await;
    assert_eq!(badge(&html), "1 Not Assigned", "X committed late: counted again");
    assert_eq!(late, counted, "X asked about with the session, not on its own");
}

/// A bulk move writes its orders a chunk at a time: moving twelve orders
/// runs as many statements as moving two, on both backends, and moves them.
#[tokio::test]
async fn a_bulk_move_runs_the_same_statements_for_two_orders_as_for_twelve() {
    use portal::domain::orders::assignment::{self, BulkTarget, Seen};
    for backend in backends() {
        let app = spawn_app_with(backend, AppOptions { mail_poll_interval: "1h", ..AppOptions::default() }).await;
        let crate::orders::Shop { world, .. } = crate::orders::shop(&app);
        let few = crate::sa_orders::parked(&app, "carlos@contoso.example", world.contoso_holding, &["Few Co"], 2);
        let many = crate::sa_orders::parked(&app, "carlos@contoso.example", world.contoso_holding, &["Many Co"], 12);
        let carlos = {
            let mut conn = app.conn();
            let id: i64 = users::table.filter(users::email.eq("carlos@contoso.example")).select(users::id).first(&mut conn).unwrap();
            portal::domain::Actor::load(&mut conn, id).unwrap().unwrap()
        };
        quiet(&app).await;
        let run = |orders: &[i64]| -> u64 {
            let mut conn = app.conn();
            let seen: Vec<(i64, Seen)> = orders
                .iter()
                .map(|id| {
                    let v: i32 =
                        portal::db::schema::orders::table.find(*id).select(portal::db::schema::orders::version).first(&mut conn).unwrap();
                    (*id, Seen::Version(v))
                })
                .collect();
            let before = app.statements.load(Ordering::SeqCst);
            let to = BulkTarget::Customer { account: world.metalworks, va: None };
            let summary = assignment::bulk_reassign(&mut conn, &carlos, &seen, to, "http://portal.test").unwrap();
            let after = app.statements.load(Ordering::SeqCst);
            assert_eq!(summary.moved.len(), orders.len(), "{backend:?}: {:?}", summary.refused);
            after - before
        };
        let (two, twelve) = (run(&few), run(&many));
        assert_eq!(two, twelve, "{backend:?}: a bulk move's statements do not grow with its orders");
        assert!(two <= 16, "{backend:?}: {two} statements for a bulk move");
        for id in few.iter().chain(&many) {
            let account: Option<i64> = portal::db::schema::order_lines::table
                .filter(portal::db::schema::order_lines::order_id.eq(id))
                .select(portal::db::schema::order_lines::account_id)
                .first(&mut *app.conn())
                .unwrap();
            assert_eq!(account, Some(world.metalworks), "{backend:?}");
        }
    }
}

/// The connection's `plan_cache_mode`.
fn mode(conn: &mut portal::db::DbConnection) -> String {
    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        v: String,
    }
    diesel::sql_query("SELECT current_setting('plan_cache_mode') AS v").get_result::<Setting>(conn).unwrap().v
}

/// The generic plan the partner's search asks PostgreSQL for lasts as long as
/// its own transaction: the connection goes back to the pool planning as usual.
#[tokio::test]
async fn the_generic_plan_ends_with_its_transaction() {
    let app = spawn_app(Backend::Postgres).await;
    let mut conn = app.conn();
    let inside = portal::db::with_generic_plan(&mut conn, |c| Ok(mode(c))).unwrap();
    assert_eq!(inside, "force_generic_plan");
    assert_eq!(mode(&mut conn), "auto", "after its transaction");
    let failed: diesel::QueryResult<()> = portal::db::with_generic_plan(&mut conn, |_| Err(diesel::result::Error::RollbackTransaction));
    assert!(failed.is_err());
    assert_eq!(mode(&mut conn), "auto", "after a failed one too");
}

/// The plan-stable pool's connections run every statement on its generic
/// plan from the moment they open, so `with_generic_plan` needs no
/// transaction there (one statement, not three); the main pool's keep
/// PostgreSQL's own choice. SQLite has no such pool.
#[tokio::test]
async fn the_plan_stable_pool_plans_generically_without_a_transaction() {
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sqlite = TestDb::new(Backend::Sqlite);
    assert!(portal::db::build_plan_stable_pool(&sqlite.url, 2, counter.clone()).unwrap().is_none());
    let app = spawn_app(Backend::Postgres).await;
    let stable = portal::db::build_plan_stable_pool(&app.db.url, 2, counter).unwrap().expect("a pool on PostgreSQL");
    let mut conn = stable.get().unwrap();
    let before = portal::db::statements_on(&mut conn);
    let inside = portal::db::with_generic_plan(&mut conn, |c| Ok(mode(c))).unwrap();
    assert_eq!(inside, "force_generic_plan");
    assert_eq!(portal::db::statements_on(&mut conn) - before, 1, "no BEGIN, SET LOCAL or COMMIT");
    assert_eq!(mode(&mut conn), "force_generic_plan", "for every statement of the connection");
    let mut main = app.conn();
    let before = portal::db::statements_on(&mut main);
    assert_eq!(portal::db::with_generic_plan(&mut main, |c| Ok(mode(c))).unwrap(), "force_generic_plan");
    assert_eq!(portal::db::statements_on(&mut main) - before, 3, "the main pool's connection asks in a transaction");
    assert_eq!(mode(&mut main), "auto");
}

/// On the plan-stable pool, a statement whose plan depends on its values asks
/// for a plan of its own in a transaction, which ends with it: the
/// connection goes back to the generic plans. Elsewhere it runs as it is.
#[tokio::test]
async fn a_custom_plan_on_the_plan_stable_pool_lasts_as_long_as_its_transaction() {
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let app = spawn_app(Backend::Postgres).await;
    let stable = portal::db::build_plan_stable_pool(&app.db.url, 2, counter).unwrap().expect("a pool on PostgreSQL");
    let mut conn = stable.get().unwrap();
    let before = portal::db::statements_on(&mut conn);
    assert_eq!(portal::db::with_custom_plan(&mut conn, |c| Ok(mode(c))).unwrap(), "force_custom_plan");
    assert_eq!(portal::db::statements_on(&mut conn) - before, 3, "BEGIN and SET LOCAL, the statement, COMMIT");
    assert_eq!(mode(&mut conn), "force_generic_plan", "after its transaction");
    let failed: diesel::QueryResult<()> = portal::db::with_custom_plan(&mut conn, |_| Err(diesel::result::Error::RollbackTransaction));
    assert!(failed.is_err());
    assert_eq!(mode(&mut conn), "force_generic_plan", "after a failed one too");
    let mut main = app.conn();
    let before = portal::db::statements_on(&mut main);
    assert_eq!(portal::db::with_custom_plan(&mut main, |c| Ok(mode(c))).unwrap(), "auto", "the main pool chooses per call");
    assert_eq!(portal::db::statements_on(&mut main) - before, 1, "no transaction there");
}

/// On PostgreSQL, Smart Account Orders, the order page and its assignment
/// search are read on the plan-stable pool's connections (named in
/// `pg_stat_activity`), which open only when such a page is first asked
/// for; other pages keep the main pool.
#[tokio::test]
async fn the_list_the_order_page_its_search_and_the_license_pages_are_read_on_the_plan_stable_pool() {
    #[derive(diesel::QueryableByName)]
    struct Backends {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let app = spawn_app_with(Backend::Postgres, AppOptions { mail_poll_interval: "1h", ..AppOptions::default() }).await;
    let logins = portal::demo::seed(&mut app.conn(), &app.settings.base_url).expect("demo data");
    let password = logins.iter().find(|l| l.email == "carlos@contoso.example").map(|l| l.password.clone()).unwrap();
    let holding = grow(&app, 10);
    let order = first_grown_order(&app, holding);
    let plan_stable = |last: &str| -> i64 {
        diesel::sql_query(
            "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 \
             AND query LIKE $2",
        )
        .bind::<diesel::sql_types::Text, _>(portal::db::PLAN_STABLE_NAME)
        .bind::<diesel::sql_types::Text, _>(format!("%{last}%"))
        .get_result::<Backends>(&mut app.conn())
        .unwrap()
        .n
    };
    assert_eq!(app.sign_in("carlos@contoso.example", &password).await.status().as_u16(), 303);
    for path in ["/", "/accounts", "/profile"] {
        assert_eq!(app.get(path).await.status().as_u16(), 200, "{path}");
    }
    assert_eq!(plan_stable(""), 0, "no page so far asked for the plan-stable pool");
    assert_eq!(app.get("/licenses").await.status().as_u16(), 200);
    assert!(plan_stable("") >= 1, "the license manager read on the plan-stable pool");
    assert_eq!(app.get(&format!("/orders/{order}")).await.status().as_u16(), 200);
    assert!(plan_stable("") >= 1, "the order page read on the plan-stable pool");
    assert_eq!(app.get("/smart-account-orders").await.status().as_u16(), 200);
    assert!(plan_stable("\"sa_rank\"") >= 1, "the list read on the plan-stable pool");
    let search = app
        .client
        .get(app.url(&format!("/orders/{order}/assignment?target=holding&q=grown")))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(search.status().as_u16(), 200);
    assert!(search.text().await.unwrap().contains("Grown 0"), "the search found the partner's holding account");
    assert!(plan_stable("\"is_default\"") >= 1, "the assignment search read on the plan-stable pool, its VAs last");
}

/// The change rows behind the kept counts are pruned once a day old, all but
/// the newest; a recent row stays, and so does the newest however old.
#[tokio::test]
async fn old_worklist_changes_are_pruned_but_never_the_newest() {
    use portal::db::schema::worklist_changes;
    for backend in backends() {
        let app = spawn_app_with(backend, AppOptions { mail_poll_interval: "1h", ..AppOptions::default() }).await;
        let mut conn = app.conn();
        let old = (portal::db::now() - chrono::Duration::hours(portal::domain::orders::kept_counts::PRUNE_AFTER_HOURS + 1))
            .format("%Y-%m-%d %H:%M:%S");
        let recent = (portal::db::now() - chrono::Duration::hours(1)).format("%Y-%m-%d %H:%M:%S");
        let ids = |conn: &mut portal::db::DbConnection| -> Vec<i64> {
            worklist_changes::table.select(worklist_changes::id).order(worklist_changes::id).load(conn).unwrap()
        };
        conn.batch_execute(&format!(
            "DELETE FROM worklist_changes; INSERT INTO worklist_changes (changed_at) VALUES ('{old}'), ('{old}'), ('{old}'), \
             ('{recent}'), ('{recent}')"
        ))
        .unwrap();
        let all = ids(&mut conn);
        assert_eq!(portal::domain::orders::kept_counts::prune(&mut conn).unwrap(), 3, "{backend:?}");
        assert_eq!(ids(&mut conn), all[3..].to_vec(), "{backend:?}: the recent rows stay");
        assert_eq!(portal::domain::orders::kept_counts::prune(&mut conn).unwrap(), 0, "{backend:?}: nothing more");

        conn.batch_execute(&format!("DELETE FROM worklist_changes; INSERT INTO worklist_changes (changed_at) VALUES ('{old}'), ('{old}')"))
            .unwrap();
        let all = ids(&mut conn);
        assert_eq!(portal::domain::orders::kept_counts::prune(&mut conn).unwrap(), 1, "{backend:?}");
        assert_eq!(ids(&mut conn), vec![all[1]], "{backend:?}: the newest stays, however old");
        drop(conn);
        app.handle.stop(false).await;
    }
}

/// The sequential scans of `table` in the current PostgreSQL transaction so far.
fn sequential_scans(conn: &mut portal::db::DbConnection, table: &str) -> i64 {
    #[derive(QueryableByName)]
    struct Scans {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT COALESCE(SUM(seq_scan), 0)::bigint AS n FROM pg_stat_xact_user_tables WHERE relname = $1")
        .bind::<diesel::sql_types::Text, _>(table)
        .get_result::<Scans>(conn)
        .unwrap()
        .n
}

/// The statement that checks each session and reads its moment keeps to
/// indexes whatever plan PostgreSQL keeps for it: planned without its values
/// (the generic plan it may choose after five runs), asking about
/// transactions or not, it never reads the worklist's change rows one by one.
#[tokio::test]
async fn the_session_statement_scans_no_table_in_its_generic_plan() {
    use portal::domain::identity::sessions;
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let app = spawn_app(Backend::Postgres).await;
    crate::orders::shop(&app);
    let mut conn = app.conn();
    conn.batch_execute(
        "INSERT INTO worklist_changes (changed_at) SELECT now() AT TIME ZONE 'UTC' FROM generate_series(1, 100000); \
         ANALYZE worklist_changes",
    )
    .unwrap();
    let user: portal::db::models::user::User = users::table.filter(users::email.eq("carlos@contoso.example")).first(&mut conn).unwrap();
    let token = sessions::start(&mut conn, &user, &sessions::Client::default(), &app.settings.base_url).unwrap();
    conn.batch_execute("BEGIN; SET LOCAL plan_cache_mode = force_generic_plan").unwrap();
    for asked in [vec![], vec![7, 8, 9]] {
        let found = sessions::lookup_without_writing(&mut conn, &token, asked).unwrap();
        assert!(matches!(found, Ok(Some(_))), "the session is open");
    }
    let scans = sequential_scans(&mut conn, "worklist_changes");
    conn.batch_execute("COMMIT").unwrap();
    assert_eq!(scans, 0, "sequential scans of the change rows");
}

/// An assignment search reads virtual accounts only through indexes on its
/// generic plans (the plan-stable pool's), even when most VAs share a few
/// names (each account's DEFAULT, Lab and Production): the exact-name
/// lookup of a private VA must not walk every VA.
#[tokio::test]
async fn the_assignment_search_scans_no_virtual_accounts_in_its_generic_plans() {
    use portal::domain::roles::AccountKind;
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let app = spawn_app_with(Backend::Postgres, AppOptions { mail_poll_interval: "1h", ..AppOptions::default() }).await;
    portal::demo::seed(&mut app.conn(), &app.settings.base_url).expect("demo data");
    let mut conn = app.conn();
    let carlos: i64 = users::table.filter(users::email.eq("carlos@contoso.example")).select(users::id).first(&mut conn).unwrap();
    conn.batch_execute(&format!(
        "INSERT INTO smart_accounts (name, name_key, domain, kind, status, owner_company_id, requested_by, approver_email, \
         domain_edited, created_at, version) \
         SELECT 'Many ' || g, 'many ' || g, 'many' || g || '.example', 'customer', 'active', NULL, {carlos}, 'a@many.example', \
         FALSE, '2026-11-01 00:00:00', 0 FROM generate_series(1, 20000) AS g; \
         INSERT INTO virtual_accounts (smart_account_id, name, name_key, is_public, is_default, created_at) \
         SELECT a.id, v.name, lower(v.name), TRUE, v.name = 'DEFAULT', '2026-11-01 00:00:00' FROM smart_accounts AS a \
         CROSS JOIN (VALUES ('DEFAULT'), ('Lab'), ('Production')) AS v (name) WHERE a.name LIKE 'Many %'; \
         ANALYZE smart_accounts; ANALYZE virtual_accounts"
    ))
    .unwrap();
    let olga: i64 = users::table.filter(users::email.eq("olga@ops.example")).select(users::id).first(&mut conn).unwrap();
    conn.batch_execute("BEGIN; SET LOCAL plan_cache_mode = force_generic_plan").unwrap();
    for user in [carlos, olga] {
        let actor = portal::domain::Actor::load(&mut conn, user).unwrap().unwrap();
        for (kind, q) in [(AccountKind::Customer, "default"), (AccountKind::Customer, "many 1"), (AccountKind::Holding, "ab")] {
            portal::domain::orders::assignment::search(&mut conn, &actor, kind, q).unwrap();
        }
    }
    let scans = sequential_scans(&mut conn, "virtual_accounts");
    conn.batch_execute("COMMIT").unwrap();
    assert_eq!(scans, 0, "sequential scans of the virtual accounts");
}

/// A VA's devices and tokens pages read their frame (the page's frame, the
/// account with the user's role on it, the VAs whose licenses they see) and
/// their own rows (a page of devices and the VA's open shortages; the VA's
/// tokens): a few statements whatever the number of devices and license
/// batches, and not the account's license figures, which they do not show.
#[tokio::test]
async fn a_vas_devices_and_tokens_pages_run_a_few_statements_whatever_the_number_of_devices() {
    use portal::db::schema::virtual_accounts;
    for backend in backends() {
        let app = spawn_app_with(backend, AppOptions { mail_poll_interval: "1h", ..AppOptions::default() }).await;
        let logins = portal::demo::seed(&mut app.conn(), &app.settings.base_url).expect("demo data");
        let email = "maya@metalworks.example";
        let password = logins.iter().find(|l| l.email == email).map(|l| l.password.clone()).unwrap();
        let (account, va): (i64, i64) = virtual_accounts::table
            .inner_join(smart_accounts::table)
            .filter(smart_accounts::name.eq("Metalworks Inc."))
            .filter(virtual_accounts::name.eq("Production"))
            .select((smart_accounts::id, virtual_accounts::id))
            .first(&mut app.conn())
            .unwrap();
        let product: i64 = products::table.filter(products::sku.eq("SL-DNA-ADV-3Y")).select(products::id).first(&mut app.conn()).unwrap();
        quiet(&app).await;
        let user = crate::helpers::TestApp { client: client(), ..app.clone_handle() };
        assert_eq!(user.sign_in(email, &password).await.status().as_u16(), 303);
        let path = format!("/accounts/{account}/licenses/va/{va}/devices");
        let rows = |html: &str| texts(html, "table tbody tr").len();
        measure(&user, &path, false).await;
        let tokens = format!("/accounts/{account}/licenses/va/{va}/tokens");
        measure(&user, &tokens, false).await;
        let (tokens_few, _) = measure(&user, &tokens, false).await;
        let (few, html) = measure(&user, &path, false).await;
        let shown = rows(&html);
        assert!(shown < 50, "{backend:?}: the demo has fewer devices than a page");

        let mut sql = String::new();
        for i in 0..120 {
            sql.push_str(&format!(
                "INSERT INTO devices (smart_account_id, virtual_account_id, name, name_key, product_id, license_name, licenses, secret_hash, registered_at, last_contact_at) \
                 VALUES ({account}, {va}, 'grown-{i:03}', 'grown-{i:03}', {product}, 'DNA Advantage', 1, 'x{i}', '2026-11-01 00:00:00', '2026-11-20 00:00:00'); \
                 INSERT INTO licenses (smart_account_id, virtual_account_id, license_name, quantity, in_use, created_at, claimed_at) \
                 VALUES ({account}, {va}, 'Grown product {i}', 5, 0, '2026-11-01 00:00:00', '2026-11-01 00:00:00');"
            ));
        }
        app.conn().batch_execute(&sql).unwrap();
        let (many, html) = measure(&user, &path, false).await;
        assert_eq!(rows(&html), 50, "{backend:?}: a full page of devices");
        assert_eq!(few, many, "{backend:?}: as many statements with {shown} devices as with 120 more");
        assert!(many <= 6, "{backend:?}: the devices page ran {many} statements; the budget is 6");
        let (tokens_many, _) = measure(&user, &tokens, false).await;
        assert_eq!(tokens_few, tokens_many, "{backend:?}: the tokens page, with {shown} devices and with 120 more");
        assert!(tokens_many <= 5, "{backend:?}: the tokens page ran {tokens_many} statements; the budget is 5");
    }
}
