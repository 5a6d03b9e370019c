use diesel::prelude::*;

use crate::db::schema::{access_requests, account_events, account_roles, setup_links, smart_accounts, virtual_accounts};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = smart_accounts)]
pub struct SmartAccountRow {
    pub id: i64,
    pub name: String,
    pub domain: String,
    pub kind: String,
    pub status: String,
    pub owner_company_id: Option<i64>,
    pub requested_by: i64,
    pub approver_email: String,
    pub domain_edited: bool,
    pub duplicate_reason: Option<String>,
    pub company_name: Option<String>,
    pub country: Option<String>,
    pub address: Option<String>,
    pub state_province: Option<String>,
    pub postal_code: Option<String>,
    pub rejection_reason: Option<String>,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub agreement_accepted_at: Option<chrono::NaiveDateTime>,
    pub agreement_accepted_by: Option<i64>,
    #[diesel(deserialize_as = crate::db::stamp::Stamp)]
    pub created_at: chrono::NaiveDateTime,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub activated_at: Option<chrono::NaiveDateTime>,
    pub version: i32,
    pub name_key: String,
}

#[derive(Insertable)]
#[diesel(table_name = smart_accounts)]
pub struct NewSmartAccount<'a> {
    pub name: &'a str,
    pub domain: &'a str,
    pub kind: &'a str,
    pub status: &'a str,
    pub owner_company_id: Option<i64>,
    pub requested_by: i64,
    pub approver_email: &'a str,
    pub domain_edited: bool,
    pub duplicate_reason: Option<&'a str>,
    pub company_name: Option<&'a str>,
    pub country: Option<&'a str>,
    pub address: Option<&'a str>,
    pub state_province: Option<&'a str>,
    pub postal_code: Option<&'a str>,
    pub created_at: chrono::NaiveDateTime,
    pub version: i32,
    pub name_key: &'a str,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = virtual_accounts)]
pub struct VirtualAccountRow {
    pub id: i64,
    pub smart_account_id: i64,
    pub name: String,
    pub name_key: String,
    pub description: String,
    pub is_public: bool,
    pub is_default: bool,
    #[diesel(deserialize_as = crate::db::stamp::Stamp)]
    pub created_at: chrono::NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = virtual_accounts)]
pub struct NewVirtualAccount<'a> {
    pub smart_account_id: i64,
    pub name: &'a str,
    pub name_key: &'a str,
    pub description: &'a str,
    pub is_public: bool,
    pub is_default: bool,
    pub created_at: chrono::NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = account_roles)]
pub struct AccountRoleRow {
    pub id: i64,
    pub smart_account_id: i64,
    pub user_id: i64,
    pub role: String,
    pub partner_access: bool,
    pub granted_by: Option<i64>,
    #[diesel(deserialize_as = crate::db::stamp::Stamp)]
    pub created_at: chrono::NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = account_roles)]
pub struct NewAccountRole<'a> {
    pub smart_account_id: i64,
    pub user_id: i64,
    pub role: &'a str,
    pub partner_access: bool,
    pub granted_by: Option<i64>,
    pub created_at: chrono::NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = setup_links)]
pub struct SetupLinkRow {
    pub id: i64,
    pub smart_account_id: i64,
    pub token_hash: String,
    pub email: String,
    #[diesel(deserialize_as = crate::db::stamp::Stamp)]
    pub created_at: chrono::NaiveDateTime,
    #[diesel(deserialize_as = crate::db::stamp::Stamp)]
    pub expires_at: chrono::NaiveDateTime,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub used_at: Option<chrono::NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = access_requests)]
pub struct AccessRequestRow {
    pub id: i64,
    pub smart_account_id: i64,
    pub user_id: i64,
    pub message: String,
    pub status: String,
    pub decided_by: Option<i64>,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub decided_at: Option<chrono::NaiveDateTime>,
    pub reason: Option<String>,
    #[diesel(deserialize_as = crate::db::stamp::Stamp)]
    pub created_at: chrono::NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = account_events)]
pub struct AccountEventRow {
    pub id: i64,
    pub smart_account_id: i64,
    pub virtual_account_id: Option<i64>,
    pub actor_user_id: Option<i64>,
    pub kind: String,
    pub detail: String,
    #[diesel(deserialize_as = crate::db::stamp::Stamp)]
    pub created_at: chrono::NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = account_events)]
pub struct NewAccountEvent<'a> {
    pub smart_account_id: i64,
    pub virtual_account_id: Option<i64>,
    pub actor_user_id: Option<i64>,
    pub kind: &'a str,
    pub detail: &'a str,
    pub created_at: chrono::NaiveDateTime,
}
