-- The Smart Account Orders list, kept up to date by every change of an
-- order's assignment: sa_rank 0 = not listed, 1 = Not Assigned, 2 = Assigned.
ALTER TABLE orders ADD COLUMN sa_rank INTEGER NOT NULL DEFAULT 0;
-- When the order's lines started waiting in a holding account (or, for an
-- order assigned straight away, when it was submitted); set for listed orders.
ALTER TABLE orders ADD COLUMN waiting_since TIMESTAMP;
-- When every line that needs one got its customer account.
ALTER TABLE orders ADD COLUMN assigned_at TIMESTAMP;
-- The virtual account of the holding account the order is parked in.
ALTER TABLE orders ADD COLUMN holding_virtual_account_id BIGINT REFERENCES virtual_accounts (id);
-- A distributor handed the order to this reseller's holding account: from
-- then on the distributor does not see which customer account it chose.
ALTER TABLE orders ADD COLUMN handoff_company_id BIGINT REFERENCES companies (id);
ALTER TABLE orders ADD COLUMN handoff_at TIMESTAMP;
-- Sort keys (lowercase) for the end customer and the holding account's name.
ALTER TABLE orders ADD COLUMN end_customer_key TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN holding_name_key TEXT COLLATE "C" NOT NULL DEFAULT '';
-- How many reminders of the schedule went out while the order waits.
ALTER TABLE orders ADD COLUMN reminders_sent INTEGER NOT NULL DEFAULT 0;
-- The one customer account all of the order's assigned lines are in (NULL
-- when none, or when they are in several: those are in mixed_order_accounts).
ALTER TABLE orders ADD COLUMN customer_account_id BIGINT REFERENCES smart_accounts (id);
UPDATE orders SET end_customer_key = lower(end_customer_name);

-- Each audience's list, Not Assigned first and longest waiting first.
CREATE INDEX orders_sa_company ON orders (company_id, sa_rank, waiting_since, id);
CREATE INDEX orders_sa_holding ON orders (holding_account_id, sa_rank, waiting_since, id);
CREATE INDEX orders_sa_holding_va ON orders (holding_virtual_account_id, sa_rank, waiting_since, id);
CREATE INDEX orders_sa_associated ON orders (associated_holding_account_id, sa_rank, waiting_since, id);
CREATE INDEX orders_sa_all ON orders (sa_rank, waiting_since, id);
CREATE INDEX orders_sa_customer ON orders (customer_account_id, sa_rank, waiting_since, id);
-- Sorting by end customer pages through an index too, for the large audiences.
CREATE INDEX orders_customer_name_company ON orders (company_id, end_customer_key, id);
CREATE INDEX orders_customer_name_holding ON orders (holding_account_id, end_customer_key, id);
CREATE INDEX orders_customer_name_customer ON orders (customer_account_id, end_customer_key, id);
-- The reminder worker: Not Assigned orders by reminders sent and wait.
CREATE INDEX orders_reminders ON orders (sa_rank, reminders_sent, waiting_since);
CREATE INDEX order_lines_virtual_account ON order_lines (virtual_account_id, order_id);
CREATE INDEX licenses_order_line ON licenses (order_line_id);

-- Recorded after a hand-off to a reseller by the reseller's side: the
-- distributor sees "assigned by reseller" instead of the labels.
ALTER TABLE assignment_events ADD COLUMN masked BOOLEAN NOT NULL DEFAULT FALSE;

-- A partner asks operations to move licenses already in a customer account.
CREATE TABLE cases (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    opened_by BIGINT NOT NULL REFERENCES users (id),
    reason TEXT NOT NULL,
    target_account_id BIGINT NOT NULL REFERENCES smart_accounts (id),
    target_virtual_account_id BIGINT REFERENCES virtual_accounts (id),
    -- Comma-separated order line ids the case is about.
    line_ids TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'resolved', 'declined')),
    resolution TEXT NOT NULL DEFAULT '',
    resolved_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP
);
CREATE INDEX cases_status ON cases (status, created_at, id);
CREATE INDEX cases_order ON cases (order_id, id);

-- Byte order for the list's text sort keys, as on SQLite.
ALTER TABLE orders ALTER COLUMN status TYPE TEXT COLLATE "C";
ALTER TABLE orders ALTER COLUMN sales_order_number TYPE TEXT COLLATE "C";

-- Orders whose lines are in several customer accounts, one row per account.
CREATE TABLE mixed_order_accounts (
    order_id BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES smart_accounts (id),
    PRIMARY KEY (order_id, account_id)
);
CREATE INDEX mixed_order_accounts_account ON mixed_order_accounts (account_id, order_id);
