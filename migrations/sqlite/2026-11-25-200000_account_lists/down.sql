DROP INDEX account_roles_user_role;
DROP INDEX smart_accounts_requested_name;
