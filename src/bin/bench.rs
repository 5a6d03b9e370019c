//! Benchmark with its own data generator: fills a database with many smart
//! accounts (each with a virtual account) and times the assignment search,
//! the way an operations user (all accounts) and a partner (its own) use it.
//!
//!   cargo run --release --bin bench -- --accounts 100000
//!   DATABASE_URL=postgres://postgres@127.0.0.1/bench cargo run --release --bin bench
//!
//! Reports p50 / p95 / max server-side time per search; the target is < 10 ms.
//!
//! Then it generates `--orders` orders (default 1,000,000; one smart-license
//! line each, four in ten Not Assigned in holding accounts) and times the
//! Smart Account Orders page (Not Assigned first) for a partner and for
//! operations while paging deep through the list, and a bulk move of 1,000
//! orders to a customer account. Targets: a page < 15 ms, the move < 2 s.
//!
//! Last, the license manager: `--devices` devices (default 100,000) and
//! `--license-lines` batches (1,000) in one account; the licenses page and
//! the devices page sorted by name, any page of it, under 15 ms; device
//! usage reports over HTTP (SQLite), at least 1,000 per second.

use std::time::Instant;

use clap::Parser;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use portal::db::{self, DbConnection};
use portal::domain::company::CompanyKind;
use portal::domain::orders::assignment;
use portal::domain::roles::AccountKind;
use portal::domain::{users, Actor};
use rand::{Rng, SeedableRng};

#[derive(Parser)]
struct Args {
    /// How many smart accounts to generate.
    #[arg(long, default_value_t = 100_000)]
    accounts: usize,
    /// Searches to time per scenario.
    #[arg(long, default_value_t = 300)]
    iterations: usize,
    /// How many orders to generate for the Smart Account Orders benchmark (0: skip).
    #[arg(long, default_value_t = 1_000_000)]
    orders: usize,
    /// Pages to walk through per list scenario.
    #[arg(long, default_value_t = 400)]
    pages: usize,
    /// Devices for the license manager benchmark (0: skip).
    #[arg(long, default_value_t = 100_000)]
    devices: usize,
    /// License lines (batches) in the license manager's account.
    #[arg(long, default_value_t = 1_000)]
    license_lines: usize,
    /// Device usage reports to send over HTTP (SQLite only; 0: skip).
    #[arg(long, default_value_t = 5_000)]
    reports: usize,
    /// Database to fill (default: a fresh SQLite file in a temporary folder).
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
}

const SYLLABLES: &[&str] = &[
    "ac", "bel", "cor", "dan", "el", "fab", "gra", "hol", "in", "jo", "kra", "lum", "met", "nor", "or", "pra", "qu", "ros", "sol", "tek",
    "ul", "vex", "wal", "xen", "yor", "zed",
];

fn name(rng: &mut rand::rngs::StdRng, i: usize) -> String {
    let a = SYLLABLES[rng.random_range(0..SYLLABLES.len())];
    let b = SYLLABLES[rng.random_range(0..SYLLABLES.len())];
    let c = SYLLABLES[rng.random_range(0..SYLLABLES.len())];
    let mut n = format!("{a}{b}{c} {i}");
    n[..1].make_ascii_uppercase();
    n
}

fn generate(conn: &mut DbConnection, count: usize) -> anyhow::Result<(Actor, Actor)> {
    let permit = users::console_permit();
    let ops = users::create_user(
        conn,
        &permit,
        "bench@ops.example",
        "Bench Ops",
        "benchmark password",
        "Vendor Operations",
        CompanyKind::Operations,
    )
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let partner = users::create_user(
        conn,
        &permit,
        "bench@partner.example",
        "Bench Partner",
        "benchmark password",
        "Bench Partner",
        CompanyKind::Reseller,
    )
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let start = Instant::now();
    db::transaction(conn, |conn| {
        for chunk_start in (0..count).step_by(500) {
            let end = (chunk_start + 500).min(count);
            let mut accounts = String::from(
                "INSERT INTO smart_accounts (name, name_key, domain, kind, status, owner_company_id, requested_by, approver_email, domain_edited, created_at, version) VALUES ",
            );
            for i in chunk_start..end {
                let n = name(&mut rng, i);
                let kind = if i % 5 == 0 { "holding" } else { "customer" };
                // Every 50th account belongs to the partner, so it has some to assign to.
                let owner = if i % 50 == 0 { partner.company_id.0 } else { ops.company_id.0 };
                let domain = format!("{}{i}.example", n.split(' ').next().unwrap_or("x").to_lowercase());
                if i > chunk_start {
                    accounts.push(',');
                }
                accounts.push_str(&format!(
                    "('{n}', '{}', '{domain}', '{kind}', 'active', {owner}, {}, 'a@{domain}', FALSE, '2026-11-23 00:00:00', 0)",
                    n.to_lowercase(),
                    ops.user_id.0
                ));
            }
            conn.batch_execute(&accounts)?;
        }
        conn.batch_execute(
            "INSERT INTO virtual_accounts (smart_account_id, name, name_key, description, is_public, is_default, created_at) \
             SELECT id, 'DEFAULT', 'default', '', TRUE, TRUE, '2026-11-23 00:00:00' FROM smart_accounts",
        )?;
        diesel::QueryResult::Ok(())
    })?;
    // PostgreSQL's index-only scans need the visibility map that (auto)vacuum keeps.
    match conn {
        DbConnection::Postgresql(_) => conn.batch_execute("VACUUM ANALYZE")?,
        DbConnection::Sqlite(_) => conn.batch_execute("ANALYZE")?,
    }
    println!("generated {count} accounts (and as many virtual accounts) in {:.1} s", start.elapsed().as_secs_f64());
    Ok((ops, partner))
}

fn report(label: &str, mut times: Vec<f64>) {
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p) as usize];
    println!("{label:<44} p50 {:>7.3} ms   p95 {:>7.3} ms   max {:>7.3} ms", pct(0.5), pct(0.95), times[times.len() - 1]);
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile_dir()?;
    let url = args.database_url.clone().unwrap_or_else(|| dir.join("bench.db").to_string_lossy().into_owned());
    // Generating a million rows takes longer than the portal's statement timeout.
    let url = if db::Backend::of_url(&url) == db::Backend::Postgres && !url.contains("options=") {
        format!("{url}{}options=-c%20statement_timeout%3D0", if url.contains('?') { "&" } else { "?" })
    } else {
        url
    };
    let pool = db::build_pool(&url, 2)?;
    let mut conn = pool.get()?;
    db::run_migrations(&mut conn)?;
    let (ops, partner) = generate(&mut conn, args.accounts)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for (label, actor) in [("operations (all accounts), name prefix", &ops), ("partner (own accounts), name prefix", &partner)] {
        let mut times = Vec::new();
        for _ in 0..args.iterations {
            let q: String = SYLLABLES[rng.random_range(0..SYLLABLES.len())].chars().take(rng.random_range(1..=2)).collect();
            let t = Instant::now();
            let found = assignment::search(&mut conn, actor, AccountKind::Customer, &q)?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            assert!(found.len() <= 20);
        }
        report(label, times);
    }
    let mut times = Vec::new();
    for _ in 0..args.iterations {
        let i = rng.random_range(0..args.accounts);
        let q = format!("{}{}", SYLLABLES[rng.random_range(0..SYLLABLES.len())], i % 10);
        let t = Instant::now();
        assignment::search(&mut conn, &ops, AccountKind::Holding, &q)?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    report("operations, holding accounts, mixed prefix", times);
    if args.orders > 0 {
        bench_orders(&mut conn, &ops, &partner, &args)?;
    }
    if args.devices > 0 {
        drop(conn);
        bench_licenses(&pool, &url, &partner, &args)?;
    }
    Ok(())
}

/// The license manager at scale: one customer account with `--license-lines`
/// batches over 11 VAs and `--devices` devices (nine in ten in one VA). Times
/// the licenses page (all VAs and one VA), the devices page sorted by name
/// (walked page by page, and jumps deep into it) and a name search; then
/// sends `--reports` usage reports over HTTP to a portal started on the same
/// database, each report its own transaction.
fn bench_licenses(pool: &db::Pool, url: &str, partner: &Actor, args: &Args) -> anyhow::Result<()> {
    use portal::domain::accounts::administration::{self as admin, VirtualAccountInput};
    use portal::domain::accounts::request;
    use portal::domain::licenses::{self, devices};
    let mut conn = pool.get()?;
    let conn = &mut *conn;
    portal::domain::catalogue::seed(conn)?;
    let start = Instant::now();
    let account = request::create_active(
        conn,
        &users::console_permit(),
        partner,
        "Bench Devices Inc.",
        "bench-devices.example",
        AccountKind::Customer,
    )
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    admin::accept_agreement(conn, partner, account).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut vas = Vec::new();
    for i in 0..10 {
        let input = VirtualAccountInput { name: format!("Region {i:02}"), description: String::new(), visibility: "public".into() };
        vas.push(admin::create_virtual_account(conn, partner, account, &input).map_err(|e| anyhow::anyhow!("{e:?}"))?.0);
    }
    let big = vas[0];
    let product: i64 = {
        use portal::db::schema::products;
        products::table.filter(products::sku.eq("SL-DNA-ADV-3Y")).select(products::id).first(conn)?
    };
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(b"dev_bench_secret"))
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(23);
    db::transaction(conn, |conn| {
        for chunk in (0..args.license_lines).collect::<Vec<_>>().chunks(500) {
            let values: Vec<String> = chunk
                .iter()
                .map(|i| {
                    let name = if i % 4 == 0 { "DNA Advantage".to_string() } else { format!("Product {:02}", i % 40) };
                    format!(
                        "({account}, {}, '{name}', {}, 0, '2026-11-23 00:00:00', '2026-11-23 00:00:00')",
                        vas[i % vas.len()],
                        10 + i % 90
                    )
                })
                .collect();
            conn.batch_execute(&format!(
                "INSERT INTO licenses (smart_account_id, virtual_account_id, license_name, quantity, in_use, created_at, claimed_at) VALUES {}",
                values.join(",")
            ))?;
        }
        for chunk in (0..args.devices).collect::<Vec<_>>().chunks(1000) {
            let values: Vec<String> = chunk
                .iter()
                .map(|i| {
                    let va = if i % 10 == 0 { vas[1 + i % 9] } else { big };
                    let n = format!("{}-site-{:05}", SYLLABLES[rng.random_range(0..SYLLABLES.len())], i);
                    format!(
                        "({account}, {va}, '{n}', '{n}', {product}, 'DNA Advantage', {}, '{hash}', '2026-11-23 00:00:00', '2026-11-24 00:00:00')",
                        1 + i % 3
                    )
                })
                .collect();
            conn.batch_execute(&format!(
                "INSERT INTO devices (smart_account_id, virtual_account_id, name, name_key, product_id, license_name, licenses, secret_hash, registered_at, last_contact_at) VALUES {}",
                values.join(",")
            ))?;
        }
        // What the devices use, as their registrations would have kept it.
        conn.batch_execute(&format!(
            "INSERT INTO license_figures (smart_account_id, virtual_account_id, license_name, in_use) \
             SELECT smart_account_id, virtual_account_id, license_name, SUM(licenses) FROM devices \
             WHERE smart_account_id = {account} AND removed_at IS NULL GROUP BY smart_account_id, virtual_account_id, license_name \
             ON CONFLICT (virtual_account_id, license_name) DO UPDATE SET in_use = excluded.in_use"
        ))?;
        diesel::QueryResult::Ok(())
    })?;
    match conn {
        DbConnection::Postgresql(_) => conn.batch_execute("VACUUM ANALYZE")?,
        DbConnection::Sqlite(_) => conn.batch_execute("ANALYZE")?,
    }
    println!(
        "generated {} license lines and {} devices in one account in {:.1} s",
        args.license_lines,
        args.devices,
        start.elapsed().as_secs_f64()
    );
    let time = |n: usize, f: &mut dyn FnMut() -> anyhow::Result<()>| -> anyhow::Result<Vec<f64>> {
        let mut times = Vec::new();
        for _ in 0..n {
            let t = Instant::now();
            f()?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        Ok(times)
    };
    let e = |e: portal::domain::DomainError| anyhow::anyhow!("{e:?}");
    let t = time(50, &mut || licenses::view(conn, partner, account, None).map(|_| ()).map_err(e))?;
    report("licenses page, all VAs (1,000 lines, 100k devices)", t);
    let t = time(50, &mut || licenses::view(conn, partner, account, Some(big)).map(|_| ()).map_err(e))?;
    report("licenses page, the VA with 90k devices", t);
    let mut after: Option<String> = None;
    let mut walked = 0;
    let t = time(args.pages.min(400), &mut || {
        let page = devices::page(conn, partner, account, big, devices::DeviceSort::Name, "", after.as_deref()).map_err(e)?;
        walked += page.rows.len();
        after = page.next;
        Ok(())
    })?;
    report(&format!("devices page by name, walking ({walked} rows)"), t);
    let mut deep: Option<String> = None;
    let mut t = Vec::new();
    for _ in 0..50 {
        // Jump 1,000 rows further, as a link to a far page would, then time that page.
        deep = devices::page_of(conn, big, devices::DeviceSort::Name, "", deep.as_deref(), 1000).map_err(e)?.next;
        if deep.is_none() {
            break;
        }
        let start = Instant::now();
        devices::page(conn, partner, account, big, devices::DeviceSort::Name, "", deep.as_deref()).map_err(e)?;
        t.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    report("devices page by name, pages 1,000 rows apart", t);
    let t = time(50, &mut || {
        let q = SYLLABLES[rng.random_range(0..SYLLABLES.len())];
        devices::page(conn, partner, account, big, devices::DeviceSort::Name, q, None).map(|_| ()).map_err(e)
    })?;
    report("devices page, name search", t);
    let t =
        time(50, &mut || devices::page(conn, partner, account, big, devices::DeviceSort::LastContact, "", None).map(|_| ()).map_err(e))?;
    report("devices page by last contact", t);

    if args.reports > 0 && db::Backend::of_url(url) == db::Backend::Sqlite {
        let ids: Vec<i64> = {
            use portal::db::schema::devices as d;
            d::table.filter(d::virtual_account_id.eq(big)).order(d::id).limit(1000).select(d::id).load(conn)?
        };
        bench_reports(url, &ids, args.reports)?;
    }
    Ok(())
}

/// Starts the portal on the database and sends usage reports over HTTP from
/// four client threads; prints reports per second.
fn bench_reports(url: &str, ids: &[i64], total: usize) -> anyhow::Result<()> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let data = tempfile_dir()?.join("data");
    let vars: std::collections::HashMap<&str, String> = [
        ("DATABASE_URL", url.to_string()),
        ("DATA_DIR", data.to_string_lossy().into_owned()),
        ("BIND", format!("127.0.0.1:{port}")),
        ("DB_POOL_SIZE", "8".to_string()),
        ("RUST_LOG", "warn".to_string()),
    ]
    .into_iter()
    .collect();
    let settings = portal::config::Settings::from_lookup(|k| vars.get(k).cloned()).map_err(|e| anyhow::anyhow!("{e}"))?;
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = portal::startup::Application::build_with_listener(settings, listener, Some(2)).await.expect("portal starts");
            app.run_until_stopped().await.expect("portal runs");
        })
    });
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let threads = 4;
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (base, ids) = (base.clone(), ids.to_vec());
            std::thread::spawn(move || -> anyhow::Result<usize> {
                let mut ok = 0;
                for i in (t..total).step_by(threads) {
                    let id = ids[i % ids.len()];
                    let body = serde_json::json!({ "licenses": 1 + (i / ids.len()) % 3 });
                    let r =
                        portal::device_client::post_json(&base, &format!("/api/v1/devices/{id}/usage"), Some("dev_bench_secret"), &body)?;
                    if r.status == 200 {
                        ok += 1;
                    }
                }
                Ok(ok)
            })
        })
        .collect();
    let mut ok = 0;
    for h in handles {
        ok += h.join().map_err(|_| anyhow::anyhow!("client thread panicked"))??;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("device usage reports over HTTP: {ok} of {total} accepted in {secs:.2} s = {:.0} per second", ok as f64 / secs);
    Ok(())
}

/// Fills `orders` with one smart-license line each: the partner places one in
/// five, parked in its holding accounts; four in ten of all orders are Not
/// Assigned, waiting up to 60 days.
fn generate_orders(conn: &mut DbConnection, ops: &Actor, partner: &Actor, count: usize) -> anyhow::Result<i64> {
    let start = Instant::now();
    portal::domain::catalogue::seed(conn)?;
    use portal::db::schema::{products, smart_accounts};
    let product: i64 = products::table.filter(products::sku.eq("SL-DNA-ADV-3Y")).select(products::id).first(conn)?;
    let holdings: Vec<(i64, String, String)> = smart_accounts::table
        .filter(smart_accounts::owner_company_id.eq(partner.company_id.0))
        .filter(smart_accounts::kind.eq("holding"))
        .order(smart_accounts::id)
        .select((smart_accounts::id, smart_accounts::name, smart_accounts::name_key))
        .limit(3)
        .load(conn)?;
    let other_holdings: Vec<(i64, String, String)> = smart_accounts::table
        .filter(smart_accounts::owner_company_id.ne(partner.company_id.0))
        .filter(smart_accounts::kind.eq("holding"))
        .order(smart_accounts::id)
        .select((smart_accounts::id, smart_accounts::name, smart_accounts::name_key))
        .limit(500)
        .load(conn)?;
    // The partner's own customer account, where the bulk move goes, and its roles in its holding accounts.
    let customer = portal::domain::accounts::request::create_active(
        conn,
        &users::console_permit(),
        partner,
        "Bench Customer",
        "bench-customer.example",
        AccountKind::Customer,
    )
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    for (h, _, _) in &holdings {
        conn.batch_execute(&format!(
            "INSERT INTO account_roles (smart_account_id, user_id, role, partner_access, created_at) VALUES ({h}, {}, 'sa_user', FALSE, '2026-11-23 00:00:00')",
            partner.user_id.0
        ))?;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(23);
    let base = chrono::NaiveDate::from_ymd_opt(2026, 9, 20).unwrap().and_hms_opt(0, 0, 0).unwrap();
    db::transaction(conn, |conn| {
        for chunk_start in (0..count).step_by(1000) {
            let end = (chunk_start + 1000).min(count);
            let mut sql = String::from(
                "INSERT INTO orders (company_id, created_by, name, end_customer_name, end_customer_domain, order_type, status, internal, \
                 holding_account_id, holding_virtual_account_id, sales_order_number, created_at, submitted_at, booked_at, version, sa_rank, waiting_since, \
                 assigned_at, end_customer_key, holding_name_key, holding_name) VALUES ",
            );
            for i in chunk_start..end {
                let mine = i % 5 == 0;
                let (company, by) = if mine { (partner.company_id.0, partner.user_id.0) } else { (ops.company_id.0, ops.user_id.0) };
                let (holding, holding_name, holding_key) =
                    if mine { holdings[i % holdings.len()].clone() } else { other_holdings[i % other_holdings.len()].clone() };
                let waiting = rng.random_range(0..60 * 24 * 60);
                let since = base + chrono::Duration::minutes(waiting);
                let created = since - chrono::Duration::hours(2);
                let not_assigned = rng.random_range(0..10) < 4;
                let customer_name = name(&mut rng, i);
                let assigned_at = if not_assigned { "NULL".to_string() } else { format!("'{}'", since + chrono::Duration::days(2)) };
                if i > chunk_start {
                    sql.push(',');
                }
                sql.push_str(&format!(
                    "({company}, {by}, 'Order {i}', '{customer_name}', '', 'standard', 'booked', FALSE, {holding}, NULL, 'SO-{}', '{created}', '{since}', '{since}', 0, {}, '{since}', {assigned_at}, '{}', '{holding_key}', '{}')",
                    100_000 + i,
                    if not_assigned { 1 } else { 2 },
                    customer_name.to_lowercase(),
                    holding_name.replace('\'', "''")
                ));
            }
            conn.batch_execute(&sql)?;
        }
        conn.batch_execute(&format!(
            "INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_price_cents, account_id) \
             SELECT id, 10, {product}, 2, 100, CASE WHEN sa_rank = 2 THEN {customer} ELSE NULL END FROM orders; \
             UPDATE orders SET customer_account_id = {customer} WHERE sa_rank = 2"
        ))?;
        diesel::QueryResult::Ok(())
    })?;
    match conn {
        DbConnection::Postgresql(_) => conn.batch_execute("VACUUM ANALYZE")?,
        DbConnection::Sqlite(_) => conn.batch_execute("ANALYZE")?,
    }
    println!("generated {count} orders (and as many lines) in {:.1} s", start.elapsed().as_secs_f64());
    Ok(customer)
}

fn bench_orders(conn: &mut DbConnection, ops: &Actor, partner: &Actor, args: &Args) -> anyhow::Result<()> {
    use portal::domain::orders::listing::{self, ListQuery, Sort};
    let customer = generate_orders(conn, ops, partner, args.orders)?;
    for (label, actor, sort) in [
        ("partner, Not Assigned first, walking pages", partner, Sort::Status),
        ("operations, Not Assigned first, walking pages", ops, Sort::Status),
        ("partner, by end customer, walking pages", partner, Sort::EndCustomer),
    ] {
        let pages = if sort == Sort::Status { args.pages } else { args.pages.min(20) };
        let mut q = ListQuery { sort, ..ListQuery::smart_account_orders() };
        let mut times = Vec::new();
        let mut rows = 0;
        for _ in 0..pages {
            let t = Instant::now();
            let page = listing::page(conn, actor, &q).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            rows += page.rows.len();
            match page.next {
                Some(c) => q.after = Some(c),
                None => break,
            }
        }
        report(&format!("{label} ({rows} rows)"), times);
    }
    // Deep pages: jump to a cursor far into the list, as a link to page N would.
    let mut times = Vec::new();
    let mut q = ListQuery::smart_account_orders();
    for _ in 0..50 {
        q.limit = 1000;
        let far = listing::page(conn, partner, &q).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        q.after = far.next;
        q.limit = 50;
        let t = Instant::now();
        listing::page(conn, partner, &q).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    report("partner, pages 20 to 1000 rows apart (to 50,000 deep)", times);
    let t = Instant::now();
    let count = listing::not_assigned_count(conn, partner, 1000).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    println!("navigation count (capped at 1,000): {count} in {:.3} ms", t.elapsed().as_secs_f64() * 1000.0);

    // Bulk move of 1,000 Not Assigned orders of the partner to its customer account.
    let q = ListQuery { rank: Some(listing::RANK_NOT_ASSIGNED), limit: 1000, ..ListQuery::smart_account_orders() };
    let ids: Vec<(i64, assignment::Seen)> = listing::page(conn, partner, &q)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?
        .rows
        .iter()
        .map(|r| (r.order.id, assignment::Seen::Version(r.order.version)))
        .collect();
    let t = Instant::now();
    let summary =
        assignment::bulk_reassign(conn, partner, &ids, assignment::BulkTarget::Customer { account: customer, va: None }, "http://bench")
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    println!(
        "bulk move of {} orders: {} moved, {} refused in {:.2} s",
        ids.len(),
        summary.moved.len(),
        summary.refused.len(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("portal-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
