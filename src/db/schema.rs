// The tables, shared by the SQLite and PostgreSQL migrations.

diesel::table! {
    companies (id) {
        id -> BigInt,
        name -> Text,
        kind -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    company_domains (id) {
        id -> BigInt,
        company_id -> BigInt,
        domain -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        company_id -> BigInt,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        notify_orders -> Bool,
        notify_reminders -> Bool,
        created_at -> Timestamp,
        last_sign_in_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        kind -> Text,
        dedupe_key -> Nullable<Text>,
        created_at -> Timestamp,
        next_attempt_at -> Timestamp,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sign_in_failures (id) {
        id -> BigInt,
        email -> Text,
        ip -> Text,
        at -> Timestamp,
    }
}

diesel::joinable!(company_domains -> companies (company_id));
diesel::joinable!(users -> companies (company_id));

diesel::allow_tables_to_appear_in_same_query!(
    companies,
    company_domains,
    users,
    outbox,
    sign_in_failures
);
