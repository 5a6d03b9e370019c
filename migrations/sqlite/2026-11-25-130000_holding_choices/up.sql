-- The holding-account filter of Smart Account Orders: a company's holding accounts in name order.
CREATE INDEX smart_accounts_owner_kind_name ON smart_accounts (owner_company_id, kind, name_key, id);
