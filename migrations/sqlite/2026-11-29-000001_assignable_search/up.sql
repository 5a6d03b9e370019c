-- The assignment search of a partner reads its own accounts' index ranges:
-- by domain identifier among a company's accounts of one kind, and among the
-- accounts a colleague requested (the name ranges have their indexes already).
CREATE INDEX smart_accounts_owner_kind_domain ON smart_accounts (owner_company_id, kind, domain, id);
CREATE INDEX smart_accounts_requested_domain ON smart_accounts (requested_by, domain, id);
