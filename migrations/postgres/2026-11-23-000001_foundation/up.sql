CREATE TABLE companies (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('distributor', 'reseller', 'service_provider', 'customer', 'operations')),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX companies_name ON companies (lower(name) COLLATE "C", id);

CREATE TABLE company_domains (
    id BIGSERIAL PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    domain TEXT NOT NULL UNIQUE
);
CREATE INDEX company_domains_company ON company_domains (company_id);

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies (id),
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    notify_orders BOOLEAN NOT NULL DEFAULT TRUE,
    notify_reminders BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    last_sign_in_at TIMESTAMP
);
CREATE INDEX users_company ON users (company_id, id);

-- Messages waiting to be sent; written in the transaction of the change that causes them.
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    kind TEXT NOT NULL,
    dedupe_key TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    claimed_until TIMESTAMP,
    sent_at TIMESTAMP
);
-- The worker's query: unsent, due first.
CREATE INDEX outbox_due ON outbox (sent_at, next_attempt_at, id);

CREATE TABLE sign_in_failures (
    id BIGSERIAL PRIMARY KEY,
    email TEXT NOT NULL,
    ip TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX sign_in_failures_email ON sign_in_failures (email, at);
CREATE INDEX sign_in_failures_ip ON sign_in_failures (ip, at);
