//! The catalogue: what can be ordered, and whether a line of it needs a
//! smart account (mandatory for smart licenses, optional for PAKs, none for
//! hardware). Configurable products bring minor lines.

use diesel::prelude::*;

use crate::db::schema::{product_components, products};
use crate::db::DbConnection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaRequirement {
    Mandatory,
    Optional,
    None,
}

impl SaRequirement {
    pub fn parse(s: &str) -> SaRequirement {
        match s {
            "mandatory" => SaRequirement::Mandatory,
            "optional" => SaRequirement::Optional,
            _ => SaRequirement::None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            SaRequirement::Mandatory => "mandatory",
            SaRequirement::Optional => "optional",
            SaRequirement::None => "none",
        }
    }
    /// Lines that take a smart account (and so the pre-assignment cascade).
    pub fn takes_account(self) -> bool {
        self != SaRequirement::None
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = products)]
pub struct Product {
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub category: String,
    pub sa_requirement: String,
    pub configurable: bool,
    pub unit_price_cents: i64,
    pub license_name: Option<String>,
}

impl Product {
    pub fn requirement(&self) -> SaRequirement {
        SaRequirement::parse(&self.sa_requirement)
    }
    pub fn category_label(&self) -> &'static str {
        match self.category.as_str() {
            "smart_license" => "Smart license",
            "pak" => "Classic license (PAK)",
            "hardware" => "Hardware",
            _ => "Services and subscriptions",
        }
    }
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Product>> {
    products::table.order((products::category, products::sku)).select(Product::as_select()).load(conn)
}

pub fn components(conn: &mut DbConnection, product_id: i64) -> QueryResult<Vec<(Product, i32)>> {
    product_components::table
        .inner_join(products::table.on(products::id.eq(product_components::component_id)))
        .filter(product_components::product_id.eq(product_id))
        .order(product_components::id)
        .select((Product::as_select(), product_components::quantity))
        .load(conn)
}

/// (sku, name, category, requirement, price in cents, license name)
const CATALOGUE: &[(&str, &str, &str, &str, i64, Option<&str>)] = &[
    ("SL-DNA-ADV-3Y", "DNA Advantage, 3-year smart license", "smart_license", "mandatory", 120_000, Some("DNA Advantage")),
    ("SL-SEC-ESS-1Y", "Security Essentials, 1-year smart license", "smart_license", "mandatory", 45_000, Some("Security Essentials")),
    ("SL-WLC-AP", "Wireless controller AP license", "smart_license", "mandatory", 9_500, Some("Wireless AP")),
    ("PAK-ROUTER-SEC", "Router security PAK", "pak", "optional", 30_000, Some("Router Security (PAK)")),
    ("PAK-VOICE-25", "Voice bundle, 25 users (PAK)", "pak", "optional", 52_000, Some("Voice 25 (PAK)")),
    ("HW-SW-48P", "Switch, 48 ports PoE", "hardware", "none", 410_000, None),
    ("HW-RTR-4451", "Branch router 4451", "hardware", "none", 620_000, None),
    ("HW-AP-9120", "Wireless access point", "hardware", "none", 85_000, None),
    ("SVC-SUPPORT-1Y", "Support subscription, 1 year", "service", "none", 25_000, None),
    ("SUB-CLOUD-MGMT", "Cloud management subscription", "service", "mandatory", 18_000, Some("Cloud Management")),
    ("CFG-BRANCH-KIT", "Branch office kit (configurable)", "hardware", "none", 0, None),
    ("CFG-CAMPUS-KIT", "Campus switching kit (configurable)", "hardware", "none", 0, None),
];

/// (configurable sku, component sku, quantity per unit)
const COMPONENTS: &[(&str, &str, i32)] = &[
    ("CFG-BRANCH-KIT", "HW-RTR-4451", 1),
    ("CFG-BRANCH-KIT", "SL-DNA-ADV-3Y", 1),
    ("CFG-BRANCH-KIT", "SVC-SUPPORT-1Y", 1),
    ("CFG-CAMPUS-KIT", "HW-SW-48P", 2),
    ("CFG-CAMPUS-KIT", "PAK-ROUTER-SEC", 1),
];

/// Loads the demo catalogue once (idempotent).
pub fn seed(conn: &mut DbConnection) -> QueryResult<()> {
    crate::db::transaction(conn, |conn| {
        for (sku, name, category, requirement, price, license) in CATALOGUE {
            let exists: i64 = products::table.filter(products::sku.eq(sku)).count().get_result(conn)?;
            if exists == 0 {
                diesel::insert_into(products::table)
                    .values((
                        products::sku.eq(sku),
                        products::name.eq(name),
                        products::category.eq(category),
                        products::sa_requirement.eq(requirement),
                        products::configurable.eq(sku.starts_with("CFG-")),
                        products::unit_price_cents.eq(price),
                        products::license_name.eq(*license),
                    ))
                    .execute(conn)?;
            }
        }
        let has: i64 = product_components::table.count().get_result(conn)?;
        if has == 0 {
            for (parent, child, quantity) in COMPONENTS {
                let p: i64 = products::table.filter(products::sku.eq(parent)).select(products::id).first(conn)?;
                let c: i64 = products::table.filter(products::sku.eq(child)).select(products::id).first(conn)?;
                diesel::insert_into(product_components::table)
                    .values((
                        product_components::product_id.eq(p),
                        product_components::component_id.eq(c),
                        product_components::quantity.eq(quantity),
                    ))
                    .execute(conn)?;
            }
        }
        Ok(())
    })
}
