CREATE TABLE smart_accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    domain TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('holding', 'customer')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'pending_domain_review', 'active', 'rejected')),
    owner_company_id INTEGER REFERENCES companies (id),
    requested_by INTEGER NOT NULL REFERENCES users (id),
    approver_email TEXT NOT NULL,
    domain_edited BOOLEAN NOT NULL,
    duplicate_reason TEXT,
    company_name TEXT,
    country TEXT,
    address TEXT,
    state_province TEXT,
    postal_code TEXT,
    rejection_reason TEXT,
    agreement_accepted_at TIMESTAMP,
    agreement_accepted_by INTEGER REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    activated_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 0
);
-- Search by name and domain prefix (case-insensitive), and the review queue.
CREATE INDEX smart_accounts_name ON smart_accounts (name COLLATE NOCASE, id);
CREATE INDEX smart_accounts_status ON smart_accounts (status, created_at, id);
CREATE INDEX smart_accounts_requested_by ON smart_accounts (requested_by, id);

CREATE TABLE virtual_accounts (
    id INTEGER PRIMARY KEY,
    smart_account_id INTEGER NOT NULL REFERENCES smart_accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    is_public BOOLEAN NOT NULL,
    is_default BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (smart_account_id, name_key)
);

CREATE TABLE account_roles (
    id INTEGER PRIMARY KEY,
    smart_account_id INTEGER NOT NULL REFERENCES smart_accounts (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id),
    role TEXT NOT NULL CHECK (role IN ('sa_administrator', 'sa_user', 'sa_approver', 'va_administrator', 'va_user')),
    partner_access BOOLEAN NOT NULL,
    granted_by INTEGER REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (smart_account_id, user_id)
);
CREATE INDEX account_roles_user ON account_roles (user_id, smart_account_id);

CREATE TABLE account_role_virtual_accounts (
    account_role_id INTEGER NOT NULL REFERENCES account_roles (id) ON DELETE CASCADE,
    virtual_account_id INTEGER NOT NULL REFERENCES virtual_accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (account_role_id, virtual_account_id)
);
CREATE INDEX account_role_virtual_accounts_va ON account_role_virtual_accounts (virtual_account_id);

-- People nominated as administrators who have no user yet; granted when they register.
CREATE TABLE account_nominations (
    id INTEGER PRIMARY KEY,
    smart_account_id INTEGER NOT NULL REFERENCES smart_accounts (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (smart_account_id, email)
);
CREATE INDEX account_nominations_email ON account_nominations (email);

CREATE TABLE setup_links (
    id INTEGER PRIMARY KEY,
    smart_account_id INTEGER NOT NULL REFERENCES smart_accounts (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX setup_links_account ON setup_links (smart_account_id);

CREATE TABLE access_requests (
    id INTEGER PRIMARY KEY,
    smart_account_id INTEGER NOT NULL REFERENCES smart_accounts (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id),
    message TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
    decided_by INTEGER REFERENCES users (id),
    decided_at TIMESTAMP,
    reason TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX access_requests_account ON access_requests (smart_account_id, status, id);
CREATE INDEX access_requests_user ON access_requests (user_id, id);

CREATE TABLE account_events (
    id INTEGER PRIMARY KEY,
    smart_account_id INTEGER NOT NULL REFERENCES smart_accounts (id) ON DELETE CASCADE,
    virtual_account_id INTEGER REFERENCES virtual_accounts (id) ON DELETE SET NULL,
    actor_user_id INTEGER REFERENCES users (id),
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX account_events_list ON account_events (smart_account_id, created_at, id);
