//! Demo data: one coherent story (see DOMAIN.md "Demo data"), with a login for
//! each kind of company. Passwords are made per install and kept in the data
//! folder so the printed logins keep working after a restart.

use diesel::prelude::*;
use rand::distr::{Alphanumeric, SampleString};

use crate::db::schema::companies;
use crate::db::DbConnection;
use crate::domain::company::CompanyKind;
use crate::domain::users;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoLogin {
    pub label: String,
    pub email: String,
    pub password: String,
}

/// (label, company, kind, user name, email)
const PEOPLE: &[(&str, &str, CompanyKind, &str, &str)] = &[
    (
        "Distributor",
        "Northwind Distribution",
        CompanyKind::Distributor,
        "Nora Lindqvist",
        "nora@northwind.example",
    ),
    (
        "Reseller",
        "Contoso Resellers",
        CompanyKind::Reseller,
        "Carlos Ortega",
        "carlos@contoso.example",
    ),
    (
        "Service provider",
        "Fabrikam Networks",
        CompanyKind::ServiceProvider,
        "Fatima Khan",
        "fatima@fabrikam.example",
    ),
    (
        "Customer administrator",
        "Metalworks Inc.",
        CompanyKind::Customer,
        "Maya Stein",
        "maya@metalworks.example",
    ),
    (
        "Customer (pending account)",
        "Acme Corp",
        CompanyKind::Customer,
        "Adam Brooks",
        "adam@acme.example",
    ),
    (
        "Operations",
        "Vendor Operations",
        CompanyKind::Operations,
        "Olga Petrova",
        "olga@ops.example",
    ),
];

pub fn is_empty(conn: &mut DbConnection) -> QueryResult<bool> {
    Ok(companies::table.count().get_result::<i64>(conn)? == 0)
}

/// Loads the demo story into an empty database and returns the logins.
pub fn seed(conn: &mut DbConnection) -> anyhow::Result<Vec<DemoLogin>> {
    if !is_empty(conn)? {
        anyhow::bail!("the database has data already; demo data goes only into an empty database");
    }
    let permit = users::console_permit();
    let mut logins = Vec::new();
    conn.transaction(|conn| {
        for (label, company, kind, name, email) in PEOPLE {
            let password = Alphanumeric.sample_string(&mut rand::rng(), 16);
            users::create_user(conn, &permit, email, name, &password, company, *kind)
                .map_err(|e| anyhow::anyhow!("{email}: {e:?}"))?;
            logins.push(DemoLogin {
                label: label.to_string(),
                email: email.to_string(),
                password,
            });
        }
        anyhow::Ok(())
    })?;
    Ok(logins)
}

pub fn write_logins(path: &std::path::Path, logins: &[DemoLogin]) -> std::io::Result<()> {
    let text: String = logins
        .iter()
        .map(|l| format!("{}\t{}\t{}\n", l.label, l.email, l.password))
        .collect();
    crate::config::write_private(path, &text)
}

pub fn read_logins(path: &std::path::Path) -> Vec<DemoLogin> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut parts = l.split('\t');
            Some(DemoLogin {
                label: parts.next()?.into(),
                email: parts.next()?.into(),
                password: parts.next()?.into(),
            })
        })
        .collect()
}
