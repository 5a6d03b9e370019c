DROP INDEX licenses_from_orders;
DROP TRIGGER licenses_owned_update ON licenses;
DROP TRIGGER licenses_owned_insert_delete ON licenses;
DROP FUNCTION licenses_keep_owned();
DELETE FROM license_figures WHERE in_use = 0;
ALTER TABLE license_figures DROP COLUMN owned;
ALTER INDEX license_figures_key RENAME TO license_consumption_key;
ALTER INDEX license_figures_account RENAME TO license_consumption_account;
ALTER TABLE license_figures RENAME TO license_consumption;
