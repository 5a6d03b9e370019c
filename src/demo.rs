//! Demo data: one coherent story (see DOMAIN.md "Demo data"), with a login for
//! each kind of company. Passwords are made per install and kept in the data
//! folder so the printed logins keep working after a restart.

use diesel::prelude::*;
use rand::distr::{Alphanumeric, SampleString};

use crate::db::schema::companies;
use crate::db::DbConnection;
use crate::domain::accounts::administration::{self as admin, RoleInput, VirtualAccountInput};
use crate::domain::accounts::request::{self, AccountRequestInput};
use crate::domain::company::CompanyKind;
use crate::domain::orders::{self, assignment};
use crate::domain::roles::AccountKind;
use crate::domain::{licenses, users, Actor};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoLogin {
    pub label: String,
    pub email: String,
    pub password: String,
}

/// (label, company, kind, user name, email)
const PEOPLE: &[(&str, &str, CompanyKind, &str, &str)] = &[
    ("Distributor", "Northwind Distribution", CompanyKind::Distributor, "Nora Lindqvist", "nora@northwind.example"),
    ("Reseller", "Contoso Resellers", CompanyKind::Reseller, "Carlos Ortega", "carlos@contoso.example"),
    ("Service provider", "Fabrikam Networks", CompanyKind::ServiceProvider, "Fatima Khan", "fatima@fabrikam.example"),
    ("Customer administrator", "Metalworks Inc.", CompanyKind::Customer, "Maya Stein", "maya@metalworks.example"),
    ("Customer (pending account)", "Acme Corp", CompanyKind::Customer, "Adam Brooks", "adam@acme.example"),
    ("Operations", "Vendor Operations", CompanyKind::Operations, "Olga Petrova", "olga@ops.example"),
];

pub fn is_empty(conn: &mut DbConnection) -> QueryResult<bool> {
    Ok(companies::table.count().get_result::<i64>(conn)? == 0)
}

/// Further people of the story: Metalworks users in every role (label, name, email, company).
const MORE_PEOPLE: &[(&str, &str, &str, &str)] = &[
    ("Metalworks SA User", "Sam Okafor", "sam@metalworks.example", "Metalworks Inc."),
    ("Metalworks SA Approver", "Priya Raman", "priya@metalworks.example", "Metalworks Inc."),
    ("Metalworks VA Admin (Production)", "Victor Hale", "victor@metalworks.example", "Metalworks Inc."),
    ("Metalworks VA User (Processing)", "Vera Lund", "vera@metalworks.example", "Metalworks Inc."),
];

fn err(e: crate::domain::DomainError) -> anyhow::Error {
    anyhow::anyhow!("{e:?}")
}

fn va(name: &str, description: &str) -> VirtualAccountInput {
    VirtualAccountInput { name: name.into(), description: description.into(), visibility: "public".into() }
}

fn role(email: &str, role: &str, vas: Vec<i64>) -> RoleInput {
    RoleInput { email: email.into(), role: role.into(), virtual_accounts: vas, acknowledged: true }
}

/// Smart accounts: holding accounts of the distributor and the reseller,
/// Fabrikam's regional account, Metalworks with users in every role and
/// Contoso's partner access, Acme's pending request, a domain under review.
fn seed_accounts(conn: &mut DbConnection, people: &[Actor], base_url: &str) -> anyhow::Result<()> {
    let permit = users::console_permit();
    let by = |email: &str| people.iter().find(|a| a.email == email).cloned().expect("demo person");
    let (nora, carlos, fatima, maya) =
        (by("nora@northwind.example"), by("carlos@contoso.example"), by("fatima@fabrikam.example"), by("maya@metalworks.example"));
    request::create_active(conn, &permit, &nora, "Northwind Distribution Holding", "northwind.example", AccountKind::Holding)
        .map_err(err)?;
    request::create_active(conn, &permit, &carlos, "Contoso Resellers Holding", "contoso.example", AccountKind::Holding).map_err(err)?;

    let fabrikam =
        request::create_active(conn, &permit, &fatima, "Fabrikam Networks", "fabrikam.example", AccountKind::Customer).map_err(err)?;
    for (name, what) in [("EMEA", "Europe, Middle East and Africa"), ("Americas", "North and South America"), ("APAC", "Asia Pacific")] {
        admin::create_virtual_account(conn, &fatima, fabrikam, &va(name, what)).map_err(err)?;
    }
    admin::accept_agreement(conn, &fatima, fabrikam).map_err(err)?;

    let metalworks =
        request::create_active(conn, &permit, &maya, "Metalworks Inc.", "metalworks.example", AccountKind::Customer).map_err(err)?;
    let (production, _) = admin::create_virtual_account(conn, &maya, metalworks, &va("Production", "Production lines")).map_err(err)?;
    let (processing, _) = admin::create_virtual_account(conn, &maya, metalworks, &va("Processing", "Processing plant")).map_err(err)?;
    admin::accept_agreement(conn, &maya, metalworks).map_err(err)?;
    admin::add_user(conn, &maya, metalworks, &role("sam@metalworks.example", "sa_user", vec![]), false, base_url).map_err(err)?;
    admin::add_user(conn, &maya, metalworks, &role("priya@metalworks.example", "sa_approver", vec![]), false, base_url).map_err(err)?;
    admin::add_user(conn, &maya, metalworks, &role("victor@metalworks.example", "va_administrator", vec![production]), false, base_url)
        .map_err(err)?;
    admin::add_user(conn, &maya, metalworks, &role("vera@metalworks.example", "va_user", vec![processing]), false, base_url)
        .map_err(err)?;
    admin::add_user(conn, &maya, metalworks, &role("carlos@contoso.example", "va_user", vec![processing]), true, base_url).map_err(err)?;

    // Contoso asks for an account on Acme's behalf; Acme's Adam must activate it.
    let acme = AccountRequestInput {
        kind: "customer".into(),
        authority: "no".into(),
        approver_email: "adam@acme.example".into(),
        name: "Acme Corp".into(),
        domain: "acme.example".into(),
        company_name: "Acme Corp".into(),
        country: "US".into(),
        address: "1 Industrial Way".into(),
        state_province: "OH".into(),
        postal_code: "44101".into(),
        access_for_myself: Some("yes".into()),
        ..Default::default()
    };
    request::request_account(conn, &carlos, &acme, base_url).map_err(err)?;
    // Northwind asks for a regional holding account with an edited domain: operations review it.
    let emea = AccountRequestInput {
        kind: "holding".into(),
        authority: "yes".into(),
        name: "Northwind Distribution EMEA".into(),
        domain: "emea.northwind.example".into(),
        duplicate_reason: "Separate holding account for the EMEA distribution business".into(),
        ..Default::default()
    };
    request::request_account(conn, &nora, &emea, base_url).map_err(err)?;
    Ok(())
}

fn account_id(conn: &mut DbConnection, domain: &str) -> anyhow::Result<i64> {
    use crate::db::schema::smart_accounts;
    Ok(smart_accounts::table.filter(smart_accounts::domain.eq(domain)).select(smart_accounts::id).first(conn)?)
}

fn va_id(conn: &mut DbConnection, account: i64, name: &str) -> anyhow::Result<i64> {
    use crate::db::schema::virtual_accounts;
    Ok(virtual_accounts::table
        .filter(virtual_accounts::smart_account_id.eq(account))
        .filter(virtual_accounts::name.eq(name))
        .select(virtual_accounts::id)
        .first(conn)?)
}

fn product(conn: &mut DbConnection, sku: &str) -> anyhow::Result<i64> {
    use crate::db::schema::products;
    Ok(products::table.filter(products::sku.eq(sku)).select(products::id).first(conn)?)
}

fn new_order(
    conn: &mut DbConnection,
    actor: &Actor,
    name: &str,
    customer: &str,
    domain: &str,
    order_type: &str,
    quote: bool,
) -> anyhow::Result<i64> {
    let input = orders::NewOrderInput {
        name: name.into(),
        end_customer_name: customer.into(),
        end_customer_domain: domain.into(),
        order_type: order_type.into(),
        quote: quote.then(|| "yes".into()),
        for_company_id: None,
    };
    orders::create(conn, actor, &input).map_err(err)
}

fn version(conn: &mut DbConnection, order: i64) -> anyhow::Result<i32> {
    use crate::db::schema::orders as o;
    Ok(o::table.find(order).select(o::version).first(conn)?)
}

fn add(conn: &mut DbConnection, actor: &Actor, order: i64, sku: &str, quantity: i32) -> anyhow::Result<()> {
    let p = product(conn, sku)?;
    let v = version(conn, order)?;
    orders::add_item(conn, actor, order, p, quantity, v).map_err(err)
}

/// Orders in every state: parked in holding accounts and Not Assigned, assigned
/// line by line, a configurable product, a stocking order, a quote, an
/// internal work-bench order, and one shipped with its licenses delivered.
fn seed_orders(conn: &mut DbConnection, people: &[Actor], base_url: &str) -> anyhow::Result<()> {
    crate::domain::catalogue::seed(conn)?;
    let by = |email: &str| people.iter().find(|a| a.email == email).cloned().expect("demo person");
    let (nora, carlos, fatima, olga) =
        (by("nora@northwind.example"), by("carlos@contoso.example"), by("fatima@fabrikam.example"), by("olga@ops.example"));
    let northwind_holding = account_id(conn, "northwind.example")?;
    let contoso_holding = account_id(conn, "contoso.example")?;
    let fabrikam = account_id(conn, "fabrikam.example")?;
    let metalworks = account_id(conn, "metalworks.example")?;
    let acme = account_id(conn, "acme.example")?;

    // Northwind parks an order for an unknown reseller in its holding account; submitted and booked.
    let o = new_order(conn, &nora, "Regional refresh, reseller to be named", "To be confirmed", "", "standard", false)?;
    let v = version(conn, o)?;
    assignment::set_holding(conn, &nora, o, Some(northwind_holding), None, v, base_url).map_err(err)?;
    add(conn, &nora, o, "SL-DNA-ADV-3Y", 25)?;
    add(conn, &nora, o, "HW-SW-48P", 10)?;
    let v = version(conn, o)?;
    orders::submit(conn, &nora, o, v, base_url).map_err(err)?;
    orders::book(conn, &olga, o).map_err(err)?;
    // Northwind hands an order to Contoso's holding account: Contoso picks the end customer.
    let o = new_order(conn, &nora, "Branch wireless for a Contoso customer", "Named by Contoso", "", "standard", false)?;
    let v = version(conn, o)?;
    assignment::set_holding(conn, &nora, o, Some(northwind_holding), None, v, base_url).map_err(err)?;
    add(conn, &nora, o, "SL-WLC-AP", 12)?;
    let v = version(conn, o)?;
    orders::submit(conn, &nora, o, v, base_url).map_err(err)?;
    orders::book(conn, &olga, o).map_err(err)?;
    let v = version(conn, o)?;
    assignment::set_holding(conn, &nora, o, Some(contoso_holding), None, v, base_url).map_err(err)?;
    // A distributor stocking order: no smart account needed.
    let o = new_order(conn, &nora, "Warehouse stock Q4", "Northwind stock", "", "stocking", false)?;
    add(conn, &nora, o, "SL-SEC-ESS-1Y", 100)?;
    let v = version(conn, o)?;
    orders::submit(conn, &nora, o, v, base_url).map_err(err)?;

    // Contoso: parked in its holding account, Not Assigned.
    let o = new_order(conn, &carlos, "Acme campus switching", "Acme Corp", "acme.example", "standard", false)?;
    let v = version(conn, o)?;
    assignment::set_holding(conn, &carlos, o, Some(contoso_holding), None, v, base_url).map_err(err)?;
    add(conn, &carlos, o, "CFG-CAMPUS-KIT", 2)?;
    add(conn, &carlos, o, "SUB-CLOUD-MGMT", 40)?;
    let v = version(conn, o)?;
    orders::submit(conn, &carlos, o, v, base_url).map_err(err)?;
    // Contoso: a configurable branch kit, assigned line by line to Metalworks Processing and Acme (pending).
    let o = new_order(conn, &carlos, "Metalworks branch kits", "Metalworks Inc.", "metalworks.example", "standard", false)?;
    add(conn, &carlos, o, "CFG-BRANCH-KIT", 3)?;
    add(conn, &carlos, o, "PAK-VOICE-25", 1)?;
    add(conn, &carlos, o, "SL-WLC-AP", 20)?;
    let processing = va_id(conn, metalworks, "Processing")?;
    let lines: Vec<i64> = {
        use crate::db::schema::{order_lines, products};
        order_lines::table
            .inner_join(products::table)
            .filter(order_lines::order_id.eq(o))
            .filter(products::sku.eq("SL-DNA-ADV-3Y"))
            .select(order_lines::id)
            .load(conn)?
    };
    let v = version(conn, o)?;
    assignment::assign_lines(conn, &carlos, o, &lines, metalworks, Some(processing), v, base_url).map_err(err)?;
    // Contoso: a quote for Acme, pre-assigned to Acme's pending account.
    let q = new_order(conn, &carlos, "Acme security upgrade", "Acme Corp", "acme.example", "standard", true)?;
    let v = version(conn, q)?;
    assignment::set_order_level(conn, &carlos, q, acme, None, v, base_url).map_err(err)?;
    add(conn, &carlos, q, "SL-SEC-ESS-1Y", 15)?;
    add(conn, &carlos, q, "HW-RTR-4451", 2)?;

    // Fabrikam buys for its own account, per region; shipped and licenses delivered.
    let o = new_order(conn, &fatima, "EMEA managed service capacity", "Fabrikam Networks", "fabrikam.example", "standard", false)?;
    let emea = va_id(conn, fabrikam, "EMEA")?;
    let v = version(conn, o)?;
    assignment::set_order_level(conn, &fatima, o, fabrikam, Some(emea), v, base_url).map_err(err)?;
    add(conn, &fatima, o, "SL-DNA-ADV-3Y", 50)?;
    add(conn, &fatima, o, "PAK-ROUTER-SEC", 5)?;
    let v = version(conn, o)?;
    orders::submit(conn, &fatima, o, v, base_url).map_err(err)?;
    orders::book(conn, &olga, o).map_err(err)?;
    orders::ship(conn, &olga, o, chrono::Duration::zero()).map_err(err)?;
    orders::provisioning::deposit_due(conn, base_url).map_err(err)?;

    // Operations: an internal work-bench order on Contoso's behalf.
    let contoso_company: i64 = carlos.company_id.0;
    let input = orders::NewOrderInput {
        name: "Work-bench order for Contoso".into(),
        end_customer_name: "Acme Corp".into(),
        end_customer_domain: "acme.example".into(),
        order_type: "standard".into(),
        quote: None,
        for_company_id: Some(contoso_company.to_string()),
    };
    let o = orders::create(conn, &olga, &input).map_err(err)?;
    add(conn, &olga, o, "SL-WLC-AP", 8)?;
    Ok(())
}

/// Ships an order of one smart-license line into an account's VA (`None`:
/// its default VA) and deposits the licenses at once.
#[allow(clippy::too_many_arguments)]
fn ship_licenses(
    conn: &mut DbConnection,
    partner: &Actor,
    ops: &Actor,
    name: &str,
    account: i64,
    va: Option<i64>,
    sku: &str,
    quantity: i32,
    customer: (&str, &str),
    base_url: &str,
) -> anyhow::Result<()> {
    let o = new_order(conn, partner, name, customer.0, customer.1, "standard", false)?;
    let v = version(conn, o)?;
    assignment::set_order_level(conn, partner, o, account, va, v, base_url).map_err(err)?;
    add(conn, partner, o, sku, quantity)?;
    let v = version(conn, o)?;
    orders::submit(conn, partner, o, v, base_url).map_err(err)?;
    orders::book(conn, ops, o).map_err(err)?;
    orders::ship(conn, ops, o, chrono::Duration::zero()).map_err(err)?;
    orders::provisioning::deposit_due(conn, base_url).map_err(err)?;
    Ok(())
}

fn token(
    conn: &mut DbConnection,
    actor: &Actor,
    account: i64,
    va: i64,
    description: &str,
    days: i64,
    max_uses: &str,
) -> anyhow::Result<String> {
    let input = licenses::tokens::TokenInput {
        description: description.into(),
        expires_days: days.to_string(),
        max_uses: max_uses.into(),
        export_controlled: None,
    };
    Ok(licenses::tokens::create(conn, actor, account, va, &input).map_err(err)?.value)
}

fn device(conn: &mut DbConnection, token: &str, name: &str, sku: &str, n: i64, base_url: &str) -> anyhow::Result<i64> {
    let req = licenses::devices::RegisterRequest { token: token.into(), name: name.into(), product: sku.into(), licenses: n };
    Ok(licenses::devices::register(conn, &req, base_url).map_err(|e| anyhow::anyhow!("device {name}: {e:?}"))?.instance_id)
}

/// The license manager's story (DOMAIN.md "Demo data"): Metalworks'
/// Processing uses 20 more DNA Advantage licenses than it owns while
/// Production has 20 unused; Fabrikam's regional VAs hold devices named per
/// end customer, with licenses of an unknown end customer waiting in its
/// default VA and a silent device; tokens in every state; a claimable PAK
/// (Fabrikam's router security PAKs); 90 days of usage figures.
fn seed_licenses(conn: &mut DbConnection, people: &[Actor], base_url: &str) -> anyhow::Result<()> {
    use crate::db::schema::{devices, registration_tokens};
    let by = |email: &str| people.iter().find(|a| a.email == email).cloned().expect("demo person");
    let (carlos, fatima, maya, olga) =
        (by("carlos@contoso.example"), by("fatima@fabrikam.example"), by("maya@metalworks.example"), by("olga@ops.example"));
    let metalworks = account_id(conn, "metalworks.example")?;
    let fabrikam = account_id(conn, "fabrikam.example")?;
    let (production, processing) = (va_id(conn, metalworks, "Production")?, va_id(conn, metalworks, "Processing")?);
    let mw = ("Metalworks Inc.", "metalworks.example");
    ship_licenses(conn, &carlos, &olga, "Metalworks production lines", metalworks, Some(production), "SL-DNA-ADV-3Y", 40, mw, base_url)?;
    ship_licenses(conn, &carlos, &olga, "Metalworks processing plant", metalworks, Some(processing), "SL-DNA-ADV-3Y", 10, mw, base_url)?;

    // Tokens in every state.
    let prod = token(conn, &maya, metalworks, production, "Production lines, hall A", 90, "")?;
    let proc = token(conn, &maya, metalworks, processing, "Processing plant floor", 60, "")?;
    token(conn, &maya, metalworks, production, "Commissioning crew (expires soon)", 3, "")?;
    let once = token(conn, &maya, metalworks, processing, "Furnace controller spare", 30, "1")?;
    let revoked = token(conn, &maya, metalworks, production, "Leaked on a shared drive", 30, "")?;
    let revoked_id: i64 = registration_tokens::table.order(registration_tokens::id.desc()).select(registration_tokens::id).first(conn)?;
    licenses::tokens::revoke(conn, &maya, metalworks, revoked_id).map_err(err)?;
    let _ = revoked;
    token(conn, &maya, metalworks, processing, "Pilot line 2025", 1, "")?;
    let expired_id: i64 = registration_tokens::table.order(registration_tokens::id.desc()).select(registration_tokens::id).first(conn)?;
    diesel::update(registration_tokens::table.find(expired_id))
        .set(registration_tokens::expires_at.eq(crate::db::now() - chrono::Duration::days(20)))
        .execute(conn)?;

    // Production uses 20 of its 40; Processing's devices use 30 of its 10.
    device(conn, &prod, "press-line-1", "SL-DNA-ADV-3Y", 12, base_url)?;
    device(conn, &prod, "press-line-2", "SL-DNA-ADV-3Y", 8, base_url)?;
    device(conn, &proc, "furnace-1", "SL-DNA-ADV-3Y", 10, base_url)?;
    device(conn, &proc, "furnace-2", "SL-DNA-ADV-3Y", 10, base_url)?;
    device(conn, &once, "furnace-controller", "SL-DNA-ADV-3Y", 10, base_url)?;

    // Fabrikam: licenses of an end customer not yet known land in the default VA.
    let default_va: i64 = {
        use crate::db::schema::virtual_accounts;
        virtual_accounts::table
            .filter(virtual_accounts::smart_account_id.eq(fabrikam))
            .filter(virtual_accounts::is_default.eq(true))
            .select(virtual_accounts::id)
            .first(conn)?
    };
    let fab = ("Fabrikam Networks", "fabrikam.example");
    ship_licenses(
        conn,
        &fatima,
        &olga,
        "Managed service capacity, region to be decided",
        fabrikam,
        None,
        "SL-DNA-ADV-3Y",
        30,
        fab,
        base_url,
    )?;
    let _ = default_va;
    let (emea, americas, apac) = (va_id(conn, fabrikam, "EMEA")?, va_id(conn, fabrikam, "Americas")?, va_id(conn, fabrikam, "APAC")?);
    ship_licenses(conn, &fatima, &olga, "APAC managed service capacity", fabrikam, Some(apac), "SL-DNA-ADV-3Y", 20, fab, base_url)?;
    let t_emea = token(conn, &fatima, fabrikam, emea, "EMEA managed customers", 180, "")?;
    let t_americas = token(conn, &fatima, fabrikam, americas, "Americas managed customers", 180, "")?;
    let t_apac = token(conn, &fatima, fabrikam, apac, "APAC managed customers", 180, "")?;
    for (name, n) in
        [("northwind-traders-hq-01", 8), ("northwind-traders-branch-02", 4), ("tailspin-toys-dc-01", 12), ("wingtip-toys-lab-02", 6)]
    {
        device(conn, &t_emea, name, "SL-DNA-ADV-3Y", n, base_url)?;
    }
    for (name, n) in [("contoso-pharma-boston-01", 6), ("litware-retail-store-114", 4)] {
        device(conn, &t_americas, name, "SL-DNA-ADV-3Y", n, base_url)?;
    }
    for (name, n) in [("adventure-works-sydney-01", 5), ("margie-travel-singapore-01", 3)] {
        device(conn, &t_apac, name, "SL-DNA-ADV-3Y", n, base_url)?;
    }
    // A device that stopped reporting five weeks ago still holds its licenses.
    diesel::update(devices::table.filter(devices::name.eq("wingtip-toys-lab-02")))
        .set(devices::last_contact_at.eq(crate::db::now() - chrono::Duration::days(36)))
        .execute(conn)?;

    // 90 days of figures: Processing's use grew past what it owns; Production's fell.
    let today = crate::db::now().date();
    for d in (1..90i64).rev() {
        let day = today - chrono::Duration::days(d);
        let ago = 90 - d; // 1 … 89
        licenses::usage::write(conn, metalworks, production, "DNA Advantage", day, 40, (32 - ago * 12 / 89) as i32).map_err(err)?;
        licenses::usage::write(conn, metalworks, processing, "DNA Advantage", day, 10, (6 + ago * 24 / 89) as i32).map_err(err)?;
        licenses::usage::write(conn, fabrikam, emea, "DNA Advantage", day, 50, (20 + ago * 10 / 89) as i32).map_err(err)?;
    }
    licenses::usage::record_day(conn, today).map_err(err)?;
    Ok(())
}

/// Loads the demo story into an empty database and returns the logins.
pub fn seed(conn: &mut DbConnection, base_url: &str) -> anyhow::Result<Vec<DemoLogin>> {
    if !is_empty(conn)? {
        anyhow::bail!("the database has data already; demo data goes only into an empty database");
    }
    let permit = users::console_permit();
    let mut logins = Vec::new();
    let mut members = Vec::new();
    for (label, company, kind, name, email) in PEOPLE {
        logins.push(DemoLogin {
            label: label.to_string(),
            email: email.to_string(),
            password: Alphanumeric.sample_string(&mut rand::rng(), 16),
        });
        members.push((*name, *email, *company, *kind));
    }
    for (label, name, email, company) in MORE_PEOPLE {
        logins.push(DemoLogin {
            label: label.to_string(),
            email: email.to_string(),
            password: Alphanumeric.sample_string(&mut rand::rng(), 16),
        });
        members.push((*name, *email, *company, CompanyKind::Customer));
    }
    let members: Vec<users::NewMember<'_>> = members
        .iter()
        .zip(&logins)
        .map(|(&(name, email, company_name, kind), login)| users::NewMember { email, name, password: &login.password, company_name, kind })
        .collect();
    crate::db::transaction(conn, |conn| {
        let people = users::create_users(conn, &permit, &members).map_err(|e| anyhow::anyhow!("demo people: {e:?}"))?;
        seed_accounts(conn, &people, base_url)?;
        seed_orders(conn, &people, base_url)?;
        seed_licenses(conn, &people, base_url)
    })?;
    Ok(logins)
}

pub fn write_logins(path: &std::path::Path, logins: &[DemoLogin]) -> std::io::Result<()> {
    let text: String = logins.iter().map(|l| format!("{}\t{}\t{}\n", l.label, l.email, l.password)).collect();
    crate::config::write_private(path, &text)
}

pub fn read_logins(path: &std::path::Path) -> Vec<DemoLogin> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut parts = l.split('\t');
            Some(DemoLogin { label: parts.next()?.into(), email: parts.next()?.into(), password: parts.next()?.into() })
        })
        .collect()
}
