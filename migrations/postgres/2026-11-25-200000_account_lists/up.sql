-- "Your smart accounts" in name order, a page at a time: the accounts a person requested.
CREATE INDEX smart_accounts_requested_name ON smart_accounts (requested_by, name_key, id);
-- and the accounts they hold a role in.
CREATE INDEX account_roles_user_role ON account_roles (user_id, role, smart_account_id);
