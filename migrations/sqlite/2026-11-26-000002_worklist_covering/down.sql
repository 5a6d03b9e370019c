DROP INDEX orders_sa_company;
CREATE INDEX orders_sa_company ON orders (company_id, sa_rank, waiting_since, id);
DROP INDEX orders_sa_holding;
CREATE INDEX orders_sa_holding ON orders (holding_account_id, sa_rank, waiting_since, id);
DROP INDEX orders_sa_holding_va;
CREATE INDEX orders_sa_holding_va ON orders (holding_virtual_account_id, sa_rank, waiting_since, id);
DROP INDEX orders_sa_all;
CREATE INDEX orders_sa_all ON orders (sa_rank, waiting_since, id);
