-- The home page's worklist and the operations queues, each read oldest first from an index.
-- A person's drafts and quotes.
CREATE INDEX orders_created_by_status ON orders (created_by, status, created_at, id);
-- Orders to book (submitted, by submission) and to ship (booked, by booking).
CREATE INDEX orders_status_submitted ON orders (status, submitted_at, id);
CREATE INDEX orders_status_booked ON orders (status, booked_at, id);
-- The cases a partner opened and that still wait for operations.
CREATE INDEX cases_opened_by ON cases (opened_by, status, created_at, id);
