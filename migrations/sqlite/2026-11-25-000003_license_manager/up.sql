-- The license manager: transfers and claims (movements of license batches),
-- registration tokens, devices (product instances) and their consumption,
-- shortage episodes, daily usage figures.

-- A PAK license batch waits to be claimed into a VA (claimed_at NULL) or is claimed.
ALTER TABLE licenses ADD COLUMN claimed_at TIMESTAMP;
ALTER TABLE licenses ADD COLUMN claimed_by INTEGER REFERENCES users (id);
CREATE INDEX licenses_va_name ON licenses (virtual_account_id, license_name);

-- The claim code printed on a PAK line's certificate.
ALTER TABLE order_lines ADD COLUMN pak_code TEXT;
CREATE UNIQUE INDEX order_lines_pak_code ON order_lines (pak_code);

-- Every move of licenses inside an account: transfers between VAs, PAK claims.
CREATE TABLE license_movements (
    id INTEGER PRIMARY KEY,
    smart_account_id INTEGER NOT NULL REFERENCES smart_accounts (id) ON DELETE CASCADE,
    order_line_id INTEGER REFERENCES order_lines (id),
    license_name TEXT NOT NULL,
    from_virtual_account_id INTEGER REFERENCES virtual_accounts (id) ON DELETE SET NULL,
    to_virtual_account_id INTEGER REFERENCES virtual_accounts (id) ON DELETE SET NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    how TEXT NOT NULL CHECK (how IN ('transfer', 'claim')),
    reason TEXT NOT NULL,
    actor_user_id INTEGER REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX license_movements_account ON license_movements (smart_account_id, created_at, id);
CREATE INDEX license_movements_line ON license_movements (order_line_id, id);

CREATE TABLE registration_tokens (
    id INTEGER PRIMARY KEY,
    smart_account_id INTEGER NOT NULL REFERENCES smart_accounts (id) ON DELETE CASCADE,
    virtual_account_id INTEGER NOT NULL REFERENCES virtual_accounts (id) ON DELETE CASCADE,
    description TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    token_hint TEXT NOT NULL,
    export_controlled BOOLEAN NOT NULL,
    max_uses INTEGER,
    uses INTEGER NOT NULL DEFAULT 0,
    expires_at TIMESTAMP NOT NULL,
    created_by INTEGER REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    revoked_by INTEGER REFERENCES users (id)
);
CREATE INDEX registration_tokens_va ON registration_tokens (virtual_account_id, created_at, id);
CREATE INDEX registration_tokens_expiry ON registration_tokens (smart_account_id, expires_at);

CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    smart_account_id INTEGER NOT NULL REFERENCES smart_accounts (id) ON DELETE CASCADE,
    virtual_account_id INTEGER NOT NULL REFERENCES virtual_accounts (id) ON DELETE CASCADE,
    token_id INTEGER REFERENCES registration_tokens (id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    product_id INTEGER NOT NULL REFERENCES products (id),
    license_name TEXT NOT NULL,
    licenses INTEGER NOT NULL CHECK (licenses >= 0),
    secret_hash TEXT NOT NULL,
    registered_at TIMESTAMP NOT NULL,
    last_contact_at TIMESTAMP NOT NULL,
    removed_at TIMESTAMP
);
-- Keyset pages per VA by name and by last contact; consumption per VA and product.
CREATE INDEX devices_va_name ON devices (virtual_account_id, name_key, id) WHERE removed_at IS NULL;
CREATE INDEX devices_va_contact ON devices (virtual_account_id, last_contact_at, id) WHERE removed_at IS NULL;
CREATE INDEX devices_consumption ON devices (virtual_account_id, license_name, licenses) WHERE removed_at IS NULL;
CREATE INDEX devices_account ON devices (smart_account_id, last_contact_at) WHERE removed_at IS NULL;

-- What the live devices of a VA use of each product, kept by every device
-- change in its transaction (pages and reports read it instead of summing devices).
CREATE TABLE license_consumption (
    id INTEGER PRIMARY KEY,
    smart_account_id INTEGER NOT NULL REFERENCES smart_accounts (id) ON DELETE CASCADE,
    virtual_account_id INTEGER NOT NULL REFERENCES virtual_accounts (id) ON DELETE CASCADE,
    license_name TEXT NOT NULL,
    in_use BIGINT NOT NULL
);
CREATE UNIQUE INDEX license_consumption_key ON license_consumption (virtual_account_id, license_name);
CREATE INDEX license_consumption_account ON license_consumption (smart_account_id);

-- One row per shortage episode: opened when in use passes owned, closed when it no longer does.
CREATE TABLE license_shortages (
    id INTEGER PRIMARY KEY,
    smart_account_id INTEGER NOT NULL REFERENCES smart_accounts (id) ON DELETE CASCADE,
    virtual_account_id INTEGER NOT NULL REFERENCES virtual_accounts (id) ON DELETE CASCADE,
    license_name TEXT NOT NULL,
    shortage INTEGER NOT NULL,
    started_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP
);
CREATE UNIQUE INDEX license_shortages_open ON license_shortages (virtual_account_id, license_name) WHERE resolved_at IS NULL;
CREATE INDEX license_shortages_account ON license_shortages (smart_account_id, resolved_at);

CREATE TABLE license_usage_daily (
    id INTEGER PRIMARY KEY,
    smart_account_id INTEGER NOT NULL REFERENCES smart_accounts (id) ON DELETE CASCADE,
    virtual_account_id INTEGER NOT NULL REFERENCES virtual_accounts (id) ON DELETE CASCADE,
    license_name TEXT NOT NULL,
    day DATE NOT NULL,
    owned INTEGER NOT NULL,
    in_use INTEGER NOT NULL
);
CREATE UNIQUE INDEX license_usage_daily_key ON license_usage_daily (virtual_account_id, license_name, day);
CREATE INDEX license_usage_daily_account ON license_usage_daily (smart_account_id, day);

-- Licenses deposited before the license manager count as claimed.
UPDATE licenses SET claimed_at = created_at WHERE claimed_at IS NULL;
