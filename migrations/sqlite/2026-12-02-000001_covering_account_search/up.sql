-- A company's accounts found by the beginning of their name or domain
-- (the assignment searches, the holding filter): the index that finds
-- each one also gives its status, name and domain, so the search does
-- not read the table row.
DROP INDEX smart_accounts_owner_kind_name;
CREATE INDEX smart_accounts_owner_kind_name ON smart_accounts (owner_company_id, kind, name_key, id, status, name, domain);
DROP INDEX smart_accounts_owner_kind_domain;
CREATE INDEX smart_accounts_owner_kind_domain ON smart_accounts (owner_company_id, kind, domain, id, status, name, name_key);
