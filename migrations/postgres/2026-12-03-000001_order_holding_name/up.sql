-- The name of the holding account an order is parked in, kept on the order
-- beside its sort key, so a list page shows it without reading the account.
ALTER TABLE orders ADD COLUMN holding_name TEXT NOT NULL DEFAULT '';
UPDATE orders SET holding_name = (SELECT name FROM smart_accounts WHERE smart_accounts.id = orders.holding_account_id)
WHERE holding_account_id IS NOT NULL;
