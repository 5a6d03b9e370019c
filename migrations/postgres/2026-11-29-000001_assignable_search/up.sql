-- The assignment search of a partner reads its own accounts' index ranges:
-- by domain identifier among a company's accounts of one kind, and among the
-- accounts a colleague requested (the name ranges have their indexes already).
CREATE INDEX smart_accounts_owner_kind_domain ON smart_accounts (owner_company_id, kind, domain, id);
CREATE INDEX smart_accounts_requested_domain ON smart_accounts (requested_by, domain, id);
-- Accounts are requested by many people. A sample that sees one requester
-- with most of them (accounts created in bulk) must not lead the planner to
-- read a person's requests by walking every name: declare the column's
-- distinct values (about one requester for every two accounts); ANALYZE keeps it.
ALTER TABLE smart_accounts ALTER COLUMN requested_by SET (n_distinct = -0.5);
