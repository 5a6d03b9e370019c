-- Per VA and product, what is owned (claimed batches) beside what the live devices use: the license
-- pages read these rows instead of summing every batch. Owned is kept by the triggers below in the
-- transaction of every change to a batch, whichever code makes it.
ALTER TABLE license_consumption RENAME TO license_figures;
ALTER TABLE license_figures ADD COLUMN owned BIGINT NOT NULL DEFAULT 0;
DROP INDEX license_consumption_key;
DROP INDEX license_consumption_account;
CREATE UNIQUE INDEX license_figures_key ON license_figures (virtual_account_id, license_name);
CREATE INDEX license_figures_account ON license_figures (smart_account_id);

INSERT INTO license_figures (smart_account_id, virtual_account_id, license_name, in_use, owned)
SELECT MIN(smart_account_id), virtual_account_id, license_name, 0, SUM(quantity) FROM licenses
WHERE claimed_at IS NOT NULL AND quantity > 0
GROUP BY virtual_account_id, license_name
ON CONFLICT (virtual_account_id, license_name) DO UPDATE SET owned = excluded.owned;

CREATE TRIGGER licenses_owned_insert AFTER INSERT ON licenses
WHEN NEW.claimed_at IS NOT NULL AND NEW.quantity > 0
BEGIN
    INSERT INTO license_figures (smart_account_id, virtual_account_id, license_name, in_use, owned)
    VALUES (NEW.smart_account_id, NEW.virtual_account_id, NEW.license_name, 0, NEW.quantity)
    ON CONFLICT (virtual_account_id, license_name) DO UPDATE SET owned = owned + excluded.owned;
END;

CREATE TRIGGER licenses_owned_update AFTER UPDATE OF smart_account_id, virtual_account_id, license_name, quantity, claimed_at ON licenses
BEGIN
    UPDATE license_figures SET owned = owned - OLD.quantity
    WHERE virtual_account_id = OLD.virtual_account_id AND license_name = OLD.license_name
      AND OLD.claimed_at IS NOT NULL AND OLD.quantity > 0;
    INSERT INTO license_figures (smart_account_id, virtual_account_id, license_name, in_use, owned)
    SELECT NEW.smart_account_id, NEW.virtual_account_id, NEW.license_name, 0, NEW.quantity
    WHERE NEW.claimed_at IS NOT NULL AND NEW.quantity > 0
    ON CONFLICT (virtual_account_id, license_name) DO UPDATE SET owned = owned + excluded.owned;
END;

CREATE TRIGGER licenses_owned_delete AFTER DELETE ON licenses
WHEN OLD.claimed_at IS NOT NULL AND OLD.quantity > 0
BEGIN
    UPDATE license_figures SET owned = owned - OLD.quantity
    WHERE virtual_account_id = OLD.virtual_account_id AND license_name = OLD.license_name;
END;

-- The batches that came from order lines, for the orders each product lists.
CREATE INDEX licenses_from_orders ON licenses (virtual_account_id, order_line_id) WHERE order_line_id IS NOT NULL;
