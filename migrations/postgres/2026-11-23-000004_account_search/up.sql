-- Lowercased name for case-insensitive prefix search by index range on both
-- backends; byte ("C") collation so a range scan serves "starts with".
ALTER TABLE smart_accounts ADD COLUMN name_key TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE smart_accounts SET name_key = lower(name);
ALTER TABLE smart_accounts ALTER COLUMN domain TYPE TEXT COLLATE "C";
CREATE INDEX smart_accounts_name_key ON smart_accounts (name_key, id);
CREATE INDEX smart_accounts_domain_search ON smart_accounts (domain, id);
