DROP TRIGGER orders_worklist_update;
DROP TRIGGER orders_worklist_delete;
DROP TRIGGER orders_worklist_insert;
DROP TABLE worklist_changes;
