ALTER TABLE orders DROP COLUMN holding_name;
