DROP INDEX smart_accounts_owner;
DROP INDEX virtual_accounts_name_key;
DROP INDEX smart_accounts_domain_search;
DROP INDEX smart_accounts_name_key;
ALTER TABLE smart_accounts ALTER COLUMN domain TYPE TEXT;
ALTER TABLE smart_accounts DROP COLUMN name_key;
