-- Per VA and product, what is owned (claimed batches) beside what the live devices use: the license
-- pages read these rows instead of summing every batch. Owned is kept by the trigger below in the
-- transaction of every change to a batch, whichever code makes it.
ALTER TABLE license_consumption RENAME TO license_figures;
ALTER TABLE license_figures ADD COLUMN owned BIGINT NOT NULL DEFAULT 0;
ALTER INDEX license_consumption_key RENAME TO license_figures_key;
ALTER INDEX license_consumption_account RENAME TO license_figures_account;

INSERT INTO license_figures (smart_account_id, virtual_account_id, license_name, in_use, owned)
SELECT MIN(smart_account_id), virtual_account_id, license_name, 0, SUM(quantity) FROM licenses
WHERE claimed_at IS NOT NULL AND quantity > 0
GROUP BY virtual_account_id, license_name
ON CONFLICT (virtual_account_id, license_name) DO UPDATE SET owned = EXCLUDED.owned;

CREATE FUNCTION licenses_keep_owned() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        IF OLD.claimed_at IS NOT NULL AND OLD.quantity > 0 THEN
            UPDATE license_figures SET owned = owned - OLD.quantity
            WHERE virtual_account_id = OLD.virtual_account_id AND license_name = OLD.license_name;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.claimed_at IS NOT NULL AND NEW.quantity > 0 THEN
            INSERT INTO license_figures (smart_account_id, virtual_account_id, license_name, in_use, owned)
            VALUES (NEW.smart_account_id, NEW.virtual_account_id, NEW.license_name, 0, NEW.quantity)
            ON CONFLICT (virtual_account_id, license_name) DO UPDATE SET owned = license_figures.owned + EXCLUDED.owned;
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER licenses_owned_insert_delete AFTER INSERT OR DELETE ON licenses
FOR EACH ROW EXECUTE FUNCTION licenses_keep_owned();
CREATE TRIGGER licenses_owned_update AFTER UPDATE OF smart_account_id, virtual_account_id, license_name, quantity, claimed_at ON licenses
FOR EACH ROW EXECUTE FUNCTION licenses_keep_owned();

-- The batches that came from order lines, for the orders each product lists.
CREATE INDEX licenses_from_orders ON licenses (virtual_account_id, order_line_id) WHERE order_line_id IS NOT NULL;
