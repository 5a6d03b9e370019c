use diesel::prelude::*;

use crate::db::schema::{sign_in_failures, users};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub company_id: Option<i64>,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub notify_orders: bool,
    pub notify_reminders: bool,
    #[diesel(deserialize_as = crate::db::stamp::Stamp)]
    pub created_at: chrono::NaiveDateTime,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub last_sign_in_at: Option<chrono::NaiveDateTime>,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub email_confirmed_at: Option<chrono::NaiveDateTime>,
    pub is_company_admin: bool,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub deactivated_at: Option<chrono::NaiveDateTime>,
    pub requested_company_name: Option<String>,
    pub totp_secret: Option<String>,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub totp_enabled_at: Option<chrono::NaiveDateTime>,
    pub totp_last_step: Option<i64>,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub company_id: Option<i64>,
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub notify_orders: bool,
    pub notify_reminders: bool,
    pub created_at: chrono::NaiveDateTime,
    pub email_confirmed_at: Option<chrono::NaiveDateTime>,
    pub is_company_admin: bool,
    pub requested_company_name: Option<&'a str>,
}

#[derive(Insertable)]
#[diesel(table_name = sign_in_failures)]
pub struct NewSignInFailure<'a> {
    pub email: &'a str,
    pub ip: &'a str,
    pub at: chrono::NaiveDateTime,
}
