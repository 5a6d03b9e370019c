DROP TRIGGER orders_worklist_update ON orders;
DROP TRIGGER orders_worklist_delete ON orders;
DROP TRIGGER orders_worklist_insert ON orders;
DROP FUNCTION worklist_changed();
DROP TABLE worklist_changes;
