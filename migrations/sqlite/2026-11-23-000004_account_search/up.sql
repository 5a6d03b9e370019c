-- Lowercased name for case-insensitive prefix search by index range on both backends.
ALTER TABLE smart_accounts ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE smart_accounts SET name_key = lower(name);
CREATE INDEX smart_accounts_name_key ON smart_accounts (name_key, id);
CREATE INDEX smart_accounts_domain_search ON smart_accounts (domain, id);
