use diesel::prelude::*;

use crate::db::schema::outbox;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = outbox)]
pub struct OutboxMessage {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub kind: String,
    pub dedupe_key: Option<String>,
    #[diesel(deserialize_as = crate::db::stamp::Stamp)]
    pub created_at: chrono::NaiveDateTime,
    #[diesel(deserialize_as = crate::db::stamp::Stamp)]
    pub next_attempt_at: chrono::NaiveDateTime,
    pub attempts: i32,
    pub last_error: Option<String>,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub claimed_until: Option<chrono::NaiveDateTime>,
    #[diesel(deserialize_as = crate::db::stamp::MaybeStamp)]
    pub sent_at: Option<chrono::NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = outbox)]
pub struct NewOutboxMessage<'a> {
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub kind: &'a str,
    pub dedupe_key: Option<&'a str>,
    pub created_at: chrono::NaiveDateTime,
    pub next_attempt_at: chrono::NaiveDateTime,
    pub attempts: i32,
}
