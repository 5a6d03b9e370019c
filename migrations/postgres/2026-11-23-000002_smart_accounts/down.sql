DROP TABLE account_events;
DROP TABLE access_requests;
DROP TABLE setup_links;
DROP TABLE account_nominations;
DROP TABLE account_role_virtual_accounts;
DROP TABLE account_roles;
DROP TABLE virtual_accounts;
DROP TABLE smart_accounts;
