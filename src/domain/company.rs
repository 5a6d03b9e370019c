//! Companies: who a user works for, what kind of business it is, and the
//! email domains that identify it.

use std::fmt;

use diesel::prelude::*;

use crate::db::models::company::{Company, NewCompany, NewCompanyDomain};
use crate::db::schema::{companies, company_domains};
use crate::db::DbConnection;
use crate::domain::values::{CompanyName, DomainIdentifier};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompanyKind {
    Distributor,
    Reseller,
    ServiceProvider,
    Customer,
    Operations,
}

impl CompanyKind {
    pub const ALL: [CompanyKind; 5] =
        [CompanyKind::Distributor, CompanyKind::Reseller, CompanyKind::ServiceProvider, CompanyKind::Customer, CompanyKind::Operations];

    pub fn as_str(self) -> &'static str {
        match self {
            CompanyKind::Distributor => "distributor",
            CompanyKind::Reseller => "reseller",
            CompanyKind::ServiceProvider => "service_provider",
            CompanyKind::Customer => "customer",
            CompanyKind::Operations => "operations",
        }
    }

    pub fn parse(s: &str) -> Option<CompanyKind> {
        CompanyKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            CompanyKind::Distributor => "Distributor",
            CompanyKind::Reseller => "Reseller",
            CompanyKind::ServiceProvider => "Service provider",
            CompanyKind::Customer => "Customer",
            CompanyKind::Operations => "Operations",
        }
    }

    /// Partners place orders for others and may hold holding accounts.
    pub fn is_partner(self) -> bool {
        matches!(self, CompanyKind::Distributor | CompanyKind::Reseller | CompanyKind::ServiceProvider)
    }
}

impl fmt::Display for CompanyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The company that owns an email domain, if any.
pub fn find_by_domain(conn: &mut DbConnection, domain: &DomainIdentifier) -> QueryResult<Option<Company>> {
    company_domains::table
        .inner_join(companies::table)
        .filter(company_domains::domain.eq(domain.as_str()))
        .select(Company::as_select())
        .first(conn)
        .optional()
}

/// Creates a company known by `domain`. Only callers that have decided the
/// kind (registration: customer; operations and set-up: any) reach this.
pub(crate) fn create(conn: &mut DbConnection, name: &CompanyName, kind: CompanyKind, domain: &DomainIdentifier) -> QueryResult<Company> {
    let now = crate::db::now();
    let id: i64 = diesel::insert_into(companies::table)
        .values(&NewCompany { name: name.as_str(), kind: kind.as_str(), created_at: now })
        .returning(companies::id)
        .get_result(conn)?;
    let company: Company = companies::table.find(id).select(Company::as_select()).first(conn)?;
    diesel::insert_into(company_domains::table)
        .values(&NewCompanyDomain { company_id: company.id, domain: domain.as_str() })
        .execute(conn)?;
    Ok(company)
}
