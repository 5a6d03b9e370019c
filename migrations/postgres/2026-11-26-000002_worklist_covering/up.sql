-- The worklist's sources (the company's orders, the holding side, all for operations) carry what
-- `visibility::in_worklist` judges, so the navigation's Not Assigned count reads only index entries.
DROP INDEX orders_sa_company;
CREATE INDEX orders_sa_company ON orders (company_id, sa_rank, waiting_since, id) INCLUDE (holding_account_id, holding_virtual_account_id, associated_holding_account_id, handoff_company_id);
DROP INDEX orders_sa_holding;
CREATE INDEX orders_sa_holding ON orders (holding_account_id, sa_rank, waiting_since, id) INCLUDE (holding_virtual_account_id, associated_holding_account_id, handoff_company_id, company_id);
DROP INDEX orders_sa_holding_va;
CREATE INDEX orders_sa_holding_va ON orders (holding_virtual_account_id, sa_rank, waiting_since, id) INCLUDE (holding_account_id, associated_holding_account_id, handoff_company_id, company_id);
DROP INDEX orders_sa_all;
CREATE INDEX orders_sa_all ON orders (sa_rank, waiting_since, id) INCLUDE (holding_account_id, holding_virtual_account_id, associated_holding_account_id, handoff_company_id, company_id);
