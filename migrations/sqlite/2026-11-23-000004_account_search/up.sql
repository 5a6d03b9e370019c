-- Lowercased name for case-insensitive prefix search by index range on both backends.
ALTER TABLE smart_accounts ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE smart_accounts SET name_key = lower(name);
-- Covering the search's filters, so the range scan never visits the table.
CREATE INDEX smart_accounts_name_key ON smart_accounts (name_key, id, kind, status, owner_company_id, requested_by);
CREATE INDEX smart_accounts_domain_search ON smart_accounts (domain, id, kind, status, owner_company_id, requested_by);
-- A private virtual account is found by its exact name; accounts by their owner.
CREATE INDEX virtual_accounts_name_key ON virtual_accounts (name_key, is_public);
CREATE INDEX smart_accounts_owner ON smart_accounts (owner_company_id, id);
