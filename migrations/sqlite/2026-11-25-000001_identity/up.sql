-- People before companies: a person may exist with a confirmed (or not yet
-- confirmed) address and no company until membership is granted.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE users_new (
    id INTEGER PRIMARY KEY,
    company_id INTEGER REFERENCES companies (id),
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    notify_orders BOOLEAN NOT NULL DEFAULT 1,
    notify_reminders BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    last_sign_in_at TIMESTAMP,
    email_confirmed_at TIMESTAMP,
    is_company_admin BOOLEAN NOT NULL DEFAULT 0,
    deactivated_at TIMESTAMP,
    requested_company_name TEXT,
    totp_secret TEXT,
    totp_enabled_at TIMESTAMP,
    totp_last_step BIGINT
);
INSERT INTO users_new (id, company_id, email, name, password_hash, notify_orders, notify_reminders, created_at, last_sign_in_at, email_confirmed_at)
    SELECT id, company_id, email, name, password_hash, notify_orders, notify_reminders, created_at, last_sign_in_at, created_at FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE INDEX users_company ON users (company_id, id);
-- Every existing company gets its first member as company administrator.
UPDATE users SET is_company_admin = 1 WHERE id IN (SELECT min(id) FROM users GROUP BY company_id);

-- One row per signed-in browser; the session cookie names it by a random token kept hashed here.
CREATE TABLE user_sessions (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    ended_at TIMESTAMP
);
CREATE INDEX user_sessions_user ON user_sessions (user_id, created_at);

-- Single-use links mailed to a person: confirm the address, reset the password.
CREATE TABLE user_tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    purpose TEXT NOT NULL CHECK (purpose IN ('confirm_email', 'reset_password')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX user_tokens_user ON user_tokens (user_id, purpose, created_at);

CREATE TABLE membership_requests (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    company_id INTEGER NOT NULL REFERENCES companies (id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
    created_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    decided_by INTEGER REFERENCES users (id)
);
CREATE INDEX membership_requests_company ON membership_requests (company_id, status, id);
CREATE INDEX membership_requests_user ON membership_requests (user_id, id);

CREATE TABLE invitations (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    email TEXT NOT NULL,
    invited_by INTEGER NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL UNIQUE,
    smart_account_id INTEGER REFERENCES smart_accounts (id),
    role TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    accepted_at TIMESTAMP,
    withdrawn_at TIMESTAMP
);
CREATE INDEX invitations_company ON invitations (company_id, id);

CREATE TABLE recovery_codes (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    code_hash TEXT NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

CREATE TABLE security_events (
    id INTEGER PRIMARY KEY,
    user_id INTEGER REFERENCES users (id),
    company_id INTEGER REFERENCES companies (id),
    actor_user_id INTEGER REFERENCES users (id),
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    ip TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX security_events_user ON security_events (user_id, id);
CREATE INDEX security_events_company ON security_events (company_id, id);
