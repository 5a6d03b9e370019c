DROP INDEX smart_accounts_owner_kind_name;
CREATE INDEX smart_accounts_owner_kind_name ON smart_accounts (owner_company_id, kind, name_key, id);
DROP INDEX smart_accounts_owner_kind_domain;
CREATE INDEX smart_accounts_owner_kind_domain ON smart_accounts (owner_company_id, kind, domain, id);
