-- One row per change that can move an order into or out of someone's Not
-- Assigned count: the navigation keeps a count until a newer row appears
-- (orders::kept_counts). SQLite commits one writer at a time, so ids appear
-- in commit order.
CREATE TABLE worklist_changes (
    id INTEGER PRIMARY KEY,
    changed_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TRIGGER orders_worklist_insert AFTER INSERT ON orders
    WHEN NEW.sa_rank <> 0
BEGIN
    INSERT INTO worklist_changes (changed_at) VALUES (CURRENT_TIMESTAMP);
END;
CREATE TRIGGER orders_worklist_delete AFTER DELETE ON orders
    WHEN OLD.sa_rank <> 0
BEGIN
    INSERT INTO worklist_changes (changed_at) VALUES (CURRENT_TIMESTAMP);
END;
CREATE TRIGGER orders_worklist_update AFTER UPDATE ON orders
    WHEN OLD.sa_rank IS NOT NEW.sa_rank
      OR OLD.company_id IS NOT NEW.company_id
      OR OLD.holding_account_id IS NOT NEW.holding_account_id
      OR OLD.holding_virtual_account_id IS NOT NEW.holding_virtual_account_id
      OR OLD.associated_holding_account_id IS NOT NEW.associated_holding_account_id
      OR OLD.handoff_company_id IS NOT NEW.handoff_company_id
BEGIN
    INSERT INTO worklist_changes (changed_at) VALUES (CURRENT_TIMESTAMP);
END;
