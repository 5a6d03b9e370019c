-- People before companies: a person may exist with a confirmed (or not yet
-- confirmed) address and no company until membership is granted.
ALTER TABLE users ALTER COLUMN company_id DROP NOT NULL;
ALTER TABLE users ADD COLUMN email_confirmed_at TIMESTAMP;
ALTER TABLE users ADD COLUMN is_company_admin BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN deactivated_at TIMESTAMP;
ALTER TABLE users ADD COLUMN requested_company_name TEXT;
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_enabled_at TIMESTAMP;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
UPDATE users SET email_confirmed_at = created_at;
-- Every existing company gets its first member as company administrator.
UPDATE users SET is_company_admin = TRUE WHERE id IN (SELECT min(id) FROM users GROUP BY company_id);

-- One row per signed-in browser; the session cookie names it by a random token kept hashed here.
CREATE TABLE user_sessions (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
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
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    purpose TEXT NOT NULL CHECK (purpose IN ('confirm_email', 'reset_password')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX user_tokens_user ON user_tokens (user_id, purpose, created_at);

CREATE TABLE membership_requests (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    company_id BIGINT NOT NULL REFERENCES companies (id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
    created_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    decided_by BIGINT REFERENCES users (id)
);
CREATE INDEX membership_requests_company ON membership_requests (company_id, status, id);
CREATE INDEX membership_requests_user ON membership_requests (user_id, id);

CREATE TABLE invitations (
    id BIGSERIAL PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies (id),
    email TEXT NOT NULL,
    invited_by BIGINT NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL UNIQUE,
    smart_account_id BIGINT REFERENCES smart_accounts (id),
    role TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    accepted_at TIMESTAMP,
    withdrawn_at TIMESTAMP
);
CREATE INDEX invitations_company ON invitations (company_id, id);

CREATE TABLE recovery_codes (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    code_hash TEXT NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

CREATE TABLE security_events (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT REFERENCES users (id),
    company_id BIGINT REFERENCES companies (id),
    actor_user_id BIGINT REFERENCES users (id),
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    ip TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX security_events_user ON security_events (user_id, id);
CREATE INDEX security_events_company ON security_events (company_id, id);
