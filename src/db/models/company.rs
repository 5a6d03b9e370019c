use diesel::prelude::*;

use crate::db::schema::{companies, company_domains};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = companies)]
pub struct Company {
    pub id: i64,
    pub name: String,
    pub kind: String,
    #[diesel(deserialize_as = crate::db::stamp::Stamp)]
    pub created_at: chrono::NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = companies)]
pub struct NewCompany<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub created_at: chrono::NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = company_domains)]
pub struct NewCompanyDomain<'a> {
    pub company_id: i64,
    pub domain: &'a str,
}
