ALTER TABLE smart_accounts ALTER COLUMN requested_by RESET (n_distinct);
DROP INDEX smart_accounts_requested_domain;
DROP INDEX smart_accounts_owner_kind_domain;
