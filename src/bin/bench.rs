//! Benchmark with its own data generator: fills a database with many smart
//! accounts (each with a virtual account) and times the assignment search,
//! the way an operations user (all accounts) and a partner (its own) use it.
//!
//!   cargo run --release --bin bench -- --accounts 100000
//!   DATABASE_URL=postgres://postgres@127.0.0.1/bench cargo run --release --bin bench
//!
//! Reports p50 / p95 / max server-side time per search; the target is < 10 ms.

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
    conn.transaction(|conn| {
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
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("portal-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
