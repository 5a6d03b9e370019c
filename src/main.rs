//! The portal's command line: serve (default), migrate, seed-demo, create-user,
//! and `device`, which plays a product instance against a running portal.

use clap::{Parser, Subcommand};
use portal::config::Settings;
use portal::domain::company::CompanyKind;
use portal::startup::Application;
use portal::{db, demo, domain, telemetry};
use rand::distr::{Alphanumeric, SampleString};

#[derive(Parser)]
#[command(name = "smart-account-portal", about = "Smart Account Portal: orders, smart accounts and licenses")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the portal (the default). An empty SQLite database gets the demo data.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Load the demo data into an empty database (also PostgreSQL) and print the logins.
    SeedDemo,
    /// Create a user, e.g. the first operations user of a production install.
    /// The password is generated and printed once.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// The company's name, used when no company has the email's domain yet.
        #[arg(long)]
        company: String,
        /// distributor, reseller, service_provider, customer or operations
        #[arg(long, default_value = "operations")]
        kind: String,
    },
    /// Play a device (product instance) against a running portal over HTTP.
    Device {
        #[command(subcommand)]
        action: DeviceAction,
    },
}

#[derive(Subcommand)]
enum DeviceAction {
    /// Register with a registration token; prints the instance id and secret (JSON).
    Register {
        /// The portal's address, e.g. http://127.0.0.1:8080
        #[arg(long, env = "PORTAL_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long)]
        token: String,
        #[arg(long)]
        name: String,
        /// The product's SKU, e.g. SL-WLC-AP
        #[arg(long)]
        product: String,
        #[arg(long)]
        licenses: i64,
    },
    /// Report how many licenses the device uses now.
    Report {
        #[arg(long, env = "PORTAL_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long)]
        id: i64,
        #[arg(long, env = "DEVICE_SECRET")]
        secret: String,
        #[arg(long)]
        licenses: i64,
    },
    /// Leave the portal: the device's licenses are freed.
    Deregister {
        #[arg(long, env = "PORTAL_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long)]
        id: i64,
        #[arg(long, env = "DEVICE_SECRET")]
        secret: String,
    },
}

/// Runs a `device` action: prints the portal's JSON answer; fails on an error status.
fn run_device(action: DeviceAction) -> anyhow::Result<()> {
    use portal::device_client::post_json;
    let response = match action {
        DeviceAction::Register { url, token, name, product, licenses } => post_json(
            &url,
            "/api/v1/devices/register",
            None,
            &serde_json::json!({"token": token, "name": name, "product": product, "licenses": licenses}),
        )?,
        DeviceAction::Report { url, id, secret, licenses } => {
            post_json(&url, &format!("/api/v1/devices/{id}/usage"), Some(&secret), &serde_json::json!({ "licenses": licenses }))?
        }
        DeviceAction::Deregister { url, id, secret } => {
            post_json(&url, &format!("/api/v1/devices/{id}/deregister"), Some(&secret), &serde_json::json!({}))?
        }
    };
    if response.body.is_empty() {
        println!("{{\"status\": {}}}", response.status);
    } else {
        println!("{}", response.body);
    }
    if response.status >= 400 {
        anyhow::bail!("the portal refused (HTTP {})", response.status);
    }
    Ok(())
}

fn app_mail_viewer(settings: &Settings) -> bool {
    portal::startup::mail_viewer_allowed(settings.smtp_url.is_none(), settings.bind.ip().is_loopback(), settings.mail_viewer)
}

fn print_logins(settings: &Settings, logins: &[demo::DemoLogin]) {
    if logins.is_empty() {
        return;
    }
    println!("Demo logins (kept in {}):", settings.data_dir.join("demo-logins.txt").display());
    for l in logins {
        println!("  {:<34} {:<28} {}", l.label, l.email, l.password);
    }
}

/// The portal's own allocations (pages, rows, argon2's buffers) go to
/// mimalloc: under load on SQLite it takes 10 to 15 % less CPU per page
/// than glibc's malloc, whose fast paths were a seventh of the portal's
/// profile (on PostgreSQL no measurable change). SQLite and libpq keep
/// glibc's (`startup::tune_allocator`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's options, numbered as in its header's `mi_option_e` (v3).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Memory freed goes back to the system at once, and arenas are committed
/// only as they are used: by default mimalloc keeps freed memory for a
/// while and commits its arenas whole, which left the portal resident at
/// 57 to 65 MB after a run instead of 44 to 47 MB. Set before the first
/// allocation reserves an arena: run by the loader with the program's
/// constructors, before `main`.
extern "C" fn tune_mimalloc() {
    // SAFETY: mi_option_set only records a setting; it allocates nothing.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
}

#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static TUNE_MIMALLOC: extern "C" fn() = tune_mimalloc;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Device { action }) = cli.command {
        return run_device(action);
    }
    let _log = telemetry::init();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Configuration error: {e}");
            std::process::exit(2);
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let logins_file = settings.data_dir.join("demo-logins.txt");
            if settings.is_sqlite() {
                let url = settings.database_url.clone();
                let base_url = settings.base_url.clone();
                let fresh = tokio::task::spawn_blocking(move || -> anyhow::Result<Option<Vec<demo::DemoLogin>>> {
                    let pool = db::build_pool(&url, 1)?;
                    let mut conn = pool.get()?;
                    db::run_migrations(&mut conn)?;
                    if demo::is_empty(&mut conn)? {
                        Ok(Some(demo::seed(&mut conn, &base_url)?))
                    } else {
                        Ok(None)
                    }
                })
                .await??;
                if let Some(logins) = fresh {
                    demo::write_logins(&logins_file, &logins)?;
                }
            }
            let app = Application::build(settings.clone()).await?;
            println!("Smart Account Portal is running at {}", settings.base_url);
            print_logins(&settings, &demo::read_logins(&logins_file));
            if settings.two_step_for_operations {
                println!("Operations staff set up two-step sign-in (an authenticator app) at their first sign-in.");
            }
            match (app_mail_viewer(&settings), settings.smtp_url.is_some()) {
                (true, _) => println!("Mail goes to files; read it at {}/dev/mail", settings.base_url),
                (false, false) => println!(
                    "Mail goes to files in {} (the mail viewer is off: not a loopback address; MAIL_VIEWER=on turns it on)",
                    settings.mail_dir().display()
                ),
                (false, true) => {}
            }
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let url = settings.database_url.clone();
            tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                let pool = db::build_pool(&url, 1)?;
                db::run_migrations(&mut *pool.get()?)
            })
            .await??;
            println!("Database is up to date.");
        }
        Command::SeedDemo => {
            let url = settings.database_url.clone();
            let base_url = settings.base_url.clone();
            let logins = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<demo::DemoLogin>> {
                let pool = db::build_pool(&url, 1)?;
                let mut conn = pool.get()?;
                db::run_migrations(&mut conn)?;
                demo::seed(&mut conn, &base_url)
            })
            .await??;
            std::fs::create_dir_all(&settings.data_dir)?;
            demo::write_logins(&settings.data_dir.join("demo-logins.txt"), &logins)?;
            print_logins(&settings, &logins);
        }
        Command::CreateUser { email, name, company, kind } => {
            let Some(kind) = CompanyKind::parse(&kind) else {
                anyhow::bail!("--kind: expected distributor, reseller, service_provider, customer or operations");
            };
            let url = settings.database_url.clone();
            let password = Alphanumeric.sample_string(&mut rand::rng(), 20);
            let pw = password.clone();
            let actor = tokio::task::spawn_blocking(move || -> anyhow::Result<domain::Actor> {
                let pool = db::build_pool(&url, 1)?;
                let mut conn = pool.get()?;
                db::run_migrations(&mut conn)?;
                domain::users::create_user(&mut conn, &domain::users::console_permit(), &email, &name, &pw, &company, kind)
                    .map_err(|e| anyhow::anyhow!("{e:?}"))
            })
            .await??;
            println!("Created {} at {} ({}). Password: {password}", actor.email, actor.company_name, actor.company_kind);
        }
        Command::Device { .. } => unreachable!("handled before start-up"),
    }
    Ok(())
}
