CREATE TABLE products (
    id BIGSERIAL PRIMARY KEY,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    category TEXT NOT NULL CHECK (category IN ('smart_license', 'pak', 'hardware', 'service')),
    sa_requirement TEXT NOT NULL CHECK (sa_requirement IN ('mandatory', 'optional', 'none')),
    configurable BOOLEAN NOT NULL,
    unit_price_cents BIGINT NOT NULL,
    license_name TEXT
);

-- The minor lines a configurable (assemble-to-order) product brings.
CREATE TABLE product_components (
    id BIGSERIAL PRIMARY KEY,
    product_id BIGINT NOT NULL REFERENCES products (id),
    component_id BIGINT NOT NULL REFERENCES products (id),
    quantity INTEGER NOT NULL
);
CREATE INDEX product_components_product ON product_components (product_id);

CREATE TABLE orders (
    id BIGSERIAL PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies (id),
    created_by BIGINT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    end_customer_name TEXT NOT NULL,
    end_customer_domain TEXT NOT NULL,
    order_type TEXT NOT NULL CHECK (order_type IN ('standard', 'stocking')),
    status TEXT NOT NULL CHECK (status IN ('quote', 'draft', 'submitted', 'booked', 'shipped', 'cancelled')),
    internal BOOLEAN NOT NULL,
    holding_account_id BIGINT REFERENCES smart_accounts (id),
    default_account_id BIGINT REFERENCES smart_accounts (id),
    default_virtual_account_id BIGINT REFERENCES virtual_accounts (id),
    associated_holding_account_id BIGINT REFERENCES smart_accounts (id),
    sales_order_number TEXT,
    created_at TIMESTAMP NOT NULL,
    converted_at TIMESTAMP,
    submitted_at TIMESTAMP,
    booked_at TIMESTAMP,
    shipped_at TIMESTAMP,
    licenses_due_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX orders_company ON orders (company_id, created_at, id);
CREATE INDEX orders_holding ON orders (holding_account_id, created_at, id);
CREATE INDEX orders_associated ON orders (associated_holding_account_id, created_at, id);
CREATE INDEX orders_provisioning ON orders (status, licenses_due_at);

CREATE TABLE order_lines (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no INTEGER NOT NULL,
    parent_line_id BIGINT REFERENCES order_lines (id) ON DELETE CASCADE,
    product_id BIGINT NOT NULL REFERENCES products (id),
    quantity INTEGER NOT NULL,
    unit_price_cents BIGINT NOT NULL,
    account_id BIGINT REFERENCES smart_accounts (id),
    virtual_account_id BIGINT REFERENCES virtual_accounts (id),
    licenses_deposited_at TIMESTAMP
);
CREATE INDEX order_lines_order ON order_lines (order_id, line_no);
CREATE INDEX order_lines_account ON order_lines (account_id, order_id);

-- Every change of assignment: header or line, who, when, from, to, how.
CREATE TABLE assignment_events (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_id BIGINT REFERENCES order_lines (id) ON DELETE CASCADE,
    actor_user_id BIGINT REFERENCES users (id),
    how TEXT NOT NULL,
    target TEXT NOT NULL,
    from_label TEXT NOT NULL,
    to_label TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX assignment_events_order ON assignment_events (order_id, id);

CREATE TABLE licenses (
    id BIGSERIAL PRIMARY KEY,
    smart_account_id BIGINT NOT NULL REFERENCES smart_accounts (id),
    virtual_account_id BIGINT NOT NULL REFERENCES virtual_accounts (id),
    license_name TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    in_use INTEGER NOT NULL DEFAULT 0,
    order_line_id BIGINT REFERENCES order_lines (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX licenses_account ON licenses (smart_account_id, virtual_account_id);
