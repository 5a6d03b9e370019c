-- One row per change that can move an order into or out of someone's Not
-- Assigned count: the navigation keeps a count until a row appears that the
-- count could not have seen (orders::kept_counts).
CREATE TABLE worklist_changes (
    id BIGSERIAL PRIMARY KEY,
    xact xid8 NOT NULL DEFAULT pg_current_xact_id(),
    changed_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);
CREATE INDEX worklist_changes_xact ON worklist_changes (xact);

CREATE FUNCTION worklist_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO worklist_changes DEFAULT VALUES;
    RETURN NULL;
END
$$;

CREATE TRIGGER orders_worklist_insert AFTER INSERT ON orders FOR EACH ROW
    WHEN (NEW.sa_rank <> 0) EXECUTE FUNCTION worklist_changed();
CREATE TRIGGER orders_worklist_delete AFTER DELETE ON orders FOR EACH ROW
    WHEN (OLD.sa_rank <> 0) EXECUTE FUNCTION worklist_changed();
CREATE TRIGGER orders_worklist_update AFTER UPDATE ON orders FOR EACH ROW
    WHEN (OLD.sa_rank IS DISTINCT FROM NEW.sa_rank
       OR OLD.company_id IS DISTINCT FROM NEW.company_id
       OR OLD.holding_account_id IS DISTINCT FROM NEW.holding_account_id
       OR OLD.holding_virtual_account_id IS DISTINCT FROM NEW.holding_virtual_account_id
       OR OLD.associated_holding_account_id IS DISTINCT FROM NEW.associated_holding_account_id
       OR OLD.handoff_company_id IS DISTINCT FROM NEW.handoff_company_id)
    EXECUTE FUNCTION worklist_changed();
